"""Holds and the waitlist (``/v1/listings/{id}/holds``, ``/v1/holds/{id}``): first come,
first served; a unit that comes back is kept for the first in line, nobody else can book it
over the pickup window, the clock lapses a window that passed, and the staff lend a ready hold
out in one step. The database keeps one live hold per person and one ready hold per unit."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.models import Hold, Listing, Organization, OutboxEvent
from app.models.organization import OrganizationKind
from app.repositories.db_errors import constraint_name
from app.services import hold as hold_service
from tests.clock import Clock, frozen
from tests.factories import (
    Actor,
    create_listing,
    create_organization,
    create_person,
    refused_raw_loan,
)
from tests.places import PLACES
from tests.problems import assert_problem

OSLO = (PLACES["oslo_city_hall"].lat, PLACES["oslo_city_hall"].lon)
NOW = datetime(2026, 11, 22, 11, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def clock(app: FastAPI) -> Iterator[Clock]:
    with frozen(app, NOW) as c:
        yield c


@pytest.fixture
async def staff(session: AsyncSession, settings: Settings) -> Actor:
    return await create_person(session, settings, display_name="Bibliotekar")


@pytest.fixture
async def library(session: AsyncSession, staff: Actor) -> Organization:
    return await create_organization(
        session, owner=staff, name="Utlånssentralen", kind=OrganizationKind.LIBRARY_OF_THINGS
    )


async def drill(session: AsyncSession, library: Organization, units: int = 1) -> Listing:
    return await create_listing(
        session,
        at=OSLO,
        organization=library,
        mode="lend",
        title="Slagdrill",
        category="power-tools",
        quantity=Decimal(units),
    )


async def lend_out(
    client: httpx.AsyncClient, staff: Actor, borrower: Actor, listing: Listing, hours: float = 24
) -> str:
    asked = await client.post(
        "/v1/transactions",
        json={
            "listing_id": str(listing.id),
            "period": {
                "start": (NOW + timedelta(minutes=1)).isoformat(),
                "end": (NOW + timedelta(hours=hours)).isoformat(),
            },
        },
        headers=borrower.headers,
    )
    assert asked.status_code == 201, asked.text
    tx_id = str(asked.json()["id"])
    for action in ("accept", "pickup"):
        moved = await client.post(f"/v1/transactions/{tx_id}/{action}", headers=staff.headers)
        assert moved.status_code == 200, moved.text
    return tx_id


async def hold(client: httpx.AsyncClient, who: Actor, listing: Listing) -> httpx.Response:
    return await client.post(f"/v1/listings/{listing.id}/holds", headers=who.headers)


async def me(client: httpx.AsyncClient, who: Actor, hold_id: str) -> dict[str, Any]:
    got = await client.get(f"/v1/holds/{hold_id}", headers=who.headers)
    assert got.status_code == 200, got.text
    body: dict[str, Any] = got.json()
    return body


async def events(session: AsyncSession, who: Actor, kind: str) -> list[OutboxEvent]:
    rows = await session.scalars(
        select(OutboxEvent)
        .where(OutboxEvent.recipient_person_id == who.person_id, OutboxEvent.type == kind)
        .order_by(OutboxEvent.seq)
    )
    return list(rows)


async def test_the_first_in_line_gets_the_unit_that_comes_back_and_is_lent_it(
    client: httpx.AsyncClient,
    session: AsyncSession,
    settings: Settings,
    staff: Actor,
    library: Organization,
) -> None:
    listing = await drill(session, library)
    a, b, c, d = [await create_person(session, settings) for _ in range(4)]
    loan = await lend_out(client, staff, a, listing)
    first = await hold(client, b, listing)
    second = await hold(client, c, listing)
    assert first.status_code == second.status_code == 201, (first.text, second.text)
    assert (first.json()["status"], first.json()["position"]) == ("waiting", 1)
    assert second.json()["position"] == 2
    queue = await client.get(f"/v1/listings/{listing.id}/holds", headers=staff.headers)
    assert [h["id"] for h in queue.json()["items"]] == [first.json()["id"], second.json()["id"]]
    assert queue.json()["items"][0]["holder"]
    back = await client.post(f"/v1/transactions/{loan}/return", headers=staff.headers)
    assert back.status_code == 200, back.text
    ready = await me(client, b, first.json()["id"])
    assert (ready["status"], ready["unit_no"], ready["position"]) == ("ready", 1, None)
    assert ready["ready_until"].startswith("2026-11-24T11:00:00")  # 48 h
    assert [e.payload["hold_id"] for e in await events(session, b, "hold.ready")] == [
        first.json()["id"]
    ]
    assert (await me(client, c, second.json()["id"]))["position"] == 1
    # Kept for b: nobody else books it over the window; b could.
    period = {
        "start": (NOW + timedelta(hours=1)).isoformat(),
        "end": (NOW + timedelta(hours=5)).isoformat(),
    }
    taken = await client.post(
        "/v1/transactions",
        json={"listing_id": str(listing.id), "period": period},
        headers=d.headers,
    )
    assert_problem(taken, 409, "booking_conflict")
    lent = await client.post(
        f"/v1/holds/{first.json()['id']}/checkout",
        json={"until": (NOW + timedelta(days=7)).isoformat()},
        headers=staff.headers,
    )
    assert lent.status_code == 201, lent.text
    tx = lent.json()
    assert (tx["status"], tx["type"], tx["unit_no"]) == ("active", "loan", 1)
    assert tx["receiver"]["person_id"] == str(b.person_id)
    assert tx["period"]["end"].startswith("2026-11-29T11:00:00")
    done = await me(client, b, first.json()["id"])
    assert (done["status"], done["transaction_id"]) == ("fulfilled", tx["id"])
    mine = await client.get("/v1/me/holds", headers=b.headers)
    assert [h["status"] for h in mine.json()["items"]] == ["fulfilled"]


async def test_a_window_that_passes_lapses_and_the_next_in_line_gets_the_unit(
    client: httpx.AsyncClient,
    session: AsyncSession,
    settings: Settings,
    staff: Actor,
    library: Organization,
) -> None:
    listing = await drill(session, library)
    a, b, c = [await create_person(session, settings) for _ in range(3)]
    loan = await lend_out(client, staff, a, listing)
    first = (await hold(client, b, listing)).json()
    second = (await hold(client, c, listing)).json()
    await client.post(f"/v1/transactions/{loan}/return", headers=staff.headers)
    assert await hold_service.lapse(session, now=NOW + timedelta(hours=47), settings=settings) == 0
    assert (await me(client, b, first["id"]))["status"] == "ready"
    assert await hold_service.lapse(session, now=NOW + timedelta(hours=49), settings=settings) == 1
    assert (await me(client, b, first["id"]))["status"] == "lapsed"
    assert len(await events(session, b, "hold.lapsed")) == 1
    nxt = await me(client, c, second["id"])
    assert (nxt["status"], nxt["unit_no"]) == ("ready", 1)
    # Cancelling a ready hold passes the unit on; there is nobody left, so it is free again.
    cancelled = await client.post(f"/v1/holds/{second['id']}/cancel", headers=c.headers)
    assert cancelled.json()["status"] == "cancelled"
    free = await create_person(session, settings)
    assert_problem(await hold(client, free, listing), 409, "listing_available")


async def test_a_cancelled_booking_readies_a_hold_too(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, library: Organization
) -> None:
    listing = await drill(session, library)
    a, b = [await create_person(session, settings) for _ in range(2)]
    asked = await client.post(
        "/v1/transactions",
        json={
            "listing_id": str(listing.id),
            "period": {
                "start": (NOW - timedelta(minutes=1)).isoformat(),
                "end": (NOW + timedelta(days=2)).isoformat(),
            },
        },
        headers=a.headers,
    )
    assert asked.status_code == 201, asked.text
    waiting = (await hold(client, b, listing)).json()
    assert waiting["status"] == "waiting"
    cancelled = await client.post(
        f"/v1/transactions/{asked.json()['id']}/cancel", headers=a.headers
    )
    assert cancelled.status_code == 200, cancelled.text
    assert (await me(client, b, waiting["id"]))["status"] == "ready"


async def test_refusals(
    client: httpx.AsyncClient,
    session: AsyncSession,
    settings: Settings,
    staff: Actor,
    library: Organization,
) -> None:
    listing = await drill(session, library)
    a, b, stranger = [await create_person(session, settings) for _ in range(3)]
    assert_problem(await hold(client, b, listing), 409, "listing_available")
    await lend_out(client, staff, a, listing)
    placed = await hold(client, b, listing)
    assert placed.status_code == 201, placed.text
    hold_id = placed.json()["id"]
    assert_problem(await hold(client, b, listing), 409, "already_holding")
    # With someone in the queue, the borrower cannot renew.
    loan = (await client.get("/v1/transactions", headers=a.headers)).json()["items"][0]["id"]
    assert_problem(
        await client.post(f"/v1/transactions/{loan}/renew", headers=a.headers), 409, "hold_waiting"
    )
    assert_problem(await hold(client, staff, listing), 422, "own_listing")
    gift = await create_listing(
        session, at=OSLO, organization=library, mode="give", category="power-tools"
    )
    assert_problem(await hold(client, b, gift), 409, "listing_not_holdable")
    assert_problem(
        await client.post(f"/v1/listings/{uuid.uuid4()}/holds", headers=b.headers),
        404,
        "listing_not_found",
    )
    assert_problem(await client.post(f"/v1/listings/{listing.id}/holds"), 401, "unauthorized")
    # Not ready yet; only the staff lend out; strangers see nothing.
    assert_problem(
        await client.post(f"/v1/holds/{hold_id}/checkout", headers=staff.headers),
        409,
        "hold_not_ready",
    )
    assert_problem(
        await client.post(f"/v1/holds/{hold_id}/checkout", headers=b.headers),
        404,
        "hold_not_found",
    )
    assert_problem(
        await client.get(f"/v1/holds/{hold_id}", headers=stranger.headers), 404, "hold_not_found"
    )
    assert_problem(
        await client.post(f"/v1/holds/{hold_id}/cancel", headers=stranger.headers),
        404,
        "hold_not_found",
    )
    assert_problem(
        await client.get(f"/v1/listings/{listing.id}/holds", headers=stranger.headers),
        404,
        "listing_not_found",
    )
    assert_problem(
        await client.get("/v1/me/holds", params={"cursor": "x"}, headers=b.headers),
        422,
        "invalid_cursor",
    )
    assert_problem(
        await client.post(
            f"/v1/holds/{hold_id}/checkout", json={"until": "soon"}, headers=staff.headers
        ),
        422,
        "validation_failed",
    )
    assert (await me(client, b, hold_id))["status"] == "waiting"


async def test_the_database_keeps_one_live_hold_per_person_and_one_ready_per_unit(
    session: AsyncSession, settings: Settings, library: Organization
) -> None:
    listing = await drill(session, library)
    a, b = [await create_person(session, settings) for _ in range(2)]

    async def add(values: dict[str, Any]) -> None:
        async with session.begin_nested():
            session.add(Hold(listing_id=listing.id, created_at=NOW, **values))
            await session.flush()

    async def refused(**values: Any) -> str | None:
        with pytest.raises(IntegrityError) as caught:
            await add(values)
        return constraint_name(caught.value)

    session.add(
        Hold(listing_id=listing.id, person_id=a.person_id, status="waiting", created_at=NOW)
    )
    await session.flush()
    assert await refused(person_id=a.person_id, status="waiting") == "ux_holds_one_live_per_person"
    ready = {"unit_no": 1, "ready_at": NOW, "ready_until": NOW + timedelta(hours=1)}
    session.add(
        Hold(listing_id=listing.id, person_id=b.person_id, status="ready", created_at=NOW, **ready)
    )
    await session.flush()
    c = await create_person(session, settings)
    assert await refused(person_id=c.person_id, status="ready", **ready) == (
        "ux_holds_one_ready_per_unit"
    )
    assert await refused(person_id=c.person_id, status="ready") == "ck_holds_ready_has_unit"
    # A booking of the kept unit by someone else, written behind the service's back.
    refusal = await refused_raw_loan(
        session,
        listing_id=listing.id,
        organization_id=library.id,
        person_id=c.person_id,
        start=NOW + timedelta(minutes=10),
        end=NOW + timedelta(minutes=50),
    )
    assert refusal == "transactions_unit_held"


async def test_twenty_parallel_holds_and_two_returns_ready_the_first_two(
    committed_client: httpx.AsyncClient,
) -> None:
    async def signed_in() -> dict[str, str]:
        email = f"hold-{uuid.uuid4().hex[:10]}@example.no"
        made = await committed_client.post(
            "/v1/auth/register",
            json={"email": email, "password": "et langt passord", "display_name": "H"},
        )
        assert made.status_code == 201, made.text
        token = await committed_client.post(
            "/v1/auth/token", data={"username": email, "password": "et langt passord"}
        )
        return {"Authorization": f"Bearer {token.json()['access_token']}"}

    owner = await signed_in()
    created = await committed_client.post(
        "/v1/listings",
        json={
            "kind": "item",
            "mode": "lend",
            "title": "Tilhenger",
            "category": "power-tools",
            "quantity": 2,
            "location": {"type": "Point", "coordinates": [10.7336, 59.9119]},
        },
        headers=owner,
    )
    assert created.status_code == 201, created.text
    listing_id = created.json()["id"]
    start = datetime.now(UTC) - timedelta(minutes=1)
    loans = []
    for _ in range(2):
        borrower = await signed_in()
        asked = await committed_client.post(
            "/v1/transactions",
            json={
                "listing_id": listing_id,
                "period": {
                    "start": (start + timedelta(minutes=4)).isoformat(),
                    "end": (start + timedelta(days=1)).isoformat(),
                },
            },
            headers=borrower,
        )
        assert asked.status_code == 201, asked.text
        for action in ("accept", "pickup"):
            moved = await committed_client.post(
                f"/v1/transactions/{asked.json()['id']}/{action}", headers=owner
            )
            assert moved.status_code == 200, moved.text
        loans.append(asked.json()["id"])
    people = [await signed_in() for _ in range(20)]
    placed = await asyncio.gather(
        *(committed_client.post(f"/v1/listings/{listing_id}/holds", headers=p) for p in people)
    )
    assert [r.status_code for r in placed] == [201] * 20, [r.text for r in placed]
    # The same person five times at once: one hold.
    again = await asyncio.gather(
        *(
            committed_client.post(f"/v1/listings/{listing_id}/holds", headers=people[0])
            for _ in range(5)
        )
    )
    assert [r.status_code for r in again] == [409] * 5
    # Both loans come back while three more people queue.
    late = [await signed_in() for _ in range(3)]
    await asyncio.gather(
        *(committed_client.post(f"/v1/transactions/{tx}/return", headers=owner) for tx in loans),
        *(committed_client.post(f"/v1/listings/{listing_id}/holds", headers=p) for p in late),
    )
    queue = await committed_client.get(
        f"/v1/listings/{listing_id}/holds", params={"limit": 100}, headers=owner
    )
    items = queue.json()["items"]
    ready = [h for h in items if h["status"] == "ready"]
    assert sorted(h["unit_no"] for h in ready) == [1, 2]
    # The two that became ready are the two that queued first.
    first_two = sorted(placed, key=lambda r: r.json()["position"])[:2]
    assert {h["id"] for h in ready} == {r.json()["id"] for r in first_two}
    waiting = [h["position"] for h in items if h["status"] == "waiting"]
    assert waiting == list(range(1, len(waiting) + 1))


async def test_export_lists_a_persons_holds_and_erasure_deletes_them(
    client: httpx.AsyncClient,
    session: AsyncSession,
    settings: Settings,
    staff: Actor,
    library: Organization,
) -> None:
    listing = await drill(session, library)
    a, b = [await create_person(session, settings) for _ in range(2)]
    await lend_out(client, staff, a, listing)
    placed = (await hold(client, b, listing)).json()
    export = await client.get("/v1/me/export", headers=b.headers)
    assert [(h["id"], h["status"]) for h in export.json()["holds"]] == [(placed["id"], "waiting")]
    assert (await client.delete("/v1/me", headers=b.headers)).status_code == 204
    assert await session.get(Hold, uuid.UUID(placed["id"])) is None
