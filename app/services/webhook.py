"""Organizations' webhooks: register an endpoint (its URL checked against SSRF and its signing
secret shown once), list and remove them, read the delivery log, retry a delivery.

Admins of the organization, or its API keys with ``organization:write``
(``OrgAction.MANAGE_WEBHOOKS``). At most ``MAX_WEBHOOKS`` per organization. Delivery itself is
the worker's (``app.worker``).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Environment, Settings
from app.errors import (
    DeliveryDeliveredError,
    DeliveryNotFoundError,
    OrganizationNotFoundError,
    TooManyWebhooksError,
    UnsafeWebhookUrlError,
    WebhookNotFoundError,
)
from app.models import Delivery, Webhook
from app.models.outbox import DeliveryStatus, EventType, WebhookStatus
from app.outbound import UnsafeUrlError, resolve
from app.pagination import decode_seq_cursor, encode_seq_cursor
from app.repositories.delivery import DeliveryRepository
from app.repositories.organization import OrganizationRepository
from app.repositories.webhook import WebhookRepository
from app.schemas.webhook import (
    DeliveryPage,
    DeliveryRead,
    WebhookCreate,
    WebhookCreated,
    WebhookRead,
)
from app.security import new_webhook_secret, seal
from app.services.policy import OrgAction, Principal, authorize_org

MAX_WEBHOOKS = 10


async def _authorize(
    session: AsyncSession, principal: Principal, organization_id: uuid.UUID
) -> None:
    if await OrganizationRepository(session).get(organization_id) is None:
        raise OrganizationNotFoundError(f"No organization has the id {organization_id}.")
    await authorize_org(session, principal, organization_id, OrgAction.MANAGE_WEBHOOKS)


def webhook_read(webhook: Webhook) -> WebhookRead:
    return WebhookRead(
        id=webhook.id,
        organization_id=webhook.organization_id,
        url=webhook.url,
        event_types=[EventType(t) for t in webhook.event_types],
        status=WebhookStatus(webhook.status),
        created_at=webhook.created_at,
        disabled_at=webhook.disabled_at,
        disabled_reason=webhook.disabled_reason,
    )


async def create_webhook(
    session: AsyncSession,
    *,
    principal: Principal,
    organization_id: uuid.UUID,
    body: WebhookCreate,
    settings: Settings,
    now: datetime,
) -> WebhookCreated:
    await _authorize(session, principal, organization_id)
    repo = WebhookRepository(session)
    if len(await repo.of_organization(organization_id)) >= MAX_WEBHOOKS:
        raise TooManyWebhooksError(
            f"An organization has at most {MAX_WEBHOOKS} webhooks; remove one first."
        )
    allow_loopback = settings.environment in (Environment.DEVELOPMENT, Environment.TEST)
    try:
        await resolve(body.url, allow_loopback=allow_loopback)
    except UnsafeUrlError as exc:
        raise UnsafeWebhookUrlError.for_field(
            str(exc), field="url", message="Not a URL Sirkel calls", type="unsafe"
        ) from None
    secret = new_webhook_secret()
    webhook = await repo.add(
        Webhook(
            organization_id=organization_id,
            url=body.url,
            event_types=sorted({t.value for t in body.event_types}),
            secret_sealed=seal(secret, settings.auth),
            created_at=now,
            created_by=principal.person_id,
        )
    )
    return WebhookCreated(**webhook_read(webhook).model_dump(), secret=secret)


async def list_webhooks(
    session: AsyncSession, *, principal: Principal, organization_id: uuid.UUID
) -> list[WebhookRead]:
    await _authorize(session, principal, organization_id)
    return [
        webhook_read(w) for w in await WebhookRepository(session).of_organization(organization_id)
    ]


async def _webhook(
    session: AsyncSession, principal: Principal, organization_id: uuid.UUID, webhook_id: uuid.UUID
) -> Webhook:
    await _authorize(session, principal, organization_id)
    webhook = await WebhookRepository(session).get(organization_id, webhook_id)
    if webhook is None:
        raise WebhookNotFoundError(f"The organization has no webhook with the id {webhook_id}.")
    return webhook


async def delete_webhook(
    session: AsyncSession,
    *,
    principal: Principal,
    organization_id: uuid.UUID,
    webhook_id: uuid.UUID,
) -> None:
    webhook = await _webhook(session, principal, organization_id, webhook_id)
    await WebhookRepository(session).remove(webhook.id)


def delivery_read(delivery: Delivery, event_type: str, event_id: uuid.UUID) -> DeliveryRead:
    return DeliveryRead(
        id=delivery.id,
        event_id=event_id,
        event_type=EventType(event_type),
        status=DeliveryStatus(delivery.status),
        attempts=delivery.attempts,
        next_attempt_at=delivery.next_attempt_at,
        last_error=delivery.last_error,
        response_status=delivery.response_status,
        response_body=delivery.response_body,
        duration_ms=delivery.duration_ms,
        created_at=delivery.created_at,
        delivered_at=delivery.delivered_at,
    )


async def list_deliveries(
    session: AsyncSession,
    *,
    principal: Principal,
    organization_id: uuid.UUID,
    webhook_id: uuid.UUID,
    cursor: str | None,
    limit: int,
) -> DeliveryPage:
    webhook = await _webhook(session, principal, organization_id, webhook_id)
    before = decode_seq_cursor(cursor) if cursor else None
    rows = await DeliveryRepository(session).log(webhook.id, before_seq=before, limit=limit + 1)
    return DeliveryPage(
        items=[delivery_read(d, t, i) for d, t, i in rows[:limit]],
        next_cursor=encode_seq_cursor(rows[limit - 1][0].event_seq) if len(rows) > limit else None,
    )


async def retry_delivery(
    session: AsyncSession,
    *,
    principal: Principal,
    organization_id: uuid.UUID,
    webhook_id: uuid.UUID,
    delivery_id: uuid.UUID,
    now: datetime,
) -> DeliveryRead:
    """Send a delivery again at once (a dead one too). Retrying turns a webhook that was
    turned off back on: the organization says its endpoint works again."""
    webhook = await _webhook(session, principal, organization_id, webhook_id)
    repo = DeliveryRepository(session)
    found = await repo.get_for_webhook(webhook.id, delivery_id, for_update=True)
    if found is None:
        raise DeliveryNotFoundError(f"The webhook has no delivery with the id {delivery_id}.")
    delivery, event_type, event_id = found
    if delivery.status == DeliveryStatus.DELIVERED.value:
        raise DeliveryDeliveredError("The delivery was delivered; there is nothing to retry.")
    await repo.requeue(delivery.id, now=now)
    if webhook.status != WebhookStatus.ACTIVE.value:
        await WebhookRepository(session).enable(webhook.id)
    await session.refresh(delivery)
    return delivery_read(delivery, event_type, event_id)
