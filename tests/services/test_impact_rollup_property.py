"""Property: the rollups the trigger keeps equal a direct aggregation over the ledger.

Hypothesis writes random ledgers — records of every type, grade, place, party, category and
initiative, and then takes some back (disputes), corrects some (-old, +new figures) and
confirms some (-reported, +confirmed) — through the repository, so every record goes through
``evidence_chain`` and ``evidence_rollup``. After each ledger:

* every level of ``impact_cells``, ``impact_parties`` and ``impact_collaborations`` equals
  what ``ImpactRollupRepository.rebuild`` computes from ``impact_facts`` in one set-based pass;
* the household samples decide the "fewer than 3 households" rule exactly: for random
  groupings, the distinct households the service sees (0-3) equal min(3, the distinct
  household parties counted directly from the evidence).

The records all count one repair as their subject (the facts do not look at the subject).
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.models import Initiative
from app.models.evidence import EvidenceEvent, EvidenceGrade
from app.models.organization import OrganizationKind
from app.repositories.evidence import EvidenceDraft, EvidenceRepository, PartyRef
from app.repositories.impact.rollup import LEVEL_DIMS, Filters, ImpactRollupRepository
from tests.factories import create_organization, create_person
from tests.repositories.test_evidence_ledger import create_repair

# (subgoal, type, unit, ewc_code, repair_status, category)
KINDS: list[tuple[str, str, str | None, str | None, str | None, str | None]] = [
    ("SG1", "reuse", "pcs", None, None, "sofas-and-armchairs"),
    ("SG1", "reuse", None, None, None, "tables"),
    ("SG1", "repair", None, None, "Fixed", "tables"),
    ("SG1", "repair", None, None, "End of life", None),
    ("SG2", "loan", None, None, None, "furniture"),
    ("SG3", "material_exchange", "kg", "170101", None, None),
    ("SG3", "material_exchange", "t", "170106", None, None),
    ("SG3", "rental", "m2", None, None, None),
]
PLACES = [("0301", "03"), ("4601", "46"), ("4602", "46"), (None, None)]
MONTHS = [datetime(2025, m, 15, 12, tzinfo=UTC) for m in (1, 2, 6)] + [
    datetime(2025, 12, 31, 23, 30, tzinfo=UTC)  # already January 2026 in Oslo
]

append_op = st.tuples(
    st.just("append"),
    st.integers(0, len(KINDS) - 1),
    st.integers(0, len(PLACES) - 1),
    st.sampled_from([EvidenceGrade.REPORTED, EvidenceGrade.IMPORTED, EvidenceGrade.CONFIRMED]),
    st.integers(0, 6),  # provider: 0-3 households, 4-6 organizations
    st.integers(-1, 6),  # receiver (-1: none)
    st.integers(-1, 1),  # initiative (-1: none)
    st.integers(0, len(MONTHS) - 1),
    st.integers(1, 500),  # kg
)
later_op = st.tuples(
    st.sampled_from(["dispute", "correct", "confirm"]),
    st.integers(0, 10_000),
    st.integers(1, 500),
)
ledger = st.lists(st.one_of(append_op, later_op), min_size=1, max_size=25)


async def _actors(session: AsyncSession, app_settings: Settings) -> list[PartyRef]:
    people = [await create_person(session, app_settings) for _ in range(4)]
    owner = people[0]
    orgs = [
        await create_organization(session, owner=owner, kind=kind)
        for kind in (
            OrganizationKind.COMPANY,
            OrganizationKind.MUNICIPALITY,
            OrganizationKind.CIVIL_SOCIETY,
        )
    ]
    return [PartyRef(person_id=p.person_id) for p in people] + [
        PartyRef(organization_id=o.id) for o in orgs
    ]


async def _initiatives(session: AsyncSession, owner: uuid.UUID) -> list[uuid.UUID]:
    now = datetime.now(UTC)
    made = []
    for name in ("Ombruksstasjon", "Reparasjonskafé"):
        initiative = Initiative(
            name=name,
            kind="pilot",
            owner_organization_id=owner,
            starts_on=now.date(),
            created_at=now,
            updated_at=now,
        )
        session.add(initiative)
        await session.flush()
        made.append(initiative.id)
    return made


async def _write(session: AsyncSession, ops: list[Any], app_settings: Settings) -> None:
    actors = await _actors(session, app_settings)
    owner = actors[4].organization_id
    assert owner is not None
    initiatives = await _initiatives(session, owner)
    shop = await create_organization(
        session, owner=await create_person(session, app_settings), kind=OrganizationKind.COMPANY
    )
    repair = await create_repair(session, shop)
    repo = EvidenceRepository(session)
    counted: list[int] = []  # seqs that still count
    for op in ops:
        if op[0] == "append":
            _, k, p, grade, prov, recv, ini, m, kg = op
            subgoal, kind, unit, ewc, status, category = KINDS[k]
            kommune, fylke = PLACES[p]
            receiver = actors[recv] if recv >= 0 and recv != prov else None
            seq = await repo.append(
                EvidenceDraft(
                    occurred_at=MONTHS[m],
                    event=EvidenceEvent.COMPLETED,
                    grade=grade,
                    type=kind,
                    subgoal=subgoal,
                    provider=actors[prov],
                    receiver=receiver,
                    repair_id=repair.id,
                    kommunenummer=kommune,
                    fylkesnummer=fylke,
                    category_slug=category,
                    ewc_code=ewc,
                    repair_status=status,
                    quantity=Decimal(kg) if unit else None,
                    unit=unit,
                    days=Decimal("2.5") if kind in ("loan", "rental") else None,
                    kg_diverted=Decimal(kg),
                    co2e_kg=Decimal(kg) * Decimal("0.51"),
                    initiative_id=initiatives[ini] if ini >= 0 else None,
                )
            )
            counted.append(seq)
            continue
        if not counted:
            continue
        action, pick, kg = op
        seq = counted.pop(pick % len(counted))
        now = datetime(2026, 3, 1, tzinfo=UTC)
        if action == "dispute":
            await repo.compensate(seq, event=EvidenceEvent.DISPUTED, occurred_at=now)
        elif action == "correct":
            await repo.compensate(seq, event=EvidenceEvent.CORRECTED, occurred_at=now)
            counted.append(
                await repo.restate(
                    seq,
                    event=EvidenceEvent.CORRECTED,
                    occurred_at=now,
                    changes={"kg_diverted": Decimal(kg)},
                )
            )
        else:
            await repo.compensate(seq, event=EvidenceEvent.CONFIRMED, occurred_at=now)
            counted.append(
                await repo.restate(
                    seq,
                    event=EvidenceEvent.CONFIRMED,
                    occurred_at=now,
                    grade=EvidenceGrade.CONFIRMED,
                )
            )


_SNAPSHOTS = {
    "cells": "SELECT * FROM impact_cells WHERE records <> 0 OR quantity <> 0 OR unit_days <> 0 "
    "OR kg <> 0 OR co2e_kg <> 0 OR households <> 0 ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12",
    "parties": "SELECT * FROM impact_parties WHERE net <> 0 "
    "ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13",
    "collaborations": "SELECT party_a, party_b, sector_a, sector_b, first_month "
    "FROM impact_collaborations ORDER BY 1, 2",
}


async def snapshot(session: AsyncSession) -> dict[str, list[tuple[Any, ...]]]:
    return {
        name: [tuple(r) for r in (await session.execute(text(sql))).all()]
        for name, sql in _SNAPSHOTS.items()
    }


_DIRECT_HOUSEHOLDS = """
    WITH parties AS (
        SELECT {keys}, party, sum(records) AS net
        FROM (
            SELECT {fact_keys}, provider_party AS party, provider_sector AS party_sector, records
            FROM impact_facts
            UNION ALL
            SELECT {fact_keys}, receiver_party, receiver_sector, records
            FROM impact_facts WHERE receiver_party IS NOT NULL
        ) AS p
        WHERE party_sector = 'households'
        GROUP BY {keys}, party, subgoal, type, month, facet, unit, grade, fylkesnummer,
                 kommunenummer, sector, category, initiative
    )
    SELECT {keys}, least(3, count(DISTINCT party) FILTER (WHERE net > 0)) AS households
    FROM parties GROUP BY {keys}
