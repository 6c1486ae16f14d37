"""/v1/organizations/{id}/memberships — a library of things' members
(``app.services.library_member``)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Path, Query, Response, status

from app.api.deps import ClockDep, PrincipalDep
from app.api.params import AUTH_PROBLEMS
from app.db import SessionDep
from app.errors import (
    AlreadyLibraryMemberError,
    InsufficientRoleError,
    InsufficientScopeError,
    InvalidCursorError,
    LibraryMemberNotFoundError,
    NotALibraryError,
    NotAMemberError,
    OrganizationNotFoundError,
    PersonRequiredError,
    WrongOrganizationError,
    problem_responses,
)
from app.schemas.library_member import (
    LibraryJoin,
    LibraryMemberPage,
    LibraryMemberRead,
    LibraryMemberUpdate,
)
from app.services import library_member as service

router = APIRouter(tags=["holds"])

OrganizationIdPath = Annotated[uuid.UUID, Path(description="The library's id")]
PersonIdPath = Annotated[uuid.UUID, Path(description="The member's person id")]
_STAFF = (NotAMemberError, InsufficientRoleError, InsufficientScopeError, WrongOrganizationError)


@router.post(
    "/v1/organizations/{organization_id}/memberships",
    status_code=status.HTTP_201_CREATED,
    response_model=LibraryMemberRead,
    summary="Join a library",
    description="A signed-in person accepts a library of things' terms (`accept_terms: true`) "
    f"and is a member for {service.MEMBERSHIP_DAYS} days (joining again after it ran out "
    "renews it). A listing whose `details.booking.members_only` is true lends and queues only "
    "for members valid through the loan (`403 members_only`). An organization that is not a "
    "library is `409 not_a_library`; a valid membership `409 already_library_member`.",
    responses=problem_responses(
        *AUTH_PROBLEMS,
        PersonRequiredError,
        OrganizationNotFoundError,
        NotALibraryError,
        AlreadyLibraryMemberError,
        422,
    ),
)
async def join_library(
    session: SessionDep,
    principal: PrincipalDep,
    now: ClockDep,
    organization_id: OrganizationIdPath,
    body: Annotated[LibraryJoin, Body()],
) -> LibraryMemberRead:
    return await service.join(
        session,
        principal=principal,
        organization_id=organization_id,
        accepted_terms=body.accept_terms,
        now=now,
    )


@router.get(
    "/v1/organizations/{organization_id}/memberships",
    response_model=LibraryMemberPage,
    summary="A library's members",
    description="Newest first, with whether each membership covers today: for members of the "
    "organization who may act on its transactions, and its API keys with `transactions:write`.",
    responses=problem_responses(
        *AUTH_PROBLEMS,
        *_STAFF,
        OrganizationNotFoundError,
        NotALibraryError,
        InvalidCursorError,
        422,
    ),
)
async def list_library_members(
    session: SessionDep,
    principal: PrincipalDep,
    now: ClockDep,
    organization_id: OrganizationIdPath,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> LibraryMemberPage:
    return await service.list_members(
        session,
        principal=principal,
        organization_id=organization_id,
        cursor=cursor,
        limit=limit,
        now=now,
    )


@router.get(
    "/v1/organizations/{organization_id}/memberships/me",
    response_model=LibraryMemberRead,
    summary="Your membership of a library",
    description="Yours, valid or not; `404 library_member_not_found` when you never joined "
    "(or left).",
    responses=problem_responses(
        *AUTH_PROBLEMS, PersonRequiredError, LibraryMemberNotFoundError, 422
    ),
)
async def my_library_membership(
    session: SessionDep, principal: PrincipalDep, now: ClockDep, organization_id: OrganizationIdPath
) -> LibraryMemberRead:
    return await service.mine(
        session, principal=principal, organization_id=organization_id, now=now
    )


@router.put(
    "/v1/organizations/{organization_id}/memberships/{person_id}",
    response_model=LibraryMemberRead,
    summary="Change how long a membership is valid",
    description="The library's staff set the last day a member's membership is valid "
    "(extending it, or ending it early).",
    responses=problem_responses(
        *AUTH_PROBLEMS,
        *_STAFF,
        OrganizationNotFoundError,
        NotALibraryError,
        LibraryMemberNotFoundError,
        422,
    ),
)
async def update_library_member(
    session: SessionDep,
    principal: PrincipalDep,
    now: ClockDep,
    organization_id: OrganizationIdPath,
    person_id: PersonIdPath,
    body: LibraryMemberUpdate,
) -> LibraryMemberRead:
    return await service.set_valid_until(
        session,
        principal=principal,
        organization_id=organization_id,
        person_id=person_id,
        valid_until=body.valid_until,
        now=now,
    )


@router.delete(
    "/v1/organizations/{organization_id}/memberships/{person_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Leave a library, or end a membership",
    description="The member themselves, or the library's staff. Loans already agreed stay.",
    responses=problem_responses(
        *AUTH_PROBLEMS,
        *_STAFF,
        OrganizationNotFoundError,
        NotALibraryError,
        LibraryMemberNotFoundError,
        422,
    ),
)
async def end_library_membership(
    session: SessionDep,
    principal: PrincipalDep,
    organization_id: OrganizationIdPath,
    person_id: PersonIdPath,
) -> Response:
    await service.end(
        session, principal=principal, organization_id=organization_id, person_id=person_id
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
