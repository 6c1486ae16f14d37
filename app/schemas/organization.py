"""Request and response shapes for organizations, their members and their API keys."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    HttpUrl,
    StringConstraints,
    TypeAdapter,
    field_validator,
)

from app.models.organization import ApiKeyScope, MemberRole, OrganizationKind, Sector
from app.orgnr import is_valid_orgnr
from app.schemas.common import KOMMUNENUMMER_PATTERN, StrictModel

_HTTP_URL: TypeAdapter[HttpUrl] = TypeAdapter(HttpUrl)


def _check_orgnr(value: str) -> str:
    if not is_valid_orgnr(value):
        raise ValueError("not a valid organisasjonsnummer (nine digits, MOD11 check digit)")
    return value


def _check_website(value: str) -> str:
    try:
        _HTTP_URL.validate_python(value)
    except ValueError:
        raise ValueError("not an http or https URL") from None
    return value


Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Organisasjonsnummer = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=9, max_length=9, pattern=r"^[0-9]{9}$"),
    AfterValidator(_check_orgnr),
    Field(
        description="Nine digits from Brønnøysundregistrene with a valid MOD11 check digit",
        examples=["974760673"],
    ),
]
Kommunenummer = Annotated[
    str,
    StringConstraints(min_length=4, max_length=4, pattern=KOMMUNENUMMER_PATTERN),
    Field(description="Four-digit kommune number (2024 structure)", examples=["0301"]),
]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
# EmailStr refuses addresses longer than email-validator's 254 characters.
ContactEmail = Annotated[EmailStr, Field(examples=["post@example.no"])]
ContactPhone = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=40, pattern=r"^\+?[0-9][0-9 ]*$"
    ),
    Field(
        description="Digits and spaces, optionally after a leading +", examples=["+47 22 33 44 55"]
    ),
]
Website = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=300),
    AfterValidator(_check_website),
    Field(description="An http or https URL", examples=["https://example.no"]),
]
# Persons' e-mail addresses are stored normalised (trimmed, lower case).
PersonEmail = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        to_lower=True,
        min_length=3,
        max_length=320,
        pattern=r"^[^@\s]+@[^@\s]+$",
    ),
    Field(description="The e-mail address the person signed up with", examples=["kari@example.no"]),
]
ApiKeyName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


# --- organizations ---------------------------------------------------------------------


class OrganizationCreate(StrictModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "name": "Fiksehuset Grünerløkka",
                "kind": "repair_shop",
                "organisasjonsnummer": "974760673",
                "kommunenummer": "0301",
                "description": "Vi reparerer sykler, klær og småelektronikk.",
                "contact_email": "post@fiksehuset.no",
                "contact_phone": "+47 22 33 44 55",
                "website": "https://fiksehuset.no",
            }
        },
    )

    name: Name
    kind: OrganizationKind
    organisasjonsnummer: Organisasjonsnummer | None = None
    kommunenummer: Kommunenummer | None = Field(
        default=None, description="The main kommune; required for a municipality"
    )
    description: Description | None = None
    contact_email: ContactEmail | None = None
    contact_phone: ContactPhone | None = None
    website: Website | None = None


class OrganizationUpdate(StrictModel):
    """Only the fields sent are changed; ``null`` clears an optional field."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {"description": "Åpent tirsdag til lørdag.", "website": None}
        },
    )

    name: Name | None = None
    kommunenummer: Kommunenummer | None = None
    description: Description | None = None
    contact_email: ContactEmail | None = None
    contact_phone: ContactPhone | None = None
    website: Website | None = None

    @field_validator("name")
    @classmethod
    def _name_not_null(cls, value: str | None) -> str | None:
        # Defaults are not validated, so this runs only for an explicit null.
        if value is None:
            raise ValueError("name cannot be removed")
        return value


class WastePermit(BaseModel):
    reference: str = Field(
        description="The permit's reference (Miljødirektoratet or statsforvalteren)"
    )
    verified_at: datetime


class WastePermitRecord(StrictModel):
    """A moderator records an organization's permit to receive hazardous waste."""

    model_config = ConfigDict(json_schema_extra={"example": {"reference": "2016.0412.T"}})

    reference: str = Field(min_length=1, max_length=100, pattern=r"\S")


class OrganizationRead(BaseModel):
    """An organization as the public directory shows it: nothing about its people."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "example": {
                "id": "1b0c8f0e-5a7d-4a5e-9a43-2f1d6a0b9c11",
                "name": "Fiksehuset Grünerløkka",
                "kind": "repair_shop",
                "sector": "business",
                "organisasjonsnummer": "974760673",
                "kommunenummer": "0301",
                "description": "Vi reparerer sykler, klær og småelektronikk.",
                "contact_email": "post@fiksehuset.no",
                "contact_phone": "+47 22 33 44 55",
                "website": "https://fiksehuset.no",
                "verified": True,
                "verified_at": "2026-11-23T09:30:00Z",
                "waste_permit": None,
                "created_at": "2026-11-22T14:02:11Z",
            }
        },
    )

    id: uuid.UUID
    name: str
    kind: OrganizationKind
    sector: Sector = Field(description="Derived from kind, for reporting by sector")
    organisasjonsnummer: str | None
    kommunenummer: str | None
    description: str | None
    contact_email: str | None
    contact_phone: str | None
    website: str | None
    verified: bool = Field(description="A moderator has checked who is behind it")
    verified_at: datetime | None
    waste_permit: WastePermit | None = Field(
        default=None,
        description="A permit to receive hazardous waste, recorded by a moderator: only then "
        "is hazardous material matched with the organization",
    )
    created_at: datetime


# --- members ---------------------------------------------------------------------------


class MemberCreate(StrictModel):
    model_config = ConfigDict(
        json_schema_extra={"example": {"email": "kari@example.no", "role": "admin"}}
    )

    email: PersonEmail
    role: MemberRole = MemberRole.MEMBER


class MemberUpdate(StrictModel):
    model_config = ConfigDict(json_schema_extra={"example": {"role": "admin"}})

    role: MemberRole


class MemberRead(BaseModel):
    """A member as other members see them: never the e-mail address."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "person_id": "6f8e2b1a-3c4d-4e5f-8a9b-0c1d2e3f4a5b",
                "display_name": "Kari Nordmann",
                "role": "admin",
                "joined_at": "2026-11-22T14:02:11Z",
            }
        }
    )

    person_id: uuid.UUID
    display_name: str | None = Field(description="null once the person's data has been erased")
    role: MemberRole
    joined_at: datetime


