"""Vector tiles of listings: points up close, counted cells further out.

Tiles are built by PostGIS (``ST_AsMVT``) from the same search predicates as ``GET
/v1/listings`` (``app.repositories.listing.search_clauses``), on the blurred points, so a
map shows exactly what the search finds — and never a person's exact location.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.geo import NORWAY_BBOX
from app.models.tile_cell import GRID_LEVELS
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
