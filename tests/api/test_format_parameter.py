"""``?f=`` where a client cannot set ``Accept``: a plain URL gives GeoJSON to GDAL and
browsers, CSV to a spreadsheet; an unknown format is a 422 that names the parameter."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from tests.factories import create_listing, create_person
from tests.places import PLACES
from tests.problems import assert_problem

OSLO = (PLACES["oslo_city_hall"].lat, PLACES["oslo_city_hall"].lon)


async def test_listings_as_geojson_from_a_plain_url(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    owner = await create_person(session, settings)
    listing = await create_listing(session, at=OSLO, person=owner)
    response = await client.get("/v1/listings?kommune=0301&f=geojson")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/geo+json")
    body = response.json()
    assert body["type"] == "FeatureCollection"
    assert str(listing.id) in {f["id"] for f in body["features"]}
    # A browser's Accept (wildcards only) does not override f.
    browser = "text/html,application/xhtml+xml,*/*;q=0.8"
    same = await client.get("/v1/listings?kommune=0301&f=geojson", headers={"Accept": browser})
    assert same.headers["content-type"].startswith("application/geo+json")
    # An Accept that names a type wins.
    named = await client.get(
        "/v1/listings?kommune=0301&f=geojson", headers={"Accept": "application/json"}
    )
    assert named.headers["content-type"].startswith("application/json")
    assert "items" in named.json()


@pytest.mark.parametrize("path", ["/v1/kommuner/0301", "/v1/fylker/03"])
async def test_reference_areas_as_geojson(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path, params={"f": "geojson"})
    assert response.status_code == 200
    assert response.json()["type"] == "Feature"
    plain = await client.get(path, params={"f": "json"})
    assert "type" not in plain.json() or plain.json()["type"] != "Feature"


async def test_impact_as_csv_from_a_plain_url(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/impact", params={"indicator": "sg1.repairs.count", "f": "csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")


@pytest.mark.parametrize(
    "path",
    [
        "/v1/listings?f=xml",
        "/v1/kommuner/0301?f=csv",
        "/v1/impact?indicator=sg1.repairs.count&f=geojson",
    ],
)
async def test_an_unknown_format_is_422(client: httpx.AsyncClient, path: str) -> None:
    problem = assert_problem(await client.get(path), 422, "validation_failed")
    assert problem["errors"][0]["field"] == "f"
