"""SQL behind the readiness check."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


class HealthRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def ping(self) -> None:
        await self.session.execute(text("SELECT 1"))

    async def migration_revisions(self) -> set[str]:
        """Revisions recorded by Alembic; empty if the database was never migrated."""
        exists = (
            await self.session.execute(text("SELECT to_regclass('public.alembic_version')"))
        ).scalar()
        if exists is None:
            return set()
        rows = await self.session.execute(text("SELECT version_num FROM alembic_version"))
        return {str(r) for r in rows.scalars()}

    async def kommune_count(self) -> int:
        exists = (
            await self.session.execute(text("SELECT to_regclass('public.kommuner')"))
        ).scalar()
        if exists is None:
            return 0
        return int((await self.session.execute(text("SELECT count(*) FROM kommuner"))).scalar_one())
