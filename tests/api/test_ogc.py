"""OGC API - Features at /ogc: the documents a client walks, paging with next links, bbox,
single features, refusals — and GDAL's OAPIF driver (what QGIS uses) reading every page."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.config import DatabaseSettings, Settings
from app.main import create_app
from tests.factories import create_listing, create_person
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
    assert [c["id"] for c in collections] == ["listings", "kommuner", "fylker"]
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
        ("/ogc/collections/listings/items?datetime=2025-01-01", 422, "invalid_input"),
    ],
)
async def test_refusals(client: httpx.AsyncClient, path: str, status: int, code: str) -> None:
    assert_problem(await client.get(path), status, code)


@pytest.fixture
def served(settings: Settings, committed_database_url: str) -> Iterator[str]:
    """The app on a real port, on the committed database (GDAL needs HTTP)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    database = DatabaseSettings(url=committed_database_url, pool_size=5)  # type: ignore[arg-type]
    app = create_app(settings.model_copy(update={"database": database}))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        threading.Event().wait(0.05)
    yield f"http://127.0.0.1:{port}"
    threading.Event().wait(1.5)
    server.should_exit = True
    thread.join(timeout=10)


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
