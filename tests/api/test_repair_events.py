"""Repair events: announcing, placing, finding and filling them in afterwards."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.deps import utcnow
from app.config import Settings
from app.models import Organization
from app.models.organization import ApiKeyScope, MemberRole
from tests.api.test_repairs import (
    BERGEN_POINT,
    NOW,
    OSLO_POINT,
    counts,
    create_event,
    event_body,
    set_clock,
)
from tests.factories import Actor, create_api_key, create_organization, create_person
from tests.problems import assert_problem

LATER = NOW + timedelta(days=2)


@pytest.fixture(autouse=True)
def fixed_clock(app: FastAPI) -> Iterator[None]:
    set_clock(app, NOW)
    yield
    app.dependency_overrides.pop(utcnow, None)


@pytest.fixture
async def organiser(session: AsyncSession, settings: Settings) -> Actor:
    return await create_person(session, settings, display_name="Arrangør")


@pytest.fixture
async def volunteer(session: AsyncSession, settings: Settings) -> Actor:
    return await create_person(session, settings)


@pytest.fixture
async def stranger(session: AsyncSession, settings: Settings) -> Actor:
    return await create_person(session, settings)


@pytest.fixture
async def cafe(session: AsyncSession, organiser: Actor, volunteer: Actor) -> Organization:
    return await create_organization(
        session,
        owner=organiser,
        name="Reparasjonskafé Oslo",
        members={volunteer.person_id: MemberRole.MEMBER},
    )


@pytest.fixture
async def other_cafe(session: AsyncSession, stranger: Actor) -> Organization:
    return await create_organization(session, owner=stranger, kommunenummer="4601")


def iso(moment: datetime) -> str:
    return moment.isoformat()


# --- announcing ---------------------------------------------------------------------------------


async def test_a_member_announces_an_event_placed_by_its_point(
    client: httpx.AsyncClient, volunteer: Actor, cafe: Organization
) -> None:
    response = await client.post(
        "/v1/repair-events", json=event_body(cafe), headers=volunteer.headers
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["location"] == f"/v1/repair-events/{body['id']}"
    assert body["organization_id"] == str(cafe.id)
    assert body["title"] == "Reparasjonskafé på biblioteket"
    assert datetime.fromisoformat(body["starts_at"]) == datetime(2026, 11, 20, 16, tzinfo=UTC)
    assert datetime.fromisoformat(body["ends_at"]) == datetime(2026, 11, 20, 20, tzinfo=UTC)
    assert body["location"] == OSLO_POINT
    assert (body["kommunenummer"], body["fylkesnummer"]) == ("0301", "03")
    assert (body["participants"], body["volunteers"]) == (None, None)
    assert datetime.fromisoformat(body["created_at"]) == NOW
    # Events are public.
    public = await client.get(f"/v1/repair-events/{body['id']}")
    assert public.status_code == 200
    assert public.json() == body


async def test_an_event_placed_by_kommunenummer_only(
    client: httpx.AsyncClient, volunteer: Actor, cafe: Organization
) -> None:
    body = await create_event(client, volunteer, cafe, location=None, kommunenummer="1804")
    assert (body["kommunenummer"], body["fylkesnummer"], body["location"]) == ("1804", "18", None)


async def test_an_event_may_have_no_place_at_all(
    client: httpx.AsyncClient, volunteer: Actor, cafe: Organization
) -> None:
    body = await create_event(client, volunteer, cafe, location=None, address=None)
    assert (body["kommunenummer"], body["location"], body["address"]) == (None, None, None)


async def test_an_api_key_with_listings_write_announces_for_its_organization(
    client: httpx.AsyncClient, session: AsyncSession, cafe: Organization
) -> None:
    headers = await create_api_key(
        session, organization_id=cafe.id, scopes=[ApiKeyScope.LISTINGS_WRITE]
    )
    response = await client.post("/v1/repair-events", json=event_body(cafe), headers=headers)
    assert response.status_code == 201, response.text


async def test_only_the_organizations_members_and_keys_announce_its_events(
    client: httpx.AsyncClient,
    session: AsyncSession,
    stranger: Actor,
    cafe: Organization,
    other_cafe: Organization,
) -> None:
    before = await counts(session)
    body = event_body(cafe)
    assert_problem(
        await client.post("/v1/repair-events", json=body, headers=stranger.headers),
        403,
        "not_a_member",
    )
    other_key = await create_api_key(
        session, organization_id=other_cafe.id, scopes=[ApiKeyScope.LISTINGS_WRITE]
    )
    assert_problem(
        await client.post("/v1/repair-events", json=body, headers=other_key),
        403,
        "wrong_organization",
    )
    impact_key = await create_api_key(
        session, organization_id=cafe.id, scopes=[ApiKeyScope.IMPACT_READ]
    )
    assert_problem(
        await client.post("/v1/repair-events", json=body, headers=impact_key),
        403,
        "insufficient_scope",
    )
    assert_problem(await client.post("/v1/repair-events", json=body), 401, "unauthorized")
    assert_problem(
        await client.post(
            "/v1/repair-events",
            json=event_body(cafe, organization_id=str(uuid.uuid4())),
            headers=stranger.headers,
        ),
        404,
        "organization_not_found",
    )
    assert await counts(session) == before


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"starts_at": "2026-12-05T12:00:00"}, "starts_at"),  # naive
        ({"ends_at": "2026-12-05T16:00:00"}, "ends_at"),  # naive
        ({"ends_at": "2026-11-20T16:00:00+01:00"}, ""),  # before it starts
        ({"ends_at": "2026-11-27T17:00:01+01:00"}, ""),  # longer than 7 days
        ({"title": "ab"}, "title"),
        ({"title": "<b>Kafé</b>"}, "title"),
        ({"volunteers": -1}, "volunteers"),
        ({"kommunenummer": "301"}, "kommunenummer"),
        ({"location": {"type": "Point", "coordinates": [200, 60]}}, "location.coordinates.0"),
        ({"repairs": 3}, "repairs"),
    ],
)
async def test_invalid_events_are_422_and_store_nothing(
    client: httpx.AsyncClient,
    session: AsyncSession,
    volunteer: Actor,
    cafe: Organization,
    changes: dict[str, Any],
    field: str,
) -> None:
    before = await counts(session)
    response = await client.post(
        "/v1/repair-events", json=event_body(cafe, **changes), headers=volunteer.headers
    )
    body = assert_problem(response, 422, "validation_failed")
    assert {e["field"] for e in body["errors"]} == {field}
    assert await counts(session) == before


async def test_naive_times_say_so(
    client: httpx.AsyncClient, volunteer: Actor, cafe: Organization
) -> None:
    response = await client.post(
        "/v1/repair-events",
        json=event_body(cafe, starts_at="2026-12-05T12:00:00"),
        headers=volunteer.headers,
    )
    [error] = assert_problem(response, 422, "validation_failed")["errors"]
    assert error["type"] == "timezone_aware"


async def test_an_unknown_kommune_is_422(
    client: httpx.AsyncClient, session: AsyncSession, volunteer: Actor, cafe: Organization
) -> None:
    before = await counts(session)
    response = await client.post(
        "/v1/repair-events",
        json=event_body(cafe, location=None, kommunenummer="9999"),
        headers=volunteer.headers,
    )
    body = assert_problem(response, 422, "unknown_kommune")
    assert body["errors"][0]["field"] == "kommunenummer"
    assert await counts(session) == before


async def test_a_point_outside_norway_is_422(
    client: httpx.AsyncClient, session: AsyncSession, volunteer: Actor, cafe: Organization
) -> None:
    before = await counts(session)
    stockholm = {"type": "Point", "coordinates": [18.0686, 59.3293]}
    response = await client.post(
        "/v1/repair-events", json=event_body(cafe, location=stockholm), headers=volunteer.headers
    )
    body = assert_problem(response, 422, "outside_norway")
    assert body["errors"][0]["field"] == "location.coordinates"
    assert await counts(session) == before


async def test_a_location_and_a_kommunenummer_must_agree(
    client: httpx.AsyncClient, session: AsyncSession, volunteer: Actor, cafe: Organization
) -> None:
    agreeing = await create_event(client, volunteer, cafe, kommunenummer="0301")
    assert agreeing["kommunenummer"] == "0301"
    before = await counts(session)
    response = await client.post(
        "/v1/repair-events",
        json=event_body(cafe, kommunenummer="4601"),
        headers=volunteer.headers,
    )
    body = assert_problem(response, 422, "invalid_input")
    assert body["errors"][0]["field"] == "kommunenummer"
    assert await counts(session) == before


# --- finding ------------------------------------------------------------------------------------


async def test_events_are_found_by_organization_kommune_and_time_by_pages(
    client: httpx.AsyncClient,
    volunteer: Actor,
    stranger: Actor,
    cafe: Organization,
    other_cafe: Organization,
) -> None:
    start = datetime(2026, 12, 1, 17, tzinfo=UTC)

    async def announce(org: Organization, who: Actor, day: int, point: Any) -> str:
        begins = start + timedelta(days=day)
        body = await create_event(
            client,
            who,
            org,
            starts_at=iso(begins),
            ends_at=iso(begins + timedelta(hours=3)),
            location=point,
        )
        return str(body["id"])

    oslo = [await announce(cafe, volunteer, day, OSLO_POINT) for day in (3, 0, 7, 1)]
    bergen = [await announce(other_cafe, stranger, day, BERGEN_POINT) for day in (2, 5)]
    # The earliest first; one page of two at a time.
    expected = [oslo[1], oslo[3], bergen[0], oslo[0], bergen[1], oslo[2]]
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor is not None:
            params["cursor"] = cursor
        page = (await client.get("/v1/repair-events", params=params)).json()
        seen += [e["id"] for e in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == expected

    async def ids(**params: Any) -> list[str]:
        response = await client.get("/v1/repair-events", params=params)
        assert response.status_code == 200, response.text
        return [e["id"] for e in response.json()["items"]]

    assert await ids(organization_id=str(other_cafe.id)) == bergen
    assert await ids(kommune="4601") == bergen
    assert await ids(kommune="0301") == [oslo[1], oslo[3], oslo[0], oslo[2]]
    window = {"from": iso(start + timedelta(days=1)), "to": iso(start + timedelta(days=5))}
    assert await ids(**window) == [oslo[3], bergen[0], oslo[0]]
    assert await ids(kommune="0301", **window) == [oslo[3], oslo[0]]


@pytest.mark.parametrize(
    ("params", "status", "code", "field"),
    [
        ({"kommune": "9999"}, 422, "unknown_kommune", "kommune"),
        ({"kommune": "oslo"}, 422, "validation_failed", "kommune"),
        ({"from": "2026-12-01T00:00:00"}, 422, "validation_failed", "from"),
        ({"to": "2026-12-01"}, 422, "validation_failed", "to"),
        ({"cursor": "bm90IGEgY3Vyc29y"}, 422, "invalid_cursor", "cursor"),
        ({"limit": 0}, 422, "validation_failed", "limit"),
    ],
)
async def test_finding_events_errors(
    client: httpx.AsyncClient, params: dict[str, Any], status: int, code: str, field: str
) -> None:
    body = assert_problem(await client.get("/v1/repair-events", params=params), status, code)
    assert body["errors"][0]["field"] == field


async def test_an_unknown_event_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get(f"/v1/repair-events/{uuid.uuid4()}")
    assert_problem(response, 404, "repair_event_not_found")
    malformed = await client.get("/v1/repair-events/42")
    assert assert_problem(malformed, 422, "validation_failed")["errors"][0]["field"] == ("event_id")


# --- filling in afterwards ----------------------------------------------------------------------


async def test_the_organiser_fills_in_participants_and_volunteers_after_the_event(
    app: FastAPI, client: httpx.AsyncClient, volunteer: Actor, cafe: Organization
) -> None:
    event = await create_event(client, volunteer, cafe)
    set_clock(app, LATER)
    response = await client.patch(
        f"/v1/repair-events/{event['id']}",
        json={"participants": 34, "volunteers": 9},
        headers=volunteer.headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["participants"], body["volunteers"]) == (34, 9)
    assert datetime.fromisoformat(body["updated_at"]) == LATER
    unchanged = {k: v for k, v in body.items() if k not in ("participants", "volunteers")}
    assert unchanged == {
        k: v for k, v in event.items() if k not in ("participants", "volunteers", "updated_at")
    } | {"updated_at": body["updated_at"]}
    cleared = await client.patch(
        f"/v1/repair-events/{event['id']}",
        json={"volunteers": None, "address": None},
        headers=volunteer.headers,
    )
    assert (cleared.json()["volunteers"], cleared.json()["address"]) == (None, None)
    assert cleared.json()["participants"] == 34


async def test_moving_an_event_moves_its_kommune(
    client: httpx.AsyncClient, volunteer: Actor, cafe: Organization
) -> None:
    event = await create_event(client, volunteer, cafe)
    moved = await client.patch(
        f"/v1/repair-events/{event['id']}",
        json={"location": BERGEN_POINT},
        headers=volunteer.headers,
    )
    assert moved.status_code == 200, moved.text
    assert (moved.json()["kommunenummer"], moved.json()["fylkesnummer"]) == ("4601", "46")
    assert moved.json()["location"] == BERGEN_POINT
    unplaced = await client.patch(
        f"/v1/repair-events/{event['id']}",
        json={"location": None, "kommunenummer": "5001"},
        headers=volunteer.headers,
    )
    body = unplaced.json()
    assert (body["location"], body["kommunenummer"], body["fylkesnummer"]) == (None, "5001", "50")


async def test_a_later_start_must_still_end_after_it(
    client: httpx.AsyncClient, volunteer: Actor, cafe: Organization
) -> None:
    event = await create_event(client, volunteer, cafe)
    moved = await client.patch(
        f"/v1/repair-events/{event['id']}",
        json={"starts_at": "2026-11-21T17:00:00+01:00", "ends_at": "2026-11-21T21:00:00+01:00"},
        headers=volunteer.headers,
    )
    assert moved.status_code == 200, moved.text


@pytest.mark.parametrize(
    ("patch", "code", "field"),
    [
        ({"ends_at": "2026-11-20T16:00:00+01:00"}, "invalid_input", "ends_at"),
        ({"starts_at": "2026-11-10T16:00:00+01:00"}, "invalid_input", "ends_at"),
        ({"title": None}, "invalid_input", "title"),
        ({"starts_at": "2026-11-20T16:00:00"}, "validation_failed", "starts_at"),
        ({"participants": -3}, "validation_failed", "participants"),
        ({"kommunenummer": "4601"}, "invalid_input", "kommunenummer"),
        ({"kommunenummer": "9999", "location": None}, "unknown_kommune", "kommunenummer"),
        (
            {"location": {"type": "Point", "coordinates": [18.0686, 59.3293]}},
            "outside_norway",
            "location.coordinates",
        ),
        ({"organization_id": str(uuid.uuid4())}, "validation_failed", "organization_id"),
    ],
)
async def test_invalid_changes_to_an_event_change_nothing(
    client: httpx.AsyncClient,
    volunteer: Actor,
    cafe: Organization,
    patch: dict[str, Any],
    code: str,
    field: str,
) -> None:
    event = await create_event(client, volunteer, cafe)
    response = await client.patch(
        f"/v1/repair-events/{event['id']}", json=patch, headers=volunteer.headers
    )
    body = assert_problem(response, 422, code)
    assert body["errors"][0]["field"] == field
    assert (await client.get(f"/v1/repair-events/{event['id']}")).json() == event


async def test_only_the_organiser_changes_an_event(
    client: httpx.AsyncClient,
    session: AsyncSession,
    settings: Settings,
    volunteer: Actor,
    stranger: Actor,
    cafe: Organization,
    other_cafe: Organization,
) -> None:
    event = await create_event(client, volunteer, cafe)
    patch = {"participants": 1000}
    path = f"/v1/repair-events/{event['id']}"
    assert_problem(
        await client.patch(path, json=patch, headers=stranger.headers), 403, "not_a_member"
    )
    moderator = await create_person(session, settings, roles=["moderator"])
    assert_problem(
        await client.patch(path, json=patch, headers=moderator.headers), 403, "not_a_member"
    )
    assert_problem(await client.patch(path, json=patch), 401, "unauthorized")
    other_key = await create_api_key(
        session, organization_id=other_cafe.id, scopes=[ApiKeyScope.LISTINGS_WRITE]
    )
    assert_problem(
        await client.patch(path, json=patch, headers=other_key), 403, "wrong_organization"
    )
    impact_key = await create_api_key(
        session, organization_id=cafe.id, scopes=[ApiKeyScope.IMPACT_READ]
    )
    assert_problem(
        await client.patch(path, json=patch, headers=impact_key), 403, "insufficient_scope"
    )
    assert_problem(
        await client.patch(
            f"/v1/repair-events/{uuid.uuid4()}", json=patch, headers=volunteer.headers
        ),
        404,
        "repair_event_not_found",
    )
    assert (await client.get(path)).json() == event
