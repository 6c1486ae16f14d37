"""/v1/organizations/{id}/webhooks — where an organization's events go (its ERP, its site),
signed by the Standard Webhooks scheme, with a delivery log and retries."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Path, Response, status

from app.api.deps import ClockDep, PrincipalDep, SettingsDep
from app.api.params import AUTH_PROBLEMS as _AUTH
from app.api.params import CursorQuery, LimitQuery
from app.db import SessionDep
from app.errors import (
    DeliveryDeliveredError,
    DeliveryNotFoundError,
    InsufficientRoleError,
    InsufficientScopeError,
    InvalidCursorError,
    NotAMemberError,
    OrganizationNotFoundError,
    PersonRequiredError,
    TooManyWebhooksError,
    UnsafeWebhookUrlError,
    WebhookNotFoundError,
    WrongOrganizationError,
    problem_responses,
)
from app.schemas.webhook import (
    DeliveryPage,
    DeliveryRead,
    WebhookCreate,
    WebhookCreated,
    WebhookRead,
)
from app.services import webhook as service

router = APIRouter(prefix="/v1/organizations/{organization_id}/webhooks", tags=["organizations"])

OrganizationIdPath = Annotated[uuid.UUID, Path(description="The organization's id")]
WebhookIdPath = Annotated[uuid.UUID, Path(description="The webhook's id")]
_ADMINS = (
    *_AUTH,
    OrganizationNotFoundError,
    NotAMemberError,
    InsufficientRoleError,
    InsufficientScopeError,
    WrongOrganizationError,
    PersonRequiredError,
)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=WebhookCreated,
    summary="Register a webhook",
    description="Admins, or API keys with `organization:write`. The URL must be https and its "
    "host public: one that resolves to a loopback, private, link-local (cloud metadata) or "
    "reserved address is `422 unsafe_webhook_url` (loopback is allowed in development and "
    "test). The signing secret is in this response only. At most 10 per organization "
    "(`409 too_many_webhooks`). Every event of the organization that `event_types` names "
    "(or all) is then posted to it, signed: verify `webhook-signature` over "
    "`webhook-id.webhook-timestamp.body` with the secret (README).",
    responses=problem_responses(*_ADMINS, UnsafeWebhookUrlError, TooManyWebhooksError, 422),
)
async def create_webhook(
    session: SessionDep,
    principal: PrincipalDep,
    now: ClockDep,
    settings: SettingsDep,
    organization_id: OrganizationIdPath,
    body: Annotated[
        WebhookCreate,
        Body(
            openapi_examples={
                "erp": {
                    "summary": "Requests and messages to an ERP",
                    "value": {
                        "url": "https://erp.example.no/hooks/sirkel",
                        "event_types": ["transaction.requested", "message.received"],
                    },
                },
                "all": {
                    "summary": "Every event",
                    "value": {"url": "https://example.no/sirkel-webhook"},
                },
            }
        ),
    ],
) -> WebhookCreated:
    return await service.create_webhook(
        session,
        principal=principal,
        organization_id=organization_id,
        body=body,
        settings=settings,
        now=now,
    )


@router.get(
    "",
    response_model=list[WebhookRead],
    summary="The organization's webhooks",
    description="Oldest first; never with their secrets.",
    responses=problem_responses(*_ADMINS, 422),
)
async def list_webhooks(
    session: SessionDep, principal: PrincipalDep, organization_id: OrganizationIdPath
) -> list[WebhookRead]:
    return await service.list_webhooks(
        session, principal=principal, organization_id=organization_id
    )


@router.delete(
    "/{webhook_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Remove a webhook",
    description="Nothing more is sent to it; its delivery log goes with it.",
    responses=problem_responses(*_ADMINS, WebhookNotFoundError, 422),
)
async def delete_webhook(
    session: SessionDep,
    principal: PrincipalDep,
    organization_id: OrganizationIdPath,
    webhook_id: WebhookIdPath,
) -> Response:
    await service.delete_webhook(
        session, principal=principal, organization_id=organization_id, webhook_id=webhook_id
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/{webhook_id}/deliveries",
    response_model=DeliveryPage,
    summary="A webhook's delivery log",
    description="Newest first: each event's attempts, the last error, the receiver's status "
    "and the first KiB of its answer.",
    responses=problem_responses(*_ADMINS, WebhookNotFoundError, InvalidCursorError, 422),
)
async def list_deliveries(
    session: SessionDep,
    principal: PrincipalDep,
    organization_id: OrganizationIdPath,
    webhook_id: WebhookIdPath,
    cursor: CursorQuery = None,
    limit: LimitQuery = 20,
) -> DeliveryPage:
    return await service.list_deliveries(
        session,
        principal=principal,
        organization_id=organization_id,
        webhook_id=webhook_id,
        cursor=cursor,
        limit=limit,
    )


@router.post(
    "/{webhook_id}/deliveries/{delivery_id}/retry",
    response_model=DeliveryRead,
    summary="Send a delivery again",
    description="At once, with the same `webhook-id` — a dead delivery too; retrying turns a "
    "webhook that was turned off after failures back on. A delivered one: `409 "
    "delivery_already_delivered`.",
    responses=problem_responses(
        *_ADMINS, WebhookNotFoundError, DeliveryNotFoundError, DeliveryDeliveredError, 422
    ),
)
async def retry_delivery(
    session: SessionDep,
    principal: PrincipalDep,
    now: ClockDep,
    organization_id: OrganizationIdPath,
    webhook_id: WebhookIdPath,
    delivery_id: Annotated[uuid.UUID, Path(description="The delivery's id")],
) -> DeliveryRead:
    return await service.retry_delivery(
        session,
        principal=principal,
        organization_id=organization_id,
        webhook_id=webhook_id,
        delivery_id=delivery_id,
        now=now,
    )
