"""Transactions: what happens between two parties around a listing, and the evidence it
leaves.

**Types and machines.** A transaction's type follows from its listing (``TYPE_OF_LISTING``):
an item given or sold is a ``reuse``, lent a ``loan``, rented a ``rental``; a space lent is a
``space_share``, rented a ``rental``; materials and energy are exchanges; a repair service
starts a ``repair``. Each type has one declarative state machine in ``MACHINES``: every move
names its action, where it may start, where it ends, which party may make it (provider,
receiver, moderator, or the system clock), what it does (its ``Effect``, one function each in
``_EFFECTS``) and the evidence event it writes. Any other move is 409 ``invalid_transition``; a
move by the wrong party is 403 ``wrong_party``; someone who is not a party does not see the
transaction at all (404). The database holds the same moves (``transaction_transitions``) and
refuses any other status change itself::

    handovers (reuse, material_exchange, energy_exchange, repair)
        requested ─accept─▶ accepted ─complete─▶ completed ─confirm─▶ confirmed
            │decline/cancel/expire   │cancel          │dispute        ▲ uphold
            ▼                        ▼                ▼               │
        declined/cancelled/expired  cancelled      disputed ─void─▶ voided

    bookings (loan, rental, space_share)
        requested ─accept─▶ accepted ─pickup─▶ active ─return─▶ returned ─confirm─▶ confirmed
                              │expire (never      │(clock)  ▲         │dispute
                              ▼ picked up)        ▼         │         ▼
                            expired            overdue ─return┘    disputed (uphold / void)

**Time.** ``python -m app.cli tick`` (run it every few minutes) expires unanswered requests
(``settings.transactions.request_ttl_hours``, or when a booking's period begins), lapses
accepted bookings never picked up by the end of their period, and marks loans not returned by
the end as overdue; an overdue loan keeps its unit blocked, open-ended, until it is returned
(up to the start of a booking agreed before it became late).

**Evidence.** Completing (or returning) appends a record counted +1, "reported" by the
provider; the receiver's confirmation replaces it by a "confirmed" one, a dispute takes it
back, a moderator upholds or voids a dispute, and a moderator's correction replaces the
figures: ``app.services.evidence.AMENDMENTS`` and ``app.models.evidence``. Impact is computed
when a transaction completes and stored with it and its factor revision
(``app.services.impact``).
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy.dialects.postgresql import Range
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.errors import (
    BlockedError,
    BookingConflictError,
    HoldWaitingError,
    InvalidInputError,
    InvalidMatchOfError,
    InvalidPeriodError,
    InvalidTransitionError,
    ListingNotAvailableError,
    ListingNotFoundError,
    NotTransactableError,
    OrganizationNotFoundError,
    OwnListingError,
    RenewalConflictError,
    RenewalLimitReachedError,
    TransactionNotFoundError,
    UnitMismatchError,
    WrongPartyError,
)
from app.models import Listing, Message, Repair, Transaction, UnitOutOfService
from app.models.evidence import EvidenceEvent, EvidenceGrade
from app.models.message import MessageKind
from app.models.outbox import EventType
from app.models.person import PlatformRole
from app.models.transaction import (
    BOOKING_TYPES,
    CONSUMING_TYPES,
    TYPE_OF_LISTING,
    SubGoal,
    TransactionStatus,
    TransactionType,
    TransactionUnit,
    subgoal_of,
)
from app.models.unit import UnitStatus
from app.pagination import decode_time_id_cursor, encode_cursor
from app.repositories.block import BlockRepository
from app.repositories.evidence import EvidenceDraft, PartyRef
from app.repositories.hold import HoldRepository
from app.repositories.listing import ListingRepository
from app.repositories.message import MessageRepository
from app.repositories.organization import OrganizationRepository
from app.repositories.person import PersonRepository
from app.repositories.repair import RepairRepository
from app.repositories.transaction import TransactionFilters, TransactionRepository
from app.schemas.listing import DEFAULT_BOOKING_RULES, BookingRules, Point
from app.schemas.organization import LendingStats
from app.schemas.transaction import (
    Availability,
    BusyPeriod,
    FreePeriod,
    ImpactRead,
    LoanPage,
    LoanRead,
    PartyRead,
    PeriodRead,
    PickupRead,
    RepairOutcome,
    Role,
    TransactionActionBody,
    TransactionCreate,
    TransactionPage,
    TransactionRead,
)
from app.services import evidence as evidence_service
from app.services import library_member, outbox
from app.services.impact import factors as impact
from app.services.policy import OrgAction, Principal, acting_as, authorize_org
from app.services.repair import store_impact

# --- the state machines -----------------------------------------------------------------


class Party(StrEnum):
    PROVIDER = "provider"
    RECEIVER = "receiver"
    MODERATOR = "moderator"
    SYSTEM = "system"


class TransactionAction(StrEnum):
    ACCEPT = "accept"
    DECLINE = "decline"
    CANCEL = "cancel"
    PICKUP = "pickup"
    RETURN = "return"
    COMPLETE = "complete"
    CONFIRM = "confirm"
    DISPUTE = "dispute"
    UPHOLD = "uphold"
    VOID = "void"
    CORRECT = "correct"
    RENEW = "renew"
    # Taken by the clock (python -m app.cli tick), never through the API.
    EXPIRE = "expire"
    MARK_OVERDUE = "mark_overdue"


SYSTEM_ACTIONS = frozenset({TransactionAction.EXPIRE, TransactionAction.MARK_OVERDUE})
# Where the provider may share the exact place: agreed and not yet over.
SHAREABLE = frozenset(
    {TransactionStatus.ACCEPTED, TransactionStatus.ACTIVE, TransactionStatus.OVERDUE}
)


class Effect(StrEnum):
    """What a move does to the transaction besides changing its status (``_EFFECTS``)."""

    NONE = "none"
    ACCEPT = "accept"  # the listing must still be available; the request no longer expires
    START = "start"  # a booking is picked up
    COMPLETE = "complete"  # handed over or returned: the impact (a repair: its outcome) is stored
    CONFIRM = "confirm"  # confirmed, by the receiver or a moderator upholding a dispute
    CORRECT = "correct"  # a moderator corrects the quantity or the repair outcome
    RENEW = "renew"  # an active booking's period is extended


@dataclass(frozen=True, slots=True)
class Move:
    """One edge of a state machine: ``action`` takes a transaction from one of ``sources`` to
    ``target`` (None: the status stays), only ``by`` may take it; it does ``effect`` and then
    writes ``evidence`` to the ledger (None: nothing)."""

    action: TransactionAction
    sources: frozenset[TransactionStatus]
    target: TransactionStatus | None
    by: frozenset[Party]
    effect: Effect = Effect.NONE
    evidence: EvidenceEvent | None = None


def _move(
    action: TransactionAction,
    sources: set[TransactionStatus],
    target: TransactionStatus | None,
    *by: Party,
    effect: Effect = Effect.NONE,
    evidence: EvidenceEvent | None = None,
) -> Move:
    return Move(action, frozenset(sources), target, frozenset(by), effect, evidence)


_HANDED_OVER = {TransactionStatus.COMPLETED, TransactionStatus.RETURNED}
_ASKING = (
    _move(
        TransactionAction.ACCEPT,
        {TransactionStatus.REQUESTED},
        TransactionStatus.ACCEPTED,
        Party.PROVIDER,
        effect=Effect.ACCEPT,
    ),
    _move(
        TransactionAction.DECLINE,
        {TransactionStatus.REQUESTED},
        TransactionStatus.DECLINED,
        Party.PROVIDER,
    ),
    _move(
        TransactionAction.CANCEL,
        {TransactionStatus.REQUESTED},
        TransactionStatus.CANCELLED,
        Party.RECEIVER,
    ),
    _move(
        TransactionAction.CANCEL,
        {TransactionStatus.ACCEPTED},
        TransactionStatus.CANCELLED,
        Party.PROVIDER,
        Party.RECEIVER,
    ),
    _move(
        TransactionAction.EXPIRE,
        {TransactionStatus.REQUESTED},
        TransactionStatus.EXPIRED,
        Party.SYSTEM,
    ),
)
_SETTLING = (
    _move(
        TransactionAction.CONFIRM,
        _HANDED_OVER,
        TransactionStatus.CONFIRMED,
        Party.RECEIVER,
        effect=Effect.CONFIRM,
        evidence=EvidenceEvent.CONFIRMED,
    ),
    _move(
        TransactionAction.DISPUTE,
        _HANDED_OVER,
        TransactionStatus.DISPUTED,
        Party.RECEIVER,
        evidence=EvidenceEvent.DISPUTED,
    ),
    _move(
        TransactionAction.UPHOLD,
        {TransactionStatus.DISPUTED},
        TransactionStatus.CONFIRMED,
        Party.MODERATOR,
        effect=Effect.CONFIRM,
        evidence=EvidenceEvent.UPHELD,
    ),
    _move(
        TransactionAction.VOID,
        {TransactionStatus.DISPUTED},
        TransactionStatus.VOIDED,
        Party.MODERATOR,
    ),
)
# Handovers: reuse (gift or sale), material and energy exchanges, repairs.
_HANDOVER = (
    *_ASKING,
    _move(
        TransactionAction.COMPLETE,
        {TransactionStatus.ACCEPTED},
        TransactionStatus.COMPLETED,
        Party.PROVIDER,
        effect=Effect.COMPLETE,
        evidence=EvidenceEvent.COMPLETED,
    ),
    *_SETTLING,
    _move(
        TransactionAction.CORRECT,
        {TransactionStatus.COMPLETED, TransactionStatus.CONFIRMED},
        None,
        Party.MODERATOR,
        effect=Effect.CORRECT,
        evidence=EvidenceEvent.CORRECTED,
    ),
)
# Bookings: loans, rentals, space shares.
_BOOKING = (
    *_ASKING,
    # Never picked up by the end of the period: the booking lapses.
    _move(
        TransactionAction.EXPIRE,
        {TransactionStatus.ACCEPTED},
        TransactionStatus.EXPIRED,
        Party.SYSTEM,
    ),
    _move(
        TransactionAction.PICKUP,
        {TransactionStatus.ACCEPTED},
        TransactionStatus.ACTIVE,
        Party.PROVIDER,
        effect=Effect.START,
    ),
    _move(
        TransactionAction.MARK_OVERDUE,
        {TransactionStatus.ACTIVE},
        TransactionStatus.OVERDUE,
        Party.SYSTEM,
    ),
    # While it is out and not yet late; the trigger transactions_renewal_guard keeps the
    # count and the start.
    _move(
        TransactionAction.RENEW,
        {TransactionStatus.ACTIVE},
        None,
        Party.PROVIDER,
        Party.RECEIVER,
        effect=Effect.RENEW,
    ),
    _move(
        TransactionAction.RETURN,
        {TransactionStatus.ACTIVE, TransactionStatus.OVERDUE},
        TransactionStatus.RETURNED,
        Party.PROVIDER,
        effect=Effect.COMPLETE,
        evidence=EvidenceEvent.COMPLETED,
    ),
    *_SETTLING,
)
MACHINES: dict[TransactionType, tuple[Move, ...]] = {
    TransactionType.REUSE: _HANDOVER,
    TransactionType.MATERIAL_EXCHANGE: _HANDOVER,
    TransactionType.ENERGY_EXCHANGE: _HANDOVER,
    TransactionType.REPAIR: _HANDOVER,
    TransactionType.LOAN: _BOOKING,
    TransactionType.RENTAL: _BOOKING,
    TransactionType.SPACE_SHARE: _BOOKING,
}
# A booking moving here frees its unit (for a hold waiting on the listing).
RELEASING_STATUSES = frozenset(
    {
        TransactionStatus.RETURNED,
        TransactionStatus.CANCELLED,
        TransactionStatus.DECLINED,
    }
)
CLOSING_STATUSES = frozenset(
    {
        TransactionStatus.DECLINED,
        TransactionStatus.CANCELLED,
        TransactionStatus.EXPIRED,
        TransactionStatus.CONFIRMED,
        TransactionStatus.VOIDED,
    }
)


def machine_edges() -> set[tuple[str, str, str]]:
    """(type, from, to) of every status change, as the database's table holds them."""
    return {
        (kind.value, source.value, move.target.value)
        for kind, moves in MACHINES.items()
        for move in moves
        if move.target is not None
        for source in move.sources
    }


