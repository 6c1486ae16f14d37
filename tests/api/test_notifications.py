"""The outbox and in-app notifications: what each change tells whom, written in the same
database transaction (a refused change tells nobody), titled in the reader's language, read
markers, the clock's moves, and what erasure does."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.models import Listing
from app.models.organization import ApiKeyScope, MemberRole
from app.repositories.db_errors import constraint_name
from app.services.listing import remind_expiring
from app.services.transaction import tick
from tests.clock import Clock, frozen
from tests.factories import (
    Actor,
    create_api_key,
    create_listing,
    create_organization,
    create_person,
)
from tests.places import PLACES
from tests.problems import assert_problem

OSLO = (PLACES["oslo_city_hall"].lat, PLACES["oslo_city_hall"].lon)
NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def clock(app: FastAPI) -> Iterator[Clock]:
    with frozen(app, NOW) as c:
        yield c


@pytest.fixture
async def giver(session: AsyncSession, settings: Settings) -> Actor:
    return await create_person(session, settings, display_name="Giver")


@pytest.fixture
async def taker(session: AsyncSession, settings: Settings) -> Actor:
    return await create_person(session, settings, display_name="Mottaker")


@pytest.fixture
async def moderator(session: AsyncSession, settings: Settings) -> Actor:
    return await create_person(session, settings, roles=["moderator"])


@pytest.fixture
async def listing(session: AsyncSession, giver: Actor) -> Listing:
    return await create_listing(
        session, at=OSLO, person=giver, title="Sofa", category="sofas-and-armchairs"
    )


async def ask(client: httpx.AsyncClient, who: Actor, listing: Listing, **body: Any) -> str:
    response = await client.post(
        "/v1/transactions", json={"listing_id": str(listing.id), **body}, headers=who.headers
    )
    assert response.status_code == 201, response.text
    tx_id: str = response.json()["id"]
    return tx_id


async def act(client: httpx.AsyncClient, who: Actor, tx_id: str, action: str) -> None:
    response = await client.post(f"/v1/transactions/{tx_id}/{action}", headers=who.headers)
    assert response.status_code == 200, response.text


async def notes(client: httpx.AsyncClient, who: Actor, **params: Any) -> list[dict[str, Any]]:
    response = await client.get("/v1/me/notifications", params=params, headers=who.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_each_party_hears_of_the_other_partys_moves(
    client: httpx.AsyncClient, clock: Clock, giver: Actor, taker: Actor, listing: Listing
) -> None:
    tx = await ask(client, taker, listing)
    [requested] = await notes(client, giver)
    assert requested["type"] == "transaction.requested"
    assert requested["title"] == "Ny forespørsel på «Sofa»"
    assert requested["transaction_id"] == tx
    assert requested["listing_id"] == str(listing.id)
    assert requested["read_at"] is None
    assert requested["created_at"] == NOW.isoformat().replace("+00:00", "Z")
    assert await notes(client, taker) == []  # nobody is told of their own move

    clock.now = NOW + timedelta(minutes=1)
    await act(client, giver, tx, "accept")
    clock.now = NOW + timedelta(minutes=2)
    await act(client, giver, tx, "complete")
    clock.now = NOW + timedelta(minutes=3)
    await act(client, taker, tx, "confirm")
    assert [n["type"] for n in await notes(client, taker)] == [
        "transaction.completed",
        "transaction.accepted",
    ]
    assert [n["type"] for n in await notes(client, giver)] == [
        "transaction.confirmed",
        "transaction.requested",
    ]
    me = (await client.get("/v1/me", headers=giver.headers)).json()
    assert me["unread_notifications"] == 2


async def test_a_message_tells_the_other_side(
    client: httpx.AsyncClient, giver: Actor, taker: Actor, listing: Listing
) -> None:
    tx = await ask(client, taker, listing)
    sent = await client.post(
        f"/v1/transactions/{tx}/messages", json={"body": "Når passer det?"}, headers=taker.headers
    )
    assert sent.status_code == 201
    latest = (await notes(client, giver))[0]
    assert latest["type"] == "message.received"
    assert latest["message_id"] == sent.json()["id"]
    assert latest["title"] == "Ny melding om «Sofa»"
    assert await notes(client, taker) == []


async def test_english_readers_get_english_titles(
    client: httpx.AsyncClient, giver: Actor, taker: Actor, listing: Listing
) -> None:
    changed = await client.patch("/v1/me", json={"language": "en"}, headers=giver.headers)
    assert changed.status_code == 200
    await ask(client, taker, listing)
    [requested] = await notes(client, giver)
    assert requested["title"] == "New request for “Sofa”"


async def test_every_member_of_an_organization_is_told(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, taker: Actor
) -> None:
    owner = await create_person(session, settings)
    member = await create_person(session, settings)
    org = await create_organization(
        session, owner=owner, members={member.person_id: MemberRole.MEMBER}
    )
    listing = await create_listing(session, at=OSLO, organization=org, title="Drill")
    await ask(client, taker, listing)
    for who in (owner, member):
        assert [n["type"] for n in await notes(client, who)] == ["transaction.requested"]
    key = await create_api_key(
        session, organization_id=org.id, scopes=[ApiKeyScope.TRANSACTIONS_WRITE]
    )
    by_key = await client.get("/v1/me/notifications", headers=key)
    assert_problem(by_key, 403, "person_required")


async def test_a_refused_change_tells_nobody(
    client: httpx.AsyncClient,
    session: AsyncSession,
    settings: Settings,
    giver: Actor,
    taker: Actor,
) -> None:
    listing = await create_listing(session, at=OSLO, person=giver, quantity=Decimal(1))
    await ask(client, taker, listing)
    other = await create_person(session, settings)
    refused = await client.post(
        "/v1/transactions", json={"listing_id": str(listing.id)}, headers=other.headers
    )
    assert refused.status_code == 409
    assert len(await notes(client, giver)) == 1
    outbox = await session.scalar(text("SELECT count(*) FROM outbox_events"))
    assert outbox == 1


async def test_reading_notifications(
    client: httpx.AsyncClient,
    session: AsyncSession,
    clock: Clock,
    giver: Actor,
    taker: Actor,
) -> None:
    for i in range(4):
        clock.now = NOW + timedelta(minutes=i)
        listing = await create_listing(session, at=OSLO, person=giver, title=f"Ting {i}")
        await ask(client, taker, listing)
    items = await notes(client, giver)
    assert [n["title"] for n in items] == [f"Ny forespørsel på «Ting {i}»" for i in (3, 2, 1, 0)]

    page = await client.get("/v1/me/notifications", params={"limit": 3}, headers=giver.headers)
    rest = await client.get(
        "/v1/me/notifications",
        params={"limit": 3, "cursor": page.json()["next_cursor"]},
        headers=giver.headers,
    )
    assert [n["id"] for n in page.json()["items"] + rest.json()["items"]] == [
        n["id"] for n in items
    ]
    assert rest.json()["next_cursor"] is None

    clock.now = NOW + timedelta(hours=1)
    read = await client.post(
        "/v1/me/notifications/read", json={"up_to": items[2]["id"]}, headers=giver.headers
    )
    assert read.json() == {"unread": 2}
    unread = await notes(client, giver, unread="true")
    assert [n["id"] for n in unread] == [items[0]["id"], items[1]["id"]]
    marked = (await notes(client, giver))[2]
    assert marked["read_at"] == (NOW + timedelta(hours=1)).isoformat().replace("+00:00", "Z")

    everything = await client.post("/v1/me/notifications/read", json={}, headers=giver.headers)
    assert everything.json() == {"unread": 0}
    assert await notes(client, giver, unread="true") == []

    theirs = await client.post(
        "/v1/me/notifications/read", json={"up_to": items[0]["id"]}, headers=taker.headers
    )
    problem = assert_problem(theirs, 422, "invalid_input")
    assert problem["errors"][0]["field"] == "up_to"
    missing = await client.post(
        "/v1/me/notifications/read", json={"up_to": str(uuid.uuid4())}, headers=giver.headers
    )
    assert_problem(missing, 422, "invalid_input")
    bad = await client.get(
        "/v1/me/notifications", params={"cursor": "bm9wZQ"}, headers=giver.headers
    )
    assert_problem(bad, 422, "invalid_cursor")


async def test_the_clock_tells_both_parties(
    client: httpx.AsyncClient,
    session: AsyncSession,
    giver: Actor,
    taker: Actor,
    listing: Listing,
) -> None:
    await ask(client, taker, listing)
    await tick(session, now=NOW + timedelta(days=30))
    assert [n["type"] for n in await notes(client, taker)] == ["transaction.expired"]
    assert [n["type"] for n in await notes(client, giver)] == [
        "transaction.expired",
        "transaction.requested",
    ]


async def test_moderation_tells_the_owner_and_the_reporter(
    client: httpx.AsyncClient,
    giver: Actor,
    taker: Actor,
    moderator: Actor,
    listing: Listing,
) -> None:
    report = await client.post(
        "/v1/reports",
        json={"target_type": "listing", "target_id": str(listing.id), "reason": "scam"},
        headers=taker.headers,
    )
    decided = await client.post(
        f"/v1/moderation/reports/{report.json()['id']}/decision",
        json={"outcome": "actioned", "note": "Svindel", "action": "hide_listing"},
        headers=moderator.headers,
    )
    assert decided.status_code == 200, decided.text
    [hidden] = await notes(client, giver)
    assert (hidden["type"], hidden["title"]) == (
        "listing.hidden",
        "«Sofa» ble skjult av en moderator",
    )
    [thanks] = await notes(client, taker)
    assert thanks["type"] == "report.actioned"
    assert thanks["report_id"] == report.json()["id"]


async def test_the_database_keeps_events_and_read_marks(
    client: httpx.AsyncClient,
    session: AsyncSession,
    giver: Actor,
    taker: Actor,
    listing: Listing,
) -> None:
    await ask(client, taker, listing)
    await client.post("/v1/me/notifications/read", json={}, headers=giver.headers)
    for statement, constraint in (
        ("UPDATE outbox_events SET payload = '{}'", "outbox_events_append_only"),
        ("DELETE FROM outbox_events", "outbox_events_append_only"),
        ("UPDATE notifications SET read_at = NULL", "notifications_read_once"),
        (
            "UPDATE notifications SET person_id = person_id, event_seq = 0",
            "notifications_read_once",
        ),
    ):
        with pytest.raises(DBAPIError) as raised:
            async with session.begin_nested():
                await session.execute(text(statement))
        assert constraint_name(raised.value) == constraint


async def test_erasure_deletes_the_persons_notifications_and_titles_follow_the_listing(
    client: httpx.AsyncClient, session: AsyncSession, giver: Actor, taker: Actor, listing: Listing
) -> None:
    tx = await ask(client, taker, listing)
    await act(client, giver, tx, "accept")
    [accepted] = await notes(client, taker)
    assert accepted["title"] == "Forespørselen på «Sofa» er godtatt"
    assert (await client.delete("/v1/me", headers=giver.headers)).status_code == 204
    left = await session.scalar(
        text(f"SELECT count(*) FROM notifications WHERE person_id = '{giver.person_id}'")
    )
    assert left == 0
    # The taker hears that the arrangement is off; the notifications refer to the listing,
    # so the erased title is not kept in a copy.
    cancelled, accepted_after = await notes(client, taker)
    assert cancelled["type"] == "transaction.cancelled"
    assert accepted_after["title"] == "Forespørselen på «Slettet annonse» er godtatt"


async def test_the_clock_reminds_once_of_what_is_due_and_what_expires(
    client: httpx.AsyncClient,
    session: AsyncSession,
    clock: Clock,
    giver: Actor,
    taker: Actor,
) -> None:
    drill = await create_listing(
        session, at=OSLO, person=giver, mode="lend", category="power-tools", title="Drill"
    )
    start, end = NOW + timedelta(hours=24), NOW + timedelta(hours=72)
    tx = await ask(
        client,
        taker,
        drill,
        period={"start": start.isoformat(), "end": end.isoformat()},
    )
    await act(client, giver, tx, "accept")
    clock.now = start
    await act(client, giver, tx, "pickup")
    # Two days out: not yet; within a day: once, however often the clock ticks.
    report = await tick(session, now=NOW + timedelta(hours=36))
    assert report.due_reminders == 0
    for hours in (50, 55, 60):
        report = await tick(session, now=NOW + timedelta(hours=hours))
        assert report.due_reminders == (1 if hours == 50 else 0)
    due = [n for n in await notes(client, taker) if n["type"] == "transaction.due_soon"]
    assert [n["title"] for n in due] == ["«Drill» skal leveres tilbake innen et døgn"]

    expiring = await create_listing(
        session,
        at=OSLO,
        person=giver,
        title="Lampe",
        expires_at=NOW + timedelta(days=5),
    )
    assert await remind_expiring(session, now=NOW) == 0
    assert await remind_expiring(session, now=NOW + timedelta(days=3)) == 1
    assert await remind_expiring(session, now=NOW + timedelta(days=4)) == 0
    [reminder] = [n for n in await notes(client, giver) if n["type"] == "listing.expiring"]
    assert reminder["listing_id"] == str(expiring.id)
