"""Initiatives: pilots, experiments, reuse stations and repair-café series, run by one owner
organization with partner organizations in a set of kommuner over a period; and the listings,
transactions and repair events tagged with them, so that impact can be reported per
initiative.

**Who.** Initiatives are public: anyone reads and finds them. Starting one, changing it and
choosing its partners is ``OrgAction.MANAGE_INITIATIVES`` on the owner: admins and owners of
the organization, or its API keys with ``organization:write`` (like changing its profile,
it commits the organization in public; plain members may not). Adding a partner needs
nothing from the partner; a partner leaves on its own with the same action on itself. The
owner is never its own partner: the database refuses it (``initiative_partners_not_owner``,
``422 owner_cannot_be_partner``).

**Tagging.** Something is tagged by whoever may write it for an organization taking part
(the owner or a partner):

* a listing of such an organization, by those who write its listings
  (``OrgAction.WRITE_LISTINGS``); a listing the caller may not see is a 404, as everywhere;
* a transaction in which such an organization is the provider or the receiver, by those who
  act for it in transactions (``OrgAction.WRITE_TRANSACTIONS``); someone who is not a party
  does not see the transaction (404);
* a repair event organised by such an organization, by those who write its events
  (``OrgAction.WRITE_LISTINGS``).

Each carries at most one initiative: tagging something already tagged with another is ``409
tagged_with_another_initiative`` (take it out of that one first); tagging it again with the
same one changes nothing. Taking something out (``DELETE``) needs the same right on the
organization that owns or took part in it, but not that the organization still takes part, so
a former partner can still take its own things out; something not tagged with the initiative
is left as it is. Removing a partner leaves what it tagged in place.

**Evidence is never edited.** A transaction created on a tagged listing carries the listing's
initiative, and its evidence the transaction's; a repair logged at a tagged event carries the
event's. When a transaction, or a repair at an event, already has a record that counts, the
ledger moves it: a ``retagged`` record takes the counted one back (-1, under the old
initiative) and another counts it again under the new one (+1), both at the time of the
change. The rollups follow by themselves (``evidence_rollup``). The ledger is written last: its
lock is held until commit. A disputed transaction keeps its initiative until a moderator
decides (``409 transaction_disputed``), because upholding it counts it again as it was.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import (
    FieldError,
    ForbiddenError,
    InitiativeNotFoundError,
    InsufficientRoleError,
    InsufficientScopeError,
    InvalidInputError,
    ListingNotFoundError,
    NotInInitiativeError,
    OrganizationNotFoundError,
    OtherInitiativeError,
    RepairEventNotFoundError,
    TransactionDisputedError,
    TransactionNotFoundError,
    UnknownKommuneError,
)
from app.models import Initiative, Transaction
from app.models.evidence import EvidenceEvent
from app.models.initiative import InitiativeKind
from app.models.organization import Sector
from app.models.person import PlatformRole
from app.models.transaction import TransactionStatus
from app.pagination import decode_cursor, invalid_cursor, next_cursor
from app.repositories.evidence import EvidenceRepository
from app.repositories.initiative import InitiativeFilters, InitiativeRepository
from app.repositories.organization import OrganizationRepository
from app.schemas.initiative import (
    InitiativeCounts,
    InitiativeCreate,
    InitiativePage,
    InitiativeRead,
    InitiativeUpdate,
    KommuneRef,
    OrganizationRef,
    PartnerRead,
    TagRead,
    check_period,
)
from app.services import evidence as evidence_service
from app.services import geography
from app.services.listing import visible_listing
from app.services.policy import OrgAction, Principal, acting_as, authorize_org
from app.services.repair import local_date

# --- reading --------------------------------------------------------------------------------


async def _initiative(
    session: AsyncSession, initiative_id: uuid.UUID, *, for_update: bool = False
) -> Initiative:
    initiative = await InitiativeRepository(session).get(initiative_id, for_update=for_update)
    if initiative is None:
        raise InitiativeNotFoundError(f"No initiative has the id {initiative_id}.")
    return initiative


async def _render_many(
    session: AsyncSession, initiatives: Sequence[Initiative]
) -> list[InitiativeRead]:
    """The initiatives as read, with four statements for the whole page."""
    if not initiatives:
        return []
    repo = InitiativeRepository(session)
    ids = [i.id for i in initiatives]
    owners = await repo.organizations(i.owner_organization_id for i in initiatives)
    partners = await repo.partners_of(ids)
    kommuner = await repo.kommuner_of(ids)
    counts = await repo.counts_of(ids)
    out = []
    for i in initiatives:
        owner = owners[i.owner_organization_id]
        tally = counts[i.id]
        out.append(
            InitiativeRead(
                id=i.id,
                name=i.name,
                kind=InitiativeKind(i.kind),
                description=i.description,
                owner=OrganizationRef(id=owner.id, name=owner.name, sector=Sector(owner.sector)),
                partners=[
                    PartnerRead(
                        id=p.id,
                        name=p.name,
                        sector=Sector(p.sector),
                        added_at=p.added_at,
                    )
                    for p in partners[i.id]
                ],
                kommuner=[
                    KommuneRef(kommunenummer=k.kommunenummer, name=k.name) for k in kommuner[i.id]
                ],
                starts_on=i.starts_on,
                ends_on=i.ends_on,
                counts=InitiativeCounts(
                    listings=tally.listings,
                    transactions=tally.transactions,
                    repair_events=tally.repair_events,
                ),
                created_at=i.created_at,
                updated_at=i.updated_at,
            )
        )
    return out


async def _render(session: AsyncSession, initiative: Initiative) -> InitiativeRead:
    return (await _render_many(session, [initiative]))[0]


async def get_initiative(session: AsyncSession, *, initiative_id: uuid.UUID) -> InitiativeRead:
    return await _render(session, await _initiative(session, initiative_id))


def _after(cursor: str) -> tuple[date, uuid.UUID]:
    key = decode_cursor(cursor, required=("s", "id"))
    try:
        return date.fromisoformat(str(key["s"])), uuid.UUID(str(key["id"]))
    except (ValueError, TypeError):
        raise invalid_cursor() from None


async def list_initiatives(
    session: AsyncSession,
    *,
    kommunenummer: str | None,
    organization_id: uuid.UUID | None,
    kind: str | None,
    active_on: date | None,
    cursor: str | None,
    limit: int,
) -> InitiativePage:
    after = _after(cursor) if cursor is not None else None
    await geography.check_kommune_filter(session, kommunenummer)
    rows = await InitiativeRepository(session).find(
        InitiativeFilters(
            kommunenummer=kommunenummer,
            organization_id=organization_id,
            kind=kind,
            active_on=active_on,
        ),
        after=after,
        limit=limit + 1,
    )
    items = await _render_many(session, rows[:limit])
    return InitiativePage(
        items=items,
        next_cursor=next_cursor(
            rows, limit, lambda i: {"s": i.starts_on.isoformat(), "id": str(i.id)}
        ),
    )


# --- writing the initiative -----------------------------------------------------------------


async def _check_kommuner(session: AsyncSession, numbers: Sequence[str]) -> None:
    unknown = await InitiativeRepository(session).unknown_kommuner(numbers)
    if unknown:
        raise UnknownKommuneError(
            "No kommune has the number "
            + ", ".join(sorted(unknown))
            + ". See /v1/kommuner for the kommuner of 2024.",
            errors=[
                FieldError(
                    location="body",
                    field=f"kommuner.{index}",
                    message="Unknown kommune",
                    type="unknown_kommune",
                )
                for index, number in enumerate(numbers)
                if number in unknown
            ],
        )


async def create_initiative(
    session: AsyncSession, *, principal: Principal, data: InitiativeCreate, now: datetime
) -> InitiativeRead:
    _, owner_id = await acting_as(
        session, principal, data.organization_id, OrgAction.MANAGE_INITIATIVES
    )
    assert owner_id is not None
    await _check_kommuner(session, data.kommuner)
    repo = InitiativeRepository(session)
    initiative = Initiative(
        id=uuid.uuid4(),
        name=data.name,
        kind=data.kind.value,
        description=data.description,
        owner_organization_id=owner_id,
        starts_on=data.starts_on,
        ends_on=data.ends_on,
        created_at=now,
        updated_at=now,
    )
    await repo.add(initiative)
    await repo.set_kommuner(initiative.id, data.kommuner)
    return await _render(session, initiative)


_REQUIRED = ("name", "kind", "starts_on", "kommuner")


async def update_initiative(
    session: AsyncSession,
    *,
    principal: Principal,
    initiative_id: uuid.UUID,
    changes: InitiativeUpdate,
    now: datetime,
) -> InitiativeRead:
    repo = InitiativeRepository(session)
    initiative = await _initiative(session, initiative_id, for_update=True)
    await authorize_org(
        session, principal, initiative.owner_organization_id, OrgAction.MANAGE_INITIATIVES
    )
    patch = changes.model_dump(exclude_unset=True)
    for name in _REQUIRED:
        if name in patch and patch[name] is None:
            hint = " (send [] for none)" if name == "kommuner" else ""
            raise InvalidInputError.for_field(
                f"{name} cannot be null{hint}.", field=name, message="Cannot be cleared"
            )
    starts_on = changes.starts_on or initiative.starts_on
    ends_on = changes.ends_on if "ends_on" in patch else initiative.ends_on
    try:
        check_period(starts_on, ends_on)
    except ValueError as exc:
        raise InvalidInputError.for_field(
            f"The initiative would end on {ends_on}, before it starts on {starts_on}.",
            field="ends_on" if "ends_on" in patch else "starts_on",
            message=str(exc),
        ) from None
    if changes.kommuner is not None:
        await _check_kommuner(session, changes.kommuner)
        await repo.set_kommuner(initiative.id, changes.kommuner)
    if changes.name is not None:
        initiative.name = changes.name
    if changes.kind is not None:
        initiative.kind = changes.kind.value
    if "description" in patch:
        initiative.description = changes.description or ""
    initiative.starts_on, initiative.ends_on = starts_on, ends_on
    initiative.updated_at = now
    await repo.flush()
    return await _render(session, initiative)


# --- partners -------------------------------------------------------------------------------


async def _organization_exists(session: AsyncSession, organization_id: uuid.UUID) -> None:
    if await OrganizationRepository(session).get(organization_id) is None:
        raise OrganizationNotFoundError(f"No organization has the id {organization_id}.")


async def add_partner(
    session: AsyncSession,
    *,
    principal: Principal,
    initiative_id: uuid.UUID,
    organization_id: uuid.UUID,
    now: datetime,
) -> InitiativeRead:
    repo = InitiativeRepository(session)
    initiative = await _initiative(session, initiative_id, for_update=True)
    await authorize_org(
        session, principal, initiative.owner_organization_id, OrgAction.MANAGE_INITIATIVES
    )
    await _organization_exists(session, organization_id)
    if await repo.add_partner(initiative.id, organization_id, now=now):
        initiative.updated_at = now
        await repo.flush()
    return await _render(session, initiative)


async def remove_partner(
    session: AsyncSession,
    *,
    principal: Principal,
    initiative_id: uuid.UUID,
    organization_id: uuid.UUID,
    now: datetime,
) -> None:
    """The owner removes a partner, or a partner leaves; removing an organization that is not
    a partner changes nothing."""
    repo = InitiativeRepository(session)
    initiative = await _initiative(session, initiative_id, for_update=True)
    await _organization_exists(session, organization_id)
    owner = initiative.owner_organization_id
    try:
        await authorize_org(session, principal, owner, OrgAction.MANAGE_INITIATIVES)
    except ForbiddenError as refusal:
        if organization_id == owner:
            raise
        try:
            await authorize_org(session, principal, organization_id, OrgAction.MANAGE_INITIATIVES)
        except (InsufficientRoleError, InsufficientScopeError):
            raise  # it does speak for the partner, without the right to leave for it
        except ForbiddenError:
            raise refusal from None
    if await repo.remove_partner(initiative.id, organization_id):
        initiative.updated_at = now
        await repo.flush()


# --- tagging --------------------------------------------------------------------------------


async def _retag(
    session: AsyncSession, seqs: Sequence[int], *, to: uuid.UUID | None, now: datetime
) -> int:
    """Moves each counted record to initiative ``to``: a ``retagged`` record takes it back and
    another counts it again under ``to``. Call it last: the ledger's lock is held until
    commit."""
    for seq in seqs:
        await evidence_service.amend(
            session,
            seq,
            event=EvidenceEvent.RETAGGED,
            occurred_at=now,
            changes={"initiative_id": to},
        )
    return len(seqs)


async def _move_tag(
    session: AsyncSession,
    *,
    subject: str,
    current: uuid.UUID | None,
    initiative_id: uuid.UUID,
    tag: bool,
    set_tag: Callable[[uuid.UUID | None], Awaitable[None]],
    records: Callable[[uuid.UUID | None], Awaitable[list[int]]],
    now: datetime,
    check: Callable[[], None] = lambda: None,
) -> int:
    """Tags the subject with the initiative (``tag``) or takes it out, then moves its counted
    records along; returns how many were retagged. Nothing happens when the subject already
    stands where asked; one tagged with another initiative must be taken out of it first.
    ``check`` runs before anything changes."""
    to = initiative_id if tag else None
    if tag:
        if current == initiative_id:
            return 0
        if current is not None:
            raise OtherInitiativeError(
                f"The {subject} is tagged with initiative {current}; take it out of that one first."
            )
    elif current != initiative_id:
        return 0
    check()
    await set_tag(to)
    seqs = await records(to)
    # The ledger last: its lock is held until commit.
    return await _retag(session, seqs, to=to, now=now)


def _not_in_initiative(what: str) -> NotInInitiativeError:
    return NotInInitiativeError(
        f"{what} Only what belongs to the initiative's owner or one of its partners can be "
        "tagged with it, by those who act for that organization."
    )


# listings


async def _tagged_listing(
    session: AsyncSession, principal: Principal, listing_id: uuid.UUID
) -> tuple[uuid.UUID, uuid.UUID | None]:
    """The listing's organization and current initiative, locked, if the caller may write it."""
    listing = await InitiativeRepository(session).lock_listing(listing_id)
    if listing is None:
        raise ListingNotFoundError(f"No listing has the id {listing_id}.")
    await visible_listing(session, principal=principal, listing_id=listing_id)
    if listing.owner_organization_id is None:
        raise _not_in_initiative("A person's listing belongs to no initiative.")
    await authorize_org(session, principal, listing.owner_organization_id, OrgAction.WRITE_LISTINGS)
    return listing.owner_organization_id, listing.initiative_id


