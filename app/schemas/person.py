"""Shapes of /v1/me."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from app.models.person import Language
from app.schemas.auth import DisplayName, KommunenummerField
from app.schemas.common import StrictModel, plain_text


class MembershipRef(BaseModel):
    organization_id: uuid.UUID
    organization_name: str
    kind: str
    role: str


class PersonMe(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "type": "person",
                "id": "0b6f4a0e-5f7e-4d7c-9a55-3a1f1f3c2b10",
                "email": "kari.nordmann@example.no",
                "display_name": "Kari",
                "public_name": "Kari N.",
                "show_name": True,
                "label": "Kari N.",
                "home_kommune": "5001",
                "language": "nb",
                "roles": [],
                "created_at": "2026-11-22T10:00:00Z",
                "memberships": [],
                "unread_messages": 2,
                "unread_conversations": 1,
                "unread_notifications": 3,
            }
        }
    )

    type: Literal["person"] = "person"
    id: uuid.UUID
    email: str
    display_name: str
    public_name: str | None = Field(
        default=None, description="The name others see instead of the display name"
    )
    show_name: bool = Field(
        default=True, description='Whether others see a name at all (else "Nabo i …")'
    )
    label: str = Field(default="", description="What others see as your name now")
    home_kommune: str | None
    language: Language
    roles: list[str]
    created_at: datetime
    memberships: list[MembershipRef]
    unread_messages: int = Field(
        default=0, description="Messages from the other party not read yet, in every conversation"
    )
    unread_conversations: int = Field(
        default=0, description="Conversations with unread messages (`GET /v1/me/conversations`)"
    )
    unread_notifications: int = Field(
        default=0, description="Unread notifications (`GET /v1/me/notifications?unread=true`)"
    )


class ApiKeyMe(BaseModel):
    type: Literal["api_key"] = "api_key"
    api_key_id: uuid.UUID
    organization_id: uuid.UUID
    organization_name: str
    scopes: list[str]


Me = Annotated[PersonMe | ApiKeyMe, Field(discriminator="type")]


PublicName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=60),
    AfterValidator(plain_text),
]


class PersonSummary(BaseModel):
    """A person as the other party or the public sees them."""

    id: uuid.UUID
    label: str = Field(
        description='Their public name, or "Nabo i {kommune}" when they hide it',
        examples=["Nabo i Bergen"],
    )


class HomeKommune(BaseModel):
    number: str
    name: str


class HandoverCounts(BaseModel):
    as_provider: int = Field(description="Confirmed handovers where they gave, lent or repaired")
    as_receiver: int = Field(description="Confirmed handovers where they received")


class ReviewCount(BaseModel):
    count: int = Field(description="Revealed reviews about them")
    average: float | None = Field(description="Their average rating, one decimal; null if none")


class PersonProfile(PersonSummary):
    """``GET /v1/people/{id}``: what anyone signed in or not may know of a person — never an
    e-mail or an address."""

    name: str | None = Field(description="The name they show; null when they hide it")
    member_since: str = Field(
        description="Year and month they joined (a day would help tell people apart)",
        examples=["2026-11"],
    )
    kommune: HomeKommune | None = Field(description="Their home kommune, if they gave one")
    handovers: HandoverCounts
    reviews: ReviewCount


class MeUpdate(StrictModel):
    model_config = ConfigDict(
        json_schema_extra={"example": {"display_name": "Kari N.", "language": "en"}}
    )

    display_name: DisplayName | None = None
    public_name: PublicName | None = Field(
        default=None,
        description="The name others see (1-60 characters, plain text); null: the display name",
    )
    show_name: bool | None = Field(
        default=None,
        description='false: others see "Nabo i {your kommune}" instead of a name',
    )
    home_kommune: KommunenummerField | None = Field(
        default=None, description="Four-digit kommune number; null clears it"
    )
    language: Language | None = None


class SessionExport(BaseModel):
    id: uuid.UUID
    created_at: datetime
    last_refreshed_at: datetime | None
    revoked_at: datetime | None


class ApiKeyExport(BaseModel):
    id: uuid.UUID
    organization_id: uuid.UUID
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    revoked_at: datetime | None


class PersonalDataExport(BaseModel):
    """Everything Sirkel holds about a person (GDPR art. 15 and 20)."""

    exported_at: datetime
    profile: PersonMe
    pseudonym: str = Field(description="The only handle evidence records keep")
    sessions: list[SessionExport]
    api_keys_created: list[ApiKeyExport]
    transactions: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Transactions the person is a party to in their own name",
    )
    listings: list[dict[str, Any]] = Field(
        description="The person's own listings in every status, with their exact points"
    )
    messages: list[dict[str, Any]] = Field(
        default_factory=list,
        description="The messages the person wrote in the conversations of transactions",
    )
    reviews: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Reviews the person wrote (`written`) and received, with the answers",
    )
    blocks: list[dict[str, Any]] = Field(
        default_factory=list, description="The persons this person blocked, and since when"
    )
    saved_searches: list[dict[str, Any]] = Field(
        default_factory=list, description="The person's own saved searches (erasure deletes them)"
    )
    library_memberships: list[dict[str, Any]] = Field(
        default_factory=list,
        description="The libraries the person joined, and until when (erasure deletes them)",
    )
    holds: list[dict[str, Any]] = Field(
        default_factory=list,
        description="The person's places in listings' queues, live and closed (erasure deletes "
        "them)",
    )
    photos: list[dict[str, Any]] = Field(
        default_factory=list,
        description="The photos of the person's listings and those they uploaded to their "
        "organizations': position, size, alt text, when added and, if so, when and why removed",
    )
    reports: list[dict[str, Any]] = Field(
        default_factory=list,
        description="The abuse reports the person made: target, reason, note, where each "
        "stands (not who decided)",
    )
