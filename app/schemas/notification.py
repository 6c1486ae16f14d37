"""In-app notifications."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from app.models.outbox import EventCategory, EventType
from app.schemas.common import Page, StrictModel


class NotificationRead(BaseModel):
    id: uuid.UUID
    type: EventType = Field(description="What happened (the events catalogue in the README)")
    title: str = Field(description="One line in the person's language")
    created_at: datetime
    read_at: datetime | None
    transaction_id: uuid.UUID | None = Field(default=None, description="What it is about")
    listing_id: uuid.UUID | None = None
    message_id: uuid.UUID | None = None
    report_id: uuid.UUID | None = None


class NotificationPage(Page[NotificationRead]):
    pass


class NotificationsRead(StrictModel):
    up_to: uuid.UUID | None = Field(
        default=None,
        description="Mark this notification and every older one read; omit to mark all",
        examples=["1d2c3b4a-5e6f-4a7b-8c9d-0e1f2a3b4c5d"],
    )


class UnreadNotifications(BaseModel):
    unread: int


class NotificationSettings(BaseModel):
    """Which categories a person hears about by e-mail (in-app notifications are always on)."""

    email: dict[EventCategory, bool] = Field(
        description="Per category: `transactions`, `messages`, `listings`, `moderation`",
        examples=[{"transactions": True, "messages": False, "listings": True, "moderation": True}],
    )


class NotificationSettingsUpdate(StrictModel):
    email: dict[EventCategory, bool] = Field(
        description="The categories to change; the others stay as they are",
        examples=[{"messages": False}],
    )


class Unsubscribed(BaseModel):
    category: EventCategory
    settings: NotificationSettings