async def tag_listing(
    session: AsyncSession,
    *,
    principal: Principal,
    initiative_id: uuid.UUID,
    listing_id: uuid.UUID,
) -> TagRead:
    repo = InitiativeRepository(session)
    initiative = await _initiative(session, initiative_id)
    organization_id, current = await _tagged_listing(session, principal, listing_id)
    if organization_id not in await repo.members(initiative):
        raise _not_in_initiative("The listing's organization does not take part.")
    if current is not None and current != initiative.id:
        raise OtherInitiativeError(
            f"The listing is tagged with initiative {current}; take it out of that one first."
        )
    if current is None:
        await repo.tag_listing(listing_id, initiative.id)
    return TagRead(
        initiative_id=initiative.id, subject="listing", id=listing_id, retagged_records=0
    )


async def untag_listing(
    session: AsyncSession,
    *,
    principal: Principal,
    initiative_id: uuid.UUID,
    listing_id: uuid.UUID,
) -> None:
    initiative = await _initiative(session, initiative_id)
    _, current = await _tagged_listing(session, principal, listing_id)
    if current == initiative.id:
        await InitiativeRepository(session).tag_listing(listing_id, None)


# transactions


async def _speaks_for(
    session: AsyncSession, principal: Principal, organization_id: uuid.UUID
) -> bool:
    """The caller is a member of the organization, or one of its API keys."""
    if principal.is_api_key:
        return principal.organization_id == organization_id
    if principal.person_id is None:
        return False
    role = await OrganizationRepository(session).member_role(organization_id, principal.person_id)
    return role is not None


