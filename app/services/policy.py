"""The one authorization layer: who is asking (``Principal``) and what each action requires.

Every route resolves the caller once (``app.api.deps``); every service that reads or writes an
object checks the caller's relationship to it here, through one declarative table per kind of
object, before touching it. Later resources add their actions to ``ORG_RULES`` (or a table of
their own) rather than writing ad-hoc checks.

Persons act for themselves and, through memberships, for organizations (``member`` < ``admin``
< ``owner``). API keys act for exactly one organization, within their scopes, and never for
actions that manage people or keys. Platform roles (``moderator``, ``analyst``) are granted
only on the command line.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import (
    InsufficientRoleError,
    InsufficientScopeError,
    NotAMemberError,
    OrganizationNotFoundError,
    PersonRequiredError,
    RoleRequiredError,
    WrongOrganizationError,
)
from app.models.organization import ApiKeyScope, MemberRole
from app.models.person import PlatformRole
from app.repositories.organization import OrganizationRepository


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller: a person (bearer token) or an organization (API key)."""

    person_id: uuid.UUID | None = None
    session_id: uuid.UUID | None = None
    roles: frozenset[str] = field(default_factory=frozenset)
    api_key_id: uuid.UUID | None = None
    organization_id: uuid.UUID | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_person(self) -> bool:
        return self.person_id is not None

    @property
    def is_api_key(self) -> bool:
        return self.api_key_id is not None

    def has_role(self, role: PlatformRole) -> bool:
        return role.value in self.roles


class OrgAction(StrEnum):
    VIEW_MEMBERS = "view_members"
    LEAVE = "leave"
    MANAGE_MEMBERS = "manage_members"
    UPDATE = "update"
    VIEW_API_KEYS = "view_api_keys"
    MANAGE_API_KEYS = "manage_api_keys"
    WRITE_LISTINGS = "write_listings"
    WRITE_TRANSACTIONS = "write_transactions"
    READ_IMPACT = "read_impact"
    MANAGE_INITIATIVES = "manage_initiatives"
    MANAGE_WEBHOOKS = "manage_webhooks"


@dataclass(frozen=True, slots=True)
class Rule:
    """What an action on an organization requires: a person's minimum role, and the scope an
    API key needs (``None``: API keys may not do this at all)."""

    min_role: MemberRole
    scope: ApiKeyScope | None


ORG_RULES: dict[OrgAction, Rule] = {
    OrgAction.VIEW_MEMBERS: Rule(MemberRole.MEMBER, None),
    OrgAction.LEAVE: Rule(MemberRole.MEMBER, None),
    OrgAction.MANAGE_MEMBERS: Rule(MemberRole.ADMIN, None),
    OrgAction.UPDATE: Rule(MemberRole.ADMIN, ApiKeyScope.ORGANIZATION_WRITE),
    OrgAction.VIEW_API_KEYS: Rule(MemberRole.ADMIN, None),
    OrgAction.MANAGE_API_KEYS: Rule(MemberRole.ADMIN, None),
    OrgAction.WRITE_LISTINGS: Rule(MemberRole.MEMBER, ApiKeyScope.LISTINGS_WRITE),
    OrgAction.WRITE_TRANSACTIONS: Rule(MemberRole.MEMBER, ApiKeyScope.TRANSACTIONS_WRITE),
    OrgAction.READ_IMPACT: Rule(MemberRole.MEMBER, ApiKeyScope.IMPACT_READ),
    # Starting an initiative, changing it and choosing its partners commit the organization
    # in public, like its profile: admins and owners, or keys with organization:write.
    # Tagging listings, transactions and events with it follows their own write rules.
    OrgAction.MANAGE_INITIATIVES: Rule(MemberRole.ADMIN, ApiKeyScope.ORGANIZATION_WRITE),
    # Where the organization's events go, signed with a secret: admins, or its own systems.
    OrgAction.MANAGE_WEBHOOKS: Rule(MemberRole.ADMIN, ApiKeyScope.ORGANIZATION_WRITE),
}


@dataclass(frozen=True, slots=True)
class OrgAccess:
    """The outcome of a successful check: the caller's role (persons) or ``None`` (keys)."""

    organization_id: uuid.UUID
    role: MemberRole | None


def require_person(principal: Principal) -> uuid.UUID:
    if principal.person_id is None:
        raise PersonRequiredError("This needs a signed-in person, not an API key.")
    return principal.person_id


def require_platform_role(principal: Principal, role: PlatformRole) -> uuid.UUID:
    person_id = require_person(principal)
    if not principal.has_role(role):
        raise RoleRequiredError(f"Only a {role.value} can do this.")
    return person_id


async def authorize_org(
    session: AsyncSession, principal: Principal, organization_id: uuid.UUID, action: OrgAction
) -> OrgAccess:
    """Check that the caller may do ``action`` on the organization, or raise 403.

    The organization's existence is checked by the caller's service first (404).
    """
    rule = ORG_RULES[action]
    if principal.is_api_key:
        if rule.scope is None:
            raise PersonRequiredError("API keys cannot do this; sign in as a person.")
        if principal.organization_id != organization_id:
            raise WrongOrganizationError("This API key acts for another organization.")
        if rule.scope.value not in principal.scopes:
            raise InsufficientScopeError(f"This needs an API key with the scope {rule.scope}.")
        return OrgAccess(organization_id=organization_id, role=None)
    person_id = require_person(principal)
    role = await OrganizationRepository(session).member_role(organization_id, person_id)
    if role is None:
        raise NotAMemberError("You are not a member of this organization.")
    if role.rank < rule.min_role.rank:
        raise InsufficientRoleError(f"This needs the role {rule.min_role} or higher.")
    return OrgAccess(organization_id=organization_id, role=role)


async def acting_as(
    session: AsyncSession,
    principal: Principal,
    organization_id: uuid.UUID | None,
    action: OrgAction,
) -> tuple[uuid.UUID | None, uuid.UUID | None]:
    """In whose name the caller acts: ``(person, None)`` for a person on their own, or
    ``(None, organization)`` when they name an organization they may do ``action`` for (an API
    key always acts for its own). An unknown organization is 404, a refusal 403."""
    if organization_id is None and principal.is_api_key:
        organization_id = principal.organization_id
    if organization_id is None:
        return principal.person_id, None
    if await OrganizationRepository(session).get(organization_id) is None:
        raise OrganizationNotFoundError(f"No organization has the id {organization_id}.")
    await authorize_org(session, principal, organization_id, action)
    return None, organization_id
