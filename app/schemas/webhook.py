"""Organizations' webhooks and their delivery log."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from app.models.outbox import DeliveryStatus, EventType, WebhookStatus
from app.schemas.common import Page, StrictModel


class WebhookCreate(StrictModel):
    url: Annotated[str, StringConstraints(strip_whitespace=True, min_length=8, max_length=2000)] = (
        Field(
            description="https URL of a public host (loopback is allowed in development and test)",
            examples=["https://erp.example.no/hooks/sirkel"],
        )
    )
    event_types: list[EventType] = Field(
        default_factory=list,
        max_length=len(EventType),
        description="The event types to receive; empty: every event of the organization",
        examples=[["transaction.requested", "message.received"]],
    )


class WebhookRead(BaseModel):
    id: uuid.UUID
    organization_id: uuid.UUID
    url: str
    event_types: list[EventType]
    status: WebhookStatus = Field(description="`disabled` after deliveries failed for a day")
    created_at: datetime
    disabled_at: datetime | None
    disabled_reason: str | None


class WebhookCreated(WebhookRead):
    secret: str = Field(
        description="The signing secret (`whsec_…`), shown only now: verify `webhook-signature` "
        "with it",
        examples=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
    )


class DeliveryRead(BaseModel):
    id: uuid.UUID
    event_id: uuid.UUID = Field(description="The `webhook-id` header: the same on every attempt")
    event_type: EventType
    status: DeliveryStatus
    attempts: int = Field(description="Failed attempts so far")
    next_attempt_at: datetime
    last_error: str | None
    response_status: int | None = Field(description="The receiver's status on the last attempt")
    response_body: str | None = Field(description="The first KiB of its answer")
    duration_ms: int | None
    created_at: datetime
    delivered_at: datetime | None


class DeliveryPage(Page[DeliveryRead]):
    pass