# --- who is who -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Participation:
    """How the caller takes part in a transaction: which parties they are, and for which of
    them they act through an organization (then the organization's rules apply when they
    act)."""

    parties: frozenset[Party]
    via_organization: dict[Party, uuid.UUID]


async def _participation(
    session: AsyncSession, principal: Principal, tx: Transaction
) -> Participation:
    parties: set[Party] = set()
    via: dict[Party, uuid.UUID] = {}
    orgs = OrganizationRepository(session)
    for party, person_id, org_id in (
        (Party.PROVIDER, tx.provider_person_id, tx.provider_organization_id),
        (Party.RECEIVER, tx.receiver_person_id, tx.receiver_organization_id),
    ):
        if person_id is not None and principal.person_id == person_id:
            parties.add(party)
        elif org_id is not None:
            if principal.is_api_key:
                member = principal.organization_id == org_id
            else:
                member = (
                    principal.person_id is not None
                    and await orgs.member_role(org_id, principal.person_id) is not None
                )
            if member:
                parties.add(party)
                via[party] = org_id
    if principal.has_role(PlatformRole.MODERATOR):
        parties.add(Party.MODERATOR)
    return Participation(frozenset(parties), via)


def _visible_roles(participation: Participation) -> list[str]:
    return sorted(p.value for p in participation.parties if p in (Party.PROVIDER, Party.RECEIVER))


def allowed_actions(tx: Transaction, participation: Participation) -> list[str]:
    status = TransactionStatus(tx.status)
    return sorted(
        {
            m.action.value
            for m in MACHINES[TransactionType(tx.type)]
            if status in m.sources
            and m.by & participation.parties
            and m.action not in SYSTEM_ACTIONS
        }
    )


async def _load(
    session: AsyncSession, principal: Principal, transaction_id: uuid.UUID, *, lock: bool
) -> tuple[Transaction, Participation]:
    tx = await TransactionRepository(session).get(transaction_id, for_update=lock)
    if tx is None:
        raise TransactionNotFoundError(f"No transaction has the id {transaction_id}.")
    participation = await _participation(session, principal, tx)
    if not participation.parties:
        raise TransactionNotFoundError(f"No transaction has the id {transaction_id}.")
    return tx, participation


# --- reading ----------------------------------------------------------------------------


