"""The outbox worker: ``python -m app.cli worker`` (``make run`` starts one beside the API).

Each pass plans the deliveries of new events (webhooks; e-mail when SMTP is configured), then
sends due ones: e-mails **one per database transaction** (lock the row with ``SKIP LOCKED``,
send, record, commit), webhooks up to ``batch_size`` at once — each webhook's oldest pending
delivery only, posted concurrently, recorded in one transaction. A worker killed between
sending and committing leaves the rows pending, so the delivery goes again — at least once,
with the same ``Message-ID`` (e-mail) or ``webhook-id`` (webhooks) for the receiver to spot
the repeat; a row another worker holds is skipped, so several workers never send the same
delivery at once. In-app notifications need no worker: the database writes them with the
change. Each pass also deletes the files of removed photos (``app.services.photo``). ORDS
imports are worked beside the passes (``app.services.repair_import``).

Webhooks are posted as the Standard Webhooks scheme says: the body
``{"type", "timestamp", "data"}``, the headers ``webhook-id`` (the event's id, stable across
retries), ``webhook-timestamp`` (Unix seconds of this attempt) and ``webhook-signature``
(``v1,`` + base64 HMAC-SHA256 of ``id.timestamp.body``), through ``app.outbound`` (SSRF-safe,
no redirects, 10 s).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Protocol

import aiosmtplib
import httpx
import orjson
from cryptography.exceptions import InvalidTag
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import outbound
from app.config import Environment, Settings
from app.models.outbox import EventCategory, EventType, category_of
from app.render.email import notification_email
from app.repositories.delivery import DueEmail, DueWebhook
from app.security import unseal, unsubscribe_token, webhook_signature
from app.services import delivery, photo, repair_import
from app.services.photos.processing import storage_from_settings
from app.services.photos.storage import PhotoStorage

log = logging.getLogger("sirkel.worker")


class Mailer(Protocol):
    async def send(self, message: EmailMessage) -> None: ...


class SmtpMailer:
    """Sends through the configured SMTP server (aiosmtplib: STARTTLS or TLS, a timeout)."""

    def __init__(self, settings: Settings) -> None:
        self.smtp = settings.smtp

    async def send(self, message: EmailMessage) -> None:
        smtp = self.smtp
        await aiosmtplib.send(
            message,
            hostname=smtp.host,
            port=smtp.port,
            username=smtp.username,
            password=smtp.password.get_secret_value() if smtp.password else None,
            start_tls=smtp.starttls and not smtp.use_tls,
            use_tls=smtp.use_tls,
            timeout=smtp.timeout_s,
        )


@dataclass
class PassReport:
    planned: int = 0
    sent: int = 0
    failed: int = 0
    purged: int = 0


def unsubscribe_url(settings: Settings, due: DueEmail, category: EventCategory) -> str:
    token = unsubscribe_token(due.person_id, category.value, settings.auth)
    return f"{settings.public_base_url.rstrip('/')}/v1/unsubscribe?token={token}"


def _message(settings: Settings, due: DueEmail, now: datetime) -> EmailMessage:
    event = EventType(due.event_type)
    assert due.email is not None
    return notification_email(
        # The same on every attempt: a receiver can spot a resend after a crash.
        message_id=f"<{due.event_id.hex}.{due.person_id.hex}@sirkel.no>",
        event_type=event,
        to=due.email,
        name=due.display_name,
        language=due.language,
        listing_title=due.listing_title,
        sender=settings.smtp.sender,
        unsubscribe_url=unsubscribe_url(settings, due, category_of(event)),
        now=now,
    )


async def _send_one(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    mailer: Mailer,
    clock: Callable[[], datetime],
) -> bool | None:
    """Send the next due e-mail: True sent, False failed, None nothing was due."""
    async with sessions() as session, session.begin():
        due = await delivery.due_emails(session, now=clock(), limit=1)
        if not due:
            return None
        [item] = due
        error = None
        if item.email is None:
            error = "the person erased their account"
        else:
            try:
                await mailer.send(_message(settings, item, clock()))
            except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
                error = f"{type(exc).__name__}: {exc}"
        await delivery.record(session, item, error=error, settings=settings, now=clock())
        if error is not None:
            log.warning("e-mail delivery failed", extra={"delivery": str(item.delivery_id)})
        return error is None


async def _post_webhook(
    item: DueWebhook, settings: Settings
) -> tuple[outbound.Answer | None, str | None]:
    """Sign and post one delivery; (the receiver's answer, or why there is none)."""
    try:
        secret = unseal(item.secret_sealed, settings.auth)
        allow_loopback = settings.environment in (Environment.DEVELOPMENT, Environment.TEST)
        target = await outbound.resolve(item.url, allow_loopback=allow_loopback)
        body = orjson.dumps(
            {
                "type": item.event_type,
                "timestamp": item.event_created_at.isoformat(),
                "data": {**item.payload, "organization_id": str(item.organization_id)},
            }
        )
        message_id = str(item.event_id)
        # The transport's own time (receivers check it against theirs), not the app clock.
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Sirkel-Webhooks/1",
            "webhook-id": message_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": webhook_signature(
                secret, message_id=message_id, timestamp=timestamp, body=body
            ),
        }
        return await outbound.post(target, body=body, headers=headers), None
    except outbound.UnsafeUrlError as exc:
        return None, str(exc)
    except InvalidTag:
        return None, "the signing secret cannot be unsealed (was SIRKEL_AUTH__JWT_SECRET changed?)"
    except (httpx.HTTPError, OSError) as exc:
        return None, f"{type(exc).__name__}: {exc}"[:1000]


