"""Abuse reports: anyone signed in reports a listing, a photo, a review or a person to the
moderators, who action or dismiss it. Every change of a report's state leaves an event in the
audit trail.

**Invariants the database keeps** (migration 0012):

* a report names exactly one target, of the type it says (``one_target``), through a real
  foreign key, so a report never points at nothing;
* the reason is one of ``ReportReason``; ``other`` needs a note when the report is made
  (``reports_guard``; erasure of the reporter empties every note they wrote);
* a decided report carries who decided, when and why; an open one carries none of it
  (``decided_iff_closed``);
* a report moves only ``open`` → ``actioned`` | ``dismissed``; a decided report, its reporter
  and its target never change again (trigger ``reports_guard``);
* one open report per reporter and target (``uq_reports_open_per_reporter``): reporting the
  same thing twice while the first report waits is a ``409 already_reported``;
* ``report_events`` is written by the trigger ``reports_audit`` on every insert and state
  change (so no state change escapes the trail) and is append-only.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Text,
    Uuid,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, sql_in, uuid_pk


class ReportTarget(StrEnum):
    LISTING = "listing"
    MESSAGE = "message"
    PERSON = "person"
    REVIEW = "review"
    PHOTO = "photo"


class ReportReason(StrEnum):
    SPAM = "spam"
    SCAM = "scam"
    PROHIBITED = "prohibited"
    HAZARDOUS = "hazardous"
    OFFENSIVE = "offensive"
    HARASSMENT = "harassment"
    PERSONAL_DATA = "personal_data"
    MISLEADING = "misleading"
    OTHER = "other"


class ReportStatus(StrEnum):
    OPEN = "open"
    ACTIONED = "actioned"
    DISMISSED = "dismissed"


class ReportAction(StrEnum):
    """What a moderator did to the target when actioning a report (besides deciding it)."""

    HIDE_LISTING = "hide_listing"
    REMOVE_PHOTO = "remove_photo"


# The column that holds the target of each type; exactly one is set (``one_target``).
TARGET_COLUMNS: dict[ReportTarget, str] = {
    ReportTarget.LISTING: "listing_id",
    ReportTarget.MESSAGE: "message_id",
    ReportTarget.PERSON: "person_id",
    ReportTarget.REVIEW: "review_id",
    ReportTarget.PHOTO: "photo_id",
}

# The actions a moderator may take on each type of target.
ACTIONS_FOR: dict[ReportTarget, frozenset[ReportAction]] = {
    ReportTarget.LISTING: frozenset({ReportAction.HIDE_LISTING}),
    ReportTarget.MESSAGE: frozenset(),
    ReportTarget.PERSON: frozenset(),
    ReportTarget.REVIEW: frozenset(),
    ReportTarget.PHOTO: frozenset({ReportAction.REMOVE_PHOTO}),
}


def _one_target() -> str:
    """``target_type`` names the one target column that is set."""
    arms = []
    for target, column in TARGET_COLUMNS.items():
        others = " AND ".join(f"{c} IS NULL" for c in TARGET_COLUMNS.values() if c != column)
        arms.append(f"(target_type = '{target}' AND {column} IS NOT NULL AND {others})")
    return " OR ".join(arms)


TARGET_KEY = f"coalesce({', '.join(TARGET_COLUMNS.values())})"


class Report(Base):
    __tablename__ = "reports"
    __table_args__ = (
        CheckConstraint(sql_in("target_type", ReportTarget), name="target_type_known"),
        CheckConstraint(_one_target(), name="one_target"),
        CheckConstraint(sql_in("reason", ReportReason), name="reason_known"),
        CheckConstraint("char_length(note) <= 1000", name="note_length"),
        CheckConstraint(sql_in("status", ReportStatus), name="status_known"),
        CheckConstraint(
            "(status = 'open') = (decided_at IS NULL AND decided_by IS NULL "
            "AND decision_note IS NULL)",
            name="decided_iff_closed",
        ),
        CheckConstraint(
            "action IS NULL OR (status = 'actioned' AND " + sql_in("action", ReportAction) + ")",
            name="action_when_actioned",
        ),
        CheckConstraint("char_length(decision_note) <= 1000", name="decision_note_length"),
        Index(
            "uq_reports_open_per_reporter",
            "reporter_person_id",
            "target_type",
            text(TARGET_KEY),
            unique=True,
            postgresql_where=text("status = 'open'"),
        ),
        # The moderation queue: open reports, oldest first.
        Index(
            "ix_reports_queue",
            "status",
            "created_at",
            "id",
        ),
        Index("ix_reports_target", "target_type", text(TARGET_KEY)),
        Index("ix_reports_reporter", "reporter_person_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    reporter_person_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("persons.id", ondelete="RESTRICT")
    )
    target_type: Mapped[str] = mapped_column(Text)
    listing_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("listings.id", ondelete="RESTRICT")
    )
    message_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("messages.id", ondelete="RESTRICT")
    )
    person_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("persons.id", ondelete="RESTRICT")
    )
    review_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("reviews.id", ondelete="RESTRICT")
    )
    photo_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("listing_photos.id", ondelete="RESTRICT")
    )
    reason: Mapped[str] = mapped_column(Text)
    note: Mapped[str] = mapped_column(Text, server_default="")
    status: Mapped[str] = mapped_column(Text, server_default=ReportStatus.OPEN.value)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_by: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("persons.id", ondelete="RESTRICT")
    )
    decision_note: Mapped[str | None] = mapped_column(Text)
    action: Mapped[str | None] = mapped_column(Text)

    @property
    def target_id(self) -> uuid.UUID:
        target = getattr(self, TARGET_COLUMNS[ReportTarget(self.target_type)])
        assert isinstance(target, uuid.UUID)
        return target


class ReportEvent(Base):
    """One line of a report's audit trail, written by the trigger ``reports_audit``."""

    __tablename__ = "report_events"
    __table_args__ = (
        CheckConstraint(sql_in("status", ReportStatus), name="status_known"),
        Index("ix_report_events_report", "report_id", "seq"),
    )

    seq: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    report_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("reports.id", ondelete="RESTRICT")
    )
    status: Mapped[str] = mapped_column(Text)
    actor_person_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("persons.id", ondelete="RESTRICT")
    )
    note: Mapped[str | None] = mapped_column(Text)
    action: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
