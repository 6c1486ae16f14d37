"""Every SQL statement about messages, read markers and conversations."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import BlockedError
from app.models import Message, ReadMarker
from app.repositories.db_errors import constraint_name

# The transactions a person takes part in, and on which side: in their own name, or as a
# member of a party organization. One arm per index (provider or receiver, person or organization).
_SIDES = """
    SELECT t.id AS transaction_id, 'provider' AS side FROM transactions AS t
    WHERE t.provider_person_id = :me
    UNION ALL
    SELECT t.id, 'provider' FROM transactions AS t
    JOIN memberships AS m ON m.organization_id = t.provider_organization_id AND m.person_id = :me
    UNION ALL
    SELECT t.id, 'receiver' FROM transactions AS t
    WHERE t.receiver_person_id = :me
    UNION ALL
    SELECT t.id, 'receiver' FROM transactions AS t
    JOIN memberships AS m ON m.organization_id = t.receiver_organization_id AND m.person_id = :me
"""

# A message is unread for a person when it came from another side than theirs, someone else
# wrote it, and it is past their read marker.
_UNREAD = (
    "u.seq > coalesce(r.last_seq, 0) AND NOT (u.author_side = ANY (mine.sides)) "
    "AND u.author_person_id IS DISTINCT FROM :me"
)


@dataclass(frozen=True, slots=True)
class ConversationRow:
    transaction_id: uuid.UUID
    status: str
    type: str
    listing_id: uuid.UUID
    listing_title: str
    last: Message
    unread: int
    sides: list[str]  # the person's sides in it


class MessageRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, message: Message) -> Message:
        """Insert the message; a block that arrived meanwhile is ``403 blocked`` (the trigger
        ``messages_not_blocked`` decides)."""
        try:
            async with self.session.begin_nested():
                self.session.add(message)
                await self.session.flush()
        except IntegrityError as exc:
            if constraint_name(exc) == "messages_not_blocked":
                raise BlockedError("One of you blocked the other; you cannot write here.") from None
            raise
        return message

    async def page(
        self, transaction_id: uuid.UUID, *, after_seq: int | None, limit: int
    ) -> list[Message]:
        """The thread oldest first (newest last), after ``after_seq``."""
        stmt = select(Message).where(Message.transaction_id == transaction_id)
        if after_seq is not None:
            stmt = stmt.where(Message.seq > after_seq)
        stmt = stmt.order_by(Message.seq).limit(limit)
        return list((await self.session.execute(stmt)).scalars())

    async def seq_in(self, transaction_id: uuid.UUID, message_id: uuid.UUID) -> int | None:
        stmt = select(Message.seq).where(
            Message.id == message_id, Message.transaction_id == transaction_id
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def mark_read(
        self, transaction_id: uuid.UUID, person_id: uuid.UUID, *, seq: int, now: datetime
    ) -> None:
        """Move the person's marker forward to ``seq`` (never back)."""
        stmt = insert(ReadMarker).values(
            transaction_id=transaction_id, person_id=person_id, last_seq=seq, read_at=now
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[ReadMarker.transaction_id, ReadMarker.person_id],
            set_={
                "last_seq": func.greatest(ReadMarker.last_seq, stmt.excluded.last_seq),
                "read_at": stmt.excluded.read_at,
            },
        )
        await self.session.execute(stmt)

    async def unread_in(
        self, transaction_id: uuid.UUID, person_id: uuid.UUID, sides: list[str]
    ) -> int:
        stmt = text(
            "SELECT count(*) FROM messages AS u "
            "CROSS JOIN (SELECT CAST(:sides AS text[]) AS sides) AS mine "
            "LEFT JOIN message_reads AS r ON r.transaction_id = u.transaction_id "
            "AND r.person_id = :me "
            f"WHERE u.transaction_id = :tx AND {_UNREAD}"
        )
        params = {"sides": sides, "me": person_id, "tx": transaction_id}
        return int((await self.session.execute(stmt, params)).scalar_one())

    async def unread_total(self, person_id: uuid.UUID) -> tuple[int, int]:
        """(unread messages, conversations with unread messages) of the person."""
        stmt = text(
            f"WITH sides AS ({_SIDES}), "
            "mine AS (SELECT transaction_id, array_agg(side) AS sides FROM sides GROUP BY 1) "
            "SELECT count(*), count(DISTINCT u.transaction_id) FROM mine "
            "JOIN messages AS u ON u.transaction_id = mine.transaction_id "
            "LEFT JOIN message_reads AS r ON r.transaction_id = mine.transaction_id "
            "AND r.person_id = :me "
            f"WHERE {_UNREAD}"
        )
        row = (await self.session.execute(stmt, {"me": person_id})).one()
        return int(row[0]), int(row[1])

    async def conversations(
        self, person_id: uuid.UUID, *, before_seq: int | None, limit: int
    ) -> list[ConversationRow]:
        """The person's threads, the one with the newest message first."""
        stmt = text(
            f"WITH sides AS ({_SIDES}), "
            "mine AS (SELECT transaction_id, array_agg(side) AS sides FROM sides GROUP BY 1) "
            "SELECT t.id, t.status, t.type, t.listing_id, l.title, last.id AS last_id, mine.sides, "
            f"(SELECT count(*) FROM messages AS u WHERE u.transaction_id = t.id AND {_UNREAD}) "
            "AS unread "
            "FROM mine JOIN transactions AS t ON t.id = mine.transaction_id "
            "JOIN listings AS l ON l.id = t.listing_id "
            "JOIN LATERAL (SELECT m.id, m.seq FROM messages AS m WHERE m.transaction_id = t.id "
            "ORDER BY m.seq DESC LIMIT 1) AS last ON true "
            "LEFT JOIN message_reads AS r ON r.transaction_id = t.id AND r.person_id = :me "
            "WHERE (CAST(:before AS bigint) IS NULL OR last.seq < :before) "
            "ORDER BY last.seq DESC LIMIT :limit"
        )
        params: dict[str, Any] = {"me": person_id, "before": before_seq, "limit": limit}
        rows = (await self.session.execute(stmt, params)).all()
        if not rows:
            return []
        ids = [r.last_id for r in rows]
        last = {
            m.id: m
            for m in (await self.session.execute(select(Message).where(Message.id.in_(ids))))
            .scalars()
            .all()
        }
        return [
            ConversationRow(
                transaction_id=r.id,
                status=r.status,
                type=r.type,
                listing_id=r.listing_id,
                listing_title=r.title,
                last=last[r.last_id],
                unread=int(r.unread),
                sides=list(r.sides),
            )
            for r in rows
        ]

    # --- personal data ------------------------------------------------------------------

    async def export_for_person(self, person_id: uuid.UUID) -> list[dict[str, Any]]:
        """The messages the person wrote."""
        stmt = text(
            "SELECT id, transaction_id, author_side, kind, action, body, created_at "
            "FROM messages WHERE author_person_id = :me ORDER BY seq"
        )
        return [dict(r._mapping) for r in await self.session.execute(stmt, {"me": person_id})]

    async def erase_for_person(self, person_id: uuid.UUID, *, now: datetime) -> None:
        """Erasure empties every message the person wrote; the thread keeps its place."""
        await self.session.execute(
            update(Message)
            .where(Message.author_person_id == person_id, Message.erased_at.is_(None))
            .values(body="", erased_at=now)
        )
