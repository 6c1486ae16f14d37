"""Holds and the waitlist (issue #19; ``app.models.hold``).

A person places a hold on an active listing of items to lend or rent when no unit is free now
(every unit booked or out, or kept for another hold). Holds queue first come, first served.
Whenever a unit may have come free — a loan returned, a booking cancelled, declined or expired,
a hold cancelled or lapsed — ``advance`` gives each free unit to the first waiting hold: it
becomes ``ready``, keeps the unit for ``hold_pickup_hours`` (the trigger
``transactions_unit_held`` refuses anyone else's booking of it over the window) and its holder
is told (``hold.ready``). The clock lapses ready holds whose window passed (``hold.lapsed``) and
moves the queue on. The library's staff lend a ready hold out with one action
(``checkout``): a loan from now, picked up.

Every change to a listing's queue happens under the listing's row lock (``FOR UPDATE``), so
holds, returns and bookings of one listing take turns; the unique indexes keep one live hold
per person and one ready hold per unit whatever the service does.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy.dialects.postgresql import Range
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.errors import (
    BlockedError,
    BookingConflictError,
    HoldNotFoundError,
    HoldNotReadyError,
    InvalidInputError,
    InvalidPeriodError,
    ListingAvailableError,
    ListingNotFoundError,
    ListingNotHoldableError,
    OwnListingError,
    PersonRequiredError,
    UnitNotFoundError,
)
from app.models import Hold, Listing, Transaction, UnitOutOfService
from app.models.hold import HoldStatus
from app.models.outbox import EventType
from app.models.transaction import TYPE_OF_LISTING, TransactionStatus, subgoal_of
from app.models.unit import UnitStatus
from app.pagination import (
    decode_seq_cursor,
    decode_time_id_cursor,
    encode_cursor,
    encode_seq_cursor,
)
from app.repositories.block import BlockRepository
from app.repositories.hold import HoldRepository
from app.repositories.person import PersonRepository
from app.repositories.repair import ORDS_MISC_ID
from app.repositories.transaction import TransactionRepository
from app.schemas.hold import HoldPage, HoldRead
from app.schemas.repair import RepairCreate
from app.schemas.transaction import TransactionRead, UnitList, UnitRead, UnitStatusUpdate
from app.services import library_member, outbox
from app.services import repair as repairs
from app.services import transaction as transactions
from app.services.listing import manages
from app.services.policy import Principal

# A checkout without ``until`` lends for this long (at most the listing's max_duration_days).
DEFAULT_LOAN = timedelta(days=14)


def _holdable(listing: Listing) -> bool:
    return (
        listing.kind == "item"
        and listing.mode in ("lend", "rent")
        and listing.status == "active"
        and listing.hidden_at is None
    )


async def _locked_listing(session: AsyncSession, listing_id: uuid.UUID) -> Listing | None:
    return await TransactionRepository(session).listing(listing_id, lock="update")


async def free_units(session: AsyncSession, listing: Listing, now: datetime) -> list[int]:
    """Units with no live booking at ``now``, not out (picked up early counts), not in repair
    or retired, and not kept for a ready hold."""
    repo = TransactionRepository(session)
    busy = await repo.busy_units(listing.id, Range(now, now + timedelta(seconds=1), bounds="[)"))
    busy |= await repo.out_units(listing.id)
    busy |= set(await repo.out_of_service(listing.id))
    kept = await HoldRepository(session).ready_units(listing.id)
    return [u for u in range(1, transactions.units_of(listing) + 1) if u not in busy | kept]


async def _read(session: AsyncSession, hold: Hold, listing: Listing | None = None) -> HoldRead:
    if listing is None:
        listing = await session.get(Listing, hold.listing_id)
        assert listing is not None
    labels = await PersonRepository(session).labels([hold.person_id])
    return HoldRead(
        id=hold.id,
        listing_id=hold.listing_id,
        listing_title=listing.title,
        person_id=hold.person_id,
        holder=labels.get(hold.person_id),
        status=HoldStatus(hold.status),
        position=await HoldRepository(session).position(hold),
        unit_no=hold.unit_no if hold.status == HoldStatus.READY else None,
        ready_until=hold.ready_until if hold.status == HoldStatus.READY else None,
        transaction_id=hold.transaction_id,
        created_at=hold.created_at,
        closed_at=hold.closed_at,
    )


async def advance(
    session: AsyncSession, listing: Listing, *, now: datetime, settings: Settings
) -> int:
    """Give each free unit of ``listing`` (locked by the caller) to the first waiting hold;
    how many became ready."""
    repo = HoldRepository(session)
    readied = 0
    for unit_no in await free_units(session, listing, now):
        hold = await repo.first_waiting(listing.id)
        if hold is None:
            break
        hold.status = HoldStatus.READY.value
        hold.unit_no = unit_no
        hold.ready_at = now
        hold.ready_until = now + timedelta(hours=settings.transactions.hold_pickup_hours)
        await session.flush()
        await outbox.emit(
            session,
            EventType.HOLD_READY,
            to=[outbox.Recipient(person_id=hold.person_id)],
            payload={
                "hold_id": str(hold.id),
                "listing_id": str(listing.id),
                "ready_until": hold.ready_until.isoformat(),
            },
            now=now,
        )
        readied += 1
    return readied


async def after_release(
    session: AsyncSession, listing_id: uuid.UUID, *, now: datetime, settings: Settings
) -> None:
    """A unit of the listing may have come free: move its queue on, if it has one. The lock
    comes first: a hold placed meanwhile either sees the unit free (and is refused: book it)
    or is in the queue by the time this looks."""
    listing = await _locked_listing(session, listing_id)
    if listing is not None and await HoldRepository(session).has_waiting(listing_id):
        await advance(session, listing, now=now, settings=settings)


async def place_hold(
    session: AsyncSession, *, principal: Principal, listing_id: uuid.UUID, now: datetime
) -> HoldRead:
    if principal.person_id is None or principal.is_api_key:
        raise PersonRequiredError("A hold is a person's place in the queue; sign in.")
    person_id = principal.person_id
    listing = await _locked_listing(session, listing_id)
    if listing is None or listing.hidden_at is not None or listing.status == "draft":
        raise ListingNotFoundError(f"No listing has the id {listing_id}.")
    if not _holdable(listing):
        raise ListingNotHoldableError(
            "Only an active listing of items to lend or rent takes holds."
        )
    if await manages(session, principal, listing):
        raise OwnListingError("You cannot hold your own listing.")
    if listing.owner_person_id is not None and await BlockRepository(session).between(
        person_id, listing.owner_person_id
    ):
        raise BlockedError("You cannot hold this listing.")
    await library_member.require_member(
        session,
        listing,
        members_only=transactions.booking_rules(listing).members_only,
        person_id=person_id,
        through=now,
    )
    if await free_units(session, listing, now):
        raise ListingAvailableError(
            "A unit is free now: ask for it (POST /v1/transactions) rather than queue."
        )
    hold = await HoldRepository(session).add(
        Hold(
            listing_id=listing.id,
            person_id=person_id,
            status=HoldStatus.WAITING.value,
            created_at=now,
        )
    )
    return await _read(session, hold, listing)


async def _own_hold(
    session: AsyncSession, principal: Principal, hold_id: uuid.UUID, *, lock: bool
) -> tuple[Hold, Listing, bool]:
    """The hold, its listing (locked when ``lock``) and whether the caller manages the
    listing; the holder or the listing's managers only, others get 404."""
    repo = HoldRepository(session)
    peek = await repo.get(hold_id)
    if peek is None:
        raise HoldNotFoundError(f"No hold has the id {hold_id}.")
    listing = (
        await _locked_listing(session, peek.listing_id)
        if lock
        else await session.get(Listing, peek.listing_id)
    )
    assert listing is not None
    manager = await manages(session, principal, listing)
    if not manager and (principal.person_id is None or principal.person_id != peek.person_id):
        raise HoldNotFoundError(f"No hold has the id {hold_id}.")
    hold = await repo.get(hold_id, for_update=lock)
    assert hold is not None
    return hold, listing, manager


