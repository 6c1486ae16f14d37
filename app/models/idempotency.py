"""Stored outcomes of POST requests sent with an ``Idempotency-Key`` (see app.idempotency)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    Index,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_keys"
    __table_args__ = (
        CheckConstraint(
            "state IN ('in_progress', 'applied', 'completed', 'completed_secret')",
            name="state_known",
        ),
        CheckConstraint(
            "(state IN ('in_progress', 'applied')) = (response_status IS NULL)",
            name="completed_has_status",
        ),
        CheckConstraint("state <> 'applied' OR applied_at IS NOT NULL", name="applied_is_applied"),
        Index("ix_idempotency_keys_expires_at", "expires_at"),
    )

    # Whose key: a hash of the caller (person id, API key or anonymous client address).
    owner: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(Text, primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(Text)
    response_status: Mapped[int | None] = mapped_column(SmallInteger)
    response_headers: Mapped[list[list[str]] | None] = mapped_column(JSONB)
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Written in the request's own transaction: its effect committed (migration 0021).
    applied_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
