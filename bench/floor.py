"""The raw floor: Sirkel's read endpoints with no framework, as a bare ASGI app on asyncpg.

``uvicorn bench.floor:app`` serves ``GET /v1/listings``, ``GET /v1/listings/{id}`` and
``GET /v1/tiles/listings/{z}/{x}/{y}.mvt`` with the very statements Sirkel runs: they come
from the same builders in ``app.repositories.listing`` (the single-listing read is captured from
``ListingRepository.listing_json``), compiled once per distinct SQL text with SQLAlchemy's
asyncpg dialect into positional ``$n`` SQL, and executed on an asyncpg pool with the same
``server_settings`` as ``app.db``. The response is the SQL's bytes, wrapped as Sirkel wraps
them. What it leaves out is exactly what the benchmark measures: routing, validation,
dependency injection, sessions and transactions, middleware and logging.

It also skips the existence checks that need the database (kommune, fylke, category) and does
only what builds the answer: ``sirkel_search_terms`` for ``q`` and the main statement.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

import asyncpg
import orjson
from sqlalchemy import TextClause
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect

from app.pagination import encode_cursor
from app.repositories.listing import (
    ListingRepository,
    SearchFilters,
    cluster_tile_statement,
    point_tile_statement,
    search_statement,
)
from app.repositories.raw import compile_statement
from app.services import tile as tiles

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

DIALECT = asyncpg_dialect()  # type: ignore[no-untyped-call]
POOL_SIZE = int(os.environ.get("BENCH_POOL_SIZE", "10"))
DSN = os.environ.get("BENCH_DSN", "postgresql://postgres@127.0.0.1:54339/sirkel_bench")
# As app.db sets them on every connection.
SERVER_SETTINGS = {
    "application_name": "sirkel-floor",
    "statement_timeout": "15000",
    "TimeZone": "UTC",
    "plan_cache_mode": "force_custom_plan",
}
JSON = b"application/json"
GEOJSON = b"application/geo+json"
MVT = b"application/vnd.mapbox-vector-tile"


def search_for(
    query: dict[str, str], *, terms: tuple[str, ...], geojson: bool
) -> tuple[TextClause, str, int]:
    """Sirkel's search statement for the query parameters the benchmark sends."""
    lat = float(query["lat"]) if "lat" in query else None
    lon = float(query["lon"]) if "lon" in query else None
    bbox = None
    if "bbox" in query:
        min_lon, min_lat, max_lon, max_lat = (float(v) for v in query["bbox"].split(","))
        bbox = (min_lon, min_lat, max_lon, max_lat)
    sort = query.get("sort") or ("distance" if lat is not None else "newest")
    limit = int(query.get("limit", "20"))
    q = query.get("q")
    filters = SearchFilters(
        lat=lat,
        lon=lon,
        radius_m=float(query["radius_m"]) if "radius_m" in query else None,
        bbox=bbox,
        kind=query.get("kind"),
        category=query.get("category"),
        terms=terms,
        last_is_prefix=q is not None and not q[-1:].isspace(),
    )
    now = datetime.now(UTC)
    stmt = search_statement(filters, now=now, sort=sort, after=None, limit=limit, geojson=geojson)
    return stmt, sort, limit


def tile_for(z: int, x: int, y: int, query: dict[str, str]) -> TextClause:
    """Sirkel's tile statement: points from ``POINTS_MIN_ZOOM``, counted cells below."""
    filters = SearchFilters(kind=query.get("kind"), category=query.get("category"))
    now = datetime.now(UTC)
    if z >= tiles.POINTS_MIN_ZOOM:
        return point_tile_statement(
            filters,
            z=z,
            x=x,
            y=y,
            now=now,
            extent=tiles.EXTENT,
            buffer=tiles.BUFFER,
            max_points=tiles.MAX_POINTS_PER_TILE,
        )
    return cluster_tile_statement(
        filters, z=z, x=x, y=y, now=now, extent=tiles.EXTENT, grid=tiles.GRID
    )


class _CapturedError(Exception):
    def __init__(self, stmt: TextClause, params: dict[str, Any]) -> None:
        self.stmt = stmt
        self.params = params


class _CapturingSession:
    async def execute(self, stmt: TextClause, params: dict[str, Any]) -> None:
        raise _CapturedError(stmt, params)


