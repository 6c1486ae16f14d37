"""The outbox: services say what happened (``emit``) in the database transaction of the
change; the database fans each event out to in-app notifications at once (trigger
``outbox_events_notify``), so a change that rolls back tells nobody and one that commits is
never lost. Delivery by e-mail and webhooks reads the same events (a later part of #21).

Payloads carry references and facts (ids, statuses, who moved), never copies of what people
wrote: a notification shows the listing's current title, and erasure reaches what it removes.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import InvalidInputError
from app.models import OutboxEvent
from app.models.outbox import EventType
from app.pagination import decode_seq_cursor, encode_seq_cursor
from app.repositories.outbox import NotificationRow, OutboxRepository
from app.repositories.person import PersonRepository
from app.services.policy import Principal, require_person


@dataclass(frozen=True, slots=True)
class Recipient:
    person_id: uuid.UUID | None = None
    organization_id: uuid.UUID | None = None


async def emit(
    session: AsyncSession,
    event: EventType,
    *,
    to: Iterable[Recipient],
    payload: dict[str, Any],
    now: datetime,
    once: str | None = None,
) -> int:
    """Write ``event`` for each recipient (once per distinct recipient); with ``once``, a
    reminder the clock writes only the first time it ticks over it (per recipient). How many
    events were written."""
    repo = OutboxRepository(session)
    written = 0
    for recipient in dict.fromkeys(to):
        if once is not None:
            key = f"{event.value}:{once}:{recipient.person_id or recipient.organization_id}"
            written += await repo.add_once(
                {
                    "type": event.value,
                    "recipient_person_id": recipient.person_id,
                    "recipient_organization_id": recipient.organization_id,
                    "payload": payload,
                    "created_at": now,
                    "once_key": key,
                }
            )
            continue
        written += 1
        await repo.add(
            OutboxEvent(
                type=event.value,
                recipient_person_id=recipient.person_id,
                recipient_organization_id=recipient.organization_id,
                payload=payload,
                created_at=now,
            )
        )
    return written


@dataclass(frozen=True, slots=True)
class NotificationList:
    rows: list[NotificationRow]
    language: str
    next_cursor: str | None


async def list_notifications(
    session: AsyncSession,
    *,
    principal: Principal,
    unread_only: bool,
    cursor: str | None,
    limit: int,
) -> NotificationList:
    person_id = require_person(principal)
    rows = await OutboxRepository(session).notifications(
        person_id,
        unread_only=unread_only,
        before_seq=decode_seq_cursor(cursor) if cursor else None,
        limit=limit + 1,
    )
    person = await PersonRepository(session).get(person_id)
    assert person is not None
    return NotificationList(
        rows=rows[:limit],
        language=person.language,
        next_cursor=encode_seq_cursor(rows[limit - 1].seq) if len(rows) > limit else None,
    )


async def mark_read(
    session: AsyncSession, *, principal: Principal, up_to: uuid.UUID | None, now: datetime
) -> int:
    """Mark the caller's notifications read (up to one, or all); the unread count after."""
    person_id = require_person(principal)
    repo = OutboxRepository(session)
    seq = None
    if up_to is not None:
        seq = await repo.seq_of(person_id, up_to)
        if seq is None:
            raise InvalidInputError.for_field(
                f"You have no notification with the id {up_to}.",
                field="up_to",
                message="Not one of your notifications",
                type="unknown",
            )
    await repo.mark_read(person_id, up_to_seq=seq, now=now)
    return await repo.unread_count(person_id)


async def unread_count(session: AsyncSession, *, person_id: uuid.UUID) -> int:
    return await OutboxRepository(session).unread_count(person_id)
