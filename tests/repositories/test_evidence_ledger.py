"""What the database guarantees about the evidence ledger, whatever code writes to it: records
numbered and chained by the trigger, signed deltas that sum to the truth, pseudonymous
parties, no UPDATE, DELETE or TRUNCATE, and one chain under parallel appends."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.config import DatabaseSettings, Settings
from app.db import create_engine
from app.models import Evidence, Organization, Repair
from app.models.evidence import CANONICAL_VERSION, GENESIS_HASH, EvidenceEvent, EvidenceGrade
from app.models.organization import OrganizationKind
from app.repositories.db_errors import constraint_name, sqlstate
from app.repositories.evidence import EvidenceDraft, EvidenceRepository, PartyRef
from tests.factories import create_organization, create_person

OCCURRED = datetime(2026, 11, 20, 12, 30, 15, 250000, tzinfo=UTC)


# --- helpers shared with tests/api/test_evidence.py -----------------------------------------


async def create_repair(session: AsyncSession, organization: Organization) -> Repair:
    """A repair logged by ``organization``: a subject evidence can count."""
    now = datetime.now(UTC)
    repair = Repair(
        organization_id=organization.id,
        source="logged",
        data_provider="Sirkel test",
        provider_record_id=uuid.uuid4().hex,
        partner_product_category="Kaffetrakter",
        ords_category_id=1,
        repair_status="Fixed",
        event_date=date(2026, 11, 20),
        created_at=now,
        updated_at=now,
    )
    session.add(repair)
    await session.flush()
    return repair


def repair_draft(repair: Repair, **changes: Any) -> EvidenceDraft:
    """The record of a logged repair, counted +1 as reported."""
    draft = EvidenceDraft(
        occurred_at=OCCURRED,
        event=EvidenceEvent.LOGGED,
        grade=EvidenceGrade.REPORTED,
        type="repair",
        subgoal="SG1",
        provider=PartyRef(organization_id=repair.organization_id),
        repair_id=repair.id,
        kommunenummer="0301",
        fylkesnummer="03",
        ords_category_id=1,
        repair_status="Fixed",
        quantity=Decimal("1"),
        unit="pcs",
        kg_diverted=Decimal("2.5"),
        co2e_kg=Decimal("13.125"),
    )
    return replace(draft, **changes)


async def repair_shop(session: AsyncSession, settings: Settings) -> Organization:
    owner = await create_person(session, settings)
    return await create_organization(session, owner=owner, kind=OrganizationKind.REPAIR_SHOP)


async def append_repairs(session: AsyncSession, settings: Settings, n: int) -> list[int]:
    """``n`` logged repairs of one shop, each with its own record; their seqs."""
    shop = await repair_shop(session, settings)
    repo = EvidenceRepository(session)
    seqs = []
    for i in range(n):
        repair = await create_repair(session, shop)
        draft = repair_draft(repair, kg_diverted=Decimal(i) + Decimal("0.125"))
        seqs.append(await repo.append(draft))
    return seqs


# --- numbering and chaining -----------------------------------------------------------------


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


async def test_records_are_numbered_from_one_and_chained_from_the_genesis_hash(
    session: AsyncSession, settings: Settings
) -> None:
    seqs = await append_repairs(session, settings, 3)
    assert seqs == [1, 2, 3]
    rows = (
        await session.execute(
            text(
                "SELECT seq, prev_hash, hash, convert_to(sirkel_evidence_canonical(e), 'UTF8') "
                "AS canonical FROM evidence AS e ORDER BY seq"
            )
        )
    ).all()
    previous = GENESIS_HASH
    for row in rows:
        assert row.prev_hash == previous
        assert row.hash == _sha256(row.prev_hash + row.canonical)
        previous = row.hash


async def test_the_trigger_decides_seq_hashes_time_and_version_whatever_is_sent(
    session: AsyncSession, settings: Settings
) -> None:
    shop = await repair_shop(session, settings)
    repair = await create_repair(session, shop)
    forged = await session.scalar(
        text(
            "INSERT INTO evidence (seq, canonical_version, recorded_at, occurred_at, event, "
            "grade, type, subgoal, repair_id, provider_party, provider_sector, record_count, "
            "prev_hash, hash) VALUES (500, 9, '2001-01-01Z', now(), 'logged', 'reported', "
            "'repair', 'SG1', :repair, 'o_x', 'business', 1, :fake, :fake) RETURNING seq"
        ),
        {"repair": repair.id, "fake": b"\x01" * 32},
    )
    assert forged == 1
    record = await session.get_one(Evidence, 1)
    await session.refresh(record)
    assert record.canonical_version == CANONICAL_VERSION == 4
    assert record.prev_hash == GENESIS_HASH
    assert record.hash != b"\x01" * 32
    assert record.recorded_at > datetime.now(UTC) - timedelta(minutes=5)


async def test_quantities_are_hashed_with_the_three_decimals_they_are_stored_with(
    session: AsyncSession, settings: Settings
) -> None:
    shop = await repair_shop(session, settings)
    repair = await create_repair(session, shop)
    seq = await EvidenceRepository(session).append(
        repair_draft(repair, kg_diverted=Decimal("1.5"), co2e_kg=Decimal("0.0004"))
    )
    canonical = await session.scalar(
        text("SELECT sirkel_evidence_canonical(e) FROM evidence AS e WHERE seq = :s"), {"s": seq}
    )
    assert canonical is not None
    assert '"kg_diverted":"1.500"' in canonical
    assert '"co2e_kg":"0.000"' in canonical
    assert '"quantity":"1.000"' in canonical
    assert '"occurred_at":"2026-11-20T12:30:15.250000Z"' in canonical
    verdict = await EvidenceRepository(session).verify()
    assert verdict["first_broken_seq"] is None


# --- signed deltas --------------------------------------------------------------------------


async def _totals(
    session: AsyncSession, repair_id: uuid.UUID
) -> dict[str, tuple[int, Decimal | None]]:
    """Per grade: the sum of counts and of kg diverted, over every record of the repair."""
    rows = await session.execute(
        select(Evidence.grade, func.sum(Evidence.record_count), func.sum(Evidence.kg_diverted))
        .where(Evidence.repair_id == repair_id)
        .group_by(Evidence.grade)
    )
    return {grade: (int(count), kg) for grade, count, kg in rows.all()}


async def test_a_confirmation_moves_the_count_from_reported_to_confirmed(
    session: AsyncSession, settings: Settings
) -> None:
    shop = await repair_shop(session, settings)
    repair = await create_repair(session, shop)
    repo = EvidenceRepository(session)
    reported = await repo.append(repair_draft(repair))
    taken_back = await repo.compensate(
        reported, event=EvidenceEvent.CONFIRMED, occurred_at=OCCURRED
    )
    confirmed = await repo.restate(
        reported,
        event=EvidenceEvent.CONFIRMED,
        grade=EvidenceGrade.CONFIRMED,
        occurred_at=OCCURRED,
    )
    back = await session.get_one(Evidence, taken_back)
    assert (back.record_count, back.kg_diverted, back.grade) == (-1, Decimal("-2.500"), "reported")
    assert back.compensates == reported
    assert await _totals(session, repair.id) == {
        "reported": (0, Decimal("0.000")),
        "confirmed": (1, Decimal("2.500")),
    }
    assert await repo.counted(repair_id=repair.id) == confirmed


async def test_a_dispute_takes_the_record_back_and_an_uphold_counts_it_again_as_confirmed(
    session: AsyncSession, settings: Settings
) -> None:
    shop = await repair_shop(session, settings)
    repair = await create_repair(session, shop)
    repo = EvidenceRepository(session)
    reported = await repo.append(repair_draft(repair))
    await repo.compensate(reported, event=EvidenceEvent.DISPUTED, occurred_at=OCCURRED)
    assert await _totals(session, repair.id) == {"reported": (0, Decimal("0.000"))}
    assert await repo.counted(repair_id=repair.id) is None
    upheld = await repo.restate(
        reported, event=EvidenceEvent.UPHELD, grade=EvidenceGrade.CONFIRMED, occurred_at=OCCURRED
    )
    assert await _totals(session, repair.id) == {
        "reported": (0, Decimal("0.000")),
        "confirmed": (1, Decimal("2.500")),
    }
    assert await repo.counted(repair_id=repair.id) == upheld


async def test_a_correction_takes_the_old_figures_back_and_counts_the_new(
    session: AsyncSession, settings: Settings
) -> None:
    shop = await repair_shop(session, settings)
    repair = await create_repair(session, shop)
    repo = EvidenceRepository(session)
    counted = await repo.append(repair_draft(repair, grade=EvidenceGrade.CONFIRMED))
    await repo.compensate(counted, event=EvidenceEvent.CORRECTED, occurred_at=OCCURRED)
    corrected = await repo.restate(
        counted,
        event=EvidenceEvent.CORRECTED,
        grade=EvidenceGrade.CONFIRMED,
        occurred_at=OCCURRED,
        changes={"kg_diverted": Decimal("4.25")},
    )
    assert await _totals(session, repair.id) == {"confirmed": (1, Decimal("4.250"))}
    assert await repo.counted(repair_id=repair.id) == corrected
    assert await repo.last_counted(repair_id=repair.id) == corrected
    assert (await repo.verify())["first_broken_seq"] is None


# --- parties --------------------------------------------------------------------------------


async def test_parties_are_stable_pseudonyms_with_their_sector_and_no_ids(
    session: AsyncSession, settings: Settings
) -> None:
    person = await create_person(session, settings)
    shop = await repair_shop(session, settings)
    library = await create_organization(
        session, owner=person, kind=OrganizationKind.LIBRARY_OF_THINGS
    )
    repo = EvidenceRepository(session)
    seqs = []
    for receiver in (PartyRef(person_id=person.person_id), PartyRef(organization_id=library.id)):
        repair = await create_repair(session, shop)
        seqs.append(await repo.append(repair_draft(repair, receiver=receiver)))
    first, second = [await session.get_one(Evidence, s) for s in seqs]
    assert first.provider_party == second.provider_party
    assert first.provider_party.startswith("o_")
    assert len(first.provider_party) == 34
    assert first.provider_sector == "business"
    assert first.receiver_party is not None
    assert first.receiver_party.startswith("p_")
    assert first.receiver_sector == "households"
    assert second.receiver_sector == "civil_society"
    everything = " ".join(
        str(v)
        for r in (first, second)
        for v in (r.provider_party, r.receiver_party, r.provider_sector, r.receiver_sector)
    )
    for real_id in (person.person_id, shop.id, library.id):
        assert real_id.hex not in everything
        assert str(real_id) not in everything


# --- append-only ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE evidence SET kg_diverted = 1000 WHERE seq = 1",
        "DELETE FROM evidence WHERE seq = 1",
        "TRUNCATE evidence CASCADE",
    ],
)
async def test_records_cannot_be_changed_deleted_or_truncated(
    session: AsyncSession, settings: Settings, statement: str
) -> None:
    await append_repairs(session, settings, 1)
    with pytest.raises(DBAPIError) as caught:
        async with session.begin_nested():
            await session.execute(text(statement))
    assert sqlstate(caught.value) == "42501"
    assert constraint_name(caught.value) == "evidence_append_only"
    assert await session.scalar(text("SELECT count(*) FROM evidence")) == 1


# --- one chain under concurrency (committed database) ---------------------------------------


@pytest.fixture
async def wide_committed_engine(committed_database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine with room for twenty connections at once."""
    engine = create_engine(
        DatabaseSettings(url=committed_database_url, pool_size=20, max_overflow=5)  # type: ignore[arg-type]
    )
    yield engine
    await engine.dispose()


