"""A year's impact figures as open data: ``GET /v1/impact/datapackage/{year}.zip``.

``datapackage_figures`` gathers what the package publishes (``app.render.datapackage`` turns
it into a Frictionless Data Package): for the whole country, a fylke or a kommune, every
indicator of the catalogue for the year, as the year's total and grouped by each of
``GROUPINGS`` the indicator supports — the place groupings only below the area (with a
kommune given, none; with a fylke given, its kommuner) — and with them the evidence ledger's
head at the end of the year and now, the impact factor revisions and the reference datasets.

**Every figure comes from the aggregate service** (``app.services.impact.query``), cut as
the yearly report cuts it (the twelve months of the year, evidence of every grade), so the
package suppresses exactly what ``GET /v1/impact`` suppresses for the same indicator and
grouping. A table holds the rows the aggregate returns and nothing else: a place, month,
category or sector without a row had nothing counted, and no zero rows are made up for it.
The values hidden by suppression do not leave this module (``Cell`` has no room for them).

All of it is read from the caller's session, one database snapshot: the same database state
gives the same figures, whenever they are asked for (nothing here depends on the clock but
which years may be asked for).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import InvalidPeriodError
from app.repositories.impact.report import (
    FactorRevision,
    ImpactReportRepository,
    LedgerHead,
    LoadedDataset,
)
from app.services.impact.catalogue import INDICATORS, Indicator
from app.services.impact.frameworks import Frameworks, frameworks
from app.services.impact.periods import EARLIEST_YEAR, NORWAY
from app.services.impact.query import MAX_INDICATORS, Row, aggregate, build_query
from app.services.impact.report import ReportArea
from app.services.impact.suppression import Suppression

Grouping = Literal["month", "fylke", "kommune", "category", "sector"]
# None: the year's total. In this order in the package, after the indicators' order.
GROUPINGS: tuple[Grouping | None, ...] = (None, "month", "fylke", "kommune", "category", "sector")


@dataclass(frozen=True, slots=True)
class Cell:
    """One row of a table: the grouping's key and the figure as ``GET /v1/impact`` gives it
    (``value`` and ``records`` are None when suppressed; ``value`` also when there is nothing
    to compute, a share without a denominator)."""

    key: str | None  # None for the total, and for records without the grouping's key
    value: Decimal | None
    records: int | None
    suppressed: bool
    suppression: Suppression | None


@dataclass(frozen=True, slots=True)
class Table:
    """One indicator for the year, in total or by one grouping; cells in key order."""

    indicator: Indicator
    grouping: Grouping | None
    cells: tuple[Cell, ...]


@dataclass(frozen=True, slots=True)
class DataPackageFigures:
    year: int
    area: ReportArea
    fylke: str | None  # the filters as asked (a kommune outside the fylke counts nothing)
    kommune: str | None
    groupings: tuple[Grouping | None, ...]  # those published for the area
    tables: tuple[Table, ...]  # by indicator (the catalogue's order), then by grouping
    population_year: int | None  # of the population the per-1,000 figures divide by
    fylke_names: dict[str, str]  # by number; only when a table is grouped by fylke
    kommune_names: dict[str, str]  # likewise, by kommune
    revisions: tuple[FactorRevision, ...]
    datasets: tuple[LoadedDataset, ...]
    head_at_year_end: LedgerHead | None  # the last record registered before the year ended
    head_now: LedgerHead | None  # the figures are computed from the ledger up to this one
    frameworks: Frameworks


def groupings_for(*, fylke: str | None, kommune: str | None) -> tuple[Grouping | None, ...]:
    """The groupings published for an area: no place groupings within a kommune, and no
    fylke grouping within a fylke."""
    if kommune is not None:
        skip: set[str] = {"fylke", "kommune"}
    elif fylke is not None:
        skip = {"fylke"}
    else:
        skip = set()
    return tuple(g for g in GROUPINGS if g not in skip)


async def datapackage_figures(
    session: AsyncSession,
    *,
    year: int,
    fylke: str | None,
    kommune: str | None,
    now: datetime,
) -> DataPackageFigures:
    """The figures of the data package for ``year`` (the whole country, or one fylke or
    kommune). Raises ``InvalidPeriodError`` for a year before 2000 or after next year, and
    the aggregate service's errors for an unknown fylke or kommune."""
    this_year = now.astimezone(NORWAY).year
    if not EARLIEST_YEAR <= year <= this_year + 1:
        raise InvalidPeriodError(
            f"The data package's year is between {EARLIEST_YEAR} and {this_year + 1}."
        )
    groupings = groupings_for(fylke=fylke, kommune=kommune)
    by_table: dict[tuple[str, Grouping | None], list[Row]] = defaultdict(list)
    population_year: int | None = None
    for grouping in groupings:
        ids = [i.id for i in INDICATORS if grouping is None or grouping in i.dims]
        # Suppression works indicator by indicator, so chunks change nothing. The first
        # query checks the fylke and the kommune.
        for start in range(0, len(ids), MAX_INDICATORS):
            query = await build_query(
                session,
                indicator=ids[start : start + MAX_INDICATORS],
                group_by=[grouping] if grouping else [],
                month_from=f"{year:04d}-01",
                month_to=f"{year:04d}-12",
                evidence="all",
                fylke=fylke,
                kommune=kommune,
                initiative=None,
                baseline=None,
                now=now,
            )
            result = await aggregate(session, query)
            population_year = result.population_year or population_year
            for row in result.rows:
                by_table[(row.indicator, grouping)].append(row)

    tables = tuple(
        Table(
            indicator=indicator,
            grouping=grouping,
            cells=_cells(by_table.get((indicator.id, grouping), []), grouping),
        )
        for indicator in INDICATORS
        for grouping in groupings
        if grouping is None or grouping in indicator.dims
    )
    repo = ImpactReportRepository(session)
    fylke_names = await repo.fylke_names()
    if kommune is not None:
        names = await repo.kommune_names(fylkesnummer=kommune[:2])
        area = ReportArea(kind="kommune", number=kommune, name=names.get(kommune, kommune))
    elif fylke is not None:
        area = ReportArea(kind="fylke", number=fylke, name=fylke_names.get(fylke, fylke))
    else:
        area = ReportArea(kind="norway")
    return DataPackageFigures(
        year=year,
        area=area,
        fylke=fylke,
        kommune=kommune,
        groupings=groupings,
        tables=tables,
        population_year=population_year,
        fylke_names=fylke_names if "fylke" in groupings else {},
        kommune_names=(
            await repo.kommune_names(fylkesnummer=fylke) if "kommune" in groupings else {}
        ),
        revisions=tuple(await repo.factor_revisions()),
        datasets=tuple(await repo.reference_datasets()),
        head_at_year_end=await repo.ledger_head_before(datetime(year + 1, 1, 1, tzinfo=NORWAY)),
        head_now=await repo.ledger_head(),
        frameworks=frameworks(),
    )


def _cells(rows: Sequence[Row], grouping: Grouping | None) -> tuple[Cell, ...]:
    cells = [
        Cell(
            key=row.keys.get(grouping) if grouping else None,
            value=row.value,
            records=row.records,
            suppressed=row.suppressed,
            suppression=row.suppression,
        )
        for row in rows
    ]
    # The aggregate orders by key already; sorting again keeps the files stable should it
    # ever order otherwise (records without a key first).
    return tuple(sorted(cells, key=lambda c: c.key or ""))
