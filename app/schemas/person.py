"""Shapes of /v1/me."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.models.person import Language
from app.schemas.auth import DisplayName, KommunenummerField
from app.schemas.common import StrictModel


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


class MeUpdate(StrictModel):
    model_config = ConfigDict(
        json_schema_extra={"example": {"display_name": "Kari N.", "language": "en"}}
    )

    display_name: DisplayName | None = None
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
    blocks: list[dict[str, Any]] = Field(
        default_factory=list, description="The persons this person blocked, and since when"
    )
    reports: list[dict[str, Any]] = Field(
        default_factory=list,
        description="The abuse reports the person made: target, reason, note, where each "
        "stands (not who decided)",
    )
