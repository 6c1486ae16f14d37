"""A library's daily desk work: the loans it provides, soonest due first
(``GET /v1/organizations/{id}/loans``), and the reminders the clock sends borrowers — the day
before, the morning it is due, and 1, 3 and 7 days late."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.models import Listing, Organization, OutboxEvent
from app.models.organization import OrganizationKind
from app.services.transaction import tick
from tests.clock import Clock, frozen
from tests.factories import Actor, create_listing, create_organization, create_person
from tests.places import PLACES
from tests.problems import assert_problem

OSLO = (PLACES["oslo_city_hall"].lat, PLACES["oslo_city_hall"].lon)
# A Sunday noon in Oslo (11:00 UTC).
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


async def tool(session: AsyncSession, library: Organization, title: str = "Slagdrill") -> Listing:
    return await create_listing(
        session,
        at=OSLO,
        organization=library,
        mode="lend",
        title=title,
        category="power-tools",
    )


async def lend(
    client: httpx.AsyncClient,
    staff: Actor,
    borrower: Actor,
    listing: Listing,
    *,
    start: datetime,
    end: datetime,
    pickup: bool = True,
) -> str:
    asked = await client.post(
        "/v1/transactions",
        json={
            "listing_id": str(listing.id),
            "period": {"start": start.isoformat(), "end": end.isoformat()},
        },
        headers=borrower.headers,
    )
    assert asked.status_code == 201, asked.text
    tx_id = str(asked.json()["id"])
    for action in ("accept", "pickup") if pickup else ("accept",):
        moved = await client.post(f"/v1/transactions/{tx_id}/{action}", headers=staff.headers)
        assert moved.status_code == 200, moved.text
    return tx_id


async def reminders(session: AsyncSession, borrower: Actor) -> list[tuple[str, object]]:
    rows = await session.scalars(
        select(OutboxEvent)
        .where(
            OutboxEvent.recipient_person_id == borrower.person_id,
            OutboxEvent.type.in_(
                ["transaction.due_soon", "transaction.due_today", "transaction.still_overdue"]
            ),
        )
        .order_by(OutboxEvent.seq)
    )
    return [(e.type, e.payload.get("days_overdue")) for e in rows]


async def test_the_borrower_is_reminded_before_on_the_day_and_while_late(
    client: httpx.AsyncClient,
    session: AsyncSession,
    settings: Settings,
    staff: Actor,
    library: Organization,
) -> None:
    borrower = await create_person(session, settings)
    due = datetime(2026, 11, 24, 14, 0, tzinfo=UTC)  # Tuesday 15:00 in Oslo
    await lend(
        client,
        staff,
        borrower,
        await tool(session, library),
        start=NOW + timedelta(hours=1),
        end=due,
    )
    await tick(session, now=datetime(2026, 11, 23, 13, 0, tzinfo=UTC))  # not yet a day before
    assert await reminders(session, borrower) == []
    await tick(session, now=datetime(2026, 11, 23, 15, 0, tzinfo=UTC))
    assert await reminders(session, borrower) == [("transaction.due_soon", None)]
    await tick(session, now=datetime(2026, 11, 24, 5, 30, tzinfo=UTC))  # 06:30 in Oslo
    assert len(await reminders(session, borrower)) == 1
    for _ in range(2):  # 07:30 in Oslo, twice: once
        await tick(session, now=datetime(2026, 11, 24, 6, 30, tzinfo=UTC))
    assert await reminders(session, borrower) == [
        ("transaction.due_soon", None),
        ("transaction.due_today", None),
    ]
    await tick(session, now=due + timedelta(hours=1))  # marked overdue; no reminder yet
    assert len(await reminders(session, borrower)) == 2
    for _ in range(2):
        await tick(session, now=due + timedelta(days=1, hours=1))
    assert (await reminders(session, borrower))[2:] == [("transaction.still_overdue", 1)]
    # The clock stood still for a week: only the seventh day's reminder, not the third's.
    await tick(session, now=due + timedelta(days=8))
    assert (await reminders(session, borrower))[2:] == [
        ("transaction.still_overdue", 1),
        ("transaction.still_overdue", 7),
    ]


async def test_a_loan_due_before_seven_in_the_morning_gets_no_due_today(
    client: httpx.AsyncClient,
    session: AsyncSession,
    settings: Settings,
    staff: Actor,
    library: Organization,
) -> None:
    borrower = await create_person(session, settings)
    due = datetime(2026, 11, 24, 5, 0, tzinfo=UTC)  # 06:00 in Oslo
    await lend(
        client,
        staff,
        borrower,
        await tool(session, library),
        start=NOW + timedelta(hours=1),
        end=due,
    )
    await tick(session, now=datetime(2026, 11, 24, 4, 30, tzinfo=UTC))  # 05:30 in Oslo
    assert await reminders(session, borrower) == [("transaction.due_soon", None)]


async def test_the_desk_list_shows_what_is_out_soonest_due_first(
    client: httpx.AsyncClient,
    session: AsyncSession,
    settings: Settings,
    clock: Clock,
    staff: Actor,
    library: Organization,
) -> None:
    borrowers = [await create_person(session, settings) for _ in range(4)]
    jigsaw = await create_listing(
        session,
        at=OSLO,
        organization=library,
        mode="lend",
        title="Stikksag",
        category="power-tools",
        details={"booking": {"late_fee_nok_per_day": 20}},
    )
    late = await lend(
        client,
        staff,
        borrowers[0],
        jigsaw,
        start=NOW + timedelta(hours=1),
        end=NOW + timedelta(hours=5),
    )
    out = await lend(
        client,
        staff,
        borrowers[1],
        await tool(session, library, "Høytrykkspyler"),
        start=NOW + timedelta(hours=1),
        end=NOW + timedelta(days=5),
    )
    agreed = await lend(
        client,
        staff,
        borrowers[2],
        await tool(session, library, "Tilhenger"),
        start=NOW + timedelta(days=6),
        end=NOW + timedelta(days=7),
        pickup=False,
    )
    back = await lend(
        client,
        staff,
        borrowers[3],
        await tool(session, library, "Telt"),
        start=NOW + timedelta(hours=1),
        end=NOW + timedelta(days=2),
    )
    assert (
        await client.post(f"/v1/transactions/{back}/return", headers=staff.headers)
    ).status_code == 200
    now = NOW + timedelta(days=3, hours=6)
    await tick(session, now=now)
    clock.now = now
    path = f"/v1/organizations/{library.id}/loans"
    listed = await client.get(path, headers=staff.headers)
    assert listed.status_code == 200, listed.text
    items = listed.json()["items"]
    assert [i["id"] for i in items] == [late, out, agreed]
    assert [(i["status"], i["days_overdue"]) for i in items] == [
        ("overdue", 3),
        ("active", 0),
        ("accepted", 0),
    ]
    assert items[0]["due_at"].startswith("2026-11-22T16:00:00")
    assert [i["late_fee_nok"] for i in items] == [60, None, None]
    assert items[0]["roles"] == ["provider"]
    overdue = await client.get(path, params={"status": "overdue"}, headers=staff.headers)
    assert [i["id"] for i in overdue.json()["items"]] == [late]
    returned = await client.get(path, params={"status": "returned"}, headers=staff.headers)
    assert [i["id"] for i in returned.json()["items"]] == [back]
    # Page by page, in the same order.
    seen, cursor = [], None
    while True:
        page = await client.get(
            path,
            params={"limit": 1, **({"cursor": cursor} if cursor else {})},
            headers=staff.headers,
        )
        assert page.status_code == 200, page.text
        seen += [i["id"] for i in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == [late, out, agreed]


async def test_the_desk_list_is_for_the_librarys_staff_only(
    client: httpx.AsyncClient,
    session: AsyncSession,
    settings: Settings,
    staff: Actor,
    library: Organization,
) -> None:
    stranger = await create_person(session, settings)
    path = f"/v1/organizations/{library.id}/loans"
    assert_problem(await client.get(path, headers=stranger.headers), 403, "not_a_member")
    assert_problem(await client.get(path), 401, "unauthorized")
    assert_problem(
        await client.get(
            "/v1/organizations/00000000-0000-4000-8000-000000000000/loans", headers=staff.headers
        ),
        404,
        "organization_not_found",
    )
    assert_problem(
        await client.get(path, params={"cursor": "nonsense"}, headers=staff.headers),
        422,
        "invalid_cursor",
    )
    assert_problem(
        await client.get(path, params={"status": "lost"}, headers=staff.headers),
        422,
        "validation_failed",
    )


async def test_the_librarys_own_figures(
    client: httpx.AsyncClient,
    session: AsyncSession,
    settings: Settings,
    clock: Clock,
    staff: Actor,
    library: Organization,
) -> None:
    drills = await create_listing(
        session,
        at=OSLO,
        organization=library,
        mode="lend",
        title="Slagdrill",
        category="power-tools",
        quantity=Decimal(2),
    )
    tent = await tool(session, library, "Telt")
    gone = await tool(session, library, "Gammel stige")
    withdrawn = await client.post(f"/v1/listings/{gone.id}/withdraw", headers=staff.headers)
    assert withdrawn.status_code == 200, withdrawn.text
    first = await create_person(session, settings)
    second = await create_person(session, settings)
    returned = await lend(
        client, staff, first, drills, start=NOW + timedelta(hours=1), end=NOW + timedelta(hours=5)
    )
    renewed = await client.post(f"/v1/transactions/{returned}/renew", headers=first.headers)
    assert renewed.status_code == 200, renewed.text
    late = await lend(
        client, staff, second, tent, start=NOW + timedelta(hours=1), end=NOW + timedelta(hours=25)
    )
    clock.now = NOW + timedelta(hours=4)
    back = await client.post(f"/v1/transactions/{returned}/return", headers=staff.headers)
    assert back.status_code == 200, back.text
    clock.now = NOW + timedelta(days=2)
    await tick(session, now=clock.now)
    stats = await client.get(f"/v1/organizations/{library.id}/stats", headers=staff.headers)
    assert stats.status_code == 200, stats.text
    body = stats.json()
    assert (body["lendable_listings"], body["lendable_units"]) == (2, 3)
    assert (body["loans_returned"], body["loans_per_unit_per_year"]) == (1, 0.33)
    # The second drill was never picked up; the first and the tent were, today.
    assert (body["idle_units"], body["idle_share"]) == (1, 0.333)
    assert (body["out_now"], body["overdue_now"]) == (0, 1)
    assert (body["renewals"], body["borrowers"]) == (1, 1)
    assert body["window_days"] == 365
    assert late  # out and overdue, above
    # A week's window from 100 days on: nothing returned in it, and every unit idle.
    clock.now = NOW + timedelta(days=100)
    later = await client.get(
        f"/v1/organizations/{library.id}/stats", params={"days": 7}, headers=staff.headers
    )
    assert (later.json()["loans_returned"], later.json()["idle_units"]) == (0, 3)
    stranger = await create_person(session, settings)
    assert_problem(
        await client.get(f"/v1/organizations/{library.id}/stats", headers=stranger.headers),
        403,
        "not_a_member",
    )
    assert_problem(
        await client.get(
            f"/v1/organizations/{library.id}/stats", params={"days": 0}, headers=staff.headers
        ),
        422,
        "validation_failed",
    )
