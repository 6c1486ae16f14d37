"""Reviews after a handover: each side of a confirmed transaction may rate the other once
(1-5, text up to 1,000 characters) within 14 days. Blind: neither is shown until both have
reviewed or the window has closed.

**Invariants the database keeps** (migration 0018):

* one review per transaction and side (``uq_reviews_once``), for a confirmed transaction,
  within ``REVIEW_WINDOW_DAYS`` of its confirmation, by a person of that side (the side's
  person, or a member of its organization) about the other side (trigger ``reviews_guard``);
* the second review reveals both (``reviews_reveal``); the clock reveals a lone review when
  the window closes;
* a review never changes, except: revealed once, answered once by its subject, and emptied
  by erasure of its author (the rating stays; ``erased_has_no_text``).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    SmallInteger,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, uuid_pk

REVIEW_WINDOW_DAYS = 14
REVIEW_TEXT_MAX_LENGTH = 1000


class Review(Base):
    __tablename__ = "reviews"
    __table_args__ = (
        CheckConstraint("author_side IN ('provider', 'receiver')", name="author_side_known"),
        CheckConstraint("rating BETWEEN 1 AND 5", name="rating_range"),
        CheckConstraint(f"char_length(body) <= {REVIEW_TEXT_MAX_LENGTH}", name="body_length"),
        CheckConstraint(f"char_length(reply) <= {REVIEW_TEXT_MAX_LENGTH}", name="reply_length"),
        CheckConstraint(
            "num_nonnulls(subject_person_id, subject_organization_id) = 1", name="one_subject"
        ),
        CheckConstraint("(reply IS NULL) = (replied_at IS NULL)", name="reply_has_time"),
        CheckConstraint("author_person_id IS NOT NULL OR body = ''", name="erased_has_no_text"),
        UniqueConstraint("transaction_id", "author_side", name="uq_reviews_once"),
        Index("ix_reviews_subject_person", "subject_person_id", "created_at"),
        Index("ix_reviews_subject_organization", "subject_organization_id", "created_at"),
        Index("ix_reviews_author", "author_person_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    transaction_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("transactions.id", ondelete="RESTRICT")
    )
    author_side: Mapped[str] = mapped_column(Text)
    # NULL after the author's erasure (the rating stays, the text goes).
    author_person_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("persons.id", ondelete="RESTRICT")
    )
    author_organization_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("organizations.id", ondelete="RESTRICT")
    )
    subject_person_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("persons.id", ondelete="RESTRICT")
    )
    subject_organization_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("organizations.id", ondelete="RESTRICT")
    )
    rating: Mapped[int] = mapped_column(SmallInteger)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revealed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reply: Mapped[str | None] = mapped_column(Text)
    replied_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
