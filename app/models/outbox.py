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
  unread to read;
* a delivery (one event by e-mail to one person, or to one webhook) exists once
  (``uq_deliveries_once``, ``uq_deliveries_once_per_webhook``) and has one target
  (``one_target``); a delivered one is final, a dead one only goes back to pending when
  someone retries it (``deliveries_final``).

Deliveries are planned by the worker from the events past its cursor (``outbox_cursors``) and
sent by any number of workers, each taking due rows with ``FOR UPDATE SKIP LOCKED`` and only
the oldest pending one of each person (``app.repositories.delivery``).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    Text,
    UniqueConstraint,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
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
    TRANSACTION_DUE_SOON = "transaction.due_soon"
    TRANSACTION_RENEWED = "transaction.renewed"
    TRANSACTION_DUE_TODAY = "transaction.due_today"
    TRANSACTION_STILL_OVERDUE = "transaction.still_overdue"
    MESSAGE_RECEIVED = "message.received"
    LISTING_APPROVED = "listing.approved"
    LISTING_HIDDEN = "listing.hidden"
    LISTING_EXPIRING = "listing.expiring"
    LISTING_PHOTO_REMOVED = "listing.photo_removed"
    REPORT_ACTIONED = "report.actioned"
    REVIEW_RECEIVED = "review.received"
    WEBHOOK_DISABLED = "webhook.disabled"
    SAVED_SEARCH_MATCHED = "saved_search.matched"
    SAVED_SEARCH_DIGEST = "saved_search.digest"
    LISTING_MATCH_FOUND = "listing.match_found"
    HOLD_READY = "hold.ready"
    HOLD_LAPSED = "hold.lapsed"


class EventCategory(StrEnum):
    """What a person chooses to hear about, per channel (the settings' rows)."""

    TRANSACTIONS = "transactions"
    MESSAGES = "messages"
    LISTINGS = "listings"
    MODERATION = "moderation"
    ACCOUNT = "account"


def category_of(event: EventType) -> EventCategory:
    prefix = event.value.split(".", 1)[0]
    return {
        "transaction": EventCategory.TRANSACTIONS,
        "message": EventCategory.MESSAGES,
        "listing": EventCategory.LISTINGS,
        "report": EventCategory.MODERATION,
        "review": EventCategory.TRANSACTIONS,
        "webhook": EventCategory.ACCOUNT,
        "saved_search": EventCategory.LISTINGS,
        "hold": EventCategory.TRANSACTIONS,
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
        # A reminder the clock writes once, however often it ticks (``emit(..., once=...)``).
        Index(
            "uq_outbox_events_once",
            "once_key",
            unique=True,
            postgresql_where=text("once_key IS NOT NULL"),
        ),
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
    once_key: Mapped[str | None] = mapped_column(Text)
    # The database's own clock at insert: a planner reading past a gap in ``seq`` waits for
    # the missing event (a transaction that has not committed yet) this long before it takes
    # the gap for a rollback (``app.services.delivery``).
    written_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.clock_timestamp()
    )


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


class Channel(StrEnum):
    EMAIL = "email"
    WEBHOOK = "webhook"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"


class NotificationSetting(Base):
    """A person's choice for one category on one channel; no row means the default (on)."""

    __tablename__ = "notification_settings"
    __table_args__ = (
        CheckConstraint(sql_in("category", EventCategory), name="category_known"),
        CheckConstraint("channel = 'email'", name="channel_known"),
    )

    person_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("persons.id", ondelete="CASCADE"), primary_key=True
    )
    category: Mapped[str] = mapped_column(Text, primary_key=True)
    channel: Mapped[str] = mapped_column(Text, primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Delivery(Base):
    __tablename__ = "deliveries"
    __table_args__ = (
        CheckConstraint(sql_in("channel", Channel), name="channel_known"),
        CheckConstraint(sql_in("status", DeliveryStatus), name="status_known"),
        CheckConstraint("attempts >= 0", name="attempts_non_negative"),
        CheckConstraint(
            "(status = 'delivered') = (delivered_at IS NOT NULL)", name="delivered_has_time"
        ),
        CheckConstraint("char_length(last_error) <= 1000", name="last_error_length"),
        CheckConstraint(
            "(channel = 'email' AND person_id IS NOT NULL AND webhook_id IS NULL) OR "
            "(channel = 'webhook' AND webhook_id IS NOT NULL AND person_id IS NULL)",
            name="one_target",
        ),
        CheckConstraint("char_length(response_body) <= 1024", name="response_body_length"),
        UniqueConstraint("event_seq", "channel", "person_id", name="uq_deliveries_once"),
        Index(
            "uq_deliveries_once_per_webhook",
            "event_seq",
            "webhook_id",
            unique=True,
            postgresql_where=text("webhook_id IS NOT NULL"),
        ),
        # The senders' queue: due pending rows, oldest event first, per person.
        Index(
            "ix_deliveries_due",
            "channel",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
        ),
        Index(
            "ix_deliveries_pending_person",
            "channel",
            "person_id",
            "event_seq",
            postgresql_where=text("status = 'pending'"),
        ),
        Index(
            "ix_deliveries_pending_webhook",
            "webhook_id",
            "event_seq",
            postgresql_where=text("status = 'pending'"),
        ),
        Index("ix_deliveries_webhook_log", "webhook_id", "event_seq"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    event_seq: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("outbox_events.seq", ondelete="RESTRICT")
    )
    channel: Mapped[str] = mapped_column(Text)
    person_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("persons.id", ondelete="CASCADE")
    )
    webhook_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("webhooks.id", ondelete="CASCADE")
    )
    status: Mapped[str] = mapped_column(Text, server_default=DeliveryStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # A webhook's last attempt: the receiver's status and the start of its answer.
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int | None] = mapped_column(Integer)


class WebhookStatus(StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"


class Webhook(Base):
    """An organization's endpoint for the events that concern it, signed by the Standard
    Webhooks scheme. The signing secret is kept encrypted (AES-GCM, ``app.security``): the
    worker needs it to sign, so it cannot be a hash."""

    __tablename__ = "webhooks"
    __table_args__ = (
        CheckConstraint(sql_in("status", WebhookStatus), name="status_known"),
        CheckConstraint("char_length(url) <= 2000", name="url_length"),
        CheckConstraint(
            "(status = 'disabled') = (disabled_at IS NOT NULL)", name="disabled_has_time"
        ),
        Index("ix_webhooks_organization", "organization_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    organization_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organizations.id", ondelete="CASCADE")
    )
    url: Mapped[str] = mapped_column(Text)
    # Empty: every event the organization receives.
    event_types: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'::text[]"))
    secret_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(Text, server_default=WebhookStatus.ACTIVE.value)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("persons.id", ondelete="SET NULL")
    )
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    disabled_reason: Mapped[str | None] = mapped_column(Text)


class OutboxCursor(Base):
    """How far a consumer of the outbox (the planner of a channel) has read."""

    __tablename__ = "outbox_cursors"

    consumer: Mapped[str] = mapped_column(Text, primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger, server_default="0")