def transaction_read(tx: Transaction, participation: Participation) -> TransactionRead:
    """The transaction as the caller sees it: with their roles in it and what they may do next."""
    period, blocked = tx.period, tx.blocked
    return TransactionRead(
        id=tx.id,
        type=TransactionType(tx.type),
        subgoal=SubGoal(tx.subgoal),
        status=TransactionStatus(tx.status),
        listing_id=tx.listing_id,
        provider=PartyRead(
            person_id=tx.provider_person_id, organization_id=tx.provider_organization_id
        ),
        receiver=PartyRead(
            person_id=tx.receiver_person_id, organization_id=tx.receiver_organization_id
        ),
        roles=[Role(role) for role in _visible_roles(participation)],
        actions=allowed_actions(tx, participation),
        quantity=tx.quantity,
        unit=None if tx.unit is None else TransactionUnit(tx.unit),
        delivered_quantity=tx.delivered_quantity,
        period=None if period is None else PeriodRead(start=period.lower, end=period.upper),
        blocked_until=None if blocked is None else blocked.upper,
        unit_no=tx.unit_no,
        renewals=tx.renewals,
        message=tx.message,
        impact=None
        if tx.impact_basis is None
        else ImpactRead(
            basis=tx.impact_basis,
            kg_diverted=tx.kg_diverted,
            co2e_kg=tx.co2e_kg,
            factor_revision=tx.factor_revision,
        ),
        created_at=tx.created_at,
        updated_at=tx.updated_at,
        expires_at=tx.expires_at,
        accepted_at=tx.accepted_at,
        started_at=tx.started_at,
        completed_at=tx.completed_at,
        confirmed_at=tx.confirmed_at,
        closed_at=tx.closed_at,
    )


async def _read(
    session: AsyncSession, tx: Transaction, participation: Participation
) -> TransactionRead:
    """``transaction_read`` with the shared place, for the parties while it is open."""
    read = transaction_read(tx, participation)
    people = await PersonRepository(session).labels(
        [p for p in (tx.provider_person_id, tx.receiver_person_id) if p is not None]
    )
    orgs = OrganizationRepository(session)
    for party, person_id, org_id in (
        (read.provider, tx.provider_person_id, tx.provider_organization_id),
        (read.receiver, tx.receiver_person_id, tx.receiver_organization_id),
    ):
        if org_id is not None:
            org = await orgs.get(org_id)
            party.label = org.name if org is not None else None
        elif person_id is not None:
            party.label = people.get(person_id)
    if (
        tx.location_shared_at is not None
        and tx.closed_at is None
        and participation.parties & {Party.PROVIDER, Party.RECEIVER}
    ):
        lon, lat = await ListingRepository(session).exact_point(tx.listing_id)
        read.pickup = PickupRead(
            location=Point(type="Point", coordinates=(lon, lat)),
            note=tx.pickup_note or "",
            shared_at=tx.location_shared_at,
        )
    return read


async def get_transaction(
    session: AsyncSession, *, principal: Principal, transaction_id: uuid.UUID
) -> TransactionRead:
    tx, participation = await _load(session, principal, transaction_id, lock=False)
    return await _read(session, tx, participation)


async def load_participation(
    session: AsyncSession, principal: Principal, transaction_id: uuid.UUID, *, lock: bool
) -> tuple[Transaction, Participation]:
    """The transaction and how the caller takes part in it (404 for everyone else)."""
    return await _load(session, principal, transaction_id, lock=lock)


async def share_location(
    session: AsyncSession,
    *,
    principal: Principal,
    transaction_id: uuid.UUID,
    pickup_note: str,
    now: datetime,
) -> TransactionRead:
    """The provider shows the receiver the listing's exact point and a pickup note, from
    acceptance until the transaction ends (sharing again replaces the note)."""
    tx, participation = await _load(session, principal, transaction_id, lock=True)
    if Party.PROVIDER not in participation.parties:
        raise WrongPartyError("Only the provider shares the place of their listing.")
    org = participation.via_organization.get(Party.PROVIDER)
    if org is not None:
        await authorize_org(session, principal, org, OrgAction.WRITE_TRANSACTIONS)
    if tx.status not in SHAREABLE or tx.closed_at is not None:
        raise InvalidTransitionError(
            f"The place is shared once a request is accepted and while it is open; this one "
            f"is {tx.status}."
        )
    tx.location_shared_at = tx.location_shared_at or now
    tx.pickup_note = pickup_note
    tx.updated_at = now
    await TransactionRepository(session).flush()
    return await _read(session, tx, participation)


def _encode(tx: Transaction) -> str:
    return encode_cursor({"c": tx.created_at.isoformat(), "i": str(tx.id)})


def _decode(cursor: str) -> tuple[datetime, uuid.UUID]:
    return decode_time_id_cursor(cursor, time="c", id="i")


async def list_transactions(
    session: AsyncSession,
    *,
    principal: Principal,
    role: str | None,
    statuses: list[str],
    types: list[str],
    listing_id: uuid.UUID | None,
    organization_id: uuid.UUID | None,
    cursor: str | None,
    limit: int,
) -> TransactionPage:
    """The caller's transactions, newest first: as a person (their own and, unless they name
    one organization, those of every organization they belong to), or an API key's
    organization's."""
    repo = TransactionRepository(session)
    person_id: uuid.UUID | None = None
    org_ids: list[uuid.UUID]
    if principal.is_api_key:
        assert principal.organization_id is not None
        if organization_id is not None and organization_id != principal.organization_id:
            await authorize_org(session, principal, organization_id, OrgAction.WRITE_TRANSACTIONS)
        org_ids = [principal.organization_id]
    elif organization_id is not None:
        if await OrganizationRepository(session).get(organization_id) is None:
            raise OrganizationNotFoundError(f"No organization has the id {organization_id}.")
        await authorize_org(session, principal, organization_id, OrgAction.WRITE_TRANSACTIONS)
        org_ids = [organization_id]
    else:
        person_id = principal.person_id
        org_ids = await repo.member_organizations(person_id) if person_id else []
    filters = TransactionFilters(
        person_id=person_id,
        organization_ids=org_ids,
        roles=frozenset([role] if role else ["provider", "receiver"]),
        statuses=statuses,
        types=types,
        listing_id=listing_id,
    )
    after = _decode(cursor) if cursor else None
    rows = await repo.list_page(filters, after=after, limit=limit + 1)
    items = [
        await _read(session, tx, await _participation(session, principal, tx))
        for tx in rows[:limit]
    ]
    next_cursor = _encode(rows[limit - 1]) if len(rows) > limit else None
    return TransactionPage(items=items, next_cursor=next_cursor)


# What ``GET /v1/organizations/{id}/loans`` shows without a ``status``: what is agreed or out.
OPEN_BOOKING_STATUSES = ("accepted", "active", "overdue")


