"""Every SQL statement about the outbox and in-app notifications."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Uuid, cast, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Listing, Notification, OutboxEvent


@dataclass(frozen=True, slots=True)
class NotificationRow:
    id: uuid.UUID
    seq: int
    type: str
    payload: dict[str, Any]
    listing_title: str | None
    created_at: datetime
    read_at: datetime | None


class OutboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, event: OutboxEvent) -> OutboxEvent:
        """Write the event; the database fans it out to the recipients' notifications."""
        self.session.add(event)
        await self.session.flush()
        return event

    async def add_once(self, values: dict[str, Any]) -> bool:
        """Write the event unless one with its ``once_key`` exists; whether it was written."""
        stmt = (
            insert(OutboxEvent)
            .values(**values)
            .on_conflict_do_nothing(
                index_elements=[OutboxEvent.once_key],
                index_where=OutboxEvent.once_key.is_not(None),
            )
        )
        result = await self.session.execute(stmt)
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def notifications(
        self, person_id: uuid.UUID, *, unread_only: bool, before_seq: int | None, limit: int
    ) -> list[NotificationRow]:
        """The person's notifications, newest first, with the current title of the listing
        each is about (references, not copies: an erased listing shows no title)."""
        listing_id = cast(OutboxEvent.payload["listing_id"].astext, Uuid)
        stmt = (
            select(
                Notification.id,
                Notification.event_seq,
                OutboxEvent.type,
                OutboxEvent.payload,
                Listing.title,
                Notification.created_at,
                Notification.read_at,
            )
            .join(OutboxEvent, OutboxEvent.seq == Notification.event_seq)
            .outerjoin(Listing, Listing.id == listing_id)
            .where(Notification.person_id == person_id)
        )
        if unread_only:
            stmt = stmt.where(Notification.read_at.is_(None))
        if before_seq is not None:
            stmt = stmt.where(Notification.event_seq < before_seq)
        stmt = stmt.order_by(Notification.event_seq.desc()).limit(limit)
        return [
            NotificationRow(
                id=r[0],
                seq=r[1],
                type=r[2],
                payload=r[3],
                listing_title=r[4] or None,
                created_at=r[5],
                read_at=r[6],
            )
            for r in (await self.session.execute(stmt)).all()
        ]

    async def seq_of(self, person_id: uuid.UUID, notification_id: uuid.UUID) -> int | None:
        stmt = select(Notification.event_seq).where(
            Notification.id == notification_id, Notification.person_id == person_id
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def mark_read(
        self, person_id: uuid.UUID, *, up_to_seq: int | None, now: datetime
    ) -> None:
        stmt = update(Notification).where(
            Notification.person_id == person_id, Notification.read_at.is_(None)
        )
        if up_to_seq is not None:
            stmt = stmt.where(Notification.event_seq <= up_to_seq)
        await self.session.execute(stmt.values(read_at=now))

    async def unread_count(self, person_id: uuid.UUID) -> int:
        stmt = select(func.count()).where(
            Notification.person_id == person_id, Notification.read_at.is_(None)
        )
        return int((await self.session.execute(stmt)).scalar_one())

    async def erase_for_person(self, person_id: uuid.UUID) -> None:
        """An erased person's notifications go (the events stay: they carry only ids)."""
        await self.session.execute(delete(Notification).where(Notification.person_id == person_id))
