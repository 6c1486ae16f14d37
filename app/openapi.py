"""OpenAPI document adjustments: errors documented as ``application/problem+json``.

FastAPI documents a response ``model`` under ``application/json`` and every route's 422 as
its own ``HTTPValidationError``; Sirkel answers every error as a problem. This rewrites each
4xx/5xx response to carry the ``Problem`` schema under ``application/problem+json`` only.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from app.errors import PROBLEM_MEDIA_TYPE, Problem, problem_responses

_REF = "#/components/schemas/Problem"


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
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                responses.setdefault("500", internal_doc)
                for status, response in responses.items():
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
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
