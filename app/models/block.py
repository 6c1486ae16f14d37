"""A person blocks another: from then on neither can ask for the other's listings nor write to
the other in a conversation (transactions already under way keep their moves).

**Invariants the database keeps** (migration 0016): nobody blocks themselves
(``not_self``); a new transaction between two persons one of whom blocked the other is refused
(trigger ``transactions_not_blocked``), and so is a message one of them writes to the other
(``messages_not_blocked``; the notes of moves still go).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class Block(Base):
    __tablename__ = "blocks"
    __table_args__ = (
        CheckConstraint("blocker_person_id <> blocked_person_id", name="not_self"),
        Index("ix_blocks_blocked", "blocked_person_id"),
    )

    blocker_person_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("persons.id", ondelete="CASCADE"), primary_key=True
    )
    blocked_person_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("persons.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
