"""Units out of service: one of a lendable listing's identical units (``unit_no``) that came
back needing repair, or was retired (issue #19). Only exceptions are stored; a unit without a
row is available.

**Invariant the database keeps** (migration 0031): a unit out of service is never booked — the
trigger ``transactions_unit_out_of_service`` refuses a new booking of it, so the service tries
the listing's other units and answers ``409 booking_conflict`` when none is left.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, SmallInteger, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, sql_in

NOTE_MAX_LENGTH = 1000


class UnitStatus(StrEnum):
    AVAILABLE = "available"
    NEEDS_REPAIR = "needs_repair"
    RETIRED = "retired"


class UnitOutOfService(Base):
    __tablename__ = "units_out_of_service"
    __table_args__ = (
        CheckConstraint(
            sql_in("status", (UnitStatus.NEEDS_REPAIR, UnitStatus.RETIRED)), name="status_known"
        ),
        CheckConstraint("unit_no >= 1", name="unit_no_positive"),
        CheckConstraint(f"char_length(note) <= {NOTE_MAX_LENGTH}", name="note_length"),
    )

    listing_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("listings.id", ondelete="CASCADE"), primary_key=True
    )
    unit_no: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    status: Mapped[str] = mapped_column(Text)
    note: Mapped[str] = mapped_column(Text, default="")
    transaction_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("transactions.id", ondelete="SET NULL")
    )
    since: Mapped[datetime] = mapped_column(DateTime(timezone=True))
