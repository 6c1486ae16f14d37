"""/v1/tiles — Mapbox Vector Tiles of active listings, and their TileJSON, for embedded maps."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Request, Response

from app.api.deps import ClockDep
from app.api.listing_filters import (
    CategoryQuery,
    KindQuery,
    ModeQuery,
    OrganizationQuery,
    TextQuery,
)
from app.api.params import FylkeQuery, KommuneQuery
from app.db import SessionDep
from app.errors import (
    InvalidTileError,
    UnknownCategoryError,
    UnknownFylkeError,
    UnknownKommuneError,
    problem_responses,
)
from app.schemas.tile import TileJson
from app.services import tile as service
from app.services.listing import ListingFilters
from app.services.tile import BOUNDARY_MAX_ZOOM, MAX_ZOOM

router = APIRouter(prefix="/v1/tiles", tags=["tiles"])

MVT = "application/vnd.mapbox-vector-tile"
# Listings change by the minute; a minute of caching absorbs a map's burst of requests.
TILE_CACHE_CONTROL = "public, max-age=60"
# Maps are embedded on any municipality's site: every response under /v1/tiles/, errors
# included, carries Access-Control-Allow-Origin: * (app.middleware.PublicCorsMiddleware).
_TILE_HEADERS: dict[str, Any] = {
    "ETag": {"description": "Strong validator of the tile's bytes", "schema": {"type": "string"}},
    "Cache-Control": {"description": TILE_CACHE_CONTROL, "schema": {"type": "string"}},
    "Access-Control-Allow-Origin": {"description": "`*`", "schema": {"type": "string"}},
}


def _filters(
    kind: KindQuery = None,
    mode: ModeQuery = None,
    category: CategoryQuery = None,
    kommune: KommuneQuery = None,
    fylke: FylkeQuery = None,
    organization_id: OrganizationQuery = None,
    q: TextQuery = None,
) -> ListingFilters:
    return ListingFilters(
        kind=kind.value if kind else None,
        mode=mode.value if mode else None,
        category=category,
        kommune=kommune,
        fylke=fylke,
        organization_id=organization_id,
        q=q,
    )


FiltersDep = Annotated[ListingFilters, Depends(_filters)]
_FILTER_PROBLEMS = (UnknownKommuneError, UnknownFylkeError, UnknownCategoryError, 422)


@router.get(
    "/listings.json",
    response_model=TileJson,
    summary="TileJSON of the listings tiles",
    description="TileJSON 3.0.0 for `/v1/tiles/listings/{z}/{x}/{y}.mvt`: the tile URL (with "
    "the filters given here carried over), Norway's bounds, the zoom range and the fields of "
    "the `listings` layer. Give it to MapLibre GL or OpenLayers as a vector source.",
    responses={200: {"headers": _TILE_HEADERS}, **problem_responses(*_FILTER_PROBLEMS)},
)
async def get_tilejson(request: Request, session: SessionDep, filters: FiltersDep) -> Response:
    await service.check_filters(session, filters)
    base = str(request.url_for("get_listings_tile", z="{z}", x="{x}", y="{y}"))
    base = base.replace("%7B", "{").replace("%7D", "}")
    query = request.url.query
    doc = service.tilejson(tile_url=f"{base}?{query}" if query else base)
    return Response(
        content=doc.model_dump_json(exclude_none=True),
        media_type="application/json",
        headers={"Cache-Control": TILE_CACHE_CONTROL},
    )


def _matches(if_none_match: str, etag: str) -> bool:
    """If-None-Match by the weak comparison (RFC 9110, 13.1.2): ``W/"a"`` matches ``"a"``,
    and ``*`` matches any tile that exists."""
    tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
    return "*" in tags or etag in tags


@router.get(
    "/listings/{z}/{x}/{y}.mvt",
    summary="A vector tile of listings",
    description="One Mapbox Vector Tile (layer `listings`) of the active listings matching the "
    "filters, which are the search's. From zoom "
    f"{service.POINTS_MIN_ZOOM} every listing is a point with `id`, `kind`, `mode`, "
    "`category` and `title`; below it, listings are counted in a grid of cells and each cell "
    "is one point at its listings' mean position with `count`, so a tile stays small however "
    "many listings there are. Persons' listings are at their blurred points. A tile with "
    "nothing in it is `204 No Content`. Tiles carry an `ETag` (send `If-None-Match` for a "
    "`304`) and may be cached for a minute.",
    response_class=Response,
    responses={
        200: {
            "content": {MVT: {"schema": {"type": "string", "format": "binary"}}},
            "headers": _TILE_HEADERS,
        },
        204: {"description": "No listings in this tile"},
        304: {"description": "The tile has not changed since the ETag sent"},
        **problem_responses(InvalidTileError, *_FILTER_PROBLEMS),
    },
)
async def get_listings_tile(
    session: SessionDep,
    now: ClockDep,
    z: Annotated[int, Path(ge=0, le=MAX_ZOOM, description="Zoom level")],
    x: Annotated[int, Path(ge=0, description="Column, 0 to 2^z - 1")],
    y: Annotated[int, Path(ge=0, description="Row, 0 to 2^z - 1, from the north")],
    filters: FiltersDep,
    if_none_match: Annotated[str | None, Header(description="An ETag seen before")] = None,
) -> Response:
    if x >= 2**z or y >= 2**z:
        raise InvalidTileError(f"Zoom {z} has columns and rows 0 to {2**z - 1}.")
    tile = await service.listings_tile(session, z=z, x=x, y=y, filters=filters, now=now)
    if not tile:
        return Response(status_code=204, headers={"Cache-Control": TILE_CACHE_CONTROL})
    etag = service.etag(tile)
    headers = {"ETag": etag, "Cache-Control": TILE_CACHE_CONTROL}
    if if_none_match is not None and _matches(if_none_match, etag):
        return Response(status_code=304, headers=headers)
    return Response(content=tile, media_type=MVT, headers=headers)


# Boundaries change only with the reference data: a day of caching.
BOUNDARY_CACHE_CONTROL = "public, max-age=86400"
_BOUNDARY_HEADERS: dict[str, Any] = {
    **_TILE_HEADERS,
    "Cache-Control": {"description": BOUNDARY_CACHE_CONTROL, "schema": {"type": "string"}},
}


@router.get(
    "/kommuner.json",
    response_model=TileJson,
    summary="TileJSON of the boundary tiles",
    description="TileJSON 3.0.0 for `/v1/tiles/kommuner/{z}/{x}/{y}.mvt`: Norway's kommuner "
    "and fylker with label points, the basemap of the embeddable map (`/embed/map`). Give it "
    "to MapLibre GL, OpenLayers or QGIS as a vector source.",
    responses={200: {"headers": _BOUNDARY_HEADERS}},
)
async def get_boundaries_tilejson(request: Request) -> Response:
    url = str(request.url_for("get_boundary_tile", z="{z}", x="{x}", y="{y}"))
    doc = service.boundaries_tilejson(tile_url=url.replace("%7B", "{").replace("%7D", "}"))
    return Response(
        content=doc.model_dump_json(exclude_none=True),
        media_type="application/json",
        headers={"Cache-Control": BOUNDARY_CACHE_CONTROL},
    )


@router.get(
    "/kommuner/{z}/{x}/{y}.mvt",
    summary="A vector tile of kommune and fylke boundaries",
    description="One Mapbox Vector Tile of Norway's administrative geography (2024 "
    "structure, © Kartverket, CC BY 4.0) with three layers: `kommuner` (polygons with "
    "`nummer`, `navn`, `fylke`) from zoom "
    f"{service.KOMMUNE_MIN_ZOOM}, `fylker` (polygons with `nummer`, `navn`) and `labels` "
    "(one point inside each area with `level`, `nummer`, `navn`). Polygons are simplified to "
    f"the tile's pixel. Zoom 0 to {BOUNDARY_MAX_ZOOM}; clients overzoom beyond it. A tile "
    "outside Norway is `204 No Content`. Tiles carry an `ETag` and may be cached for a day.",
    response_class=Response,
    responses={
        200: {
            "content": {MVT: {"schema": {"type": "string", "format": "binary"}}},
            "headers": _BOUNDARY_HEADERS,
        },
        204: {"description": "No boundaries in this tile"},
        304: {"description": "The tile has not changed since the ETag sent"},
        **problem_responses(InvalidTileError, 422),
    },
)
async def get_boundary_tile(
    session: SessionDep,
    z: Annotated[int, Path(ge=0, le=BOUNDARY_MAX_ZOOM, description="Zoom level")],
    x: Annotated[int, Path(ge=0, description="Column, 0 to 2^z - 1")],
    y: Annotated[int, Path(ge=0, description="Row, 0 to 2^z - 1, from the north")],
    if_none_match: Annotated[str | None, Header(description="An ETag seen before")] = None,
) -> Response:
    if x >= 2**z or y >= 2**z:
        raise InvalidTileError(f"Zoom {z} has columns and rows 0 to {2**z - 1}.")
    tile = await service.boundary_tile(session, z=z, x=x, y=y)
    if not tile:
        return Response(status_code=204, headers={"Cache-Control": BOUNDARY_CACHE_CONTROL})
    etag = service.etag(tile)
    headers = {"ETag": etag, "Cache-Control": BOUNDARY_CACHE_CONTROL}
    if if_none_match is not None and _matches(if_none_match, etag):
        return Response(status_code=304, headers=headers)
    return Response(content=tile, media_type=MVT, headers=headers)
