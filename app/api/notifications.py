"""/v1/me/notifications — what happened that concerns the caller, from the outbox."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from app.api.deps import ClockDep, PrincipalDep
from app.api.params import AUTH_PROBLEMS as _AUTH
from app.api.params import CursorQuery, LimitQuery
from app.db import SessionDep
from app.errors import InvalidCursorError, InvalidInputError, PersonRequiredError, problem_responses
from app.models.outbox import EventType
from app.render.notifications import notification_title
from app.schemas.notification import (
    NotificationPage,
    NotificationRead,
    NotificationsRead,
    UnreadNotifications,
)
from app.services import outbox as service

router = APIRouter(prefix="/v1/me/notifications", tags=["me"])


def _id(payload: dict[str, object], key: str) -> uuid.UUID | None:
    value = payload.get(key)
    return uuid.UUID(str(value)) if value is not None else None


@router.get(
    "",
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
    "/read",
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
