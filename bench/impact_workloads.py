"""The impact benchmark's workloads, and the same aggregate computed two ways.

A workload is a list of *cases*, each one ``GET /v1/impact`` request (an indicator of
``app.services.impact.catalogue``, a grouping, a period, a filter). Every case can be answered
three ways, and bench/impact_run.py times all three:

* **api**: the HTTP request, as a client sends it (two rollup queries per indicator: the
  period and the one before it, then suppression and JSON);
* **rollup**: the repository's one statement for the period
  (``ImpactRollupRepository.cells`` or ``.parties`` with the indicator's recipe), i.e. what the
  rollups cost in the database;
* **direct**: the same aggregate from ``impact_facts`` (the view over ``evidence`` that
  defines every record's keys and measures) with GROUP BY, written here independently of the
  rollups. For distinct parties it first nets each party per finest cell, as
  ``impact_parties`` does. The household count that suppression needs is not part of the
  timed direct query (it would take another pass), so the ratio direct/rollup is a lower
  bound; ``direct_households`` computes it for the parity check.

Parameters are drawn once from ``random.Random(SEED)`` and from database rows read in a fixed
order, so two runs on the same data send the same requests.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.repositories.impact.rollup import Filters, ImpactRollupRepository
from app.services.impact.catalogue import BY_ID, Indicator

SEED = 11
FIRST = date(2022, 1, 1)
LAST = date(2026, 12, 1)

# The finest keys of a record (impact_facts) and, per grouping, the expression over them; the
# same as the rollup repository's keys, written out again so the direct path is independent.
FINEST = (
    "subgoal",
    "type",
    "month",
    "facet",
    "unit",
    "grade",
    "fylkesnummer",
    "kommunenummer",
    "sector",
    "category",
    "initiative",
)
_TIME = {
    "year": "to_char({t}.month, 'YYYY')",
    "quarter": "to_char({t}.month, 'YYYY-\"Q\"Q')",
    "month": "to_char({t}.month, 'YYYY-MM')",
}
_DIRECT_KEYS = {
    **_TIME,
    "subgoal": "{t}.subgoal",
    "fylke": "{t}.fylkesnummer",
    "kommune": "{t}.kommunenummer",
    "sector": "{t}.sector",
    "category": "{t}.category",
    "initiative": "{t}.initiative",
}


@dataclass(frozen=True)
class Case:
    """One request: the API's query parameters, and the same as the repository's filters."""

    indicator: str
    group_by: tuple[str, ...]
    month_from: date
    month_to: date
    evidence: str = "all"
    fylke: str | None = None
    kommune: str | None = None
    initiative: str | None = None

    @property
    def ind(self) -> Indicator:
        return BY_ID[self.indicator]

    def path(self) -> str:
        query: list[tuple[str, str]] = [("indicator", self.indicator)]
        if self.group_by:
            query.append(("group_by", ",".join(self.group_by)))
        query += [("from", f"{self.month_from:%Y-%m}"), ("to", f"{self.month_to:%Y-%m}")]
        if self.evidence != "all":
            query.append(("evidence", self.evidence))
        for name in ("fylke", "kommune", "initiative"):
            value = getattr(self, name)
            if value is not None:
                query.append((name, value))
        return "/v1/impact?" + urlencode(query)

    def filters(self) -> Filters:
        return Filters(
            month_from=self.month_from,
            month_to=self.month_to,
            grades=("confirmed",) if self.evidence == "confirmed" else None,
            fylke=self.fylke,
            kommune=self.kommune,
            initiative=self.initiative,
        )

    @property
    def ordered_group(self) -> tuple[str, ...]:
        """Time first, as the API orders the dimensions."""
        times = tuple(d for d in self.group_by if d in _TIME)
        return times + tuple(d for d in self.group_by if d not in _TIME)


@dataclass
class Workload:
    name: str
    title: str
    cases: list[Case] = field(default_factory=list)


@dataclass(frozen=True)
class Places:
    """Rows of the benchmark database the parameters are drawn from."""

    fylker: list[str]  # by number
    large: list[str]  # the ten most populous kommuner
    small: list[str]  # kommuner of 2,000-10,000 inhabitants, by number
    initiatives: list[str]  # by id


async def places(session: AsyncSession) -> Places:
    async def column(sql: str) -> list[str]:
        return [str(v) for v in (await session.execute(text(sql))).scalars()]

    return Places(
        fylker=await column("SELECT fylkesnummer FROM fylker ORDER BY fylkesnummer"),
        large=await column(
            "SELECT kommunenummer FROM kommuner ORDER BY population DESC NULLS LAST, "
            "kommunenummer LIMIT 10"
        ),
        small=await column(
            "SELECT kommunenummer FROM kommuner WHERE population BETWEEN 2000 AND 10000 "
            "ORDER BY kommunenummer"
        ),
        initiatives=await column("SELECT id::text FROM initiatives ORDER BY id"),
    )


def _year(y: int) -> tuple[date, date]:
    return date(y, 1, 1), date(y, 12, 1)


def build(p: Places) -> list[Workload]:
    rng = random.Random(SEED)
    years = (2023, 2024, 2025)
    w: list[Workload] = []

    def add(name: str, title: str, cases: list[Case]) -> None:
        rng.shuffle(cases)
        w.append(Workload(name, title, cases))

    add(
        "national_year",
        "one indicator by year, nationally, 2022-2026",
        [
            Case(i, ("year",), FIRST, LAST)
            for i in (
                "sg1.reuse.handovers",
                "sg1.repairs.count",
                "sg2.loans.count",
                "sg3.materials.tonnes",
                "sg3.energy.mwh",
                "sg1.repairs.success_rate",
            )
        ],
    )
    add(
        "kommune_year",
        "by kommune (357 rows) for one year",
        [
            Case(i, ("kommune",), *_year(y))
            for i in ("sg1.repairs.count", "sg1.reuse.handovers")
            for y in years
        ],
    )
    add(
        "fylke_month",
        "by month for one fylke, 2024-2025",
        [
            Case("sg2.loans.count", ("month",), date(2024, 1, 1), date(2025, 12, 1), fylke=f)
            for f in p.fylker
        ],
    )
    add(
        "materials_ewc",
        "materials by category (EWC chapter) for one year",
        [
            Case(i, ("category",), *_year(y))
            for i in ("sg3.materials.tonnes", "sg3.materials.hazardous_share")
            for y in years
        ],
    )
    add(
        "co2e_fylke_quarter",
        "CO2e by fylke x quarter for one year",
        [
            Case(i, ("quarter", "fylke"), *_year(y))
            for i in ("sg1.reuse.co2e", "sg1.repairs.fixed_co2e")
            for y in years
        ],
    )
    add(
        "borrowers_fylke",
        "distinct borrowers (impact_parties) by fylke for one year",
        [Case("sg2.borrowers.distinct", ("fylke",), *_year(y)) for y in years],
    )
    add(
        "organizations_kind",
        "active organizations (impact_parties) by kind for one year",
        [Case("sg1.organizations.active", ("kind",), *_year(y)) for y in years],
    )
    add(
        "by_initiative",
        "by initiative, 2022-2026",
        [
            Case(i, ("initiative",), FIRST, LAST)
            for i in ("sg1.reuse.handovers", "sg1.repairs.count", "sg2.loans.count")
        ],
    )
    add(
        "one_initiative",
        "one initiative by quarter, 2022-2026",
        [
            Case("sg1.reuse.handovers", ("quarter",), FIRST, LAST, initiative=i)
            for i in rng.sample(p.initiatives, min(8, len(p.initiatives)))
        ],
    )
    add(
        "one_kommune",
        "one kommune (large or small) by year, 2022-2026",
        [
            Case("sg1.reuse.handovers", ("year",), FIRST, LAST, kommune=k)
            for k in p.large[:6] + rng.sample(p.small, min(6, len(p.small)))
        ],
    )
    add(
        "confirmed_only",
        "evidence=confirmed, by fylke for one year",
        [
            Case(i, ("fylke",), *_year(y), evidence="confirmed")
            for i in ("sg1.reuse.handovers", "sg2.loans.count")
            for y in years
        ],
    )
    add(
        "space_sector",
        "shared space m2-days by sector for one year",
        [Case("sg3.space.m2_days", ("sector",), *_year(y)) for y in years],
    )
    return w


# --- the rollup path ------------------------------------------------------------------------


async def rollup(session: AsyncSession, case: Case) -> list[dict[str, Any]]:
    """The repository's statement for the case, with the indicator's recipe (as
    ``app.services.impact.query`` passes it)."""
    ind, repo = case.ind, ImpactRollupRepository(session)
    subgoal = None if ind.id == "sg1.organizations.active" else ind.subgoal
    if ind.source == "cells":
        return await repo.cells(
            case.filters(),
            group=case.ordered_group,
            measure=ind.measure,
            subgoal=subgoal,
            types=ind.types,
            facets=ind.facets,
            numerator_facets=ind.numerator_facets,
        )
    if ind.source == "parties":
        return await repo.parties(
            case.filters(),
            group=case.ordered_group,
            subgoal=subgoal,
            types=ind.types,
            role=ind.role,
            party_sectors=ind.party_sectors,
            exclude_households=ind.exclude_households,
        )
    raise ValueError(f"{ind.id}: the benchmark has no direct form of a {ind.source} indicator")


# --- the direct path ------------------------------------------------------------------------


def _record_filters(case: Case, params: dict[str, Any], t: str = "f") -> list[str]:
    """The records a case takes, as conditions on impact_facts."""
    ind = case.ind
    params.update(month_from=case.month_from, month_to=case.month_to)
    where = [f"{t}.month BETWEEN :month_from AND :month_to"]
    if case.evidence == "confirmed":
        where.append(f"{t}.grade = 'confirmed'")
    for name, column in (
        ("fylke", "fylkesnummer"),
        ("kommune", "kommunenummer"),
        ("initiative", "initiative"),
    ):
        value = getattr(case, name)
        if value is not None:
            where.append(f"{t}.{column} = :{name}")
            params[name] = value
    if ind.id != "sg1.organizations.active":
        where.append(f"{t}.subgoal = :subgoal")
        params["subgoal"] = ind.subgoal
    if ind.types:
        where.append(f"{t}.type = ANY(CAST(:types AS text[]))")
        params["types"] = list(ind.types)
    if ind.facets:
        where.append(f"{t}.facet = ANY(CAST(:facets AS text[]))")
        params["facets"] = list(ind.facets)
    return where


def _keys(group: tuple[str, ...], t: str, extra: dict[str, str] | None = None) -> tuple[str, str]:
    exprs = {k: v.format(t=t) for k, v in _DIRECT_KEYS.items()} | (extra or {})
    select = "".join(f"{exprs[d]} AS key_{d}, " for d in group)
    group_by = "GROUP BY " + ", ".join(str(n + 1) for n in range(len(group))) if group else ""
    return select, group_by


def _party_rows(case: Case, params: dict[str, Any]) -> str:
    """Each party's net record count per finest cell and role: impact_parties, computed."""
    ind = case.ind
    where = _record_filters(case, params)
    finest = ", ".join(f"f.{k}" for k in FINEST)
    roles = []
    for role in ("provider", "receiver"):
        if ind.role in (role, "any"):
            roles.append(
                f"SELECT {finest}, '{role}' AS role, f.{role}_party AS party, "
                f"f.{role}_sector AS party_sector, f.records FROM impact_facts AS f "
                f"WHERE f.{role}_party IS NOT NULL AND {' AND '.join(where)}"
            )
    outer = []
    if ind.party_sectors:
        outer.append("x.party_sector = ANY(CAST(:party_sectors AS text[]))")
        params["party_sectors"] = list(ind.party_sectors)
    if ind.exclude_households:
        outer.append("x.party_sector <> 'households'")
    keys = ", ".join(f"x.{k}" for k in FINEST)
    return (
        f"SELECT {keys}, x.role, x.party, x.party_sector, sum(x.records) AS net "
        f"FROM ({' UNION ALL '.join(roles)}) AS x "
        f"{'WHERE ' + ' AND '.join(outer) if outer else ''} "
        f"GROUP BY {keys}, x.role, x.party, x.party_sector"
    )


