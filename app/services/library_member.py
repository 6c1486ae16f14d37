"""Library members (issue #19; ``app.models.library_member``): a person joins a library of
things by accepting its terms, for ``MEMBERSHIP_DAYS``; its staff list members, change how long
a membership is valid, or end it; a member may leave. A listing whose booking rules say
``members_only`` lends and queues only for members valid through the loan (checked here for a
clear answer, and by the trigger ``transactions_members_only`` whatever writes a booking)."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import (
    AlreadyLibraryMemberError,
    LibraryMemberNotFoundError,
    MembersOnlyError,
    NotALibraryError,
    OrganizationNotFoundError,
    PersonRequiredError,
)
from app.models import LibraryMember, Listing
from app.models.organization import OrganizationKind
from app.pagination import decode_time_id_cursor, encode_cursor
from app.repositories.library_member import LibraryMemberRepository
from app.repositories.organization import OrganizationRepository
from app.repositories.person import PersonRepository
from app.schemas.library_member import LibraryMemberPage, LibraryMemberRead
from app.services.impact.periods import NORWAY
from app.services.policy import OrgAction, Principal, authorize_org

# A new membership, or one renewed by joining again after it ran out, lasts this long.
MEMBERSHIP_DAYS = 365


def _today(now: datetime) -> date:
    return now.astimezone(NORWAY).date()


async def _library(session: AsyncSession, organization_id: uuid.UUID) -> None:
    org = await OrganizationRepository(session).get(organization_id)
    if org is None:
        raise OrganizationNotFoundError(f"No organization has the id {organization_id}.")
    if org.kind != OrganizationKind.LIBRARY_OF_THINGS:
        raise NotALibraryError("Only a library of things has members.")


async def _read(session: AsyncSession, member: LibraryMember, now: datetime) -> LibraryMemberRead:
    labels = await PersonRepository(session).labels([member.person_id])
    return LibraryMemberRead(
        organization_id=member.organization_id,
        person_id=member.person_id,
        label=labels.get(member.person_id),
        terms_accepted_at=member.terms_accepted_at,
        valid_until=member.valid_until,
        valid=member.valid_until >= _today(now),
    )


def _person(principal: Principal) -> uuid.UUID:
    if principal.person_id is None or principal.is_api_key:
        raise PersonRequiredError("Membership is a person's; sign in.")
    return principal.person_id


async def join(
    session: AsyncSession,
    *,
    principal: Principal,
    organization_id: uuid.UUID,
    accepted_terms: bool,
    now: datetime,
) -> LibraryMemberRead:
    """Accept the library's terms: a membership for ``MEMBERSHIP_DAYS`` (renewing one that
    ran out); ``409 already_library_member`` while one is valid."""
    if not accepted_terms:  # the request model takes only true
        raise ValueError("joining a library needs its terms accepted")
    person_id = _person(principal)
    await _library(session, organization_id)
    until = _today(now) + timedelta(days=MEMBERSHIP_DAYS)
    repo = LibraryMemberRepository(session)
    member = await repo.get(organization_id, person_id, for_update=True)
    if member is not None and member.valid_until >= _today(now):
        raise AlreadyLibraryMemberError(
            f"Your membership is valid until {member.valid_until.isoformat()}."
        )
    if member is None:
        member = await repo.add(
            LibraryMember(
                organization_id=organization_id,
                person_id=person_id,
                terms_accepted_at=now,
                valid_until=until,
                created_at=now,
            )
        )
    else:
        member.terms_accepted_at = now
        member.valid_until = until
        await repo.flush()
    return await _read(session, member, now)


async def mine(
    session: AsyncSession, *, principal: Principal, organization_id: uuid.UUID, now: datetime
) -> LibraryMemberRead:
    person_id = _person(principal)
    member = await LibraryMemberRepository(session).get(organization_id, person_id)
    if member is None:
        raise LibraryMemberNotFoundError("You are not a member of this library.")
    return await _read(session, member, now)


async def list_members(
    session: AsyncSession,
    *,
    principal: Principal,
    organization_id: uuid.UUID,
    cursor: str | None,
    limit: int,
    now: datetime,
) -> LibraryMemberPage:
    await _library(session, organization_id)
    await authorize_org(session, principal, organization_id, OrgAction.WRITE_TRANSACTIONS)
    after = decode_time_id_cursor(cursor, time="c", id="p") if cursor else None
    rows = await LibraryMemberRepository(session).page(
        organization_id, after=after, limit=limit + 1
    )
    items = [await _read(session, m, now) for m in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = encode_cursor({"c": last.created_at.isoformat(), "p": str(last.person_id)})
    return LibraryMemberPage(items=items, next_cursor=next_cursor)


async def set_valid_until(
    session: AsyncSession,
    *,
    principal: Principal,
    organization_id: uuid.UUID,
    person_id: uuid.UUID,
    valid_until: date,
    now: datetime,
) -> LibraryMemberRead:
    await _library(session, organization_id)
    await authorize_org(session, principal, organization_id, OrgAction.WRITE_TRANSACTIONS)
    repo = LibraryMemberRepository(session)
    member = await repo.get(organization_id, person_id, for_update=True)
    if member is None:
        raise LibraryMemberNotFoundError(f"{person_id} is not a member of this library.")
    member.valid_until = valid_until
    await repo.flush()
    return await _read(session, member, now)


async def end(
    session: AsyncSession,
    *,
    principal: Principal,
    organization_id: uuid.UUID,
    person_id: uuid.UUID,
) -> None:
    """The member leaves, or the library's staff end the membership."""
    await _library(session, organization_id)
    if principal.person_id != person_id or principal.is_api_key:
        await authorize_org(session, principal, organization_id, OrgAction.WRITE_TRANSACTIONS)
    if not await LibraryMemberRepository(session).delete(organization_id, person_id):
        raise LibraryMemberNotFoundError(f"{person_id} is not a member of this library.")


async def require_member(
    session: AsyncSession,
    listing: Listing,
    *,
    members_only: bool,
    person_id: uuid.UUID | None,
    through: datetime,
) -> None:
    """``members_only`` listings of an organization lend only to its members valid through
    ``through`` (a loan's end, or now for a hold)."""
    if not members_only or listing.owner_organization_id is None:
        return
    member = (
        await LibraryMemberRepository(session).get(listing.owner_organization_id, person_id)
        if person_id is not None
        else None
    )
    if member is None or member.valid_until < _today(through):
        raise MembersOnlyError(
            "Only the library's members, with a membership valid through the loan, may book "
            "this listing; join it with POST /v1/organizations/{id}/memberships."
        )
