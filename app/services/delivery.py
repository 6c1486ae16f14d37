"""Delivery from the outbox by e-mail: planning, the due queue, retries, and the settings a
person controls (per category; one-click unsubscribe).

**Planning.** A planner reads the events past its cursor (``outbox_cursors``, locked with
``SKIP LOCKED``: one planner at a time, others carry on sending) and writes one delivery per
event and reader — idempotently (``uq_deliveries_once``), so planning the same events twice
changes nothing. Identity values are taken at insert and committed later, so a reader can see
event 7 before event 6 commits: the cursor only moves over a gap once the event after it is
``GAP_GRACE_S`` old (by then the missing one was rolled back), and the events past a gap are
planned again each pass meanwhile — nothing is skipped, nothing is sent twice.

**Sending** (``app.worker``) takes due deliveries with ``FOR UPDATE SKIP LOCKED``, each
person's oldest pending one only, so any number of workers run side by side, a person's
e-mails keep their order, and a worker killed mid-send leaves its rows pending for the next:
at least once. A failure is retried with exponential backoff (``WorkerSettings``) for
``give_up_after_hours``; then the delivery is dead.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings, WorkerSettings
from app.errors import InvalidInputError
from app.models.outbox import Channel, EventCategory, EventType
from app.outbound import Answer
from app.repositories.delivery import DeliveryRepository, DueEmail, DueWebhook
from app.repositories.person import PersonRepository
from app.repositories.webhook import WebhookRepository
from app.schemas.notification import NotificationSettings
from app.security import read_unsubscribe_token
from app.services import outbox

EMAIL_CONSUMER = "email"
WEBHOOK_CONSUMER = "webhook"


async def _plan(session: AsyncSession, consumer: str, *, settings: Settings, now: datetime) -> int:
    repo = DeliveryRepository(session)
    after = await repo.lock_cursor(consumer)
    if after is None:
        return 0
    events = await repo.events_after(after, settings.worker.batch_size * 10)
    if not events:
        return 0
    write = repo.plan_email if consumer == EMAIL_CONSUMER else repo.plan_webhooks
    planned = await write(after=after, up_to=events[-1][0], now=now)
    cursor = after
    for seq, old in events:
        if seq != cursor + 1 and not old:
            break  # a gap that may still commit: plan past it again next time
        cursor = seq
    await repo.set_cursor(consumer, cursor)
    return planned


async def plan(session: AsyncSession, *, settings: Settings, now: datetime) -> int:
    """Plan the deliveries of the next events (e-mail only when SMTP is configured); how many
    were written."""
    planned = await _plan(session, WEBHOOK_CONSUMER, settings=settings, now=now)
    if settings.smtp.enabled:
        planned += await _plan(session, EMAIL_CONSUMER, settings=settings, now=now)
    return planned


async def due_webhooks(session: AsyncSession, *, now: datetime, limit: int) -> list[DueWebhook]:
    """The next due webhook deliveries, locked for the caller's transaction."""
    return await DeliveryRepository(session).due_webhooks(now=now, limit=limit)


async def due_emails(session: AsyncSession, *, now: datetime, limit: int) -> list[DueEmail]:
    """The next due e-mails, locked for the caller's transaction."""
    return await DeliveryRepository(session).due_emails(now=now, limit=limit)


def retry_delay(attempts: int, worker: WorkerSettings) -> timedelta:
    """Exponential backoff: the first delay doubled per attempt, capped."""
    seconds = min(worker.retry_first_delay_s * 2 ** max(attempts - 1, 0), worker.retry_max_delay_s)
    return timedelta(seconds=seconds)


async def record(
    session: AsyncSession,
    due: DueEmail | DueWebhook,
    *,
    error: str | None,
    settings: Settings,
    now: datetime,
) -> bool:
    """What became of one attempt: delivered, to be retried, or dead (given up; True)."""
    repo = DeliveryRepository(session)
    if error is None:
        await repo.delivered(due.delivery_id, now=now)
        return False
    attempts = due.attempts + 1
    next_at = now + retry_delay(attempts, settings.worker)
    give_up = due.created_at + timedelta(hours=settings.worker.give_up_after_hours)
    if (isinstance(due, DueEmail) and due.email is None) or next_at > give_up:
        await repo.dead(due.delivery_id, attempts=attempts, error=error)
        return True
    await repo.retry(due.delivery_id, attempts=attempts, at=next_at, error=error)
    return False


async def record_webhook(
    session: AsyncSession,
    due: DueWebhook,
    *,
    answer: Answer | None,
    error: str | None,
    settings: Settings,
    now: datetime,
) -> None:
    """A webhook attempt: 2xx is delivered; anything else retries, and a delivery given up
    turns the webhook off and tells the organization (``webhook.disabled``)."""
    repo = DeliveryRepository(session)
    if answer is not None:
        await repo.answered(
            due.delivery_id,
            status=answer.status,
            body=answer.body,
            duration_ms=answer.duration_ms,
        )
        if not 200 <= answer.status < 300:
            error = f"the receiver answered {answer.status}"
    dead = await record(session, due, error=error, settings=settings, now=now)
    if dead and await WebhookRepository(session).disable(
        due.webhook_id, reason=f"deliveries failed for a day; last: {error}"[:1000], now=now
    ):
        await outbox.emit(
            session,
            EventType.WEBHOOK_DISABLED,
            to=[outbox.Recipient(organization_id=due.organization_id)],
            payload={"webhook_id": str(due.webhook_id)},
            now=now,
        )


# --- settings ---------------------------------------------------------------------------


async def get_settings(session: AsyncSession, *, person_id: uuid.UUID) -> NotificationSettings:
    chosen = await DeliveryRepository(session).settings_of(person_id)
    return NotificationSettings(
        email={c: chosen.get((Channel.EMAIL.value, c.value), True) for c in EventCategory}
    )


async def update_settings(
    session: AsyncSession,
    *,
    person_id: uuid.UUID,
    changes: dict[EventCategory, bool],
    now: datetime,
) -> NotificationSettings:
    repo = DeliveryRepository(session)
    for category, enabled in changes.items():
        await repo.set_setting(
            person_id, channel=Channel.EMAIL, category=category, enabled=enabled, now=now
        )
    return await get_settings(session, person_id=person_id)


async def unsubscribe(
    session: AsyncSession, *, token: str, settings: Settings, now: datetime
) -> tuple[EventCategory, NotificationSettings]:
    """Turn off the e-mails of the token's category for its person (idempotent)."""
    found = read_unsubscribe_token(token, settings.auth)
    category = None
    if found is not None:
        person_id, raw = found
        category = next((c for c in EventCategory if c.value == raw), None)
        person = await PersonRepository(session).get(person_id)
        if person is None or person.erased_at is not None:
            category = None
    if found is None or category is None:
        raise InvalidInputError.for_field(
            "The unsubscribe link is not valid (or its account no longer exists).",
            field="token",
            message="Invalid unsubscribe token",
            type="invalid",
            location="query",
        )
    return category, await update_settings(
        session, person_id=found[0], changes={category: False}, now=now
    )
