"""Every SQL statement about reviews."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import AlreadyReviewedError, AppError, ReviewNotOpenError, ReviewWindowClosedError
from app.models import Review, Transaction
from app.models.review import REVIEW_WINDOW_DAYS
from app.repositories.db_errors import constraint_name

_REFUSALS: dict[str, AppError] = {
    "uq_reviews_once": AlreadyReviewedError("Your side has reviewed this transaction already."),
    "reviews_confirmed_only": ReviewNotOpenError(
        "Reviews open when the receiver has confirmed the handover."
    ),
    "reviews_window": ReviewWindowClosedError(
        f"Reviews close {REVIEW_WINDOW_DAYS} days after the handover was confirmed."
    ),
}


class ReviewRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, review: Review) -> Review:
        """Insert; the database decides the once-per-side rule and the window (also between
        parallel requests) and reveals both when this is the second."""
        try:
            async with self.session.begin_nested():
                self.session.add(review)
                await self.session.flush()
        except IntegrityError as exc:
            refusal = _REFUSALS.get(constraint_name(exc) or "")
            if refusal is not None:
                raise type(refusal)(refusal.detail) from None
            raise
        await self.session.refresh(review)
        return review

    async def of_transaction(self, transaction_id: uuid.UUID) -> list[Review]:
        stmt = (
            select(Review)
            .where(Review.transaction_id == transaction_id)
            .order_by(Review.created_at, Review.id)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def get(self, review_id: uuid.UUID, *, for_update: bool = False) -> Review | None:
        stmt = select(Review).where(Review.id == review_id)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def about(
        self,
        *,
        person_id: uuid.UUID | None = None,
        organization_id: uuid.UUID | None = None,
        after: tuple[datetime, uuid.UUID] | None,
        limit: int,
    ) -> list[Review]:
        """Revealed reviews about the subject, newest first."""
        subject = (
            Review.subject_person_id == person_id
            if person_id is not None
            else Review.subject_organization_id == organization_id
        )
        stmt = select(Review).where(subject, Review.revealed_at.is_not(None))
        if after is not None:
            stmt = stmt.where(tuple_(Review.revealed_at, Review.id) < tuple_(*after))
        stmt = stmt.order_by(Review.revealed_at.desc(), Review.id.desc()).limit(limit)
        return list((await self.session.execute(stmt)).scalars())

    async def summary(self, person_id: uuid.UUID) -> tuple[int, float | None]:
        stmt = select(func.count(), func.round(func.avg(Review.rating), 1)).where(
            Review.subject_person_id == person_id, Review.revealed_at.is_not(None)
        )
        count, average = (await self.session.execute(stmt)).one()
        return int(count), None if average is None else float(average)

    async def reply(self, review_id: uuid.UUID, *, text_: str, now: datetime) -> bool:
        """Answer once; False when it was answered meanwhile."""
        result = await self.session.execute(
            update(Review)
            .where(Review.id == review_id, Review.replied_at.is_(None))
            .values(reply=text_, replied_at=now)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def reveal_due(self, *, now: datetime) -> list[Review]:
        """Lone reviews whose window closed: revealed now."""
        stmt = (
            update(Review)
            .where(
                Review.revealed_at.is_(None),
                Review.transaction_id.in_(
                    select(Transaction.id).where(
                        Transaction.confirmed_at <= now - timedelta(days=REVIEW_WINDOW_DAYS)
                    )
                ),
            )
            .values(revealed_at=now)
            .returning(Review)
        )
        return list((await self.session.execute(stmt)).scalars())

    # --- personal data ------------------------------------------------------------------

    async def export_for_person(self, person_id: uuid.UUID) -> list[dict[str, Any]]:
        stmt = select(Review).where(
            (Review.author_person_id == person_id) | (Review.subject_person_id == person_id)
        )
        return [
            {
                "id": r.id,
                "transaction_id": r.transaction_id,
                "written": r.author_person_id == person_id,
                "rating": r.rating,
                "text": r.body,
                "created_at": r.created_at,
                "revealed_at": r.revealed_at,
                "reply": r.reply,
                "replied_at": r.replied_at,
            }
            for r in (await self.session.execute(stmt.order_by(Review.created_at))).scalars()
        ]

    async def erase_for_person(self, person_id: uuid.UUID) -> None:
        """The rating stays; the author and the text go."""
        await self.session.execute(
            update(Review)
            .where(Review.author_person_id == person_id)
            .values(author_person_id=None, body="")
        )
        await self.session.execute(
            update(Review)
            .where(Review.subject_person_id == person_id, Review.reply.is_not(None))
            .values(reply="")
        )
