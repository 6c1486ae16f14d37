"""Messages between the parties of a transaction, and the caller's conversations."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from app.models.message import MESSAGE_BODY_MAX_LENGTH, MessageKind, MessageSide
from app.models.transaction import TransactionStatus, TransactionType
from app.schemas.common import Page, StrictModel, plain_text

Body = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MESSAGE_BODY_MAX_LENGTH),
    AfterValidator(plain_text),
]


class MessageCreate(StrictModel):
    body: Body = Field(
        description="Plain text, up to 4,000 characters (no HTML; links are not rendered)",
        examples=["Passer det å hente i morgen etter kl. 17?"],
    )


class MessageAuthor(BaseModel):
    side: MessageSide = Field(description="`provider`, `receiver` or `moderator`")
    person_id: uuid.UUID | None = Field(
        description="The person who wrote it (null for an organization's API key or an erased "
        "person)"
    )
    organization_id: uuid.UUID | None = Field(description="The party organization it was for")
    erased: bool = Field(description='The author erased their account ("slettet bruker")')


class MessageRead(BaseModel):
    id: uuid.UUID
    author: MessageAuthor
    mine: bool = Field(description="Written by the caller (or the caller's side's organization)")
    kind: MessageKind = Field(
        description="`text` (written here), `request` (the request's message) or `note` "
        "(the note that came with a move)"
    )
    action: str | None = Field(description="The move a note came with, e.g. `accept`")
    body: str = Field(description="Empty when its author erased their account")
    created_at: datetime


class MessagePage(Page[MessageRead]):
    unread: int = Field(description="Messages from the other side the caller has not read")


class ReadUpTo(StrictModel):
    up_to: uuid.UUID = Field(
        description="The last message read (this one and every earlier one count as read)",
        examples=["7a1c1e52-3f7b-4c51-9b7e-0d6c2d8f4a11"],
    )


class UnreadCount(BaseModel):
    unread: int = Field(description="Messages from the other side still unread in this thread")


class ConversationRead(BaseModel):
    transaction_id: uuid.UUID
    transaction_status: TransactionStatus
    transaction_type: TransactionType
    listing_id: uuid.UUID
    listing_title: str
    last_message: MessageRead
    unread: int


class ConversationPage(Page[ConversationRead]):
    pass


class ShareLocation(StrictModel):
    pickup_note: Annotated[
        str, StringConstraints(strip_whitespace=True, max_length=1000), AfterValidator(plain_text)
    ] = Field(
        default="",
        description="Where exactly, how to get in, when (plain text, up to 1,000 characters)",
        examples=["Oppgang B, 3. etasje. Ring på «Hansen»."],
    )
