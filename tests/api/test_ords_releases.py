"""Releases that replace each other (``mode=release``): a provider's newer release adds what is
new, restates what changed on the day it happened, withdraws what is gone and brings back
what returns — so the ledger after release N and then N+1 holds what N+1 alone would. Tried
on Repair Cafe Wales's published releases of 2024-07 and 2025-07 (tests/fixtures/ords_real)."""

from __future__ import annotations

import csv
import gzip
import io
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import PROJECT_ROOT
from app.models import Organization
from tests.api.test_ords_import import (  # noqa: F401 - the fixtures
    Worker,
    cafe,
    counted,
    csv_bytes,
    evidence_of,
    fixed_clock,
    import_file,
    imported,
    one_row,
    owner,
    work,
)
from tests.factories import Actor, create_organization

REAL = PROJECT_ROOT / "tests" / "fixtures" / "ords_real"
WALES_2024 = REAL / "OpenRepairData_v0.3_RepairCafeWales_202407.csv.gz"
WALES_2025 = REAL / "OpenRepairData_v0.3_RepairCafeWales_202507.csv.gz"
TORONTO_2025 = REAL / "OpenRepairData_v0.3_RepairCafeToronto_202507.csv.gz"

# The ledger's net figures per repair: what counts it now. Each repair's records by the
# evidence's repair index (LATERAL), and the tables analyzed first: in a test's transaction
# nothing has statistics, and a join the planner guesses wrong ran into the statement timeout.
NET = text(
    """
    SELECT r.provider_record_id, e.n, e.kg, e.co2e, r.kg_diverted AS repair_kg,
           r.co2e_kg AS repair_co2e, r.withdrawn_at IS NOT NULL AS withdrawn
    FROM repairs r
    CROSS JOIN LATERAL (
        SELECT sum(record_count) AS n, sum(kg_diverted) AS kg, sum(co2e_kg) AS co2e
        FROM evidence WHERE repair_id = r.id
    ) e
    WHERE r.data_provider = :provider
    """
)
# Net records by the year they count in (Norwegian time), as the figures group them.
BY_YEAR = text(
    """
    SELECT extract(year FROM e.occurred_at AT TIME ZONE 'Europe/Oslo')::int AS year,
           sum(e.record_count) AS n
    FROM repairs r
    CROSS JOIN LATERAL (
        SELECT occurred_at, record_count FROM evidence WHERE repair_id = r.id
    ) e
    WHERE r.data_provider = :provider
    GROUP BY 1 HAVING sum(e.record_count) <> 0
    """
)


def rows_of(path: Path) -> list[dict[str, str]]:
    with gzip.open(path, "rt", encoding="utf-8-sig", newline="") as file:
        return list(csv.DictReader(file))


async def net(session: AsyncSession, provider: str) -> dict[str, Any]:
    await session.execute(text("ANALYZE repairs, evidence"))
    return {r.provider_record_id: r for r in await session.execute(NET, {"provider": provider})}


async def by_year(session: AsyncSession, provider: str) -> dict[int, int]:
    await session.execute(text("ANALYZE repairs, evidence"))
    return {r.year: int(r.n) for r in await session.execute(BY_YEAR, {"provider": provider})}


