"""The caller's own listings: their list, their export, and what erasure leaves of them."""

from __future__ import annotations

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.models.organization import ApiKeyScope, MemberRole
from tests.dbscan import tables_containing
from tests.factories import create_api_key, create_listing, create_organization, create_person
from tests.problems import assert_problem

HOME = (59.91387, 10.75225)


async def test_my_listings_hold_every_status_with_exact_points(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    me = await create_person(session, settings)
    other = await create_person(session, settings)
    draft = await create_listing(session, at=HOME, person=me, status="draft")
    active = await create_listing(session, at=HOME, person=me)
    await create_listing(session, at=HOME, person=other)
    response = await client.get("/v1/me/listings", headers=me.headers)
    assert response.status_code == 200
    items = response.json()["items"]
    assert {i["id"] for i in items} == {str(draft.id), str(active.id)}
    assert all(i["location"]["coordinates"] == [HOME[1], HOME[0]] for i in items)
    only_drafts = await client.get(
        "/v1/me/listings", params={"status": "draft"}, headers=me.headers
    )
    assert [i["id"] for i in only_drafts.json()["items"]] == [str(draft.id)]
    first = await client.get("/v1/me/listings", params={"limit": 1}, headers=me.headers)
    second = await client.get(
        "/v1/me/listings",
        params={"limit": 1, "cursor": first.json()["next_cursor"]},
        headers=me.headers,
    )
    assert {first.json()["items"][0]["id"], second.json()["items"][0]["id"]} == {
        str(draft.id),
        str(active.id),
    }
    assert second.json()["next_cursor"] is None


async def test_an_organizations_listings_for_its_members_and_keys(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    owner = await create_person(session, settings)
    member = await create_person(session, settings)
    stranger = await create_person(session, settings)
    org = await create_organization(
        session, owner=owner, members={member.person_id: MemberRole.MEMBER}
    )
    listing = await create_listing(session, at=HOME, organization=org, status="draft")
    key = await create_api_key(session, organization_id=org.id, scopes=[ApiKeyScope.LISTINGS_WRITE])
    for headers, params in (
        (member.headers, {"organization_id": str(org.id)}),
        (key, {}),
    ):
        response = await client.get("/v1/me/listings", params=params, headers=headers)
        assert [i["id"] for i in response.json()["items"]] == [str(listing.id)]
    response = await client.get(
        "/v1/me/listings", params={"organization_id": str(org.id)}, headers=stranger.headers
    )
    assert_problem(response, 403, "not_a_member")


async def test_a_tampered_cursor_for_my_listings_is_422(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    me = await create_person(session, settings)
    response = await client.get("/v1/me/listings", params={"cursor": "abc"}, headers=me.headers)
    assert_problem(response, 422, "invalid_cursor")
    assert_problem(await client.get("/v1/me/listings"), 401, "unauthorized")


async def test_the_export_holds_my_listings_with_exact_points(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    me = await create_person(session, settings)
    listing = await create_listing(session, at=HOME, person=me, title="Gyngestol fra mormor")
    export = (await client.get("/v1/me/export", headers=me.headers)).json()
    (exported,) = export["listings"]
    assert exported["id"] == str(listing.id)
    assert exported["title"] == "Gyngestol fra mormor"
    assert exported["location"]["coordinates"] == [HOME[1], HOME[0]]


async def test_erasure_withdraws_listings_and_forgets_their_text_and_exact_point(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    me = await create_person(session, settings, display_name="Sigrun Hjemmefra")
    active = await create_listing(
        session,
        at=HOME,
        person=me,
        title="Sigrun sin sofa",
        description="Ring Sigrun på 99887766",
        category="sofas-and-armchairs",
    )
    completed = await create_listing(session, at=HOME, person=me, title="Sigruns stol")
    completed.status = "completed"
    await session.flush()
    assert (await client.delete("/v1/me", headers=me.headers)).status_code == 204

    assert await tables_containing(session, "Sigrun") == []
    assert await tables_containing(session, "99887766") == []
    rows = (
        await session.execute(
            text(
                "SELECT id, status, category_slug, kommunenummer, "
                "ST_Distance(geom::geography, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)"
                "::geography) AS moved FROM listings WHERE owner_person_id = :p ORDER BY status"
            ),
            {"p": me.person_id, "lon": HOME[1], "lat": HOME[0]},
        )
    ).mappings()
    by_id = {r["id"]: r for r in rows}
    assert by_id[active.id]["status"] == "withdrawn"
    assert by_id[completed.id]["status"] == "completed"  # what happened stays counted
    assert by_id[active.id]["category_slug"] == "sofas-and-armchairs"
    assert by_id[active.id]["kommunenummer"] == "0301"
    assert all(r["moved"] > 250 for r in by_id.values())
    assert (await client.get("/v1/listings", params={"kommune": "0301"})).json()["items"] == []