"""
_COLUMN = {
    "fylke": "fylkesnummer",
    "kommune": "kommunenummer",
    "sector": "sector",
    "category": "category",
    "initiative": "initiative",
}
_FACT_KEYS = (
    "subgoal, type, month, facet, unit, grade, fylkesnummer, kommunenummer, sector, category, "
    "initiative"
)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=ledger, grouping=st.sampled_from(sorted(LEVEL_DIMS.items())))
async def test_rollups_equal_a_direct_aggregation_of_random_ledgers(
    session: AsyncSession, settings: Settings, ops: list[Any], grouping: Any
) -> None:
    savepoint = await session.begin_nested()
    try:
        await _write(session, ops, settings)
        kept = await snapshot(session)
        rollups = ImpactRollupRepository(session)
        _, dims = grouping
        group = tuple(sorted(dims))
        service_view = await rollups.cells(
            Filters(month_from=date(2025, 1, 1), month_to=date(2026, 12, 1)),
            group=group,
            measure="records",
            subgoal=None,
            types=(),
            facets=(),
            numerator_facets=(),
        )
        seen = {tuple(r[f"key_{d}"] for d in group): r["households"] for r in service_view}
        await rollups.rebuild()
        rebuilt = await snapshot(session)
        assert kept == rebuilt

        keys = ", ".join(_COLUMN[d] for d in group)
        direct = await session.execute(
            text(_DIRECT_HOUSEHOLDS.format(keys=keys, fact_keys=_FACT_KEYS))
        )
        expected = {tuple(r[: len(group)]) if group else (): r[-1] for r in direct.all()}
        for key, households in seen.items():
            assert households == expected.get(key, 0), key
    finally:
        await savepoint.rollback()
