"""Statuses the code can send are in the OpenAPI document (the conformance hook of
``client`` checks every response of these requests against its operation)."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from tests.factories import create_listing, create_person
from tests.places import PLACES
from tests.problems import assert_problem

OSLO = (PLACES["oslo_city_hall"].lat, PLACES["oslo_city_hall"].lon)


async def test_a_body_that_is_not_utf8_is_a_documented_400(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/auth/register",
        content=b'{"email": "\xff\xfe"}',
        headers={"Content-Type": "application/json"},
    )
    assert_problem(response, 400, "bad_request")
    document = (await client.get("/openapi.json")).json()
    with_body = [
        (path, method)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if "requestBody" in operation
    ]
    assert with_body
    for path, method in with_body:
        assert "400" in document["paths"][path][method]["responses"], (method, path)


@pytest.fixture
async def public_paths(session: AsyncSession, settings: Settings) -> list[str]:
    owner = await create_person(session, settings)
    listing = await create_listing(session, at=OSLO, person=owner, mode="lend")
    return [
        f"/v1/listings/{listing.id}",
        f"/v1/listings/{listing.id}/photos",
        f"/v1/listings/{listing.id}/availability",
        f"/v1/photos/{uuid.uuid4()}/320.webp",
        "/v1/listings?kommune=0301",
    ]


async def test_public_reads_refuse_credentials_they_cannot_accept_as_documented(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, public_paths: list[str]
) -> None:
    person = await create_person(session, settings)
    for path in public_paths:
        assert_problem(
            await client.get(path, headers={"X-API-Key": "sk_nope"}), 401, "invalid_api_key"
        )
        assert_problem(
            await client.get(path, headers={"Authorization": "Bearer nope"}), 401, "invalid_token"
        )
        both = {**person.headers, "X-API-Key": "sk_nope"}
        assert_problem(await client.get(path, headers=both), 401, "ambiguous_credentials")
