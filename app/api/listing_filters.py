"""The listing filters that search (``/v1/listings``) and the tiles (``/v1/tiles/listings``)
share, so that a map and a list given the same query string show the same listings."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Query

from app.models.category import SLUG_MAX_LENGTH, SLUG_PATTERN
from app.models.listing import ListingKind, ListingMode

KindQuery = Annotated[ListingKind | None, Query(description="Only this kind")]
ModeQuery = Annotated[ListingMode | None, Query(description="Only this mode")]
CategoryQuery = Annotated[
    str | None,
    Query(
        pattern=SLUG_PATTERN,
        max_length=SLUG_MAX_LENGTH,
        description="A category slug; its sub-categories are included",
        examples=["bikes"],
    ),
]
OrganizationQuery = Annotated[
    uuid.UUID | None, Query(description="Only this organization's listings")
]
TextQuery = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=200,
        description="Norwegian free text: plural and definite forms, compounds and a word "
        "still being typed all match (docs/search.md)",
        examples=["sykler"],
    ),
]
