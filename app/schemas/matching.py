"""Matches: a listing on the other side, how well it fits (``score``) and why (``reasons``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from app.schemas.listing import ListingRead


class ReasonText(BaseModel):
    nb: str = Field(description="Bokmål")
    en: str = Field(description="English")


class MatchReason(BaseModel):
    code: str = Field(
        description="What the reason is about, stable for clients: `ewc_exact`, "
        "`ewc_subchapter`, `ewc_same_material`, `ewc_chapter`, `hazardous_permit`, "
        "`quantity_covers`, "
        "`quantity_partial`, `quantity_incomparable`, `recurrence_same`, `recurrence_differs`, "
        "`temperature_fits`, `temperature_unknown`, `months_overlap`, `capacity_covers`, "
        "`capacity_partial`, `space_type`, `area_fits`, `period_covers`, `period_overlaps`, "
        "`category_same`, `category_narrower`, `category_broader`, `text_similar`, "
        "`text_different`, `condition_fits`, `condition_worse`, `condition_unknown`, `distance`"
    )
    fits: bool = Field(description="Whether this speaks for the match")
    text: ReasonText


class Match(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "score": 0.8725,
                "distance_m": 3120.4,
                "reasons": [
                    {
                        "code": "ewc_exact",
                        "fits": True,
                        "text": {
                            "nb": "Samme avfallskode (03 01 05)",
                            "en": "The same waste code (03 01 05)",
                        },
                    },
                    {
                        "code": "quantity_partial",
                        "fits": True,
                        "text": {
                            "nb": "Dekker 40 % av behovet (2 t av 5 t)",
                            "en": "Covers 40 % of the need (2 t of 5 t)",
                        },
                    },
                ],
                "listing": {"id": "4c1e…", "kind": "material", "mode": "wanted"},
            }
        }
    )

    score: float = Field(ge=0, le=1, description="0-1, higher fits better")
    distance_m: float = Field(description="Between the two listings' public points")
    reasons: list[MatchReason]
    listing: ListingRead


class MatchPage(BaseModel):
    items: list[Match]
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null on the last page"
    )
