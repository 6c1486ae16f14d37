"""Holds: a borrower's place in the queue for a lendable listing whose units are all out
(``app.services.hold``)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Path, Query, status

from app.api.deps import ClockDep, PrincipalDep, SettingsDep
from app.api.params import AUTH_PROBLEMS
from app.db import SessionDep
from app.errors import (
    AlreadyHoldingError,
    BlockedError,
    BookingConflictError,
    HoldNotFoundError,
    HoldNotReadyError,
    InvalidCursorError,
    InvalidInputError,
    InvalidPeriodError,
    ListingAvailableError,
    ListingNotFoundError,
    ListingNotHoldableError,
    OwnListingError,
    PersonRequiredError,
    UnitNotFoundError,
    problem_responses,
)
from app.schemas.hold import HoldCheckout, HoldPage, HoldRead
from app.schemas.transaction import TransactionRead, UnitList, UnitStatusUpdate
from app.services import hold as service

router = APIRouter(tags=["holds"])

HoldIdPath = Annotated[uuid.UUID, Path(description="The hold's id")]
ListingIdPath = Annotated[uuid.UUID, Path(description="The listing's id")]
CursorParam = Annotated[str | None, Query(max_length=512, description="From `next_cursor`")]
LimitParam = Annotated[int, Query(ge=1, le=100, description="Page size")]


@router.post(
    "/v1/listings/{listing_id}/holds",
    status_code=status.HTTP_201_CREATED,
    response_model=HoldRead,
    summary="Queue for a listing",
    description="When every unit of an active listing of items to lend or rent is booked or "
    "out now, a signed-in person takes a place in its queue (first come, first served). When a "
    "unit comes back, the first in line gets it kept for them for the pickup window "
    "(`SIRKEL_TRANSACTIONS__HOLD_PICKUP_HOURS`, 48 h) and a `hold.ready` notification. A "
    "unit free now is `409 listing_available` (ask for it instead); a second hold on the same "
    "listing is `409 already_holding`.",
    responses=problem_responses(
        *AUTH_PROBLEMS,
        PersonRequiredError,
        BlockedError,
        ListingNotFoundError,
        ListingNotHoldableError,
        ListingAvailableError,
        AlreadyHoldingError,
        OwnListingError,
        422,
    ),
)
async def place_hold(
    session: SessionDep, principal: PrincipalDep, now: ClockDep, listing_id: ListingIdPath
) -> HoldRead:
    return await service.place_hold(session, principal=principal, listing_id=listing_id, now=now)


@router.get(
    "/v1/listings/{listing_id}/holds",
    response_model=HoldPage,
    summary="A listing's queue",
    description="The live holds of a listing in queue order (ready ones first came from its "
    "front), with each holder's public name: for the listing's owner and its organization's "
    "members. Anyone else gets `404`.",
    responses=problem_responses(*AUTH_PROBLEMS, ListingNotFoundError, InvalidCursorError, 422),
)
async def listing_queue(
    session: SessionDep,
    principal: PrincipalDep,
    listing_id: ListingIdPath,
    cursor: CursorParam = None,
    limit: LimitParam = 20,
) -> HoldPage:
    return await service.listing_queue(
        session, principal=principal, listing_id=listing_id, cursor=cursor, limit=limit
    )


@router.get(
    "/v1/me/holds",
    response_model=HoldPage,
    summary="Your holds",
    description="Your holds, newest first, each with its `position` while waiting and "
    "`ready_until` while a unit is kept for you.",
    responses=problem_responses(*AUTH_PROBLEMS, PersonRequiredError, InvalidCursorError, 422),
)
async def my_holds(
    session: SessionDep,
    principal: PrincipalDep,
    cursor: CursorParam = None,
    limit: LimitParam = 20,
) -> HoldPage:
    return await service.my_holds(session, principal=principal, cursor=cursor, limit=limit)


@router.get(
    "/v1/holds/{hold_id}",
    response_model=HoldRead,
    summary="One hold",
    description="For its holder and the listing's managers; anyone else gets `404`.",
    responses=problem_responses(*AUTH_PROBLEMS, HoldNotFoundError, 422),
)
async def get_hold(session: SessionDep, principal: PrincipalDep, hold_id: HoldIdPath) -> HoldRead:
    return await service.get_hold(session, principal=principal, hold_id=hold_id)


@router.post(
    "/v1/holds/{hold_id}/cancel",
    response_model=HoldRead,
    summary="Leave the queue",
    description="The holder (or the listing's managers) cancel a waiting or ready hold; a "
    "ready hold's unit goes to the next in line. Cancelling a closed hold changes nothing.",
    responses=problem_responses(*AUTH_PROBLEMS, HoldNotFoundError, 422),
)
async def cancel_hold(
    session: SessionDep,
    principal: PrincipalDep,
    now: ClockDep,
    settings: SettingsDep,
    hold_id: HoldIdPath,
) -> HoldRead:
    return await service.cancel_hold(
        session, principal=principal, hold_id=hold_id, now=now, settings=settings
    )


@router.post(
    "/v1/holds/{hold_id}/checkout",
    status_code=status.HTTP_201_CREATED,
    response_model=TransactionRead,
    summary="Lend a ready hold out",
    description="The listing's managers (a library's staff at the desk) turn a ready hold "
    "into a loan (or rental) of the kept unit, from now to `until` (default 14 days, at most "
    "the listing's `max_duration_days`), accepted and picked up in one step. A hold that is "
    "not ready is `409 hold_not_ready`; a period that runs into another booking of the unit "
    "is `409 booking_conflict`.",
    responses=problem_responses(
        *AUTH_PROBLEMS,
        HoldNotFoundError,
        HoldNotReadyError,
        BookingConflictError,
        InvalidPeriodError,
        422,
    ),
)
async def checkout(
    session: SessionDep,
    principal: PrincipalDep,
    now: ClockDep,
    hold_id: HoldIdPath,
    body: Annotated[
        HoldCheckout | None,
        Body(
            openapi_examples={
                "default": {"summary": "14 days (or the listing's longest)", "value": {}},
                "until": {
                    "summary": "until a chosen time",
                    "value": {"until": "2026-12-19T16:00:00Z"},
                },
            }
        ),
    ] = None,
) -> TransactionRead:
    return await service.checkout(
        session,
        principal=principal,
        hold_id=hold_id,
        until=body.until if body else None,
        now=now,
    )


@router.get(
    "/v1/listings/{listing_id}/units",
    response_model=UnitList,
    summary="A lendable listing's units",
    description="Every identical unit of an item listing to lend or rent, `available`, "
    "`needs_repair` or `retired`, with the condition it came back in: for the listing's "
    "managers. Anyone else gets `404`.",
    responses=problem_responses(*AUTH_PROBLEMS, ListingNotFoundError, 422),
)
async def list_units(
    session: SessionDep, principal: PrincipalDep, listing_id: ListingIdPath
) -> UnitList:
    return await service.list_units(session, principal=principal, listing_id=listing_id)


@router.put(
    "/v1/listings/{listing_id}/units/{unit_no}/status",
    response_model=UnitList,
    summary="Take a unit out of service, or put it back",
    description="The listing's managers set a unit `needs_repair` or `retired` (it takes no "
    "new bookings: the database refuses them) or `available` again once fixed — then it goes "
    "to the first in the listing's queue, if anyone waits. A return can do the same "
    "(`unit_status` on `return`). With `repair`, the repair is logged in the same step as "
    "the organization's (SG1 evidence, like `POST /v1/repairs`): Fixed when the unit is back, "
    "End of life when it is retired; `repair_id` names it. Answers with every unit.",
    responses=problem_responses(
        *AUTH_PROBLEMS,
        ListingNotFoundError,
        UnitNotFoundError,
        ListingNotHoldableError,
        InvalidInputError,
        422,
    ),
)
async def set_unit_status(
    session: SessionDep,
    principal: PrincipalDep,
    now: ClockDep,
    settings: SettingsDep,
    listing_id: ListingIdPath,
    unit_no: Annotated[int, Path(ge=1, le=10_000, description="The unit's number")],
    body: Annotated[
        UnitStatusUpdate,
        Body(
            openapi_examples={
                "fixed": {"summary": "fixed", "value": {"status": "available"}},
                "broken": {
                    "summary": "to repair",
                    "value": {"status": "needs_repair", "note": "Chuck wobbles"},
                },
            }
        ),
    ],
) -> UnitList:
    return await service.set_unit_status(
        session,
        principal=principal,
        listing_id=listing_id,
        unit_no=unit_no,
        change=body,
        now=now,
        settings=settings,
    )