async def get_hold(session: AsyncSession, *, principal: Principal, hold_id: uuid.UUID) -> HoldRead:
    hold, listing, _ = await _own_hold(session, principal, hold_id, lock=False)
    return await _read(session, hold, listing)


async def cancel_hold(
    session: AsyncSession,
    *,
    principal: Principal,
    hold_id: uuid.UUID,
    now: datetime,
    settings: Settings,
) -> HoldRead:
    """The holder (or the listing's managers) cancel a live hold; a ready one's unit goes to
    the next in line. Cancelling a closed hold changes nothing."""
    hold, listing, _ = await _own_hold(session, principal, hold_id, lock=True)
    if hold.status in (HoldStatus.WAITING, HoldStatus.READY):
        was_ready = hold.status == HoldStatus.READY
        hold.status = HoldStatus.CANCELLED.value
        hold.closed_at = now
        await session.flush()
        if was_ready:
            await advance(session, listing, now=now, settings=settings)
    return await _read(session, hold, listing)


async def checkout(
    session: AsyncSession,
    *,
    principal: Principal,
    hold_id: uuid.UUID,
    until: datetime | None,
    now: datetime,
) -> TransactionRead:
    """The listing's managers lend a ready hold out: a loan (or rental) of the kept unit from
    now to ``until``, accepted and picked up in one step."""
    hold, listing, manager = await _own_hold(session, principal, hold_id, lock=True)
    if not manager:
        raise HoldNotFoundError(f"No hold has the id {hold_id}.")
    if hold.status != HoldStatus.READY or hold.unit_no is None:
        raise HoldNotReadyError(f"The hold is {hold.status}; only a ready hold is lent out.")
    rules = transactions.booking_rules(listing)
    longest = timedelta(days=rules.max_duration_days)
    end = until or now + min(DEFAULT_LOAN, longest)
    if end <= now or end - now > longest:
        raise InvalidPeriodError.for_field(
            f"A loan runs from now for at most {rules.max_duration_days} days.",
            field="until",
            message="Out of range",
            type="invalid_period",
        )
    kind = TYPE_OF_LISTING[(listing.kind, listing.mode)]
    tx = Transaction(
        type=kind.value,
        subgoal=subgoal_of(kind, listing.kind).value,
        status=TransactionStatus.REQUESTED.value,
        listing_id=listing.id,
        initiative_id=listing.initiative_id,
        provider_person_id=listing.owner_person_id,
        provider_organization_id=listing.owner_organization_id,
        receiver_person_id=hold.person_id,
        created_by_person_id=principal.person_id,
        message="",
        period=Range(now, end, bounds="[)"),
        blocked=Range(now, end + timedelta(hours=rules.buffer_hours), bounds="[)"),
        unit_no=hold.unit_no,
        created_at=now,
        updated_at=now,
        expires_at=now + timedelta(minutes=5),
    )
    repo = TransactionRepository(session)
    if not await repo.add(tx):
        raise BookingConflictError(
            "The kept unit is booked within that period; lend it for a shorter time."
        )
    # Through the state machine's own moves: the database checks each.
    tx.status = TransactionStatus.ACCEPTED.value
    tx.accepted_at = now
    tx.expires_at = None
    await repo.flush()
    tx.status = TransactionStatus.ACTIVE.value
    tx.started_at = now
    hold.status = HoldStatus.FULFILLED.value
    hold.closed_at = now
    hold.transaction_id = tx.id
    await repo.flush()
    return await transactions.read_as_provider(session, principal, tx)


