"""Every SQL statement about listings.

**Reads are built in SQL.** A listing's JSON (and its GeoJSON Feature) is assembled by
PostgreSQL with ``json_build_object`` from one list of ``(key, expression)`` pairs
(``_PROPERTIES``), so the JSON, the GeoJSON and the single-listing read cannot drift apart.
The hot reads — a search page, a listing by id, and the tiles below — send these bytes out as
they are, because the benchmark needs it (bench/, docs/benchmarks.md: a page of 100 results
never passes through Python objects); ``app.schemas.listing.ListingRead`` declares the shape,
and every other listing response is that model, validated from the same document.

**Privacy.** Every public read takes the point from ``public_geom`` (blurred for persons by a
trigger, see ``app.models.listing``): search filters, distances, sort order, cursors, GeoJSON
and tiles alike. ``geom`` is read only when the viewer owns the listing (``_POINT``).

**Search predicates** (``search_clauses``) are shared by the list endpoint and the vector
tiles, and each can use an index (migration 0005):

* radius: ``ST_DWithin(public_geom::geography, point, r, false)`` — metres on the sphere,
  served by the GiST index on the geography expression; distances and the nearest-first order
  use ``<->`` on the same expression (also the sphere), so a cursor and a radius agree;
* bbox: ``public_geom && envelope`` on the geometry GiST index — inclusive at every edge;
* kommune, fylke, category (``path @>`` sub-tree), newest first: partial B-tree indexes on the
  searchable rows;
* free text: ``search_text LIKE`` patterns, served by the partial trigram GIN index. Each term
  (Snowball stem, then folded: ``sirkel_search_terms``) must be a whole word or the end of a
  compound (``barnesykkel`` is found by ``sykkel``); the last term also matches as a prefix
  (type-ahead: ``symask`` finds ``symaskin``). docs/search.md reports recall and precision.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

import orjson
from sqlalchemy import TextClause, bindparam, func, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import Boolean, Text, Uuid

from app.errors import CatalogueRefTakenError, InvalidTransitionError, UnknownCategoryError
from app.models import Listing
from app.models.tile_cell import ROLLUP_MAX_ZOOM
from app.repositories import raw
from app.repositories.db_errors import constraint_name
from app.repositories.sql import escape_like as _like_escape

SEARCHABLE = (
    "l.status = 'active' AND l.hidden_at IS NULL AND (l.expires_at IS NULL OR l.expires_at > :now)"
)

# The point a viewer may see: exact for the owner (or an organization's listing, where both
# columns hold the same point), blurred for everyone else.
_POINT = "CASE WHEN l.owner_person_id = :viewer THEN l.geom ELSE l.public_geom END"
PUBLIC_POINT = "l.public_geom"


def _geometry(point: str) -> str:
    # 6 decimals is 0.1 m; the blurred point is on a 0.001 degree grid anyway.
    return (
        "json_build_object('type', 'Point', 'coordinates', json_build_array("
        f"round(ST_X({point})::numeric, 6), round(ST_Y({point})::numeric, 6)))"
    )


_PROPERTIES: tuple[tuple[str, str], ...] = (
    ("kind", "l.kind"),
    ("mode", "l.mode"),
    ("status", "l.status"),
    ("title", "l.title"),
    ("description", "l.description"),
    ("category", "l.category_slug"),
    (
        "ewc",
        "CASE WHEN l.ewc_code IS NOT NULL THEN json_build_object('code', e.code, "
        "'description', e.description, 'hazardous', e.hazardous) END",
    ),
    ("quantity", "trim_scale(l.quantity)"),
    # What is left to ask for: the quantity minus what requests, agreements and handovers hold.
    ("quantity_available", "trim_scale(l.quantity - l.quantity_committed)"),
    ("unit", "l.unit"),
    ("price_nok", "trim_scale(l.price_nok)"),
    ("weight_kg", "trim_scale(l.weight_kg)"),
    ("details", "l.details"),
    ("kommune", "json_build_object('number', l.kommunenummer, 'name', k.name)"),
    ("fylke", "json_build_object('number', l.fylkesnummer, 'name', f.name)"),
    (
        "owner",
        "json_build_object('type', CASE WHEN l.owner_person_id IS NULL THEN 'organization' "
        "ELSE 'person' END, 'organization_id', l.owner_organization_id, 'name', o.name, "
        "'person', CASE WHEN l.owner_person_id IS NOT NULL THEN json_build_object("
        "'id', op.id, 'label', sirkel_person_label(op.erased_at, op.show_name, op.public_name, "
        "op.display_name, opk.name)) END)",
    ),
    # The first photo's smallest rendition (``app.services.photo.photo_url``), for lists and maps.
    (
        "photo",
        "CASE WHEN ph.id IS NOT NULL THEN json_build_object('url', '/v1/photos/' || ph.id || "
        "'/' || (ph.renditions -> 0 ->> 'size') || '.webp', 'alt', ph.alt_text) END",
    ),
    ("created_at", "l.created_at"),
    ("updated_at", "l.updated_at"),
    ("published_at", "l.published_at"),
    ("expires_at", "l.expires_at"),
)

_MODERATION = (
    "json_build_object('hidden_at', l.hidden_at, 'hidden_reason', l.hidden_reason, "
    "'review_approved_at', l.review_approved_at)"
)

# What a listing's JSON needs besides the listing itself.
LISTING_JOINS = (
    "JOIN kommuner AS k ON k.kommunenummer = l.kommunenummer "
    "JOIN fylker AS f ON f.fylkesnummer = l.fylkesnummer "
    "LEFT JOIN organizations AS o ON o.id = l.owner_organization_id "
    # The owner as others see them (sirkel_person_label, migration 0017).
    "LEFT JOIN persons AS op ON op.id = l.owner_person_id "
    "LEFT JOIN kommuner AS opk ON opk.kommunenummer = op.home_kommune "
    "LEFT JOIN ewc_codes AS e ON e.code = l.ewc_code "
    # The first live photo (the exclusion constraint's B-tree on (listing_id, position)).
    "LEFT JOIN LATERAL (SELECT p.id, p.renditions, p.alt_text FROM listing_photos AS p "
    "WHERE p.listing_id = l.id AND p.removed_at IS NULL ORDER BY p.position LIMIT 1) AS ph ON true"
)
_FROM = f"listings AS l {LISTING_JOINS}"


@dataclass(frozen=True, slots=True)
class Caller:
    """Who reads a listing's JSON, for its ``actions``: the person (or none), the organizations
    whose listings they manage (an API key's own), whether they moderate and are signed in,
    and what the lifecycle lets managers and moderators do from each status (JSON objects
    status → actions, from ``app.services.listing.LISTING_ACTIONS``). One set of parameters
    per statement: no query per row."""

    person_id: uuid.UUID | None = None
    organization_ids: tuple[uuid.UUID, ...] = ()
    moderator: bool = False
    signed_in: bool = False
    owner_actions: str = "{}"
    moderator_actions: str = "{}"


ANONYMOUS = Caller()

_MANAGES = "(l.owner_person_id = :caller_person OR l.owner_organization_id = ANY(:caller_orgs))"
_EMPTY = "'[]'::jsonb"
# The caller's next moves, sorted: a manager's and a moderator's by status (renew only for
# items, unreserve not while every unit is promised, unhide only when hidden), and "request"
# (a transaction) for others while the listing is active and has something left.
_ACTIONS = (
    "(SELECT coalesce(json_agg(x.a ORDER BY x.a COLLATE \"C\"), '[]'::json) "
    "FROM (SELECT DISTINCT a "
    "FROM jsonb_array_elements_text("
    f"CASE WHEN coalesce({_MANAGES}, false) "
    "THEN coalesce(CAST(CAST(:owner_actions AS text) AS jsonb) -> l.status, "
    f"{_EMPTY}) ELSE {_EMPTY} END "
    "|| CASE WHEN :caller_moderator "
    "THEN coalesce(CAST(CAST(:moderator_actions AS text) AS jsonb) -> l.status, "
    f"{_EMPTY}) ELSE {_EMPTY} END "
    f"|| CASE WHEN :caller_signed_in AND NOT coalesce({_MANAGES}, false) "
    "AND l.status = 'active' AND l.hidden_at IS NULL AND l.mode IS DISTINCT FROM 'wanted' "
    "AND (l.quantity IS NULL OR l.quantity > l.quantity_committed) "
    f"""THEN '["request"]'::jsonb ELSE {_EMPTY} END) AS a """
    "WHERE NOT (a = 'renew' AND l.kind <> 'item') "
    "AND NOT (a = 'unreserve' AND l.quantity IS NOT NULL "
    "AND l.quantity_committed >= l.quantity) "
    "AND NOT (a = 'unhide' AND l.hidden_at IS NULL)) AS x)"
)


def with_caller(stmt: TextClause, caller: Caller) -> TextClause:
    return stmt.bindparams(
        bindparam("caller_person", caller.person_id, type_=Uuid),
        bindparam("caller_orgs", list(caller.organization_ids), type_=ARRAY(Uuid)),
        bindparam("caller_moderator", caller.moderator, type_=Boolean),
        bindparam("caller_signed_in", caller.signed_in, type_=Boolean),
        bindparam("owner_actions", caller.owner_actions, type_=Text),
        bindparam("moderator_actions", caller.moderator_actions, type_=Text),
    )


def _pairs(pairs: tuple[tuple[str, str], ...]) -> str:
    return ", ".join(f"'{key}', {expr}" for key, expr in pairs)


def listing_json_sql(point: str, *, extra: tuple[tuple[str, str], ...] = ()) -> str:
    location = (
        ("location", _geometry(point)),
        (
            "location_precision",
            f"CASE WHEN {point} = l.public_geom AND l.owner_person_id IS NOT NULL "
            "THEN 'approximate' ELSE 'exact' END",
        ),
    )
    actions = (("actions", _ACTIONS),)
    return f"json_build_object('id', l.id, {_pairs(_PROPERTIES + location + actions + extra)})"


def _feature_json(point: str, *, extra: tuple[tuple[str, str], ...] = ()) -> str:
    return (
        f"json_build_object('type', 'Feature', 'id', l.id, 'geometry', {_geometry(point)}, "
        f"'properties', json_build_object({_pairs(_PROPERTIES + extra)}))"
    )


@dataclass(frozen=True, slots=True)
class SearchFilters:
    """Validated search parameters (``app.services.listing`` checks them)."""

    lat: float | None = None
    lon: float | None = None
    radius_m: float | None = None
    bbox: tuple[float, float, float, float] | None = None
    kommunenummer: str | None = None
    fylkesnummer: str | None = None
    kind: str | None = None
    mode: str | None = None
    category: str | None = None
    organization_id: uuid.UUID | None = None
    # Normalised terms of ``q`` (``search_terms``), and whether the last may be a prefix.
    terms: tuple[str, ...] = ()
    last_is_prefix: bool = False
    # Whether ``q`` was given at all (it may have no terms: only stop words or punctuation).
    text_query: bool = False
    # Published in [published_from, published_before) (the OGC API's ``datetime``).
    published_from: datetime | None = None
    published_before: datetime | None = None


def search_clauses(filters: SearchFilters, *, now: datetime) -> tuple[list[str], dict[str, Any]]:
    """The WHERE clauses (ANDed) and their parameters for searchable listings."""
    clauses = [SEARCHABLE]
    params: dict[str, Any] = {"now": now}
    if filters.radius_m is not None:
        clauses.append(
            "ST_DWithin(l.public_geom::geography, "
            "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography, :radius_m, false)"
        )
        params["radius_m"] = filters.radius_m
    if filters.lat is not None and filters.lon is not None:
        params.update(lat=filters.lat, lon=filters.lon)
    if filters.bbox is not None:
        clauses.append(
            "l.public_geom && ST_MakeEnvelope(:min_lon, :min_lat, :max_lon, :max_lat, 4326)"
        )
        params.update(zip(("min_lon", "min_lat", "max_lon", "max_lat"), filters.bbox, strict=True))
    if filters.published_from is not None:
        clauses.append("l.published_at >= :published_from")
        params["published_from"] = filters.published_from
    if filters.published_before is not None:
        clauses.append("l.published_at < :published_before")
        params["published_before"] = filters.published_before
    for column, name, value in (
        ("l.kommunenummer", "kommunenummer", filters.kommunenummer),
        ("l.fylkesnummer", "fylkesnummer", filters.fylkesnummer),
        ("l.kind", "kind", filters.kind),
        ("l.mode", "mode", filters.mode),
        ("l.owner_organization_id", "organization_id", filters.organization_id),
    ):
        if value is not None:
            clauses.append(f"{column} = :{name}")
            params[name] = value
    if filters.category is not None:
        clauses.append(
            "l.category_slug IN (SELECT c.slug FROM categories AS c "
            "WHERE c.path @> ARRAY[CAST(:category AS text)])"
        )
        params["category"] = filters.category
    if filters.text_query and not filters.terms:
        # Only stop words or punctuation: no listing contains what was asked for.
        clauses.append("false")
    last = len(filters.terms) - 1
    for i, term in enumerate(filters.terms):
        # A term is one stem or two separated by a space (``sirkel_search_terms``): either may
        # be a whole word or the end of a compound word, "% sykl %" or "%barnesykl %".
        alternatives = []
        for j, stem in enumerate(term.split(" ")):
            params[f"term_{i}_{j}"] = f"%{_like_escape(stem)} %"
            alternatives.append(f"l.search_text LIKE :term_{i}_{j}")
        if i == last and filters.last_is_prefix:
            # Type-ahead: the first stem of the last term may also begin a word.
            params[f"prefix_{i}"] = f"% {_like_escape(term.split(' ')[0])}%"
            alternatives.append(f"l.search_text LIKE :prefix_{i}")
        clauses.append(f"({' OR '.join(alternatives)})")
    return clauses, params


_DISTANCE = "(l.public_geom::geography <-> ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography)"


@dataclass(frozen=True, slots=True)
class SearchPage:
    rows: list[bytes]
    # Sort key of the last row returned (for the next cursor); None when the page is the last.
    next_key: dict[str, Any] | None


def search_statement(
    filters: SearchFilters,
    *,
    now: datetime,
    sort: str,
    after: dict[str, Any] | None,
    limit: int,
    geojson: bool,
    ties_at: float | None = None,
    caller: Caller = ANONYMOUS,
) -> TextClause:
    """The statement behind ``GET /v1/listings`` (the benchmark's floor runs it too).

    ``sort`` is ``distance`` (needs lat/lon) or ``newest``; ``after`` the decoded cursor. The
    statement returns ``limit + 1`` rows to tell whether another page follows.

    **Nearest first** pages by ``(distance, id)``, but PostgreSQL walks the GiST index
    nearest-first only for ``ORDER BY distance`` alone: with ``, id`` added it sorts the whole
    table. So the statement orders by distance alone (an index walk that stops after
    ``limit + 1`` rows), and the repository sorts those rows by ``(distance, id)``. That is
    exact unless several listings at the very same distance straddle the end of the page
    (one address with many listings); then ``ties_at`` asks for the rows at exactly that
    distance, by id, from the disc of that radius (``ListingRepository.search``)."""
    clauses, params = search_clauses(filters, now=now)
    with_distance = filters.lat is not None and filters.lon is not None
    extra = (("distance_m", "round(page.k_distance::numeric, 1)"),) if with_distance else ()
    doc = (_feature_json if geojson else listing_json_sql)(PUBLIC_POINT, extra=extra)
    distance = f"{_DISTANCE} AS k_distance" if with_distance else "NULL::float8 AS k_distance"
    if sort == "distance":
        if after is not None:
            clauses.append(f"({_DISTANCE}, l.id) > (:after_distance, :after_id)")
            params.update(after_distance=after["d"], after_id=after["id"])
        if ties_at is None:
            order = _DISTANCE
        else:
            clauses.append(
                "ST_DWithin(l.public_geom::geography, "
                "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography, :tie_radius, false)"
            )
            clauses.append(f"{_DISTANCE} = :ties_at")
            params.update(ties_at=ties_at, tie_radius=ties_at + 1.0)
            order = "l.id"
        outer_order = "page.k_distance, page.k_id"
    else:
        order = "l.published_at DESC, l.id DESC"
        if after is not None:
            clauses.append("(l.published_at, l.id) < (:after_published_at, :after_id)")
            params.update(after_published_at=after["p"], after_id=after["id"])
        outer_order = "page.k_published_at DESC, page.k_id DESC"
    # The page's rows first (an index walk that stops at the limit), then the JSON and its
    # joins for those rows only: the planner would otherwise build them for every candidate.
    page = (
        f"SELECT l.id AS k_id, l.published_at AS k_published_at, {distance} "
        f"FROM listings AS l WHERE {' AND '.join(clauses)} ORDER BY {order} LIMIT :limit"
    )
    sql = (
        f"SELECT {doc}::text AS doc, page.k_id, page.k_published_at, page.k_distance "
        f"FROM ({page}) AS page JOIN listings AS l ON l.id = page.k_id {LISTING_JOINS} "
        f"ORDER BY {outer_order}"
    )
    params["limit"] = limit + 1
    stmt = text(sql).bindparams(**params)
    return stmt if geojson else with_caller(stmt, caller)


# A point's first photo at the street zooms (z >= PHOTO_MIN_ZOOM): the smallest rendition's path,
# for a map's popup. NULL (so no attribute) below that zoom and without photos.
PHOTO_MIN_ZOOM = 14
_TILE_PHOTO = (
    f"CASE WHEN :z >= {PHOTO_MIN_ZOOM} THEN (SELECT '/v1/photos/' || p.id || '/' || "
    "(p.renditions -> 0 ->> 'size') || '.webp' FROM listing_photos AS p "
    "WHERE p.listing_id = l.id AND p.removed_at IS NULL ORDER BY p.position LIMIT 1) END"
)


def point_tile_statement(
    filters: SearchFilters,
    *,
    z: int,
    x: int,
    y: int,
    now: datetime,
    extent: int,
    buffer: int,
    max_points: int,
) -> TextClause:
    """One MVT of individual listings (the newest ``max_points`` when there are more)."""
    clauses, params = search_clauses(filters, now=now)
    clauses.append(
        "l.public_geom && ST_Transform(ST_TileEnvelope(:z, :x, :y, margin => :margin), 4326)"
    )
    sql = (
        "SELECT ST_AsMVT(t, 'listings', :extent, 'geom') FROM ("
        "SELECT l.id::text AS id, l.kind, l.mode, l.category_slug AS category, l.title, "
        f"{_TILE_PHOTO} AS photo, "
        "ST_AsMVTGeom(ST_Transform(l.public_geom, 3857), ST_TileEnvelope(:z, :x, :y), "
        ":extent, :buffer, true) AS geom "
        f"FROM listings AS l WHERE {' AND '.join(clauses)} "
        "ORDER BY l.published_at DESC, l.id DESC LIMIT :max_points) AS t"
    )
    params.update(
        z=z, x=x, y=y, extent=extent, buffer=buffer, margin=buffer / extent, max_points=max_points
    )
    return text(sql).bindparams(**params)


def _uses_rollup(filters: SearchFilters, z: int) -> bool:
    """Whether the cell counts can come from ``listing_tile_cells``: low zoom, and only the
    filters it is keyed by (kind, mode, category)."""
    return z <= ROLLUP_MAX_ZOOM and filters == SearchFilters(
        kind=filters.kind, mode=filters.mode, category=filters.category
    )


# A listing's cell at the level of a tile's grid, from its public point (migration 0006).
_CELL_X = "sirkel_cell_x(sirkel_mercator_x(l.public_geom), :level)"
_CELL_Y = "sirkel_cell_y(sirkel_mercator_y(l.public_geom), :level)"


def cluster_tile_statement(
    filters: SearchFilters, *, z: int, x: int, y: int, now: datetime, extent: int, grid: int
) -> TextClause:
    """One MVT of counted cells: the tile's ``grid`` by ``grid`` cells of the global grid of
    level ``z + log2(grid)``, each a point at its listings' mean with their ``count``.

    Up to zoom ``ROLLUP_MAX_ZOOM``, filtered by kind, mode and category at most, the counts
    are summed from the rollup ``listing_tile_cells`` (app/models/tile_cell.py), less the
    listings past their expiry that the tick has not marked yet; otherwise they are
    aggregated from the listings in the tile."""
    clauses, params = search_clauses(filters, now=now)
    level = z + grid.bit_length() - 1
    params.update(z=z, x=x, y=y, extent=extent, level=level)
    envelope = "l.public_geom && ST_Transform(ST_TileEnvelope(:z, :x, :y), 4326)"
    cell = f"{_CELL_X} AS cx, {_CELL_Y} AS cy"
    point = "sirkel_mercator_x(l.public_geom) AS mx, sirkel_mercator_y(l.public_geom) AS my"
    if _uses_rollup(filters, z):
        params.update(cx0=x * grid, cx1=x * grid + grid - 1, cy0=y * grid, cy1=y * grid + grid - 1)
        rollup = [
            "c.level = :level",
            "c.cx BETWEEN :cx0 AND :cx1",
            "c.cy BETWEEN :cy0 AND :cy1",
            "c.n > 0",
        ]
        for column, name in (("kind", "kind"), ("mode", "mode")):
            if getattr(filters, name) is not None:
                rollup.append(f"c.{column} = :{name}")
        if filters.kind is None and filters.mode is None and filters.category is None:
            # Every cell's total: one row per cell instead of one per kind, mode and category.
            rollup.append("c.kind = '*' AND c.mode = '*' AND c.category = '*'")
        else:
            rollup.append("c.kind <> '*'")
        if filters.category is not None:
            rollup.append(
                "c.category IN (SELECT k.slug FROM categories AS k "
                "WHERE k.path @> ARRAY[CAST(:category AS text)])"
            )
        # The expired-but-not-yet-ticked listings: the same filters, the other side of now.
        due = [
            "l.status = 'active'",
            "l.hidden_at IS NULL",
            "l.expires_at <= :now",
            envelope,
            *clauses[1:],
        ]
        cells = (
            "SELECT cx, cy, sum(n) AS n, sum(sx) AS sx, sum(sy) AS sy FROM ("
            "SELECT c.cx, c.cy, c.n, c.sum_mx AS sx, c.sum_my AS sy "
            f"FROM listing_tile_cells AS c WHERE {' AND '.join(rollup)} "
            "UNION ALL SELECT d.cx, d.cy, -1, -d.mx, -d.my FROM ("
            f"SELECT {cell}, {point} FROM listings AS l WHERE {' AND '.join(due)}) AS d"
            ") AS u GROUP BY cx, cy HAVING sum(n) > 0"
        )
    else:
        clauses.append(envelope)
        cells = (
            "SELECT cx, cy, count(*) AS n, sum(mx) AS sx, sum(my) AS sy FROM ("
            f"SELECT {cell}, {point} FROM listings AS l WHERE {' AND '.join(clauses)}"
            ") AS p GROUP BY cx, cy"
        )
    sql = (
        f"WITH cells AS ({cells}) "
        "SELECT ST_AsMVT(t, 'listings', :extent, 'geom') FROM ("
        "SELECT c.n::int AS count, ST_AsMVTGeom(ST_SetSRID(ST_MakePoint(c.sx / c.n, "
        "c.sy / c.n), 3857), ST_TileEnvelope(:z, :x, :y), :extent, 0, true) AS geom "
        "FROM cells AS c ORDER BY c.cx, c.cy) AS t"
    )
    return text(sql).bindparams(**params)


_TERMS = text("SELECT sirkel_search_terms(:q)").bindparams(bindparam("q", type_=Text))


class ListingRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- reads ---------------------------------------------------------------------------

    async def search_terms(self, q: str) -> list[str]:
        """``q`` as the normalised terms ``search_text`` holds, in the order typed."""
        terms = (await self.session.execute(_TERMS, {"q": q})).scalar()
        return list(terms or [])

    async def search(
        self,
        filters: SearchFilters,
        *,
        now: datetime,
        sort: str,
        after: dict[str, Any] | None,
        limit: int,
        geojson: bool,
        caller: Caller = ANONYMOUS,
    ) -> SearchPage:
        statement = partial(
            search_statement,
            filters,
            now=now,
            sort=sort,
            after=after,
            limit=limit,
            geojson=geojson,
            caller=caller,
        )
        rows = list(await raw.fetch(self.session, statement()))
        if sort == "distance":
            rows.sort(key=lambda r: (r["k_distance"], r["k_id"]))
            if len(rows) > limit and rows[limit - 1]["k_distance"] == rows[-1]["k_distance"]:
                # Listings at one distance straddle the page's end, and the index walk
                # returned an arbitrary few of them: take those at that distance by id.
                edge = rows[-1]["k_distance"]
                nearer = [r for r in rows if r["k_distance"] < edge]
                ties = await raw.fetch(self.session, statement(ties_at=edge))
                rows = (nearer + list(ties))[: limit + 1]
        docs = [r["doc"].encode() for r in rows[:limit]]
        next_key = None
        if len(rows) > limit:
            last = rows[limit - 1]
            next_key = (
                {"d": last["k_distance"], "id": str(last["k_id"])}
                if sort == "distance"
                else {"p": last["k_published_at"].isoformat(), "id": str(last["k_id"])}
            )
        return SearchPage(rows=docs, next_key=next_key)

    async def listing_json(
        self,
        listing_id: uuid.UUID,
        *,
        viewer: uuid.UUID | None,
        with_moderation: bool = False,
        geojson: bool = False,
        caller: Caller = ANONYMOUS,
    ) -> bytes | None:
        """One listing as the viewer may see it (exact point only for its owner), with the
        moderation state for its managers and moderators."""
        extra = (("moderation", _MODERATION),) if with_moderation else ()
        doc = (_feature_json if geojson else listing_json_sql)(_POINT, extra=extra)
        stmt = text(f"SELECT {doc}::text FROM {_FROM} WHERE l.id = :id").bindparams(
            bindparam("viewer", type_=None)
        )
        if not geojson:
            stmt = with_caller(stmt, caller)
        value = (await self.session.execute(stmt, {"id": listing_id, "viewer": viewer})).scalar()
        return value.encode() if value is not None else None

    async def tile(self, stmt: TextClause) -> bytes:
        """Run a ``point_tile_statement`` or ``cluster_tile_statement``: the MVT's bytes
        (empty when no listing is in the tile)."""
        return bytes(await raw.fetchval(self.session, stmt) or b"")

    async def get(self, listing_id: uuid.UUID, *, for_update: bool = False) -> Listing | None:
        stmt = select(Listing).where(Listing.id == listing_id)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def current_status(self, listing_id: uuid.UUID) -> str:
        """The status as the database holds it now (triggers may have moved it this
        transaction, behind the ORM's back)."""
        stmt = select(Listing.status).where(Listing.id == listing_id)
        return str((await self.session.execute(stmt)).scalar_one())

    async def exact_point(self, listing_id: uuid.UUID) -> tuple[float, float]:
        stmt = select(func.ST_X(Listing.geom), func.ST_Y(Listing.geom)).where(
            Listing.id == listing_id
        )
        lon, lat = (await self.session.execute(stmt)).one()
        return float(lon), float(lat)

    async def list_for_owner(
        self,
        *,
        person_id: uuid.UUID | None,
        organization_id: uuid.UUID | None,
        statuses: list[str] | None,
        after: dict[str, Any] | None,
        limit: int,
        caller: Caller = ANONYMOUS,
    ) -> tuple[list[bytes], dict[str, Any] | None]:
        """A person's or an organization's own listings, every status, newest created first,
        with exact points (the caller is the owner or acts for it)."""
        clauses = []
        params: dict[str, Any] = {"limit": limit + 1, "viewer": person_id}
        if person_id is not None:
            clauses.append("l.owner_person_id = :person_id")
            params["person_id"] = person_id
        else:
            clauses.append("l.owner_organization_id = :organization_id")
            params["organization_id"] = organization_id
        if statuses:
            clauses.append("l.status = ANY(:statuses)")
            params["statuses"] = statuses
        if after is not None:
            clauses.append("(l.created_at, l.id) < (:after_created_at, :after_id)")
            params.update(after_created_at=after["created_at"], after_id=after["id"])
        stmt = text(
            f"SELECT {listing_json_sql(_POINT)}::text AS doc, l.created_at, l.id FROM {_FROM} "
            f"WHERE {' AND '.join(clauses)} ORDER BY l.created_at DESC, l.id DESC LIMIT :limit"
        )
        if statuses:
            stmt = stmt.bindparams(bindparam("statuses", type_=ARRAY(Text)))
        stmt = with_caller(stmt, caller)
        rows = (await self.session.execute(stmt, params)).mappings().all()
        next_key = None
        if len(rows) > limit:
            last = rows[limit - 1]
            next_key = {"c": last["created_at"].isoformat(), "id": str(last["id"])}
        return [r["doc"].encode() for r in rows[:limit]], next_key

    async def export_for_person(self, person_id: uuid.UUID) -> list[dict[str, Any]]:
        """Every listing of the person, with its exact point (personal-data export)."""
        stmt = with_caller(
            text(
                f"SELECT {listing_json_sql(_POINT)}::text AS doc FROM {_FROM} "
                "WHERE l.owner_person_id = :viewer ORDER BY l.created_at, l.id"
            ),
            ANONYMOUS,
        )
        docs = (await self.session.execute(stmt, {"viewer": person_id})).scalars()
        return [orjson.loads(doc) for doc in docs]

    async def public_listing_json(
        self, listing_id: uuid.UUID, *, statuses: list[str]
    ) -> bytes | None:
        """The listing as anyone sees it, if it is in one of the public ``statuses`` and not
        hidden; ``None`` otherwise."""
        stmt = with_caller(
            text(
                f"SELECT {listing_json_sql(PUBLIC_POINT)}::text FROM {_FROM} "
                "WHERE l.id = :id AND l.hidden_at IS NULL AND l.status = ANY(:statuses)"
            ).bindparams(bindparam("statuses", type_=ARRAY(Text))),
            ANONYMOUS,
        )
        value = (
            await self.session.execute(stmt, {"id": listing_id, "statuses": statuses})
        ).scalar()
        return value.encode() if value is not None else None

    async def searchable_feature_json(
        self, listing_id: uuid.UUID, *, now: datetime
    ) -> bytes | None:
        """One listing search can find, as a public GeoJSON Feature (OGC API items)."""
        stmt = text(
            f"SELECT {_feature_json(PUBLIC_POINT)}::text FROM {_FROM} "
            f"WHERE l.id = :id AND {SEARCHABLE}"
        )
        value = (await self.session.execute(stmt, {"id": listing_id, "now": now})).scalar()
        return value.encode() if value is not None else None

    async def id_with_title(
        self, *, title: str, person_id: uuid.UUID | None, organization_id: uuid.UUID | None
    ) -> uuid.UUID | None:
        """The id of the owner's (first) listing with this title, if any."""
        owner = (
            Listing.owner_person_id == person_id
            if person_id is not None
            else Listing.owner_organization_id == organization_id
        )
        stmt = (
            select(Listing.id)
            .where(owner, Listing.title == title)
            .order_by(Listing.created_at, Listing.id)
            .limit(1)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    # --- writes --------------------------------------------------------------------------

    async def add(self, listing: Listing) -> Listing:
        self.session.add(listing)
        await self.flush()
        return listing

    async def catalogue_refs(self, organization_id: uuid.UUID, refs: list[str]) -> set[str]:
        """Which of ``refs`` the organization's listings already have as catalogue_ref."""
        ref = Listing.details["catalogue_ref"].astext
        stmt = select(ref).where(Listing.owner_organization_id == organization_id, ref.in_(refs))
        return set((await self.session.execute(stmt)).scalars())

    async def flush(self) -> None:
        """Write pending changes; the database's own refusals become domain errors."""
        try:
            await self.session.flush()
        except IntegrityError as exc:
            name = constraint_name(exc)
            if name == "listings_status_transition":
                raise InvalidTransitionError(
                    "The listing's status changed meanwhile; reload it."
                ) from exc
            if name == "fk_listings_category_slug_categories":
                raise UnknownCategoryError("The category no longer exists.") from exc
            if name == "ux_listings_catalogue_ref":
                raise CatalogueRefTakenError(
                    "Another of the organization's listings has this catalogue_ref (perhaps "
                    "from an import running at the same time); choose another or retry."
                ) from exc
            raise

    async def expire_due(self, *, now: datetime) -> int:
        """Active listings past their expiry become ``expired`` (the ``tick`` command)."""
        stmt = (
            update(Listing)
            .where(
                Listing.status == "active",
                Listing.expires_at.is_not(None),
                Listing.expires_at <= now,
            )
            .values(status="expired", updated_at=now)
        )
        result = await self.session.execute(stmt)
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def expiring_within(self, now: datetime, until: datetime) -> list[Listing]:
        """Active listings that expire after ``now`` and by ``until``."""
        stmt = select(Listing).where(
            Listing.status == "active",
            Listing.expires_at > now,
            Listing.expires_at <= until,
        )
        return list((await self.session.execute(stmt)).scalars())

    async def recluster(self) -> None:
        """CLUSTER rewrites the table in the order of its spatial index (the one migration 0005
        marked), so a bbox or a tile reads neighbouring rows from neighbouring pages; then
        fresh statistics. It holds an exclusive lock while it runs: run it after bulk loads
        or at night (``python -m app.cli maintain``). The low-zoom tile rollup is rebuilt
        from the table too (a bulk load may have disabled its trigger)."""
        # Maintenance may take minutes on a large table: no per-statement limit here.
        await self.session.execute(text("SET LOCAL statement_timeout = 0"))
        await self.session.execute(text("CLUSTER listings"))
        await self.session.execute(text("SELECT sirkel_tile_cells_rebuild()"))
        await self.session.execute(text("ANALYZE listings"))
        await self.session.execute(text("ANALYZE listing_tile_cells"))

    async def erase_for_person(self, person_id: uuid.UUID, *, now: datetime) -> int:
        """Erasure: withdraw the person's open listings and remove what could identify them —
        the text becomes a placeholder and the exact point is replaced by the blurred one.
        Kind, category, quantity and kommune stay for the impact statistics."""
        withdraw = (
            update(Listing)
            .where(
                Listing.owner_person_id == person_id,
                Listing.status.in_(["draft", "pending_review", "active", "reserved", "expired"]),
            )
            .values(status="withdrawn", closed_at=now)
        )
        await self.session.execute(withdraw)
        scrub = (
            update(Listing)
            .where(Listing.owner_person_id == person_id)
            .values(
                title="Slettet annonse",
                description="",
                details={},
                geom=Listing.public_geom,
                updated_at=now,
            )
        )
        result = await self.session.execute(scrub)
        return int(result.rowcount)  # type: ignore[attr-defined]
