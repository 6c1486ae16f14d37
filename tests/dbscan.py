"""Search every text-like column of every table for a value: proof that erasure leaves
nothing behind."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def tables_containing(session: AsyncSession, needle: str) -> list[str]:
    columns = (
        await session.execute(
            text(
                """
                SELECT table_name, column_name
                FROM information_schema.columns
                WHERE table_schema = 'public'
                  AND data_type IN ('text', 'character varying', 'character', 'json', 'jsonb',
                                    'ARRAY', 'USER-DEFINED', 'inet')
                  AND table_name NOT IN ('spatial_ref_sys')
                """
            )
        )
    ).all()
    found = []
    for table, column in columns:
        hit = await session.scalar(
            text(f'SELECT count(*) FROM "{table}" WHERE "{column}"::text ILIKE :needle'),
            {"needle": f"%{needle}%"},
        )
        if hit:
            found.append(f"{table}.{column}")
    return found
