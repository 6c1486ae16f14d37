"""Renewing a booking (``POST /v1/transactions/{id}/renew``): by its own length or to a new
end, within the listing's ``max_renewals`` and ``max_duration_days``, never over another
booking of the unit; the other party is told; the database refuses any other change of a
period."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.models import Listing, OutboxEvent
from app.repositories.db_errors import constraint_name
from tests.clock import Clock, frozen
from tests.factories import Actor, create_listing, create_person
from tests.places import PLACES
from tests.problems import assert_problem

OSLO = (PLACES["oslo_city_hall"].lat, PLACES["oslo_city_hall"].lon)
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def clock(app: FastAPI) -> Iterator[Clock]:
    with frozen(app, NOW) as c:
        yield c


@pytest.fixture
async def library(session: AsyncSession, settings: Settings) -> Actor:
    return await create_person(session, settings, display_name="Utlånet")


@pytest.fixture
async def borrower(session: AsyncSession, settings: Settings) -> Actor:
    return await create_person(session, settings, display_name="Låner")


def at(hours: float) -> str:
    return (NOW + timedelta(hours=hours)).isoformat()


def period(start_h: float, end_h: float) -> dict[str, str]:
    return {"start": at(start_h), "end": at(end_h)}


async def drill(session: AsyncSession, owner: Actor, **booking: Any) -> Listing:
    return await create_listing(
        session,
        at=OSLO,
        person=owner,
        mode="lend",
        category="power-tools",
        details={"booking": booking} if booking else {},
    )


async def act(
    client: httpx.AsyncClient, who: Actor, tx_id: str, action: str, **body: Any
) -> httpx.Response:
    return await client.post(
        f"/v1/transactions/{tx_id}/{action}", json=body or None, headers=who.headers
    )


async def out_on_loan(
    client: httpx.AsyncClient, listing: Listing, library: Actor, borrower: Actor, hours: float = 48
) -> str:
    """A loan from hour 1 for ``hours``, accepted and picked up."""
    asked = await client.post(
        "/v1/transactions",
        json={"listing_id": str(listing.id), "period": period(1, 1 + hours)},
        headers=borrower.headers,
    )
    assert asked.status_code == 201, asked.text
    tx_id = str(asked.json()["id"])
    assert (await act(client, library, tx_id, "accept")).status_code == 200
    assert (await act(client, library, tx_id, "pickup")).status_code == 200
    return tx_id


async def test_a_renewal_extends_by_the_loans_own_length_and_tells_the_library(
    client: httpx.AsyncClient,
    session: AsyncSession,
    settings: Settings,
    library: Actor,
    borrower: Actor,
) -> None:
    listing = await drill(session, library, buffer_hours=2)
    tx_id = await out_on_loan(client, listing, library, borrower)
    renewed = await act(client, borrower, tx_id, "renew")
    assert renewed.status_code == 200, renewed.text
    body = renewed.json()
    assert body["status"] == "active"
    assert body["renewals"] == 1
    assert body["period"]["start"].startswith("2026-11-22T13:00:00")
    assert body["period"]["end"].startswith("2026-11-26T13:00:00")  # 48 h more
    assert body["blocked_until"].startswith("2026-11-26T15:00:00")  # and the buffer
    events = (
        await session.scalars(select(OutboxEvent).where(OutboxEvent.type == "transaction.renewed"))
    ).all()
    assert [(e.recipient_person_id, e.payload["renewals"]) for e in events] == [
        (library.person_id, 1)
    ]
    assert events[0].payload["due_at"].startswith("2026-11-26T13:00:00")
    # The unit is busy until the new end: a booking in the extension conflicts.
    other = await create_person(session, settings)
    clash = await client.post(
        "/v1/transactions",
        json={"listing_id": str(listing.id), "period": period(60, 70)},
        headers=other.headers,
    )
    assert_problem(clash, 409, "booking_conflict")


async def test_the_library_renews_to_a_chosen_end(
    client: httpx.AsyncClient, session: AsyncSession, library: Actor, borrower: Actor
) -> None:
    tx_id = await out_on_loan(client, await drill(session, library), library, borrower)
    renewed = await act(client, library, tx_id, "renew", until=at(100))
    assert renewed.status_code == 200, renewed.text
    assert renewed.json()["period"]["end"].startswith("2026-11-26T16:00:00")
    events = (
        await session.scalars(select(OutboxEvent).where(OutboxEvent.type == "transaction.renewed"))
    ).all()
    assert [e.recipient_person_id for e in events] == [borrower.person_id]


async def test_renewals_stop_at_the_listings_limit(
    client: httpx.AsyncClient, session: AsyncSession, library: Actor, borrower: Actor
) -> None:
    tx_id = await out_on_loan(
        client, await drill(session, library, max_renewals=1), library, borrower
    )
    assert (await act(client, borrower, tx_id, "renew")).status_code == 200
    again = await act(client, borrower, tx_id, "renew")
    assert_problem(again, 409, "renewal_limit_reached")
    assert "1" in again.json()["detail"]
    state = (await client.get(f"/v1/transactions/{tx_id}", headers=borrower.headers)).json()
    assert state["renewals"] == 1
    assert state["period"]["end"].startswith("2026-11-26T13:00:00")


async def test_without_a_rule_two_renewals_are_allowed(
    client: httpx.AsyncClient, session: AsyncSession, library: Actor, borrower: Actor
) -> None:
    tx_id = await out_on_loan(client, await drill(session, library), library, borrower, hours=24)
    for expected in (1, 2):
        renewed = await act(client, borrower, tx_id, "renew")
        assert renewed.json()["renewals"] == expected
    assert_problem(await act(client, borrower, tx_id, "renew"), 409, "renewal_limit_reached")


async def test_a_renewal_never_runs_over_the_next_booking(
    client: httpx.AsyncClient,
    session: AsyncSession,
    settings: Settings,
    library: Actor,
    borrower: Actor,
) -> None:
    listing = await drill(session, library)
    tx_id = await out_on_loan(client, listing, library, borrower)  # hours 1-49
    next_borrower = await create_person(session, settings)
    booked = await client.post(
        "/v1/transactions",
        json={"listing_id": str(listing.id), "period": period(60, 70)},
        headers=next_borrower.headers,
    )
    assert booked.status_code == 201, booked.text
    refused = await act(client, borrower, tx_id, "renew")  # would run to hour 97
    assert_problem(refused, 409, "renewal_conflict")
    state = (await client.get(f"/v1/transactions/{tx_id}", headers=borrower.headers)).json()
    assert (state["renewals"], state["period"]["end"][:19]) == (0, "2026-11-24T13:00:00")
    # A shorter renewal that ends before the next booking fits.
    shorter = await act(client, borrower, tx_id, "renew", until=at(58))
    assert shorter.status_code == 200, shorter.text
    assert shorter.json()["renewals"] == 1


async def test_bad_renewals_are_refused_and_change_nothing(
    client: httpx.AsyncClient,
    session: AsyncSession,
    settings: Settings,
    library: Actor,
    borrower: Actor,
) -> None:
    listing = await drill(session, library, max_duration_days=3)
    tx_id = await out_on_loan(client, listing, library, borrower)  # hours 1-49
    assert_problem(await act(client, borrower, tx_id, "renew", until=at(49)), 422, "invalid_period")
    assert_problem(await act(client, borrower, tx_id, "renew", until=at(20)), 422, "invalid_period")
    too_long = await act(client, borrower, tx_id, "renew", until=at(49 + 73))
    assert_problem(too_long, 422, "invalid_period")
    assert "3 days" in too_long.json()["detail"]
    assert_problem(
        await act(client, borrower, tx_id, "renew", until="not a time"), 422, "validation_failed"
    )
    # `until` belongs to renew only.
    assert_problem(await act(client, library, tx_id, "return", until=at(60)), 422, "invalid_input")
    stranger = await create_person(session, settings)
    assert_problem(await act(client, stranger, tx_id, "renew"), 404, "transaction_not_found")
    state = (await client.get(f"/v1/transactions/{tx_id}", headers=borrower.headers)).json()
    assert (state["status"], state["renewals"]) == ("active", 0)
    assert state["period"]["end"].startswith("2026-11-24T13:00:00")


async def test_only_active_bookings_are_renewed(
    client: httpx.AsyncClient, session: AsyncSession, library: Actor, borrower: Actor
) -> None:
    listing = await drill(session, library)
    asked = await client.post(
        "/v1/transactions",
        json={"listing_id": str(listing.id), "period": period(1, 25)},
        headers=borrower.headers,
    )
    tx_id = asked.json()["id"]
    assert_problem(await act(client, borrower, tx_id, "renew"), 409, "invalid_transition")
    await act(client, library, tx_id, "accept")
    assert_problem(await act(client, borrower, tx_id, "renew"), 409, "invalid_transition")
    # A gift is no booking: it has no renew at all.
    gift = await create_listing(
        session, at=OSLO, person=library, mode="give", category="power-tools"
    )
    asked_gift = await client.post(
        "/v1/transactions", json={"listing_id": str(gift.id)}, headers=borrower.headers
    )
    assert_problem(
        await act(client, borrower, asked_gift.json()["id"], "renew"), 409, "invalid_transition"
    )


async def test_a_withdrawn_listing_takes_no_renewal(
    client: httpx.AsyncClient, session: AsyncSession, library: Actor, borrower: Actor
) -> None:
    listing = await drill(session, library)
    tx_id = await out_on_loan(client, listing, library, borrower)
    withdrawn = await client.post(f"/v1/listings/{listing.id}/withdraw", headers=library.headers)
    assert withdrawn.status_code == 200, withdrawn.text
    assert_problem(await act(client, borrower, tx_id, "renew"), 409, "listing_not_available")


async def test_the_database_changes_a_period_only_by_a_renewal(
    client: httpx.AsyncClient, session: AsyncSession, library: Actor, borrower: Actor
) -> None:
    tx_id = await out_on_loan(
        client, await drill(session, library, max_renewals=1), library, borrower
    )

    async def refused(sql: str) -> str | None:
        with pytest.raises(DBAPIError) as caught:
            async with session.begin_nested():
                await session.execute(text(sql), {"id": tx_id})
        return constraint_name(caught.value)

    # A longer period without counting a renewal, a moved start, a shorter period.
    assert (
        await refused(
            "UPDATE transactions SET period = tstzrange(lower(period), upper(period) + "
            "interval '1 day') WHERE id = :id"
        )
        == "transactions_renewal_guard"
    )
    assert (
        await refused(
            "UPDATE transactions SET period = tstzrange(lower(period) + interval '1 hour', "
            "upper(period) + interval '1 day'), renewals = renewals + 1 WHERE id = :id"
        )
        == "transactions_renewal_guard"
    )
    assert (
        await refused(
            "UPDATE transactions SET period = tstzrange(lower(period), upper(period) - "
            "interval '1 hour'), renewals = renewals + 1 WHERE id = :id"
        )
        == "transactions_renewal_guard"
    )
    # Two renewals where the listing allows one.
    await session.execute(
        text(
            "UPDATE transactions SET period = tstzrange(lower(period), upper(period) + "
            "interval '1 day'), blocked = tstzrange(lower(blocked), upper(blocked) + "
            "interval '1 day'), renewals = 1 WHERE id = :id"
        ),
        {"id": tx_id},
    )
    assert (
        await refused(
            "UPDATE transactions SET period = tstzrange(lower(period), upper(period) + "
            "interval '1 day'), blocked = tstzrange(lower(blocked), upper(blocked) + "
            "interval '1 day'), renewals = 2 WHERE id = :id"
        )
        == "transactions_renewal_limit"
    )
