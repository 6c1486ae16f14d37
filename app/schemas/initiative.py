"""Request and response bodies of /v1/initiatives: pilots, experiments, reuse stations and
repair-café series, their partners and kommuner, and what is tagged with them."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.models.initiative import InitiativeKind
from app.models.organization import Sector
from app.schemas.common import StrictModel
from app.schemas.listing import Description, ShortText
from app.schemas.repair import Kommunenummer

NAME_MIN_LENGTH, NAME_MAX_LENGTH = 3, 160
# Every kommune of Norway (357 in 2024) is the most an initiative can work in.
MAX_KOMMUNER = 400

InitiativeName = Annotated[
    ShortText,
    Field(
        min_length=NAME_MIN_LENGTH,
        max_length=NAME_MAX_LENGTH,
        description=f"Plain text, one line, {NAME_MIN_LENGTH}-{NAME_MAX_LENGTH} characters",
        examples=["Ombruksstasjon Grünerløkka"],
    ),
]
KommuneList = Annotated[
    list[Kommunenummer],
    Field(
        max_length=MAX_KOMMUNER,
        description="The kommuner it works in, by kommunenummer (duplicates count once)",
        examples=[["0301", "3201"]],
    ),
]


def check_period(starts_on: date, ends_on: date | None) -> None:
    if ends_on is not None and ends_on < starts_on:
        raise ValueError("ends_on must be on or after starts_on")


class InitiativeCreate(StrictModel):
    """A new initiative, owned by ``organization_id`` (its admins and owners start it)."""

    organization_id: uuid.UUID = Field(description="The owner: you must be an admin of it")
    name: InitiativeName
    kind: InitiativeKind = Field(examples=["reuse_station"])
    description: Description = ""
    starts_on: date = Field(examples=["2027-01-01"])
    ends_on: date | None = Field(
        default=None,
        description="The last day; on or after starts_on; null while open-ended",
        examples=["2027-12-31"],
    )
    kommuner: KommuneList = Field(default_factory=list)

    @model_validator(mode="after")
    def _period(self) -> InitiativeCreate:
        check_period(self.starts_on, self.ends_on)
        return self


class InitiativeUpdate(StrictModel):
    """The fields to change. ``null`` clears ``ends_on`` (open-ended) and ``description``;
    ``kommuner`` replaces the whole list (``[]`` for none). The period must stay valid."""

    name: InitiativeName | None = None
    kind: InitiativeKind | None = None
    description: Description | None = None
    starts_on: date | None = None
    ends_on: date | None = None
    kommuner: KommuneList | None = None


class OrganizationRef(BaseModel):
    id: uuid.UUID
    name: str
    sector: Sector = Field(description="For reporting by sector, from the organization's kind")


class PartnerRead(OrganizationRef):
    added_at: datetime = Field(description="When it became a partner")


class KommuneRef(BaseModel):
    kommunenummer: str
    name: str


class InitiativeCounts(BaseModel):
    listings: int = Field(description="Listings tagged with the initiative")
    transactions: int = Field(description="Transactions tagged with it, in any status")
    repair_events: int = Field(description="Repair events tagged with it")


_OWNER = {
    "id": "3f1c0d2a-9b7e-4a0c-8d6f-1e2b3a4c5d6e",
    "name": "Oslo kommune",
    "sector": "public_sector",
}
_INITIATIVE_EXAMPLE: dict[str, Any] = {
    "id": "8d2f6a41-0c3e-4b7a-9f15-2e6d8c0b1a97",
    "name": "Ombruksstasjon Grünerløkka",
    "kind": "reuse_station",
    "description": "Lever og hent brukte ting: møbler, sportsutstyr og kjøkkenutstyr.",
    "owner": _OWNER,
    "partners": [
        {
            "id": "1b0c8f0e-5a7d-4a5e-9a43-2f1d6a0b9c11",
            "name": "Fiksehuset Grünerløkka",
            "sector": "business",
            "added_at": "2026-11-24T10:15:00Z",
        }
    ],
    "kommuner": [{"kommunenummer": "0301", "name": "Oslo"}],
    "starts_on": "2027-01-01",
    "ends_on": "2027-12-31",
    "counts": {"listings": 42, "transactions": 17, "repair_events": 0},
    "created_at": "2026-11-23T09:30:00Z",
    "updated_at": "2026-11-24T10:15:00Z",
}


class InitiativeRead(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": _INITIATIVE_EXAMPLE})

    id: uuid.UUID
    name: str
    kind: InitiativeKind
    description: str
    owner: OrganizationRef
    partners: list[PartnerRead] = Field(description="Partner organizations, by name")
    kommuner: list[KommuneRef] = Field(description="The kommuner it works in, by number")
    starts_on: date
    ends_on: date | None = Field(description="The last day; null while open-ended")
    counts: InitiativeCounts
    created_at: datetime
    updated_at: datetime


class InitiativePage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"example": {"items": [_INITIATIVE_EXAMPLE], "next_cursor": None}}
    )

    items: list[InitiativeRead]
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null on the last page"
    )


TagSubject = Literal["listing", "transaction", "repair_event"]


class TagRead(BaseModel):
    """What is now tagged, and how many evidence records were moved to the initiative."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "initiative_id": "8d2f6a41-0c3e-4b7a-9f15-2e6d8c0b1a97",
                "subject": "transaction",
                "id": "5a0e9c1b-2f3d-4e5a-8b6c-7d8e9f0a1b2c",
                "retagged_records": 1,
            }
        }
    )

    initiative_id: uuid.UUID
    subject: TagSubject = Field(description="What was tagged")
    id: uuid.UUID = Field(description="The listing's, transaction's or repair event's id")
    retagged_records: int = Field(
        description="Counted evidence records moved to the initiative by a compensating pair "
        "(`retagged`): 0 for a listing, or for a transaction that has not completed yet"
    )


INITIATIVE_CREATE_EXAMPLES: dict[str, Any] = {
    "reuse_station": {
        "summary": "A municipal reuse station for a year",
        "value": {
            "organization_id": "3f1c0d2a-9b7e-4a0c-8d6f-1e2b3a4c5d6e",
            "name": "Ombruksstasjon Grünerløkka",
            "kind": "reuse_station",
            "description": "Lever og hent brukte ting: møbler, sportsutstyr og kjøkkenutstyr.",
            "starts_on": "2027-01-01",
            "ends_on": "2027-12-31",
            "kommuner": ["0301"],
        },
    },
    "repair_cafe_series": {
        "summary": "An open-ended series of repair cafés in two kommuner",
        "value": {
            "organization_id": "3f1c0d2a-9b7e-4a0c-8d6f-1e2b3a4c5d6e",
            "name": "Fiksekafé på biblioteket",
            "kind": "repair_cafe_series",
            "starts_on": "2026-12-01",
            "kommuner": ["4601", "4626"],
        },
    },
}

INITIATIVE_UPDATE_EXAMPLES: dict[str, Any] = {
    "extend": {
        "summary": "Extend the period and add a kommune",
        "value": {"ends_on": "2028-06-30", "kommuner": ["0301", "3201"]},
    },
    "open_ended": {"summary": "Make it open-ended", "value": {"ends_on": None}},
}
