"""/embed and the boundary tiles, over HTTP: what the pages say and allow, the files and
glyphs they load, the refusals. The browser's view is in test_embed_browser.py."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import mapbox_vector_tile  # type: ignore[import-untyped]
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import EmbedSettings, Settings
from app.render import embed as pages
from tests.api.test_tiles import tile_of, tile_to_lonlat
from tests.factories import create_listing, create_person
from tests.places import PLACES
from tests.problems import assert_problem
from tests.test_glyphs import read_glyphs

ClientFor = Callable[[Settings], Awaitable[httpx.AsyncClient]]
MVT = "application/vnd.mapbox-vector-tile"
_CONFIG = re.compile(r'<script type="application/json" id="sirkel-config">(.*?)</script>', re.S)
_REFERENCES = re.compile(r'(?:src|href)="([^"]+)"(?: integrity="([^"]+)")?')


def config_of(page: str) -> dict[str, Any]:
    match = _CONFIG.search(page)
    assert match is not None
    parsed: dict[str, Any] = json.loads(match.group(1))
    return parsed


def csp_of(response: httpx.Response) -> dict[str, str]:
    policy = response.headers["content-security-policy"]
    return {
        part.strip().split(" ", 1)[0]: part.strip().partition(" ")[2] for part in policy.split(";")
    }


async def test_the_map_of_a_kommune(client: httpx.AsyncClient) -> None:
    response = await client.get("/embed/map", params={"kommune": "0301", "kind": "item"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert '<html lang="nb">' in response.text
    assert "<title>Del, lån og gjenbruk i Oslo</title>" in response.text
    config = config_of(response.text)
    assert config["filters"] == {
        "kommune": "0301",
        "fylke": None,
        "kind": "item",
        "mode": None,
        "category": None,
    }
    west, south, east, north = config["bounds"]
    oslo = PLACES["oslo_city_hall"]
    assert west < oslo.lon < east
    assert south < oslo.lat < north
    assert east - west < 1
    assert north - south < 1
    assert config["tiles"]["listings"] == "/v1/tiles/listings/{z}/{x}/{y}.mvt"
    assert config["listing_url"] == "/v1/listings/{id}"
    assert config["basemap"] is None
    # The chip of the kind asked for is pressed, the others are not.
    assert re.search(r'data-value="item" aria-pressed="true"', response.text)
    assert re.search(r'data-filter="kind" data-value="" aria-pressed="false"', response.text)


async def test_the_pages_load_only_sirkel_with_integrity(client: httpx.AsyncClient) -> None:
    for page in ("/embed/map?fylke=46&lang=en", "/embed?lang=en"):
        response = await client.get(page)
        assert response.status_code == 200, response.text
        references = _REFERENCES.findall(response.text)
        assert references
        for url, integrity in references:
            if url in ("data:,", "about:blank"):  # the empty favicon, the preview before its map
                continue
            assert url.startswith("/embed/assets/"), url
            asset = await client.get(url)
            assert asset.status_code == 200
            assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
            digest = base64.b64encode(hashlib.sha384(asset.content).digest()).decode()
            assert integrity == f"sha384-{digest}"
            assert url.split("/")[3] == hashlib.sha256(asset.content).hexdigest()[:16]
        config = _CONFIG.search(response.text)
        if config is not None:
            worker = json.loads(config.group(1))["worker"]
            assert (await client.get(worker)).headers["content-type"].startswith("text/javascript")


async def test_the_policy_allows_only_sirkel(client: httpx.AsyncClient) -> None:
    response = await client.get("/embed/map")
    policy = csp_of(response)
    assert policy["default-src"] == "'none'"
    for directive in ("script-src", "style-src", "font-src", "worker-src", "frame-src"):
        assert policy[directive] == "'self'", directive
    assert policy["connect-src"] == "'self'"
    assert policy["img-src"] == "'self' data: blob:"
    assert policy["frame-ancestors"] == "*"  # any municipality's site may frame it
    assert "x-frame-options" not in response.headers
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "<title>Del, lån og gjenbruk i Norge</title>" in response.text


async def test_operators_choose_who_frames_and_the_basemap(
    settings: Settings, client_for: ClientFor
) -> None:
    embed = EmbedSettings(
        frame_ancestors="https://www.bergen.kommune.no",  # type: ignore[arg-type]
        listing_url_template="https://www.bergen.kommune.no/gjenbruk/{id}",
        basemap_tiles="https://cache.kartverket.no/v1/wmts/1.0.0/topo/default/webmercator/{z}/{y}/{x}.png",
    )
    client = await client_for(settings.model_copy(update={"embed": embed}))
    response = await client.get("/embed/map", params={"kommune": "4601"})
    policy = csp_of(response)
    assert policy["frame-ancestors"] == "https://www.bergen.kommune.no 'self'"
    assert policy["img-src"] == "'self' data: blob: https://cache.kartverket.no"
    assert policy["connect-src"] == "'self' https://cache.kartverket.no"
    config = config_of(response.text)
    assert config["listing_url"] == "https://www.bergen.kommune.no/gjenbruk/{id}"
    assert config["basemap"]["tiles"].startswith("https://cache.kartverket.no/")
    assert config["basemap"]["attribution"] == "© Kartverket"


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ({"frame_ancestors": "javascript:alert(1)"}, "is not '\\*'"),
        ({"frame_ancestors": ""}, "name at least one source"),
        ({"listing_url_template": "https://x.no/listing"}, "must contain \\{id\\}"),
        ({"listing_url_template": "javascript:alert(1)//{id}"}, "should match pattern"),
        ({"basemap_tiles": "http://tiles.example/{z}/{x}/{y}.png"}, "should match pattern"),
        ({"basemap_tiles": "https://tiles.example/tile.png"}, "should match pattern"),
    ],
)
def test_settings_refuse_what_would_break_the_page(value: dict[str, str], says: str) -> None:
    with pytest.raises(ValueError, match=says):
        EmbedSettings(**value)  # type: ignore[arg-type]


def test_nothing_in_the_data_can_close_the_config_element() -> None:
    tricky = {"title": "</script><script>alert(1)</script>", "amp": "a & b", "quote": '"'}
    text = pages.script_json(tricky)
    assert "<" not in text
    assert ">" not in text
    assert "&" not in text
    assert json.loads(text) == tricky


async def test_english_pages(client: httpx.AsyncClient) -> None:
    response = await client.get("/embed/map", params={"fylke": "46", "lang": "en"})
    assert '<html lang="en">' in response.text
    assert "<title>Share, borrow and reuse in Vestland</title>" in response.text
    assert config_of(response.text)["strings"]["kinds"]["space"] == "Spaces"
    builder = await client.get("/embed", params={"lang": "en"})
    assert "Make a map for your web site" in builder.text
    assert builder.text.count('<option value="kommune:') == 357
    assert builder.text.count('<option value="fylke:') == 15


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ({"kommune": "9999"}, 422, "unknown_kommune"),
        ({"fylke": "99"}, 422, "unknown_fylke"),
        ({"category": "no-such-category"}, 422, "unknown_category"),
        ({"kommune": "oslo"}, 422, "validation_failed"),
        ({"kind": "spaceship"}, 422, "validation_failed"),
        ({"lang": "sv"}, 422, "validation_failed"),
    ],
)
async def test_map_refusals(
    client: httpx.AsyncClient, query: dict[str, str], status: int, code: str
) -> None:
    assert_problem(await client.get("/embed/map", params=query), status, code)


async def test_asset_refusals(client: httpx.AsyncClient) -> None:
    page = (await client.get("/embed/map")).text
    current = next(url for url, _ in _REFERENCES.findall(page) if url.endswith("/map.js"))
    digest = current.split("/")[3]
    assert_problem(await client.get("/embed/assets/0000000000000000/map.js"), 404, "not_found")
    assert_problem(await client.get(f"/embed/assets/{digest}/evil.js"), 404, "not_found")
    assert_problem(
        await client.get(f"/embed/assets/{digest}/..%2f..%2fetc%2fpasswd"), 404, "not_found"
    )


async def test_without_the_npm_assets_the_pages_say_so(
    settings: Settings, client_for: ClientFor, tmp_path: Path
) -> None:
    embed = EmbedSettings(assets_dir=tmp_path / "node_modules")
    client = await client_for(settings.model_copy(update={"embed": embed}))
    for url in ("/embed/map", "/embed", "/embed/glyphs/Noto Sans Bold/0-255.pbf"):
        body = assert_problem(await client.get(url), 503, "embed_assets_missing")
        assert "scripts/dev.sh web" in body["detail"]


async def test_glyphs(client: httpx.AsyncClient) -> None:
    response = await client.get("/embed/glyphs/Noto Sans Bold/0-255.pbf")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-protobuf"
    name, span, found = read_glyphs(response.content)
    assert (name, span) == ("Noto Sans Bold", "0-255")
    assert ord("7") in found
    # A stack of several names: the first one Sirkel has.
    stacked = await client.get("/embed/glyphs/Open Sans Bold,Noto Sans Regular/256-511.pbf")
    assert read_glyphs(stacked.content)[0] == "Noto Sans Regular"


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/embed/glyphs/Comic Sans/0-255.pbf", 404, "glyphs_not_found"),
        ("/embed/glyphs/Noto Sans Bold/1-256.pbf", 404, "glyphs_not_found"),
        ("/embed/glyphs/Noto Sans Bold/0-511.pbf", 404, "glyphs_not_found"),
        ("/embed/glyphs/Noto Sans Bold/65536-65791.pbf", 404, "glyphs_not_found"),
        ("/embed/glyphs/Noto Sans Bold/a-b.pbf", 422, "validation_failed"),
    ],
)
async def test_glyph_refusals(client: httpx.AsyncClient, path: str, status: int, code: str) -> None:
    assert_problem(await client.get(path), status, code)


# --- boundary tiles --------------------------------------------------------------------------


def _decode(content: bytes) -> dict[str, Any]:
    layers: dict[str, Any] = mapbox_vector_tile.decode(
        content, default_options={"y_coord_down": True}
    )
    return layers


async def test_boundary_tiles_draw_kommuner_fylker_and_their_names(
    client: httpx.AsyncClient,
) -> None:
    oslo = PLACES["oslo_city_hall"]
    x, y = tile_of(oslo.lon, oslo.lat, 9)
    response = await client.get(f"/v1/tiles/kommuner/9/{x}/{y}.mvt")
    assert response.status_code == 200
    assert response.headers["content-type"] == MVT
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["cache-control"] == "public, max-age=86400"
    layers = _decode(response.content)
    assert set(layers) == {"kommuner", "fylker", "labels"}
    kommuner = {f["properties"]["nummer"]: f for f in layers["kommuner"]["features"]}
    assert kommuner["0301"]["properties"] == {"nummer": "0301", "navn": "Oslo", "fylke": "03"}
    assert kommuner["0301"]["geometry"]["type"] in ("Polygon", "MultiPolygon")
    labels = {f["properties"]["nummer"]: f for f in layers["labels"]["features"]}
    label = labels["0301"]
    assert label["properties"]["level"] == "kommune"
    lon, lat = tile_to_lonlat(
        9,
        x + label["geometry"]["coordinates"][0] / 4096,
        y + label["geometry"]["coordinates"][1] / 4096,
    )
    assert 10.4 < lon < 11.0
    assert 59.8 < lat < 60.2
    # Unchanged tiles are 304 with their ETag.
    again = await client.get(
        f"/v1/tiles/kommuner/9/{x}/{y}.mvt", headers={"If-None-Match": response.headers["etag"]}
    )
    assert again.status_code == 304


async def test_far_out_only_fylker_are_named(client: httpx.AsyncClient) -> None:
    layers = _decode((await client.get("/v1/tiles/kommuner/2/2/1.mvt")).content)
    assert "kommuner" not in layers
    levels = {f["properties"]["level"] for f in layers["labels"]["features"]}
    assert levels == {"fylke"}
    assert len(layers["fylker"]["features"]) >= 10


async def test_boundary_tiles_outside_norway_and_refusals(client: httpx.AsyncClient) -> None:
    empty = await client.get("/v1/tiles/kommuner/6/0/0.mvt")  # the Pacific's far north
    assert empty.status_code == 204
    assert_problem(await client.get("/v1/tiles/kommuner/3/8/0.mvt"), 422, "invalid_tile")
    assert_problem(await client.get("/v1/tiles/kommuner/15/0/0.mvt"), 422, "validation_failed")
    tilejson = (await client.get("/v1/tiles/kommuner.json")).json()
    assert tilejson["tiles"] == ["http://testserver/v1/tiles/kommuner/{z}/{x}/{y}.mvt"]
    assert [layer["id"] for layer in tilejson["vector_layers"]] == ["kommuner", "fylker", "labels"]


async def test_the_map_page_does_not_change_with_listings(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    """The page carries no listing data: the tiles do. A listing titled like markup changes
    nothing in it."""
    before = (await client.get("/embed/map", params={"kommune": "0301"})).text
    owner = await create_person(session, settings)
    oslo = PLACES["oslo_city_hall"]
    await create_listing(session, at=(oslo.lat, oslo.lon), person=owner, title="</script>")
    after = (await client.get("/embed/map", params={"kommune": "0301"})).text
    assert before == after
