"""The yearly impact report's figures: ``GET /v1/impact/report/{year}``.

For the whole country, a fylke or a kommune, ``yearly_report`` gathers what the page shows
(``app.render.report`` turns it into HTML):

* every indicator of the catalogue for the year, for the year before, and its confirmed share;
* every indicator by month, this year and the year before;
* the fylker compared (with a fylke given: its kommuner) for the ``COMPARED`` indicators;
* the categories of the ``TOP_CATEGORIES`` indicators;
* the impact factor revisions, the reference datasets loaded, and the evidence ledger's head
  at the end of the year and now.

**Every figure comes from the aggregate service** (``app.services.impact.query``), so the
report suppresses exactly what ``GET /v1/impact`` suppresses: a suppressed row carries no
value (the aggregate has already removed it). All figures and the heads are read from the
caller's session, one database snapshot.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import InvalidPeriodError
from app.models.target import TargetScope, TargetStatus
from app.repositories.impact.report import (
    FactorRevision,
    ImpactReportRepository,
    LedgerHead,
    LoadedDataset,
)
from app.repositories.target import TargetRepository
from app.schemas.target import ProgressRead, TargetRead
from app.services.impact.catalogue import INDICATORS
from app.services.impact.periods import EARLIEST_YEAR, NORWAY, current_month
from app.services.impact.query import MAX_INDICATORS, ImpactResult, Row, aggregate, build_query
from app.services.impact.targets import target_progress, target_read

# Compared between fylker (or the kommuner of a fylke): one or two per sub-goal.
COMPARED = (
    "sg1.reuse.handovers",
    "sg1.repairs.count",
    "sg1.reuse.co2e",
    "sg2.loans.per_1000",
    "sg3.materials.tonnes",
)
TOP_CATEGORIES = ("sg1.reuse.handovers", "sg1.repairs.count")
# The targets the report follows, in this order: decided ones first, then proposals.
REPORTED_TARGETS = (TargetStatus.ADOPTED, TargetStatus.RECOMMENDED, TargetStatus.PROPOSED)
MAX_TARGETS = 40

Evidence = Literal["confirmed", "all"]


@dataclass(slots=True)
class IndicatorFigures:
    """The rows of one aggregate by (indicator, key of its single grouping; "" without)."""

    rows: dict[tuple[str, str | None], Row]
    population_year: int | None = None

    @classmethod
    def of(cls, results: Iterable[ImpactResult], dim: str | None) -> IndicatorFigures:
        rows: dict[tuple[str, str | None], Row] = {}
        year: int | None = None
        for result in results:
            year = result.population_year or year
            for row in result.rows:
                rows[(row.indicator, row.keys.get(dim) if dim else "")] = row
        return cls(rows=rows, population_year=year)

    def get(self, indicator: str, key: str | None = "") -> Row | None:
        return self.rows.get((indicator, key))

    def keyed(self, indicator: str) -> list[tuple[str | None, Row]]:
        return [(k, r) for (i, k), r in self.rows.items() if i == indicator]


@dataclass(frozen=True, slots=True)
class ReportArea:
    """What the report covers: the whole country, one fylke or one kommune."""

    kind: Literal["norway", "fylke", "kommune"]
    number: str | None = None
    name: str | None = None  # as the geography names it; None for Norway


@dataclass(frozen=True, slots=True)
class PlaceComparison:
    """The ``COMPARED`` indicators for every fylke (or every kommune of the report's fylke)."""

    dimension: Literal["fylke", "kommune"]
    names: dict[str, str]  # by number, in number order
    figures: IndicatorFigures


@dataclass(frozen=True, slots=True)
class TargetFigures:
    """A target of the report's area and its progress up to the report's year."""

    target: TargetRead
    progress: ProgressRead


@dataclass(frozen=True, slots=True)
class YearlyReport:
    year: int
    made_at: datetime
    area: ReportArea
    last_month: int  # months after it have not happened yet (0: none have)
    monthly: IndicatorFigures
    monthly_year_before: IndicatorFigures | None  # None: the year before is before 2000
    yearly: IndicatorFigures  # with the change against the year before as the baseline
    yearly_year_before: IndicatorFigures | None
    confirmed: IndicatorFigures
    places: PlaceComparison | None  # None for a kommune
    categories: IndicatorFigures
    category_names: dict[str, str]
    revisions: list[FactorRevision]
    datasets: list[LoadedDataset]
    head_at_year_end: LedgerHead | None
    head_now: LedgerHead | None
    targets: list[TargetFigures]


async def yearly_report(
    session: AsyncSession,
    *,
    year: int,
    fylke: str | None,
    kommune: str | None,
    now: datetime,
) -> YearlyReport:
    """The figures of the report for ``year`` (the whole country, or one fylke or kommune).
    Raises ``InvalidPeriodError`` for a year before 2000 or after next year, and the aggregate
    service's errors for an unknown fylke or kommune."""
    this_year = now.astimezone(NORWAY).year
    if not EARLIEST_YEAR <= year <= this_year + 1:
        raise InvalidPeriodError(
            f"The report's year is between {EARLIEST_YEAR} and {this_year + 1}."
        )
    ids = [i.id for i in INDICATORS]
    has_before = year - 1 >= EARLIEST_YEAR

    async def figures(
        indicators: Sequence[str],
        dim: str | None,
        *,
        of_year: int = year,
        evidence: Evidence = "all",
        baseline: int | None = None,
    ) -> IndicatorFigures:
        results = []
        # Suppression works indicator by indicator, so chunks change nothing.
        for start in range(0, len(indicators), MAX_INDICATORS):
            query = await build_query(
                session,
                indicator=list(indicators[start : start + MAX_INDICATORS]),
                group_by=[dim] if dim else [],
                month_from=f"{of_year:04d}-01",
                month_to=f"{of_year:04d}-12",
                evidence=evidence,
                fylke=fylke,
                kommune=kommune,
                initiative=None,
                baseline=baseline,
                now=now,
            )
            results.append(await aggregate(session, query))
        return IndicatorFigures.of(results, dim)

    # First: it checks the fylke and the kommune.
    monthly = await figures(ids, "month")
    monthly_before = await figures(ids, "month", of_year=year - 1) if has_before else None
    yearly = await figures(ids, None, baseline=year - 1 if has_before else None)
    yearly_before = await figures(ids, None, of_year=year - 1) if has_before else None
    confirmed = await figures(ids, None, evidence="confirmed")
    categories = await figures(TOP_CATEGORIES, "category")

    repo = ImpactReportRepository(session)
    fylke_names = await repo.fylke_names()
    places: PlaceComparison | None = None
    if kommune is None:
        dimension: Literal["fylke", "kommune"] = "kommune" if fylke is not None else "fylke"
        places = PlaceComparison(
            dimension=dimension,
            figures=await figures(COMPARED, dimension),
            names=(
                await repo.kommune_names(fylkesnummer=fylke) if fylke is not None else fylke_names
            ),
        )
    if kommune is not None:
        names = await repo.kommune_names(fylkesnummer=kommune[:2])
        area = ReportArea(kind="kommune", number=kommune, name=names.get(kommune, kommune))
    elif fylke is not None:
        area = ReportArea(kind="fylke", number=fylke, name=fylke_names.get(fylke, fylke))
    else:
        area = ReportArea(kind="norway")

    current = current_month(now)
    if year < current.year:
        last_month = 12
    elif year == current.year:
        last_month = current.month
    else:
        last_month = 0
    end_of_year = datetime(year + 1, 1, 1, tzinfo=NORWAY)
    return YearlyReport(
        year=year,
        made_at=now,
        area=area,
        last_month=last_month,
        monthly=monthly,
        monthly_year_before=monthly_before,
        yearly=yearly,
        yearly_year_before=yearly_before,
        confirmed=confirmed,
        places=places,
        categories=categories,
        category_names=await repo.category_names(),
        revisions=await repo.factor_revisions(),
        datasets=await repo.reference_datasets(),
        head_at_year_end=await repo.ledger_head_before(end_of_year),
        head_now=await repo.ledger_head(),
        targets=await _targets(session, area, year=year, now=now),
    )


async def _targets(
    session: AsyncSession, area: ReportArea, *, year: int, now: datetime
) -> list[TargetFigures]:
    """The area's adopted, recommended and proposed targets (not those of an initiative, nor
    withdrawn ones), each with its progress through the report's year."""
    found = await TargetRepository(session).current_for_area(
        scope=TargetScope(area.kind).value,
        scope_code=area.number,
        statuses=tuple(s.value for s in REPORTED_TARGETS),
        limit=MAX_TARGETS,
    )
    rank = {s.value: i for i, s in enumerate(REPORTED_TARGETS)}
    found.sort(key=lambda t: rank[t.status])  # stable: by indicator within a status
    return [
        TargetFigures(
            target=target_read(target),
            progress=await target_progress(session, target, now=now, through=year),
        )
        for target in found
    ]