def direct_sql(case: Case) -> tuple[str, dict[str, Any]]:
    """The case's aggregate straight from the ledger (impact_facts), without rollups."""
    ind, group = case.ind, case.ordered_group
    params: dict[str, Any] = {}
    if ind.source == "cells":
        where = _record_filters(case, params)
        keys, group_by = _keys(group, "f")
        params["numerator"] = list(ind.numerator_facets)
        sql = (
            f"SELECT {keys}sum(f.records) AS records, sum(f.{ind.measure}) AS value, "
            f"sum(f.{ind.measure}) FILTER (WHERE f.facet = ANY(CAST(:numerator AS text[]))) "
            f"AS numerator FROM impact_facts AS f WHERE {' AND '.join(where)} {group_by}"
        )
        return sql, params
    if ind.source == "parties":
        keys, group_by = _keys(
            group,
            "q",
            {"sector": "q.party_sector", "kind": "coalesce(op.kind, '')"},
        )
        join = (
            "LEFT JOIN organization_parties AS op ON op.party = q.party" if "kind" in group else ""
        )
        sql = (
            f"SELECT {keys}sum(q.net) AS records, "
            "count(DISTINCT q.party) FILTER (WHERE q.net > 0) AS value, "
            "NULL::numeric AS numerator, count(DISTINCT q.party) FILTER "
            "(WHERE q.net > 0 AND q.party_sector = 'households') AS households "
            f"FROM ({_party_rows(case, params)}) AS q {join} {group_by}"
        )
        return sql, params
    raise ValueError(f"{ind.id}: no direct form of a {ind.source} indicator")


