"""Saved searches, their fan-out and digests, and the wanted/offer pairs alerts found.

The fan-out for a listing that became searchable is one statement: the saved searches whose
area holds the listing's public point (GiST on ``saved_searches.area``) and whose filters fit
it, written as hits (once per listing and saved search) and, for ``instant`` ones, as outbox
events in the same statement. The rules are those of ``GET /v1/listings`` (kind, mode,
category with its sub-categories, kommune, fylke, every term of ``q`` as a whole word or the
end of a compound) plus the alerts' own: never the owner's own listing, nobody blocked either
way, and hazardous material only to organizations with a recorded waste permit.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson
from geoalchemy2 import WKBElement
from sqlalchemy import bindparam, delete, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import Float, Text, Uuid

from app.errors import TooManySavedSearchesError
from app.geo import NORWAY_BBOX, SRID
from app.models.saved_search import MAX_SAVED_SEARCHES, SavedSearch
from app.repositories.db_errors import constraint_name
from app.repositories.listing import (
    ANONYMOUS,
    LISTING_JOINS,
    PUBLIC_POINT,
    SEARCHABLE,
    listing_json_sql,
    with_caller,
)

# A term's stem as a whole word or a compound's end in ``search_text`` (see
# ``app.repositories.listing.search_clauses``), with LIKE's wildcards escaped.
_STEM_IN_TEXT = (
    "l.search_text LIKE '%' || replace(replace(replace(st.stem, '\\', '\\\\'), '%', '\\%'), "
    "'_', '\\_') || ' %'"
)

_FITS = f"""
    s.area && l.public_geom AND ST_Intersects(s.area, l.public_geom)
    AND (s.kind IS NULL OR s.kind = l.kind)
    AND (s.mode IS NULL OR s.mode = l.mode)
    AND (s.kommunenummer IS NULL OR s.kommunenummer = l.kommunenummer)
    AND (s.fylkesnummer IS NULL OR s.fylkesnummer = l.fylkesnummer)
    AND (s.category_slug IS NULL OR s.category_slug = ANY(l.category_path))
    AND NOT EXISTS (
        SELECT 1 FROM unnest(s.terms) AS t(term)
        WHERE NOT EXISTS (
            SELECT 1 FROM unnest(string_to_array(t.term, ' ')) AS st(stem)
            WHERE {_STEM_IN_TEXT}))
    AND (s.person_id IS NULL OR s.person_id IS DISTINCT FROM l.owner_person_id)
    AND (s.organization_id IS NULL
         OR s.organization_id IS DISTINCT FROM l.owner_organization_id)
    AND NOT EXISTS (
        SELECT 1 FROM blocks AS b
        WHERE (b.blocker_person_id = s.person_id AND b.blocked_person_id = l.owner_person_id)
           OR (b.blocker_person_id = l.owner_person_id AND b.blocked_person_id = s.person_id))
    AND (NOT l.hazardous OR EXISTS (
        SELECT 1 FROM organizations AS p
        WHERE p.id = s.organization_id AND p.waste_permit_verified_at IS NOT NULL))
"""

_LISTING = f"""
    SELECT l.id, l.kind, l.mode, l.kommunenummer, l.fylkesnummer, l.public_geom, l.search_text,
           l.owner_person_id, l.owner_organization_id,
           coalesce(c.path, ARRAY[]::text[]) AS category_path,
           coalesce(e.hazardous, false) AS hazardous
    FROM listings AS l
    LEFT JOIN categories AS c ON c.slug = l.category_slug
    LEFT JOIN ewc_codes AS e ON e.code = l.ewc_code
    WHERE l.id = :listing_id AND {SEARCHABLE}
