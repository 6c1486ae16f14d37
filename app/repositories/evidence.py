"""Every SQL statement about the evidence ledger.

Records are only ever inserted; the trigger ``evidence_chain`` numbers and hashes them (see
``app.models.evidence``). A record is written as the last step of its database transaction,
because the chain's lock is held until commit.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    exists,
    func,
    insert,
    literal,
    literal_column,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.models import Evidence, Organization
from app.models.evidence import EvidenceEvent, EvidenceGrade


@dataclass(frozen=True, slots=True)
class PartyRef:
    """A party by its real id; the ledger stores only its pseudonym and sector."""

    person_id: uuid.UUID | None = None
    organization_id: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class EvidenceDraft:
    occurred_at: datetime
    event: EvidenceEvent
    grade: EvidenceGrade
    type: str
    subgoal: str
    provider: PartyRef
    receiver: PartyRef | None = None
    transaction_id: uuid.UUID | None = None
    repair_id: uuid.UUID | None = None
    kommunenummer: str | None = None
    fylkesnummer: str | None = None
    category_slug: str | None = None
    ewc_code: str | None = None
    ords_category_id: int | None = None
    repair_status: str | None = None
    quantity: Decimal | None = None
    unit: str | None = None
    days: Decimal | None = None
    kg_diverted: Decimal | None = None
    co2e_kg: Decimal | None = None
    factor_revision: int | None = None
    initiative_id: uuid.UUID | None = None
    matched: bool = False
    country: str = "NOR"  # ISO 3166-1 alpha-3; only Norway's records are counted


def _pseudonym(party: PartyRef | None) -> ColumnElement[Any]:
    if party is None:
        return literal(None)
    if party.person_id is not None:
        return func.sirkel_party("person", party.person_id)
    return func.sirkel_party("organization", party.organization_id)


def _sector(party: PartyRef | None) -> Any:
    if party is None:
        return literal(None)
    if party.person_id is not None:
        return literal("households")
    return (
        select(Organization.sector)
        .where(Organization.id == party.organization_id)
        .scalar_subquery()
    )


# Columns a compensation negates; the rest it copies (also app.repositories.repair_import's
# set-based compensations).
SIGNED_COLUMNS = _SIGNED = ("record_count", "quantity", "days", "kg_diverted", "co2e_kg")
COPIED_COLUMNS = _COPIED = (
    "type",
    "subgoal",
    "transaction_id",
    "repair_id",
    "provider_party",
    "provider_sector",
    "receiver_party",
    "receiver_sector",
    "kommunenummer",
    "fylkesnummer",
    "category_slug",
    "ewc_code",
    "ords_category_id",
    "repair_status",
    "unit",
    "factor_revision",
    "initiative_id",
    "matched",
)


# A copy keeps the country of what it copies: a record's own from canonical version 4, else
# its repair's (migration 0034's sirkel_evidence_country), so taking back an older foreign
# record is not counted in Norway.
_COUNTRY = func.sirkel_evidence_country(literal_column("evidence")).label("country")


class EvidenceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def append(self, draft: EvidenceDraft) -> int:
        values: dict[str, Any] = {
            "occurred_at": draft.occurred_at,
            "event": draft.event.value,
            "grade": draft.grade.value,
            "type": draft.type,
            "subgoal": draft.subgoal,
            "transaction_id": draft.transaction_id,
            "repair_id": draft.repair_id,
            "provider_party": _pseudonym(draft.provider),
            "provider_sector": _sector(draft.provider),
            "receiver_party": _pseudonym(draft.receiver),
            "receiver_sector": _sector(draft.receiver),
            "kommunenummer": draft.kommunenummer,
            "fylkesnummer": draft.fylkesnummer,
            "category_slug": draft.category_slug,
            "ewc_code": draft.ewc_code,
            "ords_category_id": draft.ords_category_id,
            "repair_status": draft.repair_status,
            "record_count": 1,
            "quantity": draft.quantity,
            "unit": draft.unit,
            "days": draft.days,
            "kg_diverted": draft.kg_diverted,
            "co2e_kg": draft.co2e_kg,
            "factor_revision": draft.factor_revision,
            "initiative_id": draft.initiative_id,
            "matched": draft.matched,
            "country": draft.country,
        }
        stmt = insert(Evidence).values(**values).returning(Evidence.seq)
        return int((await self.session.execute(stmt)).scalar_one())

    def _counted(self, *, transaction_id: uuid.UUID | None, repair_id: uuid.UUID | None) -> Any:
        subject = (
            Evidence.transaction_id == transaction_id
            if transaction_id is not None
            else Evidence.repair_id == repair_id
        )
        return and_(subject, Evidence.record_count == 1)

    async def counted(
        self, *, transaction_id: uuid.UUID | None = None, repair_id: uuid.UUID | None = None
    ) -> int | None:
        """The record that currently counts the subject (positive, not taken back)."""
        later = aliased(Evidence)
        stmt = (
            select(Evidence.seq)
            .where(
                self._counted(transaction_id=transaction_id, repair_id=repair_id),
                ~exists().where(later.compensates == Evidence.seq),
            )
            .order_by(Evidence.seq.desc())
            .limit(1)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def last_counted(
        self, *, transaction_id: uuid.UUID | None = None, repair_id: uuid.UUID | None = None
    ) -> int | None:
        """The latest positive record of the subject, taken back or not."""
        stmt = (
            select(Evidence.seq)
            .where(self._counted(transaction_id=transaction_id, repair_id=repair_id))
            .order_by(Evidence.seq.desc())
            .limit(1)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def compensate(self, seq: int, *, event: EvidenceEvent, occurred_at: datetime) -> int:
        """Takes record ``seq`` back: a copy with every count and quantity negated."""
        source = select(
            *(getattr(Evidence, c) for c in _COPIED),
            _COUNTRY,
            *(-getattr(Evidence, c) for c in _SIGNED),
            literal(seq).label("compensates"),
            literal(event.value).label("event"),
            Evidence.grade,
            literal(occurred_at).label("occurred_at"),
        ).where(Evidence.seq == seq)
        stmt = (
            insert(Evidence)
            .from_select(
                [*_COPIED, "country", *_SIGNED, "compensates", "event", "grade", "occurred_at"],
                source,
            )
            .returning(Evidence.seq)
        )
        return int((await self.session.execute(stmt)).scalar_one())

    async def restate(
        self,
        seq: int,
        *,
        event: EvidenceEvent,
        occurred_at: datetime,
        grade: EvidenceGrade | None = None,
        changes: dict[str, Any] | None = None,
    ) -> int:
        """Counts the subject of record ``seq`` again, with a new grade (None: the record's
        own) and any changed figures (a confirmation, an upheld dispute, a correction)."""
        changes = changes or {}
        columns = [c for c in (*_COPIED, *_SIGNED) if c not in changes]
        source = select(
            *(getattr(Evidence, c) for c in columns),
            _COUNTRY,
            *(literal(v, type_=getattr(Evidence, k).type).label(k) for k, v in changes.items()),
            literal(event.value).label("event"),
            literal(grade.value).label("grade") if grade is not None else Evidence.grade,
            literal(occurred_at).label("occurred_at"),
        ).where(Evidence.seq == seq)
        stmt = (
            insert(Evidence)
            .from_select([*columns, "country", *changes, "event", "grade", "occurred_at"], source)
            .returning(Evidence.seq)
        )
        return int((await self.session.execute(stmt)).scalar_one())

    def feed_statement(
        self, *, after_seq: int | None, since: datetime | None, limit: int
    ) -> Select[Any]:
        stmt = select(Evidence).order_by(Evidence.seq).limit(limit)
        if after_seq is not None:
            stmt = stmt.where(Evidence.seq > after_seq)
        if since is not None:
            stmt = stmt.where(Evidence.recorded_at >= since)
        return stmt

    async def feed(
        self, *, after_seq: int | None, since: datetime | None, limit: int
    ) -> list[Evidence]:
        stmt = self.feed_statement(after_seq=after_seq, since=since, limit=limit)
        return list((await self.session.execute(stmt)).scalars())

    async def verify(self) -> dict[str, Any]:
        """Recomputes every hash in one pass: the first record whose hash, link or number is
        not what the chain says, the count and the head."""
        row = (await self.session.execute(_VERIFY)).mappings().one()
        return dict(row)

    async def head(self) -> dict[str, Any] | None:
        stmt = select(Evidence.seq, Evidence.hash).order_by(Evidence.seq.desc()).limit(1)
        row = (await self.session.execute(stmt)).mappings().one_or_none()
        return dict(row) if row is not None else None


_VERIFY = text(
    """
    WITH chain AS (
        SELECT e.seq, e.hash, e.prev_hash,
               sha256(e.prev_hash || convert_to(sirkel_evidence_canonical(e), 'UTF8'))
                   AS recomputed,
               coalesce(lag(e.hash) OVER w, decode(repeat('00', 32), 'hex')) AS expected_prev,
               coalesce(lag(e.seq) OVER w, 0) + 1 AS expected_seq
        FROM evidence AS e
        WINDOW w AS (ORDER BY e.seq)
    ),
    broken AS (
        SELECT seq,
               CASE
                   WHEN seq <> expected_seq THEN 'sequence'
                   WHEN prev_hash <> expected_prev THEN 'link'
                   ELSE 'hash'
               END AS reason
        FROM chain
        WHERE hash <> recomputed OR prev_hash <> expected_prev OR seq <> expected_seq
        ORDER BY seq
        LIMIT 1
    )
    SELECT (SELECT count(*) FROM evidence) AS count,
           (SELECT encode(hash, 'hex') FROM evidence ORDER BY seq DESC LIMIT 1) AS head_hash,
           (SELECT max(seq) FROM evidence) AS head_seq,
           (SELECT seq FROM broken) AS first_broken_seq,
           (SELECT reason FROM broken) AS reason
    """
)
