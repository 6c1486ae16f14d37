"""Library members (``app.models.library_member``): read and written for
``app.services.library_member``."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import LibraryMember


class LibraryMemberRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(
        self, organization_id: uuid.UUID, person_id: uuid.UUID, *, for_update: bool = False
    ) -> LibraryMember | None:
        return await self.session.get(
            LibraryMember, (organization_id, person_id), with_for_update=for_update
        )

    async def add(self, member: LibraryMember) -> LibraryMember:
        self.session.add(member)
        await self.session.flush()
        return member

    async def flush(self) -> None:
        await self.session.flush()

    async def page(
        self,
        organization_id: uuid.UUID,
        *,
        after: tuple[datetime, uuid.UUID] | None,
        limit: int,
    ) -> list[LibraryMember]:
        """A library's members, newest first."""
        stmt = select(LibraryMember).where(LibraryMember.organization_id == organization_id)
        if after is not None:
            stmt = stmt.where(
                tuple_(LibraryMember.created_at, LibraryMember.person_id) < tuple_(*after)
            )
        stmt = stmt.order_by(LibraryMember.created_at.desc(), LibraryMember.person_id.desc()).limit(
            limit
        )
        return list((await self.session.execute(stmt)).scalars())

    async def delete(self, organization_id: uuid.UUID, person_id: uuid.UUID) -> bool:
        """End a membership; False when there was none."""
        gone = await self.session.execute(
            delete(LibraryMember)
            .where(
                LibraryMember.organization_id == organization_id,
                LibraryMember.person_id == person_id,
            )
            .returning(LibraryMember.person_id)
        )
        return gone.first() is not None

    async def export_for_person(self, person_id: uuid.UUID) -> list[dict[str, str]]:
        rows = await self.session.scalars(
            select(LibraryMember)
            .where(LibraryMember.person_id == person_id)
            .order_by(LibraryMember.created_at)
        )
        return [
            {
                "organization_id": str(m.organization_id),
                "terms_accepted_at": m.terms_accepted_at.isoformat(),
                "valid_until": m.valid_until.isoformat(),
            }
            for m in rows
        ]

    async def erase_for_person(self, person_id: uuid.UUID) -> None:
        await self.session.execute(
            delete(LibraryMember).where(LibraryMember.person_id == person_id)
        )
