"""Messages: one conversation per transaction between its parties, and how far each person
has read it.

**Invariants the database keeps** (migration 0013):

* a message's author is a party of its transaction on the side it says: the provider or
  receiver person, or (with ``author_organization_id``) the party organization — through one of
  its members or its API key (``author_organization_id`` alone). Moderators write only notes
  of their moves (trigger ``messages_guard``);
* text up to 4,000 characters, never empty unless erased (``body_length``, ``body_unless_erased``);
  a note names the move it came with, other messages do not (``note_has_action``);
* a message never changes, except that erasure of its author empties it
  (``messages_guard``), and is never deleted;
* ``message_reads.last_seq`` only grows (the upsert takes the greater).
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
)
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, sql_in, uuid_pk

MESSAGE_BODY_MAX_LENGTH = 4000
# After a transaction ends, its parties may still write for this long (a last "thanks", a
# question about the item); then the conversation is read-only.
CONVERSATION_OPEN_DAYS_AFTER_CLOSE = 14


class MessageSide(StrEnum):
    PROVIDER = "provider"
    RECEIVER = "receiver"
    MODERATOR = "moderator"


class MessageKind(StrEnum):
    TEXT = "text"  # written in the conversation
    REQUEST = "request"  # the request's message
    NOTE = "note"  # the note that came with a move (accept, decline, dispute …)


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        CheckConstraint(sql_in("author_side", MessageSide), name="author_side_known"),
        CheckConstraint(sql_in("kind", MessageKind), name="kind_known"),
        CheckConstraint("(kind = 'note') = (action IS NOT NULL)", name="note_has_action"),
        CheckConstraint(f"char_length(body) <= {MESSAGE_BODY_MAX_LENGTH}", name="body_length"),
        CheckConstraint("(erased_at IS NULL) = (body <> '')", name="body_unless_erased"),
        CheckConstraint(
            "erased_at IS NOT NULL OR num_nonnulls(author_person_id, author_organization_id) >= 1",
            name="has_author",
        ),
        Index("ix_messages_transaction", "transaction_id", "seq"),
        Index("ix_messages_author", "author_person_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    seq: Mapped[int] = mapped_column(BigInteger, Identity(always=True), unique=True)
    transaction_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("transactions.id", ondelete="RESTRICT")
    )
    author_side: Mapped[str] = mapped_column(Text)
    author_person_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("persons.id", ondelete="RESTRICT")
    )
    author_organization_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("organizations.id", ondelete="RESTRICT")
    )
    kind: Mapped[str] = mapped_column(Text)
    action: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    erased_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ReadMarker(Base):
    """How far a person has read a conversation (the ``seq`` of the last message read)."""

    __tablename__ = "message_reads"

    transaction_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("transactions.id", ondelete="RESTRICT"), primary_key=True
    )
    person_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("persons.id", ondelete="CASCADE"), primary_key=True
    )
    last_seq: Mapped[int] = mapped_column(BigInteger)
    read_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
