"""/v1/initiatives — pilots, experiments, reuse stations and repair-café series: their owner,
partners, kommuner and period, and the listings, transactions and repair events tagged with
them (see ``app.services.initiative`` for who may do what)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Body, Path, Query, Response, status

from app.api.deps import ClockDep, PrincipalDep
from app.api.params import AUTH_PROBLEMS, CursorQuery, KommuneQuery, LimitQuery
from app.db import SessionDep
from app.errors import (
    ForbiddenError,
    InitiativeNotFoundError,
    InsufficientRoleError,
    InsufficientScopeError,
    InvalidCursorError,
    InvalidInputError,
    ListingNotFoundError,
    NotAMemberError,
    NotInInitiativeError,
    OrganizationNotFoundError,
    OtherInitiativeError,
    OwnerAsPartnerError,
    RepairEventNotFoundError,
    TransactionDisputedError,
    TransactionNotFoundError,
    UnknownKommuneError,
    WrongOrganizationError,
    problem_responses,
)
from app.models.initiative import InitiativeKind
from app.schemas.initiative import (
    INITIATIVE_CREATE_EXAMPLES,
    INITIATIVE_UPDATE_EXAMPLES,
    InitiativeCreate,
    InitiativePage,
    InitiativeRead,
    InitiativeUpdate,
    TagRead,
)
from app.services import initiative as service

router = APIRouter(prefix="/v1/initiatives", tags=["initiatives"])

InitiativeIdPath = Annotated[uuid.UUID, Path(description="The initiative's id")]
OrganizationIdPath = Annotated[uuid.UUID, Path(description="The partner organization's id")]
ListingIdPath = Annotated[uuid.UUID, Path(description="The listing's id")]
TransactionIdPath = Annotated[uuid.UUID, Path(description="The transaction's id")]
EventIdPath = Annotated[uuid.UUID, Path(description="The repair event's id")]

# Managing an initiative: admins and owners, or API keys with organization:write.
_ADMIN = (NotAMemberError, InsufficientRoleError, InsufficientScopeError, WrongOrganizationError)
# Tagging: any member, or API keys with listings:write (listings, events) or
# transactions:write (transactions); insufficient_role never arises.
_WRITER = (NotAMemberError, InsufficientScopeError, WrongOrganizationError)
_WHO_MANAGES = (
    "Admins and owners of the owner organization, or its API keys with `organization:write`"
)
_TAGGING = (
    "Each listing, transaction and repair event carries at most one initiative: one tagged "
    "with another is `409 tagged_with_another_initiative` (take it out of that one first); "
    "tagging it again with the same one changes nothing (`200`)."
)


# --- initiatives ------------------------------------------------------------------------------


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=InitiativeRead,
    summary="Start an initiative",
    description="A pilot, an experiment, a reuse station or a series of repair cafés, owned by "
    "`organization_id`: its admins and owners start one (or its API keys with "
    "`organization:write`); plain members do not, since it commits the organization in "
    "public. The period runs from `starts_on` to `ends_on` (inclusive; `null` while "
    "open-ended); `kommuner` lists where it works (an unknown number is `422 "
    "unknown_kommune`). Add partner organizations afterwards with `PUT "
    "/v1/initiatives/{id}/partners/{organization_id}`.",
    responses=problem_responses(
        *AUTH_PROBLEMS, *_ADMIN, OrganizationNotFoundError, UnknownKommuneError, 422
    ),
)
async def create_initiative(
    body: Annotated[InitiativeCreate, Body(openapi_examples=INITIATIVE_CREATE_EXAMPLES)],
    session: SessionDep,
    principal: PrincipalDep,
    now: ClockDep,
    response: Response,
) -> InitiativeRead:
    initiative = await service.create_initiative(session, principal=principal, data=body, now=now)
    response.headers["Location"] = f"/v1/initiatives/{initiative.id}"
    return initiative


@router.get(
    "",
    response_model=InitiativePage,
    summary="Find initiatives",
    description="Public: initiatives, the latest to start first, optionally only those working "
    "in a `kommune`, those an organization owns or is a partner of (`organization_id`), of "
    "one `kind`, or running on a day (`active_on`: started on or before it and not ended "
    "before it). Keyset-paginated by `cursor`.",
    responses=problem_responses(UnknownKommuneError, InvalidCursorError, 422),
)
async def list_initiatives(
    session: SessionDep,
    kommune: KommuneQuery = None,
    organization_id: Annotated[
        uuid.UUID | None, Query(description="Only those it owns or is a partner of")
    ] = None,
    kind: Annotated[
        InitiativeKind | None, Query(description="Only this kind", examples=["reuse_station"])
    ] = None,
    active_on: Annotated[
        date | None, Query(description="Only those running on this day", examples=["2027-03-01"])
    ] = None,
    limit: LimitQuery = 20,
    cursor: CursorQuery = None,
) -> InitiativePage:
    return await service.list_initiatives(
        session,
        kommunenummer=kommune,
        organization_id=organization_id,
        kind=kind.value if kind is not None else None,
        active_on=active_on,
        cursor=cursor,
        limit=limit,
    )


@router.get(
    "/{initiative_id}",
    response_model=InitiativeRead,
    summary="Get one initiative",
    description="Public: the owner and partners (with their names and sectors), the kommuner, "
    "the period and description, and how many listings, transactions and repair events are "
    "tagged with it. Its impact is in the evidence ledger, grouped by `initiative`.",
    responses=problem_responses(InitiativeNotFoundError, 422),
)
async def get_initiative(session: SessionDep, initiative_id: InitiativeIdPath) -> InitiativeRead:
    return await service.get_initiative(session, initiative_id=initiative_id)


@router.patch(
    "/{initiative_id}",
    response_model=InitiativeRead,
    summary="Change an initiative",
    description=f"{_WHO_MANAGES} change the fields sent: `name`, `kind`, `description`, the "
    "period (`starts_on`, `ends_on`; `null` makes it open-ended) and `kommuner` (the whole "
    "list; `[]` for none). The period must still end on or after it starts (`422 "
    "invalid_input`); `name`, `kind`, `starts_on` and `kommuner` cannot be `null`.",
    responses=problem_responses(
        *AUTH_PROBLEMS,
        *_ADMIN,
        InitiativeNotFoundError,
        UnknownKommuneError,
        InvalidInputError,
        422,
    ),
)
async def update_initiative(
    body: Annotated[InitiativeUpdate, Body(openapi_examples=INITIATIVE_UPDATE_EXAMPLES)],
    session: SessionDep,
    principal: PrincipalDep,
    now: ClockDep,
    initiative_id: InitiativeIdPath,
) -> InitiativeRead:
    return await service.update_initiative(
        session, principal=principal, initiative_id=initiative_id, changes=body, now=now
    )


# --- partners ---------------------------------------------------------------------------------


@router.put(
    "/{initiative_id}/partners/{organization_id}",
    response_model=InitiativeRead,
    summary="Add a partner",
    description=f"{_WHO_MANAGES} add an organization as a partner; adding a partner again "
    "changes nothing. The owner is not its own partner (`422 owner_cannot_be_partner`, "
    "refused by the database). Partners tag their own listings, transactions and repair "
    "events with the initiative. Answers with the initiative.",
    responses=problem_responses(
        *AUTH_PROBLEMS,
        *_ADMIN,
        InitiativeNotFoundError,
        OrganizationNotFoundError,
        OwnerAsPartnerError,
        422,
    ),
)
async def add_partner(
    session: SessionDep,
    principal: PrincipalDep,
    now: ClockDep,
    initiative_id: InitiativeIdPath,
    organization_id: OrganizationIdPath,
) -> InitiativeRead:
    return await service.add_partner(
        session,
        principal=principal,
        initiative_id=initiative_id,
        organization_id=organization_id,
        now=now,
    )


@router.delete(
    "/{initiative_id}/partners/{organization_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a partner, or leave",
    description=f"{_WHO_MANAGES} remove a partner; a partner leaves with the same rights on "
    "itself (its admins and owners, or its keys with `organization:write`). Removing an "
    "organization that is not a partner answers `204` as well. What the partner tagged stays "
    "tagged; it can still take its own things out.",
    responses=problem_responses(
        *AUTH_PROBLEMS, *_ADMIN, InitiativeNotFoundError, OrganizationNotFoundError, 422
    ),
)
async def remove_partner(
    session: SessionDep,
    principal: PrincipalDep,
    now: ClockDep,
    initiative_id: InitiativeIdPath,
    organization_id: OrganizationIdPath,
) -> Response:
    await service.remove_partner(
        session,
        principal=principal,
        initiative_id=initiative_id,
        organization_id=organization_id,
        now=now,
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- listings ---------------------------------------------------------------------------------


@router.put(
    "/{initiative_id}/listings/{listing_id}",
    response_model=TagRead,
    summary="Tag a listing",
    description="Tag a listing of the owner or a partner organization: its members, or its API "
    "keys with `listings:write` (`403 not_in_initiative` for a listing of any other "
    "organization or of a person). A listing the caller may not see is `404`. Transactions "
    f"asked for from now on carry the initiative into the evidence ledger. {_TAGGING}",
    responses=problem_responses(
        *AUTH_PROBLEMS,
        *_WRITER,
        NotInInitiativeError,
        InitiativeNotFoundError,
        ListingNotFoundError,
        OtherInitiativeError,
        422,
    ),
)
async def tag_listing(
    session: SessionDep,
    principal: PrincipalDep,
    initiative_id: InitiativeIdPath,
    listing_id: ListingIdPath,
) -> TagRead:
    return await service.tag_listing(
        session, principal=principal, initiative_id=initiative_id, listing_id=listing_id
    )


@router.delete(
    "/{initiative_id}/listings/{listing_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Take a listing out",
    description="Those who write the listing for its organization take it out of the "
    "initiative (also after the organization has left it). A listing not tagged with this "
    "initiative is left as it is (`204`). Transactions already asked for keep their "
    "initiative.",
    responses=problem_responses(
        *AUTH_PROBLEMS,
        *_WRITER,
        NotInInitiativeError,
        InitiativeNotFoundError,
        ListingNotFoundError,
        422,
    ),
)
async def untag_listing(
    session: SessionDep,
    principal: PrincipalDep,
    initiative_id: InitiativeIdPath,
    listing_id: ListingIdPath,
) -> Response:
    await service.untag_listing(
        session, principal=principal, initiative_id=initiative_id, listing_id=listing_id
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- transactions -----------------------------------------------------------------------------

_LEDGER = (
    "A transaction that already counts in the evidence ledger is never edited there: a "
    "`retagged` record takes the counted one back (-1, under the old initiative) and another "
    "counts it again under the new one (+1); `retagged_records` says how many were moved. A "
    "disputed transaction keeps its initiative until a moderator decides (`409 "
    "transaction_disputed`)."
)


@router.put(
    "/{initiative_id}/transactions/{transaction_id}",
    response_model=TagRead,
    summary="Tag a transaction",
    description="Tag a transaction in which the owner or a partner organization is the "
    "provider or the receiver, acting for that organization (its members, or its API keys "
    "with `transactions:write`); `403 not_in_initiative` otherwise. Someone who is not a "
    f"party does not see the transaction (`404`). {_TAGGING}\n\n{_LEDGER}",
    responses=problem_responses(
        *AUTH_PROBLEMS,
        *_WRITER,
        NotInInitiativeError,
        InitiativeNotFoundError,
        TransactionNotFoundError,
        OtherInitiativeError,
        TransactionDisputedError,
        422,
    ),
)
async def tag_transaction(
    session: SessionDep,
    principal: PrincipalDep,
    now: ClockDep,
    initiative_id: InitiativeIdPath,
    transaction_id: TransactionIdPath,
) -> TagRead:
    return await service.tag_transaction(
        session,
        principal=principal,
        initiative_id=initiative_id,
        transaction_id=transaction_id,
        now=now,
    )


@router.delete(
    "/{initiative_id}/transactions/{transaction_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Take a transaction out",
    description="Those who act for a party organization of the transaction (members, or API "
    "keys with `transactions:write`) take it out of the initiative; a party that is a person "
    "only is `403 forbidden`. A transaction not tagged with this initiative is left as it is "
    f"(`204`).\n\n{_LEDGER}",
    responses=problem_responses(
        *AUTH_PROBLEMS,
        *_WRITER,
        ForbiddenError,
        InitiativeNotFoundError,
        TransactionNotFoundError,
        TransactionDisputedError,
        422,
    ),
)
async def untag_transaction(
    session: SessionDep,
    principal: PrincipalDep,
    now: ClockDep,
    initiative_id: InitiativeIdPath,
    transaction_id: TransactionIdPath,
) -> Response:
    await service.untag_transaction(
        session,
        principal=principal,
        initiative_id=initiative_id,
        transaction_id=transaction_id,
        now=now,
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- repair events ----------------------------------------------------------------------------


@router.put(
    "/{initiative_id}/repair-events/{event_id}",
    response_model=TagRead,
    summary="Tag a repair event",
    description="Tag a repair event organised by the owner or a partner organization: its "
    "members, or its API keys with `listings:write` (`403 not_in_initiative` for another "
    "organiser's event). Repairs logged at the event from now on count toward the "
    "initiative; those already logged are moved in the evidence ledger by a `retagged` "
    f"pair each (`retagged_records`). {_TAGGING}",
    responses=problem_responses(
        *AUTH_PROBLEMS,
        *_WRITER,
        NotInInitiativeError,
        InitiativeNotFoundError,
        RepairEventNotFoundError,
        OtherInitiativeError,
        422,
    ),
)
async def tag_repair_event(
    session: SessionDep,
    principal: PrincipalDep,
    now: ClockDep,
    initiative_id: InitiativeIdPath,
    event_id: EventIdPath,
) -> TagRead:
    return await service.tag_repair_event(
        session, principal=principal, initiative_id=initiative_id, event_id=event_id, now=now
    )


@router.delete(
    "/{initiative_id}/repair-events/{event_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Take a repair event out",
    description="The organiser's members (or its API keys with `listings:write`) take the "
    "event out of the initiative; the repairs logged at it are moved out in the evidence "
    "ledger by a `retagged` pair each. An event not tagged with this initiative is left as "
    "it is (`204`).",
    responses=problem_responses(
        *AUTH_PROBLEMS, *_WRITER, InitiativeNotFoundError, RepairEventNotFoundError, 422
    ),
)
async def untag_repair_event(
    session: SessionDep,
    principal: PrincipalDep,
    now: ClockDep,
    initiative_id: InitiativeIdPath,
    event_id: EventIdPath,
) -> Response:
    await service.untag_repair_event(
        session, principal=principal, initiative_id=initiative_id, event_id=event_id, now=now
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
