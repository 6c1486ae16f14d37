"""SQL for Idempotency-Key records. Each call runs in the caller's session; the middleware
commits each step on its own, apart from the request's transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import IdempotencyRecord


@dataclass(frozen=True, slots=True)
class StoredOutcome:
    request_hash: str
    state: str
    created_at: datetime
    response_status: int | None
    response_headers: list[list[str]] | None
    response_body: bytes | None
    applied_at: datetime | None


class IdempotencyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def claim(self, *, owner: str, key: str, request_hash: str, expires_at: datetime) -> bool:
        """Insert an in-progress record; False if one exists (the caller then reads it)."""
        stmt = (
            insert(IdempotencyRecord)
            .values(
                owner=owner,
                key=key,
                request_hash=request_hash,
                state="in_progress",
                expires_at=expires_at,
            )
            .on_conflict_do_nothing(index_elements=["owner", "key"])
            .returning(IdempotencyRecord.key)
        )
        return (await self.session.execute(stmt)).first() is not None

    async def get_for_update(self, *, owner: str, key: str) -> StoredOutcome | None:
        stmt = (
            select(IdempotencyRecord)
            .where(IdempotencyRecord.owner == owner, IdempotencyRecord.key == key)
            .with_for_update()
        )
        row = (await self.session.execute(stmt)).scalar_one_or_none()
        if row is None:
            return None
        return StoredOutcome(
            request_hash=row.request_hash,
            state=row.state,
            created_at=row.created_at,
            response_status=row.response_status,
            response_headers=row.response_headers,
            response_body=row.response_body,
            applied_at=row.applied_at,
        )

    async def restart(
        self, *, owner: str, key: str, request_hash: str, now: datetime, expires_at: datetime
    ) -> None:
        """Take over an abandoned or expired record for a new attempt."""
        await self.session.execute(
            update(IdempotencyRecord)
            .where(IdempotencyRecord.owner == owner, IdempotencyRecord.key == key)
            .values(
                request_hash=request_hash,
                state="in_progress",
                response_status=None,
                response_headers=None,
                response_body=None,
                applied_at=None,
                created_at=now,
                expires_at=expires_at,
            )
        )

    async def complete(
        self,
        *,
        owner: str,
        key: str,
        status: int,
        headers: list[list[str]] | None,
        body: bytes | None,
        secret: bool,
    ) -> None:
        await self.session.execute(
            update(IdempotencyRecord)
            .where(IdempotencyRecord.owner == owner, IdempotencyRecord.key == key)
            .values(
                state="completed_secret" if secret else "completed",
                response_status=status,
                response_headers=headers,
                response_body=body,
            )
        )

    async def mark_applied(self, *, owner: str, key: str, now: datetime) -> None:
        """In the request's own transaction: its effect and this mark commit together."""
        await self.session.execute(
            update(IdempotencyRecord)
            .where(
                IdempotencyRecord.owner == owner,
                IdempotencyRecord.key == key,
                IdempotencyRecord.state == "in_progress",
            )
            .values(applied_at=now)
        )

    async def release(self, *, owner: str, key: str) -> None:
        """After a 5xx: forget the key so a retry runs for real — unless the effect had
        committed, which the key then keeps as ``applied`` (a retry must not run it twice)."""
        await self.session.execute(
            delete(IdempotencyRecord).where(
                IdempotencyRecord.owner == owner,
                IdempotencyRecord.key == key,
                IdempotencyRecord.applied_at.is_(None),
            )
        )
        await self.session.execute(
            update(IdempotencyRecord)
            .where(
                IdempotencyRecord.owner == owner,
                IdempotencyRecord.key == key,
                IdempotencyRecord.state == "in_progress",
                IdempotencyRecord.applied_at.is_not(None),
            )
            .values(state="applied")
        )

    async def purge_expired(self, now: datetime) -> None:
        await self.session.execute(
            delete(IdempotencyRecord).where(IdempotencyRecord.expires_at < now)
        )
