"""Every SQL statement about organizations' webhooks."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Webhook
from app.models.outbox import WebhookStatus


class WebhookRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, webhook: Webhook) -> Webhook:
        self.session.add(webhook)
        await self.session.flush()
        await self.session.refresh(webhook)
        return webhook

    async def of_organization(self, organization_id: uuid.UUID) -> list[Webhook]:
        stmt = (
            select(Webhook)
            .where(Webhook.organization_id == organization_id)
            .order_by(Webhook.created_at, Webhook.id)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def get(self, organization_id: uuid.UUID, webhook_id: uuid.UUID) -> Webhook | None:
        stmt = select(Webhook).where(
            Webhook.id == webhook_id, Webhook.organization_id == organization_id
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def remove(self, webhook_id: uuid.UUID) -> None:
        """The webhook and its delivery log go (``ON DELETE CASCADE``)."""
        await self.session.execute(delete(Webhook).where(Webhook.id == webhook_id))

    async def disable(self, webhook_id: uuid.UUID, *, reason: str, now: datetime) -> bool:
        """Turn an active webhook off; False when it was not active."""
        result = await self.session.execute(
            update(Webhook)
            .where(Webhook.id == webhook_id, Webhook.status == WebhookStatus.ACTIVE.value)
            .values(status=WebhookStatus.DISABLED.value, disabled_at=now, disabled_reason=reason)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def enable(self, webhook_id: uuid.UUID) -> None:
        await self.session.execute(
            update(Webhook)
            .where(Webhook.id == webhook_id)
            .values(status=WebhookStatus.ACTIVE.value, disabled_at=None, disabled_reason=None)
        )