"""

FAN_OUT = text(
    f"""
    WITH l AS ({_LISTING}),
    hits AS (
        INSERT INTO saved_search_hits (saved_search_id, listing_id, created_at)
        SELECT s.id, l.id, :now FROM l JOIN saved_searches AS s ON {_FITS}
        ON CONFLICT DO NOTHING
        RETURNING saved_search_id
    ),
    told AS (
        INSERT INTO outbox_events
            (type, recipient_person_id, recipient_organization_id, payload, created_at)
        SELECT 'saved_search.matched', s.person_id, s.organization_id,
               jsonb_build_object('saved_search_id', s.id, 'listing_id', :listing_id), :now
        FROM hits JOIN saved_searches AS s ON s.id = hits.saved_search_id
        WHERE s.frequency = 'instant'
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM hits), (SELECT count(*) FROM told)
    """
).bindparams(bindparam("listing_id", type_=Uuid))

# One digest per daily saved search with new hits whose last digest is a day old (or none):
# the hits are marked, the search stamped and the event written in one statement. SKIP
# LOCKED lets two clocks tick at once without sending a digest twice.
DIGESTS = text(
    """
    WITH due AS (
        SELECT s.id, s.person_id, s.organization_id FROM saved_searches AS s
        WHERE s.frequency = 'daily'
          AND (s.last_digest_at IS NULL
               OR s.last_digest_at <= CAST(:now AS timestamptz) - interval '1 day')
          AND EXISTS (SELECT 1 FROM saved_search_hits AS h
                      WHERE h.saved_search_id = s.id AND h.digested_at IS NULL)
        FOR UPDATE OF s SKIP LOCKED
    ),
    marked AS (
        UPDATE saved_search_hits AS h SET digested_at = :now
        FROM due WHERE h.saved_search_id = due.id AND h.digested_at IS NULL
        RETURNING h.saved_search_id, h.listing_id, h.created_at
    ),
    stamped AS (
        UPDATE saved_searches AS s SET last_digest_at = :now FROM due WHERE s.id = due.id
        RETURNING s.id
    ),
    told AS (
        INSERT INTO outbox_events
            (type, recipient_person_id, recipient_organization_id, payload, created_at)
        SELECT 'saved_search.digest', due.person_id, due.organization_id,
               jsonb_build_object(
                   'saved_search_id', due.id,
                   'count', count(*),
                   'listing_ids', to_jsonb((array_agg(m.listing_id
                                            ORDER BY m.created_at DESC, m.listing_id))[1:20])),
               :now
        FROM due JOIN marked AS m ON m.saved_search_id = due.id
        GROUP BY due.id, due.person_id, due.organization_id
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM told), (SELECT count(*) FROM stamped)
    """
)


@dataclass(frozen=True, slots=True)
class Place:
    """A saved search's place, as given: a circle, a box, or neither (then its kommune's or
    fylke's extent, or Norway's)."""

    lat: float | None = None
    lon: float | None = None
    radius_m: float | None = None
    bbox: tuple[float, float, float, float] | None = None
    kommunenummer: str | None = None
    fylkesnummer: str | None = None


def _area_sql(place: Place) -> tuple[str, dict[str, Any]]:
    """The polygon a listing's public point must fall in: the circle (a 64-gon on the
    sphere, inside the true circle by at most 0.5 %) and the box intersected; else the
    kommune's or fylke's extent; else Norway's."""
    shapes: list[str] = []
    params: dict[str, Any] = {}
    if place.radius_m is not None:
        shapes.append(
            "ST_Buffer(ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography, :radius_m, "
            "'quad_segs=16')::geometry"
        )
        params.update(lon=place.lon, lat=place.lat, radius_m=place.radius_m)
    if place.bbox is not None:
        shapes.append("ST_MakeEnvelope(:min_lon, :min_lat, :max_lon, :max_lat, 4326)")
        params.update(zip(("min_lon", "min_lat", "max_lon", "max_lat"), place.bbox, strict=True))
    if shapes:
        area = shapes[0] if len(shapes) == 1 else f"ST_Intersection({shapes[0]}, {shapes[1]})"
        return area, params
    if place.kommunenummer is not None:
        params["k"] = place.kommunenummer
        return "(SELECT ST_Envelope(geom) FROM kommuner WHERE kommunenummer = :k)", params
    if place.fylkesnummer is not None:
        params["f"] = place.fylkesnummer
        return "(SELECT ST_Envelope(geom) FROM fylker WHERE fylkesnummer = :f)", params
    params.update(zip(("min_lon", "min_lat", "max_lon", "max_lat"), NORWAY_BBOX, strict=True))
    return "ST_MakeEnvelope(:min_lon, :min_lat, :max_lon, :max_lat, 4326)", params


