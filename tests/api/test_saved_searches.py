"""Saved searches and match alerts: what fits tells its owner once (instantly or in a daily
digest), what does not fit tells nobody, hazardous material reaches only permit holders, a
wanted listing hears of a new offer, an organization's systems read its matches; the limit
holds under parallel requests; refusals as problems."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.config import Settings
from app.models import Membership
from app.models.organization import ApiKeyScope, MemberRole, OrganizationKind
from app.models.saved_search import MAX_SAVED_SEARCHES
from app.services import alerts
from tests.api.test_matching import approved, business, material, north_of_oslo
from tests.factories import Actor, create_api_key, create_organization, create_person
from tests.problems import assert_problem

NEAR_OSLO = {"lat": 59.9119, "lon": 10.7336, "radius_m": 5000}


async def save(
    client: httpx.AsyncClient, who: Actor | dict[str, str], **body: Any
) -> dict[str, Any]:
    headers = who.headers if isinstance(who, Actor) else who
    body.setdefault("name", "Mitt søk")
    response = await client.post("/v1/me/saved-searches", json=body, headers=headers)
    assert response.status_code == 201, response.text
    saved: dict[str, Any] = response.json()
    return saved


async def give(
    client: httpx.AsyncClient, who: Actor, title: str, *, km: float = 1, **extra: Any
) -> dict[str, Any]:
    body = {
        "kind": "item",
        "mode": "give",
        "category": "childrens-bikes",
        "title": title,
        "location": north_of_oslo(km),
        **extra,
    }
    response = await client.post("/v1/listings", json=body, headers=who.headers)
    assert response.status_code == 201, response.text
    listing: dict[str, Any] = response.json()
    return listing


async def notifications(client: httpx.AsyncClient, who: Actor) -> list[dict[str, Any]]:
    response = await client.get("/v1/me/notifications", headers=who.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def of_type(items: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [n for n in items if n["type"] == kind]


async def test_a_fitting_listing_tells_the_saved_search_once(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    parent = await create_person(session, settings)
    saved = await save(
        client,
        parent,
        name="Barnesykler nær hjemme",
        query={**NEAR_OSLO, "kind": "item", "category": "bikes", "q": "sykkel"},
    )
    assert saved["frequency"] == "instant"
    assert saved["hits"] == 0
    assert saved["owner"] == {"type": "person", "organization_id": None}
    assert saved["search_url"].startswith("/v1/listings?lat=59.9119&lon=10.7336")
    neighbour = await create_person(session, settings)
    fits = await give(client, neighbour, "Barnesykkel 20 tommer")
    await give(client, neighbour, "Barnesykkel i Bergen", km=300)  # outside the circle
    await give(client, neighbour, "Sparkesykkel", category="sports-and-outdoors")
    await give(client, neighbour, "Barnevogn")  # no "sykkel"
    await give(client, parent, "Min egen barnesykkel")  # one's own
    told = of_type(await notifications(client, parent), "saved_search.matched")
    assert [n["listing_id"] for n in told] == [fits["id"]]
    assert told[0]["title"] == "«Barnesykkel 20 tommer» passer et lagret søk"
    # Withdrawn and published again, hidden and unhidden: still one notification.
    moderator = await create_person(session, settings, roles=["moderator"])
    hidden = await client.post(
        f"/v1/listings/{fits['id']}/hide", json={"reason": "Sjekk"}, headers=moderator.headers
    )
    assert hidden.status_code == 200, hidden.text
    unhidden = await client.post(f"/v1/listings/{fits['id']}/unhide", headers=moderator.headers)
    assert unhidden.status_code == 200, unhidden.text
    assert len(of_type(await notifications(client, parent), "saved_search.matched")) == 1
    again = await client.get(f"/v1/me/saved-searches/{saved['id']}", headers=parent.headers)
    assert again.json()["hits"] == 1


async def test_daily_searches_collect_a_digest_for_the_tick(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    collector = await create_person(session, settings)
    saved = await save(
        client, collector, frequency="daily", query={"kommune": "0301", "category": "bikes"}
    )
    neighbour = await create_person(session, settings)
    first = await give(client, neighbour, "Sykkel en")
    second = await give(client, neighbour, "Sykkel to")
    assert of_type(await notifications(client, collector), "saved_search.matched") == []
    now = datetime.now(UTC) + timedelta(minutes=1)
    assert await alerts.send_digests(session, now=now) == 1
    assert await alerts.send_digests(session, now=now + timedelta(hours=1)) == 0
    digests = of_type(await notifications(client, collector), "saved_search.digest")
    assert len(digests) == 1
    assert digests[0]["title"] == "Nye treff på et lagret søk"
    payload = (
        await session.execute(
            text(
                "SELECT payload FROM outbox_events WHERE type = 'saved_search.digest' "
                "AND recipient_person_id = :p"
            ),
            {"p": collector.person_id},
        )
    ).scalar_one()
    assert payload["saved_search_id"] == saved["id"]
    assert payload["count"] == 2
    assert set(payload["listing_ids"]) == {first["id"], second["id"]}
    # A day later, with nothing new, nothing is sent.
    assert await alerts.send_digests(session, now=now + timedelta(days=2)) == 0


async def test_hazardous_material_alerts_only_permit_holders(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    moderator = await create_person(session, settings, roles=["moderator"])
    unlicensed = await business(session, settings, "Uten")
    licensed = await business(session, settings, "Med")
    recorded = await client.put(
        f"/v1/organizations/{licensed.id}/waste-permit",
        json={"reference": "2020.0001.T"},
        headers=moderator.headers,
    )
    assert recorded.status_code == 200
    household = await create_person(session, settings)
    query = {"kind": "material"}
    await save(client, unlicensed.owner, organization_id=unlicensed.id, query=query)
    await save(client, licensed.owner, organization_id=licensed.id, query=query)
    await save(client, household, query=query)
    fish_farm = await business(session, settings, "Oppdrett")
    offer = await approved(
        client,
        await fish_farm.post(client, mode="give", **material("190813", 5, "t")),
        moderator,
    )
    told = of_type(await notifications(client, licensed.owner), "saved_search.matched")
    assert [n["listing_id"] for n in told] == [offer["id"]]
    for nobody in (unlicensed.owner, household):
        assert of_type(await notifications(client, nobody), "saved_search.matched") == []


async def test_an_api_key_saves_for_its_organization_and_reads_its_matches(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    owner = await create_person(session, settings)
    member = await create_person(session, settings)
    board = await create_organization(
        session, owner=owner, name="Platefabrikken", kind=OrganizationKind.COMPANY
    )
    session.add(
        Membership(
            organization_id=board.id, person_id=member.person_id, role=MemberRole.MEMBER.value
        )
    )
    await session.flush()
    key = await create_api_key(
        session, organization_id=board.id, scopes=[ApiKeyScope.LISTINGS_WRITE]
    )
    saved = await save(client, key, query={"kind": "material", "q": "flis"})
    assert saved["owner"] == {"type": "organization", "organization_id": str(board.id)}
    listed = await client.get("/v1/me/saved-searches", headers=key)
    assert [s["id"] for s in listed.json()["items"]] == [saved["id"]]
    wanted = (
        await client.post(
            "/v1/listings",
            json={
                "mode": "wanted",
                "title": "Trenger flis",
                "location": north_of_oslo(2),
                **material("030105", 2, "t"),
            },
            headers=key,
        )
    ).json()
    before = datetime.now(UTC) - timedelta(seconds=1)
    sawmill = await business(session, settings, "Saga")
    offer = await sawmill.post(
        client, mode="give", title="Flis og kutt", **material("030105", 5, "t")
    )
    # Both members hear of it: the saved search and the wanted listing's new match.
    for person in (owner, member):
        items = await notifications(client, person)
        assert [n["listing_id"] for n in of_type(items, "saved_search.matched")] == [offer["id"]]
        found = of_type(items, "listing.match_found")
        assert [n["listing_id"] for n in found] == [offer["id"]]
        assert found[0]["title"] == "«Flis og kutt» kan dekke det du ønsker deg"
    response = await client.get(
        f"/v1/organizations/{board.id}/matches", params={"since": before.isoformat()}, headers=key
    )
    assert response.status_code == 200, response.text
    (pair,) = response.json()["items"]
    assert pair["wanted_listing_id"] == wanted["id"]
    assert pair["offer_listing_id"] == offer["id"]
    assert pair["own_listing_id"] == wanted["id"]
    assert pair["listing"]["id"] == offer["id"]
    assert 0.5 <= pair["score"] <= 1
    later = await client.get(
        f"/v1/organizations/{board.id}/matches",
        params={"since": (datetime.now(UTC) + timedelta(minutes=5)).isoformat()},
        headers=key,
    )
    assert later.json()["items"] == []
    # The sawmill sees the same pair from its side.
    theirs = await client.get(
        f"/v1/organizations/{sawmill.id}/matches", headers=sawmill.owner.headers
    )
    assert [p["own_listing_id"] for p in theirs.json()["items"]] == [offer["id"]]
    stranger = await create_person(session, settings)
    assert_problem(
        await client.get(f"/v1/organizations/{board.id}/matches", headers=stranger.headers),
        403,
        "not_a_member",
    )
    assert_problem(
        await client.get(
            f"/v1/organizations/{board.id}/matches",
            params={"since": "2026-01-01T00:00:00"},
            headers=key,
        ),
        422,
        "validation_failed",
    )


async def test_saved_searches_are_their_owners_alone(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    owner = await create_person(session, settings)
    saved = await save(client, owner, query={"kind": "space"})
    path = f"/v1/me/saved-searches/{saved['id']}"
    other = await create_person(session, settings)
    assert_problem(await client.get(path, headers=other.headers), 404, "saved_search_not_found")
    assert_problem(await client.delete(path, headers=other.headers), 404, "saved_search_not_found")
    assert (await client.get("/v1/me/saved-searches", headers=other.headers)).json()["items"] == []
    assert_problem(await client.get(path), 401, "unauthorized")
    assert (await client.delete(path, headers=owner.headers)).status_code == 204
    assert_problem(await client.get(path, headers=owner.headers), 404, "saved_search_not_found")
    assert_problem(
        await client.get(f"/v1/me/saved-searches/{uuid.uuid4()}", headers=owner.headers),
        404,
        "saved_search_not_found",
    )


async def test_bad_saved_searches_are_refused_and_change_nothing(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    person = await create_person(session, settings)
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"name": ""}, 422, "validation_failed"),
        ({"name": "   "}, 422, "validation_failed"),
        ({"name": "x", "frequency": "hourly"}, 422, "validation_failed"),
        ({"name": "x", "query": {"lat": 59.9, "lon": 10.7}}, 422, "validation_failed"),
        ({"name": "x", "query": {"radius_m": 100}}, 422, "validation_failed"),
        ({"name": "x", "query": {"bbox": [11, 60, 10, 59]}}, 422, "validation_failed"),
        ({"name": "x", "query": {"lat": 91, "lon": 10, "radius_m": 5}}, 422, "validation_failed"),
        ({"name": "x", "query": {"sort": "newest"}}, 422, "validation_failed"),
        ({"name": "x", "query": {"kommune": "9999"}}, 422, "unknown_kommune"),
        ({"name": "x", "query": {"fylke": "99"}}, 422, "unknown_fylke"),
        ({"name": "x", "query": {"category": "boats-and-planes"}}, 422, "unknown_category"),
        ({"name": "x", "query": {"q": "og i på"}}, 422, "invalid_input"),
        (
            {"name": "x", "query": {**NEAR_OSLO, "bbox": [5.0, 60.0, 5.5, 60.5]}},
            422,
            "empty_search_area",
        ),
        ({"name": "x", "organization_id": str(uuid.uuid4())}, 404, "organization_not_found"),
    ]
    for body, status, code in cases:
        response = await client.post("/v1/me/saved-searches", json=body, headers=person.headers)
        assert_problem(response, status, code)
    listed = await client.get("/v1/me/saved-searches", headers=person.headers)
    assert listed.json()["items"] == []


async def test_the_limit_holds_under_parallel_requests(
    committed_client: httpx.AsyncClient, committed_engine: AsyncEngine, settings: Settings
) -> None:
    async with AsyncSession(committed_engine, expire_on_commit=False) as session:
        person = await create_person(session, settings)
        await session.commit()
    for i in range(MAX_SAVED_SEARCHES - 3):
        await save(committed_client, person, name=f"Søk {i}")
    responses = await asyncio.gather(
        *(
            committed_client.post(
                "/v1/me/saved-searches", json={"name": f"Parallelt {i}"}, headers=person.headers
            )
            for i in range(8)
        )
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] * 3 + [409] * 5
    for refused in (r for r in responses if r.status_code == 409):
        assert_problem(refused, 409, "too_many_saved_searches")
    count = 0
    params: dict[str, Any] = {"limit": 100}
    page = (
        await committed_client.get("/v1/me/saved-searches", params=params, headers=person.headers)
    ).json()
    count = len(page["items"])
    assert count == MAX_SAVED_SEARCHES
    assert page["next_cursor"] is None


async def test_erasure_deletes_and_export_lists_them(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    person = await create_person(session, settings)
    saved = await save(client, person, name="Sofaer", query={"q": "sofa"})
    export = await client.get("/v1/me/export", headers=person.headers)
    assert [s["id"] for s in export.json()["saved_searches"]] == [saved["id"]]
    assert (await client.delete("/v1/me", headers=person.headers)).status_code == 204
    left = await session.execute(
        text("SELECT count(*) FROM saved_searches WHERE person_id = :p"),
        {"p": person.person_id},
    )
    assert left.scalar_one() == 0
