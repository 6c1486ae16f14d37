"""A listing's photos: upload, list, reorder, delete, a moderator's removal, serving the files,
and the sweep that deletes files no live photo uses.

**The pipeline** (``app.services.photos``): the bytes are sniffed, decoded with a pixel limit,
oriented, stripped of every metadata block and re-encoded as WebP renditions in a worker
thread. Nothing the phone wrote — EXIF GPS above all, which is a household's exact position —
reaches a served file.

**Order of an upload.** Authorize and count first (cheap refusals before the expensive decode),
decode without holding any lock, then lock the listing's row, count again, take the per-file
advisory locks, store the files and insert the row; the database keeps the at-most-10 rule and
one photo per position whatever the service does. The files go to storage before the row is
committed: a crash in between leaves an unreferenced file, never a row without its files.

**Serving.** A file's URL (``/v1/photos/{id}/{size}.webp``) names bytes that never change, so
a public one is cached for a year (``immutable``) with its sha256 as the ETag. A photo of a
listing the public cannot see (hidden, draft, pending review, withdrawn) is served only to its
managers and moderators, and never stored by shared caches.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.errors import (
    AnimatedImageError,
    ImageTooLargeError,
    InvalidInputError,
    InvalidPhotoOrderError,
    ListingClosedError,
    PhotoNotFoundError,
    TooManyPhotosError,
    UndecodableImageError,
    UnsupportedImageError,
)
from app.models import Listing, ListingPhoto
from app.models.listing import FINAL_STATUSES
from app.models.outbox import EventType
from app.models.person import PlatformRole
from app.repositories.photo import MAX_PHOTOS, PhotoRepository
from app.schemas.photo import PhotoRead, PhotoRemoval, PhotoRendition
from app.services import listing as listing_service
from app.services import outbox
from app.services.photos import images
from app.services.photos.processing import process_upload
from app.services.photos.storage import PhotoStorage, key_for
from app.services.policy import Principal, require_platform_role

# What each refusal of the image pipeline becomes (``app.services.photos.images``).
_REFUSALS: dict[type[images.ImageRejectedError], type[InvalidInputError]] = {
    images.UnsupportedImageTypeError: UnsupportedImageError,
    images.ImageUndecodableError: UndecodableImageError,
    images.ImageTooLargeError: ImageTooLargeError,
    images.ImageAnimatedError: AnimatedImageError,
}

OWNER_DELETED = "deleted by its owner"


def photo_url(photo_id: uuid.UUID, size: int) -> str:
    return f"/v1/photos/{photo_id}/{size}.webp"


def photo_read(photo: ListingPhoto, *, with_removal: bool = False) -> PhotoRead:
    renditions = [
        PhotoRendition(
            size=r["size"], width=r["width"], height=r["height"], url=photo_url(photo.id, r["size"])
        )
        for r in sorted(photo.renditions, key=lambda r: int(r["size"]))
    ]
    removal = None
    if with_removal and photo.removed_at is not None and photo.removed_reason is not None:
        removal = PhotoRemoval(removed_at=photo.removed_at, reason=photo.removed_reason)
    return PhotoRead(
        id=photo.id,
        listing_id=photo.listing_id,
        position=photo.position,
        width=photo.width,
        height=photo.height,
        alt=photo.alt_text,
        thumbnail_url=renditions[0].url,
        renditions=renditions,
        created_at=photo.created_at,
        removal=removal,
    )


def _open_for_photos(listing: Listing) -> None:
    if listing.status in FINAL_STATUSES:
        raise ListingClosedError(f"The listing is {listing.status}; its photos no longer change.")


def _room_for_one(count: int) -> None:
    if count >= MAX_PHOTOS:
        raise TooManyPhotosError(f"A listing has at most {MAX_PHOTOS} photos; delete one first.")


@dataclass(frozen=True, slots=True)
class Uploaded:
    photo: PhotoRead
    created: bool = True


async def upload_photo(
    session: AsyncSession,
    storage: PhotoStorage,
    *,
    settings: Settings,
    principal: Principal,
    listing_id: uuid.UUID,
    data: bytes,
    alt: str | None,
    now: datetime,
) -> Uploaded:
    """Add one photo as the listing's last. The same bytes uploaded again to the same listing
    (a retry) give back the photo they made, not a second one."""
    # No lock yet: decoding takes ~0.5 s for a 12 MP photo (docs/benchmarks.md), and the
    # listing's row lock would hold up requests for it meanwhile.
    listing = await listing_service.owned_listing(
        session, principal=principal, listing_id=listing_id, lock=False
    )
    _open_for_photos(listing)
    repo = PhotoRepository(session)
    source = hashlib.sha256(data).hexdigest()
    existing = await repo.live_with_source(listing_id, source)
    if existing is not None:
        return Uploaded(photo_read(existing), created=False)
    _room_for_one(await repo.live_count(listing_id))
    try:
        processed = await process_upload(data, settings.photos)
    except images.ImageRejectedError as exc:
        raise _REFUSALS[type(exc)](exc.detail) from None
    await repo.lock_listing(listing_id)
    again = await repo.live_with_source(listing_id, source)  # a parallel retry won
    if again is not None:
        return Uploaded(photo_read(again), created=False)
    _room_for_one(await repo.live_count(listing_id))
    keys = [key_for(r.sha256) for r in processed.renditions]
    await repo.lock_keys(keys)
    for rendition, key in zip(processed.renditions, keys, strict=True):
        await storage.put(key, rendition.data)
    live = await repo.live(listing_id)
    photo = await repo.add(
        ListingPhoto(
            listing_id=listing_id,
            position=len(live),
            source_sha256=source,
            renditions=[
                {"size": r.size, "key": key, "width": r.width, "height": r.height}
                for r, key in zip(processed.renditions, keys, strict=True)
            ],
            width=processed.width,
            height=processed.height,
            bytes=len(data),
            created_by=principal.person_id,
            created_at=now,
            alt_text=alt or None,
        )
    )
    return Uploaded(photo_read(photo))


async def list_photos(
    session: AsyncSession, *, principal: Principal | None, listing_id: uuid.UUID
) -> list[PhotoRead]:
    """The listing's live photos, first first, for anyone who may see the listing."""
    await listing_service.visible_listing(session, principal=principal, listing_id=listing_id)
    return [photo_read(p) for p in await PhotoRepository(session).live(listing_id)]