async def test_wales_2024_then_2025_leaves_what_2025_alone_would(
    client: httpx.AsyncClient,
    session: AsyncSession,
    owner: Actor,  # noqa: F811
    cafe: Organization,  # noqa: F811
    work: Worker,  # noqa: F811
) -> None:
    provider = "Repair Cafe Wales"
    older = await import_file(
        client,
        work,
        owner.headers,
        cafe,
        WALES_2024.read_bytes(),
        mode="release",
        release="2024-07",
        content_type="application/gzip",
    )
    assert older["state"] == "done", older
    rows_2024 = rows_of(WALES_2024)
    assert counted(older) == {
        "rows": len(rows_2024),
        "written": len(rows_2024),
        "inserted": len(rows_2024),
    }

    newer = await import_file(
        client,
        work,
        owner.headers,
        cafe,
        WALES_2025.read_bytes(),
        mode="release",
        release="2025-07",
    )
    assert newer["state"] == "done", newer
    rows_2025 = rows_of(WALES_2025)
    counts = newer["counts"]
    assert counts["rows"] == counts["written"] == len(rows_2025)
    assert counts["inserted"] + counts["restated"] + counts["updated"] + counts["unchanged"] == len(
        rows_2025
    )
    ids_2024, ids_2025 = {r["id"] for r in rows_2024}, {r["id"] for r in rows_2025}
    assert counts["inserted"] == len(ids_2025 - ids_2024)
    assert counts["withdrawn"] == len(ids_2024 - ids_2025)
    # The partner changed rows between releases (the trial found it): some restated.
    assert counts["restated"] > 0

    # What counts now is exactly the 2025 release: each of its records once, with its own
    # figures; every withdrawn one not at all.
    figures = await net(session, provider)
    current = {k: v for k, v in figures.items() if not v.withdrawn}
    assert set(current) == ids_2025
    assert all(v.n == 1 for v in current.values())
    assert all(v.kg == v.repair_kg and v.co2e == v.repair_co2e for v in current.values())
    gone = {k: v for k, v in figures.items() if v.withdrawn}
    assert set(gone) == ids_2024 - ids_2025
    assert all(v.n == 0 and not (v.kg or 0) and not (v.co2e or 0) for v in gone.values())
    # And in the year each happened: restating and withdrawing changed the years they
    # counted in, not this one.
    assert await by_year(session, provider) == dict(
        Counter(int(r["event_date"][:4]) for r in rows_2025)
    )
    stored = await imported(session, provider)
    fixed = sum(1 for r in rows_2025 if r["repair_status"] == "Fixed")
    assert (
        sum(1 for r in stored.values() if r.withdrawn_at is None and r.repair_status == "Fixed")
        == fixed
    )
    changed = [r for r in stored.values() if r.release == "2025-07"]
    assert len(changed) == counts["inserted"] + counts["restated"] + counts["updated"]

    # The same release again changes nothing.
    again = await import_file(
        client, work, owner.headers, cafe, WALES_2025.read_bytes(), mode="release"
    )
    assert counted(again) == {
        "rows": len(rows_2025),
        "written": len(rows_2025),
        "unchanged": len(rows_2025),
    }
    assert await net(session, provider) == figures


