"""Hot read statements on the asyncpg connection itself.

Search pages and vector tiles are single statements whose result is already the response
(JSON text or MVT bytes, built by PostgreSQL). Through the ORM session every run also pays for
SQLAlchemy's parameter and result processing; measured on the benchmark (docs/benchmarks.md)
that was a large part of what separated the API from a bare asyncpg app running the same SQL.
So the repositories compile such a statement once per distinct SQL text with the asyncpg
dialect (positional ``$n`` parameters, exactly what SQLAlchemy would send) and run it on the
session's own connection — in the request's transaction, or in autocommit for reads.
"""

from __future__ import annotations

from typing import Any

import asyncpg
from sqlalchemy import TextClause
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

_DIALECT = asyncpg_dialect()  # type: ignore[no-untyped-call]
# SQL text → (positional SQL, parameter names in order). The texts are built from a fixed set
# of fragments (one per filter combination), so this stays small.
_compiled: dict[str, tuple[str, tuple[str, ...]]] = {}


def compile_statement(stmt: TextClause) -> tuple[str, list[Any]]:
    """Positional SQL and its arguments, as SQLAlchemy's asyncpg dialect sends them."""
    cached = _compiled.get(stmt.text)
    if cached is None:
        compiled = stmt.compile(dialect=_DIALECT)
        cached = (str(compiled), tuple(compiled.positiontup or ()))
        _compiled[stmt.text] = cached
    sql, names = cached
    binds = stmt._bindparams
    return sql, [binds[name].value for name in names]


async def _run(session: AsyncSession, stmt: TextClause, method: str) -> Any:
    sql, args = compile_statement(stmt)
    connection = await session.connection()
    driver = (await connection.get_raw_connection()).driver_connection
    try:
        return await getattr(driver, method)(sql, *args)
    except asyncpg.PostgresError as exc:
        # As SQLAlchemy would wrap it, so that the handlers in app.errors see the SQLSTATE.
        raise DBAPIError(sql, None, exc) from exc


async def fetch(session: AsyncSession, stmt: TextClause) -> list[Any]:
    """The rows (``asyncpg.Record``, by column name or position)."""
    rows: list[Any] = await _run(session, stmt, "fetch")
    return rows


async def fetchval(session: AsyncSession, stmt: TextClause) -> Any:
    return await _run(session, stmt, "fetchval")
