"""The transactional outbox: every event a person, an organization or a system should hear
about, written in the database transaction of the change itself, and the in-app
notifications it fans out to.

**Invariants the database keeps** (migration 0014):

* an event goes to exactly one recipient, a person or an organization (``one_recipient``),
  and its type is one of ``EventType`` (``type_known``);
* the trigger ``outbox_events_notify`` writes the in-app notification of every event in the
  same statement: one for a person, one per member for an organization — so an event that
  commits is in the recipients' notifications, and one that rolls back is nowhere;
* events are append-only (``outbox_events_append_only``); a notification only changes from
  unread to read.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Text,
    UniqueConstraint,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, sql_in, uuid_pk


class EventType(StrEnum):
    TRANSACTION_REQUESTED = "transaction.requested"
    TRANSACTION_ACCEPTED = "transaction.accepted"
    TRANSACTION_DECLINED = "transaction.declined"
    TRANSACTION_CANCELLED = "transaction.cancelled"
    TRANSACTION_EXPIRED = "transaction.expired"
    TRANSACTION_PICKED_UP = "transaction.picked_up"
    TRANSACTION_OVERDUE = "transaction.overdue"
    TRANSACTION_RETURNED = "transaction.returned"
    TRANSACTION_COMPLETED = "transaction.completed"
    TRANSACTION_CONFIRMED = "transaction.confirmed"
    TRANSACTION_DISPUTED = "transaction.disputed"
    TRANSACTION_VOIDED = "transaction.voided"
    MESSAGE_RECEIVED = "message.received"
    LISTING_APPROVED = "listing.approved"
    LISTING_HIDDEN = "listing.hidden"
    REPORT_ACTIONED = "report.actioned"


class EventCategory(StrEnum):
    """What a person chooses to hear about, per channel (the settings' rows)."""

    TRANSACTIONS = "transactions"
    MESSAGES = "messages"
    LISTINGS = "listings"
    MODERATION = "moderation"


def category_of(event: EventType) -> EventCategory:
    prefix = event.value.split(".", 1)[0]
    return {
        "transaction": EventCategory.TRANSACTIONS,
        "message": EventCategory.MESSAGES,
        "listing": EventCategory.LISTINGS,
        "report": EventCategory.MODERATION,
    }[prefix]


class OutboxEvent(Base):
    __tablename__ = "outbox_events"
    __table_args__ = (
        CheckConstraint(sql_in("type", EventType), name="type_known"),
        CheckConstraint(
            "num_nonnulls(recipient_person_id, recipient_organization_id) = 1",
            name="one_recipient",
        ),
        Index("ix_outbox_events_person", "recipient_person_id", "seq"),
        Index("ix_outbox_events_organization", "recipient_organization_id", "seq"),
    )

    seq: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    # Stable across deliveries and retries (a webhook's `webhook-id`).
    id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True, server_default=func.gen_random_uuid())
    type: Mapped[str] = mapped_column(Text)
    recipient_person_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("persons.id", ondelete="RESTRICT")
    )
    recipient_organization_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("organizations.id", ondelete="RESTRICT")
    )
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Notification(Base):
    """An event in a person's in-app notifications (written by ``outbox_events_notify``)."""

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("person_id", "event_seq", name="uq_notifications_person_event"),
        Index(
            "ix_notifications_unread",
            "person_id",
            "event_seq",
            postgresql_where=text("read_at IS NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    event_seq: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("outbox_events.seq", ondelete="RESTRICT")
    )
    person_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("persons.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
