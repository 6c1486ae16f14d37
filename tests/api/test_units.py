"""Units out of service: a loan returned `needs_repair` (or `retired`) takes its unit out of
every booking until the staff mark it available again — then it goes to the first in the
queue. The database refuses a booking of a unit out of service whatever writes it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.models import Listing, Organization
from app.models.organization import OrganizationKind
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
    return await create_person(session, settings)


@pytest.fixture
async def library(session: AsyncSession, staff: Actor) -> Organization:
    return await create_organization(
        session, owner=staff, name="Utlånet", kind=OrganizationKind.LIBRARY_OF_THINGS
    )


async def drills(session: AsyncSession, library: Organization, units: int = 1) -> Listing:
    return await create_listing(
        session,
        at=OSLO,
        organization=library,
        mode="lend",
        title="Slagdrill",
        category="power-tools",
        quantity=Decimal(units),
    )


def period(start_h: float, end_h: float) -> dict[str, str]:
    return {
        "start": (NOW + timedelta(hours=start_h)).isoformat(),
        "end": (NOW + timedelta(hours=end_h)).isoformat(),
    }


async def book(
    client: httpx.AsyncClient, who: Actor, listing: Listing, start_h: float, end_h: float
) -> httpx.Response:
    return await client.post(
        "/v1/transactions",
        json={"listing_id": str(listing.id), "period": period(start_h, end_h)},
        headers=who.headers,
    )


async def out_and_back(
    client: httpx.AsyncClient, staff: Actor, borrower: Actor, listing: Listing, **back: Any
) -> dict[str, Any]:
    asked = await book(client, borrower, listing, 0.1, 5)
    assert asked.status_code == 201, asked.text
    tx_id = asked.json()["id"]
    for action in ("accept", "pickup"):
        assert (
            await client.post(f"/v1/transactions/{tx_id}/{action}", headers=staff.headers)
        ).status_code == 200
    returned = await client.post(
        f"/v1/transactions/{tx_id}/return", json=back or None, headers=staff.headers
    )
    assert returned.status_code == 200, returned.text
    body: dict[str, Any] = returned.json()
    return body


async def test_a_unit_returned_broken_takes_no_bookings_until_it_is_fixed(
    client: httpx.AsyncClient,
    session: AsyncSession,
    settings: Settings,
    staff: Actor,
    library: Organization,
) -> None:
    listing = await drills(session, library)
    a, b, c = [await create_person(session, settings) for _ in range(3)]
    back = await out_and_back(
        client,
        staff,
        a,
        listing,
        unit_status="needs_repair",
        condition_note="Chucken slingrer",
    )
    units = await client.get(f"/v1/listings/{listing.id}/units", headers=staff.headers)
    assert units.json()["items"] == [
        {
            "unit_no": 1,
            "status": "needs_repair",
            "note": "Chucken slingrer",
            "since": "2026-11-22T11:00:00+00:00",
            "transaction_id": back["id"],
        }
    ]
    assert_problem(await book(client, b, listing, 24, 48), 409, "booking_conflict")
    free = await client.get(f"/v1/listings/{listing.id}/availability")
    assert (free.json()["units_out_of_service"], free.json()["free"]) == (1, [])
    # Nothing is free: b may queue.
    queued = await client.post(f"/v1/listings/{listing.id}/holds", headers=b.headers)
    assert queued.status_code == 201, queued.text
    fixed = await client.put(
        f"/v1/listings/{listing.id}/units/1/status",
        json={"status": "available"},
        headers=staff.headers,
    )
    assert [u["status"] for u in fixed.json()["items"]] == ["available"]
    held = await client.get(f"/v1/holds/{queued.json()['id']}", headers=b.headers)
    assert (held.json()["status"], held.json()["unit_no"]) == ("ready", 1)
    # Kept for b over the window; after it, anyone books.
    assert_problem(await book(client, c, listing, 1, 2), 409, "booking_conflict")
    assert (await book(client, c, listing, 72, 80)).status_code == 201


async def test_another_unit_is_booked_while_one_is_in_repair(
    client: httpx.AsyncClient,
    session: AsyncSession,
    settings: Settings,
    staff: Actor,
    library: Organization,
) -> None:
    listing = await drills(session, library, units=2)
    a, b, c = [await create_person(session, settings) for _ in range(3)]
    back = await out_and_back(client, staff, a, listing, unit_status="retired")
    assert back["unit_no"] == 1
    first = await book(client, b, listing, 24, 48)
    assert (first.status_code, first.json()["unit_no"]) == (201, 2)
    assert_problem(await book(client, c, listing, 30, 40), 409, "booking_conflict")
    marked = await client.put(
        f"/v1/listings/{listing.id}/units/2/status",
        json={"status": "needs_repair", "note": "Batteri dødt"},
        headers=staff.headers,
    )
    assert [u["status"] for u in marked.json()["items"]] == ["retired", "needs_repair"]


async def test_refusals(
    client: httpx.AsyncClient,
    session: AsyncSession,
    settings: Settings,
    staff: Actor,
    library: Organization,
) -> None:
    listing = await drills(session, library)
    a, stranger = [await create_person(session, settings) for _ in range(2)]
    asked = await book(client, a, listing, 0.1, 5)
    tx_id = asked.json()["id"]
    assert_problem(
        await client.post(
            f"/v1/transactions/{tx_id}/accept",
            json={"unit_status": "retired"},
            headers=staff.headers,
        ),
        422,
        "invalid_input",
    )
    assert_problem(
        await client.post(
            f"/v1/transactions/{tx_id}/accept",
            json={"unit_status": "broken"},
            headers=staff.headers,
        ),
        422,
        "validation_failed",
    )
    path = f"/v1/listings/{listing.id}/units"
    assert_problem(await client.get(path, headers=stranger.headers), 404, "listing_not_found")
    assert_problem(
        await client.put(f"{path}/1/status", json={"status": "retired"}, headers=stranger.headers),
        404,
        "listing_not_found",
    )
    assert_problem(
        await client.put(f"{path}/2/status", json={"status": "retired"}, headers=staff.headers),
        404,
        "unit_not_found",
    )
    assert_problem(
        await client.put(f"{path}/1/status", json={"status": "lost"}, headers=staff.headers),
        422,
        "validation_failed",
    )
    gift = await create_listing(
        session, at=OSLO, organization=library, mode="give", category="power-tools"
    )
    assert_problem(
        await client.put(
            f"/v1/listings/{gift.id}/units/1/status",
            json={"status": "retired"},
            headers=staff.headers,
        ),
        409,
        "listing_not_holdable",
    )
    listed = await client.get(path, headers=staff.headers)
    assert [u["status"] for u in listed.json()["items"]] == ["available"]


async def test_the_database_refuses_a_booking_of_a_unit_out_of_service(
    session: AsyncSession, settings: Settings, library: Organization
) -> None:
    listing = await drills(session, library)
    borrower = await create_person(session, settings)
    await session.execute(
        text(
            "INSERT INTO units_out_of_service (listing_id, unit_no, status, note, since) "
            "VALUES (:l, 1, 'needs_repair', '', now())"
        ),
        {"l": listing.id},
    )
    refusal = await refused_raw_loan(
        session,
        listing_id=listing.id,
        organization_id=library.id,
        person_id=borrower.person_id,
        start=NOW + timedelta(days=1),
        end=NOW + timedelta(days=2),
    )
    assert refusal == "transactions_unit_out_of_service"


async def test_fixing_a_unit_logs_its_repair_in_the_same_step(
    client: httpx.AsyncClient,
    session: AsyncSession,
    staff: Actor,
    library: Organization,
) -> None:
    listing = await drills(session, library, units=2)
    path = f"/v1/listings/{listing.id}/units"
    out = await client.put(
        f"{path}/1/status",
        json={"status": "needs_repair", "note": "Chuck wobbles"},
        headers=staff.headers,
    )
    assert out.status_code == 200, out.text
    assert out.json()["repair_id"] is None
    back = await client.put(
        f"{path}/1/status",
        json={"status": "available", "note": "New chuck", "repair": {"problem": "Chuck wobbled"}},
        headers=staff.headers,
    )
    assert back.status_code == 200, back.text
    assert [u["status"] for u in back.json()["items"]] == ["available", "available"]
    repair = await client.get(f"/v1/repairs/{back.json()['repair_id']}", headers=staff.headers)
    assert repair.status_code == 200, repair.text
    body = repair.json()
    assert (body["organization_id"], body["repair_status"]) == (str(library.id), "Fixed")
    assert (body["category"], body["problem"]) == ("power-tools", "Chuck wobbled")
    assert body["impact"]["kg_diverted"] is not None  # a Fixed power tool counts (SG1)
    evidence = await session.execute(
        text("SELECT count(*) FROM evidence WHERE repair_id = :id"), {"id": body["id"]}
    )
    assert evidence.scalar_one() == 1

    retired = await client.put(
        f"{path}/2/status",
        json={"status": "retired", "repair": {"repair_barrier": "Spare parts not available"}},
        headers=staff.headers,
    )
    assert retired.status_code == 200, retired.text
    ended = await client.get(f"/v1/repairs/{retired.json()['repair_id']}", headers=staff.headers)
    assert (ended.json()["repair_status"], ended.json()["repair_barrier"]) == (
        "End of life",
        "Spare parts not available",
    )


async def test_a_unit_repair_is_refused_where_it_does_not_fit(
    client: httpx.AsyncClient,
    session: AsyncSession,
    settings: Settings,
    staff: Actor,
    library: Organization,
) -> None:
    listing = await drills(session, library)
    path = f"/v1/listings/{listing.id}/units/1/status"
    before = (await session.execute(text("SELECT count(*) FROM repairs"))).scalar_one()
    for body in (
        {"status": "needs_repair", "repair": {}},  # still broken: nothing repaired yet
        {"status": "available", "repair": {"repair_barrier": "Lack of equipment"}},
        {"status": "available", "repair": {"problem": "x" * 2001}},
        {"status": "available", "repair": {"fixed_by": "Ola"}},
    ):
        assert_problem(
            await client.put(path, json=body, headers=staff.headers), 422, "validation_failed"
        )
    neighbour = await create_person(session, settings)
    own = await create_listing(
        session, at=OSLO, person=neighbour, mode="lend", category="power-tools"
    )
    assert_problem(
        await client.put(
            f"/v1/listings/{own.id}/units/1/status",
            json={"status": "available", "repair": {"problem": "Loose cable"}},
            headers=neighbour.headers,
        ),
        422,
        "invalid_input",
    )
    after = (await session.execute(text("SELECT count(*) FROM repairs"))).scalar_one()
    assert after == before


async def test_a_unit_out_keeps_when_it_went_out_when_its_status_changes(
    client: httpx.AsyncClient,
    session: AsyncSession,
    staff: Actor,
    library: Organization,
    clock: Clock,
) -> None:
    listing = await drills(session, library)
    path = f"/v1/listings/{listing.id}/units/1/status"
    out = await client.put(
        path, json={"status": "needs_repair", "note": "Chuck wobbles"}, headers=staff.headers
    )
    since = out.json()["items"][0]["since"]
    clock.now = clock.now + timedelta(days=3)
    worse = await client.put(
        path, json={"status": "retired", "note": "Motor burnt"}, headers=staff.headers
    )
    unit = worse.json()["items"][0]
    assert (unit["status"], unit["note"], unit["since"]) == ("retired", "Motor burnt", since)
