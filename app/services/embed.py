"""What the embeddable map's pages need from the database: the place a map fits, and the
kommuner a municipality chooses from in the builder."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import UnknownKommuneError
from app.geo import NORWAY_BBOX
from app.repositories.geography import GeographyRepository
from app.services import tile
from app.services.impact.catalogue import BY_ID, Indicator
from app.services.impact.query import Row, aggregate, build_query
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


# --- a kommune's numbers (GET /embed/impact) --------------------------------------------------

# The figures a kommune's page leads with: what people did, and what it saved.
HEADLINE_INDICATORS = (
    "sg1.reuse.handovers",
    "sg1.repairs.count",
    "sg2.loans.count",
    "sg1.reuse.co2e",
)


@dataclass(frozen=True, slots=True)
class ScopeFigure:
    """One indicator over the last 12 months in one place, as ``GET /v1/impact`` gives it."""

    value: Decimal | None  # None when suppressed
    suppressed: bool
    population: int | None
    per_1000: Decimal | None  # value per 1,000 inhabitants; None when either is unknown


@dataclass(frozen=True, slots=True)
class HeadlineRow:
    indicator: Indicator
    kommune: ScopeFigure
    fylke: ScopeFigure
    norway: ScopeFigure
    months: list[Row]  # the kommune's months, oldest first, each suppressed or not


@dataclass(frozen=True, slots=True)
class ImpactView:
    kommunenummer: str
    kommune: str
    fylke: str
    month_from: date
    month_to: date
    population_year: int | None
    rows: list[HeadlineRow]


def _per_1000(value: Decimal | None, population: int | None, decimals: int) -> Decimal | None:
    if value is None or not population:
        return None
    return (value * 1000 / population).quantize(Decimal(1).scaleb(-(decimals + 2)))


async def impact_view(session: AsyncSession, *, kommune: str, now: datetime) -> ImpactView:
    """The headline indicators of a kommune for the 12 months to this one, beside its fylke
    and Norway, each figure as ``GET /v1/impact`` suppresses it (422 for an unknown kommune)."""
    geography = GeographyRepository(session)
    place = await geography.get_kommune(kommune)
    if place is None:
        raise UnknownKommuneError.for_number(kommune, location="query", field="kommune")
    fylkesnummer = place["fylkesnummer"]
    fylker = {f["fylkesnummer"]: f for f in await geography.list_fylker()}
    norway_known = all(f["population"] is not None for f in fylker.values())
    populations = {
        "kommune": place["population"],
        "fylke": fylker[fylkesnummer]["population"],
        "norway": sum(f["population"] for f in fylker.values()) if norway_known else None,
    }

    async def totals(**scope: str | None) -> dict[str, Row]:
        query = await build_query(
            session,
            indicator=list(HEADLINE_INDICATORS),
            group_by=[],
            month_from=None,
            month_to=None,
            evidence="all",
            fylke=scope.get("fylke"),
            kommune=scope.get("kommune"),
            initiative=None,
            baseline=None,
            now=now,
        )
        return {row.indicator: row for row in (await aggregate(session, query)).rows}

    by_scope = {
        "kommune": await totals(kommune=kommune),
        "fylke": await totals(fylke=fylkesnummer),
        "norway": await totals(),
    }
    monthly = await build_query(
        session,
        indicator=list(HEADLINE_INDICATORS),
        group_by=["month"],
        month_from=None,
        month_to=None,
        evidence="all",
        fylke=None,
        kommune=kommune,
        initiative=None,
        baseline=None,
        now=now,
    )
    months = (await aggregate(session, monthly)).rows

    def figure(scope: str, indicator: Indicator) -> ScopeFigure:
        row = by_scope[scope].get(indicator.id)
        population = populations[scope]
        value = None if row is None or row.suppressed else row.value
        if row is not None and not row.suppressed and value is None:
            value = Decimal(0)
        return ScopeFigure(
            value=value,
            suppressed=row is not None and row.suppressed,
            population=population,
            per_1000=_per_1000(value, population, indicator.decimals),
        )

    rows = []
    for indicator_id in HEADLINE_INDICATORS:
        indicator = BY_ID[indicator_id]
        rows.append(
            HeadlineRow(
                indicator=indicator,
                kommune=figure("kommune", indicator),
                fylke=figure("fylke", indicator),
                norway=figure("norway", indicator),
                months=[r for r in months if r.indicator == indicator_id],
            )
        )
    return ImpactView(
        kommunenummer=kommune,
        kommune=place["short_name"],
        fylke=fylker[fylkesnummer]["short_name"],
        month_from=monthly.month_from,
        month_to=monthly.month_to,
        population_year=place["population_year"],
        rows=rows,
    )
