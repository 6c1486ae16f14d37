"""Every error status renders as an RFC 9457 problem with a stable code, and the request id
and access log work for every response."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel

from app.config import Settings
from app.errors import ConflictError, ForbiddenError, UnauthorizedError
from app.observability import JsonFormatter
from tests.problems import assert_problem


class Echo(BaseModel):
    name: str
    count: int


@pytest.fixture
def app_with_test_routes(app: FastAPI) -> FastAPI:
    async def raise_unauthorized() -> None:
        raise UnauthorizedError("Sign in first.")

    async def raise_forbidden() -> None:
        raise ForbiddenError("Not yours.")

    async def raise_conflict() -> None:
        raise ConflictError("Already there.")

    async def raise_crash() -> None:
        raise RuntimeError("database password is hunter2")

    async def echo(body: Echo) -> Echo:
        return body

    app.add_api_route("/_test/unauthorized", raise_unauthorized)
    app.add_api_route("/_test/forbidden", raise_forbidden)
    app.add_api_route("/_test/conflict", raise_conflict)
    app.add_api_route("/_test/crash", raise_crash)
    app.add_api_route("/_test/echo", echo, methods=["POST"])
    return app


@pytest.fixture
async def test_client(app_with_test_routes: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app_with_test_routes)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def test_401_problem_with_www_authenticate(test_client: httpx.AsyncClient) -> None:
    response = await test_client.get("/_test/unauthorized")
    body = assert_problem(response, 401, "unauthorized")
    assert body["detail"] == "Sign in first."
    assert response.headers["www-authenticate"] == "Bearer"


async def test_403_problem(test_client: httpx.AsyncClient) -> None:
    body = assert_problem(await test_client.get("/_test/forbidden"), 403, "forbidden")
    assert body["title"] == "Forbidden"


async def test_404_problem_for_unknown_path(test_client: httpx.AsyncClient) -> None:
    body = assert_problem(await test_client.get("/v1/nothing-here"), 404, "not_found")
    assert body["instance"] == "/v1/nothing-here"


async def test_405_problem_with_allow_header(test_client: httpx.AsyncClient) -> None:
    response = await test_client.delete("/v1/kommuner")
    body = assert_problem(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "GET"
    assert body["detail"] == "DELETE is not allowed on /v1/kommuner."


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("DELETE", "/v1/listings/1d2c3b4a-5e6f-4a7b-8c9d-0e1f2a3b4c5d", "GET, PATCH"),
        ("PUT", "/v1/me", "DELETE, GET, PATCH"),
        ("PATCH", "/v1/listings", "GET, POST"),
    ],
)
async def test_405_allow_lists_every_method_at_the_path(
    test_client: httpx.AsyncClient, method: str, path: str, allow: str
) -> None:
    """Starlette names only the first matching route's methods; Sirkel names them all."""
    response = await test_client.request(method, path)
    assert_problem(response, 405, "method_not_allowed")
    assert response.headers["allow"] == allow


async def test_409_problem(test_client: httpx.AsyncClient) -> None:
    assert_problem(await test_client.get("/_test/conflict"), 409, "conflict")


async def test_422_problem_lists_field_errors_without_echoing_input(
    test_client: httpx.AsyncClient,
) -> None:
    response = await test_client.post("/_test/echo", json={"name": "s3cret-value", "count": "x"})
    body = assert_problem(response, 422, "validation_failed")
    assert body["errors"] == [
        {
            "location": "body",
            "field": "count",
            "message": "Input should be a valid integer, unable to parse string as an integer",
            "type": "int_parsing",
        }
    ]
    assert "s3cret-value" not in response.text


async def test_malformed_json_is_422_malformed_json(test_client: httpx.AsyncClient) -> None:
    response = await test_client.post(
        "/_test/echo",
        content=b'{"name": "a", "count": ',
        headers={"content-type": "application/json"},
    )
    body = assert_problem(response, 422, "malformed_json")
    assert body["errors"][0]["type"] == "json_invalid"


async def test_413_problem_for_declared_oversized_body(
    test_client: httpx.AsyncClient, app_with_test_routes: FastAPI
) -> None:
    limit = app_with_test_routes.state.settings.http.max_body_bytes
    payload = json.dumps({"name": "x" * limit, "count": 1}).encode()
    response = await test_client.post(
        "/_test/echo", content=payload, headers={"content-type": "application/json"}
    )
    body = assert_problem(response, 413, "payload_too_large")
    assert str(limit) in str(body["detail"])


