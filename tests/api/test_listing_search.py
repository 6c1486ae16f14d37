"""GET /v1/listings: places, filters, order, paging, GeoJSON, and the blur in every format."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.deps import utcnow
from app.config import Settings
from app.models import Listing, Organization
from tests.factories import Actor, create_listing, create_organization, create_person
from tests.places import PLACES, Place, haversine_m
from tests.problems import assert_problem

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
OSLO = PLACES["oslo_city_hall"]
DRAMMEN = PLACES["drammen"]
FREDRIKSTAD = PLACES["fredrikstad"]
LILLEHAMMER = PLACES["lillehammer"]
TRONDHEIM = PLACES["trondheim_torvet"]


@pytest.fixture(autouse=True)
def fixed_clock(app: FastAPI) -> Iterator[None]:
    app.dependency_overrides[utcnow] = lambda: NOW
    yield
    app.dependency_overrides.pop(utcnow, None)


@pytest.fixture
async def person(session: AsyncSession, settings: Settings) -> Actor:
    return await create_person(session, settings)


@pytest.fixture
async def org(session: AsyncSession, person: Actor) -> Organization:
    return await create_organization(session, owner=person, name="Ombruk AS")


def latlon(place: Place) -> tuple[float, float]:
    return (place.lat, place.lon)


async def org_listing(
    session: AsyncSession, org: Organization, place: Place, minutes_ago: int = 0, **kw: Any
) -> Listing:
    return await create_listing(
        session,
        at=latlon(place),
        organization=org,
        published_at=NOW - timedelta(minutes=minutes_ago),
        **kw,
    )


def ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


# --- place ------------------------------------------------------------------------------------


async def test_a_radius_holds_exactly_the_places_within_it(
    client: httpx.AsyncClient, session: AsyncSession, org: Organization
) -> None:
    listings = {
        p: await org_listing(session, org, PLACES[p])
        for p in ("oslo_city_hall", "drammen", "fredrikstad", "lillehammer")
    }
    distances = {p: haversine_m(latlon(OSLO), latlon(PLACES[p])) for p in listings}
    # Drammen is about 35 km from Oslo city hall, Fredrikstad about 78, Lillehammer about 135.
    assert 30_000 < distances["drammen"] < 40_000
    assert 70_000 < distances["fredrikstad"] < 85_000
    for radius, expected in (
        (1_000, ["oslo_city_hall"]),
        (50_000, ["oslo_city_hall", "drammen"]),
        (100_000, ["oslo_city_hall", "drammen", "fredrikstad"]),
    ):
        response = await client.get(
            "/v1/listings", params={"lat": OSLO.lat, "lon": OSLO.lon, "radius_m": radius}
        )
        assert ids(response) == [str(listings[p].id) for p in expected]
        for item, place in zip(response.json()["items"], expected, strict=True):
            assert item["distance_m"] == pytest.approx(distances[place], abs=1.0)


async def test_a_radius_edge_is_exact_to_the_metre(
    client: httpx.AsyncClient, session: AsyncSession, org: Organization
) -> None:
    listing = await org_listing(session, org, DRAMMEN)
    distance = haversine_m(latlon(OSLO), latlon(DRAMMEN))
    params = {"lat": OSLO.lat, "lon": OSLO.lon}
    assert ids(await client.get("/v1/listings", params=params | {"radius_m": distance + 1})) == [
        str(listing.id)
    ]
    assert ids(await client.get("/v1/listings", params=params | {"radius_m": distance - 1})) == []


async def test_a_bbox_includes_points_on_its_edges(
    client: httpx.AsyncClient, session: AsyncSession, org: Organization
) -> None:
    on_edge = await create_listing(session, at=(59.95, 10.70), organization=org)
    inside = await create_listing(session, at=(59.92, 10.75), organization=org)
    await create_listing(session, at=(59.92, 10.6999), organization=org)  # just west
    for bbox in ("10.70,59.90,10.80,59.95", "10.60,59.95,10.80,60.00"):
        found = set(ids(await client.get("/v1/listings", params={"bbox": bbox})))
        expected = (
            {str(on_edge.id), str(inside.id)} if bbox.startswith("10.70") else {str(on_edge.id)}
        )
        assert found == expected


async def test_kommune_and_fylke_filter_by_the_listings_place(
    client: httpx.AsyncClient, session: AsyncSession, org: Organization
) -> None:
    oslo = await org_listing(session, org, OSLO)
    drammen = await org_listing(session, org, DRAMMEN)
    await org_listing(session, org, TRONDHEIM)
    assert ids(await client.get("/v1/listings", params={"kommune": "0301"})) == [str(oslo.id)]
    assert ids(await client.get("/v1/listings", params={"fylke": "33"})) == [str(drammen.id)]


# --- filters ----------------------------------------------------------------------------------


async def test_kind_mode_and_category_with_its_subcategories(
    client: httpx.AsyncClient, session: AsyncSession, org: Organization
) -> None:
    child_bike = await org_listing(session, org, OSLO, category="childrens-bikes")
    e_bike = await org_listing(session, org, OSLO, 1, category="e-bikes", mode="lend")
    sofa = await org_listing(session, org, OSLO, 2, category="sofas-and-armchairs")
    heat = await org_listing(
        session,
        org,
        OSLO,
        3,
        kind="energy",
        category=None,
        title="Overskuddsvarme",
        details={"energy_type": "heat", "capacity_kw": 100},
    )
    assert ids(await client.get("/v1/listings", params={"category": "bikes"})) == [
        str(child_bike.id),
        str(e_bike.id),
    ]
    assert ids(await client.get("/v1/listings", params={"category": "childrens-bikes"})) == [
        str(child_bike.id)
    ]
    assert ids(await client.get("/v1/listings", params={"mode": "lend"})) == [str(e_bike.id)]
    assert ids(await client.get("/v1/listings", params={"kind": "energy"})) == [str(heat.id)]
    assert ids(await client.get("/v1/listings", params={"category": "furniture"})) == [str(sofa.id)]
    assert (
        ids(await client.get("/v1/listings", params={"organization_id": str(uuid.uuid4())})) == []
    )


async def test_only_active_visible_listings_are_found(
    client: httpx.AsyncClient, session: AsyncSession, org: Organization
) -> None:
    active = await org_listing(session, org, OSLO)
    await org_listing(session, org, OSLO, status="draft")
    reserved = await org_listing(session, org, OSLO)
    reserved.status = "reserved"
    await org_listing(session, org, OSLO, expires_at=NOW - timedelta(seconds=1))
    hidden = await org_listing(session, org, OSLO)
    hidden.hidden_at = NOW
    hidden.hidden_reason = "Spam"
    await session.flush()
    assert ids(await client.get("/v1/listings")) == [str(active.id)]


async def test_free_text_finds_plural_definite_and_compound_forms(
    client: httpx.AsyncClient, session: AsyncSession, org: Organization
) -> None:
    bike = await org_listing(session, org, OSLO, title="Barnesykkel 20 tommer")
    books = await org_listing(session, org, OSLO, 1, title="Kokebøker selges", category="books")
    await org_listing(session, org, OSLO, 2, title="Sofa i skinn", category="sofas-and-armchairs")
    for q, expected in (
        ("sykler", [bike]),
        ("sykkelen", [bike]),
        ("barnesykkel", [bike]),
        ("bok", [books]),
        ("bøker", [books]),
        ("kokebok", [books]),
        ("barnesyk", [bike]),  # still typing
        ("sofaer og sykler", []),  # every word must match
    ):
        response = await client.get("/v1/listings", params={"q": q})
        assert ids(response) == [str(x.id) for x in expected], q


async def test_free_text_with_like_wildcards_is_literal(
    client: httpx.AsyncClient, session: AsyncSession, org: Organization
) -> None:
    await org_listing(session, org, OSLO, title="Barnesykkel 20 tommer")
    for q in ("%", "_", "s%l", "\\", "og"):
        # Nothing that could be a word (or only a stop word): nothing matches.
        assert ids(await client.get("/v1/listings", params={"q": q})) == [], q


# --- order and paging -------------------------------------------------------------------------


async def test_newest_first_by_default_and_nearest_first_with_a_point(
    client: httpx.AsyncClient, session: AsyncSession, org: Organization
) -> None:
    far_new = await org_listing(session, org, LILLEHAMMER, 0)
    near_old = await org_listing(session, org, OSLO, 30)
    middle = await org_listing(session, org, DRAMMEN, 10)
    assert ids(await client.get("/v1/listings")) == [
        str(far_new.id),
        str(middle.id),
        str(near_old.id),
    ]
    point = {"lat": OSLO.lat, "lon": OSLO.lon}
    assert ids(await client.get("/v1/listings", params=point)) == [
        str(near_old.id),
        str(middle.id),
        str(far_new.id),
    ]
    newest = await client.get("/v1/listings", params=point | {"sort": "newest"})
    assert ids(newest) == [str(far_new.id), str(middle.id), str(near_old.id)]
    assert all(item["distance_m"] is not None for item in newest.json()["items"])


async def test_pages_neither_skip_nor_repeat(
    client: httpx.AsyncClient, session: AsyncSession, org: Organization
) -> None:
    # Pairs published at the same instant: the id breaks the tie.
    created = [await org_listing(session, org, OSLO, minutes_ago=i // 2) for i in range(9)]
    for params in ({}, {"lat": OSLO.lat, "lon": OSLO.lon}):
        seen: list[str] = []
        cursor = None
        pages = 0
        while True:
            query: dict[str, Any] = params | {"limit": 2} | ({"cursor": cursor} if cursor else {})
            response = await client.get("/v1/listings", params=query)
            seen += ids(response)
            cursor = response.json()["next_cursor"]
            pages += 1
            if cursor is None:
                break
        assert pages == 5
        assert sorted(seen) == sorted(str(c.id) for c in created)
        assert len(seen) == len(set(seen))


async def test_new_listings_do_not_shift_the_next_page(
    client: httpx.AsyncClient, app: FastAPI, session: AsyncSession, person: Actor, org: Organization
) -> None:
    created = [await org_listing(session, org, OSLO, minutes_ago=10 + i) for i in range(4)]
    first = await client.get("/v1/listings", params={"limit": 2})
    assert ids(first) == [str(created[0].id), str(created[1].id)]
    # New listings arrive (newer than everything) before the client asks for page two.
    app.dependency_overrides[utcnow] = lambda: NOW + timedelta(minutes=1)
    for _ in range(3):
        response = await client.post(
            "/v1/listings",
            json={
                "kind": "item",
                "mode": "give",
                "title": "Ny sofa",
                "category": "sofas-and-armchairs",
                "location": {"type": "Point", "coordinates": [OSLO.lon, OSLO.lat]},
            },
            headers=person.headers,
        )
        assert response.status_code == 201
    second = await client.get(
        "/v1/listings", params={"limit": 2, "cursor": first.json()["next_cursor"]}
    )
    assert ids(second) == [str(created[2].id), str(created[3].id)]
    assert second.json()["next_cursor"] is None


async def test_limit_defaults_to_20_and_allows_100(
    client: httpx.AsyncClient, session: AsyncSession, org: Organization
) -> None:
    for i in range(21):
        await org_listing(session, org, OSLO, i)
    default = await client.get("/v1/listings")
    assert len(ids(default)) == 20
    assert default.json()["next_cursor"] is not None
    assert len(ids(await client.get("/v1/listings", params={"limit": 100}))) == 21


# --- GeoJSON ----------------------------------------------------------------------------------


async def test_geojson_is_an_rfc_7946_feature_collection(
    client: httpx.AsyncClient, session: AsyncSession, org: Organization
) -> None:
    listings = [await org_listing(session, org, OSLO, i) for i in range(3)]
    response = await client.get(
        "/v1/listings",
        params={"limit": 2, "lat": OSLO.lat, "lon": OSLO.lon, "sort": "newest"},
        headers={"Accept": "application/geo+json"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/geo+json"
    assert "accept" in response.headers["vary"].lower()
    doc = response.json()
    assert doc["type"] == "FeatureCollection"
    assert "crs" not in doc
    assert [f["id"] for f in doc["features"]] == [str(listings[0].id), str(listings[1].id)]
    feature = doc["features"][0]
    assert feature["type"] == "Feature"
    assert feature["geometry"] == {"type": "Point", "coordinates": [OSLO.lon, OSLO.lat]}
    assert feature["properties"]["title"] == listings[0].title
    assert feature["properties"]["distance_m"] == 0
    assert "location" not in feature["properties"]
    assert "id" not in feature["properties"]
    (link,) = [link for link in doc["links"] if link["rel"] == "next"]
    assert f"cursor={doc['next_cursor']}" in link["href"]
    following = await client.get(link["href"], headers={"Accept": "application/geo+json"})
    assert [f["id"] for f in following.json()["features"]] == [str(listings[2].id)]
    assert [link["rel"] for link in following.json()["links"]] == ["self"]


async def test_an_unsupported_accept_is_406(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/listings", headers={"Accept": "text/html"})
    assert_problem(response, 406, "not_acceptable")


# --- privacy ----------------------------------------------------------------------------------


def _coordinate_strings(lat: float, lon: float) -> list[str]:
    return [f"{v:.{d}f}" for v in (lat, lon) for d in (4, 5, 6)]


async def test_no_search_response_reveals_a_persons_exact_point(
    client: httpx.AsyncClient, session: AsyncSession, person: Actor, settings: Settings
) -> None:
    exact = (59.91387, 10.75225)  # a household in Oslo sentrum
    listing = await create_listing(session, at=exact, person=person)
    stranger = await create_person(session, settings)
    near = {"lat": exact[0], "lon": exact[1]}
    # (The GeoJSON links echo the query, so the scanned searches ask around another point.)
    around: list[dict[str, Any]] = [
        {"lat": 59.92, "lon": 10.76, "radius_m": 5000},
        {"bbox": "10.7,59.9,10.8,59.95"},
        {"kommune": "0301"},
    ]
    responses = [
        await client.get("/v1/listings", params=params, headers=headers | accept)
        for params in around
        for headers in ({}, stranger.headers)
        for accept in ({}, {"Accept": "application/geo+json"})
    ]
    responses.append(await client.get(f"/v1/listings/{listing.id}", headers=stranger.headers))
    for response in responses:
        assert response.status_code == 200
        assert str(listing.id) in response.text
        for text in _coordinate_strings(*exact):
            assert text not in response.text
    items = (await client.get("/v1/listings", params=near)).json()["items"]
    assert len(items) == 1
    # The distance from the exact point itself is the blur's, not zero.
    assert 250 < items[0]["distance_m"] < 550
    # A radius that holds the exact point but not the blurred one finds nothing.
    tight = await client.get("/v1/listings", params=near | {"radius_m": 100})
    assert ids(tight) == []
    # The cursor carries only the blurred distance.
    for_cursor = await client.get("/v1/listings", params=near | {"limit": 1})
    assert for_cursor.json()["next_cursor"] is None
    more = await create_listing(session, at=exact, person=person)
    page = await client.get("/v1/listings", params=near | {"limit": 1})
    cursor = page.json()["next_cursor"]
    key = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    assert key["d"] > 250
    assert {str(listing.id), str(more.id)} >= set(ids(page))


# --- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"lat": 91, "lon": 10}, "validation_failed"),
        ({"lat": 59, "lon": -181}, "validation_failed"),
        ({"lat": "nan", "lon": 10}, "validation_failed"),
        ({"lat": 59}, "invalid_input"),
        ({"radius_m": 100}, "invalid_input"),
        ({"lat": 59.9, "lon": 10.7, "radius_m": 0}, "validation_failed"),
        ({"lat": 59.9, "lon": 10.7, "radius_m": -5}, "validation_failed"),
        ({"lat": 59.9, "lon": 10.7, "radius_m": 100_001}, "validation_failed"),
        ({"sort": "distance"}, "invalid_input"),
        ({"sort": "cheapest"}, "validation_failed"),
        ({"bbox": "10.8,59.9,10.7,60.0"}, "invalid_input"),
        ({"bbox": "10.7,60.0,10.8,59.9"}, "invalid_input"),
        ({"bbox": "10.7,59.9,10.8"}, "invalid_input"),
        ({"bbox": "10.7,59.9,10.8,abc"}, "invalid_input"),
        ({"bbox": "10.7,59.9,190,60"}, "invalid_input"),
        ({"bbox": "10.7,-91,10.8,60"}, "invalid_input"),
        ({"bbox": "10.7,59.9,inf,60"}, "invalid_input"),
        ({"kind": "spaceship"}, "validation_failed"),
        ({"mode": "swap"}, "validation_failed"),
        ({"category": "no-such-category"}, "unknown_category"),
        ({"category": "NOT_A_SLUG"}, "validation_failed"),
        ({"kommune": "9999"}, "unknown_kommune"),
        ({"kommune": "03"}, "validation_failed"),
        ({"fylke": "99"}, "unknown_fylke"),
        ({"limit": 0}, "validation_failed"),
        ({"limit": 101}, "validation_failed"),
        ({"q": ""}, "validation_failed"),
        ({"q": "x" * 201}, "validation_failed"),
        ({"cursor": "not-a-cursor"}, "invalid_cursor"),
        ({"organization_id": "nope"}, "validation_failed"),
    ],
)
async def test_bad_search_parameters_are_422(
    client: httpx.AsyncClient, params: dict[str, Any], code: str
) -> None:
    body = assert_problem(await client.get("/v1/listings", params=params), 422, code)
    assert body["errors"]


def _cursor(key: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(key)).rstrip(b"=").decode()


@pytest.mark.parametrize(
    ("params", "key"),
    [
        ({}, {"s": "newest", "p": "yesterday", "id": str(uuid.uuid4())}),
        ({}, {"s": "newest", "p": "2026-11-22T12:00:00", "id": str(uuid.uuid4())}),
        ({}, {"s": "newest", "p": "2026-11-22T12:00:00+00:00", "id": "42"}),
        ({}, {"s": "distance", "d": 1.0, "id": str(uuid.uuid4())}),
        ({"lat": 59.9, "lon": 10.7}, {"s": "distance", "d": "far", "id": str(uuid.uuid4())}),
        ({"lat": 59.9, "lon": 10.7}, {"s": "distance", "d": True, "id": str(uuid.uuid4())}),
        (
            {"lat": 59.9, "lon": 10.7},
            {"s": "newest", "p": "2026-11-22T12:00:00+00:00", "id": str(uuid.uuid4())},
        ),
        ({}, ["not", "an", "object"]),
    ],
)
async def test_a_tampered_cursor_is_422(
    client: httpx.AsyncClient, params: dict[str, Any], key: Any
) -> None:
    response = await client.get("/v1/listings", params=params | {"cursor": _cursor(key)})
    assert_problem(response, 422, "invalid_cursor")