def direct_households_sql(case: Case) -> tuple[str, dict[str, Any]]:
    """Distinct households (capped at 3) with a record that still counts in each group of a
    cells case: what the rollups' household samples must tell suppression."""
    params: dict[str, Any] = {}
    where = _record_filters(case, params)
    finest = ", ".join(f"f.{k}" for k in FINEST)
    keys, group_by = _keys(case.ordered_group, "n")
    rows = " UNION ALL ".join(
        f"SELECT {finest}, '{role}' AS role, f.{role}_party AS party, f.records "
        f"FROM impact_facts AS f WHERE f.{role}_sector = 'households' AND {' AND '.join(where)}"
        for role in ("provider", "receiver")
    )
    all_keys = ", ".join(f"x.{k}" for k in FINEST)
    sql = (
        f"SELECT {keys}least(3, count(DISTINCT n.party)) AS households FROM ("
        f"SELECT {all_keys}, x.role, x.party FROM ({rows}) AS x "
        f"GROUP BY {all_keys}, x.role, x.party HAVING sum(x.records) > 0) AS n {group_by}"
    )
    return sql, params


async def direct(session: AsyncSession, case: Case) -> list[dict[str, Any]]:
    sql, params = direct_sql(case)
    return [dict(r) for r in (await session.execute(text(sql), params)).mappings()]