async def test_twenty_parallel_appends_make_one_chain_without_gaps(
    wide_committed_engine: AsyncEngine, settings: Settings
) -> None:
    async with AsyncSession(wide_committed_engine, expire_on_commit=False) as session:
        shop = await repair_shop(session, settings)
        repairs = [await create_repair(session, shop) for _ in range(20)]
        await session.commit()
        head_before = (await EvidenceRepository(session).head() or {"seq": 0})["seq"]

    start = asyncio.Event()

    async def append(repair: Repair) -> int:
        async with AsyncSession(wide_committed_engine) as session:
            await session.execute(text("SELECT 1"))  # hold a connection before the start
            await start.wait()
            seq = await EvidenceRepository(session).append(repair_draft(repair))
            await asyncio.sleep(0.01)  # keep the chain's lock a little while
            await session.commit()
            return seq

    tasks = [asyncio.create_task(append(r)) for r in repairs]
    await asyncio.sleep(0.2)
    start.set()
    seqs = await asyncio.gather(*tasks)

    assert sorted(seqs) == list(range(head_before + 1, head_before + 21))
    async with AsyncSession(wide_committed_engine) as session:
        verdict = await EvidenceRepository(session).verify()
        by_repair = dict(
            (
                await session.execute(
                    select(Evidence.repair_id, Evidence.seq).where(
                        Evidence.repair_id.in_([r.id for r in repairs])
                    )
                )
            ).all()
        )
    assert verdict["first_broken_seq"] is None
    assert verdict["head_seq"] == head_before + 20
    assert by_repair == {r.id: s for r, s in zip(repairs, seqs, strict=True)}
