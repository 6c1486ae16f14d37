"""Abuse reports and the moderation queue: who may report what, one open report per target,
decisions that close every open report on a target and can hide a listing, the audit trail
the database writes, and what erasure and export do with reports."""

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
from app.models.organization import ApiKeyScope
from app.repositories.db_errors import constraint_name
from tests.api.test_listing_races import _item, _signed_in
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
async def owner(session: AsyncSession, settings: Settings) -> Actor:
    return await create_person(session, settings, display_name="Eier")


@pytest.fixture
async def reporter(session: AsyncSession, settings: Settings) -> Actor:
    return await create_person(session, settings, display_name="Melder")


@pytest.fixture
async def moderator(session: AsyncSession, settings: Settings) -> Actor:
    return await create_person(session, settings, display_name="Mona", roles=["moderator"])


@pytest.fixture
async def listing(session: AsyncSession, owner: Actor) -> Listing:
    return await create_listing(session, at=OSLO, person=owner, title="Billig iPhone")


def _body(target_type: str, target_id: object, **extra: Any) -> dict[str, Any]:
    return {"target_type": target_type, "target_id": str(target_id), "reason": "scam", **extra}


async def report(
    client: httpx.AsyncClient, who: Actor, target_type: str, target_id: object, **extra: Any
) -> httpx.Response:
    return await client.post(
        "/v1/reports", json=_body(target_type, target_id, **extra), headers=who.headers
    )


async def reported(
    client: httpx.AsyncClient, who: Actor, target_type: str, target_id: object, **extra: Any
) -> dict[str, Any]:
    response = await report(client, who, target_type, target_id, **extra)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def decide(
    client: httpx.AsyncClient, moderator: Actor, report_id: str, **body: Any
) -> httpx.Response:
    return await client.post(
        f"/v1/moderation/reports/{report_id}/decision", json=body, headers=moderator.headers
    )


# --- reporting --------------------------------------------------------------------------


async def test_a_report_on_a_listing_is_open_and_its_reporter_follows_it(
    client: httpx.AsyncClient, reporter: Actor, listing: Listing
) -> None:
    body = await reported(
        client, reporter, "listing", listing.id, note="  Vil ha betaling med gavekort  "
    )
    assert body["target"] == {"type": "listing", "id": str(listing.id)}
    assert body["reason"] == "scam"
    assert body["note"] == "Vil ha betaling med gavekort"
    assert body["status"] == "open"
    assert body["decided_at"] is None
    assert body["created_at"] == NOW.isoformat().replace("+00:00", "Z")

    one = await client.get(f"/v1/reports/{body['id']}", headers=reporter.headers)
    assert one.status_code == 200
    assert one.json() == body
    mine = await client.get("/v1/reports", headers=reporter.headers)
    assert mine.json() == {"items": [body], "next_cursor": None}


async def test_only_the_reporter_reads_a_report_by_id(
    client: httpx.AsyncClient, reporter: Actor, owner: Actor, listing: Listing
) -> None:
    body = await reported(client, reporter, "listing", listing.id)
    for who in (owner,):
        response = await client.get(f"/v1/reports/{body['id']}", headers=who.headers)
        assert_problem(response, 404, "report_not_found")
    missing = await client.get(f"/v1/reports/{uuid.uuid4()}", headers=reporter.headers)
    assert_problem(missing, 404, "report_not_found")


async def test_a_person_can_be_reported(
    client: httpx.AsyncClient, reporter: Actor, owner: Actor
) -> None:
    body = await reported(client, reporter, "person", owner.person_id, reason="harassment")
    assert body["target"] == {"type": "person", "id": str(owner.person_id)}
    assert body["reason"] == "harassment"


async def test_a_target_that_does_not_exist_or_is_hidden_from_the_reporter_is_unknown(
    client: httpx.AsyncClient,
    session: AsyncSession,
    reporter: Actor,
    owner: Actor,
) -> None:
    for target_type in ("listing", "person"):
        response = await report(client, reporter, target_type, uuid.uuid4())
        problem = assert_problem(response, 422, "unknown_report_target")
        assert problem["errors"][0]["field"] == "target_id"
    draft = await create_listing(session, at=OSLO, person=owner, status="draft", title="Utkast")
    response = await report(client, reporter, "listing", draft.id)
    assert_problem(response, 422, "unknown_report_target")
    mine = await client.get("/v1/reports", headers=reporter.headers)
    assert mine.json()["items"] == []