async def _party_transaction(
    session: AsyncSession, principal: Principal, transaction_id: uuid.UUID
) -> tuple[Transaction, list[uuid.UUID]]:
    """The transaction, locked, and the party organizations the caller speaks for. Someone
    who is not a party (nor a moderator) does not see it."""
    tx = await InitiativeRepository(session).lock_transaction(transaction_id)
    if tx is None:
        raise TransactionNotFoundError(f"No transaction has the id {transaction_id}.")
    mine = [
        org
        for org in (tx.provider_organization_id, tx.receiver_organization_id)
        if org is not None and await _speaks_for(session, principal, org)
    ]
    as_person = principal.person_id is not None and principal.person_id in (
        tx.provider_person_id,
        tx.receiver_person_id,
    )
    if not (mine or as_person or principal.has_role(PlatformRole.MODERATOR)):
        raise TransactionNotFoundError(f"No transaction has the id {transaction_id}.")
    return tx, mine


async def _counted_records(session: AsyncSession, tx: Transaction) -> list[int]:
    seq = await EvidenceRepository(session).counted(transaction_id=tx.id)
    return [] if seq is None else [seq]


def _refuse_disputed(tx: Transaction) -> None:
    if tx.status == TransactionStatus.DISPUTED:
        raise TransactionDisputedError(
            "The transaction is disputed; once a moderator has decided, it can be retagged."
        )


