"""Every SQL statement about fylker and kommuner."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Numeric, RowMapping, bindparam, cast, delete, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.geo import SRID
from app.models import Fylke, Kommune, KommunePart
from app.repositories import raw
from app.repositories.sql import all_values

# Vertices per piece when kommune polygons are cut for point lookups (see KommunePart).
SUBDIVIDE_MAX_VERTICES = 255
# Nearest pieces (by planar distance in degrees) re-ranked by true distance in metres.
_LOOKUP_CANDIDATES = 8


# The boundaries' vector tile: kommuner and fylker as polygons, simplified to the tile's
# pixel, and one label point per kommune (ST_PointOnSurface: inside even a U-shaped kommune)
# and per fylke. ST_AsMVT returns NULL for an empty layer; the layers concatenate (an MVT is a
# sequence of layers). The envelope test uses the tables' GiST indexes in 4326.
_BOUNDARY_TILE = text(
    "WITH env AS (SELECT ST_TileEnvelope(:z, :x, :y) AS m, "
    "ST_Transform(ST_TileEnvelope(:z, :x, :y, margin => :margin), 4326) AS g), "
    "k AS (SELECT k.kommunenummer, k.short_name, k.fylkesnummer, "
    "ST_Transform(k.geom, 3857) AS m FROM kommuner AS k, env WHERE k.geom && env.g), "
    "f AS (SELECT f.fylkesnummer, f.short_name, ST_Transform(f.geom, 3857) AS m "
    "FROM fylker AS f, env WHERE f.geom && env.g) "
    "SELECT coalesce((SELECT ST_AsMVT(t, 'kommuner', :extent, 'geom') FROM ("
    "SELECT k.kommunenummer AS nummer, k.short_name AS navn, k.fylkesnummer AS fylke, "
    "ST_AsMVTGeom(ST_SimplifyPreserveTopology(k.m, :pixel), env.m, :extent, :buffer, true) AS geom "
    "FROM k, env WHERE :z >= :kommune_min_zoom) AS t WHERE t.geom IS NOT NULL), '') "
    "|| coalesce((SELECT ST_AsMVT(t, 'fylker', :extent, 'geom') FROM ("
    "SELECT f.fylkesnummer AS nummer, f.short_name AS navn, "
    "ST_AsMVTGeom(ST_SimplifyPreserveTopology(f.m, :pixel), env.m, :extent, :buffer, true) AS geom "
    "FROM f, env) AS t WHERE t.geom IS NOT NULL), '') "
    "|| coalesce((SELECT ST_AsMVT(t, 'labels', :extent, 'geom') FROM ("
    "SELECT 'kommune' AS level, k.kommunenummer AS nummer, k.short_name AS navn, "
    "ST_AsMVTGeom(ST_PointOnSurface(k.m), env.m, :extent, 0, true) AS geom "
    "FROM k, env WHERE :z >= :kommune_min_zoom "
    "UNION ALL SELECT 'fylke', f.fylkesnummer, f.short_name, "
    "ST_AsMVTGeom(ST_PointOnSurface(f.m), env.m, :extent, 0, true) "
    "FROM f, env WHERE :z < :kommune_label_min_zoom) AS t WHERE t.geom IS NOT NULL), '')"
)


@dataclass(frozen=True, slots=True)
class LookupHit:
    kommunenummer: str
    kommune_name: str
    kommune_short_name: str
    fylkesnummer: str
    fylke_name: str
    fylke_short_name: str
    distance_m: float


def _kommune_summary() -> tuple[Any, ...]:
    """The columns of a kommune in a list (``KommuneSummary``); its fylke joined as ``Fylke``."""
    return (
        Kommune.kommunenummer,
        Kommune.name,
        Kommune.short_name,
        Kommune.fylkesnummer,
        Fylke.name.label("fylke_name"),
        Kommune.population,
        Kommune.population_year,
        Kommune.area_km2,
    )


# A kommune's and a fylke's GeoJSON properties: name -> SQL expression (constants only).
_KOMMUNE_PROPERTIES = {
    "kommunenummer": "k.kommunenummer",
    "name": "k.name",
    "short_name": "k.short_name",
    "fylkesnummer": "k.fylkesnummer",
    "fylke_name": "f.name",
    "population": "k.population",
    "population_year": "k.population_year",
    "area_km2": "round(k.area_km2::numeric, 2)",
}
_FYLKE_PROPERTIES = {
    "fylkesnummer": "f.fylkesnummer",
    "name": "f.name",
    "short_name": "f.short_name",
    "area_km2": "round(f.area_km2::numeric, 2)",
}


class GeographyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- reads -------------------------------------------------------------------------

    async def list_kommuner(
        self, *, fylkesnummer: str | None, after: str | None, limit: int
    ) -> list[RowMapping]:
        stmt = (
            select(*_kommune_summary())
            .join(Fylke, Fylke.fylkesnummer == Kommune.fylkesnummer)
            .order_by(Kommune.kommunenummer)
            .limit(limit)
        )
        if fylkesnummer is not None:
            stmt = stmt.where(Kommune.fylkesnummer == fylkesnummer)
        if after is not None:
            stmt = stmt.where(Kommune.kommunenummer > after)
        return list((await self.session.execute(stmt)).mappings().all())

    async def get_kommune(self, kommunenummer: str) -> RowMapping | None:
        stmt = (
            select(
                *_kommune_summary(),
                func.ST_XMin(Kommune.geom).label("min_lon"),
                func.ST_YMin(Kommune.geom).label("min_lat"),
                func.ST_XMax(Kommune.geom).label("max_lon"),
                func.ST_YMax(Kommune.geom).label("max_lat"),
                func.round(cast(func.ST_X(func.ST_PointOnSurface(Kommune.geom)), Numeric), 6).label(
                    "label_lon"
                ),
                func.round(cast(func.ST_Y(func.ST_PointOnSurface(Kommune.geom)), Numeric), 6).label(
                    "label_lat"
                ),
            )
            .join(Fylke, Fylke.fylkesnummer == Kommune.fylkesnummer)
            .where(Kommune.kommunenummer == kommunenummer)
        )
        return (await self.session.execute(stmt)).mappings().one_or_none()

    async def kommune_feature_json(self, kommunenummer: str) -> bytes | None:
        """The kommune as an RFC 7946 Feature, built by PostGIS (6 decimals ≈ 0.1 m)."""
        return await self._feature_json(
            "k",
            "kommunenummer",
            _KOMMUNE_PROPERTIES,
            from_="kommuner k JOIN fylker f USING (fylkesnummer)",
            key=kommunenummer,
        )

    async def list_fylker(self, *, fylkesnummer: str | None = None) -> list[RowMapping]:
        kommune_stats = (
            select(
                Kommune.fylkesnummer,
                func.count().label("kommune_count"),
                # NULL when any kommune lacks a population, rather than a silent undercount.
                func.sum(Kommune.population).label("population"),
                func.count(Kommune.population).label("with_population"),
                func.max(Kommune.population_year).label("population_year"),
            )
            .group_by(Kommune.fylkesnummer)
            .subquery()
        )
        stmt = (
            select(
                Fylke.fylkesnummer,
                Fylke.name,
                Fylke.short_name,
                Fylke.area_km2,
                func.coalesce(kommune_stats.c.kommune_count, 0).label("kommune_count"),
                kommune_stats.c.population,
                kommune_stats.c.with_population,
                kommune_stats.c.population_year,
            )
            .outerjoin(kommune_stats, kommune_stats.c.fylkesnummer == Fylke.fylkesnummer)
            .order_by(Fylke.fylkesnummer)
        )
        if fylkesnummer is not None:
            stmt = stmt.where(Fylke.fylkesnummer == fylkesnummer)
        return list((await self.session.execute(stmt)).mappings().all())

    async def fylke_feature_json(self, fylkesnummer: str) -> bytes | None:
        """The fylke as an RFC 7946 Feature, built by PostGIS (6 decimals ≈ 0.1 m)."""
        return await self._feature_json(
            "f",
            "fylkesnummer",
            _FYLKE_PROPERTIES,
            from_="fylker f",
            key=fylkesnummer,
        )

    async def features_page(
        self,
        collection: str,
        *,
        bbox: tuple[float, float, float, float] | None,
        limit: int,
        offset: int,
    ) -> tuple[list[bytes], int]:
        """A page of kommuner or fylker as GeoJSON Features (in number order), and how many
        match in all (357 at most: cheap)."""
        if collection == "kommuner":
            alias, id_column = "k", "kommunenummer"
            properties = _KOMMUNE_PROPERTIES
            from_ = "kommuner k JOIN fylker f USING (fylkesnummer)"
        else:
            alias, id_column = "f", "fylkesnummer"
            properties = _FYLKE_PROPERTIES
            from_ = "fylker f"
        members = ", ".join(f"'{name}', {expression}" for name, expression in properties.items())
        where = "true"
        params: dict[str, Any] = {"limit": limit, "offset": offset}
        if bbox is not None:
            where = f"{alias}.geom && ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326)"
            params |= dict(zip(("x0", "y0", "x1", "y1"), bbox, strict=True))
        stmt = text(
            f"""
            SELECT json_build_object(
                'type', 'Feature',
                'id', {alias}.{id_column},
                'geometry', ST_AsGeoJSON({alias}.geom, 6)::json,
                'properties', json_build_object({members})
            )::text, count(*) OVER ()
            FROM {from_}
            WHERE {where}
            ORDER BY {alias}.{id_column}
            LIMIT :limit OFFSET :offset
            """
        )
        rows = (await self.session.execute(stmt, params)).all()
        if not rows:
            total = 0
            if offset:
                count = text(f"SELECT count(*) FROM {from_} WHERE {where}")
                total = int((await self.session.execute(count, params)).scalar_one())
            return [], total
        return [row[0].encode() for row in rows], int(rows[0][1])

    async def _feature_json(
        self, alias: str, id_column: str, properties: dict[str, str], *, from_: str, key: str
    ) -> bytes | None:
        """One row of ``from_`` (``alias.id_column = key``) as a GeoJSON Feature, its
        ``properties`` given as name → SQL expression (constants of this module only)."""
        members = ", ".join(f"'{name}', {expression}" for name, expression in properties.items())
        stmt = text(
            f"""
            SELECT json_build_object(
                'type', 'Feature',
                'id', {alias}.{id_column},
                'geometry', ST_AsGeoJSON({alias}.geom, 6)::json,
                'properties', json_build_object({members})
            )::text
            FROM {from_}
            WHERE {alias}.{id_column} = :key
            """
        )
        value = (await self.session.execute(stmt, {"key": key})).scalar()
        return value.encode() if value is not None else None

    async def fylke_exists(self, fylkesnummer: str) -> bool:
        stmt = select(Fylke.fylkesnummer).where(Fylke.fylkesnummer == fylkesnummer)
        return (await self.session.execute(stmt)).first() is not None

    async def locate(self, *, lon: float, lat: float, max_distance_m: float) -> LookupHit | None:
        """The kommune containing the point, or the nearest one within ``max_distance_m``.

        One statement over the subdivided pieces (``kommune_parts``). ``inside`` is an
        index probe (``&&`` then ``ST_Intersects`` on one small polygon); only when it finds
        nothing does the fallback run (a one-time filter on ``NOT EXISTS (inside)``): the GiST
        index yields the nearest pieces by planar distance, which are re-ranked by the true
        distance in metres on the spheroid. Ties (a point exactly on a border) are broken by
        kommunenummer, so the answer is deterministic.
        """
        stmt = text(
            f"""
            WITH p AS (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), {SRID}) AS g),
            inside AS MATERIALIZED (
                SELECT kp.kommunenummer, 0.0::float8 AS distance_m
                FROM kommune_parts kp, p
                WHERE ST_Intersects(kp.geom, p.g)
                ORDER BY kp.kommunenummer
                LIMIT 1
            ),
            hit AS (
                SELECT * FROM inside
                UNION ALL
                SELECT * FROM (
                    SELECT c.kommunenummer,
                           ST_Distance(c.geom::geography, p.g::geography) AS distance_m
                    FROM p, LATERAL (
                        SELECT kommunenummer, geom FROM kommune_parts
                        ORDER BY geom <-> p.g
                        LIMIT {_LOOKUP_CANDIDATES}
                    ) c
                    WHERE NOT EXISTS (SELECT 1 FROM inside)
                      AND ST_DWithin(c.geom::geography, p.g::geography, :max_distance_m)
                    ORDER BY 2, 1
                    LIMIT 1
                ) nearest
            )
            SELECT h.kommunenummer, k.name AS kommune_name, k.short_name AS kommune_short_name,
                   k.fylkesnummer, f.name AS fylke_name, f.short_name AS fylke_short_name,
                   h.distance_m
            FROM hit h
            JOIN kommuner k ON k.kommunenummer = h.kommunenummer
            JOIN fylker f ON f.fylkesnummer = k.fylkesnummer
            """
        )
        row = (
            (
                await self.session.execute(
                    stmt, {"lon": lon, "lat": lat, "max_distance_m": max_distance_m}
                )
            )
            .mappings()
            .one_or_none()
        )
        if row is None:
            return None
        return LookupHit(**row)

    # --- writes (reference data loading) ----------------------------------------------

    async def upsert_fylker(self, rows: list[dict[str, str]]) -> None:
        """rows: fylkesnummer, name, geojson (a GeoJSON geometry as text)."""
        await self._upsert_areas(Fylke, "fylkesnummer", ("name",), rows)

    async def upsert_kommuner(self, rows: list[dict[str, str]]) -> None:
        """rows: kommunenummer, name, fylkesnummer, geojson."""
        await self._upsert_areas(Kommune, "kommunenummer", ("name", "fylkesnummer"), rows)

    async def _upsert_areas(
        self,
        model: type[Fylke] | type[Kommune],
        number: str,
        columns: tuple[str, ...],
        rows: list[dict[str, str]],
    ) -> None:
        """Insert or update fylker or kommuner by their number: the ``columns`` as given, the
        geometry from the row's ``geojson`` and the area computed from it."""
        geom = func.ST_Multi(func.ST_SetSRID(func.ST_GeomFromGeoJSON(bindparam("geojson")), SRID))
        stmt = insert(model).values(
            **{column: bindparam(column) for column in (number, *columns)},
            geom=geom,
            area_km2=func.round(cast(func.ST_Area(func.geography(geom)) / 1e6, Numeric), 2),
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[getattr(model, number)],
            set_={column: stmt.excluded[column] for column in (*columns, "geom", "area_km2")},
        )
        await self.session.execute(stmt, rows)

    async def rebuild_kommune_parts(self) -> int:
        await self.session.execute(delete(KommunePart))
        result = await self.session.execute(
            text(
                """
                INSERT INTO kommune_parts (kommunenummer, geom)
                SELECT kommunenummer, ST_Subdivide(geom, :max_vertices)
                FROM kommuner
                """
            ),
            {"max_vertices": SUBDIVIDE_MAX_VERTICES},
        )
        # Fresh statistics, so the planner knows these tables are small and indexed.
        await self.session.execute(text("ANALYZE fylker, kommuner, kommune_parts"))
        return int(getattr(result, "rowcount", 0))

    async def set_population(self, rows: list[dict[str, Any]]) -> None:
        """rows: kommunenummer, population, year."""
        # ORM bulk UPDATE by primary key: one executemany.
        params = [
            {
                "kommunenummer": r["kommunenummer"],
                "population": r["population"],
                "population_year": r["year"],
            }
            for r in rows
        ]
        await self.session.execute(update(Kommune), params)

    async def kommunenummer_set(self) -> set[str]:
        return await all_values(self.session, Kommune.kommunenummer)

    async def boundary_tile(
        self,
        *,
        z: int,
        x: int,
        y: int,
        extent: int,
        buffer: int,
        kommune_min_zoom: int,
        kommune_label_min_zoom: int,
    ) -> bytes:
        """The MVT of kommune and fylke boundaries and labels (empty bytes: nothing here).
        Kommune polygons from ``kommune_min_zoom``; fylke labels below
        ``kommune_label_min_zoom``, kommune labels from ``kommune_min_zoom``."""
        # A pixel of this tile in Web Mercator metres: the simplification tolerance.
        pixel = 2 * 20037508.342789244 / 2**z / extent
        stmt = _BOUNDARY_TILE.bindparams(
            z=z,
            x=x,
            y=y,
            extent=extent,
            buffer=buffer,
            margin=buffer / extent,
            pixel=pixel,
            kommune_min_zoom=kommune_min_zoom,
            kommune_label_min_zoom=kommune_label_min_zoom,
        )
        return bytes(await raw.fetchval(self.session, stmt) or b"")

    async def area_view(
        self, *, kommunenummer: str | None = None, fylkesnummer: str | None = None
    ) -> RowMapping | None:
        """A kommune's or a fylke's short name and bounds (``west``, ``south``, ``east``,
        ``north``), for a map that fits it; None when there is no such area."""
        if kommunenummer is not None:
            name, geom, where = (
                Kommune.short_name,
                Kommune.geom,
                Kommune.kommunenummer == kommunenummer,
            )
        else:
            name, geom, where = Fylke.short_name, Fylke.geom, Fylke.fylkesnummer == fylkesnummer
        stmt = select(
            name.label("name"),
            func.ST_XMin(geom).label("west"),
            func.ST_YMin(geom).label("south"),
            func.ST_XMax(geom).label("east"),
            func.ST_YMax(geom).label("north"),
        ).where(where)
        return (await self.session.execute(stmt)).mappings().one_or_none()

    async def kommune_exists(self, kommunenummer: str) -> bool:
        stmt = select(Kommune.kommunenummer).where(Kommune.kommunenummer == kommunenummer)
        return (await self.session.execute(stmt)).first() is not None
