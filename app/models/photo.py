"""A listing's photo: WebP renditions under content-addressed keys (``app.services.photos``).

**Invariants the database keeps** (migration 0020): at most 10 live (not removed) photos per
listing (trigger ``listing_photos_at_most_10``, which takes the listing's row lock so parallel
uploads count each other); one live photo per position (``listing_photos_live_position_unique``,
an exclusion constraint checked at commit so a reorder can swap positions, whose B-tree also
finds a listing's first photo); a removal carries its reason; only a removed photo is purged.

**Files** are content-addressed (``<sha256>.webp``), so two photos of the same bytes share them.
Removing a photo never deletes files in the request: the worker's sweep
(``app.services.photo.purge_removed``) deletes those no live photo uses, under a per-key
advisory lock that an upload also takes from before it stores the files until it commits.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, ExcludeConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, uuid_pk


class ListingPhoto(Base):
    __tablename__ = "listing_photos"
    __table_args__ = (
        CheckConstraint("position >= 0 AND position < 10", name="position_range"),
        CheckConstraint("width > 0 AND height > 0 AND bytes > 0", name="positive"),
        CheckConstraint(
            "(removed_at IS NULL) = (removed_reason IS NULL)", name="removal_has_reason"
        ),
        CheckConstraint("purged_at IS NULL OR removed_at IS NOT NULL", name="purged_when_removed"),
        CheckConstraint("char_length(alt_text) <= 300", name="alt_text_length"),
        ExcludeConstraint(
            (text("listing_id"), "="),
            (text("position"), "="),
            name="listing_photos_live_position_unique",
            using="btree",
            where=text("removed_at IS NULL"),
            deferrable=True,
            initially="DEFERRED",
        ),
        Index(
            "ix_listing_photos_renditions",
            "renditions",
            postgresql_using="gin",
            postgresql_ops={"renditions": "jsonb_path_ops"},
        ),
        Index(
            "ix_listing_photos_to_purge",
            "removed_at",
            postgresql_where=text("removed_at IS NOT NULL AND purged_at IS NULL"),
        ),
        Index("ix_listing_photos_created_by", "created_by"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    listing_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("listings.id", ondelete="CASCADE")
    )
    position: Mapped[int] = mapped_column(SmallInteger)
    source_sha256: Mapped[str] = mapped_column(String(64))
    # [{"size": 320, "key": "<sha256>.webp", "width": 320, "height": 240}, ...]
    renditions: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    bytes: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("persons.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    removed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    removed_reason: Mapped[str | None] = mapped_column(Text)
    removed_by: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("persons.id", ondelete="SET NULL")
    )
    # What the photo shows, for screen readers (plain text, set by the uploader).
    alt_text: Mapped[str | None] = mapped_column(Text)
    # When the worker deleted the files of a removed photo that no live photo shares.
    purged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
