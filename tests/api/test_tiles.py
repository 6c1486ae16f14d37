"""/v1/tiles: Mapbox Vector Tiles of active listings and their TileJSON.

Listings are published through the API; tiles are fetched and decoded with
``mapbox_vector_tile`` (y axis down, as the tile was encoded), and every feature's tile
coordinates are converted back to longitude and latitude, so the tests check where a
listing is drawn, not just that a tile exists.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import mapbox_vector_tile  # type: ignore[import-untyped]
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.deps import utcnow
from app.config import Settings
from app.geo import NORWAY_BBOX
from app.models.person import PlatformRole
from app.services.tile import EXTENT, GRID, MAX_ZOOM, MAX_ZOOM_ADVERTISED, POINTS_MIN_ZOOM
from tests.factories import Actor, create_organization, create_person
from tests.places import PLACES, Place
from tests.problems import assert_problem

MVT = "application/vnd.mapbox-vector-tile"
EARTH_RADIUS_M = 6_371_008.8
# A tile unit at zoom 12 in southern Norway is about 1.2 m; ST_AsMVTGeom rounds to whole units.
TILE_TOLERANCE_M = 3.0

LonLat = tuple[float, float]


# --- tile maths (the standard slippy-map formulas) -------------------------------------------


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = math.floor((lon + 180) / 360 * n)
    lat_r = math.radians(lat)
    y = math.floor((1 - math.log(math.tan(lat_r) + 1 / math.cos(lat_r)) / math.pi) / 2 * n)
    return x, y


def tile_to_lonlat(z: int, x: float, y: float) -> LonLat:
    """The longitude and latitude of a (fractional) tile position."""
    n = 2**z
    lon = x / n * 360 - 180
    lat = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * y / n))))
    return lon, lat


def tile_center(z: int, x: int, y: int) -> LonLat:
    return tile_to_lonlat(z, x + 0.5, y + 0.5)


def distance_m(a: LonLat, b: LonLat) -> float:
    """Great-circle distance (haversine)."""
    lon1, lat1, lon2, lat2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(h))


def offset(point: LonLat, *, east_m: float = 0, north_m: float = 0) -> LonLat:
    lon, lat = point
    d_lat = math.degrees(north_m / EARTH_RADIUS_M)
    d_lon = math.degrees(east_m / (EARTH_RADIUS_M * math.cos(math.radians(lat))))
    return lon + d_lon, lat + d_lat


WEB_MERCATOR_RADIUS_M = 6_378_137.0
WEB_MERCATOR_HALF_WORLD_M = math.pi * WEB_MERCATOR_RADIUS_M


def mercator(point: LonLat) -> tuple[float, float]:
    """EPSG:3857 metres."""
    lon, lat = point
    return (
        math.radians(lon) * WEB_MERCATOR_RADIUS_M,
        math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)) * WEB_MERCATOR_RADIUS_M,
    )


def tile_size_m(z: int) -> float:
    return 2 * WEB_MERCATOR_HALF_WORLD_M / (1 << z)


def mercator_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """As ST_TileEnvelope: xmin, ymin, xmax, ymax in EPSG:3857 metres."""
    size = tile_size_m(z)
    xmin = -WEB_MERCATOR_HALF_WORLD_M + x * size
    ymax = WEB_MERCATOR_HALF_WORLD_M - y * size
    return xmin, ymax - size, xmin + size, ymax


def cell_of(z: int, x: int, y: int, position: tuple[float, float]) -> tuple[int, int]:
    """The cluster cell (GRID by GRID per tile, counted from the south-west)."""
    xmin, ymin, _, _ = mercator_bounds(z, x, y)
    cell = tile_size_m(z) / GRID
    return math.floor((position[0] - xmin) / cell), math.floor((position[1] - ymin) / cell)


def cell_center(z: int, x: int, y: int, cell: tuple[int, int]) -> LonLat:
    cx, cy = cell
    return tile_to_lonlat(z, x + (cx + 0.5) / GRID, y + 1 - (cy + 0.5) / GRID)


def at(place: Place) -> LonLat:
    return place.lon, place.lat


# --- decoded tiles ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Feature:
    properties: dict[str, Any]
    lonlat: LonLat
    # Position in Web Mercator metres.
    mercator: tuple[float, float]


def decode(response: httpx.Response, *, z: int, x: int, y: int) -> list[Feature]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == MVT
    layers = mapbox_vector_tile.decode(response.content, default_options={"y_coord_down": True})
    assert set(layers) == {"listings"}
    layer = layers["listings"]
    assert layer["extent"] == EXTENT
    features = []
    for feature in layer["features"]:
        geometry = feature["geometry"]
        assert geometry["type"] == "Point"
        px, py = geometry["coordinates"]
        xmin, _, _, ymax = mercator_bounds(z, x, y)
        size = tile_size_m(z)
        features.append(
            Feature(
                properties=feature["properties"],
                lonlat=tile_to_lonlat(z, x + px / EXTENT, y + py / EXTENT),
                mercator=(xmin + px / EXTENT * size, ymax - py / EXTENT * size),
            )
        )
    return features


async def fetch_tile(
    client: httpx.AsyncClient, z: int, x: int, y: int, **params: str
) -> httpx.Response:
    return await client.get(f"/v1/tiles/listings/{z}/{x}/{y}.mvt", params=params)


async def tile_features(
    client: httpx.AsyncClient, z: int, x: int, y: int, **params: str
) -> list[Feature]:
    response = await fetch_tile(client, z, x, y, **params)
    if response.status_code == 204:
        return []
    return decode(response, z=z, x=x, y=y)


async def point_ids(client: httpx.AsyncClient, z: int, x: int, y: int, **params: str) -> set[str]:
    assert z >= POINTS_MIN_ZOOM
    return {f.properties["id"] for f in await tile_features(client, z, x, y, **params)}


async def cluster_total(client: httpx.AsyncClient, z: int, x: int, y: int, **params: str) -> int:
    assert z < POINTS_MIN_ZOOM
    features = await tile_features(client, z, x, y, **params)
    for feature in features:
        assert set(feature.properties) == {"count"}
        assert feature.properties["count"] >= 1
    return sum(int(f.properties["count"]) for f in features)


# --- listings ---------------------------------------------------------------------------------


def item(
    point: LonLat,
    *,
    title: str = "Barnesykkel 20 tommer",
    mode: str = "give",
    category: str = "childrens-bikes",
    description: str = "",
    **extra: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "item",
        "mode": mode,
        "title": title,
        "description": description,
        "category": category,
        "location": {"type": "Point", "coordinates": list(point)},
    }
    if mode in ("sell", "rent"):
        body["price_nok"] = 100
    if mode == "rent":
        body["details"] = {"price_period": "day"}
    return body | extra


def space(point: LonLat, *, title: str = "Lagerrom til utlån", **extra: Any) -> dict[str, Any]:
    return {
        "kind": "space",
        "mode": "lend",
        "title": title,
        "location": {"type": "Point", "coordinates": list(point)},
        "details": {"space_type": "storage", "area_m2": 12},
    } | extra


def repair(point: LonLat, *, title: str = "Sykkelreparasjon", **extra: Any) -> dict[str, Any]:
    return {
        "kind": "repair_service",
        "title": title,
        "category": "bikes",
        "location": {"type": "Point", "coordinates": list(point)},
    } | extra


async def publish(
    client: httpx.AsyncClient, headers: dict[str, str], body: dict[str, Any]
) -> dict[str, Any]:
    response = await client.post("/v1/listings", json=body, headers=headers)
    assert response.status_code == 201, response.text
    doc: dict[str, Any] = response.json()
    return doc


async def public_location(client: httpx.AsyncClient, listing_id: str) -> LonLat:
    """Where everyone but the owner sees the listing."""
    response = await client.get(f"/v1/listings/{listing_id}")
    assert response.status_code == 200, response.text
    lon, lat = response.json()["location"]["coordinates"]
    return lon, lat


@dataclass(frozen=True)
class Lister:
    """A person, and an organization that person lists for (its listings are exact)."""

    person: Actor
    org_id: uuid.UUID

    async def as_person(self, client: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
        return await publish(client, self.person.headers, body)

    async def as_org(self, client: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
        return await publish(
            client, self.person.headers, body | {"organization_id": str(self.org_id)}
        )


@pytest.fixture
async def lister(session: AsyncSession, settings: Settings) -> Lister:
    person = await create_person(session, settings, display_name="Lise Lister")
    org = await create_organization(session, owner=person, name="Bruktbutikken")
    return Lister(person=person, org_id=org.id)


# Oslo: the zoom-12 tile around the city hall, and a point in its middle (in Oslo kommune).
OSLO_Z12 = (12, *tile_of(*at(PLACES["oslo_city_hall"]), 12))
OSLO_MIDDLE = tile_center(*OSLO_Z12)


# --- points from zoom 12 ----------------------------------------------------------------------


async def test_an_organizations_listing_is_one_point_at_its_exact_place_with_its_properties(
    client: httpx.AsyncClient, lister: Lister
) -> None:
    point = offset(OSLO_MIDDLE, east_m=300, north_m=-200)
    listing = await lister.as_org(client, item(point, title="Sykkel til gutt, 20 tommer"))

    for z in (POINTS_MIN_ZOOM, 15, MAX_ZOOM_ADVERTISED, MAX_ZOOM):
        x, y = tile_of(*point, z)
        features = decode(await fetch_tile(client, z, x, y), z=z, x=x, y=y)

        assert len(features) == 1
        assert features[0].properties == {
            "id": listing["id"],
            "kind": "item",
            "mode": "give",
            "category": "childrens-bikes",
            "title": "Sykkel til gutt, 20 tommer",
        }
        assert distance_m(features[0].lonlat, point) < TILE_TOLERANCE_M


async def test_a_persons_listing_is_drawn_at_its_blurred_point_never_the_exact_one(
    client: httpx.AsyncClient, lister: Lister
) -> None:
    exact = offset(OSLO_MIDDLE, east_m=-250, north_m=150)
    listing = await lister.as_person(client, item(exact))
    public = await public_location(client, listing["id"])
    assert 250 < distance_m(public, exact) < 550

    for z in (POINTS_MIN_ZOOM, 14, MAX_ZOOM_ADVERTISED):
        x, y = tile_of(*public, z)
        features = decode(await fetch_tile(client, z, x, y), z=z, x=x, y=y)

        assert [f.properties["id"] for f in features] == [listing["id"]]
        assert distance_m(features[0].lonlat, public) < TILE_TOLERANCE_M
        assert distance_m(features[0].lonlat, exact) > 250


def tiles_around(points: list[LonLat], z: int, *, reach_m: float = 600) -> set[tuple[int, int]]:
    """Every tile at zoom z within ``reach_m`` of one of the points."""
    corners = [
        offset(p, east_m=east, north_m=north)
        for p in points
        for east in (-reach_m, reach_m)
        for north in (-reach_m, reach_m)
    ]
    xs, ys = zip(*(tile_of(*c, z) for c in corners), strict=True)
    return {(x, y) for x in range(min(xs), max(xs) + 1) for y in range(min(ys), max(ys) + 1)}


PERSONS_EXACT_POINTS = [
    offset(OSLO_MIDDLE, east_m=east, north_m=north)
    for east, north in ((0, 0), (600, 400), (-700, -300), (200, -800), (-400, 700))
]


async def test_no_point_in_any_tile_lies_near_a_persons_exact_point(
    client: httpx.AsyncClient, lister: Lister
) -> None:
    for point in PERSONS_EXACT_POINTS:
        await lister.as_person(client, item(point, title="Vinterjakke str 140"))

    for z in range(POINTS_MIN_ZOOM, MAX_ZOOM_ADVERTISED + 1):
        seen = 0
        for x, y in tiles_around(PERSONS_EXACT_POINTS, z):
            # The owner asks: tiles are public and never show even the owner an exact point.
            response = await client.get(
                f"/v1/tiles/listings/{z}/{x}/{y}.mvt", headers=lister.person.headers
            )
            if response.status_code == 204:
                continue
            for feature in decode(response, z=z, x=x, y=y):
                seen += 1
                for point in PERSONS_EXACT_POINTS:
                    assert distance_m(feature.lonlat, point) > 250, (z, x, y, feature)
        # Every listing was drawn at least once (more often near tile edges, in the buffer).
        assert seen >= len(PERSONS_EXACT_POINTS), z


async def test_clusters_are_counted_and_placed_from_the_public_points_only(
    client: httpx.AsyncClient, lister: Lister
) -> None:
    """Below zoom 12 each cell's feature is its listings' mean public (blurred) position: it
    tells nothing the points at zoom 12 do not, and a single listing's cell is exactly at its
    blurred point, hundreds of metres from the exact one."""
    public = []
    for point in PERSONS_EXACT_POINTS:
        listing = await lister.as_person(client, item(point, title="Vinterjakke str 140"))
        public.append(await public_location(client, listing["id"]))

    for z in range(POINTS_MIN_ZOOM):
        total = 0
        for x, y in tiles_around(public, z):
            xmin, ymin, xmax, ymax = mercator_bounds(z, x, y)
            expected: dict[tuple[int, int], list[tuple[float, float]]] = {}
            for position in map(mercator, public):
                if xmin <= position[0] <= xmax and ymin <= position[1] <= ymax:
                    expected.setdefault(cell_of(z, x, y, position), []).append(position)
            features = await tile_features(client, z, x, y)
            unit = tile_size_m(z) / EXTENT
            means = {
                cell: (
                    sum(p[0] for p in positions) / len(positions),
                    sum(p[1] for p in positions) / len(positions),
                )
                for cell, positions in expected.items()
            }
            # A feature belongs to the cell whose listings' mean it marks. (Not the cell its
            # quantized position falls in: a mean within one tile unit of a cell's edge may be
            # rounded across it.)
            actual = {}
            for f in features:
                owners = [
                    cell
                    for cell, (mx, my) in means.items()
                    if abs(f.mercator[0] - mx) <= unit and abs(f.mercator[1] - my) <= unit
                ]
                assert len(owners) == 1, (z, x, y, f, means)
                actual[owners[0]] = f

            assert {c: len(p) for c, p in expected.items()} == {
                c: f.properties["count"] for c, f in actual.items()
            }, (z, x, y)
            for cell, positions in expected.items():
                if len(positions) == 1:
                    for point in PERSONS_EXACT_POINTS:
                        assert distance_m(actual[cell].lonlat, point) > 250, (z, cell)
            total += sum(f.properties["count"] for f in features)
        assert total == len(public), z


async def test_each_listing_in_a_tile_is_its_own_point(
    client: httpx.AsyncClient, lister: Lister
) -> None:
    ids = set()
    for i in range(6):
        point = offset(OSLO_MIDDLE, east_m=150 * i - 400, north_m=100 * i - 300)
        ids.add((await lister.as_org(client, item(point, title=f"Kokebok nummer {i}")))["id"])
    ids.add((await lister.as_person(client, item(OSLO_MIDDLE)))["id"])

    features = decode(
        await fetch_tile(client, *OSLO_Z12), z=OSLO_Z12[0], x=OSLO_Z12[1], y=OSLO_Z12[2]
    )

    assert len(features) == 7
    assert {f.properties["id"] for f in features} == ids


async def test_a_listing_near_a_tile_edge_is_also_in_the_neighbouring_tiles_buffer(
    client: httpx.AsyncClient, lister: Lister
) -> None:
    z, x, y = OSLO_Z12
    west, _ = tile_to_lonlat(z, x, y)
    east, _ = tile_to_lonlat(z, x + 1, y)
    # 1 % of the tile's width (about 50 m) inside its east edge.
    point = (east - (east - west) * 0.01, OSLO_MIDDLE[1])
    listing = await lister.as_org(client, item(point))

    own = decode(await fetch_tile(client, z, x, y), z=z, x=x, y=y)
    neighbour = decode(await fetch_tile(client, z, x + 1, y), z=z, x=x + 1, y=y)

    for features, tx in ((own, x), (neighbour, x + 1)):
        assert [f.properties["id"] for f in features] == [listing["id"]]
        assert distance_m(features[0].lonlat, point) < TILE_TOLERANCE_M, tx


# --- filters ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mix:
    """Listings of several kinds, modes, categories and titles in the Oslo tile."""

    children_bike: str
    adult_bike_for_sale: str
    cookbook_wanted: str
    repair: str
    storage: str
    person_jacket: str


async def publish_mix(client: httpx.AsyncClient, lister: Lister) -> Mix:
    def near(i: int) -> LonLat:
        return offset(OSLO_MIDDLE, east_m=200 * i - 500, north_m=-150 * i + 400)

    return Mix(
        children_bike=(
            await lister.as_org(client, item(near(0), title="Barnesykkel med støttehjul"))
        )["id"],
        adult_bike_for_sale=(
            await lister.as_org(
                client,
                item(near(1), title="Racersykkel, lite brukt", mode="sell", category="bicycles"),
            )
        )["id"],
        cookbook_wanted=(
            await lister.as_org(
                client, item(near(2), title="Ønsker meg kokebøker", mode="wanted", category="books")
            )
        )["id"],
        repair=(await lister.as_org(client, repair(near(3))))["id"],
        storage=(await lister.as_org(client, space(near(4))))["id"],
        person_jacket=(
            await lister.as_person(
                client, item(near(5), title="Vinterjakke til barn", category="childrens-clothing")
            )
        )["id"],
    )


async def test_the_kind_filter_keeps_only_that_kind(
    client: httpx.AsyncClient, lister: Lister
) -> None:
    mix = await publish_mix(client, lister)

    assert await point_ids(client, *OSLO_Z12, kind="item") == {
        mix.children_bike,
        mix.adult_bike_for_sale,
        mix.cookbook_wanted,
        mix.person_jacket,
    }
    assert await point_ids(client, *OSLO_Z12, kind="repair_service") == {mix.repair}
    assert await point_ids(client, *OSLO_Z12, kind="space") == {mix.storage}
    assert (await fetch_tile(client, *OSLO_Z12, kind="energy")).status_code == 204


async def test_the_mode_filter_keeps_only_that_mode(
    client: httpx.AsyncClient, lister: Lister
) -> None:
    mix = await publish_mix(client, lister)

    assert await point_ids(client, *OSLO_Z12, mode="give") == {mix.children_bike, mix.person_jacket}
    assert await point_ids(client, *OSLO_Z12, mode="sell") == {mix.adult_bike_for_sale}
    assert await point_ids(client, *OSLO_Z12, mode="wanted") == {mix.cookbook_wanted}
    assert await point_ids(client, *OSLO_Z12, mode="lend") == {mix.storage}
    assert (await fetch_tile(client, *OSLO_Z12, mode="rent")).status_code == 204


async def test_the_category_filter_includes_sub_categories(
    client: httpx.AsyncClient, lister: Lister
) -> None:
    mix = await publish_mix(client, lister)

    # bikes: the repair service's own category and both bike sub-categories.
    assert await point_ids(client, *OSLO_Z12, category="bikes") == {
        mix.children_bike,
        mix.adult_bike_for_sale,
        mix.repair,
    }
    assert await point_ids(client, *OSLO_Z12, category="childrens-bikes") == {mix.children_bike}
    assert await point_ids(client, *OSLO_Z12, category="books-and-media") == {mix.cookbook_wanted}
    assert (await fetch_tile(client, *OSLO_Z12, category="e-bikes")).status_code == 204


async def test_the_free_text_filter_finds_plurals_and_compounds(
    client: httpx.AsyncClient, lister: Lister
) -> None:
    mix = await publish_mix(client, lister)

    assert await point_ids(client, *OSLO_Z12, q="sykler") == {
        mix.children_bike,
        mix.adult_bike_for_sale,
    }
    assert await point_ids(client, *OSLO_Z12, q="kokebok") == {mix.cookbook_wanted}
    assert await point_ids(client, *OSLO_Z12, q="jakke") == {mix.person_jacket}
    assert (await fetch_tile(client, *OSLO_Z12, q="symaskin")).status_code == 204


async def test_filters_combine(client: httpx.AsyncClient, lister: Lister) -> None:
    mix = await publish_mix(client, lister)

    assert await point_ids(client, *OSLO_Z12, kind="item", mode="give", q="barn") == {
        mix.children_bike,
        mix.person_jacket,
    }
    assert await point_ids(client, *OSLO_Z12, category="bikes", mode="sell", q="sykkel") == {
        mix.adult_bike_for_sale
    }


async def test_the_organization_filter_keeps_only_its_listings(
    client: httpx.AsyncClient, lister: Lister, session: AsyncSession
) -> None:
    mix = await publish_mix(client, lister)
    other = await create_organization(session, owner=lister.person, name="Naboens verksted")
    theirs = await publish(
        client,
        lister.person.headers,
        item(offset(OSLO_MIDDLE, north_m=-900), organization_id=str(other.id)),
    )

    assert await point_ids(client, *OSLO_Z12, organization_id=str(other.id)) == {theirs["id"]}
    assert await point_ids(client, *OSLO_Z12, organization_id=str(lister.org_id)) == {
        mix.children_bike,
        mix.adult_bike_for_sale,
        mix.cookbook_wanted,
        mix.repair,
        mix.storage,
    }


# Zoom 7 holds Oslo, Drammen and Fredrikstad in one tile (checked in the test).
Z7 = 7


async def publish_in_three_kommuner(
    client: httpx.AsyncClient, lister: Lister
) -> dict[str, list[str]]:
    """Three listings in Oslo (0301, fylke 03), two in Drammen (3301, fylke 33), one in
    Fredrikstad (3107, fylke 31)."""
    ids: dict[str, list[str]] = {"0301": [], "3301": [], "3107": []}
    for name, n in (("oslo_city_hall", 3), ("drammen", 2), ("fredrikstad", 1)):
        place = PLACES[name]
        for i in range(n):
            point = offset(at(place), east_m=120 * i, north_m=-80 * i)
            listing = await lister.as_org(client, item(point))
            assert listing["kommune"]["number"] == place.kommunenummer
            ids[place.kommunenummer].append(listing["id"])
    return ids


async def test_the_kommune_and_fylke_filters_count_only_their_listings_in_clusters(
    client: httpx.AsyncClient, lister: Lister
) -> None:
    await publish_in_three_kommuner(client, lister)
    tile = tile_of(*at(PLACES["oslo_city_hall"]), Z7)
    assert tile_of(*at(PLACES["drammen"]), Z7) == tile
    assert tile_of(*at(PLACES["fredrikstad"]), Z7) == tile

    assert await cluster_total(client, Z7, *tile) == 6
    assert await cluster_total(client, Z7, *tile, kommune="0301") == 3
    assert await cluster_total(client, Z7, *tile, kommune="3301") == 2
    assert await cluster_total(client, Z7, *tile, fylke="33") == 2
    assert await cluster_total(client, Z7, *tile, fylke="31") == 1
    assert (await fetch_tile(client, Z7, *tile, kommune="5001")).status_code == 204


async def test_the_kommune_and_fylke_filters_keep_only_their_points(
    client: httpx.AsyncClient, lister: Lister
) -> None:
    ids = await publish_in_three_kommuner(client, lister)
    oslo = tile_of(*at(PLACES["oslo_city_hall"]), 12)
    drammen = tile_of(*at(PLACES["drammen"]), 12)

    assert await point_ids(client, 12, *oslo) == set(ids["0301"])
    assert await point_ids(client, 12, *oslo, kommune="0301") == set(ids["0301"])
    assert await point_ids(client, 12, *oslo, fylke="03") == set(ids["0301"])
    assert (await fetch_tile(client, 12, *oslo, kommune="3301")).status_code == 204
    assert (await fetch_tile(client, 12, *oslo, fylke="33")).status_code == 204
    assert await point_ids(client, 12, *drammen, kommune="3301") == set(ids["3301"])
    assert await point_ids(client, 12, *drammen, fylke="33") == set(ids["3301"])
    assert (await fetch_tile(client, 12, *drammen, kommune="0301")).status_code == 204


# --- clusters below zoom 12 -----------------------------------------------------------------


async def test_below_zoom_12_features_are_clusters_counting_every_listing(
    client: httpx.AsyncClient, lister: Lister
) -> None:
    for i in range(5):
        await lister.as_org(client, item(offset(OSLO_MIDDLE, east_m=60 * i)))
    for i in range(3):
        await lister.as_person(client, item(offset(OSLO_MIDDLE, north_m=-1000, east_m=80 * i)))

    for z in range(POINTS_MIN_ZOOM):
        x, y = tile_of(*OSLO_MIDDLE, z)
        assert await cluster_total(client, z, x, y) == 8, z


async def test_a_cluster_sits_at_its_listings_mean_position(
    client: httpx.AsyncClient, lister: Lister
) -> None:
    z = 8
    x, y = tile_of(*OSLO_MIDDLE, z)
    cell = cell_of(z, x, y, mercator(OSLO_MIDDLE))
    center = cell_center(z, x, y, (cell[0] - 1, cell[1] - 1))
    points = [offset(center, east_m=-300), offset(center, north_m=200), offset(center, east_m=600)]
    for point in points:
        await lister.as_org(client, item(point))

    features = await tile_features(client, z, x, y)

    assert len(features) == 1
    assert features[0].properties == {"count": 3}
    mean = offset(center, east_m=100, north_m=200 / 3)
    # A zoom-8 tile unit is about 19 m here.
    assert distance_m(features[0].lonlat, mean) < 20


async def test_distant_listings_fall_in_separate_cells(
    client: httpx.AsyncClient, lister: Lister
) -> None:
    await lister.as_org(client, item(at(PLACES["oslo_city_hall"])))
    await lister.as_org(client, item(at(PLACES["fredrikstad"])))
    await lister.as_org(client, item(offset(at(PLACES["fredrikstad"]), east_m=100)))
    x, y = tile_of(*at(PLACES["oslo_city_hall"]), Z7)

    features = await tile_features(client, Z7, x, y)

    assert sorted(f.properties["count"] for f in features) == [1, 2]
    by_count = {f.properties["count"]: f.lonlat for f in features}
    assert distance_m(by_count[1], at(PLACES["oslo_city_hall"])) < 1000
    assert distance_m(by_count[2], at(PLACES["fredrikstad"])) < 1000


async def test_cluster_counts_follow_the_filters(client: httpx.AsyncClient, lister: Lister) -> None:
    await publish_mix(client, lister)
    x, y = tile_of(*OSLO_MIDDLE, 10)

    assert await cluster_total(client, 10, x, y) == 6
    assert await cluster_total(client, 10, x, y, kind="item") == 4
    assert await cluster_total(client, 10, x, y, mode="give") == 2
    assert await cluster_total(client, 10, x, y, category="bikes") == 3
    assert await cluster_total(client, 10, x, y, q="sykkel") == 2
    assert await cluster_total(client, 10, x, y, kind="item", q="sykkel", mode="sell") == 1


# --- what is never shown ------------------------------------------------------------------------


async def test_an_empty_tile_is_204_without_a_body(client: httpx.AsyncClient) -> None:
    response = await fetch_tile(client, *OSLO_Z12)

    assert response.status_code == 204
    assert response.content == b""
    assert response.headers["cache-control"] == "public, max-age=60"
    assert response.headers["access-control-allow-origin"] == "*"


async def test_a_tile_elsewhere_is_204(client: httpx.AsyncClient, lister: Lister) -> None:
    await lister.as_org(client, item(OSLO_MIDDLE))
    tromso = tile_of(*at(PLACES["tromso"]), 12)

    assert (await fetch_tile(client, 12, *tromso)).status_code == 204
    assert (await fetch_tile(client, 5, *tile_of(*at(PLACES["tromso"]), 5))).status_code == 204


async def test_drafts_withdrawn_reserved_and_hidden_listings_never_appear(
    client: httpx.AsyncClient, lister: Lister, session: AsyncSession, settings: Settings
) -> None:
    moderator = await create_person(
        session, settings, display_name="Mona Moderator", roles=[PlatformRole.MODERATOR.value]
    )
    shown = await lister.as_org(client, item(offset(OSLO_MIDDLE, east_m=-600)))
    await lister.as_org(client, item(OSLO_MIDDLE, publish=False))
    await lister.as_person(client, item(offset(OSLO_MIDDLE, north_m=300), publish=False))
    withdrawn = await lister.as_org(client, item(offset(OSLO_MIDDLE, east_m=300)))
    reserved = await lister.as_person(client, item(offset(OSLO_MIDDLE, east_m=600)))
    hidden = await lister.as_org(client, item(offset(OSLO_MIDDLE, north_m=-300)))
    for listing_id, action in ((withdrawn["id"], "withdraw"), (reserved["id"], "reserve")):
        response = await client.post(
            f"/v1/listings/{listing_id}/{action}", headers=lister.person.headers
        )
        assert response.status_code == 200, response.text
    response = await client.post(
        f"/v1/listings/{hidden['id']}/hide",
        json={"reason": "Dobbeltpublisert"},
        headers=moderator.headers,
    )
    assert response.status_code == 200, response.text

    assert await point_ids(client, *OSLO_Z12) == {shown["id"]}
    for z in (5, 9, 11):
        assert await cluster_total(client, z, *tile_of(*OSLO_MIDDLE, z)) == 1


async def test_an_expired_item_disappears_from_tiles_even_before_the_tick(
    client: httpx.AsyncClient, lister: Lister, app: FastAPI, settings: Settings
) -> None:
    listing = await lister.as_org(client, item(OSLO_MIDDLE))
    expires_at = datetime.fromisoformat(listing["expires_at"])
    assert expires_at <= datetime.now(UTC) + timedelta(days=settings.listings.item_ttl_days + 1)

    app.dependency_overrides[utcnow] = lambda: expires_at - timedelta(minutes=1)
    assert await point_ids(client, *OSLO_Z12) == {listing["id"]}
    app.dependency_overrides[utcnow] = lambda: expires_at + timedelta(minutes=1)
    assert (await fetch_tile(client, *OSLO_Z12)).status_code == 204
    assert (await fetch_tile(client, 6, *tile_of(*OSLO_MIDDLE, 6))).status_code == 204


# --- caching and CORS -------------------------------------------------------------------------


async def test_a_tile_has_an_etag_cache_control_and_cors(
    client: httpx.AsyncClient, lister: Lister
) -> None:
    await lister.as_org(client, item(OSLO_MIDDLE))

    response = await fetch_tile(client, *OSLO_Z12)

    assert response.status_code == 200
    etag = response.headers["etag"]
    assert len(etag) > 2
    assert etag[0] == etag[-1] == '"'
    assert response.headers["cache-control"] == "public, max-age=60"
    assert response.headers["access-control-allow-origin"] == "*"
    # The same tile gives the same validator.
    assert (await fetch_tile(client, *OSLO_Z12)).headers["etag"] == etag


async def test_if_none_match_with_the_current_etag_gives_304(
    client: httpx.AsyncClient, lister: Lister
) -> None:
    await lister.as_org(client, item(OSLO_MIDDLE))
    path = "/v1/tiles/listings/{}/{}/{}.mvt".format(*OSLO_Z12)
    etag = (await client.get(path)).headers["etag"]

    for header in (etag, f'"other", {etag}', f"W/{etag}", "*"):
        response = await client.get(path, headers={"If-None-Match": header})

        assert response.status_code == 304, header
        assert response.content == b""
        assert response.headers["etag"] == etag
        assert response.headers["cache-control"] == "public, max-age=60"
        assert response.headers["access-control-allow-origin"] == "*"


async def test_if_none_match_with_an_old_etag_gives_the_new_tile(
    client: httpx.AsyncClient, lister: Lister
) -> None:
    await lister.as_org(client, item(OSLO_MIDDLE))
    path = "/v1/tiles/listings/{}/{}/{}.mvt".format(*OSLO_Z12)
    old = (await client.get(path)).headers["etag"]
    added = await lister.as_org(client, item(offset(OSLO_MIDDLE, east_m=200), title="Kokebok"))

    response = await client.get(path, headers={"If-None-Match": old})

    assert response.status_code == 200
    assert response.headers["etag"] != old
    assert added["id"] in {
        f.properties["id"] for f in decode(response, z=12, x=OSLO_Z12[1], y=OSLO_Z12[2])
    }


async def test_filters_change_the_etag(client: httpx.AsyncClient, lister: Lister) -> None:
    await publish_mix(client, lister)

    all_listings = await fetch_tile(client, *OSLO_Z12)
    items = await fetch_tile(client, *OSLO_Z12, kind="item")

    assert all_listings.headers["etag"] != items.headers["etag"]


# --- impossible tiles and unknown filters -------------------------------------------------------


@pytest.mark.parametrize(
    ("z", "x", "y"),
    [(0, 1, 0), (0, 0, 1), (1, 2, 0), (12, 4096, 1000), (12, 1000, 4096), (22, 2**22, 0)],
)
async def test_a_column_or_row_beyond_the_zoom_is_invalid_tile(
    client: httpx.AsyncClient, z: int, x: int, y: int
) -> None:
    response = await fetch_tile(client, z, x, y)

    body = assert_problem(response, 422, "invalid_tile")
    assert str(2**z - 1) in body["detail"]


async def test_the_last_column_and_row_of_a_zoom_are_valid(client: httpx.AsyncClient) -> None:
    for z in (0, 1, 12, MAX_ZOOM):
        assert (await fetch_tile(client, z, 2**z - 1, 2**z - 1)).status_code == 204


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("23/0/0", "z"),
        ("30/1/1", "z"),
        ("-1/0/0", "z"),
        ("5/-1/0", "x"),
        ("5/0/-3", "y"),
        ("abc/0/0", "z"),
        ("5/x/0", "x"),
        ("5/0/y", "y"),
        ("5.5/0/0", "z"),
        ("5/0/1e2", "y"),
    ],
)
async def test_an_impossible_zoom_or_a_non_number_is_validation_failed(
    client: httpx.AsyncClient, path: str, field: str
) -> None:
    response = await client.get(f"/v1/tiles/listings/{path}.mvt")

    body = assert_problem(response, 422, "validation_failed")
    assert [(e["location"], e["field"]) for e in body["errors"]] == [("path", field)]


@pytest.mark.parametrize(
    ("params", "code", "field"),
    [
        ({"kommune": "9999"}, "unknown_kommune", "kommune"),
        ({"fylke": "99"}, "unknown_fylke", "fylke"),
        ({"category": "spaceships"}, "unknown_category", "category"),
    ],
)
@pytest.mark.parametrize("z", [POINTS_MIN_ZOOM, 6])
async def test_an_unknown_kommune_fylke_or_category_in_a_tile_is_a_problem(
    client: httpx.AsyncClient, params: dict[str, str], code: str, field: str, z: int
) -> None:
    x, y = tile_of(*OSLO_MIDDLE, z)

    response = await fetch_tile(client, z, x, y, **params)

    body = assert_problem(response, 422, code)
    assert [e["field"] for e in body["errors"]] == [field]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"kind": "spaceship"}, "kind"),
        ({"mode": "steal"}, "mode"),
        ({"kommune": "301"}, "kommune"),
        ({"fylke": "3"}, "fylke"),
        ({"category": "Not A Slug"}, "category"),
        ({"organization_id": "not-a-uuid"}, "organization_id"),
        ({"q": ""}, "q"),
    ],
)
async def test_a_malformed_tile_filter_is_validation_failed(
    client: httpx.AsyncClient, params: dict[str, str], field: str
) -> None:
    z, x, y = OSLO_Z12
    response = await fetch_tile(client, z, x, y, **params)

    body = assert_problem(response, 422, "validation_failed")
    assert [e["field"] for e in body["errors"]] == [field]


# --- TileJSON -------------------------------------------------------------------------------


async def test_tilejson_describes_the_tiles(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/tiles/listings.json")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["cache-control"] == "public, max-age=60"
    doc = response.json()
    assert doc["tilejson"] == "3.0.0"
    assert doc["tiles"] == ["http://testserver/v1/tiles/listings/{z}/{x}/{y}.mvt"]
    assert doc["scheme"] == "xyz"
    assert tuple(doc["bounds"]) == NORWAY_BBOX
    assert doc["minzoom"] == 0
    assert doc["maxzoom"] == MAX_ZOOM_ADVERTISED
    lon, lat, zoom = doc["center"]
    assert NORWAY_BBOX[0] <= lon <= NORWAY_BBOX[2]
    assert NORWAY_BBOX[1] <= lat <= NORWAY_BBOX[3]
    assert doc["minzoom"] <= zoom <= doc["maxzoom"]
    [layer] = doc["vector_layers"]
    assert layer["id"] == "listings"
    assert set(layer["fields"]) == {"id", "kind", "mode", "category", "title", "count"}
    assert all(isinstance(v, str) and v for v in layer["fields"].values())
    assert layer["minzoom"] == 0
    assert layer["maxzoom"] == MAX_ZOOM_ADVERTISED


async def test_tilejson_carries_the_filters_into_the_tile_url(client: httpx.AsyncClient) -> None:
    params = {"kind": "item", "category": "bikes", "q": "barne sykkel", "kommune": "0301"}

    response = await client.get("/v1/tiles/listings.json", params=params)

    [url] = response.json()["tiles"]
    parts = urlsplit(url)
    assert parts.path == "/v1/tiles/listings/{z}/{x}/{y}.mvt"
    assert {k: v for k, [v] in parse_qs(parts.query).items()} == params


async def test_the_tilejson_url_serves_the_filtered_tiles(
    client: httpx.AsyncClient, lister: Lister
) -> None:
    mix = await publish_mix(client, lister)
    doc = (await client.get("/v1/tiles/listings.json", params={"mode": "sell"})).json()
    z, x, y = OSLO_Z12

    url = doc["tiles"][0].replace("{z}", str(z)).replace("{x}", str(x)).replace("{y}", str(y))
    response = await client.get(url)

    assert {f.properties["id"] for f in decode(response, z=z, x=x, y=y)} == {
        mix.adult_bike_for_sale
    }


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"kommune": "9999"}, "unknown_kommune"),
        ({"fylke": "99"}, "unknown_fylke"),
        ({"category": "spaceships"}, "unknown_category"),
        ({"kind": "spaceship"}, "validation_failed"),
    ],
)
async def test_tilejson_refuses_unknown_filters(
    client: httpx.AsyncClient, params: dict[str, str], code: str
) -> None:
    response = await client.get("/v1/tiles/listings.json", params=params)

    assert_problem(response, 422, code)


async def test_tile_errors_carry_cors_too(client: httpx.AsyncClient) -> None:
    """A map on another site must be able to read why a tile failed."""
    for path in ("/v1/tiles/listings/3/8/0.mvt", "/v1/tiles/listings.json?kommune=9999"):
        response = await client.get(path, headers={"Origin": "https://www.bergen.kommune.no"})
        assert response.status_code == 422
        assert response.headers["access-control-allow-origin"] == "*"
    # Every public read is open to other sites in the same way; writes are not.
    listings = await client.get("/v1/listings", headers={"Origin": "https://example.org"})
    assert listings.headers["access-control-allow-origin"] == "*"
    write = await client.post("/v1/listings", json={}, headers={"Origin": "https://example.org"})
    assert "access-control-allow-origin" not in write.headers
