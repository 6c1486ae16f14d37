"""OpenAPI document adjustments: errors documented as ``application/problem+json``.

FastAPI documents a response ``model`` under ``application/json`` and every route's 422 as
its own ``HTTPValidationError``; Sirkel answers every error as a problem. This rewrites each
4xx/5xx response to carry the ``Problem`` schema under ``application/problem+json`` only.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from app.errors import (
    PROBLEM_MEDIA_TYPE,
    BusyError,
    IdempotencyInProgressError,
    IdempotencyKeyAppliedError,
    IdempotencyKeyConsumedError,
    IdempotencyKeyReusedError,
    InvalidIdempotencyKeyError,
    Problem,
    RateLimitedError,
    RequestTimeoutError,
    ServiceUnavailableError,
    problem_responses,
)
from app.idempotency import EXEMPT_PATHS

_REF = "#/components/schemas/Problem"
# Response examples for the schemas and operations whose models do not carry one: real
# responses of the demo data (scripts/harvest_examples.py), reviewed; checked against their
# schemas by tests/test_openapi_examples.py.
EXAMPLES: dict[str, dict[str, Any]] = orjson.loads(
    (Path(__file__).parent / "schemas" / "examples.json").read_bytes()
)


def _resolve(node: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    return components[ref.rsplit("/", 1)[-1]] if ref else node


def _object_of(node: dict[str, Any], components: dict[str, Any]) -> dict[str, Any] | None:
    """The object schema a property holds, through a $ref or a nullable anyOf."""
    node = _resolve(node, components)
    if "properties" in node:
        return node
    for option in node.get("anyOf", []):
        option = _resolve(option, components)
        if "properties" in option:
            return option
    return None


def _complete(example: Any, node: dict[str, Any], components: dict[str, Any]) -> Any:
    """An example as the response is serialised: a property the model always writes but the
    example leaves out is written with its default, or null where it may be null. (Examples
    in the models are written for reading and omit such fields.)"""
    if isinstance(example, list):
        items = _resolve(node, components).get("items")
        if items is None:
            return example
        return [_complete(item, items, components) for item in example]
    schema = _object_of(node, components)
    if not isinstance(example, dict) or schema is None:
        return example
    out = dict(example)
    properties = schema["properties"]
    for name in schema.get("required", ()):
        if name in out:
            continue
        prop = properties.get(name, {})
        if "default" in prop:
            out[name] = prop["default"]
        elif any(option.get("type") == "null" for option in prop.get("anyOf", ())):
            out[name] = None
    for name, value in out.items():
        if name in properties:
            out[name] = _complete(value, properties[name], components)
    return out


def _install_examples(schema: dict[str, Any]) -> None:
    components = schema["components"]["schemas"]
    for name, example in EXAMPLES["components"].items():
        component = components.get(name)
        if component is not None and "example" not in component:
            component["example"] = example
    for component in components.values():
        if "example" in component:
            component["example"] = _complete(component["example"], component, components)
    for key, by_media in EXAMPLES["operations"].items():
        method, path = key.split(" ", 1)
        operation = schema["paths"].get(path, {}).get(method.lower())
        if operation is None:
            continue
        for status, response in operation["responses"].items():
            content = response.get("content", {})
            for media, example in by_media.items():
                if status.startswith("2") and media in content:
                    content[media].setdefault("example", example)
    for operations in schema["paths"].values():
        for operation in operations.values():
            for status, response in operation["responses"].items():
                for media in response.get("content", {}).values() if status.startswith("2") else ():
                    if "example" in media and "schema" in media:
                        media["example"] = _complete(media["example"], media["schema"], components)


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
            tags=app.openapi_tags,
            license_info=app.license_info,
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        defs = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(defs.pop("$defs", {}))
        components["Problem"] = defs
        validation_doc = problem_responses(422)[422]
        internal_doc = problem_responses(500)[500]
        # A database outage or an overrun statement (app.problems.outage), on any route.
        unavailable_doc = problem_responses(ServiceUnavailableError, BusyError)[503]
        # The body-size limit (app.middleware) answers any request with a body.
        too_large_doc = problem_responses(413)[413]
        # A body that is not UTF-8 (or not parseable at all) fails before validation.
        bad_request_doc = problem_responses(400)[400]
        # A body that stops coming (app.middleware).
        timeout_doc = problem_responses(RequestTimeoutError)[408]
        # Every route has a request budget (app.ratelimit), except the probes.
        limited_doc = problem_responses(RateLimitedError)[429]
        unlimited = {"/healthz", "/readyz", "/metrics"}
        for path, operations in schema.get("paths", {}).items():
            for method, operation in operations.items():
                responses = operation.setdefault("responses", {})
                responses.setdefault("500", internal_doc)
                if path not in unlimited:
                    _add_problem(responses, "429", limited_doc)
                responses.setdefault("503", unavailable_doc)
                if "requestBody" in operation:
                    responses.setdefault("413", too_large_doc)
                    responses.setdefault("400", bad_request_doc)
                    responses.setdefault("408", timeout_doc)
                if method == "post":
                    _document_idempotency(operation, exempt=path in EXEMPT_PATHS)
                for status, response in responses.items():
                    for media in response.get("content", {}).values():
                        if "schema" in media:
                            media["schema"] = _hoist_defs(media["schema"], components)
                    if not str(status).isdigit() or int(status) < 400:
                        continue
                    content = response.setdefault("content", {})
                    content.pop("application/json", None)
                    problem = content.setdefault(PROBLEM_MEDIA_TYPE, {})
                    problem["schema"] = {"$ref": _REF}
                    if int(status) == 422 and "examples" not in problem:
                        problem["examples"] = validation_doc["content"][PROBLEM_MEDIA_TYPE][
                            "examples"
                        ]
                        response["description"] = validation_doc["description"]
        for name in ("HTTPValidationError", "ValidationError"):
            components.pop(name, None)
        _readable_operation_ids(schema)
        _install_examples(schema)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


# The raw id ``generate_operation_id`` gives (tag and function), before ``_readable_operation_ids``.
_SEPARATOR = "__"


def generate_operation_id(route: APIRoute) -> str:
    """``{tag}__{function}``; the document then shortens it (``_readable_operation_ids``)."""
    tag = route.tags[0] if route.tags else "sirkel"
    return f"{tag}{_SEPARATOR}{route.name}"


def _words(text: object) -> list[str]:
    return [w for w in re.split(r"[^a-z0-9]+", str(text).lower()) if w]


def _readable_operation_ids(schema: dict[str, Any]) -> None:
    """Stable, readable operation ids for generated clients: the tag, then the function's
    words without the tag's own (``listings-search``, ``transactions-act-on``,
    ``listings-upload-photo``); where two would read the same, both keep every word."""
    operations = [
        op for ops in schema.get("paths", {}).values() for op in ops.values() if "operationId" in op
    ]
    short: dict[int, str] = {}
    full: dict[int, str] = {}
    for index, operation in enumerate(operations):
        tag, _, name = str(operation["operationId"]).partition(_SEPARATOR)
        tag_words = _words(tag)
        own = set(tag_words) | {w.removesuffix("s") for w in tag_words}
        words = _words(name)
        kept = [w for w in words if w not in own] or words
        short[index] = "-".join([*tag_words, *kept])
        full[index] = "-".join([*tag_words, *words])
    counts = Counter(short.values())
    for index, operation in enumerate(operations):
        operation["operationId"] = short[index] if counts[short[index]] == 1 else full[index]


def _add_problem(responses: dict[str, Any], status: str, doc: dict[str, Any]) -> None:
    """Declare ``doc``'s problem under ``status``, beside what the route already declares."""
    if status not in responses:
        responses[status] = doc
        return
    entry = responses[status]
    media = entry.setdefault("content", {}).setdefault(PROBLEM_MEDIA_TYPE, {})
    examples = media.setdefault("examples", {})
    for name, example in doc["content"][PROBLEM_MEDIA_TYPE].get("examples", {}).items():
        examples.setdefault(name, example)
    entry["description"] = ", ".join(
        filter(None, [entry.get("description", ""), doc.get("description", "")])
    )


