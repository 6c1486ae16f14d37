"""/v1/listings/{id}/photos — a listing's pictures; /v1/photos/{id}/{size}.webp — their files."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, File, Form, Path, Request, Response, UploadFile, status
from pydantic import TypeAdapter, ValidationError

from app.api.deps import ClockDep, OptionalPrincipalDep, PrincipalDep, SettingsDep
from app.api.listings import OWNER_ONLY
from app.api.params import AUTH_PROBLEMS as _AUTH
from app.api.params import OPTIONAL_AUTH_PROBLEMS
from app.config import Settings
from app.db import SessionDep
from app.errors import (
    AnimatedImageError,
    FieldError,
    ImageTooLargeError,
    InvalidInputError,
    InvalidPhotoOrderError,
    ListingClosedError,
    ListingNotFoundError,
    PayloadTooLargeError,
    PersonRequiredError,
    PhotoNotFoundError,
    RoleRequiredError,
    TooManyPhotosError,
    UndecodableImageError,
    UnsupportedImageError,
    problem_responses,
)
from app.schemas.photo import AltText, PhotoList, PhotoOrder, PhotoRead, PhotoRemove
from app.services import photo as service
from app.services.photos.processing import storage_from_settings
from app.services.photos.storage import PhotoStorage

router = APIRouter(tags=["listings"])

ListingIdPath = Annotated[uuid.UUID, Path(description="The listing's id")]
PhotoIdPath = Annotated[uuid.UUID, Path(description="The photo's id")]

_IMAGE_REFUSALS = (UnsupportedImageError, UndecodableImageError, ImageTooLargeError)
_ALT = TypeAdapter(AltText)
# What a served file says to caches: public bytes never change at their URL; a photo of a
# listing the public cannot see is for its managers' and moderators' eyes only.
PUBLIC_CACHE = "public, max-age=31536000, immutable"
PRIVATE_CACHE = "private, no-store"


def photo_storage(request: Request, settings: Settings) -> PhotoStorage:
    """One storage client per application (an S3 client keeps its connections)."""
    storage: PhotoStorage | None = getattr(request.app.state, "photo_storage", None)
    if storage is None:
        storage = storage_from_settings(settings)
        request.app.state.photo_storage = storage
    return storage


def _alt(raw: str | None) -> str | None:
    if raw is None:
        return None
    try:
        return _ALT.validate_python(raw)
    except ValidationError as exc:
        raise InvalidInputError(
            "The alt text must be plain text of at most 300 characters.",
            errors=[
                FieldError(location="body", field="alt", message=e["msg"], type=e["type"])
                for e in exc.errors()
            ],
        ) from None


@router.post(
    "/v1/listings/{listing_id}/photos",
    status_code=status.HTTP_201_CREATED,
    response_model=PhotoRead,
    summary="Add a photo to a listing",
    description="Multipart form: `file` (one JPEG, PNG, WebP or HEIC/HEIF image, at most "
    "15 MiB) and an optional `alt` text for screen readers. The owner, members of the owning "
    "organization and keys with `listings:write` only. The image is decoded, turned upright "
    "by its EXIF orientation, stripped of all metadata (EXIF with its GPS position, XMP, "
    "IPTC, colour profiles: the pixels are converted to sRGB) and stored as WebP renditions "
    "(320, 960 and 1920 px on the long side, never upscaled). It becomes the listing's last "
    "photo; a listing has at most 10. Uploading the same bytes again to the same listing "
    "(a retry) answers `200` with the photo they made. Refusals: `413 payload_too_large` "
    "above 15 MiB; `422 unsupported_image_type` when the bytes are no supported image "
    "(whatever the file's name or declared type), `image_undecodable` for a damaged or "
    "truncated file, `image_too_large` above 50 megapixels, `image_animated` for an "
    "animation; `409 too_many_photos`; `409 listing_closed` for a completed or withdrawn "
    "listing.",
    responses={
        200: {"model": PhotoRead, "description": "These bytes were uploaded before"},
        **problem_responses(
            *OWNER_ONLY,
            *_IMAGE_REFUSALS,
            AnimatedImageError,
            TooManyPhotosError,
            ListingClosedError,
            PayloadTooLargeError,
            422,
        ),
    },
)
async def upload_photo(
    file: Annotated[UploadFile, File(description="The image")],
    session: SessionDep,
    principal: PrincipalDep,
    now: ClockDep,
    settings: SettingsDep,
    request: Request,
    response: Response,
    listing_id: ListingIdPath,
    alt: Annotated[str | None, Form(description="What the photo shows (plain text)")] = None,
) -> PhotoRead:
    limit = settings.photos.max_upload_bytes
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLargeError(f"A photo is at most {limit} bytes.")
    result = await service.upload_photo(
        session,
        photo_storage(request, settings),
        settings=settings,
        principal=principal,
        listing_id=listing_id,
        data=data,
        alt=_alt(alt),
        now=now,
    )
    response.headers["Location"] = f"/v1/listings/{listing_id}/photos/{result.photo.id}"
    if not result.created:
        response.status_code = status.HTTP_200_OK
    return result.photo


@router.get(
    "/v1/listings/{listing_id}/photos",
    response_model=PhotoList,
    summary="A listing's photos",
    description="The photos of a listing you may see, first first (the first is the one "
    "search results, GeoJSON and map tiles show). Each has renditions at stable URLs.",
    responses=problem_responses(*OPTIONAL_AUTH_PROBLEMS, ListingNotFoundError, 422),
)
async def list_photos(
    session: SessionDep, principal: OptionalPrincipalDep, listing_id: ListingIdPath
) -> PhotoList:
    items = await service.list_photos(session, principal=principal, listing_id=listing_id)
    return PhotoList(items=items)


@router.put(
    "/v1/listings/{listing_id}/photos/order",
    response_model=PhotoList,
    summary="Reorder a listing's photos",
    description="Name every photo of the listing once, in the order wanted; the first becomes "
    "the listing's picture in search, GeoJSON and tiles. Anything else (a photo missing, one "
    "twice, another listing's) is `422 invalid_photo_order` and changes nothing.",
    responses=problem_responses(*OWNER_ONLY, InvalidPhotoOrderError, ListingClosedError, 422),
)
async def reorder_photos(
    body: PhotoOrder, session: SessionDep, principal: PrincipalDep, listing_id: ListingIdPath
) -> PhotoList:
    items = await service.reorder_photos(
        session, principal=principal, listing_id=listing_id, photo_ids=body.photo_ids
    )
    return PhotoList(items=items)


@router.get(
    "/v1/listings/{listing_id}/photos/{photo_id}",
    response_model=PhotoRead,
    response_model_exclude_none=False,
    summary="One photo of a listing",
    description="A removed photo is `404 photo_not_found`, except to the listing's managers and "
    "moderators, who see when and why it was removed.",
    responses=problem_responses(
        *OPTIONAL_AUTH_PROBLEMS, ListingNotFoundError, PhotoNotFoundError, 422
    ),
)
async def get_photo(
    session: SessionDep,
    principal: OptionalPrincipalDep,
    listing_id: ListingIdPath,
    photo_id: PhotoIdPath,
) -> PhotoRead:
    return await service.get_photo(
        session, principal=principal, listing_id=listing_id, photo_id=photo_id
    )


@router.delete(
    "/v1/listings/{listing_id}/photos/{photo_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a photo",
    description="The owner takes a photo off the listing; the photos after it move up. Its "
    "files are deleted from storage shortly after by the worker (unless another live photo "
    "holds the very same bytes).",
    responses=problem_responses(*OWNER_ONLY, PhotoNotFoundError, 422),
)
async def delete_photo(
    session: SessionDep,
    principal: PrincipalDep,
    now: ClockDep,
    listing_id: ListingIdPath,
    photo_id: PhotoIdPath,
) -> Response:
    await service.delete_photo(
        session, principal=principal, listing_id=listing_id, photo_id=photo_id, now=now
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/v1/listings/{listing_id}/photos/{photo_id}/remove",
    response_model=PhotoRead,
    summary="Remove a photo (moderators)",
    description="Moderators only: take a photo off a listing with a reason; the owner is "
    "notified (`listing.photo_removed`) and sees the reason on the photo.",
    responses=problem_responses(
        *_AUTH,
        PersonRequiredError,
        RoleRequiredError,
        ListingNotFoundError,
        PhotoNotFoundError,
        422,
    ),
)
async def remove_photo(
    body: PhotoRemove,
    session: SessionDep,
    principal: PrincipalDep,
    now: ClockDep,
    listing_id: ListingIdPath,
    photo_id: PhotoIdPath,
) -> PhotoRead:
    return await service.remove_photo(
        session,
        principal=principal,
        listing_id=listing_id,
        photo_id=photo_id,
        reason=body.reason,
        now=now,
    )


def _etag_matches(header: str | None, etag: str) -> bool:
    if header is None:
        return False
    if header.strip() == "*":
        return True
    tags = {t.strip().removeprefix("W/") for t in header.split(",")}
    return etag in tags


@router.get(
    "/v1/photos/{photo_id}/{size}.webp",
    response_class=Response,
    summary="A photo's file",
    description="One rendition as WebP. The bytes at a URL never change: a photo of a public "
    "listing is served with `Cache-Control: public, max-age=31536000, immutable` and its "
    "sha256 as the `ETag` (`If-None-Match` answers `304`). A photo of a hidden, draft, "
    "pending or withdrawn listing is served only to its managers and moderators "
    "(`Cache-Control: private, no-store`); to others, and for a removed photo or a size "
    "that was not made, it is `404 photo_not_found`.",
    responses={
        200: {
            "content": {"image/webp": {"schema": {"type": "string", "format": "binary"}}},
            "description": "The WebP file",
        },
        304: {"description": "Not modified (the ETag matched)"},
        **problem_responses(*OPTIONAL_AUTH_PROBLEMS, PhotoNotFoundError, 422),
    },
)
async def photo_file(
    session: SessionDep,
    principal: OptionalPrincipalDep,
    settings: SettingsDep,
    request: Request,
    photo_id: PhotoIdPath,
    size: Annotated[int, Path(ge=1, le=10_000, description="A rendition's size, e.g. 320")],
) -> Response:
    file = await service.photo_file(
        session,
        photo_storage(request, settings),
        principal=principal,
        photo_id=photo_id,
        size=size,
    )
    etag = f'"{file.etag}"'
    headers = {"ETag": etag, "Cache-Control": PUBLIC_CACHE if file.public else PRIVATE_CACHE}
    if _etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    return Response(content=file.data, media_type="image/webp", headers=headers)
