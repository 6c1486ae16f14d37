"""Vector tiles of listings: points up close, counted cells further out.

Tiles are built by PostGIS (``ST_AsMVT``) from the same search predicates as ``GET
/v1/listings`` (``app.repositories.listing.search_clauses``), on the blurred points, so a
map shows exactly what the search finds — and never a person's exact location.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from dataclasses import asdict
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.geo import NORWAY_BBOX
from app.models.tile_cell import GRID_LEVELS
from app.repositories.geography import GeographyRepository
from app.repositories.listing import (
    ListingRepository,
    SearchFilters,
    cluster_tile_statement,
    point_tile_statement,
)
from app.schemas.tile import TileJson, VectorLayer
from app.services.listing import ListingFilters, SearchRequest, search_filters

# Up to zoom 22 is served (clients overzoom beyond MAX_ZOOM_ADVERTISED anyway).
MAX_ZOOM = 22
MAX_ZOOM_ADVERTISED = 16
# From this zoom (a tile ~5 km wide in southern Norway) every listing is its own point;
# below it, listings are counted in a grid of GRID by GRID cells per tile.
POINTS_MIN_ZOOM = 12
GRID = 2**GRID_LEVELS
# A point tile holds at most this many listings (the newest): beyond it a map is unreadable
# and the tile too large; zoom in.
MAX_POINTS_PER_TILE = 10_000
EXTENT = 4096
# Points this close outside a tile (in tile units) are included so symbols at the edge are
# drawn whole.
BUFFER = 64
LAYER = "listings"
NORWAY_CENTER = (10.75, 61.5, 4)

# Boundaries: kommune polygons and labels from zoom 5 (Norway's 357 kommuner fill a z5 tile
# with ~100 kB), fylke labels below 7. Beyond zoom 14 clients overzoom: the polygons are
# simplified to a pixel and gain nothing.
BOUNDARY_MAX_ZOOM = 14
KOMMUNE_MIN_ZOOM = 5
KOMMUNE_LABEL_MIN_ZOOM = 7
BOUNDARY_LAYERS = ("kommuner", "fylker", "labels")
# Boundaries change only when reference data is reloaded: a tile is kept in the process for
# an hour (a z5 tile of all of Norway takes ~200 ms to make, a z9 one ~10 ms).
BOUNDARY_CACHE_TTL_S = 3600.0
BOUNDARY_CACHE_TILES = 2048
_boundary_cache: OrderedDict[tuple[int, int, int], tuple[float, bytes]] = OrderedDict()


async def _search_filters(session: AsyncSession, filters: ListingFilters) -> SearchFilters:
    return await search_filters(session, SearchRequest(**asdict(filters)))


async def check_filters(session: AsyncSession, filters: ListingFilters) -> None:
    """422 for an unknown kommune, fylke or category, as the tiles themselves would give."""
    await _search_filters(session, filters)


async def listings_tile(
    session: AsyncSession, *, z: int, x: int, y: int, filters: ListingFilters, now: datetime
) -> bytes:
    search = await _search_filters(session, filters)
    if z >= POINTS_MIN_ZOOM:
        stmt = point_tile_statement(
            search,
            z=z,
            x=x,
            y=y,
            now=now,
            extent=EXTENT,
            buffer=BUFFER,
            max_points=MAX_POINTS_PER_TILE,
        )
    else:
        stmt = cluster_tile_statement(search, z=z, x=x, y=y, now=now, extent=EXTENT, grid=GRID)
    return await ListingRepository(session).tile(stmt)


async def boundary_tile(session: AsyncSession, *, z: int, x: int, y: int) -> bytes:
    key = (z, x, y)
    cached = _boundary_cache.get(key)
    now = time.monotonic()
    if cached is not None and now - cached[0] < BOUNDARY_CACHE_TTL_S:
        _boundary_cache.move_to_end(key)
        return cached[1]
    tile = await GeographyRepository(session).boundary_tile(
        z=z,
        x=x,
        y=y,
        extent=EXTENT,
        buffer=BUFFER,
        kommune_min_zoom=KOMMUNE_MIN_ZOOM,
        kommune_label_min_zoom=KOMMUNE_LABEL_MIN_ZOOM,
    )
    _boundary_cache[key] = (now, tile)
    _boundary_cache.move_to_end(key)
    while len(_boundary_cache) > BOUNDARY_CACHE_TILES:
        _boundary_cache.popitem(last=False)
    return tile


def boundaries_tilejson(*, tile_url: str) -> TileJson:
    return TileJson(
        name="Sirkel boundaries",
        description="Norway's kommuner and fylker (2024 structure), simplified to each "
        "tile's pixel, with label points: the embedded map's basemap.",
        attribution="© Kartverket (CC BY 4.0)",
        tiles=[tile_url],
        vector_layers=[
            VectorLayer(
                id="kommuner",
                description="Kommune polygons",
                fields={
                    "nummer": "Kommunenummer",
                    "navn": "Name",
                    "fylke": "Fylkesnummer",
                },
                minzoom=KOMMUNE_MIN_ZOOM,
                maxzoom=BOUNDARY_MAX_ZOOM,
            ),
            VectorLayer(
                id="fylker",
                description="Fylke polygons",
                fields={"nummer": "Fylkesnummer", "navn": "Name"},
                minzoom=0,
                maxzoom=BOUNDARY_MAX_ZOOM,
            ),
            VectorLayer(
                id="labels",
                description=f"One point per fylke below zoom {KOMMUNE_LABEL_MIN_ZOOM}, one "
                f"per kommune from zoom {KOMMUNE_MIN_ZOOM}, inside its area",
                fields={
                    "level": "kommune or fylke",
                    "nummer": "Kommunenummer or fylkesnummer",
                    "navn": "Name",
                },
                minzoom=0,
                maxzoom=BOUNDARY_MAX_ZOOM,
            ),
        ],
        bounds=NORWAY_BBOX,
        center=NORWAY_CENTER,
        minzoom=0,
        maxzoom=BOUNDARY_MAX_ZOOM,
    )


def etag(tile: bytes) -> str:
    return '"' + hashlib.sha256(tile).hexdigest()[:32] + '"'


def tilejson(*, tile_url: str) -> TileJson:
    return TileJson(
        name="Sirkel listings",
        description="Active listings of the Sirkel marketplace. Persons' listings are shown "
        "about 400 m from their real place.",
        attribution="Sirkel; kommune boundaries © Kartverket (CC BY 4.0)",
        tiles=[tile_url],
        vector_layers=[
            VectorLayer(
                id=LAYER,
                description=f"From zoom {POINTS_MIN_ZOOM}: one point per listing. Below: one "
                "point per grid cell with the number of listings in it.",
                fields={
                    "id": "Listing id (points)",
                    "kind": "item, repair_service, material, energy or space (points)",
                    "mode": "give, sell, lend, rent or wanted (points; none for repairs)",
                    "category": "Category slug (points)",
                    "title": "Title (points)",
                    "count": f"Listings in the cell (clusters, below zoom {POINTS_MIN_ZOOM})",
                },
                minzoom=0,
                maxzoom=MAX_ZOOM_ADVERTISED,
            )
        ],
        bounds=NORWAY_BBOX,
        center=NORWAY_CENTER,
        minzoom=0,
        maxzoom=MAX_ZOOM_ADVERTISED,
    )
