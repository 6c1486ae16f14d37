"""Request and response bodies of /v1/repair-events, /v1/repairs and the ORDS import.

Repairs carry the fields of the Open Repair Data Standard v0.3 (``app.services.ords``) under
their ORDS names, except ``repair_barrier`` (ORDS: ``repair_barrier_if_end_of_life``) and the
product category, which is given either as one of our category slugs (``category``; the ORDS
category follows from it) or directly as an ORDS ``product_category_id``.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from app.models.category import ORDS_MAX_ID, ORDS_MIN_ID
from app.models.repair import PROBLEM_MAX_LENGTH, RepairBarrierCode, RepairStatusCode
from app.schemas.common import Page
from app.schemas.common import StrictModel as _Strict
from app.schemas.listing import CategorySlug, Description, Point, ShortText, Title

# The longest repair event: a week-long repair festival, not a permanent opening.
MAX_EVENT_DAYS = 7
MAX_PEOPLE = 100_000

Kommunenummer = Annotated[str, StringConstraints(pattern=r"^[0-9]{4}$"), Field(examples=["0301"])]
People = Annotated[int, Field(ge=0, le=MAX_PEOPLE)]
OrdsCategoryId = Annotated[
    int,
    Field(
        ge=ORDS_MIN_ID,
        le=ORDS_MAX_ID,
        description="An ORDS v0.3 product category (1-40), e.g. 16 Laptop",
        examples=[16],
    ),
]
Brand = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
    Field(examples=["Lenovo"]),
]
Problem = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=PROBLEM_MAX_LENGTH),
    Field(
        description="What was wrong and what was done. Kept as written for the organization; "
        "the ORDS export removes e-mail addresses, telephone numbers, links and long numbers",
        examples=["Startet ikke; byttet ladekontakt."],
    ),
]
ProductAge = Annotated[Decimal, Field(ge=0, le=200, decimal_places=1, examples=[4])]
Year = Annotated[int, Field(ge=1850, le=2100, examples=[2019])]


def check_event_period(starts_at: datetime, ends_at: datetime) -> None:
    if ends_at <= starts_at:
        raise ValueError("ends_at must be after starts_at")
    if (ends_at - starts_at).total_seconds() > MAX_EVENT_DAYS * 86400:
        raise ValueError(f"an event lasts at most {MAX_EVENT_DAYS} days")


# --- repair events ----------------------------------------------------------------------------


class RepairEventCreate(_Strict):
    """A repair event (a repair café evening, a repair day). Place it with ``location`` (its
    kommune is looked up) or ``kommunenummer``; both may be given if they agree."""

    organization_id: uuid.UUID = Field(description="The organiser")
    title: Title = Field(examples=["Reparasjonskafé på Deichman Grünerløkka"])
    description: Description = ""
    starts_at: AwareDatetime = Field(examples=["2026-12-05T12:00:00+01:00"])
    ends_at: AwareDatetime = Field(
        description=f"After starts_at, at most {MAX_EVENT_DAYS} days later",
        examples=["2026-12-05T16:00:00+01:00"],
    )
    address: ShortText | None = Field(default=None, examples=["Schous plass 10, 0552 Oslo"])
    location: Point | None = None
    kommunenummer: Kommunenummer | None = None
    participants: People | None = Field(default=None, description="People who came")
    volunteers: People | None = Field(default=None, description="Volunteers who repaired")

    @model_validator(mode="after")
    def _period(self) -> RepairEventCreate:
        check_event_period(self.starts_at, self.ends_at)
        return self


class RepairEventUpdate(_Strict):
    """Fields to change (typically ``participants`` and ``volunteers`` after the event);
    ``null`` clears an optional one. The result must be a valid event."""

    title: Title | None = None
    description: Description | None = None
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    address: ShortText | None = None
    location: Point | None = None
    kommunenummer: Kommunenummer | None = None
    participants: People | None = None
    volunteers: People | None = None


_EVENT_EXAMPLE: dict[str, Any] = {
    "id": "5a0e9c1b-2f3d-4e5a-8b6c-7d8e9f0a1b2c",
    "organization_id": "3f1c0d2a-9b7e-4a0c-8d6f-1e2b3a4c5d6e",
    "title": "Reparasjonskafé på Deichman Grünerløkka",
    "description": "Ta med det som er i stykker: klær, lamper, sykler og elektronikk.",
    "starts_at": "2026-12-05T11:00:00Z",
    "ends_at": "2026-12-05T15:00:00Z",
    "address": "Schous plass 10, 0552 Oslo",
    "location": {"type": "Point", "coordinates": [10.7597, 59.9199]},
    "kommunenummer": "0301",
    "fylkesnummer": "03",
    "participants": 34,
    "volunteers": 9,
    "created_at": "2026-11-22T12:00:00Z",
    "updated_at": "2026-12-06T09:30:00Z",
}


class RepairEventRead(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": _EVENT_EXAMPLE})

    id: uuid.UUID
    organization_id: uuid.UUID
    title: str
    description: str
    starts_at: datetime
    ends_at: datetime
    address: str | None
    location: Point | None
    kommunenummer: str | None
    fylkesnummer: str | None
    participants: int | None
    volunteers: int | None
    created_at: datetime
    updated_at: datetime


class RepairEventPage(Page[RepairEventRead]):
    model_config = ConfigDict(
        json_schema_extra={"example": {"items": [_EVENT_EXAMPLE], "next_cursor": None}}
    )


REPAIR_EVENT_CREATE_EXAMPLES: dict[str, Any] = {
    "cafe": {
        "summary": "A repair café evening at a library",
        "value": {
            "organization_id": "3f1c0d2a-9b7e-4a0c-8d6f-1e2b3a4c5d6e",
            "title": "Reparasjonskafé på Deichman Grünerløkka",
            "description": "Ta med det som er i stykker: klær, lamper, sykler og elektronikk.",
            "starts_at": "2026-12-05T12:00:00+01:00",
            "ends_at": "2026-12-05T16:00:00+01:00",
            "address": "Schous plass 10, 0552 Oslo",
            "location": {"type": "Point", "coordinates": [10.7597, 59.9199]},
        },
    },
    "kommune_only": {
        "summary": "A repair day placed only by its kommune",
        "value": {
            "organization_id": "3f1c0d2a-9b7e-4a0c-8d6f-1e2b3a4c5d6e",
            "title": "Fiksedag i Bodø",
            "starts_at": "2027-03-13T10:00:00+01:00",
            "ends_at": "2027-03-13T15:00:00+01:00",
            "kommunenummer": "1804",
        },
    },
}

REPAIR_EVENT_UPDATE_EXAMPLES: dict[str, Any] = {
    "turnout": {
        "summary": "Who came, filled in after the event",
        "value": {"participants": 34, "volunteers": 9},
    },
}


# --- repairs ----------------------------------------------------------------------------------


class _RepairFields(_Strict):
    category: CategorySlug | None = Field(
        default=None,
        description="Our category (see /v1/categories); the ORDS product category is that of "
        "the category or its nearest ancestor with one (else 18 Misc). Give this or "
        "product_category_id.",
        examples=["laptops"],
    )
    product_category_id: OrdsCategoryId | None = None
    partner_product_category: ShortText | None = Field(
        default=None,
        description="Your own name for the product's category; defaults to the category's "
        "English name (or the ORDS category's)",
        examples=["Bærbar PC"],
    )
    brand: Brand | None = None
    year_of_manufacture: Year | None = None
    product_age: ProductAge | None = Field(default=None, description="Years, one decimal")
    repair_barrier: RepairBarrierCode | None = Field(
        default=None, description="Why it could not be repaired; only for End of life"
    )
    problem: Problem | None = None
    event_date: date | None = Field(
        default=None,
        description="The day of the repair (not in the future); defaults to the event's day, "
        "or today, in Norwegian time",
    )

    def _check(self, status: str | None) -> None:
        if self.category is not None and self.product_category_id is not None:
            raise ValueError("give category or product_category_id, not both")
        if self.repair_barrier is not None and status not in (None, "End of life"):
            raise ValueError("repair_barrier is only given when the outcome is End of life")


class RepairCreate(_RepairFields):
    """A repair logged by a repair shop or café (ORDS v0.3 fields)."""

    organization_id: uuid.UUID = Field(
        description="Who repaired (you must be able to write for it)"
    )
    event_id: uuid.UUID | None = Field(
        default=None, description="The organization's repair event it happened at"
    )
    repair_status: RepairStatusCode

    @model_validator(mode="after")
    def _consistent(self) -> RepairCreate:
        if self.category is None and self.product_category_id is None:
            raise ValueError("give category or product_category_id")
        self._check(self.repair_status)
        return self


class RepairUpdate(_RepairFields):
    """Corrections; ``null`` clears an optional field. A new ``repair_status`` other than End
    of life clears a stored barrier. The impact is computed again, and when what counts
    changes, the evidence ledger takes the old record back and counts the new one."""

    repair_status: RepairStatusCode | None = None

    @model_validator(mode="after")
    def _consistent(self) -> RepairUpdate:
        self._check(self.repair_status)
        return self


class ProductCategoryRead(BaseModel):
    id: int = Field(description="ORDS v0.3 product category id")
    name: str


class RepairImpactRead(BaseModel):
    kg_diverted: float | None = Field(description="Fixed repairs of a categorised product")
    co2e_kg: float | None = Field(description="kg CO2e avoided (Restart's method)")
    factor_revision: int | None


_REPAIR_EXAMPLE: dict[str, Any] = {
    "id": "9b2d6f0e-1c3a-4b5d-8e7f-0a1b2c3d4e5f",
    "ords_id": "sirkel_1042",
    "organization_id": "3f1c0d2a-9b7e-4a0c-8d6f-1e2b3a4c5d6e",
    "event_id": "5a0e9c1b-2f3d-4e5a-8b6c-7d8e9f0a1b2c",
    "source": "logged",
    "data_provider": "Sirkel",
    "provider_record_id": "9b2d6f0e-1c3a-4b5d-8e7f-0a1b2c3d4e5f",
    "country": "NOR",
    "category": "laptops",
    "partner_product_category": "Laptops",
    "product_category": {"id": 16, "name": "Laptop"},
    "brand": "Lenovo",
    "year_of_manufacture": 2019,
    "product_age": 5,
    "repair_status": "Fixed",
    "repair_barrier": None,
    "group_identifier": "Reparasjonskafé Grünerløkka",
    "event_date": "2026-12-05",
    "problem": "Startet ikke; byttet ladekontakt.",
    "kommunenummer": "0301",
    "fylkesnummer": "03",
    "impact": {"kg_diverted": 1.834, "co2e_kg": 132.66, "factor_revision": 1},
    "release": None,
    "withdrawn_at": None,
    "created_at": "2026-12-05T13:12:00Z",
    "updated_at": "2026-12-05T13:12:00Z",
}


class RepairRead(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": _REPAIR_EXAMPLE})

    id: uuid.UUID
    ords_id: str = Field(description="The id in the ORDS export, stable: sirkel_<n>")
    organization_id: uuid.UUID | None
    event_id: uuid.UUID | None
    source: str = Field(description="logged, transaction or imported")
    data_provider: str
    provider_record_id: str
    country: str
    category: str | None
    partner_product_category: str
    product_category: ProductCategoryRead
    brand: str | None
    year_of_manufacture: int | None
    product_age: float | None
    repair_status: str
    repair_barrier: str | None
    group_identifier: str | None
    event_date: date
    problem: str
    kommunenummer: str | None
    fylkesnummer: str | None
    impact: RepairImpactRead
    release: str | None = Field(
        default=None, description="Imported: the provider's release it was last written from"
    )
    withdrawn_at: datetime | None = Field(
        default=None,
        description="Imported: when a later release of its provider no longer had it (no "
        "longer counted, not in the ORDS export)",
    )
    created_at: datetime
    updated_at: datetime


class RepairPage(Page[RepairRead]):
    model_config = ConfigDict(
        json_schema_extra={"example": {"items": [_REPAIR_EXAMPLE], "next_cursor": None}}
    )


class ImportRowError(BaseModel):
    location: str = Field(description="Always body")
    field: str = Field(description="The ORDS column ('' for the row as a whole)")
    line: int = Field(description="The file's line where the row starts (the header is 1)")
    column: str | None
    message: str
    type: str


ImportState = Literal["queued", "validating", "writing", "done", "failed"]
ImportMode = Literal["append", "release"]


class ImportCounts(BaseModel):
    rows: int = Field(description="Rows in the file (known once it is validated)")
    written: int = Field(description="Rows applied so far")
    inserted: int = Field(description="New records stored and counted")
    restated: int = Field(
        description="Records the release changed in what counts (outcome, category, day, "
        "country, kg, CO2e): the counted record taken back on its day, the new one counted"
    )
    updated: int = Field(
        description="Records the release changed only in what does not count (problem text, "
        "brand …): stored, nothing counted again"
    )
    reinstated: int = Field(description="Withdrawn records that are in this release again")
    unchanged: int = Field(
        description="Records already stored as they are (with `append`: already stored, left as "
        "they were)"
    )
    withdrawn: int = Field(
        description="With `release`: records of the file's providers that this organization "
        "imported before and the release no longer has (their evidence taken back)"
    )
    skipped: int = Field(description="Records another organization imported (left to it)")


_IMPORT_JOB_EXAMPLE: dict[str, Any] = {
    "id": "0b9f2d1e-6c3a-4f5e-9d8c-7b6a5f4e3d2c",
    "organization_id": "3f1c0d2a-9b7e-4a0c-8d6f-1e2b3a4c5d6e",
    "mode": "release",
    "release": "2025-07",
    "state": "writing",
    "file_bytes": 5_123_456,
    "gzip": True,
    "counts": {
        "rows": 29_929,
        "written": 12_000,
        "inserted": 2_100,
        "restated": 310,
        "updated": 42,
        "reinstated": 0,
        "unchanged": 9_548,
        "withdrawn": 0,
        "skipped": 0,
    },
    "error_count": 0,
    "errors": [],
    "failure": None,
    "created_at": "2026-12-05T10:00:00Z",
    "started_at": "2026-12-05T10:00:01Z",
    "finished_at": None,
}


class ImportJobRead(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": _IMPORT_JOB_EXAMPLE})

    id: uuid.UUID
    organization_id: uuid.UUID
    mode: ImportMode = Field(
        description="`append`: new records are added, stored ones left as they are; "
        "`release`: the file is the providers' complete current data"
    )
    release: str | None = Field(description="The provider's name for the release, if given")
    state: ImportState = Field(
        description="`queued`, `validating` (reading every row), `writing` (in short batches), "
        "then `done` or `failed`"
    )
    file_bytes: int = Field(description="The file as uploaded (compressed, if gzip)")
    gzip: bool
    counts: ImportCounts
    error_count: int = Field(description="Row errors found in all (nothing is written then)")
    errors: list[ImportRowError] = Field(description="The first 100 row errors, by line")
    failure: str | None = Field(description="Why a job failed other than by row errors")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class ImportJobPage(Page[ImportJobRead]):
    model_config = ConfigDict(
        json_schema_extra={"example": {"items": [_IMPORT_JOB_EXAMPLE], "next_cursor": None}}
    )


REPAIR_CREATE_EXAMPLES: dict[str, Any] = {
    "fixed_laptop": {
        "summary": "A laptop fixed at a repair café",
        "value": {
            "organization_id": "3f1c0d2a-9b7e-4a0c-8d6f-1e2b3a4c5d6e",
            "event_id": "5a0e9c1b-2f3d-4e5a-8b6c-7d8e9f0a1b2c",
            "category": "laptops",
            "brand": "Lenovo",
            "year_of_manufacture": 2019,
            "repair_status": "Fixed",
            "problem": "Startet ikke; byttet ladekontakt.",
        },
    },
    "end_of_life": {
        "summary": "A kettle beyond repair, by its ORDS category",
        "value": {
            "organization_id": "3f1c0d2a-9b7e-4a0c-8d6f-1e2b3a4c5d6e",
            "product_category_id": 14,
            "partner_product_category": "Vannkoker",
            "repair_status": "End of life",
            "repair_barrier": "Spare parts not available",
            "event_date": "2026-11-21",
        },
    },
}

REPAIR_UPDATE_EXAMPLES: dict[str, Any] = {
    "outcome": {
        "summary": "It was fixed after all",
        "value": {"repair_status": "Fixed", "problem": "Byttet batteri."},
    },
}

ORDS_CSV_EXAMPLE = (
    "id,data_provider,country,partner_product_category,product_category,product_category_id,"
    "brand,year_of_manufacture,product_age,repair_status,repair_barrier_if_end_of_life,"
    "group_identifier,event_date,problem\n"
    "kafe_1,Reparasjonskafé Oslo,NOR,Bærbar PC,Laptop,16,Lenovo,2019,5,Fixed,,"
    "Reparasjonskafé Oslo,2026-11-21,Byttet ladekontakt\n"
)
