"""/v1/me/notifications — what happened that concerns the caller, from the outbox."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from app.api.deps import ClockDep, PrincipalDep, SettingsDep
from app.api.params import AUTH_PROBLEMS as _AUTH
from app.api.params import CursorQuery, LimitQuery
from app.db import SessionDep
from app.errors import InvalidCursorError, InvalidInputError, PersonRequiredError, problem_responses
from app.models.outbox import EventType
from app.render.notifications import notification_title
from app.schemas.notification import (
    NotificationPage,
    NotificationRead,
    NotificationSettings,
    NotificationSettingsUpdate,
    NotificationsRead,
    UnreadNotifications,
    Unsubscribed,
)
from app.services import delivery as delivery_service
from app.services import outbox as service
from app.services.policy import require_person

router = APIRouter(tags=["me"])


def _id(payload: dict[str, object], key: str) -> uuid.UUID | None:
    value = payload.get(key)
    return uuid.UUID(str(value)) if value is not None else None


@router.get(
    "/v1/me/notifications",
    response_model=NotificationPage,
    summary="My notifications",
    description="Newest first; `unread=true` for the unread ones only. Each is written in the "
    "database transaction of what it tells (a request, an acceptance, a message, a hidden "
    "listing …), for the person or every member of the organization concerned, and titled "
    "in the caller's language.",
    responses=problem_responses(*_AUTH, PersonRequiredError, InvalidCursorError, 422),
)
async def list_notifications(
    session: SessionDep,
    principal: PrincipalDep,
    unread: Annotated[bool, Query(description="Only unread ones")] = False,
    cursor: CursorQuery = None,
    limit: LimitQuery = 20,
) -> NotificationPage:
    found = await service.list_notifications(
        session, principal=principal, unread_only=unread, cursor=cursor, limit=limit
    )
    items = []
    for row in found.rows:
        event = EventType(row.type)
        items.append(
            NotificationRead(
                id=row.id,
                type=event,
                title=notification_title(
                    event, listing_title=row.listing_title, language=found.language
                ),
                created_at=row.created_at,
                read_at=row.read_at,
                transaction_id=_id(row.payload, "transaction_id"),
                listing_id=_id(row.payload, "listing_id"),
                message_id=_id(row.payload, "message_id"),
                report_id=_id(row.payload, "report_id"),
            )
        )
    return NotificationPage(items=items, next_cursor=found.next_cursor)


@router.post(
    "/v1/me/notifications/read",
    response_model=UnreadNotifications,
    summary="Mark notifications read",
    description="Up to one notification (it and every older one), or all of them.",
    responses=problem_responses(*_AUTH, PersonRequiredError, InvalidInputError, 422),
)
async def mark_read(
    session: SessionDep, principal: PrincipalDep, now: ClockDep, body: NotificationsRead
) -> UnreadNotifications:
    unread = await service.mark_read(session, principal=principal, up_to=body.up_to, now=now)
    return UnreadNotifications(unread=unread)


@router.get(
    "/v1/me/notification-settings",
    response_model=NotificationSettings,
    summary="What I hear about by e-mail",
    description="Per category (`transactions`, `messages`, `listings`, `moderation`): whether "
    "its events also come by e-mail (on unless turned off). In-app notifications are always "
    "on. Persons only.",
    responses=problem_responses(*_AUTH, PersonRequiredError),
)
async def get_notification_settings(
    session: SessionDep, principal: PrincipalDep
) -> NotificationSettings:
    person_id = require_person(principal)
    return await delivery_service.get_settings(session, person_id=person_id)


@router.patch(
    "/v1/me/notification-settings",
    response_model=NotificationSettings,
    summary="Change what I hear about by e-mail",
    description="Only the categories named change.",
    responses=problem_responses(*_AUTH, PersonRequiredError, 422),
)
async def update_notification_settings(
    session: SessionDep,
    principal: PrincipalDep,
    now: ClockDep,
    body: NotificationSettingsUpdate,
) -> NotificationSettings:
    person_id = require_person(principal)
    return await delivery_service.update_settings(
        session, person_id=person_id, changes=body.email, now=now
    )


@router.post(
    "/v1/unsubscribe",
    response_model=Unsubscribed,
    tags=["notifications"],
    summary="One-click unsubscribe (RFC 8058)",
    description="The `List-Unsubscribe` link of every e-mail: a mail client posts it "
    "(`List-Unsubscribe=One-Click`) without signing in; the signed `token` names the person "
    "and the category, whose e-mails are then off. Idempotent. A forged or foreign token is "
    "`422 invalid_input`.",
    responses=problem_responses(InvalidInputError, 422),
)
async def unsubscribe(
    session: SessionDep,
    now: ClockDep,
    settings: SettingsDep,
    token: Annotated[str, Query(max_length=200, description="From the e-mail's link")],
) -> Unsubscribed:
    category, current = await delivery_service.unsubscribe(
        session, token=token, settings=settings, now=now
    )
    return Unsubscribed(category=category, settings=current)