async def _send_webhooks(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    clock: Callable[[], datetime],
    limit: int,
) -> tuple[int, int] | None:
    """Post the due deliveries of up to ``limit`` webhooks at once — each webhook's oldest
    pending one, so every receiver still gets its events in order — and record them in one
    transaction: (delivered, failed), or None when nothing was due. A crash before the commit
    sends these again (at least once); receivers spot the repeat by ``webhook-id``."""
    async with sessions() as session, session.begin():
        due = await delivery.due_webhooks(session, now=clock(), limit=limit)
        if not due:
            return None
        outcomes = await asyncio.gather(*(_post_webhook(item, settings) for item in due))
        sent = failed = 0
        for item, (answer, error) in zip(due, outcomes, strict=True):
            await delivery.record_webhook(
                session, item, answer=answer, error=error, settings=settings, now=clock()
            )
            if error is None and answer is not None and 200 <= answer.status < 300:
                sent += 1
            else:
                failed += 1
                log.warning("webhook delivery failed", extra={"delivery": str(item.delivery_id)})
        return sent, failed


async def run_pass(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    mailer: Mailer,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    *,
    max_sends: int | None = None,
    photo_storage: PhotoStorage | None = None,
) -> PassReport:
    """Plan, then send webhooks and e-mails until nothing is due (or ``max_sends``); first,
    delete the files of removed photos that no live photo uses (``photo.purge_removed``)."""
    report = PassReport()
    storage = photo_storage or storage_from_settings(settings)
    report.purged = await photo.purge_removed(sessions, storage, now=clock())
    async with sessions() as session, session.begin():
        report.planned = await delivery.plan(session, settings=settings, now=clock())
    while max_sends is None or report.sent + report.failed < max_sends:
        batch = await _send_webhooks(sessions, settings, clock, settings.worker.batch_size)
        if batch is None:
            break
        report.sent += batch[0]
        report.failed += batch[1]
    if not settings.smtp.enabled:
        return report
    while max_sends is None or report.sent + report.failed < max_sends:
        outcome = await _send_one(sessions, settings, mailer, clock)
        if outcome is None:
            break
        if outcome:
            report.sent += 1
        else:
            report.failed += 1
    return report


async def run(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    mailer: Mailer,
    stop: asyncio.Event,
) -> None:
    """Pass after pass until ``stop`` is set; an idle worker waits ``poll_interval_s``. ORDS
    imports run beside, in a loop of their own (``app.services.repair_import.loop``), so a
    long import never holds up a notification."""
    imports = asyncio.create_task(
        repair_import.loop(
            sessions,
            settings.imports,
            stop,
            poll_interval_s=settings.worker.poll_interval_s,
            clock=lambda: datetime.now(UTC),
        )
    )
    try:
        await _outbox_loop(sessions, settings, mailer, stop)
    finally:
        stop.set()
        await imports


async def _outbox_loop(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    mailer: Mailer,
    stop: asyncio.Event,
) -> None:
    if not settings.smtp.enabled:
        log.info("no SMTP host configured: e-mail is off; webhooks are delivered")
    storage = storage_from_settings(settings)
    while not stop.is_set():
        try:
            report = await run_pass(sessions, settings, mailer, photo_storage=storage)
        except Exception:  # a database outage: log, wait, try again
            log.exception("worker pass failed")
            report = PassReport()
        if report.sent or report.failed or report.planned or report.purged:
            log.info(
                "worker pass",
                extra={
                    "planned": report.planned,
                    "sent": report.sent,
                    "failed": report.failed,
                    "photo_files_deleted": report.purged,
                },
            )
            continue
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=settings.worker.poll_interval_s)