async def lapse(session: AsyncSession, *, now: datetime, settings: Settings) -> int:
    """The clock: ready holds past their window lapse (their holders are told), and every
    queue with a free unit moves on. How many lapsed."""
    repo = HoldRepository(session)
    lapsed = await repo.lapse_due(now)
    for hold in lapsed:
        await outbox.emit(
            session,
            EventType.HOLD_LAPSED,
            to=[outbox.Recipient(person_id=hold.person_id)],
            payload={"hold_id": str(hold.id), "listing_id": str(hold.listing_id)},
            now=now,
        )
    for listing_id in await repo.listings_waiting():
        await after_release(session, listing_id, now=now, settings=settings)
    return len(lapsed)


async def my_holds(
    session: AsyncSession, *, principal: Principal, cursor: str | None, limit: int
) -> HoldPage:
    if principal.person_id is None or principal.is_api_key:
        raise PersonRequiredError("Holds are a person's; sign in.")
    after = decode_time_id_cursor(cursor, time="c", id="i") if cursor else None
    rows = await HoldRepository(session).for_person(
        principal.person_id, after=after, limit=limit + 1
    )
    items = [await _read(session, h) for h in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = encode_cursor({"c": last.created_at.isoformat(), "i": str(last.id)})
    return HoldPage(items=items, next_cursor=next_cursor)


async def listing_queue(
    session: AsyncSession,
    *,
    principal: Principal,
    listing_id: uuid.UUID,
    cursor: str | None,
    limit: int,
) -> HoldPage:
    """A listing's live holds in queue order, for its managers."""
    listing = await session.get(Listing, listing_id)
    if listing is None or not await manages(session, principal, listing):
        raise ListingNotFoundError(f"No listing has the id {listing_id}.")
    after = decode_seq_cursor(cursor) if cursor else None
    rows = await HoldRepository(session).queue(listing_id, after=after, limit=limit + 1)
    items = [await _read(session, h, listing) for h in rows[:limit]]
    next_cursor = encode_seq_cursor(rows[limit - 1].seq) if len(rows) > limit else None
    return HoldPage(items=items, next_cursor=next_cursor)


async def list_units(
    session: AsyncSession, *, principal: Principal, listing_id: uuid.UUID
) -> UnitList:
    """Every unit of a lendable listing with its status, for the listing's managers."""
    listing = await session.get(Listing, listing_id)
    if listing is None or not await manages(session, principal, listing):
        raise ListingNotFoundError(f"No listing has the id {listing_id}.")
    broken = await TransactionRepository(session).out_of_service(listing_id)
    items = []
    for unit_no in range(1, transactions.units_of(listing) + 1):
        row = broken.get(unit_no)
        items.append(
            UnitRead(
                unit_no=unit_no,
                status=UnitStatus(row.status) if row else UnitStatus.AVAILABLE,
                note=row.note if row else "",
                since=row.since if row else None,
                transaction_id=row.transaction_id if row else None,
            )
        )
    return UnitList(items=items)


async def set_unit_status(
    session: AsyncSession,
    *,
    principal: Principal,
    listing_id: uuid.UUID,
    unit_no: int,
    change: UnitStatusUpdate,
    now: datetime,
    settings: Settings,
) -> UnitList:
    """The listing's managers take a unit out of service or put it back (fixed): back in
    service, it goes to the first in the queue, if anyone waits. With ``change.repair`` the
    repair is logged in the same transaction, as the lending organization's (Fixed when the
    unit is back, End of life when it is retired)."""
    listing = await _locked_listing(session, listing_id)
    if listing is None or not await manages(session, principal, listing):
        raise ListingNotFoundError(f"No listing has the id {listing_id}.")
    if listing.kind != "item" or listing.mode not in ("lend", "rent"):
        raise ListingNotHoldableError("Only a listing of items to lend or rent has units.")
    if not 1 <= unit_no <= transactions.units_of(listing):
        raise UnitNotFoundError(f"The listing has no unit {unit_no}.")
    repair_id = None
    if change.repair is not None:
        repair_id = await _log_unit_repair(
            session, principal=principal, listing=listing, change=change, now=now
        )
    repo = TransactionRepository(session)
    if change.status is UnitStatus.AVAILABLE:
        if await repo.back_in_service(listing_id, unit_no):
            await advance(session, listing, now=now, settings=settings)
    else:
        await repo.take_out_of_service(
            UnitOutOfService(
                listing_id=listing_id,
                unit_no=unit_no,
                status=change.status.value,
                note=change.note,
                since=now,
            )
        )
    units = await list_units(session, principal=principal, listing_id=listing_id)
    return units.model_copy(update={"repair_id": repair_id})


async def _log_unit_repair(
    session: AsyncSession,
    *,
    principal: Principal,
    listing: Listing,
    change: UnitStatusUpdate,
    now: datetime,
) -> uuid.UUID:
    assert change.repair is not None
    if listing.owner_organization_id is None:
        raise InvalidInputError.for_field(
            "A repair is logged by an organization; this listing is a person's.",
            field="repair",
            message="only for an organization's listing",
            type="value_error",
        )
    fixed = change.status is UnitStatus.AVAILABLE
    logged = await repairs.create_repair(
        session,
        principal=principal,
        data=RepairCreate(
            organization_id=listing.owner_organization_id,
            category=listing.category_slug,
            product_category_id=None if listing.category_slug else ORDS_MISC_ID,
            repair_status="Fixed" if fixed else "End of life",
            repair_barrier=change.repair.repair_barrier,
            problem=change.repair.problem or change.note.strip() or None,
        ),
        now=now,
    )
    return logged.id
