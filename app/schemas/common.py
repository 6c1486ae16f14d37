"""Shapes shared by every resource."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema

T = TypeVar("T")

# Kommune and fylke numbers of the 2024 structure (app.models.geography checks the same).
KOMMUNENUMMER_PATTERN = r"^[0-9]{4}$"
FYLKESNUMMER_PATTERN = r"^[0-9]{2}$"


# Anything that looks like markup: a tag, a comment, a character reference. Titles,
# descriptions and messages are plain text; clients render them, so markup would be someone's
# XSS.
_MARKUP = re.compile(r"<\s*[a-zA-Z!/?]|&(#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);")
# Control characters except tab and newline (descriptions and messages may have lines).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def plain_text(value: str) -> str:
    """A validator: ``value`` unchanged if it is plain text, else a ``ValueError``."""
    if _MARKUP.search(value):
        raise ValueError("must be plain text, without HTML or character references")
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters")
    return value


def json_number(value: Decimal) -> int | float:
    """A decimal as a JSON number, as PostgreSQL writes a numeric: an integer when it has no
    decimals, otherwise a float (``Decimal("3.0")`` stays ``3.0``)."""
    if value == value.to_integral_value() and value.as_tuple().exponent == 0:
        return int(value)
    return float(value)


# A quantity, price, weight or figure as a JSON number (pydantic writes a Decimal as a string);
# the responses built in SQL carry numbers too, so every route reads the same.
DecimalNumber = Annotated[
    Decimal,
    PlainSerializer(json_number, return_type=int | float, when_used="json"),
    WithJsonSchema({"type": "number"}),
]

# A time as PostgreSQL writes it in JSON (``+00:00``, where pydantic would write ``Z``), for
# the resources whose reads are built in SQL (listings, transactions), so that a resource
# reads the same from every route.
Timestamp = Annotated[
    datetime,
    PlainSerializer(datetime.isoformat, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]


class StrictModel(BaseModel):
    """A request body that refuses unknown fields: a misspelt field is a 422, not ignored."""

    model_config = ConfigDict(extra="forbid")


class Page(BaseModel, Generic[T]):
    """One page of a keyset-paginated list."""

    items: list[T]
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null on the last page"
    )
