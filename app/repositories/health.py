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

    async def reference_data_loaded(self) -> bool:
        """Kommuner, categories and waste codes are present (the tables exist, not empty)."""
        for table in ("kommuner", "categories", "ewc_codes"):
            regclass = text(f"SELECT to_regclass('public.{table}')")
            if (await self.session.execute(regclass)).scalar() is None:
                return False
            filled = text(f"SELECT EXISTS (SELECT FROM {table})")
            if not (await self.session.execute(filled)).scalar():
                return False
        return True
