"""Holds: a borrower's place in the queue for a lendable listing whose every unit is booked or
out (issue #19).

A hold is ``waiting`` in its listing's queue (first come, first served: ``seq``), ``ready``
when a unit came back and was kept for the holder until ``ready_until`` (the pickup window),
then ``fulfilled`` (checked out as a loan), ``cancelled`` (by the holder) or ``lapsed`` (the
window passed). ``app.services.hold`` moves them, always under the listing's row lock.

**Invariants the database keeps** (migration 0030):

* a person holds a listing once at a time (``ux_holds_one_live_per_person``);
* a unit is kept for one hold at a time (``ux_holds_one_ready_per_unit``), and a ready hold
  names its unit and window (``ready_has_unit``);
* while a hold is ready, nobody else can book its unit over the window: the trigger
  ``transactions_unit_held`` refuses the booking (the exclusion constraint cannot see holds).
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
    SmallInteger,
    Text,
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, sql_in, uuid_pk


class HoldStatus(StrEnum):
    WAITING = "waiting"
    READY = "ready"
    FULFILLED = "fulfilled"
    CANCELLED = "cancelled"
    LAPSED = "lapsed"


LIVE_HOLD_STATUSES = (HoldStatus.WAITING.value, HoldStatus.READY.value)


class Hold(Base):
    __tablename__ = "holds"
    __table_args__ = (
        CheckConstraint(sql_in("status", HoldStatus), name="status_known"),
        CheckConstraint(
            "(status <> 'ready' OR (unit_no >= 1 AND ready_at IS NOT NULL "
            "AND ready_until > ready_at)) AND (status <> 'waiting' OR (unit_no IS NULL "
            "AND ready_at IS NULL AND ready_until IS NULL))",
            name="ready_has_unit",
        ),
        CheckConstraint(
            "(closed_at IS NULL) = (status IN ('waiting', 'ready'))", name="closed_when_done"
        ),
        Index(
            "ux_holds_one_live_per_person",
            "listing_id",
            "person_id",
            unique=True,
            postgresql_where=text("status IN ('waiting', 'ready')"),
        ),
        Index(
            "ux_holds_one_ready_per_unit",
            "listing_id",
            "unit_no",
            unique=True,
            postgresql_where=text("status = 'ready'"),
        ),
        Index(
            "ix_holds_queue",
            "listing_id",
            "seq",
            postgresql_where=text("status = 'waiting'"),
        ),
        Index("ix_holds_person", "person_id", "created_at"),
        Index("ix_holds_ready_until", "ready_until", postgresql_where=text("status = 'ready'")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    # The queue's order: first come, first served.
    seq: Mapped[int] = mapped_column(BigInteger, Identity(always=True), unique=True)
    listing_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("listings.id", ondelete="CASCADE")
    )
    person_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("persons.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(Text)
    unit_no: Mapped[int | None] = mapped_column(SmallInteger)
    ready_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ready_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    transaction_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("transactions.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
