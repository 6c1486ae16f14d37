"""GET /v1/geo/lookup — placing points in kommuner through the HTTP API."""

from __future__ import annotations

import httpx
import pytest

from tests.places import OPEN_SEA, PLACES, STOCKHOLM, TRAENA_OFFSHORE, Place


@pytest.mark.parametrize("name", sorted(PLACES))
async def test_verified_points_land_in_their_kommune(client: httpx.AsyncClient, name: str) -> None:
    place: Place = PLACES[name]
    response = await client.get("/v1/geo/lookup", params={"lat": place.lat, "lon": place.lon})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["kommune"]["number"] == place.kommunenummer
    assert body["fylke"]["number"] == place.fylkesnummer
    assert body["match"] == "inside"
    assert body["distance_m"] == 0
    assert (body["lat"], body["lon"]) == (place.lat, place.lon)


async def test_lookup_returns_official_and_short_names(client: httpx.AsyncClient) -> None:
    place = PLACES["trondheim_torvet"]
    body = (await client.get("/v1/geo/lookup", params={"lat": place.lat, "lon": place.lon})).json()
    assert body["kommune"] == {
        "number": "5001",
        "name": "Trondheim - Tråante",
        "short_name": "Trondheim",
    }
    assert body["fylke"]["short_name"] == "Trøndelag"


async def test_point_just_off_the_coast_falls_back_to_nearest_kommune(
    client: httpx.AsyncClient,
) -> None:
    place = TRAENA_OFFSHORE
    response = await client.get("/v1/geo/lookup", params={"lat": place.lat, "lon": place.lon})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["kommune"]["number"] == "1835"
    assert body["match"] == "nearest"
    assert 0 < body["distance_m"] < 200


@pytest.mark.parametrize(("lat", "lon"), [OPEN_SEA, STOCKHOLM, (0.0, 0.0), (-45.0, 170.0)])
async def test_points_far_from_norway_are_outside_norway(
    client: httpx.AsyncClient, lat: float, lon: float
) -> None:
    response = await client.get("/v1/geo/lookup", params={"lat": lat, "lon": lon})
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "outside_norway"
    assert body["type"] == "/problems/outside_norway"
    assert body["status"] == 404
    assert body["instance"] == "/v1/geo/lookup"
    assert "5 km" in body["detail"]


@pytest.mark.parametrize(
    ("params", "field", "error_type"),
    [
        ({"lon": 10.0}, "lat", "missing"),
        ({"lat": 60.0}, "lon", "missing"),
        ({"lat": "north", "lon": 10.0}, "lat", "float_parsing"),
        ({"lat": 91, "lon": 10.0}, "lat", "less_than_equal"),
        ({"lat": -90.5, "lon": 10.0}, "lat", "greater_than_equal"),
        ({"lat": 60.0, "lon": 180.01}, "lon", "less_than_equal"),
        ({"lat": "nan", "lon": 10.0}, "lat", "finite_number"),
        ({"lat": 60.0, "lon": "inf"}, "lon", "finite_number"),
    ],
)
async def test_bad_coordinates_are_422_with_the_field(
    client: httpx.AsyncClient, params: dict[str, str | int | float], field: str, error_type: str
) -> None:
    response = await client.get("/v1/geo/lookup", params=params)
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_failed"
    matching = [e for e in body["errors"] if e["field"] == field]
    assert len(matching) == 1
    assert matching[0]["location"] == "query"
    assert matching[0]["type"] == error_type
    assert matching[0]["message"]