async def direct_households(session: AsyncSession, case: Case) -> dict[tuple[Any, ...], int]:
    sql, params = direct_households_sql(case)
    result = await session.execute(text(sql), params)
    group = case.ordered_group
    return {tuple(r[f"key_{d}"] for d in group): int(r["households"]) for r in result.mappings()}


# --- comparing ------------------------------------------------------------------------------

Result = dict[tuple[Any, ...], tuple[int, Decimal, Decimal | None]]


def normalized(case: Case, rows: list[dict[str, Any]]) -> Result:
    """Rows by their keys: (records, value, numerator) as exact numbers."""
    group = case.ordered_group
    out: Result = {}
    for r in rows:
        key = tuple(r[f"key_{d}"] for d in group)
        numerator = r["numerator"]
        out[key] = (
            int(r["records"] or 0),
            Decimal(r["value"] or 0),
            None if numerator is None else Decimal(numerator),
        )
    return out


def differences(case: Case, a: Result, b: Result, names: tuple[str, str]) -> list[str]:
    """Where two results disagree (empty: equal), at most five lines."""
    problems = []
    for key in sorted(set(a) | set(b), key=lambda k: tuple(str(v) for v in k)):
        if a.get(key) != b.get(key):
            problems.append(f"{key}: {names[0]} {a.get(key)} != {names[1]} {b.get(key)}")
    return [f"{case.path()}: {len(problems)} groups differ", *problems[:5]] if problems else []


