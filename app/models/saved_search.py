"""Saved searches and the matches alerts found.

**Invariants the database keeps** (migration 0024):

* a saved search belongs to exactly one person or organization (``one_owner``), has a name of
  1 to 100 characters and a known frequency; at most ``MAX_SAVED_SEARCHES`` per owner (trigger
  ``saved_searches_per_owner``, under a per-owner advisory lock, so parallel requests cannot
  pass it together);
* its place is one valid polygon (``area``: the circle, the box, the kommune's or fylke's
  extent, or Norway's), under a GiST index; its filters are columns, so the fan-out for a new
  listing is one indexed statement (``app.repositories.saved_search``), never a loop over every
  saved search in Python;
* a listing counts as a hit of a saved search once (primary key), however often it is
  published, renewed or unhidden; a wanted/offer pair is found once (``listing_matches``).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.geo import SRID
from app.models.base import Base, sql_in, uuid_pk

MAX_SAVED_SEARCHES = 50
NAME_MAX_LENGTH = 100


class Frequency(StrEnum):
    INSTANT = "instant"
    DAILY = "daily"


class SavedSearch(Base):
    __tablename__ = "saved_searches"
    __table_args__ = (
        CheckConstraint("num_nonnulls(person_id, organization_id) = 1", name="one_owner"),
        CheckConstraint(f"char_length(name) BETWEEN 1 AND {NAME_MAX_LENGTH}", name="name_length"),
        CheckConstraint(sql_in("frequency", Frequency), name="frequency_known"),
        CheckConstraint("jsonb_typeof(query) = 'object'", name="query_object"),
        CheckConstraint("ST_IsValid(area) AND NOT ST_IsEmpty(area)", name="area_valid"),
        Index("ix_saved_searches_area", "area", postgresql_using="gist"),
        Index("ix_saved_searches_person", "person_id", "created_at", "id"),
        Index("ix_saved_searches_organization", "organization_id", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    person_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("persons.id", ondelete="CASCADE")
    )
    organization_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("organizations.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(Text)
    frequency: Mapped[str] = mapped_column(Text)
    # The search as it was given (echoed back, and the link to GET /v1/listings).
    query: Mapped[dict[str, Any]] = mapped_column(JSONB)
    kind: Mapped[str | None] = mapped_column(Text)
    mode: Mapped[str | None] = mapped_column(Text)
    category_slug: Mapped[str | None] = mapped_column(
        Text, ForeignKey("categories.slug", ondelete="RESTRICT")
    )
    kommunenummer: Mapped[str | None] = mapped_column(
        String(4), ForeignKey("kommuner.kommunenummer", ondelete="RESTRICT")
    )
    fylkesnummer: Mapped[str | None] = mapped_column(
        String(2), ForeignKey("fylker.fylkesnummer", ondelete="RESTRICT")
    )
    # The normalised terms of ``q`` (``sirkel_search_terms``), each one or two stems.
    terms: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    area: Mapped[Any] = mapped_column(Geometry("GEOMETRY", srid=SRID, spatial_index=False))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_digest_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SavedSearchHit(Base):
    __tablename__ = "saved_search_hits"
    __table_args__ = (
        Index(
            "ix_saved_search_hits_undigested",
            "saved_search_id",
            postgresql_where=text("digested_at IS NULL"),
        ),
    )

    saved_search_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("saved_searches.id", ondelete="CASCADE"), primary_key=True
    )
    listing_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("listings.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    digested_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ListingMatch(Base):
    """A wanted/offer pair an alert found (``app.services.alerts``)."""

    __tablename__ = "listing_matches"
    __table_args__ = (
        CheckConstraint("score >= 0 AND score <= 1", name="score_range"),
        CheckConstraint("wanted_listing_id <> offer_listing_id", name="two_listings"),
        Index("ix_listing_matches_offer", "offer_listing_id"),
        Index(
            "ix_listing_matches_wanted_organization",
            "wanted_organization_id",
            "found_at",
            postgresql_where=text("wanted_organization_id IS NOT NULL"),
        ),
        Index(
            "ix_listing_matches_offer_organization",
            "offer_organization_id",
            "found_at",
            postgresql_where=text("offer_organization_id IS NOT NULL"),
        ),
    )

    wanted_listing_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("listings.id", ondelete="CASCADE"), primary_key=True
    )
    offer_listing_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("listings.id", ondelete="CASCADE"), primary_key=True
    )
    score: Mapped[Decimal] = mapped_column(Numeric(5, 4))
    wanted_organization_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("organizations.id", ondelete="CASCADE")
    )
    offer_organization_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("organizations.id", ondelete="CASCADE")
    )
    found_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
