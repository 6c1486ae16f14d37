"""Blind reviews after a handover (``app.models.review``).

Each side of a confirmed transaction reviews the other once within 14 days: the side's person,
or a member of its organization for the organization (API keys do not review). Nothing of a
review is shown to the other side or the public until both have reviewed or the window has
closed (the clock's ``tick`` reveals lone reviews then); its author sees it meanwhile. The
reviewed party may answer a revealed review once. Revealing tells the reviewed party
(``review.received`` in the outbox).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import (
    AlreadyRepliedError,
    OrganizationNotFoundError,
    PersonNotFoundError,
    ReviewNotFoundError,
    TransactionNotFoundError,
)
from app.models import Review
from app.models.outbox import EventType
from app.pagination import decode_time_id_cursor, encode_cursor
from app.repositories.organization import OrganizationRepository
from app.repositories.person import PersonRepository
from app.repositories.review import ReviewRepository
from app.schemas.review import ReviewCreate, ReviewPage, ReviewRead
from app.services import outbox
from app.services.policy import OrgAction, Principal, authorize_org, require_person
from app.services.transaction import Party, load_participation


async def _reads(session: AsyncSession, reviews: list[Review]) -> list[ReviewRead]:
    labels = await PersonRepository(session).labels(
        [r.author_person_id for r in reviews if r.author_person_id is not None]
    )
    return [
        ReviewRead(
            id=r.id,
            transaction_id=r.transaction_id,
            author_side=r.author_side,
            author_label=labels.get(r.author_person_id) if r.author_person_id else None,
            subject_person_id=r.subject_person_id,
            subject_organization_id=r.subject_organization_id,
            rating=r.rating,
            text=r.body,
            created_at=r.created_at,
            revealed_at=r.revealed_at,
            reply=r.reply,
            replied_at=r.replied_at,
        )
        for r in reviews
    ]


async def _tell_revealed(session: AsyncSession, reviews: list[Review], now: datetime) -> None:
    for r in reviews:
        await outbox.emit(
            session,
            EventType.REVIEW_RECEIVED,
            to=[outbox.Recipient(r.subject_person_id, r.subject_organization_id)],
            payload={"review_id": str(r.id), "transaction_id": str(r.transaction_id)},
            now=now,
        )


async def write_review(
    session: AsyncSession,
    *,
    principal: Principal,
    transaction_id: uuid.UUID,
    body: ReviewCreate,
    now: datetime,
) -> ReviewRead:
    person_id = require_person(principal)
    tx, participation = await load_participation(session, principal, transaction_id, lock=True)
    sides = [p for p in (Party.PROVIDER, Party.RECEIVER) if p in participation.parties]
    if not sides:
        raise TransactionNotFoundError(f"No transaction has the id {transaction_id}.")
    side = sides[0]
    org = participation.via_organization.get(side)
    if org is not None:
        await authorize_org(session, principal, org, OrgAction.WRITE_TRANSACTIONS)
    other_person, other_org = (
        (tx.receiver_person_id, tx.receiver_organization_id)
        if side is Party.PROVIDER
        else (tx.provider_person_id, tx.provider_organization_id)
    )
    repo = ReviewRepository(session)
    review = await repo.add(
        Review(
            transaction_id=tx.id,
            author_side=side.value,
            author_person_id=person_id,
            author_organization_id=org,
            subject_person_id=other_person,
            subject_organization_id=other_org,
            rating=body.rating,
            body=body.text,
            created_at=now,
        )
    )
    if review.revealed_at is not None:  # the second review revealed both
        await _tell_revealed(session, await repo.of_transaction(tx.id), now)
    [read] = await _reads(session, [review])
    return read


async def transaction_reviews(
    session: AsyncSession, *, principal: Principal, transaction_id: uuid.UUID
) -> list[ReviewRead]:
    """A transaction's reviews as a party sees them: their own side's always, the other's once
    revealed. Moderators see both."""
    _, participation = await load_participation(session, principal, transaction_id, lock=False)
    mine = {p.value for p in participation.parties if p in (Party.PROVIDER, Party.RECEIVER)}
    moderator = Party.MODERATOR in participation.parties
    reviews = await ReviewRepository(session).of_transaction(transaction_id)
    shown = [r for r in reviews if moderator or r.author_side in mine or r.revealed_at]
    return await _reads(session, shown)


def _decode(cursor: str) -> tuple[datetime, uuid.UUID]:
    return decode_time_id_cursor(cursor, time="r", id="i", aware=True)


async def _page(
    session: AsyncSession,
    *,
    person_id: uuid.UUID | None = None,
    organization_id: uuid.UUID | None = None,
    cursor: str | None,
    limit: int,
) -> ReviewPage:
    rows = await ReviewRepository(session).about(
        person_id=person_id,
        organization_id=organization_id,
        after=_decode(cursor) if cursor else None,
        limit=limit + 1,
    )
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        assert last.revealed_at is not None
        next_cursor = encode_cursor({"r": last.revealed_at.isoformat(), "i": str(last.id)})
    return ReviewPage(items=await _reads(session, rows[:limit]), next_cursor=next_cursor)


async def person_reviews(
    session: AsyncSession, *, person_id: uuid.UUID, cursor: str | None, limit: int
) -> ReviewPage:
    if await PersonRepository(session).profile(person_id) is None:
        raise PersonNotFoundError(f"No person has the id {person_id}.")
    return await _page(session, person_id=person_id, cursor=cursor, limit=limit)


async def organization_reviews(
    session: AsyncSession, *, organization_id: uuid.UUID, cursor: str | None, limit: int
) -> ReviewPage:
    if await OrganizationRepository(session).get(organization_id) is None:
        raise OrganizationNotFoundError(f"No organization has the id {organization_id}.")
    return await _page(session, organization_id=organization_id, cursor=cursor, limit=limit)


async def reply(
    session: AsyncSession,
    *,
    principal: Principal,
    review_id: uuid.UUID,
    text: str,
    now: datetime,
) -> ReviewRead:
    """The reviewed party answers a revealed review once."""
    person_id = require_person(principal)
    repo = ReviewRepository(session)
    review = await repo.get(review_id, for_update=True)
    if review is None or review.revealed_at is None:
        raise ReviewNotFoundError(f"No review you can see has the id {review_id}.")
    if review.subject_organization_id is not None:
        await authorize_org(
            session, principal, review.subject_organization_id, OrgAction.WRITE_TRANSACTIONS
        )
    elif review.subject_person_id != person_id:
        raise ReviewNotFoundError(f"No review about you has the id {review_id}.")
    if review.replied_at is not None or not await repo.reply(review.id, text_=text, now=now):
        raise AlreadyRepliedError("The review was answered already; an answer is given once.")
    await session.refresh(review)
    [read] = await _reads(session, [review])
    return read


async def reveal_due(session: AsyncSession, *, now: datetime) -> int:
    """The clock: lone reviews whose window closed are revealed, and their subjects told."""
    revealed = await ReviewRepository(session).reveal_due(now=now)
    await _tell_revealed(session, revealed, now)
    return len(revealed)


async def summary(session: AsyncSession, *, person_id: uuid.UUID) -> tuple[int, float | None]:
    return await ReviewRepository(session).summary(person_id)
