"""Saved searches: the filters of ``GET /v1/listings``, a name and how often to hear of new
listings that fit; and the matches an organization's listings found."""

from __future__ import annotations

import math
import uuid
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.models.listing import ListingKind, ListingMode
from app.models.saved_search import NAME_MAX_LENGTH, Frequency
from app.schemas.common import (
    FYLKESNUMMER_PATTERN,
    KOMMUNENUMMER_PATTERN,
    StrictModel,
    Timestamp,
)
from app.schemas.listing import CategorySlug, ListingRead

# As GET /v1/listings (app.api.listings.MAX_RADIUS_M).
MAX_RADIUS_M = 100_000


class SavedSearchQuery(StrictModel):
    """The filters, as ``GET /v1/listings`` takes them (``bbox`` as four numbers)."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "lat": 59.9139,
                "lon": 10.7522,
                "radius_m": 5000,
                "kind": "item",
                "category": "childrens-bikes",
                "q": "sykkel",
            }
        }
    )

    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    radius_m: float | None = Field(default=None, gt=0, le=MAX_RADIUS_M)
    bbox: list[float] | None = Field(
        default=None,
        min_length=4,
        max_length=4,
        description="[minLon, minLat, maxLon, maxLat] (WGS 84)",
    )
    kommune: str | None = Field(default=None, pattern=KOMMUNENUMMER_PATTERN)
    fylke: str | None = Field(default=None, pattern=FYLKESNUMMER_PATTERN)
    kind: ListingKind | None = None
    mode: ListingMode | None = None
    category: CategorySlug | None = None
    q: str | None = Field(default=None, min_length=1, max_length=200)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if (self.lat is None) != (self.lon is None):
            raise ValueError("lat and lon go together")
        if (self.radius_m is None) != (self.lat is None):
            raise ValueError("a point needs radius_m, and radius_m a point")
        if self.bbox is not None:
            min_lon, min_lat, max_lon, max_lat = self.bbox
            if not all(math.isfinite(v) for v in self.bbox):
                raise ValueError("bbox: numbers must be finite")
            if not (-180 <= min_lon < max_lon <= 180 and -90 <= min_lat < max_lat <= 90):
                raise ValueError("bbox: minLon,minLat,maxLon,maxLat within range, minimum first")
        return self


class SavedSearchCreate(StrictModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "name": "Barnesykler nær hjemme",
                "frequency": "instant",
                "query": SavedSearchQuery.model_config["json_schema_extra"]["example"],  # type: ignore[index]
            }
        }
    )

    name: str = Field(min_length=1, max_length=NAME_MAX_LENGTH, pattern=r"\S")
    frequency: Frequency = Field(
        default=Frequency.INSTANT,
        description="`instant`: a notification per new listing; `daily`: one digest a day",
    )
    query: SavedSearchQuery = Field(default_factory=SavedSearchQuery)
    organization_id: uuid.UUID | None = Field(
        default=None,
        description="Save it for this organization (members; API keys always save for their "
        "own). Its members are notified, and its webhooks receive the events.",
    )


class SavedSearchOwner(BaseModel):
    type: Literal["person", "organization"]
    organization_id: uuid.UUID | None


class SavedSearchRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "id": "6f1c0c44-8a43-4d3e-9d57-0e4bd1f3a8a2",
                "name": "Barnesykler nær hjemme",
                "frequency": "instant",
                "query": {"lat": 59.9139, "lon": 10.7522, "radius_m": 5000, "q": "sykkel"},
                "owner": {"type": "person", "organization_id": None},
                "hits": 3,
                "search_url": "/v1/listings?lat=59.9139&lon=10.7522&radius_m=5000&q=sykkel",
                "created_at": "2026-12-05T09:00:00Z",
                "last_digest_at": None,
            }
        }
    )

    id: uuid.UUID
    name: str
    frequency: Frequency
    query: dict[str, Any]
    owner: SavedSearchOwner
    hits: int = Field(description="Listings that fitted since it was saved")
    search_url: str = Field(description="The same search now, on GET /v1/listings")
    created_at: Timestamp
    last_digest_at: Timestamp | None


class OrganizationMatch(BaseModel):
    found_at: Timestamp
    score: float = Field(ge=0, le=1)
    wanted_listing_id: uuid.UUID
    offer_listing_id: uuid.UUID
    own_listing_id: uuid.UUID = Field(description="Which of the two is the organization's")
    listing: ListingRead = Field(description="The other listing")


class OrganizationMatchPage(BaseModel):
    """(Its example, with a whole listing, is in ``app/schemas/examples.json``.)"""

    items: list[OrganizationMatch]
    next_cursor: str | None
