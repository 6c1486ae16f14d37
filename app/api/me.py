"""/v1/me — the caller, their profile, their personal data."""

from __future__ import annotations

import uuid
from typing import Annotated

import orjson
from fastapi import APIRouter, Query, Response, status

from app.api.deps import ERASED, ClockDep, PrincipalDep, PrincipalOrErasedDep
from app.api.params import AUTH_PROBLEMS, CursorQuery, LimitQuery
from app.db import SessionDep
from app.errors import (
    InsufficientScopeError,
    InvalidCursorError,
    LastOwnerError,
    NotAMemberError,
    OrganizationNotFoundError,
    PersonRequiredError,
    UnknownKommuneError,
    WrongOrganizationError,
    problem_responses,
)
from app.models.listing import ListingStatus
from app.schemas.listing import ListingPage
from app.schemas.person import Me, MeUpdate, PersonalDataExport, PersonMe
from app.services import listing as listing_service
from app.services import person as service
from app.services.policy import require_person

router = APIRouter(prefix="/v1/me", tags=["me"])


@router.get(
    "",
    summary="Who am I",
    description="The caller: a person (profile, platform roles, memberships) or, for an "
    "`X-API-Key`, the organization it acts for and its scopes.",
    response_model=Me,
    responses=problem_responses(*AUTH_PROBLEMS),
)
async def get_me(session: SessionDep, principal: PrincipalDep) -> Me:
    return await service.get_me(session, principal=principal)


@router.patch(
    "",
    summary="Update my profile",
    description="Change display name, home kommune (null clears it) and language (nb|en).",
    responses=problem_responses(*AUTH_PROBLEMS, PersonRequiredError, UnknownKommuneError, 422),
)
async def update_me(body: MeUpdate, session: SessionDep, principal: PrincipalDep) -> PersonMe:
    person_id = require_person(principal)
    return await service.update_me(session, person_id=person_id, changes=body)


@router.get(
    "/listings",
    summary="My listings",
    description="The caller's own listings in every status (drafts, in review, withdrawn, "
    "hidden …), newest created first, with exact points and moderation state. With "
    "`organization_id` (or for an API key): that organization's listings, for its members and "
    "keys with `listings:write`.",
    response_model=ListingPage,
    responses=problem_responses(
        *AUTH_PROBLEMS,
        NotAMemberError,
        InsufficientScopeError,
        WrongOrganizationError,
        OrganizationNotFoundError,
        InvalidCursorError,
        422,
    ),
)
async def list_my_listings(
    session: SessionDep,
    principal: PrincipalDep,
    organization_id: Annotated[
        uuid.UUID | None, Query(description="An organization you act for")
    ] = None,
    status: Annotated[
        list[ListingStatus] | None, Query(description="Only these statuses (repeatable)")
    ] = None,
    limit: LimitQuery = 20,
    cursor: CursorQuery = None,
) -> Response:
    result = await listing_service.list_my_listings(
        session,
        principal=principal,
        organization_id=organization_id,
        statuses=status,
        cursor=cursor,
        limit=limit,
    )
    body = (
        b'{"items":['
        + b",".join(result.rows)
        + b'],"next_cursor":'
        + orjson.dumps(result.next_cursor)
        + b"}"
    )
    return Response(content=body, media_type="application/json")


@router.get(
    "/export",
    summary="Export my personal data",
    description="Every piece of personal data Sirkel holds about the caller, as one JSON "
    "document (GDPR art. 15 and 20).",
    responses=problem_responses(*AUTH_PROBLEMS, PersonRequiredError),
)
async def export_me(
    session: SessionDep, principal: PrincipalDep, now: ClockDep
) -> PersonalDataExport:
    person_id = require_person(principal)
    return await service.export_personal_data(session, person_id=person_id, now=now)


@router.delete(
    "",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Erase my personal data",
    description="Removes e-mail, name, password and memberships and ends every session; what "
    "must stay as evidence keeps only a random pseudonym, the sector and the kommune. "
    "Refused with `409 last_owner` while you are the only owner of an organization. "
    "Repeating it answers 204 as well: the session is already gone, so a retry with the same "
    "token is recognised as the same erasure.",
    responses=problem_responses(*AUTH_PROBLEMS, PersonRequiredError, LastOwnerError),
)
async def erase_me(session: SessionDep, principal: PrincipalOrErasedDep, now: ClockDep) -> Response:
    if principal == ERASED:
        return Response(status_code=status.HTTP_204_NO_CONTENT)
    assert not isinstance(principal, str)
    person_id = require_person(principal)
    await service.erase_me(session, person_id=person_id, now=now)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
