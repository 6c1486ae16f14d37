"""Library members: persons who accepted a library of things' terms
(``app.models.library_member``)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.schemas.common import Page, Timestamp


class LibraryJoin(BaseModel):
    """Join a library: its terms must be accepted."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": {"accept_terms": True}})

    accept_terms: Literal[True] = Field(description="You accept the library's terms")


class LibraryMemberUpdate(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"example": {"valid_until": "2027-12-31"}}
    )

    valid_until: date = Field(description="The last day the membership is valid")


class LibraryMemberRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "organization_id": "0b9d3f8e-3c0a-4a7e-9d55-2f0f4d1c9a11",
                "person_id": "3f0c9a1e-2b4d-4e6f-8a9b-1c2d3e4f5a6b",
                "label": "Kari N.",
                "terms_accepted_at": "2026-12-05T10:00:00Z",
                "valid_until": "2027-12-05",
                "valid": True,
            }
        }
    )

    organization_id: uuid.UUID
    person_id: uuid.UUID
    label: str | None = Field(description="The member's public name")
    terms_accepted_at: Timestamp
    valid_until: date
    valid: bool = Field(description="Whether the membership covers today (in Norway)")


class LibraryMemberPage(Page[LibraryMemberRead]):
    """One page of a library's members, newest first."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "items": [LibraryMemberRead.model_config["json_schema_extra"]["example"]],  # type: ignore[index]
                "next_cursor": None,
            }
        }
    )
