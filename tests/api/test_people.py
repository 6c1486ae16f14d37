"""Public profiles: the name a person shows (or "Nabo i {kommune}"), the month they joined,
their kommune and handovers; the same label on their listings and in transactions; never an
e-mail; erased and unknown persons are not found."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from tests.factories import Actor, create_listing, create_organization, create_person
from tests.places import PLACES
from tests.problems import assert_problem

OSLO = (PLACES["oslo_city_hall"].lat, PLACES["oslo_city_hall"].lon)


@pytest.fixture
async def kari(session: AsyncSession, settings: Settings) -> Actor:
    return await create_person(session, settings, display_name="Kari Nordmann", home_kommune="0301")


async def profile(client: httpx.AsyncClient, person_id: uuid.UUID) -> dict[str, Any]:
    response = await client.get(f"/v1/people/{person_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_profile_shows_what_others_may_know(
    client: httpx.AsyncClient, session: AsyncSession, kari: Actor
) -> None:
    joined = await session.scalar(
        text(f"SELECT to_char(created_at, 'YYYY-MM') FROM persons WHERE id = '{kari.person_id}'")
    )
    body = await profile(client, kari.person_id)
    assert body == {
        "id": str(kari.person_id),
        "label": "Kari Nordmann",
        "name": "Kari Nordmann",
        "member_since": joined,
        "kommune": {"number": "0301", "name": "Oslo"},
        "handovers": {"as_provider": 0, "as_receiver": 0},
        "reviews": {"count": 0, "average": None},
    }
    assert kari.email not in str(body)


async def test_a_public_name_and_hiding_the_name(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, kari: Actor
) -> None:
    changed = await client.patch("/v1/me", json={"public_name": "Kari N."}, headers=kari.headers)
    assert changed.status_code == 200, changed.text
    assert (changed.json()["public_name"], changed.json()["label"]) == ("Kari N.", "Kari N.")
    assert (await profile(client, kari.person_id))["label"] == "Kari N."

    hidden = await client.patch("/v1/me", json={"show_name": False}, headers=kari.headers)
    assert hidden.json()["label"] == "Nabo i Oslo"
    body = await profile(client, kari.person_id)
    assert (body["label"], body["name"]) == ("Nabo i Oslo", None)

    nowhere = await create_person(session, settings, display_name="Ola")
    await client.patch("/v1/me", json={"show_name": False}, headers=nowhere.headers)
    assert (await profile(client, nowhere.person_id))["label"] == "Nabo"

    shown = await client.patch(
        "/v1/me", json={"show_name": True, "public_name": None}, headers=kari.headers
    )
    assert (shown.json()["public_name"], shown.json()["label"]) == (None, "Kari Nordmann")


@pytest.mark.parametrize("name", ["", "x" * 61, "<b>Kari</b>", "Kari\x00"])
async def test_a_bad_public_name_is_refused(
    client: httpx.AsyncClient, kari: Actor, name: str
) -> None:
    response = await client.patch("/v1/me", json={"public_name": name}, headers=kari.headers)
    assert_problem(response, 422, "validation_failed")
    assert (await profile(client, kari.person_id))["label"] == "Kari Nordmann"


async def test_unknown_and_erased_persons_are_not_found(
    client: httpx.AsyncClient, kari: Actor
) -> None:
    assert_problem(await client.get(f"/v1/people/{uuid.uuid4()}"), 404, "person_not_found")
    assert_problem(await client.get("/v1/people/not-a-uuid"), 422, "validation_failed")
    await client.patch("/v1/me", json={"public_name": "Kari N."}, headers=kari.headers)
    assert (await client.delete("/v1/me", headers=kari.headers)).status_code == 204
    assert_problem(await client.get(f"/v1/people/{kari.person_id}"), 404, "person_not_found")


async def test_listings_and_transactions_show_the_other_party_as_others_see_them(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, kari: Actor
) -> None:
    taker = await create_person(session, settings, display_name="Ola", home_kommune="4601")
    await client.patch("/v1/me", json={"show_name": False}, headers=taker.headers)
    listing = await create_listing(session, at=OSLO, person=kari, title="Stol", category="chairs")
    read = (await client.get(f"/v1/listings/{listing.id}")).json()
    assert read["owner"] == {
        "type": "person",
        "organization_id": None,
        "name": None,
        "person": {"id": str(kari.person_id), "label": "Kari Nordmann"},
    }
    org = await create_organization(session, owner=kari, name="Delelaget")
    org_listing = await create_listing(session, at=OSLO, organization=org, title="Drill")
    org_read = (await client.get(f"/v1/listings/{org_listing.id}")).json()
    assert (org_read["owner"]["name"], org_read["owner"]["person"]) == ("Delelaget", None)
    found = await client.get("/v1/listings", params={"kommune": "0301"})
    owners = {item["id"]: item["owner"] for item in found.json()["items"]}
    assert owners[str(listing.id)]["person"]["label"] == "Kari Nordmann"

    asked = await client.post(
        "/v1/transactions", json={"listing_id": str(listing.id)}, headers=taker.headers
    )
    assert asked.status_code == 201, asked.text
    tx = asked.json()
    assert tx["provider"]["label"] == "Kari Nordmann"
    assert tx["receiver"]["label"] == "Nabo i Bergen"
    for action, who in (("accept", kari), ("complete", kari), ("confirm", taker)):
        moved = await client.post(f"/v1/transactions/{tx['id']}/{action}", headers=who.headers)
        assert moved.status_code == 200, moved.text
    assert (await profile(client, kari.person_id))["handovers"] == {
        "as_provider": 1,
        "as_receiver": 0,
    }
    assert (await profile(client, taker.person_id))["handovers"]["as_receiver"] == 1
    from_org = await client.post(
        "/v1/transactions", json={"listing_id": str(org_listing.id)}, headers=taker.headers
    )
    assert from_org.json()["provider"]["label"] == "Delelaget"


async def test_erasure_clears_the_public_name(
    client: httpx.AsyncClient, session: AsyncSession, kari: Actor
) -> None:
    await client.patch("/v1/me", json={"public_name": "Kari N."}, headers=kari.headers)
    assert (await client.delete("/v1/me", headers=kari.headers)).status_code == 204
    left = await session.scalar(
        text(f"SELECT public_name FROM persons WHERE id = '{kari.person_id}'")
    )
    assert left is None
