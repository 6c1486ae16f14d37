"""A listing's photos: what an upload, a list, a reorder and a removal read and return."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from app.schemas.common import StrictModel, plain_text

ALT_TEXT_MAX_LENGTH = 300

AltText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=ALT_TEXT_MAX_LENGTH),
    AfterValidator(plain_text),
]

_PHOTO_ID = "0b8f2f7e-3c1a-4d0e-9a57-2f4c1d6b8e90"
_LISTING_ID = "7d1f5c1e-2a4b-4e8f-9c3d-6a5b4c3d2e1f"


class PhotoRendition(BaseModel):
    size: int = Field(description="The long side it was made for, in pixels", examples=[320])
    width: int = Field(examples=[320])
    height: int = Field(examples=[240])
    url: str = Field(
        description="Path of the WebP file (resolve against the API's base URL); never changes",
        examples=[f"/v1/photos/{_PHOTO_ID}/320.webp"],
    )


class PhotoRemoval(BaseModel):
    removed_at: datetime
    reason: str = Field(examples=["Shows a person's face"])


class PhotoRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "id": _PHOTO_ID,
                "listing_id": _LISTING_ID,
                "position": 0,
                "width": 1920,
                "height": 1440,
                "alt": "Blå barnesykkel, 16 tommer, med støttehjul",
                "thumbnail_url": f"/v1/photos/{_PHOTO_ID}/320.webp",
                "renditions": [
                    {
                        "size": 320,
                        "width": 320,
                        "height": 240,
                        "url": f"/v1/photos/{_PHOTO_ID}/320.webp",
                    },
                    {
                        "size": 960,
                        "width": 960,
                        "height": 720,
                        "url": f"/v1/photos/{_PHOTO_ID}/960.webp",
                    },
                    {
                        "size": 1920,
                        "width": 1920,
                        "height": 1440,
                        "url": f"/v1/photos/{_PHOTO_ID}/1920.webp",
                    },
                ],
                "created_at": "2026-12-05T10:00:00Z",
                "removal": None,
            }
        }
    )

    id: uuid.UUID
    listing_id: uuid.UUID
    position: int = Field(description="0 is the listing's first photo, shown in search and maps")
    width: int = Field(description="Of the cleaned picture (after the EXIF orientation)")
    height: int
    alt: str | None = Field(description="What the photo shows, for screen readers")
    thumbnail_url: str = Field(description="The smallest rendition's path")
    renditions: list[PhotoRendition]
    created_at: datetime
    removal: PhotoRemoval | None = Field(
        default=None, description="Set when removed (only its managers and moderators see it)"
    )


class PhotoList(BaseModel):
    items: list[PhotoRead]


class PhotoOrder(StrictModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"photo_ids": [_PHOTO_ID, _LISTING_ID]}]},
    )

    photo_ids: list[uuid.UUID] = Field(
        min_length=1,
        max_length=10,
        description="Every live photo of the listing, each once, first first",
    )


class PhotoRemove(StrictModel):
    reason: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=500),
        AfterValidator(plain_text),
    ] = Field(
        description="Why it was removed; the owner sees it", examples=["Shows a person's face"]
    )