async def list_loans(
    session: AsyncSession,
    *,
    principal: Principal,
    organization_id: uuid.UUID,
    statuses: list[str],
    cursor: str | None,
    limit: int,
    now: datetime,
) -> LoanPage:
    """An organization's bookings as the provider (its loans), soonest due first, for those
    who may act on its transactions."""
    if await OrganizationRepository(session).get(organization_id) is None:
        raise OrganizationNotFoundError(f"No organization has the id {organization_id}.")
    await authorize_org(session, principal, organization_id, OrgAction.WRITE_TRANSACTIONS)
    after = decode_time_id_cursor(cursor, time="d", id="i") if cursor else None
    rows = await TransactionRepository(session).loans_page(
        organization_id,
        statuses=statuses or list(OPEN_BOOKING_STATUSES),
        after=after,
        limit=limit + 1,
    )
    items = []
    for tx in rows[:limit]:
        read = await _read(session, tx, await _participation(session, principal, tx))
        due_at = tx.period.upper
        late = tx.status in (TransactionStatus.ACTIVE, TransactionStatus.OVERDUE) and now > due_at
        days = (now - due_at).days if late else 0
        listing = await session.get(Listing, tx.listing_id)
        fee = booking_rules(listing).late_fee_nok_per_day if listing is not None else None
        items.append(
            LoanRead(
                **read.model_dump(),
                due_at=due_at,
                days_overdue=days,
                late_fee_nok=fee * days if fee is not None else None,
            )
        )
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = encode_cursor({"d": last.period.upper.isoformat(), "i": str(last.id)})
    return LoanPage(items=items, next_cursor=next_cursor)


# A unit not picked up for this long counts as idle (issue #19: "not lent in 90 days").
IDLE_DAYS = 90


async def lending_stats(
    session: AsyncSession,
    *,
    principal: Principal,
    organization_id: uuid.UUID,
    days: int,
    now: datetime,
) -> LendingStats:
    """A lender's own dashboard figures over the last ``days`` days, for its members."""
    if await OrganizationRepository(session).get(organization_id) is None:
        raise OrganizationNotFoundError(f"No organization has the id {organization_id}.")
    await authorize_org(session, principal, organization_id, OrgAction.READ_IMPACT)
    since = now - timedelta(days=days)
    row = await TransactionRepository(session).lending_stats(
        organization_id, since=since, now=now, idle_days=IDLE_DAYS
    )
    units = int(row["lendable_units"])
    return LendingStats(
        organization_id=organization_id,
        window_days=days,
        window_start=since,
        window_end=now,
        lendable_listings=int(row["lendable_listings"]),
        lendable_units=units,
        loans_returned=int(row["loans_returned"]),
        loans_per_unit_per_year=round(int(row["loans_returned"]) / units * 365 / days, 2)
        if units
        else None,
        idle_days=IDLE_DAYS,
        idle_units=int(row["idle_units"]),
        idle_share=round(int(row["idle_units"]) / units, 3) if units else None,
        out_now=int(row["out_now"]),
        overdue_now=int(row["overdue_now"]),
        renewals=int(row["renewals"]),
        borrowers=int(row["borrowers"]),
    )


async def read_as_provider(
    session: AsyncSession, principal: Principal, tx: Transaction
) -> TransactionRead:
    """The transaction as ``principal`` (acting for its provider) sees it."""
    return await _read(session, tx, await _participation(session, principal, tx))


# --- starting one -----------------------------------------------------------------------


def booking_rules(listing: Listing) -> BookingRules:
    raw = (listing.details or {}).get("booking")
    return BookingRules.model_validate(raw) if raw else DEFAULT_BOOKING_RULES


def units_of(listing: Listing) -> int:
    """Identical units a booking can take: the item's quantity, one space."""
    if listing.kind == "item" and listing.quantity is not None:
        return max(1, int(listing.quantity))
    return 1


def _check_period(
    data: TransactionCreate, listing: Listing, *, now: datetime
) -> tuple[datetime, datetime, BookingRules]:
    if data.period is None:
        raise InvalidPeriodError.for_field(
            "A booking needs a period.", field="period", message="Field required", type="missing"
        )
    rules = booking_rules(listing)
    start, end = data.period.start, data.period.end
    if start < now - timedelta(minutes=5):
        raise InvalidPeriodError.for_field(
            "The period starts in the past.",
            field="period.start",
            message="Must not be in the past",
            type="invalid_period",
        )
    if start > now + timedelta(days=rules.max_advance_days):
        raise InvalidPeriodError.for_field(
            f"This listing takes bookings at most {rules.max_advance_days} days ahead.",
            field="period.start",
            message="Too far ahead",
            type="invalid_period",
        )
    if end - start > timedelta(days=rules.max_duration_days):
        raise InvalidPeriodError.for_field(
            f"This listing is booked for at most {rules.max_duration_days} days at a time.",
            field="period.end",
            message="Too long",
            type="invalid_period",
        )
    return start, end, rules


def _quantity(
    kind: TransactionType, data: TransactionCreate, listing: Listing
) -> tuple[Decimal | None, str | None]:
    """The requested quantity and unit, checked against the listing."""
    if kind in BOOKING_TYPES or kind is TransactionType.REPAIR:
        if data.quantity is not None or data.unit is not None:
            raise InvalidInputError.for_field(
                f"A {kind} does not take a quantity.",
                field="quantity",
                message="Not allowed for this listing",
                type="extra_forbidden",
            )
        if kind in BOOKING_TYPES:
            if listing.kind == "space":
                area = (listing.details or {}).get("area_m2")
                return (Decimal(str(area)), "m2") if area else (None, None)
            return Decimal(1), "pcs"
        return None, None
    expected = "mwh" if kind is TransactionType.ENERGY_EXCHANGE else listing.unit
    if data.unit is not None and data.unit != expected:
        raise UnitMismatchError.for_field(
            f"This listing is counted in {expected}, not {data.unit}.",
            field="unit",
            message=f"Must be {expected}",
            type="unit_mismatch",
        )
    quantity = data.quantity
    if kind is TransactionType.REUSE:
        quantity = quantity if quantity is not None else Decimal(1)
        if quantity != quantity.to_integral_value():
            raise InvalidInputError.for_field(
                "Items are counted in whole pieces.",
                field="quantity",
                message="Must be a whole number",
                type="int_type",
            )
    if kind is TransactionType.MATERIAL_EXCHANGE and quantity is None:
        raise InvalidInputError.for_field(
            "Say how much of the material you ask for.",
            field="quantity",
            message="Field required",
            type="missing",
        )
    if quantity is None:
        return None, None
    return quantity, expected


async def _check_match_of(
    repo: TransactionRepository,
    match_of: uuid.UUID,
    listing: Listing,
    *,
    receiver_person: uuid.UUID | None,
    receiver_org: uuid.UUID | None,
) -> None:
    """``match_of`` must be the requester's own wanted listing of the same kind: the one whose
    matches (``GET /v1/listings/{id}/matches``) found the listing asked for."""
    wanted = await repo.listing(match_of, lock=None)
    own = wanted is not None and (
        (receiver_person is not None and wanted.owner_person_id == receiver_person)
        or (receiver_org is not None and wanted.owner_organization_id == receiver_org)
    )
    if wanted is None or not own or wanted.mode != "wanted" or wanted.kind != listing.kind:
        raise InvalidMatchOfError.for_field(
            "match_of must be your own wanted listing of the same kind (the one whose matches "
            "found this listing).",
            field="match_of",
            message="Not a wanted listing of yours of this kind",
        )


