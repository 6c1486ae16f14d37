"""Engine and session factories, and the per-request session dependency.

One database transaction per request: ``get_session`` opens it, the route and its service
work inside it (services ``flush``, never ``commit``), and the dependency commits when the
route returns — *before* the response is sent (``scope="function"``), so a failed commit
becomes an error response rather than a 2xx for data that was not stored.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from app.config import DatabaseSettings
from app.errors import AppError
from app.idempotency import CLAIM_STATE
from app.repositories.idempotency import IdempotencyRepository


def create_engine(settings: DatabaseSettings) -> AsyncEngine:
    return create_async_engine(
        settings.url.get_secret_value(),
        pool_size=settings.pool_size,
        max_overflow=settings.max_overflow,
        pool_timeout=settings.pool_timeout_s,
        pool_pre_ping=False,
        echo=settings.echo,
        connect_args={
            "timeout": settings.connect_timeout_s,
            "server_settings": {
                "application_name": "sirkel",
                "statement_timeout": str(settings.statement_timeout_ms),
                # Timestamps built into JSON by SQL (listings) are written in UTC.
                "TimeZone": "UTC",
                # asyncpg prepares every statement, and after five runs PostgreSQL may switch
                # to a generic plan chosen without the parameters' values. With skewed data
                # (a bbox over Oslo holds thousands of listings, one over Finnmark a handful)
                # that plan is wrong for one of them; planning each run costs well under 1 ms.
                "plan_cache_mode": "force_custom_plan",
                # JIT compiles a query when its estimated cost is high, as a low-zoom tile's
                # or a dense bbox's is; measured on a million listings it cost more than it
                # saved (a z8 tile: 718 ms with it, 418 ms without).
                "jit": "off",
            },
        },
    )


def create_sessionmaker(bind: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(bind, expire_on_commit=False, autoflush=False)


def create_read_sessionmaker(bind: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for safe methods (GET, HEAD), in autocommit: under READ COMMITTED every
    statement takes its own snapshot inside a transaction too, so BEGIN and COMMIT would only
    add two round trips to every read (a quarter of a small search's time). What a read does
    write (an API key's ``last_used_at``) is committed at once."""
    return create_sessionmaker(bind.execution_options(isolation_level="AUTOCOMMIT"))


_SAFE_METHODS = frozenset({"GET", "HEAD"})


async def _mark_applied(session: AsyncSession, claim: tuple[str, str] | None) -> None:
    """The request's Idempotency-Key commits with its effect (``app.idempotency``)."""
    if claim is not None:
        owner, key = claim
        await IdempotencyRepository(session).mark_applied(
            owner=owner, key=key, now=datetime.now(UTC)
        )


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    state = request.app.state
    sessionmaker: async_sessionmaker[AsyncSession] = (
        state.read_sessionmaker if request.method in _SAFE_METHODS else state.sessionmaker
    )
    claim = request.scope.get("state", {}).get(CLAIM_STATE)
    async with sessionmaker() as session:
        try:
            yield session
            await _mark_applied(session, claim)
            await session.commit()
        except AppError as exc:
            if exc.persist_changes:
                await _mark_applied(session, claim)
                await session.commit()
            else:
                await session.rollback()
            raise
        except BaseException:
            await session.rollback()
            raise


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


async def get_snapshot_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A read-only REPEATABLE READ transaction: every statement of the request sees the same
    snapshot. For reads made of many statements that must agree with each other — an impact
    response's indicators, previous period and baseline; the yearly report's figures and its
    ledger head. (The test harness runs requests inside the test's own transaction, where the
    isolation cannot be set: ``app.state.snapshot_isolation`` is False there.)"""
    state = request.app.state
    sessionmaker: async_sessionmaker[AsyncSession] = state.sessionmaker
    async with sessionmaker() as session:
        try:
            if getattr(state, "snapshot_isolation", True):
                await session.connection(
                    execution_options={
                        "isolation_level": "REPEATABLE READ",
                        "postgresql_readonly": True,
                    }
                )
            yield session
        finally:
            await session.rollback()


SnapshotSessionDep = Annotated[AsyncSession, Depends(get_snapshot_session, scope="function")]
