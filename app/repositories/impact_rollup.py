"""Every SQL statement about the impact rollups (``impact_cells``, ``impact_parties``,
``impact_collaborations``; see ``app.models.impact`` and migration 0008).

The trigger ``evidence_rollup`` keeps them current as records are appended. ``rebuild``
recomputes them from ``impact_facts`` in a few set-based statements: for bulk loads (the
benchmark's generator disables the trigger), after a restore, and as the reference the
property test compares the trigger's work against.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

_KEYS = "subgoal, type, month, facet, unit, grade, fylkesnummer, kommunenummer, sector, category, initiative"

# Masked keys of a level ``l`` for a row ``c`` of level 0 / of impact_parties ``q``.
_MASKED = """{t}.subgoal, {t}.type, {t}.month, {t}.facet, {t}.unit, {t}.grade,
    CASE WHEN l.fylke THEN {t}.fylkesnummer ELSE '*' END,
    CASE WHEN l.kommune THEN {t}.kommunenummer ELSE '*' END,
    CASE WHEN l.sector THEN {t}.sector ELSE '*' END,
    CASE WHEN l.category THEN {t}.category ELSE '*' END,
    CASE WHEN l.initiative THEN {t}.initiative ELSE '*' END"""

_REBUILD = (
    "TRUNCATE impact_cells, impact_parties, impact_collaborations",
    f"""
    INSERT INTO impact_parties ({_KEYS}, role, party, party_sector, net)
    SELECT {_KEYS}, 'provider', provider_party, provider_sector, sum(records)
    FROM impact_facts
    GROUP BY {_KEYS}, provider_party, provider_sector
    UNION ALL
    SELECT {_KEYS}, 'receiver', receiver_party, receiver_sector, sum(records)
    FROM impact_facts
    WHERE receiver_party IS NOT NULL
    GROUP BY {_KEYS}, receiver_party, receiver_sector
    """,
    f"""
    INSERT INTO impact_cells (level, {_KEYS}, records, quantity, unit_days, kg, co2e_kg,
                              households, household_sample)
    SELECT 0, {_KEYS}, sum(records), sum(quantity), sum(unit_days), sum(kg), sum(co2e_kg),
           0, ARRAY[NULL, NULL, NULL]::text[]
    FROM impact_facts
    GROUP BY {_KEYS}
    """,
    f"""
    INSERT INTO impact_cells (level, {_KEYS}, records, quantity, unit_days, kg, co2e_kg,
                              households, household_sample)
    SELECT l.level, {_MASKED.format(t="c")},
           sum(c.records), sum(c.quantity), sum(c.unit_days), sum(c.kg), sum(c.co2e_kg),
           0, ARRAY[NULL, NULL, NULL]::text[]
    FROM impact_cells AS c CROSS JOIN impact_levels AS l
    WHERE c.level = 0 AND l.level > 0
    GROUP BY l.level, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12
    """,
    f"""
    UPDATE impact_cells AS c
    SET household_sample = s.sample, households = cardinality(array_remove(s.sample, NULL))
    FROM (
        SELECT l.level, {_MASKED.format(t="q")},
               sirkel_sample3((array_agg(DISTINCT q.party ORDER BY q.party))[1:3]) AS sample
        FROM impact_parties AS q CROSS JOIN impact_levels AS l
        WHERE q.party_sector = 'households' AND q.net > 0
        GROUP BY l.level, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12
    ) AS s ({"level, " + _KEYS}, sample)
    WHERE (c.level, c.subgoal, c.type, c.month, c.facet, c.unit, c.grade, c.fylkesnummer,
           c.kommunenummer, c.sector, c.category, c.initiative)
        = (s.level, s.subgoal, s.type, s.month, s.facet, s.unit, s.grade, s.fylkesnummer,
           s.kommunenummer, s.sector, s.category, s.initiative)
    """,
    # First seen: the earliest month; a transaction before an initiative in the same month.
    """
    INSERT INTO impact_collaborations (party_a, party_b, sector_a, sector_b, first_month,
                                       source, fylkesnummer, kommunenummer, initiative)
    SELECT DISTINCT ON (party_a, party_b)
           party_a, party_b, sector_a, sector_b, first_month, source, fylkesnummer,
           kommunenummer, initiative
    FROM (
        SELECT least(f.provider_party, f.receiver_party) AS party_a,
               greatest(f.provider_party, f.receiver_party) AS party_b,
               CASE WHEN f.provider_party < f.receiver_party
                    THEN f.provider_sector ELSE f.receiver_sector END AS sector_a,
               CASE WHEN f.provider_party < f.receiver_party
                    THEN f.receiver_sector ELSE f.provider_sector END AS sector_b,
               f.month AS first_month, 'transaction' AS source, f.fylkesnummer,
               f.kommunenummer, f.initiative, 0 AS source_rank, f.seq
        FROM impact_facts AS f
        WHERE f.records > 0 AND f.receiver_party IS NOT NULL
          AND f.provider_sector <> 'households' AND f.receiver_sector <> 'households'
          AND f.provider_sector <> f.receiver_sector
        UNION ALL
        SELECT s.party_a, s.party_b, s.sector_a, s.sector_b, s.first_month, 'initiative',
               '', '', s.initiative, 1, 0
        FROM sirkel_initiative_pairs(NULL) AS s
    ) AS seen
    ORDER BY party_a, party_b, first_month, source_rank, seq
    """,
)


class ImpactRollupRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def rebuild(self) -> None:
        """Recomputes every rollup from the ledger (takes the ledger's lock first, so no
        record is appended half-way)."""
        await self.session.execute(text("SELECT pg_advisory_xact_lock(7262353537)"))
        for statement in _REBUILD:
            await self.session.execute(text(statement))
