"""Rendering problems as ``application/problem+json``: the exception handlers and the bodies.

``app.errors`` declares what can go wrong (the tree, importing nothing of Sirkel's); this
module says how it looks on the wire. It sits at the top with ``app.main`` because the pure
ASGI middleware (``app.middleware``, ``app.idempotency``) answers problems too, outside any
router, and because the database handler reads PostgreSQL's diagnostics
(``app.repositories.db_errors``), which the bottom room must not import.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import asyncpg
import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import compile_path

from app.errors import (
    PROBLEM_MEDIA_TYPE,
    PROBLEM_TYPE_PREFIX,
    AppError,
    BusyError,
    FieldError,
    InvalidInputError,
    ServiceUnavailableError,
    http_problem,
)
from app.observability import request_id_var
from app.repositories.db_errors import sqlstate

logger = logging.getLogger("sirkel.errors")


def problem_response(
    *,
    status: int,
    code: str,
    title: str,
    detail: str | None = None,
    instance: str | None = None,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> Response:
    """The one place a problem body is written; ``extra`` members never replace the standard
    ones."""
    body: dict[str, Any] = {
        "type": f"{PROBLEM_TYPE_PREFIX}{code}",
        "title": title,
        "status": status,
        "code": code,
        "request_id": request_id_var.get(),
    }
    if detail is not None:
        body["detail"] = detail
    if instance is not None:
        body["instance"] = instance
    if errors is not None:
        body["errors"] = [e.model_dump() for e in errors]
    if extra:
        body.update({k: v for k, v in extra.items() if k not in body})
    return Response(
        content=orjson.dumps(body),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


def _field_errors(exc: RequestValidationError) -> list[FieldError]:
    out: list[FieldError] = []
    for err in exc.errors():
        loc = [str(part) for part in err.get("loc", ())]
        location = loc[0] if loc else "body"
        # The submitted input is never echoed: it may hold passwords or personal data.
        out.append(
            FieldError(
                location=location,
                field=".".join(loc[1:]),
                message=str(err.get("msg", "Invalid value")),
                type=str(err.get("type", "value_error")),
            )
        )
    return out


def error_response(exc: AppError, instance: str | None) -> Response:
    """The problem for an ``AppError``; ``instance`` is the request path."""
    return problem_response(
        status=exc.status_code,
        code=exc.code,
        title=exc.title,
        detail=exc.detail,
        instance=instance,
        errors=exc.errors if isinstance(exc, InvalidInputError) else None,
        headers=exc.headers,
        extra=exc.extra,
    )


async def _app_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AppError)
    return error_response(exc, request.url.path)


async def _validation_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = _field_errors(exc)
    if any(e.type == "json_invalid" for e in errors):
        code, title, detail = "malformed_json", "Malformed JSON", "The request body is not JSON."
    else:
        code, title = http_problem(422)
        detail = "; ".join(
            f"{e.location}{'.' + e.field if e.field else ''}: {e.message}" for e in errors[:5]
        )
    return problem_response(
        status=422,
        code=code,
        title=title,
        detail=detail,
        instance=request.url.path,
        errors=errors,
    )


async def _http_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code, title = http_problem(exc.status_code)
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail != title else None
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"No resource at {request.url.path}."
    headers = dict(exc.headers) if exc.headers else {}
    if exc.status_code == 405:
        detail = f"{request.method} is not allowed on {request.url.path}."
        allowed = allowed_methods(request)
        if allowed:
            headers["Allow"] = ", ".join(allowed)
    return problem_response(
        status=exc.status_code,
        code=code,
        title=title,
        detail=detail,
        instance=request.url.path,
        headers=headers or None,
    )


def allowed_methods(request: Request) -> list[str]:
    """Every method the API documents at this path. Starlette's 405 names only the first
    matching route's methods (``GET`` where another route has ``PATCH``); the OpenAPI paths,
    compiled once per app, know them all."""
    app = request.app
    table: list[tuple[re.Pattern[str], set[str]]] | None = getattr(
        app.state, "allowed_methods", None
    )
    if table is None:
        table = [
            (compile_path(path)[0], {method.upper() for method in operations})
            for path, operations in app.openapi().get("paths", {}).items()
        ]
        app.state.allowed_methods = table
    methods: set[str] = set()
    for pattern, verbs in table:
        if pattern.match(request.url.path):
            methods |= verbs
    return sorted(methods)


def internal_error_response(path: str | None) -> Response:
    """The 500 body: the same for every failure, so that nothing internal leaks."""
    return problem_response(
        status=AppError.status_code,
        code=AppError.code,
        title=AppError.title,
        detail="Something went wrong on our side. Quote the request_id when reporting it.",
        instance=path,
    )


# PostgreSQL refuses text it cannot store: NUL characters (22021 character_not_in_repertoire)
# and byte sequences invalid in the encoding (22P05 untranslatable_character). That is the
# client's input, not our failure, wherever in the request it came from.
_UNSTORABLE_TEXT = {"22021", "22P05"}


# The database went away or cannot take us: admin or crash shutdown, cannot connect, the
# connection broke, too many connections. The request changed nothing; it can be retried.
_UNAVAILABLE = {"57P01", "57P02", "57P03", "08000", "08001", "08003", "08004", "08006", "53300"}
# A statement ran out of time (statement_timeout) or waited too long for a lock.
_BUSY = {"57014", "55P03"}
_ASYNCPG_GONE = asyncpg.exceptions.ConnectionDoesNotExistError


def outage(exc: BaseException) -> AppError | None:
    """The 503 for a database outage or an overrun statement behind ``exc``, else None."""
    if isinstance(exc, DBAPIError):
        state = sqlstate(exc)
        if state in _BUSY:
            return BusyError("The database did not finish in time; nothing was changed.")
        if state in _UNAVAILABLE or exc.connection_invalidated:
            return ServiceUnavailableError("The database is unavailable; try again shortly.")
    cause: BaseException | None = exc
    while cause is not None:
        # Refused, reset or timed-out connections (a connect timeout is a TimeoutError), and
        # asyncpg's own word for a connection that went away.
        if isinstance(cause, (ConnectionError, TimeoutError, _ASYNCPG_GONE)):
            return ServiceUnavailableError("The database is unavailable; try again shortly.")
        if isinstance(cause, SQLAlchemyTimeoutError):  # no pooled connection came free in time
            return BusyError("Every database connection is busy; try again shortly.")
        cause = cause.__cause__ or cause.__context__
    return None


async def _database_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DBAPIError)
    if sqlstate(exc) in _UNSTORABLE_TEXT:
        return error_response(
            InvalidInputError("Text must not contain NUL characters or invalid UTF-8."),
            request.url.path,
        )
    return await _unhandled_error_handler(request, exc)


async def _unhandled_error_handler(request: Request, exc: Exception) -> Response:
    unavailable = outage(exc)
    if unavailable is not None:
        logger.warning("database unavailable: %s", type(exc).__name__)
        return error_response(unavailable, request.url.path)
    logger.error("unhandled exception", exc_info=exc)
    return internal_error_response(request.url.path)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error_handler)
    app.add_exception_handler(RequestValidationError, _validation_error_handler)
    app.add_exception_handler(StarletteHTTPException, _http_error_handler)
    app.add_exception_handler(DBAPIError, _database_error_handler)
    app.add_exception_handler(Exception, _unhandled_error_handler)