async def get_photo(
    session: AsyncSession,
    *,
    principal: Principal | None,
    listing_id: uuid.UUID,
    photo_id: uuid.UUID,
) -> PhotoRead:
    """One photo; a removed one only for the listing's managers and moderators (with why)."""
    listing = await listing_service.visible_listing(
        session, principal=principal, listing_id=listing_id
    )
    photo = await PhotoRepository(session).get(photo_id, listing_id=listing_id)
    if photo is None:
        raise PhotoNotFoundError(f"Listing {listing_id} has no photo {photo_id}.")
    if photo.removed_at is not None:
        insider = _moderates(principal) or await listing_service.manages_listing(
            session, principal=principal, listing=listing
        )
        if not insider:
            raise PhotoNotFoundError(f"Listing {listing_id} has no photo {photo_id}.")
        return photo_read(photo, with_removal=True)
    return photo_read(photo)


async def _live_photo(
    repo: PhotoRepository, listing_id: uuid.UUID, photo_id: uuid.UUID
) -> ListingPhoto:
    photo = await repo.get(photo_id, listing_id=listing_id)
    if photo is None or photo.removed_at is not None:
        raise PhotoNotFoundError(f"Listing {listing_id} has no photo {photo_id}.")
    return photo


async def delete_photo(
    session: AsyncSession,
    *,
    principal: Principal,
    listing_id: uuid.UUID,
    photo_id: uuid.UUID,
    now: datetime,
) -> None:
    """The owner takes a photo off; the ones after it move up. The files go with the sweep."""
    await listing_service.owned_listing(session, principal=principal, listing_id=listing_id)
    repo = PhotoRepository(session)
    photo = await _live_photo(repo, listing_id, photo_id)
    await repo.remove(photo, now=now, reason=OWNER_DELETED, by=principal.person_id)


