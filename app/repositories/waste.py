"""Every SQL statement about the European List of Waste."""

from __future__ import annotations

from typing import Any

from sqlalchemy import RowMapping, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import EwcChapter, EwcCode


class WasteCodeRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, code: str) -> RowMapping | None:
        stmt = select(EwcCode.code, EwcCode.description, EwcCode.hazardous).where(
            EwcCode.code == code
        )
        return (await self.session.execute(stmt)).mappings().one_or_none()

    async def codes(self) -> set[str]:
        return set((await self.session.execute(select(EwcCode.code))).scalars())

    async def chapter_codes(self) -> set[str]:
        return set((await self.session.execute(select(EwcChapter.code))).scalars())

    async def upsert_chapters(self, rows: list[dict[str, Any]]) -> None:
        """rows: code, level, description."""
        stmt = insert(EwcChapter)
        stmt = stmt.on_conflict_do_update(
            index_elements=[EwcChapter.code],
            set_={"level": stmt.excluded.level, "description": stmt.excluded.description},
        )
        await self.session.execute(stmt, rows)

    async def upsert_codes(self, rows: list[dict[str, Any]]) -> None:
        """rows: code, chapter, subchapter, description, hazardous, entry_type."""
        stmt = insert(EwcCode)
        stmt = stmt.on_conflict_do_update(
            index_elements=[EwcCode.code],
            set_={
                "chapter": stmt.excluded.chapter,
                "subchapter": stmt.excluded.subchapter,
                "description": stmt.excluded.description,
                "hazardous": stmt.excluded.hazardous,
                "entry_type": stmt.excluded.entry_type,
            },
        )
        await self.session.execute(stmt, rows)