async def _move_transaction(
    session: AsyncSession, tx: Transaction, initiative_id: uuid.UUID, *, tag: bool, now: datetime
) -> int:
    return await _move_tag(
        session,
        subject="transaction",
        current=tx.initiative_id,
        initiative_id=initiative_id,
        tag=tag,
        set_tag=partial(InitiativeRepository(session).tag_transaction, tx.id),
        records=lambda _to: _counted_records(session, tx),
        now=now,
        check=partial(_refuse_disputed, tx),
    )


async def tag_transaction(
    session: AsyncSession,
    *,
    principal: Principal,
    initiative_id: uuid.UUID,
    transaction_id: uuid.UUID,
    now: datetime,
) -> TagRead:
    repo = InitiativeRepository(session)
    initiative = await _initiative(session, initiative_id)
    tx, mine = await _party_transaction(session, principal, transaction_id)
    members = await repo.members(initiative)
    taking_part = [org for org in mine if org in members]
    if not taking_part:
        raise _not_in_initiative(
            "You act for no organization that is a party to this transaction and takes part "
            "in the initiative."
        )
    await authorize_org(session, principal, taking_part[0], OrgAction.WRITE_TRANSACTIONS)
    retagged = await _move_transaction(session, tx, initiative.id, tag=True, now=now)
    return TagRead(
        initiative_id=initiative.id, subject="transaction", id=tx.id, retagged_records=retagged
    )