async def create_transaction(
    session: AsyncSession,
    *,
    principal: Principal,
    data: TransactionCreate,
    now: datetime,
    settings: Settings,
) -> TransactionRead:
    repo = TransactionRepository(session)
    peek = await repo.listing(data.listing_id, lock=None)
    if peek is None:
        raise ListingNotFoundError(f"No listing has the id {data.listing_id}.")
    # A reuse or material exchange changes the listing's committed quantity: take the row's
    # write lock up front (a share lock upgraded later would deadlock two requests); other
    # requests only keep the listing from changing under them.
    consuming = TYPE_OF_LISTING.get((peek.kind, peek.mode)) in CONSUMING_TYPES
    listing = await repo.listing(data.listing_id, lock="update" if consuming else "share")
    if (
        listing is None
        or listing.hidden_at is not None
        or listing.status in ("draft", "pending_review")
    ):
        raise ListingNotFoundError(f"No listing has the id {data.listing_id}.")
    kind = TYPE_OF_LISTING.get((listing.kind, listing.mode))
    if kind is None:
        raise NotTransactableError(
            "A wanted listing is answered by contacting its owner, not by a transaction on it."
        )
    if (kind in CONSUMING_TYPES) != consuming:
        raise ListingNotAvailableError("The listing changed meanwhile; try again.")
    if listing.status != "active" or (listing.expires_at is not None and listing.expires_at <= now):
        raise ListingNotAvailableError(f"The listing is {listing.status}; it takes no requests.")
    receiver_person, receiver_org = await acting_as(
        session, principal, data.organization_id, OrgAction.WRITE_TRANSACTIONS
    )
    if (receiver_person is not None and receiver_person == listing.owner_person_id) or (
        receiver_org is not None and receiver_org == listing.owner_organization_id
    ):
        raise OwnListingError("You cannot ask for your own listing.")
    if (
        receiver_person is not None
        and listing.owner_person_id is not None
        and await BlockRepository(session).between(receiver_person, listing.owner_person_id)
    ):
        raise BlockedError("You cannot ask for this listing.")
    quantity, unit = _quantity(kind, data, listing)
    if data.match_of is not None:
        await _check_match_of(
            repo, data.match_of, listing, receiver_person=receiver_person, receiver_org=receiver_org
        )
    if kind not in BOOKING_TYPES and data.period is not None:
        raise InvalidInputError.for_field(
            f"A {kind} has no period.",
            field="period",
            message="Only for loans, rentals and space shares",
            type="extra_forbidden",
        )
    expires_at = now + timedelta(hours=settings.transactions.request_ttl_hours)
    period = blocked = None
    if kind in BOOKING_TYPES:
        start, end, rules = _check_period(data, listing, now=now)
        await library_member.require_member(
            session,
            listing,
            members_only=rules.members_only,
            person_id=receiver_person,
            through=end,
        )
        period = Range(start, end, bounds="[)")
        blocked = Range(start, end + timedelta(hours=rules.buffer_hours), bounds="[)")
        expires_at = min(expires_at, max(start, now + timedelta(minutes=5)))

    def new_transaction(unit_no: int | None) -> Transaction:
        return Transaction(
            type=kind.value,
            subgoal=subgoal_of(kind, listing.kind).value,
            status=TransactionStatus.REQUESTED.value,
            listing_id=listing.id,
            initiative_id=listing.initiative_id,
            provider_person_id=listing.owner_person_id,
            provider_organization_id=listing.owner_organization_id,
            receiver_person_id=receiver_person,
            receiver_organization_id=receiver_org,
            created_by_person_id=principal.person_id,
            match_of_listing_id=data.match_of,
            message=data.message,
            quantity=quantity,
            unit=unit,
            period=period,
            blocked=blocked,
            unit_no=unit_no,
            created_at=now,
            updated_at=now,
            expires_at=expires_at,
        )

    if blocked is None:
        tx = new_transaction(None)
        await repo.add(tx)
    else:
        # Try the units that look free; the exclusion constraint decides races.
        taken = await repo.busy_units(listing.id, blocked)
        taken |= set(await repo.out_of_service(listing.id))
        for unit_no in [u for u in range(1, units_of(listing) + 1) if u not in taken]:
            tx = new_transaction(unit_no)
            if await repo.add(tx):
                break
        else:
            raise BookingConflictError(
                "The period overlaps another booking of this listing; see its availability."
            )
    await repo.refresh(tx)
    await _tell(session, tx, by=frozenset({Party.RECEIVER}), now=now)
    if data.message:
        await _say(
            session,
            tx,
            Party.RECEIVER,
            person_id=principal.person_id,
            organization_id=receiver_org,
            kind=MessageKind.REQUEST,
            action=None,
            body=data.message,
            now=now,
        )
    return await _read(session, tx, Participation(frozenset({Party.RECEIVER}), {}))


# What each status a transaction moves to tells its parties (through the outbox).
EVENT_OF_STATUS: dict[TransactionStatus, EventType] = {
    TransactionStatus.REQUESTED: EventType.TRANSACTION_REQUESTED,
    TransactionStatus.ACCEPTED: EventType.TRANSACTION_ACCEPTED,
    TransactionStatus.DECLINED: EventType.TRANSACTION_DECLINED,
    TransactionStatus.CANCELLED: EventType.TRANSACTION_CANCELLED,
    TransactionStatus.EXPIRED: EventType.TRANSACTION_EXPIRED,
    TransactionStatus.ACTIVE: EventType.TRANSACTION_PICKED_UP,
    TransactionStatus.OVERDUE: EventType.TRANSACTION_OVERDUE,
    TransactionStatus.RETURNED: EventType.TRANSACTION_RETURNED,
    TransactionStatus.COMPLETED: EventType.TRANSACTION_COMPLETED,
    TransactionStatus.CONFIRMED: EventType.TRANSACTION_CONFIRMED,
    TransactionStatus.DISPUTED: EventType.TRANSACTION_DISPUTED,
    TransactionStatus.VOIDED: EventType.TRANSACTION_VOIDED,
}


def party_recipient(tx: Transaction, party: Party) -> outbox.Recipient:
    if party is Party.PROVIDER:
        return outbox.Recipient(tx.provider_person_id, tx.provider_organization_id)
    return outbox.Recipient(tx.receiver_person_id, tx.receiver_organization_id)


async def _tell(
    session: AsyncSession,
    tx: Transaction,
    *,
    by: frozenset[Party],
    now: datetime,
    event: EventType | None = None,
    extra: dict[str, Any] | None = None,
) -> None:
    """Tell the parties that did not make the move (both, for the clock's and moderators'
    moves) what the transaction's new status is (or ``event``, for a move that keeps it)."""
    event = event or EVENT_OF_STATUS.get(TransactionStatus(tx.status))
    if event is None:
        return
    await outbox.emit(
        session,
        event,
        to=[party_recipient(tx, p) for p in (Party.PROVIDER, Party.RECEIVER) if p not in by],
        payload={
            "transaction_id": str(tx.id),
            "listing_id": str(tx.listing_id),
            "type": tx.type,
            "status": tx.status,
            **(extra or {}),
        },
        now=now,
    )


async def tell_cancelled_by_erasure(
    session: AsyncSession, ids: list[uuid.UUID], *, person_id: uuid.UUID, now: datetime
) -> None:
    """Tell the other parties of the transactions an erasure cancelled."""
    repo = TransactionRepository(session)
    for tx_id in ids:
        tx = await repo.get(tx_id)
        if tx is None:
            continue
        await repo.refresh(tx)
        erased = Party.PROVIDER if tx.provider_person_id == person_id else Party.RECEIVER
        await _tell(session, tx, by=frozenset({erased}), now=now)