async def test_an_erased_person_cannot_be_reported(
    client: httpx.AsyncClient, reporter: Actor, owner: Actor
) -> None:
    erased = await client.delete("/v1/me", headers=owner.headers)
    assert erased.status_code == 204
    response = await report(client, reporter, "person", owner.person_id)
    assert_problem(response, 422, "unknown_report_target")


async def test_nobody_reports_themselves_or_what_they_manage(
    client: httpx.AsyncClient,
    session: AsyncSession,
    settings: Settings,
    owner: Actor,
    listing: Listing,
) -> None:
    own = await report(client, owner, "listing", listing.id)
    assert_problem(own, 422, "own_report_target")
    myself = await report(client, owner, "person", owner.person_id)
    assert_problem(myself, 422, "own_report_target")
    member = await create_person(session, settings)
    org = await create_organization(session, owner=member)
    org_listing = await create_listing(session, at=OSLO, organization=org, title="Pall")
    response = await report(client, member, "listing", org_listing.id)
    assert_problem(response, 422, "own_report_target")


async def test_api_keys_cannot_report(
    client: httpx.AsyncClient, session: AsyncSession, owner: Actor, listing: Listing
) -> None:
    org = await create_organization(session, owner=owner)
    key = await create_api_key(session, organization_id=org.id, scopes=[ApiKeyScope.LISTINGS_WRITE])
    response = await client.post("/v1/reports", json=_body("listing", listing.id), headers=key)
    assert_problem(response, 403, "person_required")


async def test_signing_in_is_needed(client: httpx.AsyncClient, listing: Listing) -> None:
    response = await client.post("/v1/reports", json=_body("listing", listing.id))
    assert_problem(response, 401, "unauthorized")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"reason": "other"}, ""),
        ({"reason": "other", "note": "   "}, ""),
        ({"reason": "bad_vibes"}, "reason"),
        ({"target_type": "organization"}, "target_type"),
        ({"target_id": "not-a-uuid"}, "target_id"),
        ({"note": "x" * 1001}, "note"),
        ({"status": "actioned"}, "status"),
    ],
)
async def test_a_malformed_report_is_refused_and_nothing_is_stored(
    client: httpx.AsyncClient,
    reporter: Actor,
    listing: Listing,
    change: dict[str, Any],
    field: str,
) -> None:
    response = await client.post(
        "/v1/reports", json={**_body("listing", listing.id), **change}, headers=reporter.headers
    )
    problem = assert_problem(response, 422, "validation_failed")
    assert any(e["field"] == field for e in problem["errors"]), problem
    mine = await client.get("/v1/reports", headers=reporter.headers)
    assert mine.json()["items"] == []


async def test_a_second_open_report_on_the_same_target_is_a_conflict(
    client: httpx.AsyncClient, reporter: Actor, moderator: Actor, listing: Listing
) -> None:
    first = await reported(client, reporter, "listing", listing.id)
    again = await report(client, reporter, "listing", listing.id, reason="spam")
    assert_problem(again, 409, "already_reported")
    dismissed = await decide(client, moderator, first["id"], outcome="dismissed", note="OK")
    assert dismissed.status_code == 200, dismissed.text
    # Decided: the reporter may report it again (something new may have happened).
    await reported(client, reporter, "listing", listing.id, reason="spam")


