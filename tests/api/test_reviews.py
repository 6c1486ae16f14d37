"""Blind reviews after a confirmed handover: who may write, when, once; nothing shown until
both sides reviewed or the window closed; answers; profiles' summaries; notifications;
erasure and export; the database's rules; a race between two reviews of one side."""

from __future__ import annotations

import asyncio
import uuid
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
from app.models.organization import MemberRole
from app.repositories.db_errors import constraint_name
from app.services.review import reveal_due
from tests.api.test_listing_races import _item, _signed_in
from tests.clock import Clock, frozen
from tests.factories import Actor, create_listing, create_organization, create_person
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
    return await create_person(session, settings, display_name="Kari")


@pytest.fixture
async def taker(session: AsyncSession, settings: Settings) -> Actor:
    return await create_person(session, settings, display_name="Ola")


@pytest.fixture
async def listing(session: AsyncSession, giver: Actor) -> Listing:
    return await create_listing(session, at=OSLO, person=giver, title="Stol", category="chairs")


async def handover(
    client: httpx.AsyncClient, provider: Actor, receiver: Actor, listing: Listing, *, confirm: bool
) -> str:
    asked = await client.post(
        "/v1/transactions", json={"listing_id": str(listing.id)}, headers=receiver.headers
    )
    assert asked.status_code == 201, asked.text
    tx: str = asked.json()["id"]
    moves = [("accept", provider), ("complete", provider)]
    if confirm:
        moves.append(("confirm", receiver))
    for action, who in moves:
        moved = await client.post(f"/v1/transactions/{tx}/{action}", headers=who.headers)
        assert moved.status_code == 200, moved.text
    return tx


async def review(
    client: httpx.AsyncClient, who: Actor, tx: str, rating: int = 5, text_: str = ""
) -> httpx.Response:
    return await client.post(
        f"/v1/transactions/{tx}/review",
        json={"rating": rating, "text": text_},
        headers=who.headers,
    )


async def about(client: httpx.AsyncClient, person_id: uuid.UUID) -> list[dict[str, Any]]:
    response = await client.get(f"/v1/people/{person_id}/reviews")
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_reviews_are_blind_until_both_sides_have_written(
    client: httpx.AsyncClient, clock: Clock, giver: Actor, taker: Actor, listing: Listing
) -> None:
    tx = await handover(client, giver, taker, listing, confirm=True)
    first = await review(client, taker, tx, 5, "Presis og hyggelig")
    assert first.status_code == 201, first.text
    body = first.json()
    assert (body["author_side"], body["rating"], body["text"]) == (
        "receiver",
        5,
        "Presis og hyggelig",
    )
    assert body["revealed_at"] is None
    assert body["subject_person_id"] == str(giver.person_id)
    assert body["author_label"] == "Ola"
    # The reviewed party and the public see nothing yet; the author sees their own.
    assert await about(client, giver.person_id) == []
    theirs = await client.get(f"/v1/transactions/{tx}/reviews", headers=giver.headers)
    assert theirs.json() == []
    own = await client.get(f"/v1/transactions/{tx}/reviews", headers=taker.headers)
    assert [r["id"] for r in own.json()] == [body["id"]]

    clock.now = NOW + timedelta(days=2)
    second = await review(client, giver, tx, 4, "Fin mottaker")
    assert second.status_code == 201
    revealed_at = (NOW + timedelta(days=2)).isoformat().replace("+00:00", "Z")
    assert second.json()["revealed_at"] == revealed_at
    [about_kari] = await about(client, giver.person_id)
    assert (about_kari["rating"], about_kari["revealed_at"]) == (5, revealed_at)
    both = await client.get(f"/v1/transactions/{tx}/reviews", headers=giver.headers)
    assert len(both.json()) == 2
    profile = (await client.get(f"/v1/people/{giver.person_id}")).json()
    assert profile["reviews"] == {"count": 1, "average": 5.0}
    notes = (await client.get("/v1/me/notifications", headers=giver.headers)).json()["items"]
    assert notes[0]["type"] == "review.received"


