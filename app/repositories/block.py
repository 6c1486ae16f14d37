"""Every SQL statement about blocks between persons."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Block


class BlockRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def block(self, blocker: uuid.UUID, blocked: uuid.UUID, *, now: datetime) -> datetime:
        """Block (idempotent); when the block began."""
        await self.session.execute(
            insert(Block)
            .values(blocker_person_id=blocker, blocked_person_id=blocked, created_at=now)
            .on_conflict_do_nothing()
        )
        stmt = select(Block.created_at).where(
            Block.blocker_person_id == blocker, Block.blocked_person_id == blocked
        )
        return (await self.session.execute(stmt)).scalar_one()

    async def unblock(self, blocker: uuid.UUID, blocked: uuid.UUID) -> None:
        await self.session.execute(
            delete(Block).where(
                Block.blocker_person_id == blocker, Block.blocked_person_id == blocked
            )
        )

    async def between(self, a: uuid.UUID, b: uuid.UUID) -> bool:
        """Whether either of the two blocked the other."""
        stmt = select(text("sirkel_blocked(:a, :b)")).params(a=a, b=b)
        return bool((await self.session.execute(stmt)).scalar_one())

    async def of(self, blocker: uuid.UUID) -> list[Block]:
        stmt = (
            select(Block)
            .where(Block.blocker_person_id == blocker)
            .order_by(Block.created_at.desc(), Block.blocked_person_id)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def export_for_person(self, person_id: uuid.UUID) -> list[dict[str, Any]]:
        return [
            {"blocked_person_id": b.blocked_person_id, "created_at": b.created_at}
            for b in await self.of(person_id)
        ]

    async def erase_for_person(self, person_id: uuid.UUID) -> None:
        await self.session.execute(
            delete(Block).where(
                or_(Block.blocker_person_id == person_id, Block.blocked_person_id == person_id)
            )
        )
