"""What the embeddable map's pages need from the database: the place a map fits, and the
kommuner a municipality chooses from in the builder."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from app.geo import NORWAY_BBOX
from app.repositories.geography import GeographyRepository
from app.services import tile
from app.services.listing import ListingFilters

# More kommuner than Norway has: the builder lists them all on one page.
_ALL_KOMMUNER = 1000


@dataclass(frozen=True, slots=True)
class MapView:
    place: str | None  # the kommune's or fylke's short name; None for all of Norway
    bounds: tuple[float, float, float, float]  # west, south, east, north


@dataclass(frozen=True, slots=True)
class KommuneChoice:
    kommunenummer: str
    name: str


@dataclass(frozen=True, slots=True)
class FylkeChoice:
    fylkesnummer: str
    name: str
    kommuner: list[KommuneChoice]


async def map_view(session: AsyncSession, filters: ListingFilters) -> MapView:
    """The area a map of these filters fits (422 for an unknown kommune, fylke or category,
    as the map's tiles would answer)."""
    await tile.check_filters(session, filters)
    geography = GeographyRepository(session)
    row = None
    if filters.kommune is not None:
        row = await geography.area_view(kommunenummer=filters.kommune)
    elif filters.fylke is not None:
        row = await geography.area_view(fylkesnummer=filters.fylke)
    if row is None:
        return MapView(place=None, bounds=NORWAY_BBOX)
    return MapView(place=row["name"], bounds=(row["west"], row["south"], row["east"], row["north"]))


async def kommune_choices(session: AsyncSession) -> list[FylkeChoice]:
    """Every fylke with its kommuner, by number, for the builder's list."""
    geography = GeographyRepository(session)
    fylker = {
        f["fylkesnummer"]: FylkeChoice(f["fylkesnummer"], f["short_name"], [])
        for f in await geography.list_fylker()
    }
    for k in await geography.list_kommuner(fylkesnummer=None, after=None, limit=_ALL_KOMMUNER):
        fylker[k["fylkesnummer"]].kommuner.append(
            KommuneChoice(k["kommunenummer"], k["short_name"])
        )
    return [f for f in fylker.values() if f.kommuner]
