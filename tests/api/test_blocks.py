"""Blocking: neither person asks for the other's listings nor writes to the other; moves of a
transaction under way still go; the database refuses what the service would; erasure and
export."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.models import Listing
from app.repositories.db_errors import constraint_name
from tests.factories import Actor, create_listing, create_person
from tests.places import PLACES
from tests.problems import assert_problem

OSLO = (PLACES["oslo_city_hall"].lat, PLACES["oslo_city_hall"].lon)


@pytest.fixture
async def giver(session: AsyncSession, settings: Settings) -> Actor:
    return await create_person(session, settings)


@pytest.fixture
async def taker(session: AsyncSession, settings: Settings) -> Actor:
    return await create_person(session, settings)


@pytest.fixture
async def listing(session: AsyncSession, giver: Actor) -> Listing:
    return await create_listing(session, at=OSLO, person=giver, title="Stol", category="chairs")


async def ask(client: httpx.AsyncClient, who: Actor, listing: Listing) -> httpx.Response:
    return await client.post(
        "/v1/transactions", json={"listing_id": str(listing.id)}, headers=who.headers
    )


async def block(client: httpx.AsyncClient, who: Actor, whom: uuid.UUID) -> dict[str, Any]:
    response = await client.post(f"/v1/people/{whom}/block", headers=who.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.parametrize("blocker", ["giver", "taker"])
async def test_a_block_either_way_stops_requests_and_messages(
    client: httpx.AsyncClient,
    session: AsyncSession,
    giver: Actor,
    taker: Actor,
    listing: Listing,
    blocker: str,
) -> None:
    before = await ask(client, taker, listing)
    assert before.status_code == 201
    tx = before.json()["id"]
    a, b = (giver, taker) if blocker == "giver" else (taker, giver)
    await block(client, a, b.person_id)

    second = await create_listing(session, at=OSLO, person=giver, title="Bord", category="tables")
    refused = await ask(client, taker, second)
    assert_problem(refused, 403, "blocked")
    for who in (giver, taker):
        said = await client.post(
            f"/v1/transactions/{tx}/messages", json={"body": "Hei"}, headers=who.headers
        )
        assert_problem(said, 403, "blocked")
    # The transaction under way keeps its moves, notes included.
    declined = await client.post(
        f"/v1/transactions/{tx}/decline", json={"note": "Nei takk"}, headers=giver.headers
    )
    assert declined.status_code == 200, declined.text
    count = await session.scalar(text("SELECT count(*) FROM transactions"))
    assert count == 1


async def test_blocking_is_idempotent_listed_and_undone(
    client: httpx.AsyncClient, giver: Actor, taker: Actor, listing: Listing
) -> None:
    first = await block(client, giver, taker.person_id)
    again = await block(client, giver, taker.person_id)
    assert again == first
    mine = await client.get("/v1/me/blocks", headers=giver.headers)
    assert mine.json() == [first]
    assert (await client.get("/v1/me/blocks", headers=taker.headers)).json() == []
    undone = await client.delete(f"/v1/people/{taker.person_id}/block", headers=giver.headers)
    assert undone.status_code == 204
    assert (await ask(client, taker, listing)).status_code == 201


async def test_what_cannot_be_blocked(
    client: httpx.AsyncClient, giver: Actor, taker: Actor
) -> None:
    myself = await client.post(f"/v1/people/{giver.person_id}/block", headers=giver.headers)
    problem = assert_problem(myself, 422, "invalid_input")
    assert problem["errors"][0]["field"] == "person_id"
    nobody = await client.post(f"/v1/people/{uuid.uuid4()}/block", headers=giver.headers)
    assert_problem(nobody, 404, "person_not_found")
    assert (await client.delete("/v1/me", headers=taker.headers)).status_code == 204
    erased = await client.post(f"/v1/people/{taker.person_id}/block", headers=giver.headers)
    assert_problem(erased, 404, "person_not_found")
    anonymous = await client.post(f"/v1/people/{giver.person_id}/block")
    assert_problem(anonymous, 401, "unauthorized")


async def test_the_database_refuses_what_a_block_forbids(
    client: httpx.AsyncClient,
    session: AsyncSession,
    giver: Actor,
    taker: Actor,
    listing: Listing,
) -> None:
    tx = (await ask(client, taker, listing)).json()["id"]
    await block(client, taker, giver.person_id)
    statements = (
        (
            "INSERT INTO transactions (type, subgoal, status, listing_id, provider_person_id, "
            "receiver_person_id, quantity, unit, created_at, updated_at) VALUES ('reuse', 'SG1', "
            f"'requested', '{listing.id}', '{giver.person_id}', '{taker.person_id}', 1, 'pcs', "
            "now(), now())",
            "transactions_not_blocked",
        ),
        (
            "INSERT INTO messages (transaction_id, author_side, author_person_id, kind, body, "
            f"created_at) VALUES ('{tx}', 'provider', '{giver.person_id}', 'text', 'Hei', now())",
            "messages_not_blocked",
        ),
        (
            f"INSERT INTO blocks VALUES ('{giver.person_id}', '{giver.person_id}', now())",
            "ck_blocks_not_self",
        ),
    )
    for statement, constraint in statements:
        with pytest.raises(DBAPIError) as raised:
            async with session.begin_nested():
                await session.execute(text(statement))
        assert constraint_name(raised.value) == constraint


async def test_export_lists_and_erasure_removes_blocks(
    client: httpx.AsyncClient, session: AsyncSession, giver: Actor, taker: Actor
) -> None:
    made = await block(client, giver, taker.person_id)
    export = (await client.get("/v1/me/export", headers=giver.headers)).json()
    assert export["blocks"] == [
        {"blocked_person_id": str(taker.person_id), "created_at": made["blocked_at"]}
    ]
    assert (await client.delete("/v1/me", headers=taker.headers)).status_code == 204
    assert await session.scalar(text("SELECT count(*) FROM blocks")) == 0
