"""Every SQL statement of the outbox's deliveries: planning them from the events past a
consumer's cursor, taking due ones for sending, and recording what happened."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Delivery, NotificationSetting, OutboxCursor, OutboxEvent
from app.models.outbox import Channel, DeliveryStatus, EventCategory, EventType, category_of

# How long a gap in the events' ``seq`` may be a transaction still running (its event not yet
# committed) before planning takes it for a rollback. Requests run for seconds (every
# statement is cut at 15 s), so a minute is generous.
GAP_GRACE_S = 60.0

# The category of each event type, as SQL over ``e.type`` (from ``category_of``).
_CATEGORY_SQL = (
    "CASE e.type "
    + " ".join(f"WHEN '{t.value}' THEN '{category_of(t).value}'" for t in EventType)
    + " END"
)


@dataclass(frozen=True, slots=True)
class DueEmail:
    """What an e-mail needs: the delivery, the event and its reader."""

    delivery_id: uuid.UUID
    attempts: int
    created_at: datetime
    event_id: uuid.UUID
    event_type: str
    payload: dict[str, Any]
    person_id: uuid.UUID
    email: str | None
    language: str
    display_name: str | None
    listing_title: str | None


@dataclass(frozen=True, slots=True)
class DueWebhook:
    delivery_id: uuid.UUID
    attempts: int
    created_at: datetime
    event_id: uuid.UUID
    event_type: str
    event_created_at: datetime
    payload: dict[str, Any]
    organization_id: uuid.UUID
    webhook_id: uuid.UUID
    url: str
    secret_sealed: bytes


class DeliveryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lock_cursor(self, consumer: str) -> int | None:
        """The consumer's cursor, locked for this transaction; None when another worker holds
        it (that one plans meanwhile)."""
        await self.session.execute(
            insert(OutboxCursor).values(consumer=consumer, last_seq=0).on_conflict_do_nothing()
        )
        stmt = (
            select(OutboxCursor.last_seq)
            .where(OutboxCursor.consumer == consumer)
            .with_for_update(skip_locked=True)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def events_after(self, after: int, limit: int) -> list[tuple[int, bool]]:
        """The next events after ``after``: (seq, written more than ``grace_s`` ago)."""
        stmt = text(
            "SELECT seq, written_at < clock_timestamp() - make_interval(secs => :grace) "
            "FROM outbox_events WHERE seq > :after ORDER BY seq LIMIT :limit"
        )
        rows = await self.session.execute(
            stmt, {"after": after, "limit": limit, "grace": GAP_GRACE_S}
        )
        return [(int(seq), bool(old)) for seq, old in rows.all()]

    async def plan_email(self, *, after: int, up_to: int, now: datetime) -> int:
        """One e-mail per event and reader (the person, or each member of the organization)
        who has an address and has not turned the event's category off."""
        stmt = text(
            "INSERT INTO deliveries (event_seq, channel, person_id, next_attempt_at, created_at) "
            "SELECT e.seq, 'email', p.id, :now, :now FROM outbox_events AS e "
            "JOIN LATERAL (SELECT e.recipient_person_id AS person_id "
            "WHERE e.recipient_person_id IS NOT NULL UNION ALL SELECT m.person_id "
            "FROM memberships AS m WHERE m.organization_id = e.recipient_organization_id) AS r "
            "ON true "
            "JOIN persons AS p ON p.id = r.person_id AND p.erased_at IS NULL "
            "AND p.email IS NOT NULL "
            "LEFT JOIN notification_settings AS s ON s.person_id = p.id AND s.channel = 'email' "
            f"AND s.category = {_CATEGORY_SQL} "
            "WHERE e.seq > :after AND e.seq <= :up_to AND coalesce(s.enabled, true) "
            "ON CONFLICT ON CONSTRAINT uq_deliveries_once DO NOTHING"
        )
        result = await self.session.execute(stmt, {"after": after, "up_to": up_to, "now": now})
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def plan_webhooks(self, *, after: int, up_to: int, now: datetime) -> int:
        """One delivery per event and active webhook of the recipient organization that wants
        the event's type (or every type)."""
        stmt = text(
            "INSERT INTO deliveries (event_seq, channel, webhook_id, next_attempt_at, "
            "created_at) SELECT e.seq, 'webhook', w.id, :now, :now FROM outbox_events AS e "
            "JOIN webhooks AS w ON w.organization_id = e.recipient_organization_id "
            "AND w.status = 'active' "
            "AND (cardinality(w.event_types) = 0 OR e.type = ANY (w.event_types)) "
            "WHERE e.seq > :after AND e.seq <= :up_to "
            "ON CONFLICT (event_seq, webhook_id) WHERE webhook_id IS NOT NULL DO NOTHING"
        )
        result = await self.session.execute(stmt, {"after": after, "up_to": up_to, "now": now})
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def due_webhooks(self, *, now: datetime, limit: int) -> list[DueWebhook]:
        """Due pending webhook deliveries, locked, each webhook's oldest pending one only (a
        receiver sees its events in order)."""
        stmt = text(
            "SELECT d.id, d.attempts, d.created_at, e.id AS event_id, e.type, "
            "e.created_at AS event_created_at, e.payload, w.organization_id, w.id AS webhook_id, "
            "w.url, w.secret_sealed FROM deliveries AS d "
            "JOIN outbox_events AS e ON e.seq = d.event_seq "
            "JOIN webhooks AS w ON w.id = d.webhook_id AND w.status = 'active' "
            "WHERE d.channel = 'webhook' AND d.status = 'pending' AND d.next_attempt_at <= :now "
            "AND NOT EXISTS (SELECT 1 FROM deliveries AS o WHERE o.webhook_id = d.webhook_id "
            "AND o.status = 'pending' AND o.event_seq < d.event_seq) "
            "ORDER BY d.event_seq LIMIT :limit FOR UPDATE OF d SKIP LOCKED"
        )
        rows = (await self.session.execute(stmt, {"now": now, "limit": limit})).all()
        return [
            DueWebhook(
                delivery_id=r.id,
                attempts=r.attempts,
                created_at=r.created_at,
                event_id=r.event_id,
                event_type=r.type,
                event_created_at=r.event_created_at,
                payload=r.payload,
                organization_id=r.organization_id,
                webhook_id=r.webhook_id,
                url=r.url,
                secret_sealed=bytes(r.secret_sealed),
            )
            for r in rows
        ]

    async def answered(
        self, delivery_id: uuid.UUID, *, status: int | None, body: str | None, duration_ms: int
    ) -> None:
        """What the receiver answered to the last attempt."""
        await self._update(
            delivery_id, response_status=status, response_body=body, duration_ms=duration_ms
        )

    async def log(
        self, webhook_id: uuid.UUID, *, before_seq: int | None, limit: int
    ) -> list[tuple[Delivery, str, uuid.UUID]]:
        """A webhook's deliveries, newest first, with their event's type and id."""
        stmt = (
            select(Delivery, OutboxEvent.type, OutboxEvent.id)
            .join(OutboxEvent, OutboxEvent.seq == Delivery.event_seq)
            .where(Delivery.webhook_id == webhook_id)
        )
        if before_seq is not None:
            stmt = stmt.where(Delivery.event_seq < before_seq)
        stmt = stmt.order_by(Delivery.event_seq.desc()).limit(limit)
        return [(d, t, i) for d, t, i in (await self.session.execute(stmt)).all()]

    async def get_for_webhook(
        self, webhook_id: uuid.UUID, delivery_id: uuid.UUID, *, for_update: bool = False
    ) -> tuple[Delivery, str, uuid.UUID] | None:
        stmt = (
            select(Delivery, OutboxEvent.type, OutboxEvent.id)
            .join(OutboxEvent, OutboxEvent.seq == Delivery.event_seq)
            .where(Delivery.id == delivery_id, Delivery.webhook_id == webhook_id)
        )
        if for_update:
            stmt = stmt.with_for_update(of=Delivery)
        row = (await self.session.execute(stmt)).one_or_none()
        return None if row is None else (row[0], row[1], row[2])

    async def requeue(self, delivery_id: uuid.UUID, *, now: datetime) -> None:
        """A dead (or waiting) delivery goes out again at once."""
        await self._update(delivery_id, status=DeliveryStatus.PENDING.value, next_attempt_at=now)

    async def set_cursor(self, consumer: str, seq: int) -> None:
        await self.session.execute(
            update(OutboxCursor).where(OutboxCursor.consumer == consumer).values(last_seq=seq)
        )

    async def due_emails(self, *, now: datetime, limit: int) -> list[DueEmail]:
        """Due pending e-mails, locked for this transaction (rows another worker holds are
        skipped), each person's oldest pending one only: a person's e-mails go out in order,
        and one that waits for a retry holds back the later ones."""
        stmt = text(
            "SELECT d.id, d.attempts, d.created_at, e.id AS event_id, e.type, e.payload, "
            "p.id AS person_id, p.email, p.language, p.display_name, l.title "
            "FROM deliveries AS d "
            "JOIN outbox_events AS e ON e.seq = d.event_seq "
            "JOIN persons AS p ON p.id = d.person_id "
            "LEFT JOIN listings AS l ON l.id = CAST(e.payload ->> 'listing_id' AS uuid) "
            "WHERE d.channel = 'email' AND d.status = 'pending' AND d.next_attempt_at <= :now "
            "AND NOT EXISTS (SELECT 1 FROM deliveries AS o WHERE o.channel = d.channel "
            "AND o.person_id = d.person_id AND o.status = 'pending' "
            "AND o.event_seq < d.event_seq) "
            "ORDER BY d.event_seq LIMIT :limit FOR UPDATE OF d SKIP LOCKED"
        )
        rows = (await self.session.execute(stmt, {"now": now, "limit": limit})).all()
        return [
            DueEmail(
                delivery_id=r.id,
                attempts=r.attempts,
                created_at=r.created_at,
                event_id=r.event_id,
                event_type=r.type,
                payload=r.payload,
                person_id=r.person_id,
                email=r.email,
                language=r.language,
                display_name=r.display_name,
                listing_title=r.title or None,
            )
            for r in rows
        ]

    async def delivered(self, delivery_id: uuid.UUID, *, now: datetime) -> None:
        await self._update(
            delivery_id, status=DeliveryStatus.DELIVERED.value, delivered_at=now, last_error=None
        )

    async def retry(
        self, delivery_id: uuid.UUID, *, attempts: int, at: datetime, error: str
    ) -> None:
        await self._update(
            delivery_id, attempts=attempts, next_attempt_at=at, last_error=error[:1000]
        )

    async def dead(self, delivery_id: uuid.UUID, *, attempts: int, error: str) -> None:
        await self._update(
            delivery_id,
            status=DeliveryStatus.DEAD.value,
            attempts=attempts,
            last_error=error[:1000],
        )

    async def _update(self, delivery_id: uuid.UUID, **values: Any) -> None:
        await self.session.execute(
            update(Delivery).where(Delivery.id == delivery_id).values(**values)
        )

    # --- settings -----------------------------------------------------------------------

    async def settings_of(self, person_id: uuid.UUID) -> dict[tuple[str, str], bool]:
        stmt = select(
            NotificationSetting.channel, NotificationSetting.category, NotificationSetting.enabled
        ).where(NotificationSetting.person_id == person_id)
        return {(c, k): e for c, k, e in (await self.session.execute(stmt)).all()}

    async def set_setting(
        self,
        person_id: uuid.UUID,
        *,
        channel: Channel,
        category: EventCategory,
        enabled: bool,
        now: datetime,
    ) -> None:
        stmt = insert(NotificationSetting).values(
            person_id=person_id,
            channel=channel.value,
            category=category.value,
            enabled=enabled,
            updated_at=now,
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[
                NotificationSetting.person_id,
                NotificationSetting.category,
                NotificationSetting.channel,
            ],
            set_={"enabled": stmt.excluded.enabled, "updated_at": stmt.excluded.updated_at},
        )
        await self.session.execute(stmt)