async def test_413_problem_for_chunked_oversized_body(
    test_client: httpx.AsyncClient, app_with_test_routes: FastAPI
) -> None:
    limit = app_with_test_routes.state.settings.http.max_body_bytes

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"name": "'
        for _ in range(limit // 65536 + 2):
            yield b"x" * 65536
        yield b'", "count": 1}'

    response = await test_client.post(
        "/_test/echo", content=chunks(), headers={"content-type": "application/json"}
    )
    assert "content-length" not in response.request.headers
    assert_problem(response, 413, "payload_too_large")


async def test_small_chunked_body_reaches_the_route(test_client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"name": "bok",'
        yield b' "count": 2}'

    response = await test_client.post(
        "/_test/echo", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 200
    assert response.json() == {"name": "bok", "count": 2}


async def test_500_reveals_nothing_and_logs_the_traceback(
    test_client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="sirkel.errors"):
        response = await test_client.get("/_test/crash")
    body = assert_problem(response, 500, "internal_error")
    assert "hunter2" not in response.text
    assert "RuntimeError" not in response.text
    assert body["detail"] == (
        "Something went wrong on our side. Quote the request_id when reporting it."
    )
    errors = [r for r in caplog.records if r.name == "sirkel.errors"]
    assert errors, "the traceback must be logged"
    assert errors[0].exc_info is not None
    assert "hunter2" in str(errors[0].exc_info[1])


async def test_valid_incoming_request_id_is_echoed(test_client: httpx.AsyncClient) -> None:
    response = await test_client.get("/healthz", headers={"X-Request-ID": "client-abc-12345"})
    assert response.headers["x-request-id"] == "client-abc-12345"
    problem = await test_client.get("/nope", headers={"X-Request-ID": "client-abc-12345"})
    assert problem.json()["request_id"] == "client-abc-12345"


@pytest.mark.parametrize("bad", ["short", "x" * 200, "has space in it", "line\u2028break-xxxx"])
async def test_invalid_incoming_request_id_is_replaced(
    test_client: httpx.AsyncClient, bad: str
) -> None:
    response = await test_client.get("/healthz", headers=[(b"X-Request-ID", bad.encode())])
    rid = response.headers["x-request-id"]
    assert rid != bad
    assert len(rid) == 32
    int(rid, 16)


async def test_access_log_line_is_structured(
    test_client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="sirkel.access"):
        response = await test_client.get(
            "/v1/kommuner/0301", headers={"X-Request-ID": "trace-me-0001"}
        )
    records = [r for r in caplog.records if r.name == "sirkel.access"]
    assert len(records) == 1
    record = records[0]
    assert record.__dict__["method"] == "GET"
    assert record.__dict__["path"] == "/v1/kommuner/0301"
    assert record.__dict__["status"] == response.status_code == 200
    assert record.__dict__["duration_ms"] >= 0
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == "trace-me-0001"
    assert line["status"] == 200
    assert line["logger"] == "sirkel.access"


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("POST", "/v1/auth/token", {"data": {"username": "a\x00b@example.no", "password": "x"}}),
        (
            "POST",
            "/v1/auth/register",
            {
                "json": {
                    "email": "nul@example.no",
                    "password": "et langt passord",
                    "display_name": "Nul\x00byte",
                }
            },
        ),
        ("GET", "/v1/organizations", {"params": {"q": "a\x00"}}),
    ],
)
async def test_nul_characters_are_422_not_500(
    test_client: httpx.AsyncClient, method: str, path: str, kwargs: dict[str, Any]
) -> None:
    response = await test_client.request(method, path, **kwargs)
    body = assert_problem(response, 422, "invalid_input")
    assert "NUL" in body["detail"]


@pytest.mark.parametrize("declared_length", [True, False], ids=["content-length", "chunked"])
async def test_408_when_the_body_stops_coming(
    settings: Settings,
    client_for: Callable[[Settings], Awaitable[httpx.AsyncClient]],
    declared_length: bool,
) -> None:
    http = settings.http.model_copy(update={"body_read_timeout_s": 0.2})
    client = await client_for(settings.model_copy(update={"http": http}))
    body = b'{"email": "sakte@example.no", "password": "et langt passord", "display_name": "S"}'

    async def slowly() -> AsyncIterator[bytes]:
        yield body[:10]
        await asyncio.sleep(1.0)
        yield body[10:]

    headers = {"content-type": "application/json"}
    if declared_length:
        headers["content-length"] = str(len(body))
    response = await client.post("/v1/auth/register", content=slowly(), headers=headers)
    problem = assert_problem(response, 408, "request_timeout")
    assert "0.2 s" in problem["detail"]
    assert response.headers["connection"] == "close"
