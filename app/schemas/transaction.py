"""Request and response bodies of /v1/transactions and /v1/listings/{id}/availability."""

from __future__ import annotations

import uuid
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    StringConstraints,
    model_validator,
)

from app.models.repair import PROBLEM_MAX_LENGTH, RepairBarrierCode, RepairStatusCode
from app.models.transaction import (
    MAX_TRANSACTION_QUANTITY,
    MESSAGE_MAX_LENGTH,
    SubGoal,
    TransactionStatus,
    TransactionType,
    TransactionUnit,
)
from app.models.unit import NOTE_MAX_LENGTH, UnitStatus
from app.schemas.common import DecimalNumber, Page, Timestamp
from app.schemas.common import StrictModel as _Strict
from app.schemas.listing import Point

Quantity = Annotated[
    Decimal, Field(gt=0, le=MAX_TRANSACTION_QUANTITY, decimal_places=3, examples=[250])
]
# A time as the transaction routes have always written it: ISO 8601 with the offset spelled
# out (``+00:00``), where pydantic would write ``Z``.
Message = Annotated[str, StringConstraints(strip_whitespace=True, max_length=MESSAGE_MAX_LENGTH)]


class Period(_Strict):
    """A booking period, start inclusive, end exclusive, with time zones."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {"start": "2026-12-01T10:00:00+01:00", "end": "2026-12-03T10:00:00+01:00"}
        },
    )

    start: AwareDatetime
    end: AwareDatetime

    @model_validator(mode="after")
    def _ends_after_start(self) -> Period:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class TransactionCreate(_Strict):
    listing_id: uuid.UUID = Field(description="The listing to ask for")
    organization_id: uuid.UUID | None = Field(
        default=None,
        description="Ask on behalf of this organization (members, or its API keys); "
        "omit to ask as yourself",
    )
    quantity: Quantity | None = Field(
        default=None,
        description="How much: pieces of an item (default 1), the material in the listing's "
        "unit (required), MWh of energy (optional). Not for bookings and repairs.",
    )
    unit: TransactionUnit | None = Field(
        default=None, description="Must be the listing's unit (energy: mwh); defaults to it"
    )
    period: Period | None = Field(
        default=None, description="Required for loans, rentals and space shares; else absent"
    )
    message: Message = Field(default="", description="A note to the provider")
    match_of: uuid.UUID | None = Field(
        default=None,
        description="Your own wanted listing whose matches found this listing: the evidence "
        "of the exchange records that it started from a match (`sg3.matches.converted`)",
    )


class RepairOutcome(_Strict):
    """What a repair shop reports when it completes a repair (ORDS v0.3 fields)."""

    repair_status: RepairStatusCode
    repair_barrier: RepairBarrierCode | None = Field(
        default=None, description="Only for End of life"
    )
    brand: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] | None = None
    year_of_manufacture: int | None = Field(default=None, ge=1850, le=2100)
    product_age: Decimal | None = Field(default=None, ge=0, le=200, decimal_places=1)
    problem: Annotated[
        str, StringConstraints(strip_whitespace=True, max_length=PROBLEM_MAX_LENGTH)
    ] = ""

    @model_validator(mode="after")
    def _barrier_only_end_of_life(self) -> RepairOutcome:
        if self.repair_barrier is not None and self.repair_status != "End of life":
            raise ValueError("repair_barrier is only given when the outcome is End of life")
        return self


class TransactionActionBody(_Strict):
    """Optional details of an action: the delivered quantity (``complete`` of exchanges and
    reuse, ``correct``), the repair outcome (``complete`` of a repair), the new end of a
    renewed booking (``renew``), a note."""

    delivered_quantity: Quantity | None = None
    repair: RepairOutcome | None = None
    until: AwareDatetime | None = Field(
        default=None,
        description="`renew` only: the new end of the period; by default the period is "
        "extended by its own length (at most the listing's max_duration_days)",
        examples=["2026-12-20T12:00:00Z"],
    )
    unit_status: UnitStatus | None = Field(
        default=None,
        description="`return` of a loan or rental only: the unit came back `available` (the "
        "default), `needs_repair` or `retired`; a unit out of service takes no bookings until "
        "its listing's managers mark it available",
    )
    condition_note: str = Field(
        default="",
        max_length=NOTE_MAX_LENGTH,
        description="`return` only: the condition it came back in (kept with the unit when it "
        "goes out of service)",
        examples=["Chuck wobbles; one battery dead"],
    )
    note: Message = Field(default="", description="Why (a dispute, a correction, a void)")


class PartyRead(BaseModel):
    """One side of a transaction: a person, an organization, or both (a member acting for it)."""

    person_id: uuid.UUID | None
    organization_id: uuid.UUID | None
    label: str | None = Field(
        default=None,
        description="Who they are as others see them: the organization's name, else the "
        'person\'s public name or "Nabo i {kommune}" (`GET /v1/people/{id}`); never an e-mail',
        examples=["Nabo i Trondheim"],
    )


class Role(StrEnum):
    PROVIDER = "provider"
    RECEIVER = "receiver"


class PeriodRead(BaseModel):
    start: Timestamp
    end: Timestamp


class ImpactRead(BaseModel):
    basis: str | None = Field(description="category, weight, activity or none")
    kg_diverted: DecimalNumber | None
    co2e_kg: DecimalNumber | None = Field(description="Empty where no sourced factor exists")
    factor_revision: int | None


class PickupRead(BaseModel):
    """The place the provider shared with the receiver (``share-location``)."""

    location: Point = Field(description="The listing's exact point")
    note: str = Field(description="The provider's pickup note (plain text)")
    shared_at: Timestamp


# A loan out at a library, as its borrower sees it (OpenAPI's example).
TRANSACTION_EXAMPLE: dict[str, JsonValue] = {
    "id": "6a1e2c4b-8d7f-4e3a-b1c2-9f8e7d6c5b4a",
    "type": "loan",
    "subgoal": "SG2",
    "status": "active",
    "listing_id": "0b9d3f8e-3c0a-4a7e-9d55-2f0f4d1c9a11",
    "provider": {
        "person_id": None,
        "organization_id": "3c2b1a09-8f7e-4d6c-9b5a-4e3d2c1b0a99",
        "label": "BUA Bergen sentrum",
    },
    "receiver": {
        "person_id": "3f0c9a1e-2b4d-4e6f-8a9b-1c2d3e4f5a6b",
        "organization_id": None,
        "label": "Nabo i Bergen",
    },
    "roles": ["receiver"],
    "actions": ["renew"],
    "quantity": None,
    "unit": None,
    "delivered_quantity": None,
    "period": {"start": "2026-12-05T10:00:00+00:00", "end": "2026-12-12T10:00:00+00:00"},
    "blocked_until": "2026-12-12T10:00:00+00:00",
    "unit_no": 1,
    "renewals": 0,
    "message": "Kan jeg hente i dag etter jobb?",
    "impact": None,
    "created_at": "2026-12-05T09:40:00+00:00",
    "updated_at": "2026-12-05T10:05:00+00:00",
    "expires_at": None,
    "accepted_at": "2026-12-05T09:50:00+00:00",
    "started_at": "2026-12-05T10:05:00+00:00",
    "completed_at": None,
    "confirmed_at": None,
    "closed_at": None,
    "pickup": None,
}


class TransactionRead(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": TRANSACTION_EXAMPLE})

    id: uuid.UUID
    type: TransactionType
    subgoal: SubGoal
    status: TransactionStatus
    listing_id: uuid.UUID
    provider: PartyRead
    receiver: PartyRead
    roles: list[Role] = Field(description="The caller's roles in it (empty for moderators)")
    actions: list[str] = Field(description="What the caller may do next")
    quantity: DecimalNumber | None
    unit: TransactionUnit | None
    delivered_quantity: DecimalNumber | None
    period: PeriodRead | None
    blocked_until: Timestamp | None = Field(
        description="End of the period plus the listing's buffer; open (null) while overdue"
    )
    unit_no: int | None = Field(description="Which of several identical items is booked")
    renewals: int = Field(
        default=0, description="How often the booking was renewed (`renew`)", examples=[1]
    )
    message: str
    impact: ImpactRead | None
    created_at: Timestamp
    updated_at: Timestamp
    expires_at: Timestamp | None
    accepted_at: Timestamp | None
    started_at: Timestamp | None
    completed_at: Timestamp | None
    confirmed_at: Timestamp | None
    closed_at: Timestamp | None
    pickup: PickupRead | None = Field(
        default=None,
        description="The exact place and the provider's note, once the provider shared them: "
        "for the two parties, while the transaction is open",
    )


class TransactionPage(Page[TransactionRead]):
    """One page of the caller's transactions, newest first."""

    model_config = ConfigDict(
        json_schema_extra={"example": {"items": [TRANSACTION_EXAMPLE], "next_cursor": None}}
    )