async def test_reports_page_newest_first(
    client: httpx.AsyncClient,
    session: AsyncSession,
    clock: Clock,
    reporter: Actor,
    owner: Actor,
) -> None:
    ids = []
    for i in range(5):
        clock.now = NOW + timedelta(minutes=i)
        listing = await create_listing(session, at=OSLO, person=owner, title=f"Ting {i}")
        ids.append((await reported(client, reporter, "listing", listing.id))["id"])
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/v1/reports", params=params, headers=reporter.headers)).json()
        seen += [r["id"] for r in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids[::-1]
    bad = await client.get("/v1/reports", params={"cursor": "nope"}, headers=reporter.headers)
    assert_problem(bad, 422, "invalid_cursor")


# --- the moderation queue ---------------------------------------------------------------


async def test_only_moderators_see_the_queue(
    client: httpx.AsyncClient, reporter: Actor, listing: Listing
) -> None:
    body = await reported(client, reporter, "listing", listing.id)
    for path in (
        "/v1/moderation/reports",
        f"/v1/moderation/reports/{body['id']}",
    ):
        response = await client.get(path, headers=reporter.headers)
        assert_problem(response, 403, "role_required")
    response = await decide(client, reporter, body["id"], outcome="dismissed", note="Nei")
    assert_problem(response, 403, "role_required")


async def test_the_queue_is_oldest_first_with_counts_labels_and_filters(
    client: httpx.AsyncClient,
    session: AsyncSession,
    settings: Settings,
    clock: Clock,
    reporter: Actor,
    owner: Actor,
    moderator: Actor,
    listing: Listing,
) -> None:
    other = await create_person(session, settings)
    first = await reported(client, reporter, "listing", listing.id)
    clock.now = NOW + timedelta(minutes=1)
    second = await reported(client, other, "listing", listing.id, reason="prohibited")
    clock.now = NOW + timedelta(minutes=2)
    third = await reported(client, reporter, "person", owner.person_id, reason="harassment")

    queue = await client.get("/v1/moderation/reports", headers=moderator.headers)
    assert queue.status_code == 200, queue.text
    items = queue.json()["items"]
    assert [i["id"] for i in items] == [first["id"], second["id"], third["id"]]
    assert [i["open_reports_on_target"] for i in items] == [2, 2, 1]
    assert [i["target_label"] for i in items] == ["Billig iPhone", "Billig iPhone", "Eier"]
    assert items[0]["reporter_id"] == str(reporter.person_id)
    assert items[0]["note"] == first["note"]
    assert items[0]["events"] is None

    only_people = await client.get(
        "/v1/moderation/reports", params={"target_type": "person"}, headers=moderator.headers
    )
    assert [i["id"] for i in only_people.json()["items"]] == [third["id"]]
    by_reason = await client.get(
        "/v1/moderation/reports", params={"reason": "prohibited"}, headers=moderator.headers
    )
    assert [i["id"] for i in by_reason.json()["items"]] == [second["id"]]

    page = await client.get(
        "/v1/moderation/reports", params={"limit": 2}, headers=moderator.headers
    )
    assert [i["id"] for i in page.json()["items"]] == [first["id"], second["id"]]
    rest = await client.get(
        "/v1/moderation/reports",
        params={"limit": 2, "cursor": page.json()["next_cursor"]},
        headers=moderator.headers,
    )
    assert [i["id"] for i in rest.json()["items"]] == [third["id"]]
    assert rest.json()["next_cursor"] is None

    bad = await client.get(
        "/v1/moderation/reports", params={"status": "closed"}, headers=moderator.headers
    )
    assert_problem(bad, 422, "validation_failed")


async def test_actioning_hides_the_listing_and_closes_every_open_report_on_it(
    client: httpx.AsyncClient,
    session: AsyncSession,
    settings: Settings,
    clock: Clock,
    reporter: Actor,
    owner: Actor,
    moderator: Actor,
    listing: Listing,
) -> None:
    other = await create_person(session, settings)
    first = await reported(client, reporter, "listing", listing.id)
    second = await reported(client, other, "listing", listing.id, reason="prohibited")
    on_person = await reported(client, reporter, "person", owner.person_id)
    clock.now = NOW + timedelta(hours=3)

    response = await decide(
        client,
        moderator,
        first["id"],
        outcome="actioned",
        note="Gavekort: kjent svindel",
        action="hide_listing",
    )
    assert response.status_code == 200, response.text
    decided = response.json()
    assert decided["status"] == "actioned"
    assert decided["action"] == "hide_listing"
    assert decided["decided_by"] == str(moderator.person_id)
    assert decided["decision_note"] == "Gavekort: kjent svindel"
    assert decided["also_decided"] == [second["id"]]
    assert decided["open_reports_on_target"] == 0
    assert [(e["status"], e["actor_id"], e["note"]) for e in decided["events"]] == [
        ("open", str(reporter.person_id), None),
        ("actioned", str(moderator.person_id), "Gavekort: kjent svindel"),
    ]

    # The listing is hidden, with the note as the reason its owner sees.
    public = await client.get(f"/v1/listings/{listing.id}", headers=reporter.headers)
    assert_problem(public, 404, "listing_not_found")
    own = await client.get(f"/v1/listings/{listing.id}", headers=owner.headers)
    assert own.json()["moderation"]["hidden_reason"] == "Gavekort: kjent svindel"

    # The other reporter sees theirs actioned; the report on the person stays open.
    theirs = await client.get(f"/v1/reports/{second['id']}", headers=other.headers)
    assert theirs.json()["status"] == "actioned"
    assert theirs.json()["decided_at"] == (NOW + timedelta(hours=3)).isoformat().replace(
        "+00:00", "Z"
    )
    trail = await client.get(f"/v1/moderation/reports/{second['id']}", headers=moderator.headers)
    assert [e["status"] for e in trail.json()["events"]] == ["open", "actioned"]
    queue = await client.get("/v1/moderation/reports", headers=moderator.headers)
    assert [i["id"] for i in queue.json()["items"]] == [on_person["id"]]
    decided_queue = await client.get(
        "/v1/moderation/reports", params={"status": "actioned"}, headers=moderator.headers
    )
    assert {i["id"] for i in decided_queue.json()["items"]} == {first["id"], second["id"]}


async def test_a_decided_report_is_final(
    client: httpx.AsyncClient, reporter: Actor, moderator: Actor, listing: Listing
) -> None:
    body = await reported(client, reporter, "listing", listing.id)
    assert (await decide(client, moderator, body["id"], outcome="dismissed", note="OK")).is_success
    again = await decide(client, moderator, body["id"], outcome="actioned", note="Likevel")
    assert_problem(again, 409, "report_already_decided")
    trail = await client.get(f"/v1/moderation/reports/{body['id']}", headers=moderator.headers)
    assert [e["status"] for e in trail.json()["events"]] == ["open", "dismissed"]


async def test_an_action_must_fit_the_target_and_the_outcome(
    client: httpx.AsyncClient, reporter: Actor, owner: Actor, moderator: Actor, listing: Listing
) -> None:
    on_person = await reported(client, reporter, "person", owner.person_id)
    response = await decide(
        client, moderator, on_person["id"], outcome="actioned", note="Nei", action="hide_listing"
    )
    problem = assert_problem(response, 422, "action_not_for_target")
    assert problem["errors"][0]["field"] == "action"
    on_listing = await reported(client, reporter, "listing", listing.id)
    response = await decide(
        client, moderator, on_listing["id"], outcome="dismissed", note="Nei", action="hide_listing"
    )
    assert_problem(response, 422, "validation_failed")
    for bad in ({"outcome": "actioned"}, {"outcome": "maybe", "note": "x"}):
        response = await decide(client, moderator, on_listing["id"], **bad)
        assert_problem(response, 422, "validation_failed")
    # Nothing changed: both still open, the listing still public.
    queue = await client.get("/v1/moderation/reports", headers=moderator.headers)
    assert {i["id"] for i in queue.json()["items"]} == {on_person["id"], on_listing["id"]}
    public = await client.get(f"/v1/listings/{listing.id}")
    assert public.status_code == 200


async def test_an_unknown_report_is_not_found_for_moderators(
    client: httpx.AsyncClient, moderator: Actor
) -> None:
    missing = uuid.uuid4()
    response = await client.get(f"/v1/moderation/reports/{missing}", headers=moderator.headers)
    assert_problem(response, 404, "report_not_found")
    response = await decide(client, moderator, str(missing), outcome="dismissed", note="x")
    assert_problem(response, 404, "report_not_found")


# --- what the database keeps -------------------------------------------------------------


async def test_the_audit_trail_is_append_only_and_a_decided_report_cannot_be_rewritten(
    client: httpx.AsyncClient,
    session: AsyncSession,
    reporter: Actor,
    moderator: Actor,
    listing: Listing,
) -> None:
    body = await reported(client, reporter, "listing", listing.id)
    assert (await decide(client, moderator, body["id"], outcome="dismissed", note="OK")).is_success
    this = f"WHERE id = '{body['id']}'"
    trail = f"WHERE report_id = '{body['id']}'"
    statements = (
        (f"UPDATE report_events SET note = 'rewritten' {trail}", "report_events_append_only"),
        (f"DELETE FROM report_events {trail}", "report_events_append_only"),
        (f"UPDATE reports SET status = 'actioned' {this}", "reports_decided_once"),
        (f"UPDATE reports SET decision_note = 'rewritten' {this}", "reports_decided_once"),
        (f"UPDATE reports SET reason = 'spam' {this}", "reports_immutable"),
        (
            f"UPDATE reports SET listing_id = NULL, person_id = '{reporter.person_id}', "
            f"target_type = 'person' {this}",
            "reports_immutable",
        ),
    )
    for statement, constraint in statements:
        with pytest.raises(DBAPIError) as raised:
            async with session.begin_nested():
                await session.execute(text(statement))
        assert constraint_name(raised.value) == constraint


async def test_a_report_is_made_open_with_exactly_one_target(
    session: AsyncSession, reporter: Actor, owner: Actor, listing: Listing
) -> None:
    columns = "reporter_person_id, target_type, listing_id, person_id, reason, note, status"
    cases = (
        (f"'listing', '{listing.id}', NULL, 'spam', '', 'actioned'", "reports_made_open"),
        (f"'listing', '{listing.id}', NULL, 'other', ' ', 'open'", "reports_other_has_note"),
        (
            f"'listing', '{listing.id}', '{owner.person_id}', 'spam', '', 'open'",
            "ck_reports_one_target",
        ),
        (f"'person', '{listing.id}', NULL, 'spam', '', 'open'", "ck_reports_one_target"),
    )
    for values, constraint in cases:
        with pytest.raises(DBAPIError) as raised:
            async with session.begin_nested():
                await session.execute(
                    text(
                        f"INSERT INTO reports ({columns}) VALUES ('{reporter.person_id}', {values})"
                    )
                )
        assert constraint_name(raised.value) == constraint


# --- personal data ----------------------------------------------------------------------


async def test_export_lists_the_reports_and_erasure_empties_their_notes(
    client: httpx.AsyncClient,
    session: AsyncSession,
    reporter: Actor,
    moderator: Actor,
    listing: Listing,
) -> None:
    body = await reported(client, reporter, "listing", listing.id, note="Mitt telefonnummer er 99")
    export = (await client.get("/v1/me/export", headers=reporter.headers)).json()
    assert export["reports"] == [
        {
            "id": body["id"],
            "target_type": "listing",
            "target_id": str(listing.id),
            "reason": "scam",
            "note": "Mitt telefonnummer er 99",
            "status": "open",
            "created_at": body["created_at"],
            "decided_at": None,
        }
    ]
    assert (await client.delete("/v1/me", headers=reporter.headers)).status_code == 204
    note = await session.scalar(text(f"SELECT note FROM reports WHERE id = '{body['id']}'"))
    assert note == ""
    # The report itself stays for the moderators, and can still be decided.
    response = await decide(client, moderator, body["id"], outcome="dismissed", note="OK")
    assert response.status_code == 200, response.text
    assert response.json()["note"] == ""


# --- races ------------------------------------------------------------------------------


async def test_parallel_identical_reports_make_exactly_one(
    committed_client: httpx.AsyncClient,
) -> None:
    owner = await _signed_in(committed_client)
    created = await committed_client.post("/v1/listings", json=_item("Mistenkelig"), headers=owner)
    assert created.status_code == 201, created.text
    reporter = await _signed_in(committed_client)
    body = _body("listing", created.json()["id"])
    responses = await asyncio.gather(
        *(committed_client.post("/v1/reports", json=body, headers=reporter) for _ in range(10))
    )
    assert sorted(r.status_code for r in responses) == [201] + [409] * 9
    for r in responses:
        if r.status_code == 409:
            assert_problem(r, 409, "already_reported")
    mine = await committed_client.get("/v1/reports", headers=reporter)
    assert len(mine.json()["items"]) == 1
