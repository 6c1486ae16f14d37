"""Impact aggregates: ``GET /v1/impact`` — indicators grouped, compared and suppressed.

**Reading.** Each indicator (``app.services.impact.catalogue``) is one query against a rollup
that the ledger's trigger keeps current, so answers stay fast at any ledger size and never
disagree with it (``app.repositories.impact.rollup``).

**Privacy.** A cell built from fewer than ``MIN_RECORDS`` records, or counting between one and
``MIN_HOUSEHOLDS - 1`` distinct households, is *suppressed*: value and record count are
withheld. Zero is not suppressed (nothing happened; nobody can be singled out). Then
*complementary* suppression: whenever a line of cells that adds up to a total someone else can
ask for — the same keys but one dimension, and for kommune also within its fylke, for month
also within its quarter and year, for quarter within its year — holds exactly one suppressed
cell, the smallest other cell of that line is suppressed too, until no line has a lone
suppressed cell. So no suppressed value can be recovered by subtracting the cells shown from
a total, or from each other.

**Comparisons.** With a time grouping, each row carries the change against the previous
period (the year, quarter or month before) and, with ``baseline=YYYY``, against the same
period of the baseline year; without one, against the equally long span just before ``from``
and against the whole baseline year. A change is withheld when either side is suppressed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import (
    InvalidGroupingError,
    InvalidPeriodError,
    UnknownFylkeError,
    UnknownIndicatorError,
    UnknownKommuneError,
)
from app.repositories.geography import GeographyRepository
from app.repositories.impact.rollup import Filters, ImpactRollupRepository
from app.services.impact.catalogue import BY_ID, TIME_DIMS, Indicator
from app.services.impact.periods import (
    EARLIEST_YEAR,
    GRAIN_MONTHS,
    TimeGrain,
    add_months,
    current_month,
    months_between,
    parse_month,
    period_keys,
    period_start,
    shift_key,
    time_key,
)
from app.services.impact.suppression import (
    Suppression,
    key_tuple,
    keys_order,
    suppress,
)

MAX_INDICATORS = 25


# ------------------------------------------------------------------------- the query itself


@dataclass(frozen=True, slots=True)
class ImpactQuery:
    indicators: tuple[Indicator, ...]
    group_by: tuple[str, ...]
    month_from: date
    month_to: date
    evidence: Literal["confirmed", "all"] = "all"
    fylke: str | None = None
    kommune: str | None = None
    initiative: str | None = None
    baseline: int | None = None

    @property
    def grain(self) -> TimeGrain | None:
        for d in self.group_by:
            if d in TIME_DIMS:
                return d  # type: ignore[return-value]
        return None

    def filters(self, month_from: date | None = None, month_to: date | None = None) -> Filters:
        return Filters(
            month_from=month_from or self.month_from,
            month_to=month_to or self.month_to,
            grades=("confirmed",) if self.evidence == "confirmed" else None,
            fylke=self.fylke,
            kommune=self.kommune,
            initiative=self.initiative,
        )


def _split(values: Iterable[str]) -> list[str]:
    return [v.strip() for value in values for v in value.split(",") if v.strip()]


async def build_query(
    session: AsyncSession,
    *,
    indicator: list[str],
    group_by: list[str],
    month_from: str | None,
    month_to: str | None,
    evidence: Literal["confirmed", "all"],
    fylke: str | None,
    kommune: str | None,
    initiative: str | None,
    baseline: int | None,
    now: datetime,
) -> ImpactQuery:
    ids = _split(indicator)
    if not ids:
        raise UnknownIndicatorError("Name at least one indicator (GET /v1/impact/indicators).")
    if len(ids) > MAX_INDICATORS:
        raise InvalidGroupingError(f"At most {MAX_INDICATORS} indicators per request.")
    unknown = [i for i in ids if i not in BY_ID]
    if unknown:
        raise UnknownIndicatorError(
            f"Unknown indicator(s): {', '.join(unknown)}. See GET /v1/impact/indicators."
        )
    indicators = tuple(BY_ID[i] for i in dict.fromkeys(ids))
    dims = tuple(dict.fromkeys(_split(group_by)))
    times = [d for d in dims if d in TIME_DIMS]
    if len(times) > 1:
        raise InvalidGroupingError("Group by one of year, quarter and month, not several.")
    for ind in indicators:
        missing = [d for d in dims if d not in ind.dims]
        if missing:
            raise InvalidGroupingError(
                f"{ind.id} cannot be grouped by {', '.join(missing)}; it can be grouped by "
                f"{', '.join(sorted(ind.dims))}."
            )
    last = current_month(now)
    end = parse_month(month_to, end=True) if month_to else last
    start = parse_month(month_from, end=False) if month_from else add_months(end, -11)
    if start > end:
        raise InvalidPeriodError("'from' must not be after 'to'.")
    if months_between(start, end) > 12 * 30:
        raise InvalidPeriodError("A period spans at most 30 years.")
    if baseline is not None and not EARLIEST_YEAR <= baseline <= 2100:
        raise InvalidPeriodError("'baseline' is a year between 2000 and 2100.")
    geography = GeographyRepository(session)
    if fylke is not None and not await geography.fylke_exists(fylke):
        raise UnknownFylkeError(f"No fylke has the number '{fylke}'.")
    if kommune is not None and not await geography.kommune_exists(kommune):
        raise UnknownKommuneError(f"No kommune has the number '{kommune}'.")
    # Order the dimensions: time first, then as asked.
    ordered = tuple(times) + tuple(d for d in dims if d not in TIME_DIMS)
    return ImpactQuery(
        indicators=indicators,
        group_by=ordered,
        month_from=start,
        month_to=end,
        evidence=evidence,
        fylke=fylke,
        kommune=kommune,
        initiative=initiative,
        baseline=baseline,
    )


async def rebuild_rollups(session: AsyncSession) -> None:
    """Recompute every rollup from the ledger (``python -m app.cli rebuild-impact``)."""
    await ImpactRollupRepository(session).rebuild()


# ----------------------------------------------------------------------------------- rows


@dataclass(slots=True)
class Change:
    value: Decimal | None
    absolute: Decimal | None
    relative: Decimal | None
    period: str | None = None


@dataclass(slots=True)
class Row:
    indicator: str
    keys: dict[str, str | None]
    value: Decimal | None
    unit: str
    records: int | None
    suppressed: bool
    suppression: Suppression | None = None
    households: int = 0
    previous: Change | None = None
    baseline: Change | None = None
    # Before suppression; never leaves the service (the report's tests check the hidden value
    # is nowhere on the page).
    raw_value: Decimal | None = field(default=None, repr=False)
    raw_records: int = field(default=0, repr=False)


@dataclass(slots=True)
class ImpactResult:
    query: ImpactQuery
    rows: list[Row]
    population_year: int | None = None


def _round(value: Decimal, decimals: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-decimals))


async def _fetch(
    repo: ImpactRollupRepository,
    ind: Indicator,
    query: ImpactQuery,
    filters: Filters,
    populations: dict[str, Any],
) -> list[Row]:
    group = query.group_by
    subgoal = None if ind.all_subgoals else ind.subgoal
    if ind.source == "cells":
        raw = await repo.cells(
            filters,
            group=group,
            measure=ind.measure,
            subgoal=subgoal,
            types=ind.types,
            facets=ind.facets,
            numerator_facets=ind.numerator_facets,
        )
    elif ind.source == "parties":
        raw = await repo.parties(
            filters,
            group=group,
            subgoal=subgoal,
            types=ind.types,
            role=ind.role,
            party_sectors=ind.party_sectors,
            exclude_households=ind.exclude_households,
        )
    elif ind.source == "collaborations":
        raw = await repo.collaborations(filters, group=group)
    elif ind.source == "matched":
        raw = await repo.matched(filters, group=group)
    else:
        periods = period_keys(query.grain, filters.month_from, filters.month_to)
        raw = await repo.lendable(filters, group=group, periods=periods)
    rows: list[Row] = []
    for r in raw:
        records = int(r["records"] or 0)
        value = _value(ind, r, group, populations, filters)
        if records == 0 and not value:
            continue  # everything in it was taken back: as if it never happened
        rows.append(
            Row(
                indicator=ind.id,
                keys={d: (r[f"key_{d}"] or None) for d in group},
                value=value,
                unit=ind.unit,
                records=records,
                suppressed=False,
                households=int(r["households"] or 0),
                raw_value=value,
                raw_records=records,
            )
        )
    if not group and not rows:
        # Nothing counted: one explicit zero (a listing never handed over counts nothing).
        rows.append(
            Row(
                indicator=ind.id,
                keys={},
                value=None if ind.is_share else _round(Decimal(0), ind.decimals),
                unit=ind.unit,
                records=0,
                suppressed=False,
            )
        )
    return rows


def _value(
    ind: Indicator,
    r: dict[str, Any],
    group: tuple[str, ...],
    populations: dict[str, Any],
    filters: Filters,
) -> Decimal | None:
    total = Decimal(r["value"] or 0)
    if ind.source == "lendable" and ind.lendable != "used_share":
        units = Decimal(r["units"] or 0)
        if units == 0:
            return None
        if ind.lendable == "idle_share":
            return _round(Decimal(r["idle_units"] or 0) * 100 / units, ind.decimals)
        grain = next((d for d in group if d in GRAIN_MONTHS), None)
        months = (
            GRAIN_MONTHS[grain]
            if grain is not None
            else months_between(filters.month_from, filters.month_to)
        )
        return _round(Decimal(r["loans"] or 0) / units * 12 / months, ind.decimals)
    if ind.is_share:
        numerator = Decimal(r["numerator"] or 0)
        if total == 0:
            return None
        return _round(numerator * 100 / total, ind.decimals)
    if ind.per_1000:
        people = _population(r, group, populations, filters)
        if not people:
            return None
        return _round(total * 1000 / people, ind.decimals)
    return _round(total * ind.scale, ind.decimals)


def _population(
    r: dict[str, Any], group: tuple[str, ...], populations: dict[str, Any], f: Filters
) -> int | None:
    kommune = r.get("key_kommune") if "kommune" in group else f.kommune
    if kommune is not None:
        return populations["kommune"].get(kommune) if kommune else None
    fylke = r.get("key_fylke") if "fylke" in group else f.fylke
    if fylke is not None:
        return populations["fylke"].get(fylke) if fylke else None
    return int(populations["norway"]) or None


# ---------------------------------------------------------------------------- suppression


# ---------------------------------------------------------------------------- comparisons


def _change(current: Row, other: Row | None, period: str | None) -> Change | None:
    if other is None:
        return Change(value=None, absolute=None, relative=None, period=period)
    if current.suppressed or other.suppressed or current.value is None or other.value is None:
        return Change(value=other.value, absolute=None, relative=None, period=period)
    absolute = current.value - other.value
    relative = _round(absolute / other.value, 4) if other.value != 0 else None
    return Change(value=other.value, absolute=absolute, relative=relative, period=period)


async def _run(
    repo: ImpactRollupRepository,
    query: ImpactQuery,
    month_from: date,
    month_to: date,
    populations: dict[str, Any],
    shown_from: str | None = None,
) -> list[Row]:
    filters = query.filters(month_from, month_to)
    rows: list[Row] = []
    for ind in query.indicators:
        rows.extend(await _fetch(repo, ind, query, filters, populations))
    suppress(rows, query.group_by, shown_from=shown_from)
    return rows


async def aggregate(session: AsyncSession, query: ImpactQuery) -> ImpactResult:
    repo = ImpactRollupRepository(session)
    populations, year = await _populations(repo)
    grain = query.grain
    if grain is not None:
        # One period earlier too, so the first row has its previous period; suppression runs
        # over everything fetched, then the extra period is dropped.
        span = GRAIN_MONTHS[grain]
        first = period_start(grain, query.month_from)
        extended = add_months(first, -span)
        keep_from = time_key(grain, query.month_from)
        rows = await _run(repo, query, extended, query.month_to, populations, keep_from)
        index = {(r.indicator, key_tuple(r, query.group_by)): r for r in rows}
        shown = [r for r in rows if (r.keys[grain] or "") >= keep_from]
        for row in shown:
            prev_key = shift_key(grain, row.keys[grain] or "", periods=-1)
            other = index.get(
                (row.indicator, key_tuple(_rekey(row, grain, prev_key), query.group_by))
            )
            row.previous = _change(row, other, prev_key)
    else:
        shown = await _run(repo, query, query.month_from, query.month_to, populations)
        length = months_between(query.month_from, query.month_to)
        before = await _run(
            repo,
            query,
            add_months(query.month_from, -length),
            add_months(query.month_from, -1),
            populations,
        )
        index = {(r.indicator, key_tuple(r, query.group_by)): r for r in before}
        earlier = add_months(query.month_from, -length)
        label = f"{earlier:%Y-%m}/{add_months(query.month_from, -1):%Y-%m}"
        for row in shown:
            row.previous = _change(
                row, index.get((row.indicator, key_tuple(row, query.group_by))), label
            )
    if query.baseline is not None:
        await _attach_baseline(repo, query, shown, populations)
    shown.sort(key=lambda r: (query_order(query, r.indicator), keys_order(r)))
    return ImpactResult(query=query, rows=shown, population_year=year)


def query_order(query: ImpactQuery, indicator: str) -> int:
    return [i.id for i in query.indicators].index(indicator)


def _rekey(row: Row, grain: str, key: str) -> Row:
    return replace(row, keys={**row.keys, grain: key})


async def _attach_baseline(
    repo: ImpactRollupRepository,
    query: ImpactQuery,
    rows: list[Row],
    populations: dict[str, Any],
) -> None:
    assert query.baseline is not None
    year = query.baseline
    grain = query.grain
    base = await _run(repo, query, date(year, 1, 1), date(year, 12, 1), populations)
    index = {(r.indicator, key_tuple(r, query.group_by)): r for r in base}
    for row in rows:
        if grain is None:
            key = row
            label = f"{year:04d}"
        else:
            label = shift_key(grain, row.keys[grain] or "", to_year=year)
            key = _rekey(row, grain, label)
        other = index.get((row.indicator, key_tuple(key, query.group_by)))
        row.baseline = _change(row, other, label)


async def _populations(repo: ImpactRollupRepository) -> tuple[dict[str, Any], int | None]:
    kommune: dict[str, int] = {}
    fylke: dict[str, int] = defaultdict(int)
    years: set[int] = set()
    for r in await repo.populations():
        kommune[r["kommunenummer"]] = int(r["population"])
        fylke[r["fylkesnummer"]] += int(r["population"])
        years.add(int(r["population_year"]))
    return (
        {"kommune": kommune, "fylke": dict(fylke), "norway": sum(kommune.values())},
        max(years) if years else None,
    )
