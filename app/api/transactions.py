"""/v1/transactions — ask for a listing, move the transaction along its state machine, list
your own; and /v1/listings/{id}/availability for bookable listings."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, status
from pydantic import AwareDatetime

from app.api.deps import ClockDep, OptionalPrincipalDep, PrincipalDep, SettingsDep
from app.api.params import AUTH_PROBLEMS as _AUTH
from app.api.params import OPTIONAL_AUTH_PROBLEMS
from app.db import SessionDep
from app.errors import (
    BlockedError,
    BookingConflictError,
    HoldWaitingError,
    InsufficientQuantityError,
    InsufficientRoleError,
    InsufficientScopeError,
    InvalidCursorError,
    InvalidInputError,
    InvalidMatchOfError,
    InvalidPeriodError,
    InvalidTransitionError,
    ListingNotAvailableError,
    ListingNotFoundError,
    NotAMemberError,
    NotTransactableError,
    OrganizationNotFoundError,
    OwnListingError,
    RenewalConflictError,
    RenewalLimitReachedError,
    TransactionNotFoundError,
    UnitMismatchError,
    WrongOrganizationError,
    WrongPartyError,
    problem_responses,
)
from app.models.transaction import TransactionStatus, TransactionType
from app.schemas.organization import LendingStats
from app.schemas.transaction import (
    Availability,
    LoanPage,
    Role,
    TransactionActionBody,
    TransactionCreate,
    TransactionPage,
    TransactionRead,
)
from app.services import listing as listing_service
from app.services import transaction as service
from app.services.transaction import TransactionAction

router = APIRouter(tags=["transactions"])

TransactionIdPath = Annotated[uuid.UUID, Path(description="The transaction's id")]
_ORG = (NotAMemberError, InsufficientRoleError, InsufficientScopeError, WrongOrganizationError)
MAX_AVAILABILITY_DAYS = 366


_CREATE_EXAMPLES: dict[str, Any] = {
    "loan": {
        "summary": "Borrow a drill for a weekend",
        "value": {
            "listing_id": "0b6f4f4e-6c7a-4a55-9d39-0f7b8f3c1a20",
            "period": {"start": "2026-12-05T10:00:00+01:00", "end": "2026-12-07T18:00:00+01:00"},
            "message": "Trenger den til hyller på loftet",
        },
    },
    "reuse": {
        "summary": "Ask for two of the chairs given away",
        "value": {"listing_id": "4a0d5c53-8b1e-4f3a-9a8e-2b6f0c7d9e11", "quantity": 2},
    },
    "material": {
        "summary": "A company asks for 1.5 t of surplus timber",
        "value": {
            "listing_id": "7e2c9a41-3d5b-4c6e-8f70-91a2b3c4d5e6",
            "organization_id": "c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f",
            "quantity": 1.5,
            "unit": "t",
        },
    },
}


@router.post(
    "/v1/transactions",
    status_code=status.HTTP_201_CREATED,
    response_model=TransactionRead,
    summary="Ask for a listing",
    description="Starts a transaction in `requested`. Its type follows from the listing: an "
    "item given or sold → `reuse`, lent → `loan`, rented → `rental`; a space lent → "
    "`space_share`, rented → `rental`; material → `material_exchange`; energy → "
    "`energy_exchange`; a repair service → `repair`. Loans, rentals and space shares need a "
    "`period`: it must not overlap a live booking of the same unit (`409 booking_conflict`; "
    "the database's exclusion constraint decides races) and must fit the listing's booking "
    "rules (how far ahead, how long; `422 invalid_period`). A reuse or material exchange "
    "holds its quantity until it is declined, cancelled or expires; asking for more than is "
    "left is `409 insufficient_quantity`. Set `organization_id` to ask for an organization "
    "you belong to; an API key (scope `transactions:write`) asks for its own. An unanswered "
    "request expires (`python -m app.cli tick`). `match_of`, your own wanted listing of the "
    "same kind whose matches found this one, is recorded in the exchange's evidence "
    "(`422 invalid_match_of` otherwise).",
    responses=problem_responses(
        *_AUTH,
        *_ORG,
        OrganizationNotFoundError,
        ListingNotFoundError,
        ListingNotAvailableError,
        BookingConflictError,
        InsufficientQuantityError,
        OwnListingError,
        BlockedError,
        NotTransactableError,
        InvalidPeriodError,
        UnitMismatchError,
        InvalidMatchOfError,
        422,
    ),
)
async def create_transaction(
    session: SessionDep,
    principal: PrincipalDep,
    now: ClockDep,
    settings: SettingsDep,
    data: Annotated[TransactionCreate, Body(openapi_examples=_CREATE_EXAMPLES)],
) -> TransactionRead:
    return await service.create_transaction(
        session, principal=principal, data=data, now=now, settings=settings
    )


@router.get(
    "/v1/transactions",
    response_model=TransactionPage,
    summary="Your transactions",
    description="Newest first. As a person: your own and those of every organization you "
    "belong to (or only one with `organization_id`); as an API key: its organization's. "
    "Filter by your `role`, `status`, `type` and `listing_id`; page with `next_cursor`.",
    responses=problem_responses(*_AUTH, *_ORG, OrganizationNotFoundError, InvalidCursorError, 422),
)
async def list_transactions(
    session: SessionDep,
    principal: PrincipalDep,
    role: Annotated[Role | None, Query(description="Only where you are this party")] = None,
    status_: Annotated[
        list[TransactionStatus] | None,
        Query(alias="status", description="One or more statuses"),
    ] = None,
    type_: Annotated[
        list[TransactionType] | None, Query(alias="type", description="One or more types")
    ] = None,
    listing_id: Annotated[uuid.UUID | None, Query(description="Only this listing's")] = None,
    organization_id: Annotated[
        uuid.UUID | None, Query(description="Only this organization's (you must belong to it)")
    ] = None,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> TransactionPage:
    return await service.list_transactions(
        session,
        principal=principal,
        role=role.value if role else None,
        statuses=[s.value for s in status_ or []],
        types=[t.value for t in type_ or []],
        listing_id=listing_id,
        organization_id=organization_id,
        cursor=cursor,
        limit=limit,
    )


@router.get(
    "/v1/organizations/{organization_id}/loans",
    response_model=LoanPage,
    summary="An organization's loans",
    description="The loans, rentals and space shares the organization provides, soonest due "
    "first, each with `due_at` and `days_overdue`: a library's desk list. `status` filters "
    "(default: `accepted`, `active` and `overdue`; `?status=overdue` for what is late). For "
    "members who may act on its transactions, and its API keys with `transactions:write`.",
    responses=problem_responses(*_AUTH, *_ORG, OrganizationNotFoundError, InvalidCursorError, 422),
)
async def list_loans(
    session: SessionDep,
    principal: PrincipalDep,
    now: ClockDep,
    organization_id: Annotated[uuid.UUID, Path(description="The organization's id")],
    status_: Annotated[
        list[TransactionStatus] | None,
        Query(alias="status", description="One or more statuses"),
    ] = None,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> LoanPage:
    return await service.list_loans(
        session,
        principal=principal,
        organization_id=organization_id,
        statuses=[s.value for s in status_ or []],
        cursor=cursor,
        limit=limit,
        now=now,
    )


@router.get(
    "/v1/organizations/{organization_id}/stats",
    response_model=LendingStats,
    summary="A lender's own figures",
    description="A library's dashboard: its lendable listings and units now, loans and "
    "rentals returned in the last `days` days (default 365) and how many per unit per year, "
    "units not picked up in the last 90 days (`idle_units`, `idle_share`), what is out and "
    "overdue now, renewals and distinct borrowers. The organization's own data, so nothing is "
    "suppressed: for its members and its API keys with `impact:read`.",
    responses=problem_responses(*_AUTH, *_ORG, OrganizationNotFoundError, 422),
)
async def lending_stats(
    session: SessionDep,
    principal: PrincipalDep,
    now: ClockDep,
    organization_id: Annotated[uuid.UUID, Path(description="The organization's id")],
    days: Annotated[
        int, Query(ge=1, le=3660, description="The window for the flows, in days")
    ] = 365,
) -> LendingStats:
    return await service.lending_stats(
        session, principal=principal, organization_id=organization_id, days=days, now=now
    )


@router.get(
    "/v1/transactions/{transaction_id}",
    response_model=TransactionRead,
    summary="One transaction",
    description="For its parties (and members of a party organization) and moderators; "
    "`actions` lists what you may do next. Anyone else gets `404`.",
    responses=problem_responses(*_AUTH, TransactionNotFoundError, 422),
)
async def get_transaction(
    session: SessionDep, principal: PrincipalDep, transaction_id: TransactionIdPath
) -> TransactionRead:
    return await service.get_transaction(
        session, principal=principal, transaction_id=transaction_id
    )


_ACTION_EXAMPLES: dict[str, Any] = {
    "none": {"summary": "accept, decline, cancel, pickup, return, confirm", "value": {}},
    "delivered": {
        "summary": "complete a material exchange with the delivered quantity",
        "value": {"delivered_quantity": 1.2},
    },
    "repair": {
        "summary": "complete a repair with its outcome (ORDS)",
        "value": {
            "repair": {
                "repair_status": "Fixed",
                "brand": "Lenovo",
                "product_age": 4,
                "problem": "Hengsel knekt, byttet",
            }
        },
    },
    "dispute": {"summary": "dispute a handover", "value": {"note": "Fikk aldri stolen"}},
    "renew": {
        "summary": "renew a loan to a chosen end (without a body: by its own length)",
        "value": {"until": "2026-12-20T12:00:00Z"},
    },
}


@router.post(
    "/v1/transactions/{transaction_id}/{action}",
    response_model=TransactionRead,
    summary="Move a transaction along its state machine",
    description="Provider: `accept`, `decline`, `complete` (handovers: with "
    "`delivered_quantity` for exchanges — required for energy — or the `repair` outcome), "
    "`pickup` and `return` (bookings), `cancel` an accepted one. Receiver: `cancel`, "
    "`confirm` or `dispute` a completed or returned one. Either party: `renew` an active "
    "booking, by its own length or to `until`, at most `details.booking.max_renewals` times "
    "(`409 renewal_limit_reached`), not while someone waits in the listing's queue (`409 "
    "hold_waiting`) and never over someone else's booking of the unit (`409 "
    "renewal_conflict`). Moderators: `uphold` or `void` a "
    "dispute, `correct` a completed handover's quantity or repair outcome. Completing, "
    "returning, confirming, disputing, upholding and correcting append evidence records. A "
    "move the state machine does not have from the current status is `409 "
    "invalid_transition`; a move that belongs to the other party is `403 wrong_party`.",
    responses=problem_responses(
        *_AUTH,
        *_ORG,
        TransactionNotFoundError,
        WrongPartyError,
        InvalidTransitionError,
        ListingNotAvailableError,
        InsufficientQuantityError,
        RenewalLimitReachedError,
        RenewalConflictError,
        HoldWaitingError,
        InvalidPeriodError,
        422,
    ),
)
async def act_on_transaction(
    session: SessionDep,
    principal: PrincipalDep,
    now: ClockDep,
    settings: SettingsDep,
    transaction_id: TransactionIdPath,
    action: Annotated[TransactionAction, Path(description="What to do")],
    body: Annotated[TransactionActionBody | None, Body(openapi_examples=_ACTION_EXAMPLES)] = None,
) -> TransactionRead:
    return await service.act_on_transaction(
        session,
        principal=principal,
        transaction_id=transaction_id,
        action=action,
        body=body or TransactionActionBody(),
        now=now,
        settings=settings,
    )


@router.get(
    "/v1/listings/{listing_id}/availability",
    response_model=Availability,
    summary="When a bookable listing is free",
    description="Busy periods (live bookings including the listing's buffer hours; an "
    "overdue loan's is open-ended until the item is back) and free periods with how many "
    "identical units are free, between `from` (default now) and `to` (default 30 days later; "
    f"at most {MAX_AVAILABILITY_DAYS} days). Who booked is never shown.",
    responses=problem_responses(
        *OPTIONAL_AUTH_PROBLEMS, ListingNotFoundError, NotTransactableError, 422
    ),
)
async def get_availability(
    session: SessionDep,
    principal: OptionalPrincipalDep,
    now: ClockDep,
    listing_id: Annotated[uuid.UUID, Path(description="The listing's id")],
    from_: Annotated[AwareDatetime | None, Query(alias="from")] = None,
    to: Annotated[AwareDatetime | None, Query()] = None,
) -> Availability:
    start = from_ or now
    end = to or start + timedelta(days=30)
    if end <= start or end - start > timedelta(days=MAX_AVAILABILITY_DAYS):
        raise InvalidInputError.for_field(
            f"`to` must be after `from`, at most {MAX_AVAILABILITY_DAYS} days later.",
            location="query",
            field="to",
            message=f"After from, within {MAX_AVAILABILITY_DAYS} days",
        )
    listing = await listing_service.visible_listing(
        session, principal=principal, listing_id=listing_id
    )
    if (listing.kind, listing.mode) not in (
        ("item", "lend"),
        ("item", "rent"),
        ("space", "lend"),
        ("space", "rent"),
    ):
        raise NotTransactableError("Only lendable and rentable listings are booked.")
    return await service.availability(session, listing=listing, start=start, end=end)