async def _say(
    session: AsyncSession,
    tx: Transaction,
    side: Party,
    *,
    person_id: uuid.UUID | None,
    organization_id: uuid.UUID | None,
    kind: MessageKind,
    action: TransactionAction | None,
    body: str,
    now: datetime,
) -> None:
    """A message in the transaction's conversation: the request's message or a move's note.
    For an organization's side the author is the organization (and the member who wrote)."""
    await MessageRepository(session).add(
        Message(
            transaction_id=tx.id,
            author_side=side.value,
            author_person_id=person_id,
            author_organization_id=organization_id,
            kind=kind.value,
            action=None if action is None else action.value,
            body=body,
            created_at=now,
        )
    )


async def _note(
    session: AsyncSession,
    principal: Principal,
    tx: Transaction,
    move: Move,
    participation: Participation,
    note: str,
    now: datetime,
) -> None:
    """The note sent with a move becomes a message of the conversation, from the side that
    moved (a moderator's note from the moderator)."""
    acting = move.by & participation.parties
    side = min(acting & {Party.PROVIDER, Party.RECEIVER}, default=Party.MODERATOR)
    await _say(
        session,
        tx,
        side,
        person_id=principal.person_id,
        organization_id=participation.via_organization.get(side),
        kind=MessageKind.NOTE,
        action=move.action,
        body=note,
        now=now,
    )


# --- moving one -------------------------------------------------------------------------


def _find_move(tx: Transaction, action: TransactionAction) -> Move:
    status = TransactionStatus(tx.status)
    moves = [m for m in MACHINES[TransactionType(tx.type)] if m.action is action]
    if not moves:
        raise InvalidTransitionError(f"A {tx.type} has no {action}.")
    for move in moves:
        if status in move.sources:
            return move
    raise InvalidTransitionError(f"A {tx.type} cannot {action} when it is {status}.")


async def _authorize_move(
    session: AsyncSession, principal: Principal, move: Move, participation: Participation
) -> None:
    acting = move.by & participation.parties
    if not acting:
        who = " or ".join(sorted(p.value for p in move.by))
        raise WrongPartyError(f"Only the {who} can {move.action}.")
    if any(party not in participation.via_organization for party in acting):
        return  # in their own name, or as a moderator
    # For an organization: its members may, and its API keys with transactions:write.
    party = min(acting)
    await authorize_org(
        session, principal, participation.via_organization[party], OrgAction.WRITE_TRANSACTIONS
    )


def _days(start: datetime | None, end: datetime) -> Decimal:
    if start is None:
        return Decimal(0)
    seconds = Decimal(int((end - start).total_seconds()))
    return (seconds / Decimal(86400)).quantize(Decimal("0.001"))


async def _impact_of(
    session: AsyncSession, tx: Transaction, listing: Listing, outcome: RepairOutcome | None
) -> impact.Impact:
    kind = TransactionType(tx.type)
    delivered = tx.delivered_quantity or tx.quantity
    if kind is TransactionType.REUSE:
        return await impact.reuse_impact(
            session,
            category_slug=listing.category_slug,
            items=delivered or Decimal(1),
            weight_kg_per_item=listing.weight_kg,
        )
    if kind is TransactionType.REPAIR:
        assert outcome is not None
        return await impact.repair_impact(
            session, category_slug=listing.category_slug, repair_status=outcome.repair_status
        )
    if kind is TransactionType.MATERIAL_EXCHANGE and delivered is not None and tx.unit:
        return await impact.material_impact(session, quantity=delivered, unit=tx.unit)
    return impact.Impact(impact.ImpactBasis.ACTIVITY)


def _party(person_id: uuid.UUID | None, org_id: uuid.UUID | None) -> PartyRef:
    return PartyRef(person_id=person_id, organization_id=org_id)


async def _record_completion(
    session: AsyncSession, tx: Transaction, listing: Listing, repair: Repair | None, now: datetime
) -> None:
    kind = TransactionType(tx.type)
    quantity, unit, days = tx.delivered_quantity or tx.quantity, tx.unit, None
    if kind in BOOKING_TYPES:
        days = _days(tx.started_at, now)
    await evidence_service.record(
        session,
        EvidenceDraft(
            occurred_at=now,
            event=EvidenceEvent.COMPLETED,
            grade=EvidenceGrade.REPORTED,
            type=tx.type,
            subgoal=tx.subgoal,
            provider=_party(tx.provider_person_id, tx.provider_organization_id),
            receiver=_party(tx.receiver_person_id, tx.receiver_organization_id),
            transaction_id=tx.id,
            repair_id=repair.id if repair is not None else None,
            kommunenummer=listing.kommunenummer,
            fylkesnummer=listing.fylkesnummer,
            category_slug=listing.category_slug,
            ewc_code=listing.ewc_code,
            ords_category_id=repair.ords_category_id if repair is not None else None,
            repair_status=repair.repair_status if repair is not None else None,
            quantity=quantity if unit else None,
            unit=unit if quantity is not None else None,
            days=days,
            kg_diverted=tx.kg_diverted,
            co2e_kg=tx.co2e_kg,
            factor_revision=tx.factor_revision,
            initiative_id=tx.initiative_id,
            matched=tx.match_of_listing_id is not None,
        ),
    )


async def _report_repair(
    session: AsyncSession,
    tx: Transaction,
    listing: Listing,
    outcome: RepairOutcome,
    result: impact.Impact,
    now: datetime,
) -> Repair:
    ords_id = await TransactionRepository(session).ords_category_of(listing.category_slug)
    repair = Repair(
        organization_id=tx.provider_organization_id,
        source="transaction",
        transaction_id=tx.id,
        data_provider="Sirkel",
        provider_record_id=str(tx.id),
        country="NOR",
        partner_product_category=listing.category_slug or "",
        ords_category_id=ords_id or 18,  # 18 = Misc
        category_slug=listing.category_slug,
        brand=outcome.brand or None,
        year_of_manufacture=outcome.year_of_manufacture,
        product_age=outcome.product_age,
        repair_status=outcome.repair_status,
        repair_barrier=outcome.repair_barrier,
        event_date=now.date(),
        problem=outcome.problem,
        kommunenummer=listing.kommunenummer,
        fylkesnummer=listing.fylkesnummer,
        factor_revision=result.factor_revision,
        kg_diverted=result.kg_diverted,
        co2e_kg=result.co2e_kg,
        created_at=now,
        updated_at=now,
    )
    return await RepairRepository(session).add(repair)


def _missing(field: str, message: str) -> InvalidInputError:
    return InvalidInputError.for_field(
        message, field=field, message="Field required", type="missing"
    )


def _check_body(
    kind: TransactionType, action: TransactionAction, body: TransactionActionBody
) -> None:
    """A repair outcome and a delivered quantity come only with the moves that take them."""
    figures = action in (TransactionAction.COMPLETE, TransactionAction.CORRECT)
    if body.repair is not None and not (kind is TransactionType.REPAIR and figures):
        raise InvalidInputError.for_field(
            "Only completing or correcting a repair takes a repair outcome.",
            field="repair",
            message="Not allowed here",
            type="extra_forbidden",
        )
    if (body.unit_status is not None or body.condition_note) and not (
        action is TransactionAction.RETURN
        and kind in (TransactionType.LOAN, TransactionType.RENTAL)
    ):
        raise InvalidInputError.for_field(
            "Only returning a loan or rental takes a unit status and condition note.",
            field="unit_status" if body.unit_status is not None else "condition_note",
            message="Not allowed here",
            type="extra_forbidden",
        )
    if body.until is not None and action is not TransactionAction.RENEW:
        raise InvalidInputError.for_field(
            "Only renewing a booking takes a new end.",
            field="until",
            message="Not allowed here",
            type="extra_forbidden",
        )
    if body.delivered_quantity is not None and (
        kind in BOOKING_TYPES or kind is TransactionType.REPAIR or not figures
    ):
        raise InvalidInputError.for_field(
            "Only completing or correcting a handover takes a delivered quantity.",
            field="delivered_quantity",
            message="Not allowed here",
            type="extra_forbidden",
        )


