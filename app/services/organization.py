"""Organizations: the public directory, registration and verification, membership and API
keys.

Every change to an organization or its memberships first locks the organization's row, so
that concurrent changes are serialised and the rules below (only owners touch owners, an
organization keeps an owner) are checked against the state they change. The database keeps
the same invariants (constraints and the ``memberships_keep_an_owner`` trigger); the
repository translates their violations, so a lost race is a 409, never a 500.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import (
    ApiKeyNotFoundError,
    ConflictError,
    InsufficientRoleError,
    InvalidInputError,
    LastOwnerError,
    MemberNotFoundError,
    OrganizationNotFoundError,
    PersonNotFoundError,
)
from app.models import ApiKey, Organization
from app.models.organization import MemberRole, OrganizationKind
from app.models.person import PlatformRole
from app.pagination import decode_cursor, decode_time_id_cursor, invalid_cursor, next_cursor
from app.repositories.organization import (
    ROLE_ORDER,
    MemberRow,
    OrganizationRepository,
)
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
)
from app.security import new_api_key, sha256_hex
from app.services import geography
from app.services.policy import (
    OrgAction,
    Principal,
    authorize_org,
    require_person,
    require_platform_role,
)

# --- helpers ---------------------------------------------------------------------------


def _organization_read(org: Organization) -> OrganizationRead:
    return OrganizationRead.model_validate(
        {
            "id": org.id,
            "name": org.name,
            "kind": org.kind,
            "sector": org.sector,
            "organisasjonsnummer": org.organisasjonsnummer,
            "kommunenummer": org.kommunenummer,
            "description": org.description,
            "contact_email": org.contact_email,
            "contact_phone": org.contact_phone,
            "website": org.website,
            "verified": org.verified_at is not None,
            "verified_at": org.verified_at,
            "waste_permit": (
                {
                    "reference": org.waste_permit_reference,
                    "verified_at": org.waste_permit_verified_at,
                }
                if org.waste_permit_verified_at is not None
                else None
            ),
            "created_at": org.created_at,
        }
    )


def _member_read(row: MemberRow) -> MemberRead:
    return MemberRead(
        person_id=row.person_id,
        display_name=row.display_name,
        role=row.role,
        joined_at=row.joined_at,
    )


def _api_key_read(key: ApiKey) -> ApiKeyRead:
    return ApiKeyRead.model_validate(key)


def _municipality_needs_kommune() -> InvalidInputError:
    return InvalidInputError.for_field(
        "A municipality organization needs its kommunenummer.",
        field="kommunenummer",
        message="Required for a municipality",
        type="missing",
    )


async def _get_or_404(
    repo: OrganizationRepository, organization_id: uuid.UUID, *, for_update: bool = False
) -> Organization:
    org = await repo.get(organization_id, for_update=for_update)
    if org is None:
        raise OrganizationNotFoundError(f"No organization has the id {organization_id}.")
    return org


# --- organizations ---------------------------------------------------------------------


async def create_organization(
    session: AsyncSession, *, principal: Principal, data: OrganizationCreate
) -> OrganizationRead:
    """Register an organization; the person registering it becomes its owner."""
    person_id = require_person(principal)
    if data.kind == OrganizationKind.MUNICIPALITY and data.kommunenummer is None:
        raise _municipality_needs_kommune()
    values = data.model_dump(mode="json")
    org = await OrganizationRepository(session).create(values=values, owner_id=person_id)
    return _organization_read(org)


async def list_organizations(
    session: AsyncSession,
    *,
    kind: OrganizationKind | None,
    kommunenummer: str | None,
    q: str | None,
    cursor: str | None,
    limit: int,
) -> Page[OrganizationRead]:
    """The public directory, by name. It holds nothing about the people behind it."""
    after: tuple[str, uuid.UUID] | None = None
    if cursor is not None:
        key = decode_cursor(cursor, required=("n", "i"))
        try:
            if not isinstance(key["n"], str):
                raise TypeError("name")
            after = (key["n"], uuid.UUID(str(key["i"])))
        except (TypeError, ValueError):
            raise invalid_cursor() from None
    repo = OrganizationRepository(session)
    await geography.check_kommune_filter(session, kommunenummer)
    rows = await repo.search(
        kind=kind.value if kind is not None else None,
        kommunenummer=kommunenummer,
        name_contains=q,
        after=after,
        limit=limit + 1,
    )
    items = [_organization_read(org) for org in rows[:limit]]
    return Page[OrganizationRead](
        items=items, next_cursor=next_cursor(rows, limit, lambda o: {"n": o.name, "i": str(o.id)})
    )


async def get_organization(
    session: AsyncSession, *, organization_id: uuid.UUID
) -> OrganizationRead:
    return _organization_read(await _get_or_404(OrganizationRepository(session), organization_id))


async def update_organization(
    session: AsyncSession,
    *,
    principal: Principal,
    organization_id: uuid.UUID,
    data: OrganizationUpdate,
    now: datetime,
) -> OrganizationRead:
    """Change the fields sent. The kind never changes, and a verified municipality stays
    bound to its kommune (its verification is for that kommune)."""
    repo = OrganizationRepository(session)
    org = await _get_or_404(repo, organization_id, for_update=True)
    await authorize_org(session, principal, organization_id, OrgAction.UPDATE)
    values: dict[str, Any] = data.model_dump(mode="json", exclude_unset=True)
    if not values:
        return _organization_read(org)
    moves = "kommunenummer" in values and values["kommunenummer"] != org.kommunenummer
    if moves and org.kind == OrganizationKind.MUNICIPALITY.value:
        if values["kommunenummer"] is None:
            raise _municipality_needs_kommune()
        if org.verified_at is not None:
            raise ConflictError(
                f"This municipality is verified for kommune {org.kommunenummer}; its "
                "kommune cannot change. Register a new organization for the new kommune."
            )
    values["updated_at"] = now
    return _organization_read(await repo.update(organization_id, values=values))


async def verify_organization(
    session: AsyncSession, *, principal: Principal, organization_id: uuid.UUID, now: datetime
) -> OrganizationRead:
    """Mark the organization as checked by a moderator. Verifying again changes nothing."""
    moderator_id = require_platform_role(principal, PlatformRole.MODERATOR)
    repo = OrganizationRepository(session)
    org = await _get_or_404(repo, organization_id, for_update=True)
    if org.verified_at is not None:
        return _organization_read(org)
    org = await repo.verify(
        organization_id, moderator_id=moderator_id, kommunenummer=org.kommunenummer, now=now
    )
    return _organization_read(org)


async def record_waste_permit(
    session: AsyncSession,
    *,
    principal: Principal,
    organization_id: uuid.UUID,
    reference: str | None,
    now: datetime,
) -> OrganizationRead:
    """Record (or, with ``reference=None``, withdraw) the organization's permit to receive
    hazardous waste. Moderators only; matching reads it (``app.services.matching``)."""
    moderator_id = require_platform_role(principal, PlatformRole.MODERATOR)
    repo = OrganizationRepository(session)
    await _get_or_404(repo, organization_id, for_update=True)
    org = await repo.update(
        organization_id,
        values={
            "waste_permit_reference": reference.strip() if reference is not None else None,
            "waste_permit_verified_at": now if reference is not None else None,
            "waste_permit_verified_by": moderator_id if reference is not None else None,
            "updated_at": now,
        },
    )
    return _organization_read(org)


# --- members ---------------------------------------------------------------------------


async def list_members(
    session: AsyncSession,
    *,
    principal: Principal,
    organization_id: uuid.UUID,
    cursor: str | None,
    limit: int,
) -> Page[MemberRead]:
    """Owners first, then admins, then members, each by when they joined."""
    after: tuple[int, datetime, uuid.UUID] | None = None
    if cursor is not None:
        key = decode_cursor(cursor, required=("r", "t", "i"))
        try:
            if not isinstance(key["r"], int):
                raise TypeError("rank")
            after = (key["r"], datetime.fromisoformat(str(key["t"])), uuid.UUID(str(key["i"])))
        except (TypeError, ValueError):
            raise invalid_cursor() from None
    repo = OrganizationRepository(session)
    await _get_or_404(repo, organization_id)
    await authorize_org(session, principal, organization_id, OrgAction.VIEW_MEMBERS)
    rows = await repo.list_members(organization_id, after=after, limit=limit + 1)
    items = [_member_read(r) for r in rows[:limit]]
    return Page[MemberRead](
        items=items,
        next_cursor=next_cursor(
            rows,
            limit,
            lambda m: {
                "r": ROLE_ORDER[m.role],
                "t": m.joined_at.isoformat(),
                "i": str(m.person_id),
            },
        ),
    )


async def add_member(
    session: AsyncSession, *, principal: Principal, organization_id: uuid.UUID, data: MemberCreate
) -> MemberRead:
    """Add a registered person by e-mail. Admins add members and admins; only an owner adds
    an owner."""
    repo = OrganizationRepository(session)
    await _get_or_404(repo, organization_id, for_update=True)
    access = await authorize_org(session, principal, organization_id, OrgAction.MANAGE_MEMBERS)
    if data.role == MemberRole.OWNER and access.role != MemberRole.OWNER:
        raise InsufficientRoleError("Only an owner can add an owner.")
    person_id = await repo.active_person_id_by_email(data.email)
    if person_id is None:
        raise PersonNotFoundError("No registered person has that e-mail address.")
    await repo.add_member(organization_id, person_id=person_id, role=data.role)
    return _member_read(await _member_or_404(repo, organization_id, person_id))


async def change_member_role(
    session: AsyncSession,
    *,
    principal: Principal,
    organization_id: uuid.UUID,
    person_id: uuid.UUID,
    data: MemberUpdate,
) -> MemberRead:
    """Admins change members and admins; only owners grant or take away ownership, and the
    last owner keeps it."""
    repo = OrganizationRepository(session)
    await _get_or_404(repo, organization_id, for_update=True)
    access = await authorize_org(session, principal, organization_id, OrgAction.MANAGE_MEMBERS)
    target = await _member_or_404(repo, organization_id, person_id)
    touches_owner = MemberRole.OWNER in (target.role, data.role)
    if touches_owner and access.role != MemberRole.OWNER:
        raise InsufficientRoleError("Only an owner can grant or take away the owner role.")
    if target.role == data.role:
        return _member_read(target)
    if target.role == MemberRole.OWNER and await repo.owner_count(organization_id) <= 1:
        raise LastOwnerError(
            "This is the organization's only owner; make someone else an owner first."
        )
    await repo.set_member_role(organization_id, person_id=person_id, role=data.role)
    return _member_read(await _member_or_404(repo, organization_id, person_id))


async def remove_member(
    session: AsyncSession, *, principal: Principal, organization_id: uuid.UUID, person_id: uuid.UUID
) -> None:
    """Anyone may leave; admins remove members and admins; only owners remove owners; the
    last owner can neither leave nor be removed."""
    repo = OrganizationRepository(session)
    await _get_or_404(repo, organization_id, for_update=True)
    if principal.person_id is not None and principal.person_id == person_id:
        await authorize_org(session, principal, organization_id, OrgAction.LEAVE)
        target = await _member_or_404(repo, organization_id, person_id)
    else:
        access = await authorize_org(session, principal, organization_id, OrgAction.MANAGE_MEMBERS)
        target = await _member_or_404(repo, organization_id, person_id)
        if target.role == MemberRole.OWNER and access.role != MemberRole.OWNER:
            raise InsufficientRoleError("Only an owner can remove an owner.")
    if target.role == MemberRole.OWNER and await repo.owner_count(organization_id) <= 1:
        raise LastOwnerError(
            "This is the organization's only owner; make someone else an owner first."
        )
    await repo.remove_member(organization_id, person_id=person_id)


async def _member_or_404(
    repo: OrganizationRepository, organization_id: uuid.UUID, person_id: uuid.UUID
) -> MemberRow:
    member = await repo.get_member(organization_id, person_id)
    if member is None:
        raise MemberNotFoundError(f"Person {person_id} is not a member of this organization.")
    return member


# --- API keys --------------------------------------------------------------------------


async def create_api_key(
    session: AsyncSession, *, principal: Principal, organization_id: uuid.UUID, data: ApiKeyCreate
) -> ApiKeyCreated:
    """A new key for the organization. The key itself is returned this once; only its
    SHA-256 is stored."""
    repo = OrganizationRepository(session)
    await _get_or_404(repo, organization_id)
    await authorize_org(session, principal, organization_id, OrgAction.MANAGE_API_KEYS)
    person_id = require_person(principal)
    key, prefix = new_api_key()
    row = await repo.create_api_key(
        organization_id,
        name=data.name,
        prefix=prefix,
        key_hash=sha256_hex(key),
        scopes=[s.value for s in data.scopes],
        created_by=person_id,
    )
    return ApiKeyCreated(
        id=row.id,
        name=row.name,
        prefix=row.prefix,
        scopes=data.scopes,
        created_at=row.created_at,
        key=key,
    )


async def list_api_keys(
    session: AsyncSession,
    *,
    principal: Principal,
    organization_id: uuid.UUID,
    cursor: str | None,
    limit: int,
) -> Page[ApiKeyRead]:
    after: tuple[datetime, uuid.UUID] | None = None
    if cursor is not None:
        after = decode_time_id_cursor(cursor, time="t", id="i")
    repo = OrganizationRepository(session)
    await _get_or_404(repo, organization_id)
    await authorize_org(session, principal, organization_id, OrgAction.VIEW_API_KEYS)
    rows = await repo.list_api_keys(organization_id, after=after, limit=limit + 1)
    items = [_api_key_read(k) for k in rows[:limit]]
    return Page[ApiKeyRead](
        items=items,
        next_cursor=next_cursor(
            rows, limit, lambda k: {"t": k.created_at.isoformat(), "i": str(k.id)}
        ),
    )


async def revoke_api_key(
    session: AsyncSession,
    *,
    principal: Principal,
    organization_id: uuid.UUID,
    key_id: uuid.UUID,
    now: datetime,
) -> None:
    """Revoke a key at once: it stops authenticating on the next request. Revoking a
    revoked key changes nothing."""
    repo = OrganizationRepository(session)
    await _get_or_404(repo, organization_id)
    await authorize_org(session, principal, organization_id, OrgAction.MANAGE_API_KEYS)
    if not await repo.revoke_api_key(organization_id, key_id=key_id, now=now):
        raise ApiKeyNotFoundError(f"This organization has no API key with the id {key_id}.")
