"""/openapi.json is a valid OpenAPI 3.1 document with readable, unique operation ids, as code
generators (openapi-typescript, openapi-python-client) need."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from openapi_spec_validator import validate


@pytest.fixture
async def document(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


async def test_the_document_is_valid_openapi(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.1")
    validate(document)  # raises on any violation, a dangling $ref included


async def test_operation_ids_are_readable_unique_and_stable(document: dict[str, Any]) -> None:
    ids = [op["operationId"] for ops in document["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids))
    for operation_id in ids:
        assert re.fullmatch(r"[a-z]+(-[a-z0-9]+)+", operation_id), operation_id
    operations = {
        (path, method): op["operationId"]
        for path, ops in document["paths"].items()
        for method, op in ops.items()
    }
    # Generated clients call these names: renaming one breaks them.
    assert operations[("/v1/listings", "get")] == "listings-search"
    assert operations[("/v1/listings", "post")] == "listings-create"
    assert operations[("/v1/transactions/{transaction_id}/{action}", "post")] == (
        "transactions-act-on"
    )
    assert operations[("/v1/listings/{listing_id}/photos", "post")] == "listings-upload-photo"
    assert operations[("/v1/me/notifications/read", "post")] == "me-mark-read"
    assert operations[("/v1/transactions/{transaction_id}/messages/read", "post")] == (
        "transactions-mark-read"
    )


async def test_every_operation_is_described(document: dict[str, Any]) -> None:
    for path, ops in document["paths"].items():
        for method, op in ops.items():
            assert op.get("summary"), (method, path)
            assert op.get("description"), (method, path)
            assert op.get("responses"), (method, path)
