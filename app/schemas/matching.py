"""Matches: a listing on the other side, how well it fits (``score``) and why (``reasons``)."""

from __future__ import annotations

from pydantic import BaseModel, Field

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
    """A listing that could serve the one asked about, or be served by it. (Its example,
    with a whole listing, is in ``app/schemas/examples.json``.)"""

    score: float = Field(ge=0, le=1, description="0-1, higher fits better")
    distance_m: float = Field(description="Between the two listings' public points")
    reasons: list[MatchReason]
    listing: ListingRead


class MatchPage(BaseModel):
    items: list[Match]
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null on the last page"
    )
