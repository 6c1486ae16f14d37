"""Every SQL statement about listing photos (``app.models.photo`` lists the invariants)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import TooManyPhotosError
from app.models import Listing, ListingPhoto
from app.repositories.db_errors import constraint_name

MAX_PHOTOS = 10


class PhotoRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lock_listing(self, listing_id: uuid.UUID) -> None:
        """The listing's row lock: uploads, reorders and removals of one listing's photos take
        turns, so positions are chosen on what the one before committed."""
        await self.session.execute(
            select(Listing.id).where(Listing.id == listing_id).with_for_update()
        )

    async def live(self, listing_id: uuid.UUID) -> list[ListingPhoto]:
        """The listing's photos that are not removed, first first."""
        stmt = (
            select(ListingPhoto)
            .where(ListingPhoto.listing_id == listing_id, ListingPhoto.removed_at.is_(None))
            .order_by(ListingPhoto.position)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def live_count(self, listing_id: uuid.UUID) -> int:
        stmt = select(func.count()).where(
            ListingPhoto.listing_id == listing_id, ListingPhoto.removed_at.is_(None)
        )
        return int((await self.session.execute(stmt)).scalar_one())

    async def get(
        self, photo_id: uuid.UUID, *, listing_id: uuid.UUID | None = None
    ) -> ListingPhoto | None:
        stmt = select(ListingPhoto).where(ListingPhoto.id == photo_id)
        if listing_id is not None:
            stmt = stmt.where(ListingPhoto.listing_id == listing_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def with_listing(self, photo_id: uuid.UUID) -> tuple[ListingPhoto, Listing] | None:
        """A photo and its listing, for serving the file (one statement)."""
        stmt = (
            select(ListingPhoto, Listing)
            .join(Listing, Listing.id == ListingPhoto.listing_id)
            .where(ListingPhoto.id == photo_id)
        )
        row = (await self.session.execute(stmt)).one_or_none()
        return None if row is None else (row[0], row[1])

    async def live_with_source(
        self, listing_id: uuid.UUID, source_sha256: str
    ) -> ListingPhoto | None:
        stmt = select(ListingPhoto).where(
            ListingPhoto.listing_id == listing_id,
            ListingPhoto.source_sha256 == source_sha256,
            ListingPhoto.removed_at.is_(None),
        )
        return (await self.session.execute(stmt)).scalars().first()

    async def lock_keys(self, keys: Sequence[str]) -> None:
        """Per-file advisory locks until the transaction ends. An upload takes them before it
        stores its files and holds them until its row is committed; the sweep takes them before
        it looks whether a file is still used — so it never deletes a file an upload is about
        to reference. Sorted, so two transactions never wait on each other in a circle."""
        for key in sorted(set(keys)):
            await self.session.execute(
                text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 7001))"), {"key": key}
            )

    async def add(self, photo: ListingPhoto) -> ListingPhoto:
        """Insert; the database keeps the at-most-10 rule (also between parallel uploads)."""
        try:
            async with self.session.begin_nested():
                self.session.add(photo)
                await self.session.flush()
        except IntegrityError as exc:
            if constraint_name(exc) == "listing_photos_at_most_10":
                raise TooManyPhotosError(
                    f"A listing has at most {MAX_PHOTOS} photos; delete one first."
                ) from None
            raise
        return photo

    async def reorder(self, listing_id: uuid.UUID, photo_ids: Sequence[uuid.UUID]) -> None:
        """Give the photos positions 0..n-1 in the given order, in one statement (the unique
        position is checked at commit, so positions may swap)."""
        await self.session.execute(
            text(
                "UPDATE listing_photos AS p SET position = o.ord - 1 "
                "FROM unnest(CAST(:ids AS uuid[])) WITH ORDINALITY AS o(id, ord) "
                "WHERE p.id = o.id AND p.listing_id = :listing AND p.removed_at IS NULL"
            ),
            {"ids": [str(i) for i in photo_ids], "listing": listing_id},
        )
        self.session.expire_all()

    async def remove(
        self, photo: ListingPhoto, *, now: datetime, reason: str, by: uuid.UUID | None
    ) -> None:
        """Remove (the row stays, for the audit and the sweep) and close the gap it leaves."""
        await self.lock_listing(photo.listing_id)
        photo.removed_at = now
        photo.removed_reason = reason
        photo.removed_by = by
        await self.session.flush()
        await self.session.execute(
            update(ListingPhoto)
            .where(
                ListingPhoto.listing_id == photo.listing_id,
                ListingPhoto.removed_at.is_(None),
                ListingPhoto.position > photo.position,
            )
            .values(position=ListingPhoto.position - 1)
        )

    async def remove_for_person(self, person_id: uuid.UUID, *, now: datetime) -> int:
        """Erasure: every live photo of the person's own listings."""
        result = await self.session.execute(
            update(ListingPhoto)
            .where(
                ListingPhoto.removed_at.is_(None),
                ListingPhoto.listing_id.in_(
                    select(Listing.id).where(Listing.owner_person_id == person_id)
                ),
            )
            .values(removed_at=now, removed_reason="account erased", removed_by=person_id)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def export_for_person(self, person_id: uuid.UUID) -> list[dict[str, Any]]:
        """The photos of the person's listings and those they uploaded to others'."""
        stmt = (
            select(ListingPhoto)
            .join(Listing, Listing.id == ListingPhoto.listing_id)
            .where((Listing.owner_person_id == person_id) | (ListingPhoto.created_by == person_id))
            .order_by(ListingPhoto.listing_id, ListingPhoto.created_at, ListingPhoto.id)
        )
        photos = (await self.session.execute(stmt)).scalars()
        return [
            {
                "id": str(p.id),
                "listing_id": str(p.listing_id),
                "position": p.position,
                "width": p.width,
                "height": p.height,
                "alt": p.alt_text,
                "created_at": p.created_at.isoformat(),
                "removed_at": p.removed_at.isoformat() if p.removed_at else None,
                "removed_reason": p.removed_reason,
                "renditions": [
                    {"size": r["size"], "width": r["width"], "height": r["height"]}
                    for r in p.renditions
                ],
            }
            for p in photos
        ]

    async def to_purge(self, limit: int) -> list[ListingPhoto]:
        """Removed photos whose files the sweep has not dealt with, oldest first; skips rows
        another sweep holds."""
        stmt = (
            select(ListingPhoto)
            .where(ListingPhoto.removed_at.is_not(None), ListingPhoto.purged_at.is_(None))
            .order_by(ListingPhoto.removed_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def key_in_use(self, key: str) -> bool:
        """Does a live photo still use this file (GIN index on ``renditions``)?"""
        stmt = text(
            "SELECT EXISTS (SELECT 1 FROM listing_photos WHERE removed_at IS NULL "
            "AND renditions @> CAST(:probe AS jsonb))"
        )
        probe = orjson.dumps([{"key": key}]).decode()
        return bool((await self.session.execute(stmt, {"probe": probe})).scalar_one())

    async def mark_purged(self, photo_ids: Sequence[uuid.UUID], *, now: datetime) -> None:
        if photo_ids:
            await self.session.execute(
                update(ListingPhoto)
                .where(ListingPhoto.id.in_(list(photo_ids)))
                .values(purged_at=now)
            )
