"""Matching: for an offer the wanted listings it could serve, for a wanted listing the offers —
by EWC code, quantity across units, temperature, months, capacity, area, period, category and
distance; hazardous material only ever with a recorded waste permit; who may ask; paging."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.models.organization import OrganizationKind
from tests.factories import Actor, create_organization, create_person
from tests.places import PLACES
from tests.problems import assert_problem

OSLO = PLACES["oslo_city_hall"]
BERGEN = PLACES["bergen_bryggen"]


def north_of_oslo(km: float) -> dict[str, Any]:
    """A point ``km`` north of Oslo city hall (a degree of latitude is about 111.2 km)."""
    return {"type": "Point", "coordinates": [OSLO.lon, OSLO.lat + km / 111.2]}


class Business:
    """An organization and its owner, posting listings through the API."""

    def __init__(self, owner: Actor, organization_id: str) -> None:
        self.owner = owner
        self.id = organization_id

    async def post(self, client: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
        body.setdefault("location", north_of_oslo(0))
        body.setdefault("title", "Oppføring")
        response = await client.post(
            "/v1/listings", json={**body, "organization_id": self.id}, headers=self.owner.headers
        )
        assert response.status_code == 201, response.text
        listing: dict[str, Any] = response.json()
        return listing


async def business(session: AsyncSession, settings: Settings, name: str) -> Business:
    owner = await create_person(session, settings)
    org = await create_organization(session, owner=owner, name=name, kind=OrganizationKind.COMPANY)
    return Business(owner, str(org.id))


async def matches(
    client: httpx.AsyncClient, listing: dict[str, Any], who: Actor, **params: Any
) -> list[dict[str, Any]]:
    response = await client.get(
        f"/v1/listings/{listing['id']}/matches", params=params, headers=who.headers
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def codes(match: dict[str, Any]) -> dict[str, bool]:
    return {r["code"]: r["fits"] for r in match["reasons"]}


def material(code: str, quantity: float, unit: str, **details: Any) -> dict[str, Any]:
    return {
        "kind": "material",
        "ewc_code": code,
        "quantity": quantity,
        "unit": unit,
        "details": details,
    }


async def test_sawmill_offcuts_find_who_wants_them_best_first(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    sawmill = await business(session, settings, "Sagbruket")
    offer = await sawmill.post(
        client,
        mode="give",
        title="Kutt og flis fra sagbruk",
        **material("030105", 5, "t", recurrence="recurring", frequency="monthly"),
    )
    board = await business(session, settings, "Sponplatefabrikken")
    exact = await board.post(
        client,
        mode="wanted",
        title="Trenger flis",
        location=north_of_oslo(12),
        **material("030105", 2000, "kg", recurrence="recurring", frequency="monthly"),
    )
    bark = await business(session, settings, "Barkeriet")
    subchapter = await bark.post(
        client, mode="wanted", title="Bark", location=north_of_oslo(3), **material("030101", 1, "t")
    )
    chapter = await bark.post(
        client, mode="wanted", title="Papirfiber", **material("030307", 1, "t")
    )
    elsewhere = await bark.post(client, mode="wanted", title="Jord", **material("170504", 1, "t"))
    far = await board.post(
        client,
        mode="wanted",
        title="Flis til Bergen",
        location={"type": "Point", "coordinates": [BERGEN.lon, BERGEN.lat]},
        **material("030105", 1, "t"),
    )
    own = await sawmill.post(client, mode="wanted", title="Egen", **material("030105", 1, "t"))
    # A neighbour in the chapter only (paper fibre for wood) is below the default min_score.
    default = await matches(client, offer, sawmill.owner)
    assert [m["listing"]["id"] for m in default] == [exact["id"], subchapter["id"]]
    found = await matches(client, offer, sawmill.owner, min_score=0)
    ids = [m["listing"]["id"] for m in found]
    assert ids == [exact["id"], subchapter["id"], chapter["id"]]
    assert not {elsewhere["id"], far["id"], own["id"]} & set(ids)
    scores = [m["score"] for m in found]
    assert scores == sorted(scores, reverse=True)
    assert all(0 < s <= 1 for s in scores)
    best = found[0]
    assert codes(best) == {
        "ewc_exact": True,
        "quantity_covers": True,
        "recurrence_same": True,
        "distance": True,
    }
    assert 11_500 < best["distance_m"] < 12_500
    text = {r["code"]: r["text"] for r in best["reasons"]}
    assert text["ewc_exact"] == {
        "nb": "Samme avfallskode (03 01 05)",
        "en": "The same waste code (03 01 05)",
    }
    assert (
        text["quantity_covers"]["en"] == "Covers the whole need (5,000 kg offered, 2,000 kg needed)"
    )
    assert text["quantity_covers"]["nb"] == "Dekker hele behovet (5 000 kg tilbys, 2 000 kg trengs)"
    assert "ewc_subchapter" in codes(found[1])
    assert codes(found[2])["ewc_chapter"] is False
    # The other way round: the wanted listing finds the offer.
    back = await matches(client, exact, board.owner, min_score=0)
    assert [m["listing"]["id"] for m in back] == [offer["id"]]
    assert back[0]["score"] == best["score"]


async def test_quantities_compare_across_units_only_when_they_can(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    seller = await business(session, settings, "Betongknuseriet")
    offer = await seller.post(client, mode="sell", price_nok=100, **material("170101", 3, "t"))
    buyer = await business(session, settings, "Veibyggeren")
    litres = await buyer.post(
        client, mode="wanted", title="Volum med tetthet", **material("170101", 6000, "l")
    )
    no_density = await buyer.post(
        client, mode="wanted", title="Volum uten", **material("170101", 2, "m3")
    )
    with_density = await buyer.post(
        client,
        mode="wanted",
        title="Volum med",
        **material("170101", 2, "m3", density_kg_per_m3=2400),
    )
    found = {m["listing"]["id"]: m for m in await matches(client, offer, seller.owner)}
    assert codes(found[no_density["id"]])["quantity_incomparable"] is False
    assert codes(found[litres["id"]])["quantity_incomparable"] is False
    covered = next(r for r in found[with_density["id"]]["reasons"] if r["code"].startswith("q"))
    # 3 t at 2,400 kg/m³ is 1.25 m³ of the 2 m³ wanted.
    assert covered["code"] == "quantity_partial"
    assert covered["text"]["en"] == "Covers 62 % of the need (1.25 m3 offered, 2 m3 needed)"
    assert found[with_density["id"]]["score"] > found[no_density["id"]]["score"]


async def approved(
    client: httpx.AsyncClient, listing: dict[str, Any], moderator: Actor
) -> dict[str, Any]:
    """A hazardous material waits for a moderator (offered or wanted alike)."""
    assert listing["status"] == "pending_review"
    response = await client.post(f"/v1/listings/{listing['id']}/approve", headers=moderator.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["status"] == "active"
    return body


async def test_hazardous_waste_only_reaches_a_receiver_with_a_permit(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    moderator = await create_person(session, settings, roles=["moderator"])
    fish_farm = await business(session, settings, "Oppdrettsanlegget")
    offer = await approved(
        client,
        await fish_farm.post(
            client,
            mode="give",
            title="Slam fra rensing av prosessvann",
            **material("190813", 40, "t"),
        ),
        moderator,
    )
    unlicensed = await business(session, settings, "Uten tillatelse")
    licensed = await business(session, settings, "Godkjent mottak")
    household = await create_person(session, settings)
    wanted = material("190813", 10, "t")
    without = await approved(
        client, await unlicensed.post(client, mode="wanted", title="Slam", **wanted), moderator
    )
    with_permit = await approved(
        client,
        await licensed.post(client, mode="wanted", title="Slam til mottak", **wanted),
        moderator,
    )
    response = await client.post(
        "/v1/listings",
        json={"mode": "wanted", "title": "Slam hjemme", "location": north_of_oslo(1), **wanted},
        headers=household.headers,
    )
    assert response.status_code == 201, response.text
    by_person = await approved(client, response.json(), moderator)

    # Nobody has a permit yet: nothing matches, from either side.
    assert await matches(client, offer, fish_farm.owner) == []
    for listing, owner in ((without, unlicensed), (with_permit, licensed), (by_person, household)):
        assert (
            await matches(client, listing, owner.owner if isinstance(owner, Business) else owner)
            == []
        )

    recorded = await client.put(
        f"/v1/organizations/{licensed.id}/waste-permit",
        json={"reference": "2016.0412.T"},
        headers=moderator.headers,
    )
    assert recorded.status_code == 200, recorded.text
    assert recorded.json()["waste_permit"]["reference"] == "2016.0412.T"
    found = await matches(client, offer, fish_farm.owner)
    assert [m["listing"]["id"] for m in found] == [with_permit["id"]]
    assert codes(found[0])["hazardous_permit"] is True
    assert [m["listing"]["id"] for m in await matches(client, with_permit, licensed.owner)] == [
        offer["id"]
    ]
    assert await matches(client, without, unlicensed.owner) == []
    assert await matches(client, by_person, household) == []

    withdrawn = await client.delete(
        f"/v1/organizations/{licensed.id}/waste-permit", headers=moderator.headers
    )
    assert withdrawn.status_code == 200
    assert withdrawn.json()["waste_permit"] is None
    assert await matches(client, offer, fish_farm.owner) == []
    assert await matches(client, with_permit, licensed.owner) == []


async def test_waste_permits_are_for_moderators_to_record(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    company = await business(session, settings, "Mottaket")
    path = f"/v1/organizations/{company.id}/waste-permit"
    assert_problem(
        await client.put(path, json={"reference": "X"}, headers=company.owner.headers),
        403,
        "role_required",
    )
    assert_problem(await client.delete(path, headers=company.owner.headers), 403, "role_required")
    moderator = await create_person(session, settings, roles=["moderator"])
    for body in ({"reference": ""}, {"reference": "   "}, {"reference": "x" * 101}, {}):
        assert_problem(
            await client.put(path, json=body, headers=moderator.headers), 422, "validation_failed"
        )
    assert_problem(
        await client.put(
            "/v1/organizations/00000000-0000-4000-8000-000000000000/waste-permit",
            json={"reference": "X"},
            headers=moderator.headers,
        ),
        404,
        "organization_not_found",
    )
    public = (await client.get(f"/v1/organizations/{company.id}")).json()
    assert public["waste_permit"] is None


def heat(mode: str, temperature_c: float, capacity_kw: float, **details: Any) -> dict[str, Any]:
    return {
        "kind": "energy",
        "mode": mode,
        "details": {
            "energy_type": "heat",
            "temperature_c": temperature_c,
            "capacity_kw": capacity_kw,
            **details,
        },
    }


async def test_data_centre_heat_finds_the_greenhouse(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    data_centre = await business(session, settings, "Datasenteret")
    source = await data_centre.post(
        client, title="Spillvarme fra kjøling av servere", **heat("give", 35, 500)
    )
    grower = await business(session, settings, "Gartneriet")
    winter = [1, 2, 3, 4, 5, 10, 11, 12]
    greenhouse = await grower.post(
        client,
        title="Varme til veksthus",
        location=north_of_oslo(4),
        **heat("wanted", 25, 300, months_available=winter),
    )
    partly = await grower.post(
        client, title="Stor varmesentral", location=north_of_oslo(2), **heat("wanted", 30, 1000)
    )
    too_hot = await grower.post(client, title="Damp", **heat("wanted", 60, 100))
    too_far = await grower.post(
        client, title="Langt unna", location=north_of_oslo(15), **heat("wanted", 25, 100)
    )
    # Willing to pipe heat 20 km, but the source states no limit: its default (10 km) speaks.
    willing = await grower.post(
        client,
        title="Villig",
        location=north_of_oslo(15),
        **heat("wanted", 25, 100, max_distance_km=20),
    )
    share = await grower.post(
        client, title="Minst halvparten", **heat("wanted", 25, 2000, min_share=0.5)
    )
    cooling = await grower.post(
        client,
        title="Kjøling",
        kind="energy",
        mode="wanted",
        details={"energy_type": "cooling", "temperature_c": 10, "capacity_kw": 50},
    )
    found = await matches(client, source, data_centre.owner)
    ids = [m["listing"]["id"] for m in found]
    assert ids == [greenhouse["id"], partly["id"]]
    assert not {too_hot["id"], too_far["id"], willing["id"], share["id"], cooling["id"]} & set(ids)
    assert codes(found[0]) == {
        "temperature_fits": True,
        "months_overlap": True,
        "capacity_covers": True,
        "distance": True,
    }
    months = next(r for r in found[0]["reasons"] if r["code"] == "months_overlap")
    assert months["text"]["en"] == "Available in 8 of the 8 months needed"
    capacity = next(r for r in found[1]["reasons"] if r["code"] == "capacity_partial")
    assert capacity["text"]["en"] == "Covers 50 % of the need (500 kW for 1,000 kW)"
    # A source that states 20 km reaches the willing grower (the smaller of the two limits).
    farther = await data_centre.post(
        client, title="Varme, 20 km", **heat("give", 35, 500, max_distance_km=20)
    )
    farther_ids = [m["listing"]["id"] for m in await matches(client, farther, data_centre.owner)]
    assert willing["id"] in farther_ids
    assert too_far["id"] not in farther_ids


async def test_a_warehouse_for_the_start_up_needing_200_m2(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    landlord = await business(session, settings, "Eiendom")
    hall = await landlord.post(
        client,
        title="Lagerhall på Alnabru",
        kind="space",
        mode="rent",
        price_nok=15000,
        details={
            "space_type": "storage",
            "area_m2": 250,
            "price_period": "month",
            "available_from": "2027-01-01",
        },
    )
    start_up = await business(session, settings, "Gründerne")

    def wanted(area: float, **details: Any) -> dict[str, Any]:
        return {
            "kind": "space",
            "mode": "wanted",
            "details": {"space_type": "storage", "area_m2": area, **details},
        }

    fits = await start_up.post(
        client, title="Lager 200 m²", location=north_of_oslo(5), **wanted(200)
    )
    later = await start_up.post(
        client, title="Lager fra 2028", **wanted(240, available_from="2028-01-01")
    )
    too_big = await start_up.post(client, title="Stort lager", **wanted(1000))
    ranged = await start_up.post(
        client, title="Minst 260", **wanted(300, area_min_m2=260, area_max_m2=400)
    )
    before = await start_up.post(
        client, title="Bare i 2026", **wanted(250, available_to="2026-12-31")
    )
    office = await start_up.post(
        client,
        title="Kontor",
        kind="space",
        mode="wanted",
        details={"space_type": "office", "area_m2": 250},
    )
    found = await matches(client, hall, landlord.owner)
    ids = [m["listing"]["id"] for m in found]
    assert set(ids) == {fits["id"], later["id"]}
    assert not {too_big["id"], ranged["id"], before["id"], office["id"]} & set(ids)
    by_id = {m["listing"]["id"]: m for m in found}
    assert codes(by_id[later["id"]])["period_covers"] is True
    assert codes(by_id[fits["id"]])["period_overlaps"] is False
    area = next(r for r in by_id[fits["id"]]["reasons"] if r["code"] == "area_fits")
    assert area["text"]["en"] == "250 m² (wanted 200 m², 160-300 m²)"


async def test_wanted_items_find_offers_in_their_category_tree(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    parent = await create_person(session, settings)
    wanted = (
        await client.post(
            "/v1/listings",
            json={
                "kind": "item",
                "mode": "wanted",
                "category": "bikes",
                "title": "Ønsker barnesykkel",
                "location": north_of_oslo(0),
                "details": {"condition": "good"},
            },
            headers=parent.headers,
        )
    ).json()
    neighbour = await create_person(session, settings)

    async def offer(title: str, category: str, km: float, **details: Any) -> dict[str, Any]:
        response = await client.post(
            "/v1/listings",
            json={
                "kind": "item",
                "mode": "give",
                "category": category,
                "title": title,
                "location": north_of_oslo(km),
                "details": details,
            },
            headers=neighbour.headers,
        )
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    child_bike = await offer("Barnesykkel 20 tommer", "childrens-bikes", 2, condition="as_new")
    worn = await offer("Barnesykkel, slitt", "childrens-bikes", 2, condition="fair")
    sofa = await offer("Sofa", "sofas-and-armchairs", 1)
    distant = await offer("Barnesykkel langt unna", "childrens-bikes", 40)
    found = await matches(client, wanted, parent)
    ids = [m["listing"]["id"] for m in found]
    assert ids[0] == child_bike["id"]
    assert worn["id"] in ids
    assert sofa["id"] not in ids
    assert distant["id"] not in ids
    assert codes(found[0]) == {
        "category_narrower": True,
        "text_similar": True,
        "condition_fits": True,
        "distance": True,
    }
    assert (
        codes(next(m for m in found if m["listing"]["id"] == worn["id"]))["condition_worse"]
        is False
    )
    # A person's listing is measured from its blurred point, never its exact one.
    assert found[0]["listing"]["location_precision"] == "approximate"

    # Blocking removes the other's listings from one's matches, both ways.
    blocked = await client.post(f"/v1/people/{neighbour.person_id}/block", headers=parent.headers)
    assert blocked.status_code in (200, 201, 204), blocked.text
    assert await matches(client, wanted, parent) == []
    assert await matches(client, child_bike, neighbour) == []


async def test_pages_walk_every_match_once_in_order(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    seller = await business(session, settings, "Gjenvinneren")
    offer = await seller.post(client, mode="give", **material("150101", 10, "t"))
    buyer = await business(session, settings, "Papirkjøperen")
    made = {
        (
            await buyer.post(
                client,
                mode="wanted",
                title=f"Papp {i}",
                location=north_of_oslo(i),
                **material("150101", 1 + i, "t"),
            )
        )["id"]
        for i in range(7)
    }
    seen: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 3}
    while True:
        response = await client.get(
            f"/v1/listings/{offer['id']}/matches", params=params, headers=seller.owner.headers
        )
        assert response.status_code == 200, response.text
        page = response.json()
        seen.extend(page["items"])
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert [m["listing"]["id"] for m in seen if m["listing"]["id"] in made] == [
        m["listing"]["id"] for m in seen
    ]
    assert {m["listing"]["id"] for m in seen} == made
    assert len(seen) == len(made)
    keys = [(m["score"], m["listing"]["id"]) for m in seen]
    assert keys == sorted(keys, reverse=True)


async def test_who_may_ask_and_refusals(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    seller = await business(session, settings, "Selgeren")
    offer = await seller.post(client, mode="give", **material("150101", 1, "t"))
    path = f"/v1/listings/{offer['id']}/matches"
    stranger = await create_person(session, settings)
    assert_problem(await client.get(path), 401, "unauthorized")
    assert_problem(await client.get(path, headers=stranger.headers), 403, "not_listing_owner")
    moderator = await create_person(session, settings, roles=["moderator"])
    assert (await client.get(path, headers=moderator.headers)).status_code == 200
    assert_problem(
        await client.get(path, params={"cursor": "bm9wZQ"}, headers=seller.owner.headers),
        422,
        "invalid_cursor",
    )
    assert_problem(
        await client.get(path, params={"limit": 0}, headers=seller.owner.headers),
        422,
        "validation_failed",
    )
    assert_problem(
        await client.get(
            "/v1/listings/00000000-0000-4000-8000-000000000000/matches",
            headers=seller.owner.headers,
        ),
        404,
        "listing_not_found",
    )
    repairer = await seller.post(
        client, kind="repair_service", category="bikes", title="Sykkelverksted"
    )
    assert_problem(
        await client.get(f"/v1/listings/{repairer['id']}/matches", headers=seller.owner.headers),
        409,
        "listing_not_matchable",
    )
    closed = await client.post(f"/v1/listings/{offer['id']}/withdraw", headers=seller.owner.headers)
    assert closed.status_code == 200, closed.text
    assert_problem(
        await client.get(path, headers=seller.owner.headers), 409, "listing_not_matchable"
    )


@pytest.mark.parametrize(
    "details",
    [
        {"space_type": "storage", "area_m2": 100, "area_min_m2": 50, "price_period": "month"},
        {"space_type": "storage", "area_m2": 100, "area_max_m2": 150, "price_period": "month"},
    ],
)
async def test_a_wanted_range_is_only_for_wanted_listings(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, details: dict[str, Any]
) -> None:
    landlord = await business(session, settings, "Utleieren")
    response = await client.post(
        "/v1/listings",
        json={
            "kind": "space",
            "mode": "rent",
            "price_nok": 100,
            "title": "Lager",
            "location": north_of_oslo(0),
            "organization_id": landlord.id,
            "details": details,
        },
        headers=landlord.owner.headers,
    )
    assert_problem(response, 422, "validation_failed")


async def test_a_wanted_range_must_hold_the_area(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    start_up = await business(session, settings, "Søkeren")
    for details in ({"area_min_m2": 300}, {"area_max_m2": 100}):
        response = await client.post(
            "/v1/listings",
            json={
                "kind": "space",
                "mode": "wanted",
                "title": "Lager",
                "location": north_of_oslo(0),
                "organization_id": start_up.id,
                "details": {"space_type": "storage", "area_m2": 200, **details},
            },
            headers=start_up.owner.headers,
        )
        assert_problem(response, 422, "validation_failed")
