"""Conversations: one per transaction, between its parties.

**Who reads and writes.** The parties — the provider and the receiver, each a person or an
organization (its members, and its API keys with ``transactions:write`` to write). Moderators
read a conversation only while its transaction is disputed (they decide the dispute) and never
write in it; to everyone else the transaction does not exist (404). A party writes while the
transaction is open and for ``CONVERSATION_OPEN_DAYS_AFTER_CLOSE`` days after it ended; then
``409 conversation_closed``. The request's message and every move's note are messages of the
same thread (``app.services.transaction``), so nothing said is lost.

**Read markers** are per person: ``POST …/messages/read`` with the last message read moves the
marker forward (never back). A message is unread for a person when it came from the other side
and lies past their marker. API keys read and write but keep no marker.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import (
    BlockedError,
    ConversationClosedError,
    InvalidInputError,
    TransactionNotFoundError,
    WrongPartyError,
)
from app.models import Message
from app.models.message import CONVERSATION_OPEN_DAYS_AFTER_CLOSE, MessageKind, MessageSide
from app.models.outbox import EventType
from app.models.transaction import TransactionStatus
from app.pagination import decode_seq_cursor, encode_seq_cursor
from app.repositories.block import BlockRepository
from app.repositories.message import MessageRepository
from app.schemas.message import (
    ConversationPage,
    ConversationRead,
    MessageAuthor,
    MessagePage,
    MessageRead,
    UnreadCount,
)
from app.services import outbox
from app.services.policy import OrgAction, Principal, authorize_org, require_person
from app.services.transaction import Participation, Party, load_participation, party_recipient

_SIDES = (Party.PROVIDER, Party.RECEIVER)


def _sides(participation: Participation) -> list[str]:
    return sorted(p.value for p in participation.parties if p in _SIDES)


def message_read(message: Message, sides: list[str]) -> MessageRead:
    return MessageRead(
        id=message.id,
        author=MessageAuthor(
            side=MessageSide(message.author_side),
            person_id=message.author_person_id,
            organization_id=message.author_organization_id,
            erased=message.erased_at is not None,
        ),
        mine=message.author_side in sides,
        kind=MessageKind(message.kind),
        action=message.action,
        body=message.body,
        created_at=message.created_at,
    )


async def _readable(
    session: AsyncSession, principal: Principal, transaction_id: uuid.UUID
) -> tuple[list[str], Participation]:
    tx, participation = await load_participation(session, principal, transaction_id, lock=False)
    sides = _sides(participation)
    if not sides and tx.status != TransactionStatus.DISPUTED.value:
        # A moderator, and the transaction is not disputed: private between the parties.
        raise TransactionNotFoundError(f"No transaction has the id {transaction_id}.")
    return sides, participation


async def list_messages(
    session: AsyncSession,
    *,
    principal: Principal,
    transaction_id: uuid.UUID,
    cursor: str | None,
    limit: int,
) -> MessagePage:
    sides, _ = await _readable(session, principal, transaction_id)
    repo = MessageRepository(session)
    after = decode_seq_cursor(cursor) if cursor else None
    rows = await repo.page(transaction_id, after_seq=after, limit=limit + 1)
    unread = (
        await repo.unread_in(transaction_id, principal.person_id, sides)
        if principal.person_id is not None and sides
        else 0
    )
    return MessagePage(
        items=[message_read(m, sides) for m in rows[:limit]],
        next_cursor=encode_seq_cursor(rows[limit - 1].seq) if len(rows) > limit else None,
        unread=unread,
    )


async def post_message(
    session: AsyncSession,
    *,
    principal: Principal,
    transaction_id: uuid.UUID,
    body: str,
    now: datetime,
) -> MessageRead:
    tx, participation = await load_participation(session, principal, transaction_id, lock=False)
    sides = _sides(participation)
    if not sides:
        if tx.status != TransactionStatus.DISPUTED.value:
            raise TransactionNotFoundError(f"No transaction has the id {transaction_id}.")
        raise WrongPartyError("Moderators read a disputed conversation; they do not write in it.")
    side = Party(sides[0])
    org = participation.via_organization.get(side)
    if org is not None:
        await authorize_org(session, principal, org, OrgAction.WRITE_TRANSACTIONS)
    other = party_recipient(tx, Party.RECEIVER if side is Party.PROVIDER else Party.PROVIDER)
    if (
        principal.person_id is not None
        and other.person_id is not None
        and await BlockRepository(session).between(principal.person_id, other.person_id)
    ):
        raise BlockedError("One of you blocked the other; you cannot write here.")
    if tx.closed_at is not None and now > tx.closed_at + timedelta(
        days=CONVERSATION_OPEN_DAYS_AFTER_CLOSE
    ):
        raise ConversationClosedError(
            f"The transaction ended on {tx.closed_at.date().isoformat()}; its conversation "
            f"closed {CONVERSATION_OPEN_DAYS_AFTER_CLOSE} days later."
        )
    message = await MessageRepository(session).add(
        Message(
            transaction_id=tx.id,
            author_side=side.value,
            author_person_id=principal.person_id,
            author_organization_id=org,
            kind=MessageKind.TEXT.value,
            action=None,
            body=body,
            created_at=now,
        )
    )
    await outbox.emit(
        session,
        EventType.MESSAGE_RECEIVED,
        to=[party_recipient(tx, p) for p in _SIDES if p.value not in sides],
        payload={
            "transaction_id": str(tx.id),
            "listing_id": str(tx.listing_id),
            "message_id": str(message.id),
        },
        now=now,
    )
    if principal.person_id is not None:
        # Writing answers everything before: the writer has read the thread up to here.
        await MessageRepository(session).mark_read(
            tx.id, principal.person_id, seq=message.seq, now=now
        )
    return message_read(message, sides)


async def mark_read(
    session: AsyncSession,
    *,
    principal: Principal,
    transaction_id: uuid.UUID,
    up_to: uuid.UUID,
    now: datetime,
) -> UnreadCount:
    person_id = require_person(principal)
    sides, _ = await _readable(session, principal, transaction_id)
    repo = MessageRepository(session)
    seq = await repo.seq_in(transaction_id, up_to)
    if seq is None:
        raise InvalidInputError.for_field(
            f"The conversation has no message with the id {up_to}.",
            field="up_to",
            message="Not a message of this conversation",
            type="unknown",
        )
    if sides:
        await repo.mark_read(transaction_id, person_id, seq=seq, now=now)
    return UnreadCount(
        unread=await repo.unread_in(transaction_id, person_id, sides) if sides else 0
    )


async def list_conversations(
    session: AsyncSession, *, principal: Principal, cursor: str | None, limit: int
) -> ConversationPage:
    person_id = require_person(principal)
    before = decode_seq_cursor(cursor) if cursor else None
    rows = await MessageRepository(session).conversations(
        person_id, before_seq=before, limit=limit + 1
    )
    items = []
    for row in rows[:limit]:
        items.append(
            ConversationRead(
                transaction_id=row.transaction_id,
                transaction_status=TransactionStatus(row.status),
                transaction_type=row.type,  # type: ignore[arg-type]
                listing_id=row.listing_id,
                listing_title=row.listing_title,
                last_message=message_read(row.last, row.sides),
                unread=row.unread,
            )
        )
    next_cursor = encode_seq_cursor(rows[limit - 1].last.seq) if len(rows) > limit else None
    return ConversationPage(items=items, next_cursor=next_cursor)


async def unread_total(session: AsyncSession, *, person_id: uuid.UUID) -> tuple[int, int]:
    return await MessageRepository(session).unread_total(person_id)
