"""/v1/kommuner and /v1/fylker."""

from __future__ import annotations

import httpx
import pytest


async def test_all_357_kommuner_page_by_page_without_gaps(client: httpx.AsyncClient) -> None:
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, str | int] = {"limit": 100}
        if cursor:
            params["cursor"] = cursor
        response = await client.get("/v1/kommuner", params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        seen += [k["kommunenummer"] for k in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 4
    assert len(seen) == 357
    assert seen == sorted(set(seen))


async def test_kommuner_carry_fylke_and_population(client: httpx.AsyncClient) -> None:
    body = (await client.get("/v1/kommuner", params={"fylke": "03"})).json()
    assert body["next_cursor"] is None
    assert body["items"] == [
        {
            "kommunenummer": "0301",
            "name": "Oslo",
            "short_name": "Oslo",
            "fylkesnummer": "03",
            "fylke_name": "Oslo",
            "population": 717710,
            "population_year": 2024,
            "area_km2": pytest.approx(453, abs=5),
        }
    ]


async def test_population_of_all_kommuner_adds_up_to_norway_2024(
    client: httpx.AsyncClient,
) -> None:
    body = (await client.get("/v1/kommuner", params={"limit": 500})).json()
    assert len(body["items"]) == 357
    # SSB: 5,550,203 inhabitants on 1 January 2024.
    assert sum(k["population"] for k in body["items"]) == 5_550_203


async def test_fylke_filter_returns_only_that_fylke(client: httpx.AsyncClient) -> None:
    body = (await client.get("/v1/kommuner", params={"fylke": "50", "limit": 500})).json()
    numbers = [k["kommunenummer"] for k in body["items"]]
    assert "5001" in numbers
    assert all(n.startswith("50") for n in numbers)
    assert len(numbers) == 38  # Trøndelag, 2024


async def test_unknown_fylke_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/kommuner", params={"fylke": "99"})
    assert response.status_code == 404
    assert response.json()["code"] == "fylke_not_found"


@pytest.mark.parametrize(
    ("params", "field"),
    [({"fylke": "3"}, "fylke"), ({"limit": 0}, "limit"), ({"limit": 501}, "limit")],
)
async def test_bad_list_parameters_are_422(
    client: httpx.AsyncClient, params: dict[str, str | int | float], field: str
) -> None:
    response = await client.get("/v1/kommuner", params=params)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == [field]


@pytest.mark.parametrize("cursor", ["not-a-cursor", "eyJ4IjoxfQ", "W10", "%%%"])
async def test_forged_cursor_is_422_invalid_cursor(client: httpx.AsyncClient, cursor: str) -> None:
    response = await client.get("/v1/kommuner", params={"cursor": cursor})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid_cursor"
    assert body["errors"][0]["field"] == "cursor"


async def test_kommune_detail_as_json(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/kommuner/5001")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["vary"] == "Accept"
    body = response.json()
    assert body["name"] == "Trondheim - Tråante"
    min_lon, min_lat, max_lon, max_lat = body["bbox"]
    assert min_lon < 10.3951 < max_lon
    assert min_lat < 63.4305 < max_lat
    lon, lat = body["label_point"]
    located = (await client.get("/v1/geo/lookup", params={"lat": lat, "lon": lon})).json()
    assert located["kommune"]["number"] == "5001"


async def test_kommune_boundary_as_geojson_feature(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/kommuner/0301", headers={"Accept": "application/geo+json"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/geo+json"
    feature = response.json()
    assert feature["type"] == "Feature"
    assert feature["id"] == "0301"
    assert "crs" not in feature
    assert feature["geometry"]["type"] == "MultiPolygon"
    lon, lat = feature["geometry"]["coordinates"][0][0][0]
    assert 10 < lon < 11.5
    assert 59.5 < lat < 60.5  # [lon, lat] order
    assert feature["properties"]["population"] == 717710


async def test_geojson_preferred_over_wildcard(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/v1/kommuner/0301", headers={"Accept": "application/geo+json, */*;q=0.8"}
    )
    assert response.headers["content-type"] == "application/geo+json"


async def test_unsupported_accept_is_406(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/kommuner/0301", headers={"Accept": "text/csv"})
    assert response.status_code == 406
    body = response.json()
    assert body["code"] == "not_acceptable"
    assert "application/geo+json" in body["detail"]


async def test_unknown_kommune_is_404_problem(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/kommuner/9999")
    assert response.status_code == 404
    body = response.json()
    assert body["code"] == "kommune_not_found"
    assert body["detail"] == "No kommune has the number 9999."
    geo = await client.get("/v1/kommuner/9999", headers={"Accept": "application/geo+json"})
    assert geo.status_code == 404
    assert geo.json()["code"] == "kommune_not_found"


@pytest.mark.parametrize("number", ["301", "03011", "oslo", "0x01"])
async def test_malformed_kommunenummer_is_422(client: httpx.AsyncClient, number: str) -> None:
    response = await client.get(f"/v1/kommuner/{number}")
    assert response.status_code == 422
    assert response.json()["errors"][0] == {
        "location": "path",
        "field": "kommunenummer",
        "message": "String should match pattern '^[0-9]{4}$'",
        "type": "string_pattern_mismatch",
    }


async def test_fylker_list_has_15_with_kommune_counts(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/fylker")
    assert response.status_code == 200
    items = response.json()["items"]
    assert len(items) == 15
    assert sum(f["kommune_count"] for f in items) == 357
    assert sum(f["population"] for f in items) == 5_550_203
    troms = next(f for f in items if f["fylkesnummer"] == "55")
    assert troms["name"] == "Troms - Romsa - Tromssa"
    assert troms["short_name"] == "Troms"


async def test_fylke_detail_and_geojson(client: httpx.AsyncClient) -> None:
    body = (await client.get("/v1/fylker/46")).json()
    assert body["short_name"] == "Vestland"
    feature = (await client.get("/v1/fylker/46", headers={"Accept": "application/geo+json"})).json()
    assert feature["id"] == "46"
    assert feature["geometry"]["type"] == "MultiPolygon"
    missing = await client.get("/v1/fylker/99")
    assert missing.status_code == 404
    assert missing.json()["code"] == "fylke_not_found"
