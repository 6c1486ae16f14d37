"""Every response the suite sees is checked against the OpenAPI document the app publishes.

Installed as a response hook on the test clients (``tests/conftest.py``), so each of the
suite's requests is also a contract test: a JSON body (``application/json``,
``application/geo+json``, ``application/problem+json``) must validate against the schema its
route declares for that status and media type, and the status itself must be declared. A
schema that drifts from what a router really returns, or an error a route raises but does not
document, fails the test that provoked it, with the route and the first validation error.

Not checked: bodies that are not JSON (CSV, HTML, MVT, images), responses of paths the app has
no route for (they are problems, and checked as such against ``Problem``), and the docs pages.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI
from jsonschema import Draft202012Validator

JSON_TYPES = ("application/json", "application/geo+json", "application/problem+json")
UNCHECKED_PATHS = frozenset({"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"})


class ContractViolationError(AssertionError):
    """A response that its route's OpenAPI declaration does not allow."""


@dataclass
class ResponseContract:
    app: FastAPI
    _validators: dict[tuple[str, str, str, str], Draft202012Validator | None] = field(
        default_factory=dict
    )
    checked: int = 0
    _patterns: list[tuple[re.Pattern[str], str]] | None = None

    @property
    def document(self) -> dict[str, Any]:
        return self.app.openapi()

    @property
    def _templates(self) -> list[tuple[re.Pattern[str], str]]:
        if self._patterns is None:
            # Literal segments win over parameters ("/v1/me/listings" before "/v1/me/{x}"), as
            # the routes are declared; a path parameter matches one segment.
            templates = sorted(self.document["paths"], key=lambda t: (t.count("{"), t))
            self._patterns = [
                (re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(t)) + "$"), t)
                for t in templates
            ]
        return self._patterns

    def _route(self, method: str, path: str) -> str | None:
        for pattern, template in self._templates:
            if pattern.match(path) and method.lower() in self.document["paths"][template]:
                return template
        return None

    def _validator(
        self, template: str, method: str, status: str, media: str
    ) -> Draft202012Validator | None:
        key = (template, method, status, media)
        if key in self._validators:
            return self._validators[key]
        doc = self.document
        operation = doc["paths"].get(template, {}).get(method)
        if operation is None:
            return None
        responses = operation.get("responses", {})
        declared = responses.get(status) or responses.get("default")
        if declared is None:
            raise ContractViolationError(
                f"{method.upper()} {template} answered {status}, which it does not declare "
                f"(declared: {', '.join(sorted(responses))})"
            )
        content = declared.get("content", {})
        entry = content.get(media)
        if entry is None and media == "application/geo+json":
            entry = content.get("application/json")
        if entry is None:
            raise ContractViolationError(
                f"{method.upper()} {template} answered {status} as {media}, which it does not "
                f"declare (declared: {', '.join(sorted(content)) or 'no body'})"
            )
        schema = entry.get("schema")
        if not schema:
            self._validators[key] = None
            return None
        # The fragment is the root; "#/components/…" references resolve against the copy of
        # the components placed beside it.
        root = {"allOf": [schema], "components": doc.get("components", {})}
        validator = Draft202012Validator(root)
        self._validators[key] = validator
        return validator

    async def __call__(self, response: httpx.Response) -> None:
        request = response.request
        path = request.url.path
        if path in UNCHECKED_PATHS:
            return
        media = response.headers.get("content-type", "").split(";")[0].strip()
        if media not in JSON_TYPES:
            return
        await response.aread()
        if not response.content:
            return
        body = json.loads(response.content)
        method = request.method.lower()
        template = self._route(request.method, path)
        if template is None or method == "head":
            if media == "application/problem+json":
                self._check(self._problem_validator(), body, f"{request.method} {path}")
            return
        validator = self._validator(template, method, str(response.status_code), media)
        if validator is not None:
            self._check(validator, body, f"{request.method} {template} {response.status_code}")

    def _problem_validator(self) -> Draft202012Validator:
        return Draft202012Validator(
            {
                "allOf": [{"$ref": "#/components/schemas/Problem"}],
                "components": self.document.get("components", {}),
            }
        )

    def _check(self, validator: Draft202012Validator, body: Any, where: str) -> None:
        self.checked += 1
        error = next(iter(validator.iter_errors(body)), None)
        if error is not None:
            at = "/".join(str(p) for p in error.absolute_path) or "(root)"
            raise ContractViolationError(
                f"{where}: the body does not match its declared schema at {at}: {error.message}"
            )
