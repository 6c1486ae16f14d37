"""OGC API - Features at /ogc: the documents a client walks, paging with next links, bbox,
single features, refusals — and GDAL's OAPIF driver (what QGIS uses) reading every page."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from openapi_spec_validator import validate
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.config import DatabaseSettings, Settings
from app.main import create_app
from tests.api.test_initiatives import create_initiative
from tests.api.test_repairs import BERGEN_POINT, NOW, OSLO_POINT, create_event, set_clock
from tests.factories import create_listing, create_organization, create_person
from tests.live_server import serve
from tests.places import PLACES
from tests.problems import assert_problem

OSLO = (PLACES["oslo_city_hall"].lat, PLACES["oslo_city_hall"].lon)
# Skips without GDAL's tools — except where SIRKEL_REQUIRE_CHROMIUM=1 (.ci/run, which has
# scripts/dev.sh test-packages install them): there a missing ogr2ogr fails.
needs_gdal = pytest.mark.skipif(
    shutil.which("ogr2ogr") is None and os.environ.get("SIRKEL_REQUIRE_CHROMIUM") != "1",
    reason="GDAL's tools are not installed (gdal-bin; scripts/dev.sh test-packages installs it)",
)


async def walk(client: httpx.AsyncClient, url: str) -> list[dict[str, Any]]:
    """Every feature, following next links."""
    features: list[dict[str, Any]] = []
    while url:
        response = await client.get(url)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/geo+json")
        page = response.json()
        assert page["numberReturned"] == len(page["features"])
        features.extend(page["features"])
        url = next((link["href"] for link in page["links"] if link["rel"] == "next"), "")
    return features


async def test_the_documents_a_client_walks(client: httpx.AsyncClient) -> None:
    landing = (await client.get("/ogc")).json()
    rels = {link["rel"]: link["href"] for link in landing["links"]}
    assert {"self", "service-desc", "conformance", "data"} <= set(rels)
    conformance = (await client.get("/ogc/conformance")).json()
    assert (
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in (conformance["conformsTo"])
    )
    collections = (await client.get("/ogc/collections")).json()["collections"]
    assert [c["id"] for c in collections] == [
        "listings",
        "repair-events",
        "initiatives",
        "kommuner",
        "fylker",
    ]
    one = (await client.get("/ogc/collections/kommuner")).json()
    assert one["extent"]["spatial"]["bbox"][0][0] == 4.0
    assert any(link["rel"] == "items" for link in one["links"])


async def test_kommuner_page_through_with_number_matched(client: httpx.AsyncClient) -> None:
    first = (await client.get("/ogc/collections/kommuner/items", params={"limit": 100})).json()
    assert first["numberMatched"] == 357
    features = await walk(client, "/ogc/collections/kommuner/items?limit=100")
    assert len(features) == 357
    assert len({f["id"] for f in features}) == 357
    oslo_box = "10.6,59.85,10.9,59.97"
    near = await walk(client, f"/ogc/collections/kommuner/items?bbox={oslo_box}&limit=50")
    assert "0301" in {f["id"] for f in near}
    assert len(near) < 20
    fylke = (await client.get("/ogc/collections/fylker/items/46")).json()
    assert fylke["type"] == "Feature"
    assert fylke["properties"]["name"] == "Vestland"


async def test_listings_page_with_cursors_and_stay_blurred(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    owner = await create_person(session, settings)
    made = [
        await create_listing(session, at=OSLO, person=owner, title=f"Ting {i}") for i in range(5)
    ]
    features = await walk(client, "/ogc/collections/listings/items?limit=2")
    assert {str(m.id) for m in made} <= {f["id"] for f in features}
    one = (await client.get(f"/ogc/collections/listings/items/{made[0].id}")).json()
    lon, lat = one["geometry"]["coordinates"]
    assert (round(lat, 4), round(lon, 4)) != (round(OSLO[0], 4), round(OSLO[1], 4))
    assert one["properties"]["title"] == "Ting 0"


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/ogc/collections/boats", 404, "not_found"),
        ("/ogc/collections/boats/items", 404, "not_found"),
        ("/ogc/collections/kommuner/items/9999", 404, "kommune_not_found"),
        ("/ogc/collections/listings/items/not-a-uuid", 404, "listing_not_found"),
        ("/ogc/collections/kommuner/items?limit=10001", 422, "validation_failed"),
        ("/ogc/collections/kommuner/items?bbox=1,2,3", 422, "invalid_input"),
        ("/ogc/collections/kommuner/items?datetime=2025-01-01", 422, "invalid_input"),
    ],
)
async def test_refusals(client: httpx.AsyncClient, path: str, status: int, code: str) -> None:
    assert_problem(await client.get(path), status, code)


@pytest.fixture
def served(settings: Settings, committed_database_url: str) -> Iterator[str]:
    """The app on a real port, on the committed database (GDAL needs HTTP)."""
    database = DatabaseSettings(url=committed_database_url, pool_size=5)  # type: ignore[arg-type]
    app = create_app(settings.model_copy(update={"database": database}))
    with serve(app, linger_s=1.5) as url:
        yield url


async def _gdal(*args: str) -> str:
    process = await asyncio.create_subprocess_exec(
        *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 0, err.decode(errors="replace")
    return out.decode()


@needs_gdal
async def test_gdal_reads_every_page_into_a_geopackage(
    served: str, committed_engine: AsyncEngine, settings: Settings, tmp_path: Path
) -> None:
    async with AsyncSession(committed_engine, expire_on_commit=False) as session:
        owner = await create_person(session, settings)
        for i in range(25):
            await create_listing(session, at=OSLO, person=owner, title=f"Sofa {i}")
        await session.commit()
    async with httpx.AsyncClient(base_url=served) as over_http:
        expected = len(await walk(over_http, "/ogc/collections/listings/items?limit=100"))
    assert expected >= 25
    layers = await _gdal("ogrinfo", "-ro", "-q", f"OAPIF:{served}/ogc")
    assert "listings" in layers
    assert "kommuner" in layers
    target = tmp_path / "sirkel.gpkg"
    # A small page size, so that GDAL must follow the next links.
    await _gdal(
        "ogr2ogr",
        "-f",
        "GPKG",
        str(target),
        f"OAPIF:{served}/ogc",
        "listings",
        "-oo",
        "PAGE_SIZE=7",
    )
    summary = await _gdal("ogrinfo", "-so", str(target), "listings")
    count = int(re.search(r"Feature Count: (\d+)", summary).group(1))  # type: ignore[union-attr]
    assert count == expected


# --- repair events --------------------------------------------------------------------------


@pytest.fixture
async def events(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> dict[str, str]:
    """Four events in Oslo (1, 3, 5 and 7 December) and one in Bergen (2 December), 17-20."""
    set_clock(app, NOW)
    owner = await create_person(session, settings)
    cafe = await create_organization(session, owner=owner)
    start = datetime(2026, 12, 1, 17, tzinfo=UTC)
    made: dict[str, str] = {}
    for name, day, point in (
        ("oslo_1", 0, OSLO_POINT),
        ("bergen_2", 1, BERGEN_POINT),
        ("oslo_3", 2, OSLO_POINT),
        ("oslo_5", 4, OSLO_POINT),
        ("oslo_7", 6, OSLO_POINT),
    ):
        begins = start + timedelta(days=day)
        body = await create_event(
            client,
            owner,
            cafe,
            starts_at=begins.isoformat(),
            ends_at=(begins + timedelta(hours=3)).isoformat(),
            location=point,
        )
        made[name] = body["id"]
    return made


async def test_repair_events_by_time_place_and_page(
    client: httpx.AsyncClient, events: dict[str, str]
) -> None:
    collections = (await client.get("/ogc/collections")).json()["collections"]
    assert "repair-events" in [c["id"] for c in collections]
    every = await walk(client, "/ogc/collections/repair-events/items?limit=2")
    ids = [f["id"] for f in every]
    assert ids[:5] == [events[n] for n in ("oslo_1", "bergen_2", "oslo_3", "oslo_5", "oslo_7")]
    first = every[0]
    assert first["geometry"] == OSLO_POINT
    assert first["properties"]["starts_at"].startswith("2026-12-01T17:00:00")
    assert first["properties"]["kommunenummer"] == "0301"

    async def selected(**params: str) -> list[str]:
        page = await client.get("/ogc/collections/repair-events/items", params=params)
        assert page.status_code == 200, page.text
        assert page.headers["content-type"] == "application/geo+json"
        return [f["id"] for f in page.json()["features"]]

    week = [events[n] for n in ("oslo_1", "bergen_2", "oslo_3", "oslo_5", "oslo_7")]
    assert await selected(datetime="2026-12-03") == [events["oslo_3"]]
    assert await selected(datetime="2026-12-03T17:00:00Z") == [events["oslo_3"]]
    assert await selected(datetime="2026-12-02/2026-12-05") == week[1:4]
    assert await selected(datetime="2026-12-05T00:00:00+01:00/..") == week[3:]
    assert await selected(datetime="../2026-12-01T17:00:00Z") == week[:1]
    assert await selected(bbox="5,60,6,61") == [events["bergen_2"]]
    assert await selected(bbox="10,59,11,60.5", datetime="2026-12-04/..") == week[3:]
    one = await client.get(f"/ogc/collections/repair-events/items/{events['bergen_2']}")
    assert one.status_code == 200
    assert one.json()["geometry"] == BERGEN_POINT


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/ogc/collections/repair-events/items?datetime=yesterday", "invalid_input"),
        ("/ogc/collections/repair-events/items?datetime=2026-12-01T17:00:00", "invalid_input"),
        ("/ogc/collections/repair-events/items?datetime=../..", "invalid_input"),
        ("/ogc/collections/repair-events/items?datetime=2026-12-05/2026-12-01", "invalid_input"),
        ("/ogc/collections/fylker/items?datetime=2026-12-01/..", "invalid_input"),
        ("/ogc/collections/listings/items?datetime=last+week", "invalid_input"),
        ("/ogc/collections/repair-events/items?cursor=nonsense", "invalid_cursor"),
    ],
)
async def test_repair_event_refusals(client: httpx.AsyncClient, path: str, code: str) -> None:
    assert_problem(await client.get(path), 422, code)


async def test_an_unknown_repair_event_is_404(client: httpx.AsyncClient) -> None:
    for feature_id in ("not-a-uuid", "6a1e2c4b-8d7f-4e3a-b1c2-9f8e7d6c5b4a"):
        response = await client.get(f"/ogc/collections/repair-events/items/{feature_id}")
        assert_problem(response, 404, "repair_event_not_found")


# --- HTML -------------------------------------------------------------------------------------


BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


async def test_a_browser_reads_the_ogc_api_as_pages(client: httpx.AsyncClient) -> None:
    conformance = (await client.get("/ogc/conformance", params={"f": "json"})).json()
    assert (
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html" in conformance["conformsTo"]
    )
    landing = await client.get("/ogc", headers={"Accept": BROWSER})
    assert landing.status_code == 200
    assert landing.headers["content-type"] == "text/html; charset=utf-8"
    assert "script-src" not in landing.headers["content-security-policy"]
    assert "<script" not in landing.text
    assert 'href="http://testserver/ogc/collections?f=html"' in landing.text
    # The same URL as JSON for GIS tools, whatever else they accept.
    for accept in ("application/json", "*/*", ""):
        as_json = await client.get("/ogc", headers={"Accept": accept})
        assert as_json.headers["content-type"] == "application/json", accept
    collections = await client.get("/ogc/collections", params={"f": "html"})
    assert 'href="http://testserver/ogc/collections/kommuner?f=html"' in collections.text
    page = await client.get("/ogc/collections/kommuner/items", params={"f": "html", "limit": 5})
    assert page.status_code == 200
    rows = re.findall(r'<th scope="row"><a href="([^"]+)">(\d{4})</a></th>', page.text)
    assert [number for _, number in rows] == ["0301", "1101", "1103", "1106", "1108"]
    assert rows[0][0] == "http://testserver/ogc/collections/kommuner/items/0301?f=html"
    assert "f=json" in page.text  # the same page as GeoJSON
    one = await client.get(rows[0][0])
    assert one.status_code == 200
    assert "<dt>short_name</dt><dd>Oslo</dd>" in one.text
    geojson = await client.get("/ogc/collections/kommuner/items/0301", params={"f": "json"})
    assert geojson.headers["content-type"] == "application/geo+json"


async def test_page_text_is_escaped(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    owner = await create_person(session, settings)
    await create_listing(session, at=OSLO, person=owner, title="<script>alert(1)</script>")
    page = await client.get("/ogc/collections/listings/items", params={"f": "html"})
    assert page.status_code == 200
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


async def test_an_unknown_format_is_422(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/ogc", params={"f": "xml"}), 422, "validation_failed")


# --- initiatives ------------------------------------------------------------------------------


async def test_initiatives_are_shaped_as_their_kommuner_and_found_by_time_and_place(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    owner = await create_person(session, settings)
    org = await create_organization(session, owner=owner)
    oslo_2027 = await create_initiative(client, owner, org)
    bergen_2026 = await create_initiative(
        client,
        owner,
        org,
        name="Reparasjonskafé Bergen",
        kind="repair_cafe_series",
        starts_on="2026-03-01",
        ends_on="2026-06-30",
        kommuner=["4601", "4631"],
    )

    async def found(**params: str) -> list[str]:
        page = await client.get("/ogc/collections/initiatives/items", params=params)
        assert page.status_code == 200, page.text
        return [f["id"] for f in page.json()["features"]]

    ours = {oslo_2027["id"], bergen_2026["id"]}
    assert set(await found()) >= ours
    assert set(await found(datetime="2026-05-01")) & ours == {bergen_2026["id"]}
    assert set(await found(datetime="2026-07-01/..")) & ours == {oslo_2027["id"]}
    assert set(await found(datetime="2026-06-30/2027-01-01")) & ours == ours
    assert set(await found(datetime="../2026-02-28")) & ours == set()
    assert set(await found(bbox="5,60,6,61")) & ours == {bergen_2026["id"]}
    one = await client.get(f"/ogc/collections/initiatives/items/{bergen_2026['id']}")
    assert one.status_code == 200
    feature = one.json()
    assert feature["geometry"]["type"] in ("Polygon", "MultiPolygon")
    assert feature["properties"]["name"] == "Reparasjonskafé Bergen"
    assert feature["properties"]["kommuner"] == "4601, 4631"
    assert (feature["properties"]["starts_on"], feature["properties"]["ends_on"]) == (
        "2026-03-01",
        "2026-06-30",
    )
    missing = await client.get(
        "/ogc/collections/initiatives/items/6a1e2c4b-8d7f-4e3a-b1c2-9f8e7d6c5b4a"
    )
    assert_problem(missing, 404, "initiative_not_found")


async def test_listings_by_when_they_were_published(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    owner = await create_person(session, settings)
    made = {}
    for day in (1, 3, 5):
        listing = await create_listing(
            session,
            at=OSLO,
            person=owner,
            title=f"Publisert {day}. desember",
            published_at=datetime(2026, 12, day, 12, tzinfo=UTC),
            expires_at=datetime(2027, 6, 1, tzinfo=UTC),
        )
        made[day] = str(listing.id)

    async def found(value: str) -> set[str]:
        page = await client.get(
            "/ogc/collections/listings/items", params={"datetime": value, "limit": 1000}
        )
        assert page.status_code == 200, page.text
        return {f["id"] for f in page.json()["features"]} & set(made.values())

    assert await found("2026-12-03") == {made[3]}
    assert await found("2026-12-02/..") == {made[3], made[5]}
    assert await found("../2026-12-03") == {made[1], made[3]}
    assert await found("2026-12-01T12:00:00Z") == {made[1]}


async def test_area_pages_link_back(client: httpx.AsyncClient) -> None:
    first = (await client.get("/ogc/collections/fylker/items", params={"limit": 5})).json()
    assert "prev" not in {link["rel"] for link in first["links"]}
    second = (
        await client.get("/ogc/collections/fylker/items", params={"limit": 5, "offset": 5})
    ).json()
    prev = next(link["href"] for link in second["links"] if link["rel"] == "prev")
    back = (await client.get(prev)).json()
    assert [f["id"] for f in back["features"]] == [f["id"] for f in first["features"]]


async def test_the_ogc_api_has_an_openapi_30_definition(client: httpx.AsyncClient) -> None:
    landing = (await client.get("/ogc")).json()
    described = [link for link in landing["links"] if link["rel"] == "service-desc"]
    oas30 = next(link for link in described if link["type"].endswith("version=3.0"))
    response = await client.get(oas30["href"])
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.oai.openapi+json;version=3.0"
    document = response.json()
    validate(document)  # OpenAPI 3.0.3, as openapi-spec-validator reads it
    assert document["openapi"] == "3.0.3"
    assert document["servers"] == [{"url": "http://testserver/ogc"}]
    # Every path it names answers.
    for path in document["paths"]:
        url = "/ogc" + path.rstrip("/").replace("{collectionId}", "kommuner").replace(
            "{featureId}", "0301"
        )
        assert (await client.get(url)).status_code == 200, url
    conformance = (await client.get("/ogc/conformance")).json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30" in conformance