class LoanRead(TransactionRead):
    """A booking of the organization's, as its staff follow it: when it is due back and how
    late it is."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                **TRANSACTION_EXAMPLE,
                "roles": ["provider"],
                "actions": ["return", "renew"],
                "due_at": "2026-12-12T10:00:00+00:00",
                "days_overdue": 0,
                "late_fee_nok": None,
            }
        }
    )

    due_at: Timestamp = Field(description="The end of the period: when it is due back")
    days_overdue: int = Field(
        description="Whole days since it was due, while it is out (0 before)", examples=[3]
    )
    late_fee_nok: DecimalNumber | None = Field(
        default=None,
        description="days_overdue x the listing's late_fee_nok_per_day, when it has one: shown, "
        "never charged by Sirkel",
        examples=[60],
    )


class LoanPage(Page[LoanRead]):
    """One page of an organization's loans, rentals and space shares, soonest due first."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "items": [LoanRead.model_config["json_schema_extra"]["example"]],  # type: ignore[index]
                "next_cursor": None,
            }
        }
    )


class UnitRead(BaseModel):
    """One of a listing's identical units, as its managers see it."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "unit_no": 2,
                "status": "needs_repair",
                "note": "Chuck wobbles",
                "since": "2026-12-05T10:00:00Z",
                "transaction_id": "6a1e2c4b-8d7f-4e3a-b1c2-9f8e7d6c5b4a",
            }
        }
    )

    unit_no: int
    status: UnitStatus
    note: str = Field(description="The condition it came back in, or why it is out")
    since: Timestamp | None = Field(description="When it went out of service")
    transaction_id: uuid.UUID | None = Field(description="The return that took it out")


class UnitList(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "items": [
                    {
                        "unit_no": 1,
                        "status": "available",
                        "note": "",
                        "since": None,
                        "transaction_id": None,
                    },
                    UnitRead.model_config["json_schema_extra"]["example"],  # type: ignore[index]
                ]
            }
        }
    )

    items: list[UnitRead]
    repair_id: uuid.UUID | None = Field(
        default=None,
        description="The repair logged with this change (`repair` in the request), in "
        "`GET /v1/repairs/{id}`",
    )


class UnitRepairLog(_Strict):
    """The repair that put a unit back, or ended it, logged in the same step: a repair of
    the lending organization (SG1 evidence), of the listing's category, today."""

    problem: Annotated[
        str | None,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=PROBLEM_MAX_LENGTH),
    ] = Field(
        default=None,
        description="What was wrong; defaults to the note",
        examples=["Chuck wobbled; new chuck fitted"],
    )
    repair_barrier: RepairBarrierCode | None = Field(
        default=None, description="Why it could not be repaired; only with `retired`"
    )


