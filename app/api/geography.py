"""Shared parameters of the geography routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

KOMMUNENUMMER_PATTERN = r"^[0-9]{4}$"
FYLKESNUMMER_PATTERN = r"^[0-9]{2}$"

# Reference geography changes once in years; let clients and CDNs cache it for a day.
REFERENCE_CACHE_CONTROL = "public, max-age=86400"

KommunenummerPath = Annotated[
    str,
    Path(
        pattern=KOMMUNENUMMER_PATTERN,
        description="Four-digit kommune number (2024 structure)",
        examples=["0301"],
    ),
]
FylkesnummerPath = Annotated[
    str,
    Path(
        pattern=FYLKESNUMMER_PATTERN,
        description="Two-digit fylke number (2024 structure)",
        examples=["50"],
    ),
]
FylkeQuery = Annotated[
    str | None,
    Query(pattern=FYLKESNUMMER_PATTERN, description="Only kommuner in this fylke", examples=["03"]),
]
