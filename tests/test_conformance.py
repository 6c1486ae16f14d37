"""The response contract hook itself: it must fail on drift, or the suite proves nothing."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from tests.conformance import ContractViolationError, ResponseContract


class Thing(BaseModel):
    id: int
    name: str


def _app() -> FastAPI:
    app = FastAPI()

    @app.get("/things/{thing_id}", response_model=Thing)
    async def read(thing_id: int) -> JSONResponse:
        if thing_id == 1:
            return JSONResponse({"id": 1, "name": "hammer"})
        if thing_id == 2:
            return JSONResponse({"id": "two"})  # drifted from Thing
        return JSONResponse({"id": 3}, status_code=418)  # a status it does not declare

    @app.get("/things", response_model=list[Thing])
    async def list_things() -> JSONResponse:
        return JSONResponse([{"id": 1, "name": "hammer"}])

    return app


async def _get(path: str) -> httpx.Response:
    app = _app()
    hook = ResponseContract(app)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://testserver",
        event_hooks={"response": [hook]},
    ) as client:
        return await client.get(path)


async def test_a_body_that_matches_its_declared_schema_passes() -> None:
    assert (await _get("/things/1")).json() == {"id": 1, "name": "hammer"}
    assert (await _get("/things")).json() == [{"id": 1, "name": "hammer"}]


async def test_a_body_that_drifted_from_its_schema_fails() -> None:
    with pytest.raises(ContractViolationError, match=r"GET /things/\{thing_id\} 200.*'two'"):
        await _get("/things/2")


async def test_an_undeclared_status_fails() -> None:
    with pytest.raises(ContractViolationError, match="answered 418, which it does not declare"):
        await _get("/things/3")


async def test_the_suite_client_checks_responses(client: httpx.AsyncClient) -> None:
    hook = client.event_hooks["response"][0]
    assert isinstance(hook, ResponseContract)
    before = hook.checked
    await client.get("/v1/categories")
    await client.get("/v1/no-such-thing")  # a problem, checked against Problem
    assert hook.checked == before + 2


async def test_every_reference_in_the_openapi_document_resolves(client: httpx.AsyncClient) -> None:
    doc = (await client.get("/openapi.json")).json()
    refs: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                refs.append(ref)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(doc)
    assert refs
    dangling = set()
    for ref in refs:
        target: object = doc
        for part in ref.removeprefix("#/").split("/"):
            target = target.get(part) if isinstance(target, dict) else None
        if target is None:
            dangling.add(ref)
    assert dangling == set()