@dataclass(frozen=True, slots=True)
class _Step:
    """A move being made: what its effect works on."""

    session: AsyncSession
    tx: Transaction
    kind: TransactionType
    listing: Listing
    body: TransactionActionBody
    now: datetime


def _deliver(tx: Transaction, quantity: Decimal | None) -> None:
    if quantity is not None:
        tx.delivered_quantity = quantity
        if tx.unit is None:
            tx.unit = "mwh"


async def _count_impact(step: _Step, outcome: RepairOutcome | None) -> impact.Impact:
    """Computes the transaction's impact and stores it with its basis."""
    result = await _impact_of(step.session, step.tx, step.listing, outcome)
    step.tx.impact_basis = result.basis.value
    store_impact(step.tx, result)
    return result


async def _no_effect(_step: _Step) -> Repair | None:
    return None


async def _accept(step: _Step) -> Repair | None:
    listing = step.listing
    if listing.status not in ("active", "reserved") or listing.hidden_at is not None:
        raise ListingNotAvailableError(
            f"The listing is {listing.status}; the request can only be declined."
        )
    step.tx.accepted_at = step.now
    step.tx.expires_at = None
    return None


async def _start(step: _Step) -> Repair | None:
    step.tx.started_at = step.now
    return None


async def _complete(step: _Step) -> Repair | None:
    tx, kind, outcome = step.tx, step.kind, step.body.repair
    if kind is TransactionType.ENERGY_EXCHANGE and step.body.delivered_quantity is None:
        raise _missing("delivered_quantity", "Say how many MWh were delivered.")
    if kind is TransactionType.REPAIR and outcome is None:
        raise _missing("repair", "Report the repair's outcome.")
    _deliver(tx, step.body.delivered_quantity)
    tx.completed_at = step.now
    status = step.body.unit_status
    if status is not None and status is not UnitStatus.AVAILABLE and tx.unit_no is not None:
        await TransactionRepository(step.session).take_out_of_service(
            UnitOutOfService(
                listing_id=tx.listing_id,
                unit_no=tx.unit_no,
                status=status.value,
                note=step.body.condition_note,
                transaction_id=tx.id,
                since=step.now,
            )
        )
    result = await _count_impact(step, outcome)
    if outcome is None:
        return None
    return await _report_repair(step.session, tx, step.listing, outcome, result, step.now)


async def _confirm(step: _Step) -> Repair | None:
    step.tx.confirmed_at = step.now
    return None


async def _correct(step: _Step) -> Repair | None:
    tx, outcome = step.tx, step.body.repair
    if step.kind is TransactionType.REPAIR:
        if outcome is None:
            raise _missing("repair", "Give the corrected repair outcome.")
    elif step.body.delivered_quantity is None:
        raise _missing("delivered_quantity", "Give the corrected quantity.")
    else:
        _deliver(tx, step.body.delivered_quantity)
    result = await _count_impact(step, outcome)
    if outcome is None:
        return None
    return await _correct_repair(step.session, tx, outcome, result, step.now)


async def _renew(step: _Step) -> Repair | None:
    """Extend the period (to ``until``, else by its own length) within the listing's rules;
    the exclusion constraint decides whether the unit is free for the extension."""
    tx, listing = step.tx, step.listing
    rules = booking_rules(listing)
    if listing.status not in ("active", "reserved") or listing.hidden_at is not None:
        raise ListingNotAvailableError(
            f"The listing is {listing.status}; the booking cannot be renewed, only returned."
        )
    if tx.renewals >= rules.max_renewals:
        raise RenewalLimitReachedError(
            f"This booking was renewed {tx.renewals} times, as often as the listing allows "
            f"({rules.max_renewals})."
        )
    if await HoldRepository(step.session).has_waiting(listing.id):
        raise HoldWaitingError("Someone waits in this listing's queue: return it when it is due.")
    start, end = tx.period.lower, tx.period.upper
    longest = timedelta(days=rules.max_duration_days)
    until = step.body.until or end + min(end - start, longest)
    if until <= end:
        raise InvalidPeriodError.for_field(
            "A renewal ends after the current period.",
            field="until",
            message="Must be after the current end",
            type="invalid_period",
        )
    if until - end > longest:
        raise InvalidPeriodError.for_field(
            f"A renewal extends a booking by at most {rules.max_duration_days} days.",
            field="until",
            message="Too long",
            type="invalid_period",
        )
    tx.period = Range(start, until, bounds="[)")
    tx.blocked = Range(tx.blocked.lower, until + timedelta(hours=rules.buffer_hours), bounds="[)")
    tx.renewals += 1
    if not await TransactionRepository(step.session).save_booking(tx):
        raise RenewalConflictError(
            "Someone else has booked this unit in the extended period; return it on time, or "
            "ask for a shorter renewal (see the listing's availability)."
        )
    return None


# What each effect does; it returns the repair it reported or corrected, if any.
_EFFECTS: dict[Effect, Callable[[_Step], Awaitable[Repair | None]]] = {
    Effect.NONE: _no_effect,
    Effect.ACCEPT: _accept,
    Effect.START: _start,
    Effect.COMPLETE: _complete,
    Effect.CONFIRM: _confirm,
    Effect.CORRECT: _correct,
    Effect.RENEW: _renew,
}


async def _write_evidence(
    session: AsyncSession,
    tx: Transaction,
    event: EvidenceEvent,
    *,
    listing: Listing,
    repair: Repair | None,
    now: datetime,
) -> None:
    """The ledger last: a completion appends a record; any other event amends the counted one."""
    if event is EvidenceEvent.COMPLETED:
        await _record_completion(session, tx, listing, repair, now)
        return
    changes = _corrected_figures(tx, repair) if event is EvidenceEvent.CORRECTED else None
    await evidence_service.amend_counted(
        session, transaction_id=tx.id, event=event, occurred_at=now, changes=changes
    )


