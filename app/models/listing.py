"""Listings: what households, shops, libraries of things and businesses offer or want.

One table for all five kinds. What every kind shares, and what search, impact and bookings
read, are columns with constraints (kind and mode, the owner, the category, the EWC code,
quantity and unit, price, weight, the place); the rest of each kind's details is a JSON
object validated by ``app.schemas.listing`` on the way in.

**Invariants the database keeps** (migration 0005):

* exactly one owner, a person or an organization (``one_owner``); kind and owner never
  change (trigger ``listings_guard``);
* the mode fits the kind (``mode_fits_kind``), a material has an EWC code and nothing else
  has (``ewc_only_for_material``), items and repair services have a category;
* a listing follows its transactions (migration 0009, ``status_after_quantities``): reserved
  when every unit is committed, active again when a request frees one, completed when
  everything was delivered;
* the lifecycle only moves along ``STATUS_TRANSITIONS`` (trigger ``listings_guard``), and a
  material with a hazardous EWC code cannot be active, reserved or completed without a
  moderator's approval — changing the code withdraws an earlier approval;
* **a person's exact point never needs to leave the table**: ``public_geom`` is written by the
  trigger ``listings_public_point`` on every insert and update — the exact point for an
  organization, and for a person a point about 400 m away (280 to 520 m), snapped to a 0.001°
  grid, in a direction derived from the owner, the area (its 0.01° cell, about 1 by 0.5 km)
  and a secret that exists only inside the database (``privacy_keys``). Derived per owner and
  area rather than per listing: one person's listings in an area are all shifted by the same
  secret vector (those at home share one blurred point), so they cannot be averaged back to
  the home, not even when a phone's GPS jitter puts them on slightly different points.
  Search, distances, sort order, GeoJSON and tiles read ``public_geom`` only; ``geom`` is read
  only to show owners their own listings;
* ``search_text`` is generated from title and description (``sirkel_search_text``) and is the
  one column free-text search matches (see ``app.repositories.listing``).
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
    Computed,
    DateTime,
    ForeignKey,
    Index,
    LargeBinary,
    Numeric,
    String,
    Text,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.geo import NORWAY_BBOX, SRID
from app.models.base import Base
from app.models.base import sql_in as _in


class ListingKind(StrEnum):
    ITEM = "item"
    REPAIR_SERVICE = "repair_service"
    MATERIAL = "material"
    ENERGY = "energy"
    SPACE = "space"


class ListingMode(StrEnum):
    GIVE = "give"
    SELL = "sell"
    LEND = "lend"
    RENT = "rent"
    WANTED = "wanted"


class ListingStatus(StrEnum):
    DRAFT = "draft"
    PENDING_REVIEW = "pending_review"
    ACTIVE = "active"
    RESERVED = "reserved"
    COMPLETED = "completed"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"


class QuantityUnit(StrEnum):
    KG = "kg"
    T = "t"
    M3 = "m3"
    L = "l"
    PCS = "pcs"
    M2 = "m2"
    M = "m"


# The modes each kind may have (a repair service has none).
KIND_MODES: dict[ListingKind, frozenset[ListingMode]] = {
    ListingKind.ITEM: frozenset(ListingMode),
    ListingKind.REPAIR_SERVICE: frozenset(),
    ListingKind.MATERIAL: frozenset({ListingMode.GIVE, ListingMode.SELL, ListingMode.WANTED}),
    ListingKind.ENERGY: frozenset({ListingMode.GIVE, ListingMode.SELL, ListingMode.WANTED}),
    ListingKind.SPACE: frozenset({ListingMode.LEND, ListingMode.RENT, ListingMode.WANTED}),
}

S = ListingStatus
# Every move the lifecycle allows, whoever makes it (the services decide who may). The
# trigger ``listings_guard`` refuses any other change of ``status``.
STATUS_TRANSITIONS: frozenset[tuple[ListingStatus, ListingStatus]] = frozenset(
    {
        (S.DRAFT, S.ACTIVE),
        (S.DRAFT, S.PENDING_REVIEW),
        (S.DRAFT, S.WITHDRAWN),
        (S.PENDING_REVIEW, S.ACTIVE),
        (S.PENDING_REVIEW, S.WITHDRAWN),
        (S.ACTIVE, S.PENDING_REVIEW),
        (S.ACTIVE, S.RESERVED),
        (S.ACTIVE, S.COMPLETED),
        (S.ACTIVE, S.WITHDRAWN),
        (S.ACTIVE, S.EXPIRED),
        (S.RESERVED, S.ACTIVE),
        (S.RESERVED, S.COMPLETED),
        (S.RESERVED, S.WITHDRAWN),
        (S.EXPIRED, S.ACTIVE),
        (S.EXPIRED, S.WITHDRAWN),
    }
)
FINAL_STATUSES = frozenset({S.COMPLETED, S.WITHDRAWN})


def status_after_quantities(
    status: str,
    *,
    old_quantity: Decimal | None,
    old_committed: Decimal,
    quantity: Decimal | None,
    committed: Decimal,
    delivered: Decimal,
) -> ListingStatus:
    """A quantity-limited listing's status after its quantities moved (the database applies the
    same rule, ``sirkel_listing_status_after`` in the trigger ``listings_follow_quantities``,
    migration 0009, in the statement that moves the quantities).

    Only an active or reserved listing follows: everything delivered (``delivered``: what
    confirmed handovers took) completes it, everything committed reserves it, and a reserved
    listing that had been full is active again once a decline, cancel or expiry frees a unit.
    A listing its owner reserved by hand while units were still free stays reserved. Loans and
    rentals never move ``committed`` or ``delivered``, so they never complete a listing.
    """
    current = ListingStatus(status)
    if current not in (S.ACTIVE, S.RESERVED) or quantity is None:
        return current
    if delivered >= quantity:
        return S.COMPLETED
    if committed >= quantity:
        return S.RESERVED
    if current is S.RESERVED and old_quantity is not None and old_committed >= old_quantity:
        return S.ACTIVE
    return current


TITLE_MIN_LENGTH, TITLE_MAX_LENGTH = 3, 120
DESCRIPTION_MAX_LENGTH = 5000
HIDDEN_REASON_MAX_LENGTH = 500
# Enough for a ferry's worth of material (t) or a year of waste heat, small enough to be sane.
MAX_QUANTITY = Decimal("1000000000")
MAX_PRICE_NOK = Decimal("100000000")


# "mode IS NOT NULL": a NULL mode would make "mode IN (...)" NULL, which a CHECK lets pass.
_MODE_SQL = " OR ".join(
    f"(kind = '{kind}' AND "
    + (f"mode IS NOT NULL AND {_in('mode', sorted(modes))})" if modes else "mode IS NULL)")
    for kind, modes in KIND_MODES.items()
)
_MIN_LON, _MIN_LAT, _MAX_LON, _MAX_LAT = NORWAY_BBOX


# What a candidate must share with the listing matches are found for, per kind: the leading
# column of the kind's matching index (``app.repositories.matching``).
MATCH_KEYS: dict[str, Any] = {
    "material": "ewc_code",
    "item": "category_slug",
    "energy": text("(details ->> 'energy_type')"),
    "space": text("(details ->> 'space_type')"),
}


class Listing(Base):
    __tablename__ = "listings"
    __table_args__ = (
        CheckConstraint(_in("kind", list(ListingKind)), name="kind_known"),
        CheckConstraint(_in("status", list(ListingStatus)), name="status_known"),
        CheckConstraint(_MODE_SQL, name="mode_fits_kind"),
        CheckConstraint(
            "num_nonnulls(owner_person_id, owner_organization_id) = 1", name="one_owner"
        ),
        CheckConstraint(
            f"char_length(title) BETWEEN {TITLE_MIN_LENGTH} AND {TITLE_MAX_LENGTH}",
            name="title_length",
        ),
        CheckConstraint(
            f"char_length(description) <= {DESCRIPTION_MAX_LENGTH}", name="description_length"
        ),
        CheckConstraint(
            "kind NOT IN ('item', 'repair_service') OR category_slug IS NOT NULL",
            name="category_required",
        ),
        CheckConstraint(
            "(kind = 'material') = (ewc_code IS NOT NULL)", name="ewc_only_for_material"
        ),
        CheckConstraint("(quantity IS NULL) = (unit IS NULL)", name="quantity_has_unit"),
        CheckConstraint(
            f"quantity IS NULL OR (quantity > 0 AND quantity <= {MAX_QUANTITY})",
            name="quantity_range",
        ),
        # Kept by the trigger transactions_commit_quantity (requested, accepted and handed-over
        # quantities of reuse and material exchanges): a listing never gives away more than it has.
        CheckConstraint(
            "quantity_committed >= 0 "
            "AND (quantity IS NULL OR quantity <= 0 OR quantity_committed <= quantity)",
            name="quantity_not_overcommitted",
        ),
        # Kept by the same trigger: what confirmed handovers took, part of what is committed.
        CheckConstraint(
            "quantity_delivered >= 0 AND quantity_delivered <= quantity_committed",
            name="quantity_delivered_within_committed",
        ),
        CheckConstraint(_in("unit", list(QuantityUnit)), name="unit_known"),
        CheckConstraint(
            "kind NOT IN ('item', 'material') OR quantity IS NOT NULL",
            name="quantity_required",
        ),
        CheckConstraint("kind <> 'item' OR unit = 'pcs'", name="items_are_counted"),
        CheckConstraint(
            f"price_nok IS NULL OR (price_nok >= 0 AND price_nok <= {MAX_PRICE_NOK})",
            name="price_range",
        ),
        CheckConstraint(
            "price_nok IS NULL OR (mode IS NOT NULL AND mode IN ('sell', 'rent', 'wanted'))",
            name="price_only_when_paid",
        ),
        CheckConstraint(
            "mode NOT IN ('sell', 'rent') OR price_nok IS NOT NULL", name="price_when_paid"
        ),
        CheckConstraint("weight_kg IS NULL OR weight_kg > 0", name="weight_positive"),
        CheckConstraint("jsonb_typeof(details) = 'object'", name="details_object"),
        CheckConstraint(
            f"ST_X(geom) BETWEEN {_MIN_LON} AND {_MAX_LON} "
            f"AND ST_Y(geom) BETWEEN {_MIN_LAT} AND {_MAX_LAT}",
            name="geom_in_norway_bbox",
        ),
        CheckConstraint(
            "status IN ('draft', 'pending_review', 'withdrawn') OR published_at IS NOT NULL",
            name="published_has_time",
        ),
        CheckConstraint("(hidden_at IS NULL) = (hidden_reason IS NULL)", name="hidden_has_reason"),
        CheckConstraint(
            f"char_length(hidden_reason) BETWEEN 1 AND {HIDDEN_REASON_MAX_LENGTH}",
            name="hidden_reason_length",
        ),
        # Search: the planner picks among these by the filters given (docs/search.md).
        Index("ix_listings_public_geom", "public_geom", postgresql_using="gist"),
        Index(
            "ix_listings_public_geog",
            text("(public_geom::geography)"),
            postgresql_using="gist",
        ),
        Index(
            "ix_listings_searchable_newest",
            text("published_at DESC"),
            text("id DESC"),
            postgresql_where=text("status = 'active' AND hidden_at IS NULL"),
        ),
        Index(
            "ix_listings_searchable_kommune",
            "kommunenummer",
            text("published_at DESC"),
            text("id DESC"),
            postgresql_where=text("status = 'active' AND hidden_at IS NULL"),
        ),
        Index(
            "ix_listings_searchable_fylke",
            "fylkesnummer",
            text("published_at DESC"),
            text("id DESC"),
            postgresql_where=text("status = 'active' AND hidden_at IS NULL"),
        ),
        Index(
            "ix_listings_searchable_category",
            "category_slug",
            text("published_at DESC"),
            text("id DESC"),
            postgresql_where=text("status = 'active' AND hidden_at IS NULL"),
        ),
        Index(
            "ix_listings_search_text",
            "search_text",
            postgresql_using="gin",
            postgresql_ops={"search_text": "gin_trgm_ops"},
            postgresql_where=text("status = 'active' AND hidden_at IS NULL"),
        ),
        # Matching's candidates (migration 0026, btree_gist): per kind, by what must agree
        # (the EWC code, the category, the energy or space type), mode and distance.
        *(
            Index(
                f"ix_listings_match_{kind}",
                key,
                "mode",
                text("(public_geom::geography)"),
                postgresql_using="gist",
                postgresql_where=text(
                    f"status = 'active' AND hidden_at IS NULL AND kind = '{kind}'"
                ),
            )
            for kind, key in MATCH_KEYS.items()
        ),
        Index("ix_listings_owner_person_id", "owner_person_id"),
        Index("ix_listings_owner_organization_id", "owner_organization_id"),
        # An organization's own catalogue numbers are unique (migration 0029).
        Index(
            "ux_listings_catalogue_ref",
            "owner_organization_id",
            text("(details ->> 'catalogue_ref')"),
            unique=True,
            postgresql_where=text(
                "owner_organization_id IS NOT NULL AND details ? 'catalogue_ref'"
            ),
        ),
        Index(
            "ix_listings_expiring",
            "expires_at",
            postgresql_where=text("status = 'active' AND expires_at IS NOT NULL"),
        ),
        Index(
            "ix_listings_pending_review",
            "created_at",
            postgresql_where=text("status = 'pending_review'"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(
        Uuid, primary_key=True, server_default=func.gen_random_uuid()
    )
    kind: Mapped[str] = mapped_column(Text)
    mode: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    owner_person_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("persons.id", ondelete="RESTRICT")
    )
    owner_organization_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("organizations.id", ondelete="RESTRICT")
    )
    # Who created it for an organization (NULL for API keys and after erasure).
    created_by_person_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("persons.id", ondelete="SET NULL")
    )
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, server_default="")
    category_slug: Mapped[str | None] = mapped_column(
        Text, ForeignKey("categories.slug", ondelete="RESTRICT")
    )
    ewc_code: Mapped[str | None] = mapped_column(
        Text, ForeignKey("ewc_codes.code", ondelete="RESTRICT")
    )
    quantity: Mapped[Decimal | None] = mapped_column(Numeric(16, 3))
    unit: Mapped[str | None] = mapped_column(Text)
    quantity_committed: Mapped[Decimal] = mapped_column(Numeric(16, 3), server_default="0")
    quantity_delivered: Mapped[Decimal] = mapped_column(Numeric(16, 3), server_default="0")
    price_nok: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    weight_kg: Mapped[Decimal | None] = mapped_column(Numeric(12, 3))
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    geom: Mapped[Any] = mapped_column(
        Geometry("POINT", srid=SRID, spatial_index=False), nullable=False
    )
    # Written by the trigger listings_public_point; whatever the application sends is replaced.
    public_geom: Mapped[Any] = mapped_column(
        Geometry("POINT", srid=SRID, spatial_index=False), nullable=False
    )
    kommunenummer: Mapped[str] = mapped_column(
        String(4), ForeignKey("kommuner.kommunenummer", ondelete="RESTRICT")
    )
    fylkesnummer: Mapped[str] = mapped_column(
        String(2), ForeignKey("fylker.fylkesnummer", ondelete="RESTRICT")
    )
    search_text: Mapped[str] = mapped_column(
        Text, Computed("sirkel_search_text(title, description)", persisted=True)
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    review_approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    review_approved_by: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("persons.id", ondelete="SET NULL")
    )
    hidden_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    hidden_reason: Mapped[str | None] = mapped_column(Text)
    hidden_by: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("persons.id", ondelete="SET NULL")
    )
    # The initiative (pilot, experiment, reuse station, repair-café series) this belongs to.
    initiative_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("initiatives.id", ondelete="RESTRICT"), index=True
    )


class PrivacyKey(Base):
    """Secrets that never leave the database (the blur direction's key). Created with random
    bytes by the migration; nothing in the application reads them."""

    __tablename__ = "privacy_keys"
    __table_args__ = (CheckConstraint("octet_length(key) >= 32", name="key_length"),)

    name: Mapped[str] = mapped_column(Text, primary_key=True)
    key: Mapped[bytes] = mapped_column(LargeBinary)
