"""Shapes shared by every resource."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

T = TypeVar("T")

# Kommune and fylke numbers of the 2024 structure (app.models.geography checks the same).
KOMMUNENUMMER_PATTERN = r"^[0-9]{4}$"
FYLKESNUMMER_PATTERN = r"^[0-9]{2}$"

# A quantity, price or weight as a JSON number (pydantic writes a Decimal as a string). The
# responses built in SQL already carry numbers; this makes the declared schema say so.
DecimalNumber = Annotated[Decimal, PlainSerializer(float, return_type=float, when_used="json")]


class StrictModel(BaseModel):
    """A request body that refuses unknown fields: a misspelt field is a 422, not ignored."""

    model_config = ConfigDict(extra="forbid")


class Page(BaseModel, Generic[T]):
    """One page of a keyset-paginated list."""

    items: list[T]
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null on the last page"
    )
