"""/v1/me/saved-searches — searches that tell their owner of new listings that fit;
/v1/organizations/{id}/matches — the matches an organization's listings found, for its ERP."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status
from pydantic import AwareDatetime

from app.api.deps import ClockDep, PrincipalDep
from app.api.params import AUTH_PROBLEMS, CursorQuery, LimitQuery
from app.db import SessionDep
from app.errors import (
    EmptySearchAreaError,
    InsufficientRoleError,
    InsufficientScopeError,
    InvalidCursorError,
    InvalidInputError,
    NotAMemberError,
    OrganizationNotFoundError,
    PersonRequiredError,
    SavedSearchNotFoundError,
    TooManySavedSearchesError,
    UnknownCategoryError,
    UnknownFylkeError,
    UnknownKommuneError,
    WrongOrganizationError,
    problem_responses,
)
from app.schemas.common import Page
from app.schemas.saved_search import OrganizationMatchPage, SavedSearchCreate, SavedSearchRead
from app.services import saved_search as service

router = APIRouter(tags=["saved searches"])

SavedSearchIdPath = Annotated[uuid.UUID, Path(description="The saved search's id")]
_ORG = (
    OrganizationNotFoundError,
    NotAMemberError,
    InsufficientRoleError,
    InsufficientScopeError,
    WrongOrganizationError,
)


@router.post(
    "/v1/me/saved-searches",
    status_code=status.HTTP_201_CREATED,
    summary="Save a search",
    description="The filters of `GET /v1/listings` (a circle of `radius_m` around `lat`/`lon`, "
    "a `bbox`, a `kommune` or `fylke`, `kind`, `mode`, `category` with its sub-categories, "
    "Norwegian free text `q`), a name, and a `frequency`: `instant` raises a "
    "`saved_search.matched` notification for each listing that fits when it is published, "
    "approved, renewed or unhidden; `daily` collects them into one `saved_search.digest` a day "
    "(the clock's `tick`). Notifications go through the outbox: in-app, e-mail and, for an "
    "organization's searches, its webhooks. Each listing tells a saved search once. Never your "
    "own listings nor a blocked person's; hazardous material only to organizations with a "
    "recorded waste permit. At most 50 per person or organization (`409 "
    "too_many_saved_searches`).",
    responses=problem_responses(
        *AUTH_PROBLEMS,
        *_ORG,
        UnknownKommuneError,
        UnknownFylkeError,
        UnknownCategoryError,
        EmptySearchAreaError,
        InvalidInputError,
        TooManySavedSearchesError,
        422,
    ),
)
async def create_saved_search(
    body: SavedSearchCreate, session: SessionDep, principal: PrincipalDep, now: ClockDep
) -> SavedSearchRead:
    return await service.create_saved_search(session, principal=principal, body=body, now=now)


@router.get(
    "/v1/me/saved-searches",
    summary="My saved searches",
    description="The caller's saved searches (or, with `organization_id`, an organization's), "
    "oldest first, each with how many listings fitted since it was saved.",
    responses=problem_responses(*AUTH_PROBLEMS, *_ORG, InvalidCursorError, 422),
)
async def list_saved_searches(
    session: SessionDep,
    principal: PrincipalDep,
    organization_id: Annotated[
        uuid.UUID | None, Query(description="An organization you act for")
    ] = None,
    limit: LimitQuery = 20,
    cursor: CursorQuery = None,
) -> Page[SavedSearchRead]:
    return await service.list_saved_searches(
        session, principal=principal, organization_id=organization_id, cursor=cursor, limit=limit
    )


@router.get(
    "/v1/me/saved-searches/{saved_search_id}",
    summary="One saved search",
    description="A saved search of yours or of an organization you act for; anyone else's is "
    "`404 saved_search_not_found`.",
    responses=problem_responses(*AUTH_PROBLEMS, SavedSearchNotFoundError, 422),
)
async def get_saved_search(
    saved_search_id: SavedSearchIdPath, session: SessionDep, principal: PrincipalDep
) -> SavedSearchRead:
    return await service.get_saved_search(
        session, principal=principal, saved_search_id=saved_search_id
    )


@router.delete(
    "/v1/me/saved-searches/{saved_search_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a saved search",
    description="It tells nobody of anything any more; its hits go with it.",
    responses=problem_responses(*AUTH_PROBLEMS, SavedSearchNotFoundError, 422),
)
async def delete_saved_search(
    saved_search_id: SavedSearchIdPath, session: SessionDep, principal: PrincipalDep
) -> Response:
    await service.delete_saved_search(session, principal=principal, saved_search_id=saved_search_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/v1/organizations/{organization_id}/matches",
    response_model=OrganizationMatchPage,
    summary="An organization's new matches",
    description="The wanted/offer pairs the organization's listings are in, as alerts found "
    "them when a listing was published (score 0.5 or more, the best 20 of each listing), "
    "oldest first; `since` (an RFC 3339 time) for what came after the last poll. Each has the "
    "other listing (at its public point) and which of the two is the organization's. "
    "Members, or API keys with `listings:write`.",
    responses=problem_responses(
        *AUTH_PROBLEMS, PersonRequiredError, *_ORG, InvalidCursorError, 422
    ),
)
async def organization_matches(
    organization_id: Annotated[uuid.UUID, Path(description="The organization's id")],
    session: SessionDep,
    principal: PrincipalDep,
    since: Annotated[
        AwareDatetime | None,
        Query(description="Only pairs found after this time (RFC 3339, with its offset)"),
    ] = None,
    limit: LimitQuery = 20,
    cursor: CursorQuery = None,
) -> Response:
    body = await service.organization_matches(
        session,
        principal=principal,
        organization_id=organization_id,
        since=since,
        cursor=cursor,
        limit=limit,
    )
    return Response(content=body, media_type="application/json")
