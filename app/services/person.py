"""The caller's own account: profile, personal-data export and erasure."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import LastOwnerError, PersonNotFoundError
from app.models.person import Language
from app.repositories.auth import AuthRepository
from app.repositories.block import BlockRepository
from app.repositories.hold import HoldRepository
from app.repositories.library_member import LibraryMemberRepository
from app.repositories.listing import ListingRepository
from app.repositories.message import MessageRepository
from app.repositories.outbox import OutboxRepository
from app.repositories.person import PersonRepository
from app.repositories.photo import PhotoRepository
from app.repositories.report import ReportRepository
from app.repositories.review import ReviewRepository
from app.repositories.saved_search import SavedSearchRepository
from app.repositories.transaction import TransactionRepository
from app.schemas.person import (
    ApiKeyExport,
    ApiKeyMe,
    HandoverCounts,
    HomeKommune,
    MembershipRef,
    MeUpdate,
    PersonalDataExport,
    PersonMe,
    PersonProfile,
    ReviewCount,
    SessionExport,
)
from app.security import sha256_hex
from app.services.auth import ensure_kommune
from app.services.policy import Principal
from app.services.transaction import tell_cancelled_by_erasure


async def get_person_me(session: AsyncSession, *, person_id: uuid.UUID) -> PersonMe:
    repo = PersonRepository(session)
    person = await repo.get(person_id)
    if person is None or person.erased_at is not None or person.email is None:
        raise PersonNotFoundError()
    assert person.display_name is not None
    unread, threads = await MessageRepository(session).unread_total(person_id)
    labels = await repo.labels([person.id])
    return PersonMe(
        id=person.id,
        email=person.email,
        display_name=person.display_name,
        public_name=person.public_name,
        show_name=person.show_name,
        label=labels[person.id],
        home_kommune=person.home_kommune,
        language=Language(person.language),
        roles=sorted(person.roles),
        created_at=person.created_at,
        memberships=[MembershipRef(**m) for m in await repo.memberships(person_id)],
        unread_messages=unread,
        unread_conversations=threads,
        unread_notifications=await OutboxRepository(session).unread_count(person_id),
    )


async def get_me(session: AsyncSession, *, principal: Principal) -> PersonMe | ApiKeyMe:
    if principal.person_id is not None:
        return await get_person_me(session, person_id=principal.person_id)
    assert principal.organization_id is not None
    assert principal.api_key_id is not None
    org_name = await AuthRepository(session).organization_name(principal.organization_id)
    return ApiKeyMe(
        api_key_id=principal.api_key_id,
        organization_id=principal.organization_id,
        organization_name=org_name or "",
        scopes=sorted(principal.scopes),
    )


async def update_me(session: AsyncSession, *, person_id: uuid.UUID, changes: MeUpdate) -> PersonMe:
    values: dict[str, Any] = {}
    fields = changes.model_fields_set
    if "display_name" in fields and changes.display_name is not None:
        values["display_name"] = changes.display_name
    if "public_name" in fields:
        values["public_name"] = changes.public_name
    if "show_name" in fields and changes.show_name is not None:
        values["show_name"] = changes.show_name
    if "language" in fields and changes.language is not None:
        values["language"] = changes.language.value
    if "home_kommune" in fields:
        await ensure_kommune(session, changes.home_kommune)
        values["home_kommune"] = changes.home_kommune
    await PersonRepository(session).update(person_id, values)
    return await get_person_me(session, person_id=person_id)


async def export_personal_data(
    session: AsyncSession, *, person_id: uuid.UUID, now: datetime
) -> PersonalDataExport:
    repo = PersonRepository(session)
    profile = await get_person_me(session, person_id=person_id)
    person = await repo.get(person_id)
    assert person is not None
    return PersonalDataExport(
        exported_at=now,
        profile=profile,
        pseudonym=person.pseudonym,
        sessions=[SessionExport(**s) for s in await repo.sessions(person_id)],
        api_keys_created=[ApiKeyExport(**k) for k in await repo.api_keys_created(person_id)],
        listings=await ListingRepository(session).export_for_person(person_id),
        transactions=await TransactionRepository(session).export_for_person(person_id),
        reports=await ReportRepository(session).export_for_person(person_id),
        messages=await MessageRepository(session).export_for_person(person_id),
        blocks=await BlockRepository(session).export_for_person(person_id),
        reviews=await ReviewRepository(session).export_for_person(person_id),
        photos=await PhotoRepository(session).export_for_person(person_id),
        saved_searches=await SavedSearchRepository(session).export_for_person(person_id),
        holds=await HoldRepository(session).export_for_person(person_id),
        library_memberships=await LibraryMemberRepository(session).export_for_person(person_id),
    )


async def erase_me(session: AsyncSession, *, person_id: uuid.UUID, now: datetime) -> None:
    """Erase the person's personal data (GDPR art. 17). Idempotent.

    Removed: e-mail, name, password hash, memberships, refresh tokens, failed-login records;
    every login session is revoked. The person's open listings are withdrawn, and every
    listing of theirs loses its title, description and details and keeps only the blurred
    point. Their requested and accepted transactions are cancelled and every message they
    wrote in one is emptied, and so is every message of a conversation they wrote (the thread
    keeps its place, shown as by an erased person) and every note of the abuse reports they
    made; their notifications and blocks (both ways) are deleted; their reviews keep the
    rating and lose the text and the author, their answers to reviews lose the text; the
    photos of their listings are removed and their files deleted from storage by the worker's
    next pass (within a poll interval).
    Kept, for the evidence that refers to it: the row's id, its
    random pseudonym and the home kommune, of the listings their kind, category, quantity
    and kommune, and what happened in transactions (the ledger names only pseudonyms).
    Refused with 409 ``last_owner`` while the person is the only owner of an organization:
    ownership must be handed over first.
    """
    repo = PersonRepository(session)
    person = await repo.lock(person_id)
    if person is None or person.erased_at is not None:
        return
    solely_owned = await repo.organizations_solely_owned(person_id)
    if solely_owned:
        raise LastOwnerError(
            "You are the only owner of "
            + ", ".join(str(o) for o in solely_owned)
            + "; make someone else owner (or leave it to them) before erasing your account."
        )
    auth = AuthRepository(session)
    if person.email is not None:
        await auth.forget_account_failures(sha256_hex(person.email))
    await auth.revoke_all_sessions(person_id, now=now, reason="erasure")
    cancelled = await TransactionRepository(session).erase_for_person(person_id, now=now)
    await tell_cancelled_by_erasure(session, cancelled, person_id=person_id, now=now)
    await ListingRepository(session).erase_for_person(person_id, now=now)
    # Their listings' photos are removed; the worker deletes the files (app.services.photo).
    await PhotoRepository(session).remove_for_person(person_id, now=now)
    await ReportRepository(session).erase_for_person(person_id)
    await MessageRepository(session).erase_for_person(person_id, now=now)
    await OutboxRepository(session).erase_for_person(person_id)
    await BlockRepository(session).erase_for_person(person_id)
    await ReviewRepository(session).erase_for_person(person_id)
    await SavedSearchRepository(session).erase_for_person(person_id)
    # A unit kept for them is free again; the clock's next tick passes it down the queue.
    await HoldRepository(session).erase_for_person(person_id)
    await LibraryMemberRepository(session).erase_for_person(person_id)
    await repo.erase(person_id, now=now)


async def get_profile(session: AsyncSession, *, person_id: uuid.UUID) -> PersonProfile:
    """What anyone may see of a person (404 for an unknown or erased one)."""
    row = await PersonRepository(session).profile(person_id)
    if row is None:
        raise PersonNotFoundError(f"No person has the id {person_id}.")
    count, average = await ReviewRepository(session).summary(person_id)
    kommune = (
        HomeKommune(number=row["home_kommune"], name=row["kommune_name"])
        if row["home_kommune"]
        else None
    )
    return PersonProfile(
        id=row["id"],
        label=row["label"],
        name=row["name"],
        member_since=row["member_since"],
        kommune=kommune,
        handovers=HandoverCounts(as_provider=row["as_provider"], as_receiver=row["as_receiver"]),
        reviews=ReviewCount(count=count, average=average),
    )