async def test_the_clock_reveals_a_lone_review_when_the_window_closes(
    client: httpx.AsyncClient, session: AsyncSession, giver: Actor, taker: Actor, listing: Listing
) -> None:
    tx = await handover(client, giver, taker, listing, confirm=True)
    await review(client, taker, tx, 2, "Kom for sent")
    assert await reveal_due(session, now=NOW + timedelta(days=13)) == 0
    assert await reveal_due(session, now=NOW + timedelta(days=14)) == 1
    assert [r["rating"] for r in await about(client, giver.person_id)] == [2]
    assert await reveal_due(session, now=NOW + timedelta(days=15)) == 0


async def test_who_may_review_and_when(
    client: httpx.AsyncClient,
    clock: Clock,
    session: AsyncSession,
    settings: Settings,
    giver: Actor,
    taker: Actor,
    listing: Listing,
) -> None:
    open_tx = await handover(client, giver, taker, listing, confirm=False)
    assert_problem(await review(client, taker, open_tx), 409, "review_not_open")
    second = await create_listing(session, at=OSLO, person=giver, title="Bord", category="tables")
    tx = await handover(client, giver, taker, second, confirm=True)
    stranger = await create_person(session, settings)
    assert_problem(await review(client, stranger, tx), 404, "transaction_not_found")
    assert (await review(client, taker, tx)).status_code == 201
    assert_problem(await review(client, taker, tx, 3), 409, "already_reviewed")
    for bad in (
        {"rating": 0},
        {"rating": 6},
        {"rating": 3, "text": "x" * 1001},
        {"rating": 3, "text": "<b>hei</b>"},
        {"rating": "fem"},
    ):
        response = await client.post(
            f"/v1/transactions/{tx}/review", json=bad, headers=giver.headers
        )
        assert_problem(response, 422, "validation_failed")
    clock.now = NOW + timedelta(days=14, seconds=1)
    assert_problem(await review(client, giver, tx), 409, "review_window_closed")
    assert await about(client, taker.person_id) == []


async def test_the_reviewed_party_answers_once(
    client: httpx.AsyncClient, giver: Actor, taker: Actor, listing: Listing
) -> None:
    tx = await handover(client, giver, taker, listing, confirm=True)
    hidden = (await review(client, taker, tx, 3, "Greit nok")).json()
    early = await client.post(
        f"/v1/reviews/{hidden['id']}/reply", json={"text": "Takk"}, headers=giver.headers
    )
    assert_problem(early, 404, "review_not_found")  # not revealed yet
    await review(client, giver, tx, 5)
    by_author = await client.post(
        f"/v1/reviews/{hidden['id']}/reply", json={"text": "Hm"}, headers=taker.headers
    )
    assert_problem(by_author, 404, "review_not_found")
    answered = await client.post(
        f"/v1/reviews/{hidden['id']}/reply", json={"text": "Takk for sist!"}, headers=giver.headers
    )
    assert answered.status_code == 200, answered.text
    assert answered.json()["reply"] == "Takk for sist!"
    again = await client.post(
        f"/v1/reviews/{hidden['id']}/reply", json={"text": "Igjen"}, headers=giver.headers
    )
    assert_problem(again, 409, "already_replied")
    missing = await client.post(
        f"/v1/reviews/{uuid.uuid4()}/reply", json={"text": "x"}, headers=giver.headers
    )
    assert_problem(missing, 404, "review_not_found")


async def test_organizations_are_reviewed_and_members_review_for_them(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, taker: Actor
) -> None:
    owner = await create_person(session, settings)
    member = await create_person(session, settings)
    org = await create_organization(
        session, owner=owner, members={member.person_id: MemberRole.MEMBER}
    )
    listing = await create_listing(session, at=OSLO, organization=org, title="Drill")
    tx = await handover(client, member, taker, listing, confirm=True)
    assert (await review(client, taker, tx, 4, "Bra utstyr")).status_code == 201
    by_member = await review(client, member, tx, 5)
    assert by_member.status_code == 201, by_member.text
    page = await client.get(f"/v1/organizations/{org.id}/reviews")
    [item] = page.json()["items"]
    assert (item["rating"], item["subject_organization_id"]) == (4, str(org.id))
    missing = await client.get(f"/v1/organizations/{uuid.uuid4()}/reviews")
    assert_problem(missing, 404, "organization_not_found")
    assert_problem(await client.get(f"/v1/people/{uuid.uuid4()}/reviews"), 404, "person_not_found")


