"""The outbox worker: ``python -m app.cli worker`` (``make run`` starts one beside the API).

Each pass plans the e-mails of new events, then sends due ones, **one delivery per database
transaction**: lock the row (``SKIP LOCKED``), send, record, commit. A worker killed between
sending and committing leaves the row pending, so the e-mail goes again (at least once, with
the same ``Message-ID`` for the receiving side to spot); a row another worker holds is skipped,
so several workers never send the same delivery at once. With no SMTP host configured the
worker plans and sends nothing (in-app notifications need no worker: the database writes
them with the change).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Protocol

import aiosmtplib
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.models.outbox import EventCategory, EventType, category_of
from app.render.email import notification_email
from app.repositories.delivery import DueEmail
from app.security import unsubscribe_token
from app.services import delivery

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


async def run_pass(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    mailer: Mailer,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    *,
    max_sends: int | None = None,
) -> PassReport:
    """Plan, then send until nothing is due (or ``max_sends``)."""
    report = PassReport()
    if not settings.smtp.enabled:
        return report
    async with sessions() as session, session.begin():
        report.planned = await delivery.plan(session, settings=settings, now=clock())
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
    """Pass after pass until ``stop`` is set; an idle worker waits ``poll_interval_s``."""
    if not settings.smtp.enabled:
        log.info("no SMTP host configured: e-mail is off; in-app notifications need no worker")
    while not stop.is_set():
        try:
            report = await run_pass(sessions, settings, mailer)
        except Exception:  # a database outage: log, wait, try again
            log.exception("worker pass failed")
            report = PassReport()
        if report.sent or report.failed or report.planned:
            log.info(
                "worker pass",
                extra={"planned": report.planned, "sent": report.sent, "failed": report.failed},
            )
            continue
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=settings.worker.poll_interval_s)
