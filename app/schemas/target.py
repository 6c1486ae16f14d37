"""The mission's targets and the progress toward them (``app.services.impact.targets``)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from app.models.target import MISSION_YEAR, TargetPath, TargetScope, TargetStatus
from app.schemas.common import Page, StrictModel, plain_text

ScopeCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{2}([0-9]{2})?$")]
ShortText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(plain_text),
]
Title = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=300),
    AfterValidator(plain_text),
]
Note = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=2000), AfterValidator(plain_text)
]
Url = Annotated[str, StringConstraints(max_length=2000, pattern=r"^https?://\S+$")]
Year = Annotated[int, Field(ge=2000, le=MISSION_YEAR)]

_EXAMPLE: dict[str, Any] = {
    "indicator": "sg1.reuse.handovers",
    "scope": "norway",
    "baseline_year": 2025,
    "target_year": 2035,
    "target_change_pct": 50,
    "path": "annual_growth",
    "status": "proposed",
    "decided_by": "Arbeidsgruppen for sirkulær økonomi",
    "reference_title": "Forslag til måltall for delmål 1",
    "reference_date": "2026-11-19",
    "note": "Gjenbruk av ting mellom husholdninger: +50 % fra 2025 til 2035.",
}


class TargetCreate(StrictModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_EXAMPLE]})

    indicator: str = Field(
        max_length=100,
        description="An indicator of `GET /v1/impact/indicators`",
        examples=["sg1.reuse.handovers"],
    )
    scope: TargetScope = Field(description="`norway`, `fylke` or `kommune`")
    scope_code: ScopeCode | None = Field(
        default=None, description="The fylkesnummer or kommunenummer (none for `norway`)"
    )
    initiative_id: uuid.UUID | None = Field(
        default=None, description="Only what is tagged with this initiative"
    )
    baseline_year: Year
    target_year: Year = Field(description=f"After the baseline year, at most {MISSION_YEAR}")
    target_value: Decimal | None = Field(
        default=None,
        max_digits=20,
        decimal_places=4,
        description="The indicator's value to reach (in its unit); or give `target_change_pct`",
    )
    target_change_pct: Decimal | None = Field(
        default=None,
        gt=-100,
        le=10_000,
        max_digits=9,
        decimal_places=3,
        description="The change from the baseline year's value to reach, in percent",
    )
    path: TargetPath = Field(
        default=TargetPath.LINEAR,
        description="How the expected value moves from the baseline to the target: `linear` "
        "(the same amount each year) or `annual_growth` (the same percentage each year)",
    )
    status: TargetStatus = TargetStatus.PROPOSED
    decided_by: ShortText | None = Field(
        default=None, description="Who proposed, recommended or adopted it"
    )
    reference_title: Title | None = None
    reference_url: Url | None = None
    reference_date: date | None = None
    note: Note | None = None


class TargetUpdate(StrictModel):
    """What changes in the next version; what is not given stays as it was."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "status": "recommended",
                    "decided_by": "Nasjonalt partnerskap for sirkulær økonomi",
                    "reference_date": "2026-12-01",
                }
            ]
        },
    )

    baseline_year: Year | None = None
    target_year: Year | None = None
    target_value: Decimal | None = Field(default=None, max_digits=20, decimal_places=4)
    target_change_pct: Decimal | None = Field(
        default=None, gt=-100, le=10_000, max_digits=9, decimal_places=3
    )
    path: TargetPath | None = None
    status: TargetStatus | None = None
    decided_by: ShortText | None = None
    reference_title: Title | None = None
    reference_url: Url | None = None
    reference_date: date | None = None
    note: Note | None = None


class TargetRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "id": "5a0e3f1c-7b2d-4e8a-9c1f-2d3e4f5a6b7c",
                "version": 1,
                **_EXAMPLE,
                "target_change_pct": "50",  # a decimal: written as a string
                "scope_code": None,
                "initiative_id": None,
                "target_value": None,
                "reference_url": None,
                "created_at": "2026-12-05T10:00:00Z",
                "latest": True,
            }
        }
    )

    id: uuid.UUID = Field(description="The target's id (the same for all its versions)")
    version: int
    indicator: str
    scope: TargetScope
    scope_code: str | None
    initiative_id: uuid.UUID | None
    baseline_year: int
    target_year: int
    target_value: Decimal | None
    target_change_pct: Decimal | None
    path: TargetPath
    status: TargetStatus
    decided_by: str | None
    reference_title: str | None
    reference_url: str | None
    reference_date: date | None
    note: str | None
    created_at: datetime = Field(description="When this version was made")
    latest: bool = Field(description="This is the target's current version")


class TargetPage(Page[TargetRead]):
    pass


class TargetVersions(BaseModel):
    items: list[TargetRead] = Field(description="Every version, oldest first")


ProgressStatus = Literal["on_track", "ahead", "behind", "insufficient_data"]


class ProgressYear(BaseModel):
    year: int
    complete: bool = Field(description="False for the year under way (not used for the status)")
    actual: Decimal | None = Field(
        description="The indicator's value; null when suppressed or without records"
    )
    suppressed: bool = Field(description="Hidden by the small-count rule (the catalogue's)")
    expected: Decimal | None = Field(description="The path's value for the year (with a target)")
    gap: Decimal | None = Field(
        description="actual minus expected; null where either is (never from a hidden value)"
    )


class PathYear(BaseModel):
    year: int
    expected: Decimal | None = Field(
        description="The path's value for the year (null where annual growth cannot start)"
    )


class ProgressRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "indicator": "sg1.reuse.handovers",
                "unit": "count",
                "scope": "norway",
                "scope_code": None,
                "target": None,
                "baseline": {"year": 2025, "value": "1200"},
                "target_value": "1800",
                "path": [
                    {"year": year, "expected": expected}
                    for year, expected in enumerate(
                        (
                            "1200",
                            "1249.7",
                            "1301.4",
                            "1355.2",
                            "1411.3",
                            "1469.7",
                            "1530.5",
                            "1593.8",
                            "1659.8",
                            "1728.5",
                            "1800",
                        ),
                        start=2025,
                    )
                ],
                "years": [
                    {
                        "year": 2025,
                        "complete": True,
                        "actual": "1200",
                        "suppressed": False,
                        "expected": "1200",
                        "gap": "0",
                    },
                    {
                        "year": 2026,
                        "complete": False,
                        "actual": "1100",
                        "suppressed": False,
                        "expected": "1249.7",
                        "gap": "-149.7",
                    },
                ],
                "required_annual_growth_pct": "4.14",
                "status": "insufficient_data",
            }
        }
    )

    indicator: str
    unit: str
    scope: TargetScope
    scope_code: str | None
    target: TargetRead | None = Field(description="The target followed (null: actuals only)")
    baseline: dict[str, Decimal | int | None] | None = Field(
        description="The baseline year and its value (null value when hidden)"
    )
    target_value: Decimal | None = Field(description="The value to reach in the target year")
    path: list[PathYear] = Field(
        default_factory=list,
        description="The path's value for every year from the baseline to the target year, "
        "for charts (empty without a target or while the baseline year's value is hidden)",
    )
    years: list[ProgressYear]
    required_annual_growth_pct: Decimal | None = Field(
        description="The yearly growth (percent) needed from the last complete year with a value "
        "to reach the target in its year"
    )
    status: ProgressStatus | None = Field(
        description="The last complete year against the path: within ±5 % `on_track`, better "
        "`ahead`, worse `behind`; `insufficient_data` without a baseline value or a complete "
        "year after it; null without a target"
    )