async def untag_transaction(
    session: AsyncSession,
    *,
    principal: Principal,
    initiative_id: uuid.UUID,
    transaction_id: uuid.UUID,
    now: datetime,
) -> None:
    initiative = await _initiative(session, initiative_id)
    tx, mine = await _party_transaction(session, principal, transaction_id)
    if not mine:
        raise ForbiddenError(
            "Only those who act for an organization that is a party to the transaction take "
            "it out of an initiative."
        )
    await authorize_org(session, principal, mine[0], OrgAction.WRITE_TRANSACTIONS)
    await _move_transaction(session, tx, initiative.id, tag=False, now=now)


# repair events


async def _event_records(
    session: AsyncSession, event_id: uuid.UUID, *, to: uuid.UUID | None
) -> list[int]:
    """The counted records of the repairs logged at the event that count toward another
    initiative than ``to``."""
    repo = InitiativeRepository(session)
    evidence = EvidenceRepository(session)
    seqs = []
    for repair_id in await repo.repairs_at_event(event_id):
        seq = await evidence.counted(repair_id=repair_id)
        if seq is not None and await repo.record_initiative(seq) != to:
            seqs.append(seq)
    return seqs


async def _writable_event(
    session: AsyncSession, principal: Principal, event_id: uuid.UUID
) -> tuple[uuid.UUID, uuid.UUID | None]:
    """The event's organization and current initiative, locked, if the caller may write it."""
    event = await InitiativeRepository(session).lock_event(event_id)
    if event is None:
        raise RepairEventNotFoundError(f"No repair event has the id {event_id}.")
    await authorize_org(session, principal, event.organization_id, OrgAction.WRITE_LISTINGS)
    return event.organization_id, event.initiative_id