def _hoist_defs(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    """A model's own JSON schema given as a response (``Model.model_json_schema()``) keeps its
    nested models in ``$defs`` with ``#/$defs/…`` references, which dangle once the schema sits
    inside the OpenAPI document: move them to the components and point the references there."""
    defs = schema.pop("$defs", None)
    if not defs:
        return schema
    text = orjson.dumps(schema).replace(b'"#/$defs/', b'"#/components/schemas/')
    for name, definition in defs.items():
        components.setdefault(
            name,
            orjson.loads(orjson.dumps(definition).replace(b'"#/$defs/', b'"#/components/schemas/')),
        )
    result: dict[str, Any] = orjson.loads(text)
    return result


def _document_idempotency(operation: dict[str, Any], *, exempt: bool) -> None:
    description = (
        "Accepted and ignored here: the outcome is a secret or single-use by design."
        if exempt
        else "Makes retries safe: the same key and request replay the first response "
        "(`Idempotency-Replayed: true`); the same key with another request is `422 "
        "idempotency_key_reused`; while the first still runs, `409 "
        "idempotency_in_progress`; when the first took effect but its response was lost, "
        "`409 idempotency_key_applied` (it never runs twice). Keys are 1-255 printable ASCII "
        "characters, kept 24 h, and belong to the caller."
    )
    operation.setdefault("parameters", []).append(
        {
            "name": "Idempotency-Key",
            "in": "header",
            "required": False,
            "schema": {"type": "string", "minLength": 1, "maxLength": 255},
            "description": description,
        }
    )
    if exempt:
        return
    responses = operation["responses"]
    for status, errors in (
        (
            409,
            (IdempotencyInProgressError, IdempotencyKeyConsumedError, IdempotencyKeyAppliedError),
        ),
        (422, (IdempotencyKeyReusedError, InvalidIdempotencyKeyError)),
    ):
        codes = [error.code for error in errors]
        entry = responses.setdefault(
            str(status),
            {"description": "", "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": _REF}}}},
        )
        media = entry.setdefault("content", {}).setdefault(PROBLEM_MEDIA_TYPE, {})
        examples = media.setdefault("examples", {})
        for code in codes:
            examples[code] = {
                "summary": code.replace("_", " "),
                "value": {"type": f"/problems/{code}", "status": status, "code": code},
            }
        entry["description"] = ", ".join(
            filter(None, [entry.get("description", ""), *(f"`{c}`" for c in codes)])
        )