class UnitStatusUpdate(BaseModel):
    """Set a unit's status: `available` (fixed, back in service), `needs_repair`, `retired`.
    With `repair`, the repair is logged too: `available` as Fixed, `retired` as End of life."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "status": "available",
                    "note": "New chuck fitted",
                    "repair": {"problem": "Chuck wobbled"},
                }
            ]
        },
    )

    status: UnitStatus
    note: str = Field(default="", max_length=NOTE_MAX_LENGTH, examples=["New chuck fitted"])
    repair: UnitRepairLog | None = None

    @model_validator(mode="after")
    def _repair_fits_the_status(self) -> UnitStatusUpdate:
        if self.repair is None:
            return self
        if self.status is UnitStatus.NEEDS_REPAIR:
            raise ValueError("a repair is logged when the unit is fixed (available) or retired")
        if self.repair.repair_barrier is not None and self.status is not UnitStatus.RETIRED:
            raise ValueError("repair_barrier is only given when the unit is retired")
        return self


class BusyPeriod(BaseModel):
    start: Timestamp
    end: Timestamp | None = Field(description="null: until an overdue item is back")
    unit_no: int
    status: TransactionStatus


class FreePeriod(BaseModel):
    start: Timestamp
    end: Timestamp
    units_free: int = Field(description="How many identical units are free all through it")


class Availability(BaseModel):
    listing_id: uuid.UUID
    units: int = Field(description="Identical units that can be booked (1 for a space)")
    units_out_of_service: int = Field(
        default=0, description="Of those, units in repair or retired: never free"
    )
    window_start: Timestamp
    window_end: Timestamp
    busy: list[BusyPeriod] = Field(description="Held periods incl. buffers, by unit")
    free: list[FreePeriod] = Field(description="Periods when at least one unit is free")