async def _move_event(
    session: AsyncSession,
    event_id: uuid.UUID,
    current: uuid.UUID | None,
    initiative_id: uuid.UUID,
    *,
    tag: bool,
    now: datetime,
) -> int:
    return await _move_tag(
        session,
        subject="repair event",
        current=current,
        initiative_id=initiative_id,
        tag=tag,
        set_tag=partial(InitiativeRepository(session).tag_event, event_id),
        records=lambda to: _event_records(session, event_id, to=to),
        now=now,
    )


async def tag_repair_event(
    session: AsyncSession,
    *,
    principal: Principal,
    initiative_id: uuid.UUID,
    event_id: uuid.UUID,
    now: datetime,
) -> TagRead:
    repo = InitiativeRepository(session)
    initiative = await _initiative(session, initiative_id)
    organization_id, current = await _writable_event(session, principal, event_id)
    if organization_id not in await repo.members(initiative):
        raise _not_in_initiative("The event's organiser does not take part.")
    retagged = await _move_event(session, event_id, current, initiative.id, tag=True, now=now)
    return TagRead(
        initiative_id=initiative.id, subject="repair_event", id=event_id, retagged_records=retagged
    )


async def untag_repair_event(
    session: AsyncSession,
    *,
    principal: Principal,
    initiative_id: uuid.UUID,
    event_id: uuid.UUID,
    now: datetime,
) -> None:
    initiative = await _initiative(session, initiative_id)
    _, current = await _writable_event(session, principal, event_id)
    await _move_event(session, event_id, current, initiative.id, tag=False, now=now)


# --- as OGC API features (GET /ogc/collections/initiatives/items) ------------------------------


def _feature(item: InitiativeRead, geometry: str | None) -> dict[str, Any]:
    properties = item.model_dump(mode="json", exclude={"id", "created_at", "updated_at"})
    properties["owner"] = item.owner.name
    properties["partners"] = ", ".join(p.name for p in item.partners)
    properties["kommuner"] = ", ".join(k.kommunenummer for k in item.kommuner)
    properties.pop("counts", None)
    return {
        "type": "Feature",
        "id": str(item.id),
        "geometry": None if geometry is None else orjson.loads(geometry),
        "properties": properties,
    }


async def initiative_features(
    session: AsyncSession,
    *,
    bbox: tuple[float, float, float, float] | None,
    active_from: datetime | None,
    active_until: datetime | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of initiatives as GeoJSON features, shaped as their kommuner together: those
    active some day (in Norway) of [active_from, active_until) and working where ``bbox``
    is."""
    after = _after(cursor) if cursor is not None else None
    repo = InitiativeRepository(session)
    first_day = None if active_from is None else local_date(active_from)
    day_after = (
        None
        if active_until is None
        else local_date(active_until - timedelta(microseconds=1)) + timedelta(days=1)
    )
    rows = await repo.find(
        InitiativeFilters(active_from=first_day, active_before=day_after, bbox=bbox),
        after=after,
        limit=limit + 1,
    )
    items = await _render_many(session, rows[:limit])
    areas = await repo.areas([i.id for i in items])
    cursor_out = next_cursor(rows, limit, lambda i: {"s": i.starts_on.isoformat(), "id": str(i.id)})
    return [_feature(i, areas.get(i.id)) for i in items], cursor_out


async def initiative_feature(session: AsyncSession, *, initiative_id: uuid.UUID) -> dict[str, Any]:
    item = await get_initiative(session, initiative_id=initiative_id)
    areas = await InitiativeRepository(session).areas([item.id])
    return _feature(item, areas.get(item.id))