def expected_api_rows(
    case: Case, result: Result, households: dict[tuple[Any, ...], int] | None
) -> dict[tuple[Any, ...], dict[str, Any]]:
    """What ``GET /v1/impact`` should show for each group before suppression: its value as
    the service rounds and scales it, its records and whether primary suppression applies
    (fewer than 5 records or 1-2 households)."""
    ind = case.ind
    out = {}
    for key, (records, total, numerator) in result.items():
        if records == 0 and not total:
            continue  # the API drops groups whose records were all taken back
        value: Decimal | None
        if ind.is_share:
            value = None if total == 0 else _round((numerator or 0) * 100 / total, ind.decimals)
        else:
            value = _round(total * ind.scale, ind.decimals)
        few = households.get(key, 0) if households is not None else 3
        out[tuple(v or None for v in key)] = {
            "value": value,
            "records": records,
            "primary": 0 < records < 5 or 0 < few < 3,
        }
    return out


def _round(value: Decimal, decimals: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-decimals))


def api_differences(
    case: Case, body: dict[str, Any], expected: dict[tuple[Any, ...], dict[str, Any]]
) -> tuple[list[str], int]:
    """Disagreements between the API's rows and the direct aggregate, and how many cells the
    API suppressed. A suppressed cell only has to exist; a primary one must be suppressed."""
    group = case.ordered_group
    seen: dict[tuple[Any, ...], dict[str, Any]] = {
        tuple(r["keys"].get(d) for d in group): r
        for r in body["rows"]
        if r["indicator"] == case.indicator
    }
    problems = []
    suppressed = 0
    for key in sorted(set(seen) | set(expected), key=lambda k: tuple(str(v) for v in k)):
        got, want = seen.get(key), expected.get(key)
        if got is None or want is None:
            problems.append(f"{key}: api {got and got['value']} / direct {want and want['value']}")
            continue
        if got["suppressed"]:
            suppressed += 1
            continue
        if want["primary"]:
            problems.append(f"{key}: shown ({got['records']} records) but should be suppressed")
        elif got["records"] != want["records"] or not _same(got["value"], want["value"]):
            problems.append(
                f"{key}: api {got['value']} ({got['records']} records) != "
                f"direct {want['value']} ({want['records']} records)"
            )
    if problems:
        return [f"{case.path()}: {len(problems)} rows differ", *problems[:5]], suppressed
    return [], suppressed


def _same(got: float | int | None, want: Decimal | None) -> bool:
    if got is None or want is None:
        return got is None and want is None
    return Decimal(str(got)) == want