async def listing_statement() -> tuple[str, list[str], dict[str, Any]]:
    """The statement of ``ListingRepository.listing_json`` for an anonymous viewer: its SQL,
    the names of its positional parameters, and the values it was built with (the caller's
    parameters among them); a request replaces ``id`` and ``viewer``."""
    try:
        await ListingRepository(_CapturingSession()).listing_json(  # type: ignore[arg-type]
            uuid.UUID(int=0), viewer=None
        )
    except _CapturedError as captured:
        compiled = captured.stmt.compile(dialect=DIALECT)
        return str(compiled), list(compiled.positiontup or ()), dict(compiled.params)
    raise RuntimeError("listing_json ran no statement")


class Floor:
    def __init__(self) -> None:
        self.pool: asyncpg.Pool | None = None
        self.listing_sql = ""
        self.listing_names: list[str] = []
        self.listing_defaults: dict[str, Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        path: str = scope["path"]
        query = {k: v[0] for k, v in parse_qs(scope["query_string"].decode()).items()}
        accept = dict(scope["headers"]).get(b"accept", b"")
        try:
            if path == "/v1/listings":
                status, media, body = await self._search(query, geojson=GEOJSON in accept)
            elif path.startswith("/v1/listings/"):
                status, media, body = await self._listing(path.rsplit("/", 1)[1])
            elif path.startswith("/v1/tiles/listings/") and path.endswith(".mvt"):
                z, x, y = (int(p) for p in path[len("/v1/tiles/listings/") : -4].split("/"))
                status, media, body = await self._tile(z, x, y, query)
            else:
                status, media, body = 404, JSON, b'{"code":"not_found"}'
        except (ValueError, KeyError) as exc:
            status, media, body = 422, JSON, orjson.dumps({"detail": str(exc)})
        headers = [(b"content-type", media), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.pool = await asyncpg.create_pool(
                    DSN,
                    min_size=POOL_SIZE,
                    max_size=POOL_SIZE,
                    server_settings=SERVER_SETTINGS,
                )
                (
                    self.listing_sql,
                    self.listing_names,
                    self.listing_defaults,
                ) = await listing_statement()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.pool is not None:
                    await self.pool.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _search(self, query: dict[str, str], *, geojson: bool) -> tuple[int, bytes, bytes]:
        assert self.pool is not None
        q = query.get("q")
        async with self.pool.acquire() as conn:
            terms: tuple[str, ...] = ()
            if q is not None:
                terms = tuple(await conn.fetchval("SELECT sirkel_search_terms($1)", q) or ())
            stmt, sort, limit = search_for(query, terms=terms, geojson=geojson)
            sql, args = compile_statement(stmt)
            rows = await conn.fetch(sql, *args)
        docs = b",".join(r["doc"].encode() for r in rows[:limit])
        next_cursor = None
        if len(rows) > limit:
            last = rows[limit - 1]
            key = (
                {"d": last["k_distance"], "id": str(last["k_id"])}
                if sort == "distance"
                else {"p": last["k_published_at"].isoformat(), "id": str(last["k_id"])}
            )
            next_cursor = encode_cursor({"s": sort, **key})
        cursor = orjson.dumps(next_cursor)
        if geojson:
            body = b'{"type":"FeatureCollection","features":[' + docs + b'],"next_cursor":'
            return 200, GEOJSON, body + cursor + b"}"
        return 200, JSON, b'{"items":[' + docs + b'],"next_cursor":' + cursor + b"}"

    async def _listing(self, raw_id: str) -> tuple[int, bytes, bytes]:
        assert self.pool is not None
        values = {**self.listing_defaults, "id": uuid.UUID(raw_id), "viewer": None}
        async with self.pool.acquire() as conn:
            doc = await conn.fetchval(self.listing_sql, *(values[n] for n in self.listing_names))
        if doc is None:
            return 404, JSON, b'{"code":"not_found"}'
        return 200, JSON, doc.encode()

    async def _tile(
        self, z: int, x: int, y: int, query: dict[str, str]
    ) -> tuple[int, bytes, bytes]:
        assert self.pool is not None
        stmt = tile_for(z, x, y, query)
        sql, args = compile_statement(stmt)
        async with self.pool.acquire() as conn:
            tile = await conn.fetchval(sql, *args)
        if not tile:
            return 204, MVT, b""
        return 200, MVT, bytes(tile)


app = Floor()
