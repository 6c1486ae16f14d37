"""A library's members (issue #19): persons who accepted a library of things' terms, each
with a membership valid through a date. A listing whose booking rules say ``members_only``
lends only to its organization's members whose membership covers the loan.

**Invariant the database keeps** (migration 0032): the trigger ``transactions_members_only``
refuses a booking of a members-only listing by anyone without a membership valid through the
booking's last day (in Norway).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, Index, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class LibraryMember(Base):
    __tablename__ = "library_members"
    __table_args__ = (Index("ix_library_members_person", "person_id"),)

    organization_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    person_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("persons.id", ondelete="CASCADE"), primary_key=True
    )
    terms_accepted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    valid_until: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
