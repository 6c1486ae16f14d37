"""Every SQL statement about abuse reports and their audit trail."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import AlreadyReportedError, ReportDecidedError
from app.models import Listing, ListingPhoto, Message, Person, Report, ReportEvent, Review
from app.models.report import TARGET_COLUMNS, TARGET_KEY, ReportStatus, ReportTarget
from app.repositories.db_errors import constraint_name


@dataclass(frozen=True, slots=True)
class QueueFilters:
    status: str | None
    target_type: str | None
    reason: str | None


def _target_column(target: ReportTarget) -> Any:
    return getattr(Report, TARGET_COLUMNS[target])


class ReportRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, report: Report) -> Report:
        """Insert the report; a second open report of the same reporter on the same target is
        ``409 already_reported`` (the unique index decides, also between parallel requests)."""
        try:
            async with self.session.begin_nested():
                self.session.add(report)
                await self.session.flush()
        except IntegrityError as exc:
            if constraint_name(exc) == "uq_reports_open_per_reporter":
                raise AlreadyReportedError(
                    "You already reported this; a moderator will look at your open report."
                ) from None
            raise
        return report

    async def get(self, report_id: uuid.UUID, *, for_update: bool = False) -> Report | None:
        stmt = select(Report).where(Report.id == report_id)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def message_origin(self, message_id: uuid.UUID) -> tuple[uuid.UUID, str] | None:
        """The message's transaction and the side that wrote it."""
        stmt = select(Message.transaction_id, Message.author_side).where(Message.id == message_id)
        row = (await self.session.execute(stmt)).one_or_none()
        return None if row is None else (row[0], row[1])

    async def person_exists(self, person_id: uuid.UUID) -> bool:
        stmt = select(Person.id).where(Person.id == person_id, Person.erased_at.is_(None))
        return (await self.session.execute(stmt)).scalar_one_or_none() is not None

    async def by_reporter_on(
        self, person_id: uuid.UUID, target: ReportTarget, target_id: uuid.UUID
    ) -> bool:
        """Whether the person ever reported the target."""
        stmt = (
            select(Report.id)
            .where(
                Report.reporter_person_id == person_id,
                Report.target_type == target.value,
                _target_column(target) == target_id,
            )
            .limit(1)
        )
        return (await self.session.execute(stmt)).first() is not None

    async def of_reporter(
        self, person_id: uuid.UUID, *, after: tuple[datetime, uuid.UUID] | None, limit: int
    ) -> list[Report]:
        """The reporter's reports, newest first."""
        stmt = select(Report).where(Report.reporter_person_id == person_id)
        if after is not None:
            stmt = stmt.where(tuple_(Report.created_at, Report.id) < tuple_(*after))
        stmt = stmt.order_by(Report.created_at.desc(), Report.id.desc()).limit(limit)
        return list((await self.session.execute(stmt)).scalars())

    async def queue(
        self, f: QueueFilters, *, after: tuple[datetime, uuid.UUID] | None, limit: int
    ) -> list[Report]:
        """The moderation queue: oldest first, so the longest waiting is seen first."""
        stmt = select(Report)
        if f.status is not None:
            stmt = stmt.where(Report.status == f.status)
        if f.target_type is not None:
            stmt = stmt.where(Report.target_type == f.target_type)
        if f.reason is not None:
            stmt = stmt.where(Report.reason == f.reason)
        if after is not None:
            stmt = stmt.where(tuple_(Report.created_at, Report.id) > tuple_(*after))
        stmt = stmt.order_by(Report.created_at, Report.id).limit(limit)
        return list((await self.session.execute(stmt)).scalars())

    async def open_on_target(
        self, target: ReportTarget, target_id: uuid.UUID, *, for_update: bool = False
    ) -> list[Report]:
        stmt = (
            select(Report)
            .where(
                Report.target_type == target.value,
                _target_column(target) == target_id,
                Report.status == ReportStatus.OPEN.value,
            )
            .order_by(Report.created_at, Report.id)
        )
        if for_update:
            stmt = stmt.with_for_update()
        return list((await self.session.execute(stmt)).scalars())

    async def open_counts(self, reports: list[Report]) -> dict[tuple[str, uuid.UUID], int]:
        """Open reports per target, for the targets of ``reports``."""
        keys = {(r.target_type, r.target_id) for r in reports}
        if not keys:
            return {}
        key = func.coalesce(*(getattr(Report, c) for c in TARGET_COLUMNS.values()))
        stmt = (
            select(Report.target_type, key, func.count())
            .where(
                Report.status == ReportStatus.OPEN.value,
                tuple_(Report.target_type, key).in_(list(keys)),
            )
            .group_by(Report.target_type, key)
        )
        return {(t, k): n for t, k, n in (await self.session.execute(stmt)).all()}

    async def target_labels(self, reports: list[Report]) -> dict[uuid.UUID, str | None]:
        """The title of each reported listing, the name of each reported person and the text
        of each reported message (so that moderators read what was reported, and only that)."""
        listing_ids = [r.listing_id for r in reports if r.listing_id is not None]
        message_ids = [r.message_id for r in reports if r.message_id is not None]
        review_ids = [r.review_id for r in reports if r.review_id is not None]
        person_ids = [r.person_id for r in reports if r.person_id is not None]
        photo_ids = [r.photo_id for r in reports if r.photo_id is not None]
        labels: dict[uuid.UUID, str | None] = {}
        if photo_ids:
            # A photo's label is the path of its middle rendition, which moderators may open.
            rows = await self.session.execute(
                select(ListingPhoto.id, ListingPhoto.renditions).where(
                    ListingPhoto.id.in_(photo_ids)
                )
            )
            labels.update(
                {
                    i: f"/v1/photos/{i}/{r[len(r) // 2]['size']}.webp" if r else None
                    for i, r in rows.all()
                }
            )
        if listing_ids:
            rows = await self.session.execute(
                select(Listing.id, Listing.title).where(Listing.id.in_(listing_ids))
            )
            labels.update({i: t or None for i, t in rows.all()})  # erased: title ''

        if message_ids:
            rows = await self.session.execute(
                select(Message.id, Message.body).where(Message.id.in_(message_ids))
            )
            labels.update({i: b or None for i, b in rows.all()})  # erased: body ''
        if review_ids:
            rows = await self.session.execute(
                select(Review.id, Review.body).where(Review.id.in_(review_ids))
            )
            labels.update({i: b or None for i, b in rows.all()})
        if person_ids:
            rows = await self.session.execute(
                select(Person.id, Person.display_name).where(Person.id.in_(person_ids))
            )
            labels.update(dict(rows.all()))
        return labels

    async def events(self, report_id: uuid.UUID) -> list[ReportEvent]:
        stmt = (
            select(ReportEvent).where(ReportEvent.report_id == report_id).order_by(ReportEvent.seq)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def decide(self, reports: list[Report], values: dict[str, Any]) -> None:
        """Move the (locked, open) reports to their decision. A report decided meanwhile is
        ``409 report_already_decided`` (the trigger ``reports_guard`` decides)."""
        try:
            async with self.session.begin_nested():
                for report in reports:
                    for column, value in values.items():
                        setattr(report, column, value)
                await self.session.flush()
        except IntegrityError as exc:
            if constraint_name(exc) == "reports_decided_once":
                raise ReportDecidedError("The report was decided meanwhile; reload it.") from None
            raise

    # --- personal data ------------------------------------------------------------------

    async def export_for_person(self, person_id: uuid.UUID) -> list[dict[str, Any]]:
        """The reports the person made (what, why, where they stand; not who decided)."""
        stmt = text(
            f"SELECT id, target_type, {TARGET_KEY} AS target_id, reason, note, status, "
            "created_at, decided_at FROM reports WHERE reporter_person_id = :person "
            "ORDER BY created_at, id"
        )
        rows = await self.session.execute(stmt, {"person": person_id})
        return [dict(r._mapping) for r in rows]

    async def erase_for_person(self, person_id: uuid.UUID) -> None:
        """Erasure empties the notes the person wrote; the reports and decisions stay."""
        await self.session.execute(
            update(Report)
            .where(Report.reporter_person_id == person_id, Report.note != "")
            .values(note="")
        )
