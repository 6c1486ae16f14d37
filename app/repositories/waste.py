"""Every SQL statement about the European List of Waste."""

from __future__ import annotations

from typing import Any

from sqlalchemy import RowMapping, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import EwcChapter, EwcCode
from app.repositories.sql import all_values, upsert


class WasteCodeRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, code: str) -> RowMapping | None:
        stmt = select(EwcCode.code, EwcCode.description, EwcCode.hazardous).where(
            EwcCode.code == code
        )
        return (await self.session.execute(stmt)).mappings().one_or_none()

    async def codes(self) -> set[str]:
        return await all_values(self.session, EwcCode.code)

    async def chapter_codes(self) -> set[str]:
        return await all_values(self.session, EwcChapter.code)

    async def upsert_chapters(self, rows: list[dict[str, Any]]) -> None:
        """rows: code, level, description."""
        await self.session.execute(
            upsert(EwcChapter, EwcChapter.code, ("level", "description")), rows
        )

    async def upsert_codes(self, rows: list[dict[str, Any]]) -> None:
        """rows: code, chapter, subchapter, description, hazardous, entry_type."""
        columns = ("chapter", "subchapter", "description", "hazardous", "entry_type")
        await self.session.execute(upsert(EwcCode, EwcCode.code, columns), rows)
