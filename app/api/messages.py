"""/v1/transactions/{id}/messages — the conversation of a transaction's parties;
/v1/me/conversations — the caller's threads; /v1/transactions/{id}/share-location — the
provider shows the receiver the exact place.

Included before ``app.api.transactions``, whose ``POST /v1/transactions/{id}/{action}`` would
otherwise take ``messages`` and ``share-location`` for actions.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Path, status

from app.api.deps import ClockDep, PrincipalDep
from app.api.params import AUTH_PROBLEMS as _AUTH
from app.api.params import CursorQuery, LimitQuery
from app.db import SessionDep
from app.errors import (
    BlockedError,
    ConversationClosedError,
    InsufficientRoleError,
    InsufficientScopeError,
    InvalidCursorError,
    InvalidInputError,
    InvalidTransitionError,
    NotAMemberError,
    PersonRequiredError,
    TransactionNotFoundError,
    WrongOrganizationError,
    WrongPartyError,
    problem_responses,
)
from app.schemas.message import (
    ConversationPage,
    MessageCreate,
    MessagePage,
    MessageRead,
    ReadUpTo,
    ShareLocation,
    UnreadCount,
)
from app.schemas.transaction import TransactionRead
from app.services import message as service
from app.services import transaction as transaction_service

router = APIRouter()

TransactionIdPath = Annotated[uuid.UUID, Path(description="The transaction's id")]
_ORG = (NotAMemberError, InsufficientRoleError, InsufficientScopeError, WrongOrganizationError)


@router.get(
    "/v1/transactions/{transaction_id}/messages",
    tags=["transactions"],
    response_model=MessagePage,
    summary="The conversation of a transaction",
    description="Oldest first (newest last); `next_cursor` continues with newer messages, so a "
    "client that kept the last cursor fetches only what is new. The request's message and "
    "the notes sent with moves (`accept`, `decline`, `dispute` …) are part of it "
    "(`kind` `request` and `note`). For the parties; moderators read it while the "
    "transaction is disputed; for everyone else it does not exist (404). `unread` counts "
    "the caller's unread messages in it.",
    responses=problem_responses(*_AUTH, TransactionNotFoundError, InvalidCursorError, 422),
)
async def list_messages(
    session: SessionDep,
    principal: PrincipalDep,
    transaction_id: TransactionIdPath,
    cursor: CursorQuery = None,
    limit: LimitQuery = 50,
) -> MessagePage:
    return await service.list_messages(
        session, principal=principal, transaction_id=transaction_id, cursor=cursor, limit=limit
    )


@router.post(
    "/v1/transactions/{transaction_id}/messages",
    tags=["transactions"],
    status_code=status.HTTP_201_CREATED,
    response_model=MessageRead,
    summary="Write in the conversation",
    description="The parties (an organization's members, or its API keys with "
    "`transactions:write`) write while the transaction is open and for 14 days after it "
    "ended (`409 conversation_closed` later), unless one of the two persons blocked the other "
    "(`403 blocked`). Plain text up to 4,000 characters: no HTML, and "
    "clients show links as text. Moderators reading a dispute cannot write (`403 "
    "wrong_party`).",
    responses=problem_responses(
        *_AUTH,
        *_ORG,
        TransactionNotFoundError,
        WrongPartyError,
        BlockedError,
        ConversationClosedError,
        422,
    ),
)
async def post_message(
    session: SessionDep,
    principal: PrincipalDep,
    now: ClockDep,
    transaction_id: TransactionIdPath,
    body: Annotated[
        MessageCreate,
        Body(
            openapi_examples={
                "pickup": {
                    "summary": "Agree on a time",
                    "value": {"body": "Passer det å hente i morgen etter kl. 17?"},
                }
            }
        ),
    ],
) -> MessageRead:
    return await service.post_message(
        session, principal=principal, transaction_id=transaction_id, body=body.body, now=now
    )


@router.post(
    "/v1/transactions/{transaction_id}/messages/read",
    tags=["transactions"],
    response_model=UnreadCount,
    summary="Mark the conversation read up to a message",
    description="Persons only (API keys keep no read marker). The marker only moves forward: "
    "marking an older message read changes nothing. `422 invalid_input` for a message of "
    "another conversation.",
    responses=problem_responses(
        *_AUTH, PersonRequiredError, TransactionNotFoundError, InvalidInputError, 422
    ),
)
async def mark_read(
    session: SessionDep,
    principal: PrincipalDep,
    now: ClockDep,
    transaction_id: TransactionIdPath,
    body: ReadUpTo,
) -> UnreadCount:
    return await service.mark_read(
        session, principal=principal, transaction_id=transaction_id, up_to=body.up_to, now=now
    )


@router.get(
    "/v1/me/conversations",
    tags=["me"],
    response_model=ConversationPage,
    summary="My conversations",
    description="The caller's threads (their own transactions and those of organizations they "
    "belong to), the one with the newest message first, each with its last message and "
    "unread count. Persons only.",
    responses=problem_responses(*_AUTH, PersonRequiredError, InvalidCursorError, 422),
)
async def list_conversations(
    session: SessionDep,
    principal: PrincipalDep,
    cursor: CursorQuery = None,
    limit: LimitQuery = 20,
) -> ConversationPage:
    return await service.list_conversations(
        session, principal=principal, cursor=cursor, limit=limit
    )


@router.post(
    "/v1/transactions/{transaction_id}/share-location",
    tags=["transactions"],
    response_model=TransactionRead,
    summary="Show the receiver the exact place (the provider)",
    description="After `accept`, the provider shares the listing's exact point and a pickup "
    "note: from then on the transaction's `pickup` carries them, for the two parties only and "
    "only while the transaction is open (listings show everyone else a point about 400 m "
    "away). Sharing again replaces the note. Before acceptance or after the end: `409 "
    "invalid_transition`; the receiver: `403 wrong_party`.",
    responses=problem_responses(
        *_AUTH, *_ORG, TransactionNotFoundError, WrongPartyError, InvalidTransitionError, 422
    ),
)
async def share_location(
    session: SessionDep,
    principal: PrincipalDep,
    now: ClockDep,
    transaction_id: TransactionIdPath,
    body: Annotated[
        ShareLocation,
        Body(
            openapi_examples={
                "note": {
                    "summary": "Where to ring",
                    "value": {"pickup_note": "Oppgang B, 3. etasje. Ring på «Hansen»."},
                }
            }
        ),
    ],
) -> TransactionRead:
    return await transaction_service.share_location(
        session,
        principal=principal,
        transaction_id=transaction_id,
        pickup_note=body.pickup_note,
        now=now,
    )
