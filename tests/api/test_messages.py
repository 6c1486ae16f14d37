"""Conversations of a transaction's parties: the request's message and the moves' notes in
the thread, writing and reading, unread counts, who may see what, the closing of a thread,
erasure, the database's guard, and sharing the exact place with the receiver."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.models import Listing
from app.models.organization import ApiKeyScope
from app.repositories.db_errors import constraint_name
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
async def stranger(session: AsyncSession, settings: Settings) -> Actor:
    return await create_person(session, settings, display_name="Fremmed")


@pytest.fixture
async def moderator(session: AsyncSession, settings: Settings) -> Actor:
    return await create_person(session, settings, roles=["moderator"])


@pytest.fixture
async def listing(session: AsyncSession, giver: Actor) -> Listing:
    return await create_listing(
        session, at=OSLO, person=giver, title="Sofa", category="sofas-and-armchairs"
    )


async def ask(
    client: httpx.AsyncClient, who: Actor | dict[str, str], listing: Listing, **body: Any
) -> dict[str, Any]:
    headers = who.headers if isinstance(who, Actor) else who
    response = await client.post(
        "/v1/transactions", json={"listing_id": str(listing.id), **body}, headers=headers
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def act(
    client: httpx.AsyncClient, who: Actor, tx_id: str, action: str, **body: Any
) -> dict[str, Any]:
    response = await client.post(
        f"/v1/transactions/{tx_id}/{action}", json=body or None, headers=who.headers
    )
    assert response.status_code == 200, response.text
    moved: dict[str, Any] = response.json()
    return moved


async def say(
    client: httpx.AsyncClient, headers: dict[str, str], tx_id: str, body: str
) -> httpx.Response:
    return await client.post(
        f"/v1/transactions/{tx_id}/messages", json={"body": body}, headers=headers
    )


async def thread(
    client: httpx.AsyncClient, who: Actor | dict[str, str], tx_id: str, **params: Any
) -> dict[str, Any]:
    headers = who.headers if isinstance(who, Actor) else who
    response = await client.get(
        f"/v1/transactions/{tx_id}/messages", params=params, headers=headers
    )
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


async def me(client: httpx.AsyncClient, who: Actor) -> dict[str, Any]:
    response = await client.get("/v1/me", headers=who.headers)
    body: dict[str, Any] = response.json()
    return body


# --- the thread -------------------------------------------------------------------------


async def test_the_request_and_the_notes_of_moves_are_the_thread(
    client: httpx.AsyncClient, clock: Clock, giver: Actor, taker: Actor, listing: Listing
) -> None:
    tx = await ask(client, taker, listing, message="  Kan jeg hente i kveld?  ")
    clock.now = NOW + timedelta(minutes=5)
    await act(client, giver, tx["id"], "accept", note="Ja, etter 18")

    seen_by_giver = await thread(client, giver, tx["id"])
    assert [(m["kind"], m["action"], m["body"], m["mine"]) for m in seen_by_giver["items"]] == [
        ("request", None, "Kan jeg hente i kveld?", False),
        ("note", "accept", "Ja, etter 18", True),
    ]
    request, note = seen_by_giver["items"]
    assert request["author"] == {
        "side": "receiver",
        "person_id": str(taker.person_id),
        "organization_id": None,
        "erased": False,
    }
    assert note["author"]["side"] == "provider"
    assert note["created_at"] == (NOW + timedelta(minutes=5)).isoformat().replace("+00:00", "Z")
    assert seen_by_giver["unread"] == 1  # the request
    seen_by_taker = await thread(client, taker, tx["id"])
    assert [m["mine"] for m in seen_by_taker["items"]] == [True, False]
    assert seen_by_taker["unread"] == 1  # the note


async def test_writing_reading_and_unread_counts(
    client: httpx.AsyncClient, clock: Clock, giver: Actor, taker: Actor, listing: Listing
) -> None:
    tx = await ask(client, taker, listing)
    assert (await me(client, giver))["unread_messages"] == 0
    ids = []
    for i in range(3):
        clock.now = NOW + timedelta(minutes=i)
        written = await say(client, taker.headers, tx["id"], f"Melding {i}")
        assert written.status_code == 201, written.text
        assert written.json()["kind"] == "text"
        assert written.json()["mine"] is True
        ids.append(written.json()["id"])
    giver_me = await me(client, giver)
    assert (giver_me["unread_messages"], giver_me["unread_conversations"]) == (3, 1)
    assert (await me(client, taker))["unread_messages"] == 0  # one's own are never unread

    read = await client.post(
        f"/v1/transactions/{tx['id']}/messages/read", json={"up_to": ids[1]}, headers=giver.headers
    )
    assert read.status_code == 200, read.text
    assert read.json() == {"unread": 1}
    # The marker never moves back.
    back = await client.post(
        f"/v1/transactions/{tx['id']}/messages/read", json={"up_to": ids[0]}, headers=giver.headers
    )
    assert back.json() == {"unread": 1}
    # Answering reads the thread up to the answer.
    answered = await say(client, giver.headers, tx["id"], "Hei!")
    assert answered.status_code == 201
    assert (await me(client, giver))["unread_messages"] == 0
    assert (await me(client, taker))["unread_messages"] == 1

    first = await thread(client, giver, tx["id"], limit=2)
    assert [m["body"] for m in first["items"]] == ["Melding 0", "Melding 1"]
    rest = await thread(client, giver, tx["id"], limit=2, cursor=first["next_cursor"])
    assert [m["body"] for m in rest["items"]] == ["Melding 2", "Hei!"]
    assert rest["next_cursor"] is None


async def test_reading_up_to_a_message_of_another_thread_is_refused(
    client: httpx.AsyncClient,
    session: AsyncSession,
    giver: Actor,
    taker: Actor,
    listing: Listing,
) -> None:
    tx = await ask(client, taker, listing, message="Hei")
    other_listing = await create_listing(session, at=OSLO, person=giver, title="Stol")
    other = await ask(client, taker, other_listing, message="Og denne?")
    foreign = (await thread(client, giver, other["id"]))["items"][0]["id"]
    response = await client.post(
        f"/v1/transactions/{tx['id']}/messages/read", json={"up_to": foreign}, headers=giver.headers
    )
    problem = assert_problem(response, 422, "invalid_input")
    assert problem["errors"][0]["field"] == "up_to"
    assert (await me(client, giver))["unread_messages"] == 2


@pytest.mark.parametrize(
    "body",
    ["", "   ", "x" * 4001, "<b>hei</b>", "null\x00byte", "&lt;script&gt;"],
)
async def test_a_bad_message_is_refused_and_nothing_is_stored(
    client: httpx.AsyncClient, taker: Actor, giver: Actor, listing: Listing, body: str
) -> None:
    tx = await ask(client, taker, listing)
    response = await say(client, taker.headers, tx["id"], body)
    assert_problem(response, 422, "validation_failed")
    assert (await thread(client, giver, tx["id"]))["items"] == []


async def test_the_longest_message_and_plain_symbols_pass(
    client: httpx.AsyncClient, taker: Actor, listing: Listing
) -> None:
    tx = await ask(client, taker, listing)
    for body in ("x" * 4000, "Takk <3 — 2 < 3 & alt vel\nHilsen K"):
        response = await say(client, taker.headers, tx["id"], body)
        assert response.status_code == 201, response.text
        assert response.json()["body"] == body


# --- who sees what ----------------------------------------------------------------------


async def test_strangers_and_moderators_do_not_see_a_private_thread(
    client: httpx.AsyncClient,
    taker: Actor,
    stranger: Actor,
    moderator: Actor,
    listing: Listing,
) -> None:
    tx = await ask(client, taker, listing, message="Hei")
    for who in (stranger, moderator):
        got = await client.get(f"/v1/transactions/{tx['id']}/messages", headers=who.headers)
        assert_problem(got, 404, "transaction_not_found")
        posted = await say(client, who.headers, tx["id"], "Hallo")
        assert_problem(posted, 404, "transaction_not_found")
    anonymous = await client.get(f"/v1/transactions/{tx['id']}/messages")
    assert_problem(anonymous, 401, "unauthorized")


async def test_moderators_read_a_disputed_thread_but_do_not_write(
    client: httpx.AsyncClient, giver: Actor, taker: Actor, moderator: Actor, listing: Listing
) -> None:
    tx = await ask(client, taker, listing)
    await act(client, giver, tx["id"], "accept")
    await act(client, giver, tx["id"], "complete")
    await act(client, taker, tx["id"], "dispute", note="Fikk aldri sofaen")
    seen = await thread(client, moderator, tx["id"])
    assert [(m["kind"], m["action"], m["mine"]) for m in seen["items"]] == [
        ("note", "dispute", False)
    ]
    assert seen["unread"] == 0
    posted = await say(client, moderator.headers, tx["id"], "Jeg ser på saken")
    assert_problem(posted, 403, "wrong_party")
    await act(client, moderator, tx["id"], "uphold", note="Bilde av henting viser sofaen")
    notes = (await thread(client, taker, tx["id"]))["items"]
    assert notes[-1]["author"]["side"] == "moderator"
    assert notes[-1]["action"] == "uphold"


async def test_a_thread_closes_two_weeks_after_its_transaction_ended(
    client: httpx.AsyncClient, clock: Clock, giver: Actor, taker: Actor, listing: Listing
) -> None:
    tx = await ask(client, taker, listing)
    await act(client, giver, tx["id"], "decline", note="Beklager, gitt bort")
    clock.now = NOW + timedelta(days=14)
    late = await say(client, taker.headers, tx["id"], "Synd! Si fra om du får en til.")
    assert late.status_code == 201
    clock.now = NOW + timedelta(days=14, seconds=1)
    closed = await say(client, taker.headers, tx["id"], "Hallo?")
    assert_problem(closed, 409, "conversation_closed")
    assert len((await thread(client, giver, tx["id"]))["items"]) == 2


async def test_organizations_write_through_members_and_scoped_keys(
    client: httpx.AsyncClient,
    session: AsyncSession,
    settings: Settings,
    taker: Actor,
) -> None:
    owner = await create_person(session, settings)
    org = await create_organization(session, owner=owner)
    listing = await create_listing(session, at=OSLO, organization=org, title="Drill")
    tx = await ask(client, taker, listing, message="Ledig fredag?")
    by_member = await say(client, owner.headers, tx["id"], "Ja")
    assert by_member.status_code == 201, by_member.text
    assert by_member.json()["author"] == {
        "side": "provider",
        "person_id": str(owner.person_id),
        "organization_id": str(org.id),
        "erased": False,
    }
    key = await create_api_key(
        session, organization_id=org.id, scopes=[ApiKeyScope.TRANSACTIONS_WRITE]
    )
    by_key = await say(client, key, tx["id"], "Bekreftet i vårt system")
    assert by_key.status_code == 201, by_key.text
    assert by_key.json()["author"]["person_id"] is None
    assert by_key.json()["author"]["organization_id"] == str(org.id)
    read_only = await create_api_key(
        session, organization_id=org.id, scopes=[ApiKeyScope.LISTINGS_WRITE]
    )
    refused = await say(client, read_only, tx["id"], "Hei")
    assert_problem(refused, 403, "insufficient_scope")
    assert len((await thread(client, read_only, tx["id"]))["items"]) == 3
    marker = await client.post(
        f"/v1/transactions/{tx['id']}/messages/read",
        json={"up_to": by_key.json()["id"]},
        headers=key,
    )
    assert_problem(marker, 403, "person_required")
    assert (await me(client, taker))["unread_messages"] == 2


async def test_my_conversations_newest_first_with_their_unread_counts(
    client: httpx.AsyncClient,
    session: AsyncSession,
    clock: Clock,
    giver: Actor,
    taker: Actor,
    listing: Listing,
) -> None:
    second_listing = await create_listing(session, at=OSLO, person=giver, title="Lampe")
    first = await ask(client, taker, listing, message="Sofaen?")
    clock.now = NOW + timedelta(minutes=1)
    second = await ask(client, taker, second_listing, message="Lampen?")
    clock.now = NOW + timedelta(minutes=2)
    await say(client, taker.headers, first["id"], "Eller begge?")

    response = await client.get("/v1/me/conversations", headers=giver.headers)
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert [(c["transaction_id"], c["listing_title"], c["unread"]) for c in items] == [
        (first["id"], "Sofa", 2),
        (second["id"], "Lampe", 1),
    ]
    assert items[0]["last_message"]["body"] == "Eller begge?"
    assert items[0]["last_message"]["mine"] is False
    assert items[0]["transaction_status"] == "requested"
    theirs = await client.get("/v1/me/conversations", headers=taker.headers)
    assert [c["unread"] for c in theirs.json()["items"]] == [0, 0]
    assert theirs.json()["items"][0]["last_message"]["mine"] is True

    page = await client.get("/v1/me/conversations", params={"limit": 1}, headers=giver.headers)
    assert [c["listing_title"] for c in page.json()["items"]] == ["Sofa"]
    rest = await client.get(
        "/v1/me/conversations",
        params={"limit": 1, "cursor": page.json()["next_cursor"]},
        headers=giver.headers,
    )
    assert [c["listing_title"] for c in rest.json()["items"]] == ["Lampe"]
    assert rest.json()["next_cursor"] is None
    bad = await client.get(
        "/v1/me/conversations", params={"cursor": "eyJzIjoiYSJ9"}, headers=giver.headers
    )
    assert_problem(bad, 422, "invalid_cursor")


async def test_export_lists_and_erasure_empties_a_persons_messages(
    client: httpx.AsyncClient, giver: Actor, taker: Actor, listing: Listing
) -> None:
    tx = await ask(client, taker, listing, message="Jeg bor i Storgata 1")
    await say(client, giver.headers, tx["id"], "Fint")
    export = (await client.get("/v1/me/export", headers=taker.headers)).json()
    assert [(m["kind"], m["body"]) for m in export["messages"]] == [
        ("request", "Jeg bor i Storgata 1")
    ]
    assert (await client.delete("/v1/me", headers=taker.headers)).status_code == 204
    items = (await thread(client, giver, tx["id"]))["items"]
    assert [(m["body"], m["author"]["erased"]) for m in items] == [("", True), ("Fint", False)]


# --- the database's guard ---------------------------------------------------------------


async def test_the_database_keeps_authors_to_the_parties_and_messages_unchanged(
    client: httpx.AsyncClient,
    session: AsyncSession,
    giver: Actor,
    taker: Actor,
    stranger: Actor,
    listing: Listing,
) -> None:
    tx = await ask(client, taker, listing, message="Hei")
    columns = "transaction_id, author_side, author_person_id, kind, body, created_at"
    for side, author in (
        ("receiver", stranger.person_id),
        ("provider", taker.person_id),
        ("moderator", giver.person_id),
    ):
        with pytest.raises(DBAPIError) as raised:
            async with session.begin_nested():
                await session.execute(
                    text(
                        f"INSERT INTO messages ({columns}) VALUES "
                        f"('{tx['id']}', '{side}', '{author}', 'text', 'x', now())"
                    )
                )
        assert constraint_name(raised.value) == "messages_author_is_party"
    where = f"WHERE transaction_id = '{tx['id']}'"
    for statement, constraint in (
        (f"UPDATE messages SET body = 'changed' {where}", "messages_immutable"),
        (f"UPDATE messages SET author_side = 'provider' {where}", "messages_immutable"),
        (f"DELETE FROM messages {where}", "messages_kept"),
    ):
        with pytest.raises(DBAPIError) as raised:
            async with session.begin_nested():
                await session.execute(text(statement))
        assert constraint_name(raised.value) == constraint


# --- sharing the place ------------------------------------------------------------------


async def test_the_provider_shares_the_exact_place_with_the_receiver_while_it_is_open(
    client: httpx.AsyncClient,
    giver: Actor,
    taker: Actor,
    stranger: Actor,
    moderator: Actor,
    listing: Listing,
) -> None:
    exact = (await client.get(f"/v1/listings/{listing.id}", headers=giver.headers)).json()
    blurred = (await client.get(f"/v1/listings/{listing.id}", headers=taker.headers)).json()
    assert exact["location"] != blurred["location"]
    tx = await ask(client, taker, listing)
    path = f"/v1/transactions/{tx['id']}/share-location"
    note = {"pickup_note": "Oppgang B, ring på Hansen"}

    early = await client.post(path, json=note, headers=giver.headers)
    assert_problem(early, 409, "invalid_transition")
    await act(client, giver, tx["id"], "accept")
    by_receiver = await client.post(path, json=note, headers=taker.headers)
    assert_problem(by_receiver, 403, "wrong_party")
    by_stranger = await client.post(path, json=note, headers=stranger.headers)
    assert_problem(by_stranger, 404, "transaction_not_found")
    bad = await client.post(path, json={"pickup_note": "<a href=x>her</a>"}, headers=giver.headers)
    assert_problem(bad, 422, "validation_failed")

    shared = await client.post(path, json=note, headers=giver.headers)
    assert shared.status_code == 200, shared.text
    for who in (giver, taker):
        seen = (await client.get(f"/v1/transactions/{tx['id']}", headers=who.headers)).json()
        assert seen["pickup"]["location"] == exact["location"]
        assert seen["pickup"]["note"] == "Oppgang B, ring på Hansen"
    as_moderator = await client.get(f"/v1/transactions/{tx['id']}", headers=moderator.headers)
    assert as_moderator.json()["pickup"] is None
    listed = await client.get("/v1/transactions", headers=taker.headers)
    assert listed.json()["items"][0]["pickup"]["location"] == exact["location"]
    # The listing itself still shows the receiver the blurred point.
    again = (await client.get(f"/v1/listings/{listing.id}", headers=taker.headers)).json()
    assert again["location"] == blurred["location"]

    await act(client, giver, tx["id"], "complete")
    done = await act(client, taker, tx["id"], "confirm")
    assert done["pickup"] is None
    late = await client.post(path, json=note, headers=giver.headers)
    assert_problem(late, 409, "invalid_transition")


# --- reporting a message ----------------------------------------------------------------


async def test_a_message_is_reported_by_the_other_side_and_moderators_read_only_it(
    client: httpx.AsyncClient,
    giver: Actor,
    taker: Actor,
    stranger: Actor,
    moderator: Actor,
    listing: Listing,
) -> None:
    tx = await ask(client, taker, listing)
    rude = await say(client, giver.headers, tx["id"], "Du er en idiot")
    message_id = rude.json()["id"]
    body = {"target_type": "message", "target_id": message_id, "reason": "harassment"}

    own = await client.post("/v1/reports", json=body, headers=giver.headers)
    assert_problem(own, 422, "own_report_target")
    for outsider in (stranger, moderator):
        response = await client.post("/v1/reports", json=body, headers=outsider.headers)
        assert_problem(response, 422, "unknown_report_target")
    reported = await client.post("/v1/reports", json=body, headers=taker.headers)
    assert reported.status_code == 201, reported.text
    assert reported.json()["target"] == {"type": "message", "id": message_id}

    queue = await client.get(
        "/v1/moderation/reports", params={"target_type": "message"}, headers=moderator.headers
    )
    [item] = queue.json()["items"]
    assert item["target_label"] == "Du er en idiot"
    # The rest of the conversation stays private.
    thread_for_moderator = await client.get(
        f"/v1/transactions/{tx['id']}/messages", headers=moderator.headers
    )
    assert_problem(thread_for_moderator, 404, "transaction_not_found")
