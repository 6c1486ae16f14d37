"""Holds: a borrower's place in a lendable listing's queue (``app.models.hold``)."""

from __future__ import annotations

import uuid

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from app.models.hold import HoldStatus
from app.schemas.common import Page, Timestamp


class HoldRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "id": "6a1e2c4b-8d7f-4e3a-b1c2-9f8e7d6c5b4a",
                "listing_id": "0b9d3f8e-3c0a-4a7e-9d55-2f0f4d1c9a11",
                "listing_title": "Slagdrill",
                "person_id": "3f0c9a1e-2b4d-4e6f-8a9b-1c2d3e4f5a6b",
                "holder": "Kari N.",
                "status": "waiting",
                "position": 2,
                "unit_no": None,
                "ready_until": None,
                "transaction_id": None,
                "created_at": "2026-12-05T10:00:00Z",
                "closed_at": None,
            }
        }
    )

    id: uuid.UUID
    listing_id: uuid.UUID
    listing_title: str
    person_id: uuid.UUID = Field(description="Who holds it")
    holder: str | None = Field(
        description="The holder's public name (or 'Nabo i {kommune}'), for the staff"
    )
    status: HoldStatus = Field(
        description="`waiting` in the queue, `ready` for pickup until `ready_until`, then "
        "`fulfilled` (lent out), `cancelled` or `lapsed`"
    )
    position: int | None = Field(
        description="Place in the queue while waiting (1: next when a unit comes back)"
    )
    unit_no: int | None = Field(description="The unit kept for the holder while ready")
    ready_until: Timestamp | None = Field(description="The end of the pickup window")
    transaction_id: uuid.UUID | None = Field(description="The loan it became, once fulfilled")
    created_at: Timestamp
    closed_at: Timestamp | None


class HoldPage(Page[HoldRead]):
    """One page of holds."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "items": [HoldRead.model_config["json_schema_extra"]["example"]],  # type: ignore[index]
                "next_cursor": None,
            }
        }
    )


class HoldCheckout(BaseModel):
    """Lending a ready hold out: the loan runs from now to ``until``."""

    model_config = ConfigDict(extra="forbid")

    until: AwareDatetime | None = Field(
        default=None,
        description="The loan's end; by default 14 days (at most the listing's max_duration_days)",
        examples=["2026-12-19T16:00:00Z"],
    )