# --- API keys --------------------------------------------------------------------------


class ApiKeyCreate(StrictModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {"name": "Kassasystem", "scopes": ["listings:write", "transactions:write"]}
        },
    )

    name: ApiKeyName
    scopes: list[ApiKeyScope] = Field(min_length=1, max_length=len(ApiKeyScope))

    @field_validator("scopes")
    @classmethod
    def _no_duplicates(cls, value: list[ApiKeyScope]) -> list[ApiKeyScope]:
        if len(set(value)) != len(value):
            raise ValueError("each scope may appear only once")
        return value


class ApiKeyRead(BaseModel):
    """An API key without its secret: only the prefix, to tell keys apart."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "example": {
                "id": "0d6c3f1e-2b4a-4c8d-9e7f-1a2b3c4d5e6f",
                "name": "Kassasystem",
                "prefix": "sk_Ab3dE9xQ",
                "scopes": ["listings:write", "transactions:write"],
                "created_at": "2026-11-22T14:02:11Z",
                "last_used_at": "2026-11-23T08:15:00Z",
                "revoked_at": None,
            }
        },
    )

    id: uuid.UUID
    name: str
    prefix: str
    scopes: list[ApiKeyScope]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(BaseModel):
    """The new key. ``key`` is shown this once; only its hash is stored."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "id": "0d6c3f1e-2b4a-4c8d-9e7f-1a2b3c4d5e6f",
                "name": "Kassasystem",
                "prefix": "sk_Ab3dE9xQ",
                "scopes": ["listings:write"],
                "created_at": "2026-11-22T14:02:11Z",
                "key": "sk_Ab3dE9xQ…",
            }
        }
    )

    id: uuid.UUID
    name: str
    prefix: str
    scopes: list[ApiKeyScope]
    created_at: datetime
    key: str = Field(description="Send as the X-API-Key header. Shown only in this response.")


class CatalogueImportResult(BaseModel):
    """What a catalogue import created (``POST /v1/organizations/{id}/catalogue``)."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "created": 2,
                "duplicates": 1,
                "listing_ids": [
                    "0b9d3f8e-3c0a-4a7e-9d55-2f0f4d1c9a11",
                    "6a1e2c4b-8d7f-4e3a-b1c2-9f8e7d6c5b4a",
                ],
            }
        }
    )

    created: int = Field(description="Items created by this upload")
    duplicates: int = Field(
        description="Rows skipped because the organization already has their `ref`"
    )
    listing_ids: list[uuid.UUID] = Field(description="The new listings, in the file's order")


class LendingStats(BaseModel):
    """A lender's own figures (a library's dashboard): its own data, so never suppressed."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "organization_id": "0b9d3f8e-3c0a-4a7e-9d55-2f0f4d1c9a11",
                "window_days": 365,
                "window_start": "2025-12-05T12:00:00Z",
                "window_end": "2026-12-05T12:00:00Z",
                "lendable_listings": 120,
                "lendable_units": 146,
                "loans_returned": 912,
                "loans_per_unit_per_year": 6.25,
                "idle_days": 90,
                "idle_units": 31,
                "idle_share": 0.212,
                "out_now": 38,
                "overdue_now": 4,
                "renewals": 57,
                "borrowers": 404,
            }
        }
    )

    organization_id: uuid.UUID
    window_days: int = Field(description="The window the flows are counted over, in days")
    window_start: datetime
    window_end: datetime
    lendable_listings: int = Field(description="Item listings to lend or rent, active now")
    lendable_units: int = Field(description="Their identical units (quantity) in all")
    loans_returned: int = Field(
        description="Loans and rentals returned in the window (returned or confirmed)"
    )
    loans_per_unit_per_year: float | None = Field(
        description="loans_returned per lendable unit, scaled to a year (null without units)"
    )
    idle_days: int = Field(description="How long a unit must go unlent to count as idle")
    idle_units: int = Field(description="Lendable units not picked up in the last idle_days")
    idle_share: float | None = Field(description="idle_units / lendable_units (null without)")
    out_now: int = Field(description="Loans and rentals picked up and not yet due")
    overdue_now: int = Field(description="Loans and rentals past their end and not returned")
    renewals: int = Field(description="Renewals of the loans returned in the window")
    borrowers: int = Field(description="Distinct borrowers of the loans returned in the window")
