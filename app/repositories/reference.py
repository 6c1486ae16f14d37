"""SQL for the bookkeeping of loaded reference datasets."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import ReferenceDataset
from app.repositories.sql import all_values


class ReferenceDatasetRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def checksum(self, name: str) -> str | None:
        stmt = select(ReferenceDataset.sha256).where(ReferenceDataset.name == name)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def record(self, *, name: str, sha256: str, row_count: int) -> None:
        stmt = insert(ReferenceDataset).values(name=name, sha256=sha256, row_count=row_count)
        stmt = stmt.on_conflict_do_update(
            index_elements=[ReferenceDataset.name],
            set_={"sha256": sha256, "row_count": row_count, "loaded_at": func.now()},
        )
        await self.session.execute(stmt)

    async def names(self) -> set[str]:
        return await all_values(self.session, ReferenceDataset.name)
