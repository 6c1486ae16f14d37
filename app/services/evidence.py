"""The evidence ledger's service side: amending a counted record, the analysts' incremental
feed and the chain's verification.

**Amending.** A counted record is never changed: an event that changes what counts takes it
back (a copy counted -1) and, unless it only withdraws it, counts its subject again (+1) with a
new grade or new figures. ``AMENDMENTS`` says what each such event does; ``amend`` and
``amend_counted`` are the one way to write it, as ``record`` is to count a new subject. The
ledger last: they flush the session's other writes first, and the caller writes nothing after
them, because the ledger's lock is held until commit.

**Who.** The feed is for persons with the platform role ``analyst``; verification for analysts
and moderators. API keys do neither.

**The feed** pages by ``seq``. The trigger ``evidence_chain`` numbers records under a lock held
until commit, so records become visible in ``seq`` order: once a reader has seen ``seq`` n,
no record below n can appear later, and continuing after the last ``seq`` seen never skips one.
``since`` (a time) only chooses where a first pull starts.

**Serialization** is the router's: ``read_feed`` returns the records themselves
(``FeedPage``) and ``app.render.evidence`` writes them as the chain hashed them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import RoleRequiredError
from app.models import Evidence
from app.models.evidence import EvidenceEvent, EvidenceGrade
from app.models.person import PlatformRole
from app.pagination import decode_cursor, encode_cursor, invalid_cursor
from app.repositories.evidence import EvidenceDraft, EvidenceRepository
from app.schemas.evidence import EvidenceHead, EvidenceVerification
from app.services.policy import Principal, require_person

READERS = frozenset({PlatformRole.ANALYST})
VERIFIERS = frozenset({PlatformRole.ANALYST, PlatformRole.MODERATOR})


@dataclass(frozen=True, slots=True)
class Amendment:
    """What an event does to the record that counts a subject."""

    takes_back: bool  # a copy counted -1
    counts_again: bool  # then a copy counted +1, with the grade and any changed figures
    grade: EvidenceGrade | None = None  # None: the record's own


AMENDMENTS: dict[EvidenceEvent, Amendment] = {
    EvidenceEvent.CONFIRMED: Amendment(True, True, EvidenceGrade.CONFIRMED),
    EvidenceEvent.DISPUTED: Amendment(True, False),
    # The dispute took the record back; upholding it counts it again.
    EvidenceEvent.UPHELD: Amendment(False, True, EvidenceGrade.CONFIRMED),
    EvidenceEvent.CORRECTED: Amendment(True, True),
    EvidenceEvent.RETAGGED: Amendment(True, True),
    # An imported record as its provider's next release has it (app.services.repair_import,
    # which writes them set-based, a batch at a time, with the same meaning).
    EvidenceEvent.RESTATED: Amendment(True, True),
    EvidenceEvent.WITHDRAWN: Amendment(True, False),
    EvidenceEvent.REINSTATED: Amendment(False, True),
}


async def record(session: AsyncSession, draft: EvidenceDraft) -> int:
    """Appends a new counted record (a completion, a logged or imported repair); its ``seq``.
    Call it last."""
    await session.flush()  # the ledger last: every other write before its lock
    return await EvidenceRepository(session).append(draft)


async def amend(
    session: AsyncSession,
    seq: int,
    *,
    event: EvidenceEvent,
    occurred_at: datetime,
    changes: dict[str, Any] | None = None,
) -> None:
    """Takes record ``seq`` back and/or counts its subject again, as ``event`` does
    (``AMENDMENTS``), with ``changes`` to the figures (column names). Call it last."""
    amendment = AMENDMENTS[event]
    await session.flush()  # the ledger last: every other write before its lock
    evidence = EvidenceRepository(session)
    if amendment.takes_back:
        await evidence.compensate(seq, event=event, occurred_at=occurred_at)
    if amendment.counts_again:
        await evidence.restate(
            seq, event=event, grade=amendment.grade, occurred_at=occurred_at, changes=changes
        )


async def amend_counted(
    session: AsyncSession,
    *,
    transaction_id: uuid.UUID | None = None,
    repair_id: uuid.UUID | None = None,
    event: EvidenceEvent,
    occurred_at: datetime,
    changes: dict[str, Any] | None = None,
) -> None:
    """``amend`` the record that counts a transaction or a repair: the one counting it now, or,
    for an event that only counts again, the latest one (taken back). Nothing if none."""
    evidence = EvidenceRepository(session)
    find = evidence.counted if AMENDMENTS[event].takes_back else evidence.last_counted
    seq = await find(transaction_id=transaction_id, repair_id=repair_id)
    if seq is not None:
        await amend(session, seq, event=event, occurred_at=occurred_at, changes=changes)


def _require_any_role(principal: Principal, roles: frozenset[PlatformRole], who: str) -> None:
    require_person(principal)
    if not any(principal.has_role(role) for role in roles):
        raise RoleRequiredError(f"Only {who} can do this.")


def _after_seq(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    seq = decode_cursor(cursor, required=("seq",))["seq"]
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise invalid_cursor()
    return seq


@dataclass(frozen=True, slots=True)
class FeedPage:
    """A page of the ledger in ``seq`` order, where to continue, and the newest record."""

    records: list[Evidence]
    next_cursor: str | None
    head: EvidenceHead | None


async def read_feed(
    session: AsyncSession,
    *,
    principal: Principal,
    cursor: str | None,
    since: datetime | None,
    limit: int,
) -> FeedPage:
    """A page of records after ``cursor`` (and recorded at or after ``since``), in ``seq``
    order."""
    _require_any_role(principal, READERS, "an analyst")
    after = _after_seq(cursor)
    repo = EvidenceRepository(session)
    records = await repo.feed(after_seq=after, since=since, limit=limit)
    # Read after the page, so the head is never behind it.
    head = await repo.head()
    if records:
        next_cursor: str | None = encode_cursor({"seq": records[-1].seq})
    else:
        next_cursor = cursor
    return FeedPage(
        records=list(records),
        next_cursor=next_cursor,
        head=EvidenceHead(seq=head["seq"], hash=head["hash"].hex()) if head else None,
    )


async def verify_ledger(
    session: AsyncSession, *, principal: Principal, now: datetime
) -> EvidenceVerification:
    """Recomputes every record's hash and link; the first record that does not check out."""
    _require_any_role(principal, VERIFIERS, "an analyst or a moderator")
    result = await EvidenceRepository(session).verify()
    return EvidenceVerification(
        valid=result["first_broken_seq"] is None,
        count=result["count"],
        head_seq=result["head_seq"],
        head_hash=result["head_hash"],
        first_broken_seq=result["first_broken_seq"],
        reason=result["reason"],
        checked_at=now,
    )
