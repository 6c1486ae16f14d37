"""/v1/organizations — the public directory, registration and verification, members and API
keys."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from app.api.deps import ClockDep, PrincipalDep
from app.api.params import AUTH_PROBLEMS, KOMMUNENUMMER_PATTERN, CursorQuery, LimitQuery
from app.db import SessionDep
from app.errors import (
    AlreadyMemberError,
    ApiKeyNotFoundError,
    ConflictError,
    InsufficientRoleError,
    InsufficientScopeError,
    InvalidCursorError,
    InvalidInputError,
    LastOwnerError,
    MemberNotFoundError,
    MunicipalityTakenError,
    NotAMemberError,
    OrganizationNotFoundError,
    OrgnrTakenError,
    PersonNotFoundError,
    PersonRequiredError,
    RoleRequiredError,
    UnknownKommuneError,
    WrongOrganizationError,
    problem_responses,
)
from app.models.organization import OrganizationKind
from app.schemas.common import Page
from app.schemas.organization import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyRead,
    MemberCreate,
    MemberRead,
    MemberUpdate,
    OrganizationCreate,
    OrganizationRead,
    OrganizationUpdate,
    WastePermitRecord,
)
from app.services import organization as service

router = APIRouter(prefix="/v1/organizations", tags=["organizations"])

OrganizationIdPath = Annotated[uuid.UUID, Path(description="The organization's id")]
PersonIdPath = Annotated[uuid.UUID, Path(description="The member's person id")]
ApiKeyIdPath = Annotated[uuid.UUID, Path(description="The API key's id")]

# A person who is not a member, or whose role is too low.
_MEMBER_ONLY = (*AUTH_PROBLEMS, PersonRequiredError, NotAMemberError, InsufficientRoleError)


# --- organizations ---------------------------------------------------------------------


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Register an organization",
    description="A signed-in person registers an organization and becomes its owner. The "
    "organisasjonsnummer, when given, must have a valid MOD11 check digit and not be taken; "
    "a municipality needs its kommunenummer. The sector is derived from the kind. New "
    "organizations are unverified until a moderator verifies them.",
    responses=problem_responses(
        *AUTH_PROBLEMS,
        PersonRequiredError,
        OrgnrTakenError,
        UnknownKommuneError,
        InvalidInputError,
        422,
    ),
)
async def create_organization(
    body: OrganizationCreate, session: SessionDep, principal: PrincipalDep
) -> OrganizationRead:
    return await service.create_organization(session, principal=principal, data=body)


@router.get(
    "",
    summary="Search the organization directory",
    description="Public. Organizations ordered by name, optionally of one kind, in one kommune "
    "or with `q` in their name (case-insensitive, matched literally). Nothing about the "
    "people behind them. Keyset-paginated.",
    responses=problem_responses(UnknownKommuneError, InvalidCursorError, 422),
)
async def list_organizations(
    session: SessionDep,
    kind: Annotated[OrganizationKind | None, Query(description="Only this kind")] = None,
    kommune: Annotated[
        str | None,
        Query(
            pattern=KOMMUNENUMMER_PATTERN,
            description="Only organizations whose main kommune is this one",
            examples=["0301"],
        ),
    ] = None,
    q: Annotated[
        str | None, Query(min_length=1, max_length=100, description="Part of the name")
    ] = None,
    limit: LimitQuery = 20,
    cursor: CursorQuery = None,
) -> Page[OrganizationRead]:
    return await service.list_organizations(
        session, kind=kind, kommunenummer=kommune, q=q, cursor=cursor, limit=limit
    )


@router.get(
    "/{organization_id}",
    summary="Get one organization",
    description="Public: the organization as the directory shows it.",
    responses=problem_responses(OrganizationNotFoundError, 422),
)
async def get_organization(
    session: SessionDep, organization_id: OrganizationIdPath
) -> OrganizationRead:
    return await service.get_organization(session, organization_id=organization_id)


@router.patch(
    "/{organization_id}",
    summary="Update an organization",
    description="Change the fields sent (`null` clears an optional one). Admins and owners, or "
    "an API key of the organization with the scope `organization:write`. The kind and "
    "organisasjonsnummer cannot change; a verified municipality cannot move to another "
    "kommune (`409 conflict`).",
    responses=problem_responses(
        *_MEMBER_ONLY,
        InsufficientScopeError,
        WrongOrganizationError,
        OrganizationNotFoundError,
        ConflictError,
        UnknownKommuneError,
        InvalidInputError,
        422,
    ),
)
async def update_organization(
    body: OrganizationUpdate,
    session: SessionDep,
    principal: PrincipalDep,
    now: ClockDep,
    organization_id: OrganizationIdPath,
) -> OrganizationRead:
    return await service.update_organization(
        session, principal=principal, organization_id=organization_id, data=body, now=now
    )


@router.post(
    "/{organization_id}/verify",
    summary="Verify an organization",
    description="Moderators only: record that the organization is who it says it is. Only one "
    "municipality organization per kommune can be verified (`409 municipality_taken`). "
    "Verifying a verified organization changes nothing.",
    responses=problem_responses(
        *AUTH_PROBLEMS,
        PersonRequiredError,
        RoleRequiredError,
        OrganizationNotFoundError,
        MunicipalityTakenError,
        422,
    ),
)
async def verify_organization(
    session: SessionDep, principal: PrincipalDep, now: ClockDep, organization_id: OrganizationIdPath
) -> OrganizationRead:
    return await service.verify_organization(
        session, principal=principal, organization_id=organization_id, now=now
    )


@router.put(
    "/{organization_id}/waste-permit",
    summary="Record a waste permit",
    description="Moderators only: record the organization's permit to receive hazardous "
    "waste (its reference, checked against Miljødirektoratet's or the statsforvalter's "
    "register). Only then does matching pair hazardous material (an EWC code with `*`) with "
    "the organization's wanted listings. Recording again replaces the reference.",
    responses=problem_responses(
        *AUTH_PROBLEMS, PersonRequiredError, RoleRequiredError, OrganizationNotFoundError, 422
    ),
)
async def record_waste_permit(
    session: SessionDep,
    principal: PrincipalDep,
    now: ClockDep,
    organization_id: OrganizationIdPath,
    body: WastePermitRecord,
) -> OrganizationRead:
    return await service.record_waste_permit(
        session,
        principal=principal,
        organization_id=organization_id,
        reference=body.reference,
        now=now,
    )


@router.delete(
    "/{organization_id}/waste-permit",
    summary="Withdraw a waste permit",
    description="Moderators only: the permit lapsed or was withdrawn. Hazardous material is no "
    "longer matched with the organization. Withdrawing when none is recorded changes nothing.",
    responses=problem_responses(
        *AUTH_PROBLEMS, PersonRequiredError, RoleRequiredError, OrganizationNotFoundError, 422
    ),
)
async def withdraw_waste_permit(
    session: SessionDep, principal: PrincipalDep, now: ClockDep, organization_id: OrganizationIdPath
) -> OrganizationRead:
    return await service.record_waste_permit(
        session, principal=principal, organization_id=organization_id, reference=None, now=now
    )


# --- members ---------------------------------------------------------------------------


@router.get(
    "/{organization_id}/members",
    summary="List members",
    description="Members only: who belongs to the organization and in which role, owners "
    "first. Display names only, never e-mail addresses. API keys cannot list members.",
    responses=problem_responses(*_MEMBER_ONLY, OrganizationNotFoundError, InvalidCursorError, 422),
)
async def list_members(
    session: SessionDep,
    principal: PrincipalDep,
    organization_id: OrganizationIdPath,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Page[MemberRead]:
    return await service.list_members(
        session, principal=principal, organization_id=organization_id, cursor=cursor, limit=limit
    )


@router.post(
    "/{organization_id}/members",
    status_code=status.HTTP_201_CREATED,
    summary="Add a member",
    description="Admins and owners add a registered person by the e-mail address they signed "
    "up with (trimmed, case-insensitive). Only an owner can add an owner.",
    responses=problem_responses(
        *_MEMBER_ONLY, OrganizationNotFoundError, PersonNotFoundError, AlreadyMemberError, 422
    ),
)
async def add_member(
    body: MemberCreate,
    session: SessionDep,
    principal: PrincipalDep,
    organization_id: OrganizationIdPath,
) -> MemberRead:
    return await service.add_member(
        session, principal=principal, organization_id=organization_id, data=body
    )


@router.patch(
    "/{organization_id}/members/{person_id}",
    summary="Change a member's role",
    description="Admins and owners change roles; only owners grant or take away the owner "
    "role. The last owner cannot be demoted (`409 last_owner`).",
    responses=problem_responses(
        *_MEMBER_ONLY, OrganizationNotFoundError, MemberNotFoundError, LastOwnerError, 422
    ),
)
async def change_member_role(
    body: MemberUpdate,
    session: SessionDep,
    principal: PrincipalDep,
    organization_id: OrganizationIdPath,
    person_id: PersonIdPath,
) -> MemberRead:
    return await service.change_member_role(
        session,
        principal=principal,
        organization_id=organization_id,
        person_id=person_id,
        data=body,
    )


@router.delete(
    "/{organization_id}/members/{person_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a member, or leave",
    description="Every member may remove themselves (leave). Admins and owners remove members "
    "and admins; only owners remove owners. The last owner can neither leave nor be removed "
    "(`409 last_owner`).",
    responses=problem_responses(
        *_MEMBER_ONLY, OrganizationNotFoundError, MemberNotFoundError, LastOwnerError, 422
    ),
)
async def remove_member(
    session: SessionDep,
    principal: PrincipalDep,
    organization_id: OrganizationIdPath,
    person_id: PersonIdPath,
) -> Response:
    await service.remove_member(
        session, principal=principal, organization_id=organization_id, person_id=person_id
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- API keys --------------------------------------------------------------------------


@router.post(
    "/{organization_id}/api-keys",
    status_code=status.HTTP_201_CREATED,
    summary="Create an API key",
    description="Admins and owners create a key that acts for the organization within its "
    "scopes. The key is in this response only: store it now. Send it as `X-API-Key`.",
    responses=problem_responses(*_MEMBER_ONLY, OrganizationNotFoundError, 422),
)
async def create_api_key(
    body: ApiKeyCreate,
    session: SessionDep,
    principal: PrincipalDep,
    organization_id: OrganizationIdPath,
    response: Response,
) -> ApiKeyCreated:
    # The key is a secret: not cached, and never stored for Idempotency-Key replays.
    response.headers["Cache-Control"] = "no-store"
    return await service.create_api_key(
        session, principal=principal, organization_id=organization_id, data=body
    )


@router.get(
    "/{organization_id}/api-keys",
    summary="List API keys",
    description="Admins and owners: the organization's keys, revoked ones included, oldest "
    "first — with their prefix, never the key.",
    responses=problem_responses(*_MEMBER_ONLY, OrganizationNotFoundError, InvalidCursorError, 422),
)
async def list_api_keys(
    session: SessionDep,
    principal: PrincipalDep,
    organization_id: OrganizationIdPath,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Page[ApiKeyRead]:
    return await service.list_api_keys(
        session, principal=principal, organization_id=organization_id, cursor=cursor, limit=limit
    )


@router.delete(
    "/{organization_id}/api-keys/{key_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Revoke an API key",
    description="Admins and owners: the key stops working at once (`401 invalid_api_key`). "
    "Revoking a revoked key answers 204 as well.",
    responses=problem_responses(*_MEMBER_ONLY, OrganizationNotFoundError, ApiKeyNotFoundError, 422),
)
async def revoke_api_key(
    session: SessionDep,
    principal: PrincipalDep,
    now: ClockDep,
    organization_id: OrganizationIdPath,
    key_id: ApiKeyIdPath,
) -> Response:
    await service.revoke_api_key(
        session, principal=principal, organization_id=organization_id, key_id=key_id, now=now
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