async def reorder_photos(
    session: AsyncSession,
    *,
    principal: Principal,
    listing_id: uuid.UUID,
    photo_ids: Sequence[uuid.UUID],
) -> list[PhotoRead]:
    listing = await listing_service.owned_listing(
        session, principal=principal, listing_id=listing_id
    )
    _open_for_photos(listing)
    repo = PhotoRepository(session)
    live = {p.id for p in await repo.live(listing_id)}
    if len(set(photo_ids)) != len(photo_ids) or set(photo_ids) != live:
        raise InvalidPhotoOrderError(
            f"Name each of the listing's {len(live)} photos exactly once "
            "(GET /v1/listings/{id}/photos lists them)."
        )
    await repo.reorder(listing_id, photo_ids)
    return [photo_read(p) for p in await repo.live(listing_id)]


def _moderates(principal: Principal | None) -> bool:
    return principal is not None and principal.has_role(PlatformRole.MODERATOR)


async def remove_photo(
    session: AsyncSession,
    *,
    principal: Principal,
    listing_id: uuid.UUID,
    photo_id: uuid.UUID,
    reason: str,
    now: datetime,
) -> PhotoRead:
    """A moderator removes a photo with a reason, which the owner is told."""
    moderator_id = require_platform_role(principal, PlatformRole.MODERATOR)
    listing = await listing_service.visible_listing(
        session, principal=principal, listing_id=listing_id
    )
    repo = PhotoRepository(session)
    photo = await _live_photo(repo, listing_id, photo_id)
    await repo.remove(photo, now=now, reason=reason, by=moderator_id)
    await outbox.emit(
        session,
        EventType.LISTING_PHOTO_REMOVED,
        to=[outbox.Recipient(listing.owner_person_id, listing.owner_organization_id)],
        payload={
            "listing_id": str(listing.id),
            "title": listing.title,
            "photo_id": str(photo.id),
            "reason": reason,
        },
        now=now,
    )
    return photo_read(photo, with_removal=True)


@dataclass(frozen=True, slots=True)
class PhotoFile:
    data: bytes
    etag: str
    public: bool


async def photo_file(
    session: AsyncSession,
    storage: PhotoStorage,
    *,
    principal: Principal | None,
    photo_id: uuid.UUID,
    size: int,
) -> PhotoFile:
    """The WebP bytes of one rendition, if the caller may see the photo."""
    found = await PhotoRepository(session).with_listing(photo_id)
    missing = PhotoNotFoundError(f"No photo {photo_id} has a {size} px rendition.")
    if found is None:
        raise missing
    photo, listing = found
    rendition = next((r for r in photo.renditions if int(r["size"]) == size), None)
    if photo.removed_at is not None or rendition is None:
        raise missing
    public = listing_service.publicly_visible(listing)
    if not public and not (
        _moderates(principal)
        or await listing_service.manages_listing(session, principal=principal, listing=listing)
    ):
        raise missing
    key = str(rendition["key"])
    data = await storage.get(key)
    if data is None:
        raise missing
    return PhotoFile(data=data, etag=key.removesuffix(".webp"), public=public)


async def purge_removed(
    sessions: async_sessionmaker[AsyncSession],
    storage: PhotoStorage,
    *,
    now: datetime,
    batch: int = 50,
) -> int:
    """Delete the files of removed photos that no live photo uses (erasure, a moderator's
    removal, an owner's delete); each photo is marked purged. How many files were deleted."""
    deleted = 0
    while True:
        async with sessions() as session, session.begin():
            repo = PhotoRepository(session)
            photos = await repo.to_purge(batch)
            if not photos:
                return deleted
            keys = sorted({str(r["key"]) for p in photos for r in p.renditions})
            await repo.lock_keys(keys)
            for key in keys:
                if not await repo.key_in_use(key):
                    await storage.delete(key)
                    deleted += 1
            await repo.mark_purged([p.id for p in photos], now=now)