async def act_on_transaction(
    session: AsyncSession,
    *,
    principal: Principal,
    transaction_id: uuid.UUID,
    action: TransactionAction,
    body: TransactionActionBody,
    now: datetime,
    settings: Settings,
) -> TransactionRead:
    if action in SYSTEM_ACTIONS:
        raise InvalidTransitionError(f"{action} is the clock's move, not a party's.")
    repo = TransactionRepository(session)
    tx, participation = await _load(session, principal, transaction_id, lock=True)
    move = _find_move(tx, action)
    await _authorize_move(session, principal, move, participation)
    kind = TransactionType(tx.type)
    # A booking that frees its unit while someone queues for the listing passes the unit on
    # (app.services.hold): the listing's lock is taken now, before the status changes. Taken
    # after, a booking request of the same period (holding the listing's share lock and
    # waiting on this row for the exclusion constraint) would deadlock with it.
    releasing = kind in BOOKING_TYPES and move.target in RELEASING_STATUSES
    queued = releasing and await HoldRepository(session).has_waiting(tx.listing_id)
    listing = await repo.listing(
        tx.listing_id, lock="update" if kind in CONSUMING_TYPES or queued else None
    )
    assert listing is not None
    _check_body(kind, action, body)
    if move.target is not None:
        tx.status = move.target.value
    tx.updated_at = now
    if move.target in CLOSING_STATUSES:
        tx.closed_at = now
    repair = await _EFFECTS[move.effect](_Step(session, tx, kind, listing, body, now))
    await repo.flush()
    if move.evidence is not None:
        await _write_evidence(session, tx, move.evidence, listing=listing, repair=repair, now=now)
    if body.note:
        await _note(session, principal, tx, move, participation, body.note, now)
    if move.target is not None:
        await _tell(session, tx, by=move.by & participation.parties, now=now)
    if queued:
        # The unit came free: the listing's waitlist moves on (app.services.hold, which
        # imports this module). A hold placed after the check above waits for the clock's
        # next tick (app.services.hold.lapse moves every queue with a free unit).
        from app.services import hold

        await hold.advance(session, listing, now=now, settings=settings)
    if move.effect is Effect.RENEW:
        await _tell(
            session,
            tx,
            by=move.by & participation.parties,
            now=now,
            event=EventType.TRANSACTION_RENEWED,
            extra={"due_at": tx.period.upper.isoformat(), "renewals": tx.renewals},
        )
    await repo.refresh(tx)
    return await _read(session, tx, participation)


def _corrected_figures(tx: Transaction, repair: Repair | None) -> dict[str, Any]:
    changes: dict[str, Any] = {
        "kg_diverted": tx.kg_diverted,
        "co2e_kg": tx.co2e_kg,
        "factor_revision": tx.factor_revision,
    }
    if repair is not None:
        changes["repair_status"] = repair.repair_status
    else:
        changes["quantity"] = tx.delivered_quantity or tx.quantity
    return changes


async def _correct_repair(
    session: AsyncSession,
    tx: Transaction,
    outcome: RepairOutcome,
    result: impact.Impact,
    now: datetime,
) -> Repair:
    repair = await TransactionRepository(session).repair_of(tx.id)
    repair.repair_status = outcome.repair_status
    repair.repair_barrier = outcome.repair_barrier
    if outcome.brand:
        repair.brand = outcome.brand
    if outcome.year_of_manufacture is not None:
        repair.year_of_manufacture = outcome.year_of_manufacture
    if outcome.product_age is not None:
        repair.product_age = outcome.product_age
    if outcome.problem:
        repair.problem = outcome.problem
    store_impact(repair, result)
    repair.updated_at = now
    return repair


# --- the clock ----------------------------------------------------------------------------


@dataclass(slots=True)
class TickReport:
    expired_requests: int = 0
    lapsed_bookings: int = 0
    overdue: int = 0
    due_reminders: int = 0


# A borrower is reminded this long before a loan, rental or space share is due back, on the
# morning it is due (``transaction.due_today``), and this many days after it became overdue.
DUE_REMINDER = timedelta(hours=24)
OVERDUE_REMINDER_DAYS = (1, 3, 7)


async def tick(session: AsyncSession, *, now: datetime) -> TickReport:
    """Expire unanswered requests, lapse bookings never picked up, mark late loans overdue,
    remind borrowers of what is due back within a day and today, and of what is 1, 3 and 7
    days overdue (each once per due time)."""
    repo = TransactionRepository(session)
    report = TickReport()
    due, unpicked = await repo.due_requests(now), await repo.unpicked_bookings(now)
    report.expired_requests = await repo.close_many(
        due, status=TransactionStatus.EXPIRED.value, now=now
    )
    report.lapsed_bookings = await repo.close_many(
        unpicked, status=TransactionStatus.EXPIRED.value, now=now
    )
    for tx_id in [*due, *unpicked]:
        expired = await repo.get(tx_id)
        if expired is not None and expired.status == TransactionStatus.EXPIRED.value:
            await _tell(session, expired, by=frozenset(), now=now)
    for tx_id in await repo.late_bookings(now):
        tx = await repo.get(tx_id, for_update=True)
        if tx is None or tx.status != TransactionStatus.ACTIVE.value:
            continue
        # Blocked, open-ended, until it is back — but not over a booking agreed earlier.
        start = tx.blocked.lower
        until = await repo.next_booking_start(tx, tx.blocked.upper)
        tx.status = TransactionStatus.OVERDUE.value
        tx.blocked = Range(start, until, bounds="[)")
        tx.updated_at = now
        await repo.flush()
        await _tell(session, tx, by=frozenset(), now=now)
        report.overdue += 1
    reminders: list[tuple[EventType, Transaction, dict[str, int]]] = [
        (EventType.TRANSACTION_DUE_SOON, tx, {})
        for tx in await repo.due_within(now, now + DUE_REMINDER)
    ]
    reminders += [(EventType.TRANSACTION_DUE_TODAY, tx, {}) for tx in await repo.due_today(now)]
    # Overdue: the most days reached of OVERDUE_REMINDER_DAYS (a clock that was stopped for
    # a while does not send the smaller ones late).
    reminded: set[uuid.UUID] = set()
    for days in sorted(OVERDUE_REMINDER_DAYS, reverse=True):
        for tx in await repo.overdue_since(now, days):
            if tx.id not in reminded:
                reminded.add(tx.id)
                reminders.append((EventType.TRANSACTION_STILL_OVERDUE, tx, {"days_overdue": days}))
    for event, tx, extra in reminders:
        due_at = tx.period.upper
        report.due_reminders += await outbox.emit(
            session,
            event,
            to=[party_recipient(tx, Party.RECEIVER)],
            payload={
                "transaction_id": str(tx.id),
                "listing_id": str(tx.listing_id),
                "due_at": due_at.isoformat(),
                **extra,
            },
            now=now,
            # The event type is part of the key: only the overdue days need adding.
            once=":".join([str(tx.id), due_at.isoformat(), *(str(v) for v in extra.values())]),
        )
    return report


# --- availability ---------------------------------------------------------------------------


async def availability(
    session: AsyncSession,
    *,
    listing: Listing,
    start: datetime,
    end: datetime,
) -> Availability:
    units = units_of(listing)
    repo = TransactionRepository(session)
    busy = await repo.busy(listing.id, start, end)
    broken = {u for u in await repo.out_of_service(listing.id) if u <= units}
    # Free periods: sweep the window's boundaries, counting units busy between them.
    points = {start, end}
    for b in busy:
        points.add(max(start, b["start"]))
        points.add(min(end, b["end"]) if b["end"] is not None else end)
    edges = sorted(p for p in points if start <= p <= end)
    free: list[FreePeriod] = []
    for left, right in itertools.pairwise(edges):
        if left >= right:
            continue
        taken = broken | {
            b["unit_no"]
            for b in busy
            if b["start"] < right and (b["end"] is None or b["end"] > left)
        }
        units_free = units - len(taken)
        if units_free <= 0:
            continue
        if free and free[-1].end == left and free[-1].units_free == units_free:
            free[-1].end = right
        else:
            free.append(FreePeriod(start=left, end=right, units_free=units_free))
    return Availability(
        listing_id=listing.id,
        units=units,
        units_out_of_service=len(broken),
        window_start=start,
        window_end=end,
        busy=[
            BusyPeriod(
                start=b["start"],
                end=b["end"],
                unit_no=b["unit_no"],
                status=TransactionStatus(b["status"]),
            )
            for b in busy
        ],
        free=free,
    )
