"""Holds: the queue per listing, read and written under the listing's row lock
(``app.services.hold``)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import AlreadyHoldingError
from app.models import Hold
from app.models.hold import LIVE_HOLD_STATUSES, HoldStatus
from app.repositories.db_errors import constraint_name


class HoldRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, hold: Hold) -> Hold:
        try:
            async with self.session.begin_nested():
                self.session.add(hold)
                await self.session.flush()
        except IntegrityError as exc:
            if constraint_name(exc) == "ux_holds_one_live_per_person":
                raise AlreadyHoldingError(
                    "You already hold this listing; see GET /v1/me/holds."
                ) from exc
            raise
        await self.session.refresh(hold)
        return hold

    async def get(self, hold_id: uuid.UUID, *, for_update: bool = False) -> Hold | None:
        stmt = select(Hold).where(Hold.id == hold_id)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def position(self, hold: Hold) -> int | None:
        """1 for the first waiting hold of its listing; None when it is not waiting."""
        if hold.status != HoldStatus.WAITING:
            return None
        stmt = select(func.count()).where(
            Hold.listing_id == hold.listing_id,
            Hold.status == HoldStatus.WAITING.value,
            Hold.seq <= hold.seq,
        )
        return int((await self.session.execute(stmt)).scalar_one())

    async def ready_units(self, listing_id: uuid.UUID) -> set[int]:
        stmt = select(Hold.unit_no).where(
            Hold.listing_id == listing_id, Hold.status == HoldStatus.READY.value
        )
        return {u for u in (await self.session.execute(stmt)).scalars() if u is not None}

    async def first_waiting(self, listing_id: uuid.UUID) -> Hold | None:
        stmt = (
            select(Hold)
            .where(Hold.listing_id == listing_id, Hold.status == HoldStatus.WAITING.value)
            .order_by(Hold.seq)
            .limit(1)
            .with_for_update()
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def listings_waiting(self) -> list[uuid.UUID]:
        stmt = select(Hold.listing_id).where(Hold.status == HoldStatus.WAITING.value).distinct()
        return list((await self.session.execute(stmt)).scalars())

    async def has_waiting(self, listing_id: uuid.UUID) -> bool:
        stmt = (
            select(Hold.id)
            .where(Hold.listing_id == listing_id, Hold.status == HoldStatus.WAITING.value)
            .limit(1)
        )
        return (await self.session.execute(stmt)).first() is not None

    async def lapse_due(self, now: datetime) -> list[Hold]:
        """Ready holds whose pickup window has passed become ``lapsed``; returns them."""
        stmt = (
            update(Hold)
            .where(Hold.status == HoldStatus.READY.value, Hold.ready_until <= now)
            .values(status=HoldStatus.LAPSED.value, closed_at=now)
            .returning(Hold)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def for_person(
        self, person_id: uuid.UUID, *, after: tuple[datetime, uuid.UUID] | None, limit: int
    ) -> list[Hold]:
        """The person's holds, newest first."""
        stmt = select(Hold).where(Hold.person_id == person_id)
        if after is not None:
            stmt = stmt.where(tuple_(Hold.created_at, Hold.id) < tuple_(after[0], after[1]))
        stmt = stmt.order_by(Hold.created_at.desc(), Hold.id.desc()).limit(limit)
        return list((await self.session.execute(stmt)).scalars())

    async def queue(self, listing_id: uuid.UUID, *, after: int | None, limit: int) -> list[Hold]:
        """A listing's live holds: the queue's order (ready ones came from its front)."""
        stmt = select(Hold).where(
            Hold.listing_id == listing_id, Hold.status.in_(LIVE_HOLD_STATUSES)
        )
        if after is not None:
            stmt = stmt.where(Hold.seq > after)
        stmt = stmt.order_by(Hold.seq).limit(limit)
        return list((await self.session.execute(stmt)).scalars())

    async def export_for_person(self, person_id: uuid.UUID) -> list[dict[str, Any]]:
        rows = await self.session.scalars(
            select(Hold).where(Hold.person_id == person_id).order_by(Hold.created_at, Hold.id)
        )
        return [
            {
                "id": str(h.id),
                "listing_id": str(h.listing_id),
                "status": h.status,
                "ready_until": h.ready_until.isoformat() if h.ready_until else None,
                "transaction_id": str(h.transaction_id) if h.transaction_id else None,
                "created_at": h.created_at.isoformat(),
                "closed_at": h.closed_at.isoformat() if h.closed_at else None,
            }
            for h in rows
        ]

    async def erase_for_person(self, person_id: uuid.UUID) -> None:
        await self.session.execute(delete(Hold).where(Hold.person_id == person_id))