@dataclass(frozen=True, slots=True)
class OrganizationMatchRow:
    found_at: datetime
    score: Decimal
    wanted_listing_id: uuid.UUID
    offer_listing_id: uuid.UUID
    own_listing_id: uuid.UUID
    doc: bytes


class SavedSearchRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def area(self, place: Place) -> WKBElement | None:
        """The place's polygon, or None when it is empty (a box outside the circle)."""
        area, params = _area_sql(place)
        stmt = text(
            "SELECT CASE WHEN NOT ST_IsEmpty(a) THEN ST_AsEWKB(a) END "
            f"FROM (SELECT {area} AS a) AS x"
        ).bindparams(*[bindparam(k, type_=Float) for k in params if k not in ("k", "f")])
        value = await self.session.scalar(stmt, params)
        return WKBElement(bytes(value), srid=SRID, extended=True) if value is not None else None

    async def add(self, saved: SavedSearch) -> SavedSearch:
        """Insert; over the per-owner limit (the trigger) is ``TooManySavedSearchesError``."""
        try:
            async with self.session.begin_nested():
                self.session.add(saved)
                await self.session.flush()
        except IntegrityError as exc:
            if constraint_name(exc) == "saved_searches_per_owner":
                raise TooManySavedSearchesError(
                    f"An owner keeps at most {MAX_SAVED_SEARCHES} saved searches; delete one first."
                ) from None
            raise
        return saved

    async def get(self, saved_search_id: uuid.UUID) -> SavedSearch | None:
        return await self.session.get(SavedSearch, saved_search_id, populate_existing=True)

    async def list_for_owner(
        self,
        *,
        person_id: uuid.UUID | None,
        organization_id: uuid.UUID | None,
        after: tuple[datetime, uuid.UUID] | None,
        limit: int,
    ) -> list[SavedSearch]:
        stmt = select(SavedSearch)
        if person_id is not None:
            stmt = stmt.where(SavedSearch.person_id == person_id)
        else:
            stmt = stmt.where(SavedSearch.organization_id == organization_id)
        if after is not None:
            stmt = stmt.where(
                (SavedSearch.created_at, SavedSearch.id) > after  # type: ignore[operator]
            )
        stmt = stmt.order_by(SavedSearch.created_at, SavedSearch.id).limit(limit)
        return list((await self.session.scalars(stmt)).all())

    async def delete(self, saved_search_id: uuid.UUID) -> None:
        await self.session.execute(delete(SavedSearch).where(SavedSearch.id == saved_search_id))

    async def hit_count(self, saved_search_id: uuid.UUID) -> int:
        value = await self.session.scalar(
            text("SELECT count(*) FROM saved_search_hits WHERE saved_search_id = :id").bindparams(
                bindparam("id", saved_search_id, type_=Uuid)
            )
        )
        return int(value or 0)

    async def fan_out(self, listing_id: uuid.UUID, *, now: datetime) -> tuple[int, int]:
        """Hits written and instant notifications raised for a listing that became
        searchable (none when it is not searchable at ``now``)."""
        row = (await self.session.execute(FAN_OUT, {"listing_id": listing_id, "now": now})).one()
        return int(row[0]), int(row[1])

    async def send_digests(self, *, now: datetime) -> int:
        row = (await self.session.execute(DIGESTS, {"now": now})).one()
        return int(row[0])

    async def erase_for_person(self, person_id: uuid.UUID) -> None:
        await self.session.execute(delete(SavedSearch).where(SavedSearch.person_id == person_id))

    async def export_for_person(self, person_id: uuid.UUID) -> list[dict[str, Any]]:
        rows = await self.session.scalars(
            select(SavedSearch)
            .where(SavedSearch.person_id == person_id)
            .order_by(SavedSearch.created_at, SavedSearch.id)
        )
        return [
            {
                "id": str(s.id),
                "name": s.name,
                "frequency": s.frequency,
                "query": s.query,
                "created_at": s.created_at.isoformat(),
            }
            for s in rows
        ]

    # --- pairs the alerts found ------------------------------------------------------------

    async def record_matches(
        self, pairs: list[tuple[uuid.UUID, uuid.UUID, Decimal]], *, now: datetime
    ) -> list[dict[str, Any]]:
        """Write the pairs not found before; the new ones back."""
        if not pairs:
            return []
        stmt = text(
            """
            INSERT INTO listing_matches (wanted_listing_id, offer_listing_id, score,
                wanted_organization_id, offer_organization_id, found_at)
            SELECT p.wanted, p.offer, p.score, w.owner_organization_id, o.owner_organization_id,
                   :now
            FROM jsonb_to_recordset(CAST(:pairs AS jsonb))
                AS p(wanted uuid, offer uuid, score numeric)
            JOIN listings AS w ON w.id = p.wanted
            JOIN listings AS o ON o.id = p.offer
            ON CONFLICT DO NOTHING
            RETURNING wanted_listing_id, offer_listing_id, score,
                      (SELECT owner_person_id FROM listings WHERE id = wanted_listing_id)
                          AS wanted_person_id,
                      wanted_organization_id
            """
        ).bindparams(bindparam("pairs", type_=Text))
        payload = orjson.dumps(
            [{"wanted": str(w), "offer": str(o), "score": str(score)} for w, o, score in pairs]
        ).decode()
        rows = (await self.session.execute(stmt, {"pairs": payload, "now": now})).mappings()
        return [dict(r) for r in rows]

    async def organization_matches(
        self,
        organization_id: uuid.UUID,
        *,
        since: datetime | None,
        after: tuple[datetime, uuid.UUID, uuid.UUID] | None,
        limit: int,
    ) -> list[OrganizationMatchRow]:
        """The pairs one of the organization's listings is in, oldest first (an ERP polls
        with ``since``), each with the other listing's JSON at its public point."""
        clauses = []
        params: dict[str, Any] = {"org": organization_id, "limit": limit + 1}
        if since is not None:
            clauses.append("m.found_at > :since")
            params["since"] = since
        if after is not None:
            clauses.append(
                "(m.found_at, m.wanted_listing_id, m.offer_listing_id) "
                "> (:after_t, :after_w, :after_o)"
            )
            params.update(after_t=after[0], after_w=after[1], after_o=after[2])
        where = " AND ".join(clauses) or "true"
        doc = listing_json_sql(PUBLIC_POINT)
        stmt = text(
            f"""
            WITH mine AS (
                SELECT * FROM listing_matches AS m
                WHERE m.wanted_organization_id = :org AND {where}
                UNION
                SELECT * FROM listing_matches AS m
                WHERE m.offer_organization_id = :org AND {where}
            ),
            page AS (
                SELECT * FROM mine
                ORDER BY found_at, wanted_listing_id, offer_listing_id LIMIT :limit
            )
            SELECT page.found_at, page.score, page.wanted_listing_id, page.offer_listing_id,
                   CASE WHEN page.wanted_organization_id = :org THEN page.wanted_listing_id
                        ELSE page.offer_listing_id END AS own_listing_id,
                   {doc}::text AS doc
            FROM page
            JOIN listings AS l ON l.id = CASE WHEN page.wanted_organization_id = :org
                                              THEN page.offer_listing_id
                                              ELSE page.wanted_listing_id END
            {LISTING_JOINS}
            ORDER BY page.found_at, page.wanted_listing_id, page.offer_listing_id
            """
        ).bindparams(bindparam("org", type_=Uuid))
        rows = (await self.session.execute(with_caller(stmt, ANONYMOUS), params)).all()
        return [
            OrganizationMatchRow(
                found_at=r.found_at,
                score=r.score,
                wanted_listing_id=r.wanted_listing_id,
                offer_listing_id=r.offer_listing_id,
                own_listing_id=r.own_listing_id,
                doc=r.doc.encode(),
            )
            for r in rows
        ]