async def test_erasure_keeps_the_rating_and_drops_the_text_and_author(
    client: httpx.AsyncClient, giver: Actor, taker: Actor, listing: Listing
) -> None:
    tx = await handover(client, giver, taker, listing, confirm=True)
    await review(client, taker, tx, 1, "Svarte aldri")
    await review(client, giver, tx, 5, "Supert")
    export = (await client.get("/v1/me/export", headers=taker.headers)).json()
    assert {(r["written"], r["rating"]) for r in export["reviews"]} == {(True, 1), (False, 5)}
    assert (await client.delete("/v1/me", headers=taker.headers)).status_code == 204
    [kept] = await about(client, giver.person_id)
    assert (kept["rating"], kept["text"], kept["author_label"]) == (1, "", None)


async def test_the_database_keeps_the_rules(
    client: httpx.AsyncClient, session: AsyncSession, giver: Actor, taker: Actor, listing: Listing
) -> None:
    tx = await handover(client, giver, taker, listing, confirm=True)
    written = (await review(client, taker, tx, 4, "Bra")).json()
    this = f"WHERE id = '{written['id']}'"
    for statement, constraint in (
        (f"UPDATE reviews SET rating = 5 {this}", "reviews_immutable"),
        (f"UPDATE reviews SET body = 'Annet' {this}", "reviews_immutable"),
        (f"DELETE FROM reviews {this}", "reviews_append_only"),
        (
            "INSERT INTO reviews (transaction_id, author_side, author_person_id, "
            "subject_person_id, rating, body, created_at) VALUES "
            f"('{tx}', 'provider', '{taker.person_id}', '{taker.person_id}', 5, '', now())",
            "reviews_by_a_party",
        ),
    ):
        with pytest.raises(DBAPIError) as raised:
            async with session.begin_nested():
                await session.execute(text(statement))
        assert constraint_name(raised.value) == constraint


async def test_two_reviews_of_one_side_at_once_make_one(
    committed_client: httpx.AsyncClient,
) -> None:
    owner = await _signed_in(committed_client)
    created = await committed_client.post("/v1/listings", json=_item("Lampe"), headers=owner)
    asker = await _signed_in(committed_client)
    tx = (
        await committed_client.post(
            "/v1/transactions", json={"listing_id": created.json()["id"]}, headers=asker
        )
    ).json()["id"]
    for action, who in (("accept", owner), ("complete", owner), ("confirm", asker)):
        moved = await committed_client.post(f"/v1/transactions/{tx}/{action}", headers=who)
        assert moved.status_code == 200, moved.text
    responses = await asyncio.gather(
        *(
            committed_client.post(
                f"/v1/transactions/{tx}/review", json={"rating": 5}, headers=asker
            )
            for _ in range(5)
        )
    )
    assert sorted(r.status_code for r in responses) == [201] + [409] * 4
    for r in responses:
        if r.status_code == 409:
            assert_problem(r, 409, "already_reviewed")


async def test_a_revealed_review_can_be_reported_but_not_by_its_author(
    client: httpx.AsyncClient,
    session: AsyncSession,
    settings: Settings,
    giver: Actor,
    taker: Actor,
    listing: Listing,
) -> None:
    tx = await handover(client, giver, taker, listing, confirm=True)
    hidden = (await review(client, taker, tx, 1, "Idiot")).json()
    body = {"target_type": "review", "target_id": hidden["id"], "reason": "offensive"}
    stranger = await create_person(session, settings)
    not_yet = await client.post("/v1/reports", json=body, headers=stranger.headers)
    assert_problem(not_yet, 422, "unknown_report_target")  # blind: nobody else sees it yet
    await review(client, giver, tx, 5)
    own = await client.post("/v1/reports", json=body, headers=taker.headers)
    assert_problem(own, 422, "own_report_target")
    reported = await client.post("/v1/reports", json=body, headers=giver.headers)
    assert reported.status_code == 201, reported.text
    moderator = await create_person(session, settings, roles=["moderator"])
    queue = await client.get(
        "/v1/moderation/reports", params={"target_type": "review"}, headers=moderator.headers
    )
    assert [i["target_label"] for i in queue.json()["items"]] == ["Idiot"]
