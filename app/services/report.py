"""Abuse reports: anyone signed in reports a listing, a person, or a message written to them;
moderators work through the queue, oldest first, and action or dismiss.

A report's target must exist and be visible to the reporter — a hidden listing is as unknown to
a stranger as a missing one (``422 unknown_report_target``), so reports cannot probe for hidden
objects. Nobody reports themselves or what they manage (``422 own_report_target``). One open
report per reporter and target (``409 already_reported``); a decided one can be followed by a
new report.

A decision closes **every** open report on the same target with the same outcome (moderators
decide about the listing, not about each of the twelve people who flagged it), each leaving its
line in the audit trail (``report_events``, written by the database). ``actioned`` may carry an
action done in the same database transaction: ``hide_listing`` hides the listing with the
decision's note as the reason its owner sees.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import (
    ActionNotForTargetError,
    ListingNotFoundError,
    OwnReportTargetError,
    ReportDecidedError,
    ReportNotFoundError,
    TransactionNotFoundError,
    UnknownReportTargetError,
)
from app.models import Report
from app.models.outbox import EventType
from app.models.person import PlatformRole
from app.models.report import (
    ACTIONS_FOR,
    TARGET_COLUMNS,
    ReportAction,
    ReportStatus,
    ReportTarget,
)
from app.pagination import decode_time_id_cursor, encode_cursor
from app.repositories.photo import PhotoRepository
from app.repositories.report import QueueFilters, ReportRepository
from app.repositories.review import ReviewRepository
from app.schemas.report import (
    ModerationReportPage,
    ModerationReportRead,
    ReportCreate,
    ReportDecision,
    ReportEventRead,
    ReportPage,
    ReportRead,
    ReportTargetRef,
)
from app.services import listing as listing_service
from app.services import outbox
from app.services import photo as photo_service
from app.services import transaction as transaction_service
from app.services.policy import Principal, require_person, require_platform_role


def _unknown(target: ReportTarget, target_id: uuid.UUID) -> UnknownReportTargetError:
    return UnknownReportTargetError.for_field(
        f"There is no {target} with the id {target_id} that you can see.",
        field="target_id",
        message=f"Unknown {target}",
        type="unknown",
    )


async def _check_listing(session: AsyncSession, principal: Principal, target_id: uuid.UUID) -> None:
    try:
        listing = await listing_service.visible_listing(
            session, principal=principal, listing_id=target_id
        )
    except ListingNotFoundError:
        raise _unknown(ReportTarget.LISTING, target_id) from None
    if await listing_service.manages_listing(session, principal=principal, listing=listing):
        raise OwnReportTargetError("This listing is yours; withdraw or change it instead.")


async def _check_person(session: AsyncSession, principal: Principal, target_id: uuid.UUID) -> None:
    if target_id == principal.person_id:
        raise OwnReportTargetError("You cannot report yourself.")
    if not await ReportRepository(session).person_exists(target_id):
        raise _unknown(ReportTarget.PERSON, target_id)


# Each target type's check that it exists, is visible to the reporter and is not theirs.
async def _check_message(session: AsyncSession, principal: Principal, target_id: uuid.UUID) -> None:
    """A message is reported by the other side of its conversation."""
    found = await ReportRepository(session).message_origin(target_id)
    if found is None:
        raise _unknown(ReportTarget.MESSAGE, target_id)
    transaction_id, author_side = found
    try:
        _, participation = await transaction_service.load_participation(
            session, principal, transaction_id, lock=False
        )
    except TransactionNotFoundError:
        raise _unknown(ReportTarget.MESSAGE, target_id) from None
    sides = {p.value for p in participation.parties} & {"provider", "receiver"}
    if not sides:
        raise _unknown(ReportTarget.MESSAGE, target_id)
    if author_side in sides:
        raise OwnReportTargetError("This message is from your side of the conversation.")


async def _check_review(session: AsyncSession, principal: Principal, target_id: uuid.UUID) -> None:
    """A review is reported by anyone who can see it: a revealed one, or the author's side's
    own (which they cannot report: it is theirs)."""
    review = await ReviewRepository(session).get(target_id)
    if review is None or review.revealed_at is None:
        raise _unknown(ReportTarget.REVIEW, target_id)
    if review.author_person_id is not None and review.author_person_id == principal.person_id:
        raise OwnReportTargetError("You wrote this review.")


async def _check_photo(session: AsyncSession, principal: Principal, target_id: uuid.UUID) -> None:
    """A photo is reported by anyone who can see it: a live photo of a listing they may see."""
    found = await PhotoRepository(session).get(target_id)
    if found is None or found.removed_at is not None:
        raise _unknown(ReportTarget.PHOTO, target_id)
    try:
        listing = await listing_service.visible_listing(
            session, principal=principal, listing_id=found.listing_id
        )
    except ListingNotFoundError:
        raise _unknown(ReportTarget.PHOTO, target_id) from None
    if await listing_service.manages_listing(session, principal=principal, listing=listing):
        raise OwnReportTargetError("This photo is on your listing; delete it instead.")


_TargetCheck = Callable[[AsyncSession, Principal, uuid.UUID], Awaitable[None]]
_CHECKS: dict[ReportTarget, _TargetCheck] = {
    ReportTarget.LISTING: _check_listing,
    ReportTarget.MESSAGE: _check_message,
    ReportTarget.PERSON: _check_person,
    ReportTarget.REVIEW: _check_review,
    ReportTarget.PHOTO: _check_photo,
}


def report_read(report: Report) -> ReportRead:
    return ReportRead(
        id=report.id,
        target=ReportTargetRef(type=ReportTarget(report.target_type), id=report.target_id),
        reason=report.reason,  # type: ignore[arg-type]
        note=report.note,
        status=report.status,  # type: ignore[arg-type]
        created_at=report.created_at,
        decided_at=report.decided_at,
    )


async def create_report(
    session: AsyncSession, *, principal: Principal, body: ReportCreate, now: datetime
) -> ReportRead:
    reporter = require_person(principal)
    await _CHECKS[body.target_type](session, principal, body.target_id)
    report = Report(
        reporter_person_id=reporter,
        target_type=body.target_type.value,
        reason=body.reason.value,
        note=body.note.strip(),
        status=ReportStatus.OPEN.value,
        created_at=now,
        **{TARGET_COLUMNS[body.target_type]: body.target_id},
    )
    await ReportRepository(session).add(report)
    return report_read(report)


def _decode(cursor: str) -> tuple[datetime, uuid.UUID]:
    return decode_time_id_cursor(cursor, time="c", id="i", aware=True)


def _encode(rows: list[Report], limit: int) -> str | None:
    if len(rows) <= limit:
        return None
    last = rows[limit - 1]
    return encode_cursor({"c": last.created_at.isoformat(), "i": str(last.id)})


async def list_my_reports(
    session: AsyncSession, *, principal: Principal, cursor: str | None, limit: int
) -> ReportPage:
    reporter = require_person(principal)
    after = _decode(cursor) if cursor else None
    rows = await ReportRepository(session).of_reporter(reporter, after=after, limit=limit + 1)
    return ReportPage(
        items=[report_read(r) for r in rows[:limit]], next_cursor=_encode(rows, limit)
    )


async def get_report(
    session: AsyncSession, *, principal: Principal, report_id: uuid.UUID
) -> ReportRead:
    """The reporter's own report; moderators read reports through the queue's routes."""
    person = require_person(principal)
    report = await ReportRepository(session).get(report_id)
    if report is None or report.reporter_person_id != person:
        raise ReportNotFoundError(f"You have no report with the id {report_id}.")
    return report_read(report)


# --- moderation -----------------------------------------------------------------------------


async def _moderation_reads(
    session: AsyncSession, reports: list[Report]
) -> list[ModerationReportRead]:
    repo = ReportRepository(session)
    counts = await repo.open_counts(reports)
    labels = await repo.target_labels(reports)
    return [
        ModerationReportRead(
            **report_read(r).model_dump(),
            reporter_id=r.reporter_person_id,
            target_label=labels.get(r.target_id),
            open_reports_on_target=counts.get((r.target_type, r.target_id), 0),
            decided_by=r.decided_by,
            decision_note=r.decision_note,
            action=ReportAction(r.action) if r.action else None,
        )
        for r in reports
    ]


async def moderation_queue(
    session: AsyncSession,
    *,
    principal: Principal,
    status: ReportStatus | None,
    target_type: ReportTarget | None,
    reason: str | None,
    cursor: str | None,
    limit: int,
) -> ModerationReportPage:
    require_platform_role(principal, PlatformRole.MODERATOR)
    filters = QueueFilters(
        status=status.value if status else None,
        target_type=target_type.value if target_type else None,
        reason=reason,
    )
    after = _decode(cursor) if cursor else None
    rows = await ReportRepository(session).queue(filters, after=after, limit=limit + 1)
    items = await _moderation_reads(session, rows[:limit])
    # The queue runs oldest first: the cursor is the last row's key, read as "after".
    return ModerationReportPage(items=items, next_cursor=_encode(rows, limit))


async def _with_events(session: AsyncSession, report: Report) -> ModerationReportRead:
    [read] = await _moderation_reads(session, [report])
    events = await ReportRepository(session).events(report.id)
    read.events = [
        ReportEventRead(
            status=e.status,  # type: ignore[arg-type]
            actor_id=e.actor_person_id,
            note=e.note,
            action=ReportAction(e.action) if e.action else None,
            at=e.at,
        )
        for e in events
    ]
    return read


async def moderation_report(
    session: AsyncSession, *, principal: Principal, report_id: uuid.UUID
) -> ModerationReportRead:
    require_platform_role(principal, PlatformRole.MODERATOR)
    report = await ReportRepository(session).get(report_id)
    if report is None:
        raise ReportNotFoundError(f"No report has the id {report_id}.")
    return await _with_events(session, report)


async def _act(
    session: AsyncSession,
    principal: Principal,
    report: Report,
    action: ReportAction,
    note: str,
    now: datetime,
) -> None:
    target = ReportTarget(report.target_type)
    if action not in ACTIONS_FOR[target]:
        allowed = ", ".join(sorted(ACTIONS_FOR[target])) or "none"
        raise ActionNotForTargetError.for_field(
            f"`{action}` does not apply to a reported {target} (allowed: {allowed}).",
            field="action",
            message=f"Not an action for a {target}",
            type="not_for_target",
        )
    if action is ReportAction.HIDE_LISTING:
        await listing_service.hide_listing(
            session, principal=principal, listing_id=report.target_id, reason=note, now=now
        )
    elif action is ReportAction.REMOVE_PHOTO:
        photo = await PhotoRepository(session).get(report.target_id)
        assert photo is not None  # the report's foreign key keeps it
        await photo_service.remove_photo(
            session,
            principal=principal,
            listing_id=photo.listing_id,
            photo_id=photo.id,
            reason=note,
            now=now,
        )


async def decide_report(
    session: AsyncSession,
    *,
    principal: Principal,
    report_id: uuid.UUID,
    decision: ReportDecision,
    now: datetime,
) -> ModerationReportRead:
    moderator = require_platform_role(principal, PlatformRole.MODERATOR)
    repo = ReportRepository(session)
    report = await repo.get(report_id, for_update=True)
    if report is None:
        raise ReportNotFoundError(f"No report has the id {report_id}.")
    if report.status != ReportStatus.OPEN.value:
        raise ReportDecidedError(f"The report was already {report.status}.")
    if decision.action is not None:
        await _act(session, principal, report, decision.action, decision.note, now)
    together = await repo.open_on_target(
        ReportTarget(report.target_type), report.target_id, for_update=True
    )
    others = [r for r in together if r.id != report.id]
    await repo.decide(
        [report, *others],
        {
            "status": decision.outcome,
            "decided_at": now,
            "decided_by": moderator,
            "decision_note": decision.note,
            "action": decision.action.value if decision.action else None,
        },
    )
    if decision.outcome == ReportStatus.ACTIONED.value:
        for decided in (report, *others):
            await outbox.emit(
                session,
                EventType.REPORT_ACTIONED,
                to=[outbox.Recipient(person_id=decided.reporter_person_id)],
                payload={"report_id": str(decided.id), "target_type": decided.target_type},
                now=now,
            )
    read = await _with_events(session, report)
    read.also_decided = [r.id for r in others]
    return read