async def test_restated_withdrawn_and_reinstated_records_and_their_evidence(
    client: httpx.AsyncClient,
    session: AsyncSession,
    owner: Actor,  # noqa: F811
    cafe: Organization,  # noqa: F811
    work: Worker,  # noqa: F811
) -> None:
    provider = "Reparasjonskafé Oslo"
    first = [
        one_row(id="kafe_1", event_date="2024-03-02"),
        one_row(id="kafe_2", event_date="2024-05-04", repair_status="Repairable"),
        one_row(id="kafe_3", event_date="2025-01-11"),
        one_row(id="kafe_4", event_date="2025-02-08", problem="Løs kontakt"),
    ]
    job = await import_file(client, work, owner.headers, cafe, csv_bytes(first), mode="release")
    assert counted(job)["inserted"] == 4

    second = [
        # Fixed after all, and on another day: restated.
        one_row(id="kafe_2", event_date="2024-06-01", repair_status="Fixed"),
        first[0],  # unchanged
        # Only the problem text changed: updated, nothing counted again.
        one_row(id="kafe_4", event_date="2025-02-08", problem="Løs kontakt i støpselet"),
        one_row(id="kafe_5", event_date="2025-03-08"),  # new
        # kafe_3 is gone: withdrawn.
    ]
    job = await import_file(
        client, work, owner.headers, cafe, csv_bytes(second), mode="release", release="B"
    )
    assert counted(job) == {
        "rows": 4,
        "written": 4,
        "inserted": 1,
        "restated": 1,
        "updated": 1,
        "unchanged": 1,
        "withdrawn": 1,
    }
    stored = await imported(session, provider)
    assert stored["kafe_3"].withdrawn_at is not None
    assert stored["kafe_4"].problem == "Løs kontakt i støpselet"
    assert (stored["kafe_2"].repair_status, stored["kafe_2"].release) == ("Fixed", "B")
    assert stored["kafe_2"].kg_diverted is not None  # a Fixed laptop carries its impact now

    records = {
        (r.repair_id, r.event, r.record_count): r for r in await evidence_of(session, provider)
    }
    kafe_2 = stored["kafe_2"].id
    taken_back = records[(kafe_2, "restated", -1)]
    counted_again = records[(kafe_2, "restated", 1)]
    original = records[(kafe_2, "imported", 1)]
    assert taken_back.compensates == original.seq
    assert taken_back.occurred_at == original.occurred_at  # on the day it counted
    assert counted_again.occurred_at.date().isoformat() <= "2024-06-01"
    assert (counted_again.repair_status, counted_again.kg_diverted) == (
        "Fixed",
        stored["kafe_2"].kg_diverted,
    )
    withdrawn = records[(stored["kafe_3"].id, "withdrawn", -1)]
    assert withdrawn.compensates == records[(stored["kafe_3"].id, "imported", 1)].seq
    assert not any(
        r.repair_id == stored["kafe_4"].id and r.event != "imported" for r in records.values()
    )

    # The ORDS export leaves a withdrawn record out.
    export = await client.get("/v1/exports/ords.csv")
    exported = {row["problem"] for row in csv.DictReader(io.StringIO(export.text))}
    assert "Løs kontakt i støpselet" in exported
    assert (
        len([r for r in csv.DictReader(io.StringIO(export.text)) if r["data_provider"] == provider])
        == 4
    )

    # Back in the next release: reinstated, counted again.
    job = await import_file(
        client, work, owner.headers, cafe, csv_bytes([*second, first[2]]), mode="release"
    )
    assert counted(job) == {"rows": 5, "written": 5, "reinstated": 1, "unchanged": 4}
    assert (await imported(session, provider))["kafe_3"].withdrawn_at is None
    figures = await net(session, provider)
    assert {k: v.n for k, v in figures.items()} == {f"kafe_{i}": 1 for i in range(1, 6)}

    # Append never restates nor withdraws.
    job = await import_file(
        client,
        work,
        owner.headers,
        cafe,
        csv_bytes([one_row(id="kafe_1", repair_status="Unknown")]),
    )
    assert counted(job) == {"rows": 1, "written": 1, "unchanged": 1}
    assert (await imported(session, provider))["kafe_1"].repair_status == "Fixed"


async def test_a_release_leaves_other_providers_and_organizations_alone(
    client: httpx.AsyncClient,
    session: AsyncSession,
    owner: Actor,  # noqa: F811
    cafe: Organization,  # noqa: F811
    work: Worker,  # noqa: F811
) -> None:
    other_org = await create_organization(session, owner=owner, name="Annen kafé")
    toronto = await import_file(
        client, work, owner.headers, cafe, TORONTO_2025.read_bytes(), mode="release"
    )
    assert toronto["state"] == "done", toronto
    toronto_rows = len(rows_of(TORONTO_2025))
    assert toronto["counts"]["inserted"] == toronto_rows
    mine = [one_row(id=f"kafe_{i}") for i in range(3)]
    await import_file(client, work, owner.headers, cafe, csv_bytes(mine), mode="release")
    # Another organization's release of the same provider: the records are the first
    # importer's; nothing of theirs is withdrawn.
    theirs = await import_file(
        client, work, owner.headers, other_org, csv_bytes(mine[:1]), mode="release"
    )
    assert counted(theirs) == {"rows": 1, "written": 1, "skipped": 1}
    # A release of one provider withdraws nothing of another (Toronto is untouched).
    assert (
        len([r for r in (await net(session, "Repair Café Toronto")).values() if r.n == 1])
        == toronto_rows
    )
    assert all(v.n == 1 for v in (await net(session, "Reparasjonskafé Oslo")).values())
    assert uuid.UUID(theirs["organization_id"]) == other_org.id
