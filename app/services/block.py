"""Blocking: a person blocks another, and from then on neither asks for the other's listings
nor writes to the other (``app.models.block``; the database refuses both as well)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import InvalidInputError, PersonNotFoundError
from app.repositories.block import BlockRepository
from app.repositories.person import PersonRepository
from app.schemas.block import BlockRead
from app.services.policy import Principal, require_person


async def block_person(
    session: AsyncSession, *, principal: Principal, person_id: uuid.UUID, now: datetime
) -> BlockRead:
    me = require_person(principal)
    if person_id == me:
        raise InvalidInputError.for_field(
            "You cannot block yourself.",
            field="person_id",
            message="That is you",
            type="self",
            location="path",
        )
    person = await PersonRepository(session).get(person_id)
    if person is None or person.erased_at is not None:
        raise PersonNotFoundError(f"No person has the id {person_id}.")
    since = await BlockRepository(session).block(me, person_id, now=now)
    return BlockRead(person_id=person_id, blocked_at=since)


async def unblock_person(
    session: AsyncSession, *, principal: Principal, person_id: uuid.UUID
) -> None:
    await BlockRepository(session).unblock(require_person(principal), person_id)


async def my_blocks(session: AsyncSession, *, principal: Principal) -> list[BlockRead]:
    blocks = await BlockRepository(session).of(require_person(principal))
    return [BlockRead(person_id=b.blocked_person_id, blocked_at=b.created_at) for b in blocks]
