"""Every SQL statement about the impact rollups (``impact_cells``, ``impact_parties``,
``impact_collaborations``; see ``app.models.impact`` and migration 0008).

The trigger ``evidence_rollup`` keeps them current as records are appended. ``rebuild``
(the database function ``sirkel_impact_rebuild``) recomputes them from ``impact_facts`` in a
few set-based statements: for bulk loads (the benchmark's generator disables the trigger),
after a restore, and as the reference the property test compares the trigger's work against.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# The dimensions each level of impact_cells keeps (the rows of impact_levels; a test keeps the
# two equal), in the order a query tries them: the smallest level that has them all wins.
LEVEL_DIMS: dict[int, frozenset[str]] = {
    3: frozenset({"fylke"}),
    5: frozenset({"initiative"}),
    4: frozenset({"sector", "category"}),
    2: frozenset({"kommune", "fylke"}),
    1: frozenset({"fylke", "sector", "category"}),
    0: frozenset({"kommune", "fylke", "sector", "category", "initiative"}),
}


def level_for(dims: set[str]) -> int:
    """The smallest level of impact_cells that keeps every dimension in ``dims``."""
    return next(level for level, kept in LEVEL_DIMS.items() if dims <= kept)


def _time_keys(column: str) -> dict[str, str]:
    return {
        "year": f"to_char({column}, 'YYYY')",
        "quarter": f"to_char({column}, 'YYYY-\"Q\"Q')",
        "month": f"to_char({column}, 'YYYY-MM')",
    }


_CELL_KEYS = {
    **_time_keys("c.month"),
    "subgoal": "c.subgoal",
    "fylke": "c.fylkesnummer",
    "kommune": "c.kommunenummer",
    "sector": "c.sector",
    "category": "c.category",
    "initiative": "c.initiative",
}
_PARTY_KEYS = {
    **{k: v.replace("c.", "q.") for k, v in _CELL_KEYS.items()},
    "sector": "q.party_sector",
    "kind": "coalesce(op.kind, '')",
}
_COLLABORATION_KEYS = {
    **_time_keys("x.first_month"),
    "fylke": "x.fylkesnummer",
    "kommune": "x.kommunenummer",
    "initiative": "x.initiative",
}
_LENDABLE_KEYS = {
    "year": "l.period",
    "quarter": "l.period",
    "month": "l.period",
    "fylke": "coalesce(l.fylkesnummer, '')",
    "kommune": "coalesce(l.kommunenummer, '')",
    "category": "coalesce(l.category_slug, '')",
}
_MEASURES = {"records", "kg", "co2e_kg", "unit_days", "quantity"}


@dataclass(frozen=True, slots=True)
class Filters:
    """What every impact query shares: months (inclusive), grades, the place, an initiative."""

    month_from: date
    month_to: date
    grades: tuple[str, ...] | None = None  # None: every grade
    fylke: str | None = None
    kommune: str | None = None
    initiative: str | None = None


def _where(f: Filters, alias: str, params: dict[str, Any], *, month: str = "month") -> list[str]:
    params.update(month_from=f.month_from, month_to=f.month_to)
    where = [f"{alias}.{month} BETWEEN :month_from AND :month_to"]
    if f.grades is not None and alias != "x":
        where.append(f"{alias}.grade = ANY(CAST(:grades AS text[]))")
        params["grades"] = list(f.grades)
    for name, column in (
        ("fylke", "fylkesnummer"),
        ("kommune", "kommunenummer"),
        ("initiative", "initiative"),
    ):
        value = getattr(f, name)
        if value is not None:
            where.append(f"{alias}.{column} = :{name}")
            params[name] = value
    return where


def _subgoal_and_types(
    alias: str, params: dict[str, Any], *, subgoal: str | None, types: tuple[str, ...]
) -> list[str]:
    where = []
    if subgoal is not None:
        where.append(f"{alias}.subgoal = :subgoal")
        params["subgoal"] = subgoal
    if types:
        where.append(f"{alias}.type = ANY(CAST(:types AS text[]))")
        params["types"] = list(types)
    return where


def _grouped(keys: dict[str, str], group: tuple[str, ...]) -> tuple[str, str]:
    select = "".join(f"{keys[d]} AS key_{d}, " for d in group)
    group_by = f"GROUP BY {', '.join(str(i + 1) for i in range(len(group)))}" if group else ""
    return select, group_by


class ImpactRollupRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def rebuild(self) -> None:
        """Recomputes every rollup from the ledger with ``sirkel_impact_rebuild()`` (migration
        0008; it takes the ledger's lock first, so no record is appended half-way)."""
        await self.session.execute(text("SELECT sirkel_impact_rebuild()"))

    async def _rows(self, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        result = await self.session.execute(text(sql), params)
        return [dict(row) for row in result.mappings()]

    async def _grouped_rows(
        self,
        keys: dict[str, str],
        group: tuple[str, ...],
        measures: str,
        source: str,
        where: list[str],
        params: dict[str, Any],
    ) -> list[dict[str, Any]]:
        """``measures`` (records, value, numerator, households) over ``source``, grouped by
        the keys of ``group``."""
        select, group_by = _grouped(keys, group)
        sql = f"""
            SELECT {select}
                   {measures}
            FROM {source}
            WHERE {" AND ".join(where)}
            {group_by}
        """
        return await self._rows(sql, params)

    async def cells(
        self,
        f: Filters,
        *,
        group: tuple[str, ...],
        measure: str,
        subgoal: str | None,
        types: tuple[str, ...],
        facets: tuple[str, ...],
        numerator_facets: tuple[str, ...],
    ) -> list[dict[str, Any]]:
        """Sums over impact_cells at the smallest level that has every dimension needed:
        records, the measure (and its share in ``numerator_facets``), and how many distinct
        households the union of the cells' samples holds (0-3, exact below 3)."""
        assert measure in _MEASURES
        needed = {d for d in group if d in LEVEL_DIMS[0]}
        needed |= {d for d in ("fylke", "kommune", "initiative") if getattr(f, d) is not None}
        params: dict[str, Any] = {"level": level_for(needed)}
        where = ["c.level = :level", *_where(f, "c", params)]
        where += _subgoal_and_types("c", params, subgoal=subgoal, types=types)
        if facets:
            where.append("c.facet = ANY(CAST(:facets AS text[]))")
            params["facets"] = list(facets)
        params["numerator"] = list(numerator_facets)
        return await self._grouped_rows(
            _CELL_KEYS,
            group,
            f"""
                   sum(c.records) AS records,
                   sum(c.{measure}) AS value,
                   sum(c.{measure}) FILTER (
                       WHERE c.facet = ANY(CAST(:numerator AS text[]))) AS numerator,
                   least(3, (SELECT count(DISTINCT h)
                             FROM unnest(array_agg(c.household_sample)) AS h)) AS households""",
            "impact_cells AS c",
            where,
            params,
        )

    async def matched(self, f: Filters, *, group: tuple[str, ...]) -> list[dict[str, Any]]:
        """Exchanges that started from a match, straight from the ledger's facts: the matched
        records are few (``ix_evidence_matched``), so no rollup keeps them. Records, and the
        distinct households among their parties (0-3) for suppression."""
        params: dict[str, Any] = {}
        where = ["m.matched", *_where(f, "c", params)]
        return await self._grouped_rows(
            {**_CELL_KEYS, "type": "c.type"},
            group,
            """
                   sum(c.records) AS records,
                   sum(c.records) AS value,
                   NULL::numeric AS numerator,
                   least(3, (SELECT count(DISTINCT h) FROM unnest(
                       array_agg(CASE WHEN c.provider_sector = 'households'
                                      THEN c.provider_party END)
                       || array_agg(CASE WHEN c.receiver_sector = 'households'
                                         THEN c.receiver_party END)) AS h)) AS households""",
            "evidence AS m JOIN impact_facts AS c ON c.seq = m.seq",
            where,
            params,
        )

    async def parties(
        self,
        f: Filters,
        *,
        group: tuple[str, ...],
        subgoal: str | None,
        types: tuple[str, ...],
        role: str,
        party_sectors: tuple[str, ...],
        exclude_households: bool,
    ) -> list[dict[str, Any]]:
        """Distinct parties with a record that still counts (net > 0 in some finest cell)."""
        params: dict[str, Any] = {}
        where = _where(f, "q", params)
        where += _subgoal_and_types("q", params, subgoal=subgoal, types=types)
        if role != "any":
            where.append("q.role = :role")
            params["role"] = role
        if party_sectors:
            where.append("q.party_sector = ANY(CAST(:party_sectors AS text[]))")
            params["party_sectors"] = list(party_sectors)
        if exclude_households:
            where.append("q.party_sector <> 'households'")
        join = (
            "LEFT JOIN organization_parties AS op ON op.party = q.party" if "kind" in group else ""
        )
        return await self._grouped_rows(
            _PARTY_KEYS,
            group,
            """
                   sum(q.net) AS records,
                   count(DISTINCT q.party) FILTER (WHERE q.net > 0) AS value,
                   NULL::numeric AS numerator,
                   count(DISTINCT q.party) FILTER (
                       WHERE q.net > 0 AND q.party_sector = 'households') AS households""",
            f"impact_parties AS q {join}",
            where,
            params,
        )

    async def collaborations(self, f: Filters, *, group: tuple[str, ...]) -> list[dict[str, Any]]:
        params: dict[str, Any] = {}
        where = _where(f, "x", params, month="first_month")
        measures = (
            "count(*) AS records, count(*) AS value, NULL::numeric AS numerator, 0 AS households"
        )
        return await self._grouped_rows(
            _COLLABORATION_KEYS, group, measures, "impact_collaborations AS x", where, params
        )

    async def lendable(
        self,
        f: Filters,
        *,
        group: tuple[str, ...],
        periods: list[tuple[str, date, date]],
    ) -> list[dict[str, Any]]:
        """Lendable item listings live in each period, and how many of them were lent or
        rented at least once in it (a loan that was taken back does not count)."""
        params: dict[str, Any] = {
            "keys": [p[0] for p in periods],
            "starts": [p[1] for p in periods],
            "ends": [p[2] for p in periods],
        }
        place = []
        for name, column in (("fylke", "fylkesnummer"), ("kommune", "kommunenummer")):
            value = getattr(f, name)
            if value is not None:
                place.append(f"AND l.{column} = :{name}")
                params[name] = value
        grades = ""
        if f.grades is not None:
            grades = "AND e.grade = ANY(CAST(:grades AS text[]))"
            params["grades"] = list(f.grades)
        keys, group_by = _grouped(_LENDABLE_KEYS, group)
        sql = f"""
            WITH periods AS (
                SELECT p.key, p.starts,
                       (p.starts::timestamp AT TIME ZONE 'Europe/Oslo') AS starts_at,
                       ((p.ends + interval '1 month')::timestamp AT TIME ZONE 'Europe/Oslo')
                           AS ends_at,
                       p.ends
                FROM unnest(CAST(:keys AS text[]), CAST(:starts AS date[]),
                            CAST(:ends AS date[])) AS p (key, starts, ends)
            ), lendable AS (
                SELECT p.key AS period, p.ends_at, l.id, l.kommunenummer, l.fylkesnummer,
                       l.category_slug, l.owner_person_id,
                       greatest(1, floor(coalesce(l.quantity, 1)))::int AS units
                FROM periods AS p
                JOIN listings AS l
                  ON l.kind = 'item' AND l.mode IN ('lend', 'rent')
                 AND l.published_at < p.ends_at
                 AND (l.closed_at IS NULL OR l.closed_at >= p.starts_at)
                 AND (l.expires_at IS NULL OR l.expires_at >= p.starts_at)
                 {" ".join(place)}
            ), used AS (
                SELECT p.key AS period, t.listing_id, sum(e.record_count) AS loans
                FROM periods AS p
                JOIN evidence AS e
                  ON e.occurred_at >= p.starts_at AND e.occurred_at < p.ends_at
                JOIN transactions AS t ON t.id = e.transaction_id
                WHERE e.type IN ('loan', 'rental') AND e.subgoal = 'SG2' {grades}
                GROUP BY p.key, t.listing_id
                HAVING sum(e.record_count) > 0
            ), recent AS (
                -- Units lent in the 90 days up to the period's end (a loan still counted).
                SELECT p.key AS period, t.listing_id,
                       count(DISTINCT coalesce(t.unit_no, 1)) AS lent_units
                FROM periods AS p
                JOIN evidence AS e
                  ON e.occurred_at >= p.ends_at - interval '90 days'
                 AND e.occurred_at < p.ends_at
                JOIN transactions AS t ON t.id = e.transaction_id
                WHERE e.type IN ('loan', 'rental') AND e.subgoal = 'SG2' {grades}
                GROUP BY p.key, t.listing_id, t.unit_no
                HAVING sum(e.record_count) > 0
            ), lent AS (
                SELECT period, listing_id, sum(lent_units) AS lent_units
                FROM recent GROUP BY period, listing_id
            )
            SELECT {keys}
                   count(*) AS records,
                   count(*) AS value,
                   count(u.listing_id) AS numerator,
                   count(DISTINCT l.owner_person_id) AS households,
                   sum(l.units) AS units,
                   coalesce(sum(u.loans), 0) AS loans,
                   sum(l.units - least(l.units, coalesce(r.lent_units, 0))) AS idle_units
            FROM lendable AS l
            LEFT JOIN used AS u ON u.period = l.period AND u.listing_id = l.id
            LEFT JOIN lent AS r ON r.period = l.period AND r.listing_id = l.id
            {group_by}
        """
        return await self._rows(sql, params)

    async def populations(self) -> list[dict[str, Any]]:
        sql = (
            "SELECT kommunenummer, fylkesnummer, population, population_year FROM kommuner "
            "WHERE population IS NOT NULL"
        )
        return await self._rows(sql, {})

    async def levels(self) -> dict[int, frozenset[str]]:
        result = await self.session.execute(text("SELECT * FROM impact_levels"))
        return {
            row["level"]: frozenset(
                d for d in ("kommune", "fylke", "sector", "category", "initiative") if row[d]
            )
            for row in result.mappings()
        }
