"""Rules around Norwegian geography: listing, placing points, GeoJSON features."""

from __future__ import annotations

from sqlalchemy import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import (
    FylkeNotFoundError,
    KommuneNotFoundError,
    OutsideNorwayError,
    UnknownKommuneError,
)
from app.geo import COAST_FALLBACK_M, NORWAY_BBOX
from app.pagination import decode_cursor, encode_cursor
from app.repositories.geography import GeographyRepository
from app.schemas.common import Page
from app.schemas.geography import FylkeRead, GeoLookupRead, KommuneRead, KommuneSummary, PlaceRef


async def check_kommune_filter(session: AsyncSession, kommunenummer: str | None) -> None:
    """A ``kommune`` query filter, when given, names a kommune that exists: otherwise ``422
    unknown_kommune`` on the query field ``kommune``."""
    if kommunenummer is not None and not await GeographyRepository(session).kommune_exists(
        kommunenummer
    ):
        raise UnknownKommuneError.for_number(kommunenummer, location="query", field="kommune")


async def list_kommuner(
    session: AsyncSession, *, fylkesnummer: str | None, cursor: str | None, limit: int
) -> Page[KommuneSummary]:
    repo = GeographyRepository(session)
    after = decode_cursor(cursor, required=("k",))["k"] if cursor else None
    if fylkesnummer is not None and not await repo.fylke_exists(fylkesnummer):
        raise FylkeNotFoundError(f"No fylke has the number {fylkesnummer}.")
    rows = await repo.list_kommuner(
        fylkesnummer=fylkesnummer, after=str(after) if after is not None else None, limit=limit + 1
    )
    items = [KommuneSummary.model_validate(dict(r)) for r in rows[:limit]]
    next_cursor = encode_cursor({"k": items[-1].kommunenummer}) if len(rows) > limit else None
    return Page[KommuneSummary](items=items, next_cursor=next_cursor)


async def get_kommune(session: AsyncSession, *, kommunenummer: str) -> KommuneRead:
    m = await GeographyRepository(session).get_kommune(kommunenummer)
    if m is None:
        raise KommuneNotFoundError(f"No kommune has the number {kommunenummer}.")
    return KommuneRead(
        **{k: m[k] for k in KommuneSummary.model_fields},
        bbox=(m["min_lon"], m["min_lat"], m["max_lon"], m["max_lat"]),
        label_point=(m["label_lon"], m["label_lat"]),
    )


# The two Features below leave as the JSON PostGIS builds (``ST_AsGeoJSON``): the body is
# almost all boundary coordinates (up to 1,800 points for a kommune, 14,000 for a fylke), which
# a model would only decode and re-encode, number by number. Not a measured hot path (a map
# fetches a boundary once and caches it for a day), so not the benchmark's exception: the
# reason is the size. The routers declare them as RFC 7946 Features.
async def get_kommune_feature(session: AsyncSession, *, kommunenummer: str) -> bytes:
    feature = await GeographyRepository(session).kommune_feature_json(kommunenummer)
    if feature is None:
        raise KommuneNotFoundError(f"No kommune has the number {kommunenummer}.")
    return feature


def _fylke(m: RowMapping) -> FylkeRead:
    complete = m["with_population"] == m["kommune_count"] and m["kommune_count"] > 0
    return FylkeRead(
        fylkesnummer=m["fylkesnummer"],
        name=m["name"],
        short_name=m["short_name"],
        kommune_count=m["kommune_count"],
        population=int(m["population"]) if complete else None,
        population_year=m["population_year"] if complete else None,
        area_km2=m["area_km2"],
    )


async def list_fylker(session: AsyncSession) -> list[FylkeRead]:
    return [_fylke(r) for r in await GeographyRepository(session).list_fylker()]


async def get_fylke(session: AsyncSession, *, fylkesnummer: str) -> FylkeRead:
    rows = await GeographyRepository(session).list_fylker(fylkesnummer=fylkesnummer)
    if not rows:
        raise FylkeNotFoundError(f"No fylke has the number {fylkesnummer}.")
    return _fylke(rows[0])


async def get_fylke_feature(session: AsyncSession, *, fylkesnummer: str) -> bytes:
    feature = await GeographyRepository(session).fylke_feature_json(fylkesnummer)
    if feature is None:
        raise FylkeNotFoundError(f"No fylke has the number {fylkesnummer}.")
    return feature


async def area_features(
    session: AsyncSession,
    collection: str,
    *,
    bbox: tuple[float, float, float, float] | None,
    limit: int,
    offset: int,
) -> tuple[list[bytes], int]:
    """A page of kommuner or fylker as Features, and how many match (OGC API items)."""
    return await GeographyRepository(session).features_page(
        collection, bbox=bbox, limit=limit, offset=offset
    )


async def locate(session: AsyncSession, *, lat: float, lon: float) -> GeoLookupRead:
    """The kommune and fylke of a point: the one containing it, or the nearest within
    ``COAST_FALLBACK_M``. Every feature that places something on the map calls this."""
    min_lon, min_lat, max_lon, max_lat = NORWAY_BBOX
    hit = None
    if min_lon <= lon <= max_lon and min_lat <= lat <= max_lat:
        hit = await GeographyRepository(session).locate(
            lon=lon, lat=lat, max_distance_m=COAST_FALLBACK_M
        )
    if hit is None:
        raise OutsideNorwayError(
            f"The point (lat {lat}, lon {lon}) is not in a Norwegian kommune nor within "
            f"{COAST_FALLBACK_M / 1000:g} km of one."
        )
    return GeoLookupRead(
        lat=lat,
        lon=lon,
        kommune=PlaceRef(
            number=hit.kommunenummer, name=hit.kommune_name, short_name=hit.kommune_short_name
        ),
        fylke=PlaceRef(
            number=hit.fylkesnummer, name=hit.fylke_name, short_name=hit.fylke_short_name
        ),
        match="inside" if hit.distance_m == 0 else "nearest",
        distance_m=round(hit.distance_m, 1),
    )
