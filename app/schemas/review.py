"""Reviews after a confirmed handover."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from app.models.review import REVIEW_TEXT_MAX_LENGTH
from app.schemas.common import Page, StrictModel, plain_text

ReviewText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=REVIEW_TEXT_MAX_LENGTH),
    AfterValidator(plain_text),
]


class ReviewCreate(StrictModel):
    rating: int = Field(ge=1, le=5, description="1 (poor) to 5 (excellent)", examples=[5])
    text: ReviewText = Field(
        default="",
        description="Plain text, up to 1,000 characters",
        examples=["Hyggelig og presis henting, sykkelen var som beskrevet."],
    )


class ReplyCreate(StrictModel):
    text: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=REVIEW_TEXT_MAX_LENGTH),
        AfterValidator(plain_text),
    ] = Field(description="The reviewed party's answer, once", examples=["Takk for sist!"])


class ReviewRead(BaseModel):
    id: uuid.UUID
    transaction_id: uuid.UUID
    author_side: str = Field(description="`provider` or `receiver`")
    author_label: str | None = Field(
        description="Who wrote it as others see them; null after the author's erasure"
    )
    subject_person_id: uuid.UUID | None
    subject_organization_id: uuid.UUID | None
    rating: int
    text: str
    created_at: datetime
    revealed_at: datetime | None = Field(
        description="Null while blind: until both sides reviewed or 14 days after confirmation"
    )
    reply: str | None
    replied_at: datetime | None


class ReviewPage(Page[ReviewRead]):
    pass
