"""Reviews after a handover: write one for a confirmed transaction, read a person's or an
organization's, answer one about you. Included before ``app.api.transactions``, whose
``POST /v1/transactions/{id}/{action}`` would take ``review`` for an action."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Path, status

from app.api.deps import ClockDep, PrincipalDep
from app.api.params import AUTH_PROBLEMS as _AUTH
from app.api.params import CursorQuery, LimitQuery
from app.db import SessionDep
from app.errors import (
    AlreadyRepliedError,
    AlreadyReviewedError,
    InsufficientRoleError,
    InsufficientScopeError,
    InvalidCursorError,
    NotAMemberError,
    OrganizationNotFoundError,
    PersonNotFoundError,
    PersonRequiredError,
    ReviewNotFoundError,
    ReviewNotOpenError,
    ReviewWindowClosedError,
    TransactionNotFoundError,
    WrongOrganizationError,
    problem_responses,
)
from app.schemas.review import ReplyCreate, ReviewCreate, ReviewPage, ReviewRead
from app.services import review as service

router = APIRouter()

TransactionIdPath = Annotated[uuid.UUID, Path(description="The transaction's id")]
_ORG = (NotAMemberError, InsufficientRoleError, InsufficientScopeError, WrongOrganizationError)


@router.post(
    "/v1/transactions/{transaction_id}/review",
    tags=["transactions"],
    status_code=status.HTTP_201_CREATED,
    response_model=ReviewRead,
    summary="Review the other party of a confirmed handover",
    description="Once per side (`409 already_reviewed`), when the transaction is confirmed "
    "(`409 review_not_open` before) and within 14 days (`409 review_window_closed` after). "
    "Blind: the other party and the public see it (`revealed_at`) only when both have "
    "reviewed or the 14 days are over. A person of the side: the party, or a member for its "
    "organization; strangers get 404.",
    responses=problem_responses(
        *_AUTH,
        *_ORG,
        PersonRequiredError,
        TransactionNotFoundError,
        ReviewNotOpenError,
        ReviewWindowClosedError,
        AlreadyReviewedError,
        422,
    ),
)
async def write_review(
    session: SessionDep,
    principal: PrincipalDep,
    now: ClockDep,
    transaction_id: TransactionIdPath,
    body: Annotated[
        ReviewCreate,
        Body(
            openapi_examples={
                "good": {
                    "summary": "A good handover",
                    "value": {"rating": 5, "text": "Presis og hyggelig, alt som avtalt."},
                }
            }
        ),
    ],
) -> ReviewRead:
    return await service.write_review(
        session, principal=principal, transaction_id=transaction_id, body=body, now=now
    )


@router.get(
    "/v1/transactions/{transaction_id}/reviews",
    tags=["transactions"],
    response_model=list[ReviewRead],
    summary="A transaction's reviews as you may see them",
    description="Your side's review always; the other side's once revealed. Moderators see both.",
    responses=problem_responses(*_AUTH, TransactionNotFoundError, 422),
)
async def transaction_reviews(
    session: SessionDep, principal: PrincipalDep, transaction_id: TransactionIdPath
) -> list[ReviewRead]:
    return await service.transaction_reviews(
        session, principal=principal, transaction_id=transaction_id
    )


@router.get(
    "/v1/people/{person_id}/reviews",
    tags=["people"],
    response_model=ReviewPage,
    summary="Revealed reviews about a person",
    description="Newest revealed first, with replies. For anyone.",
    responses=problem_responses(PersonNotFoundError, InvalidCursorError, 422),
)
async def person_reviews(
    session: SessionDep,
    person_id: Annotated[uuid.UUID, Path(description="The person's id")],
    cursor: CursorQuery = None,
    limit: LimitQuery = 20,
) -> ReviewPage:
    return await service.person_reviews(session, person_id=person_id, cursor=cursor, limit=limit)


@router.get(
    "/v1/organizations/{organization_id}/reviews",
    tags=["organizations"],
    response_model=ReviewPage,
    summary="Revealed reviews about an organization",
    description="Newest revealed first, with replies. For anyone.",
    responses=problem_responses(OrganizationNotFoundError, InvalidCursorError, 422),
)
async def organization_reviews(
    session: SessionDep,
    organization_id: Annotated[uuid.UUID, Path(description="The organization's id")],
    cursor: CursorQuery = None,
    limit: LimitQuery = 20,
) -> ReviewPage:
    return await service.organization_reviews(
        session, organization_id=organization_id, cursor=cursor, limit=limit
    )


@router.post(
    "/v1/reviews/{review_id}/reply",
    tags=["people"],
    response_model=ReviewRead,
    summary="Answer a review about you",
    description="The reviewed person (or a member for the reviewed organization) answers a "
    "revealed review once (`409 already_replied`). A review that is not yet revealed, or not "
    "about you: 404.",
    responses=problem_responses(
        *_AUTH, *_ORG, PersonRequiredError, ReviewNotFoundError, AlreadyRepliedError, 422
    ),
)
async def reply(
    session: SessionDep,
    principal: PrincipalDep,
    now: ClockDep,
    review_id: Annotated[uuid.UUID, Path(description="The review's id")],
    body: ReplyCreate,
) -> ReviewRead:
    return await service.reply(
        session, principal=principal, review_id=review_id, text=body.text, now=now
    )
