"""What the routers share: query and path parameters (paging, kommune and fylke numbers), the
problems every authenticated route can return, and the caching of reference data.

Listing-only filters (kind, mode, category, free text) stay in ``app.api.listing_filters``,
shared by search and tiles.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from app.errors import (
    AmbiguousCredentialsError,
    InvalidApiKeyError,
    InvalidTokenError,
    UnauthorizedError,
)
from app.schemas.common import FYLKESNUMMER_PATTERN, KOMMUNENUMMER_PATTERN

__all__ = [
    "AUTH_PROBLEMS",
    "FYLKESNUMMER_PATTERN",
    "KOMMUNENUMMER_PATTERN",
    "OPTIONAL_AUTH_PROBLEMS",
    "REFERENCE_CACHE_CONTROL",
    "CursorQuery",
    "FylkeQuery",
    "FylkesnummerPath",
    "KommuneQuery",
    "KommunenummerPath",
    "LimitQuery",
]

# The problems of a route that needs a caller: no credentials, a bad token, a bad API key,
# both a token and a key.
AUTH_PROBLEMS = (
    UnauthorizedError,
    InvalidTokenError,
    InvalidApiKeyError,
    AmbiguousCredentialsError,
)
# A public route that reads the caller when there is one refuses credentials it cannot accept.
OPTIONAL_AUTH_PROBLEMS = (InvalidTokenError, InvalidApiKeyError, AmbiguousCredentialsError)

# --- paging ---------------------------------------------------------------------------------

LimitQuery = Annotated[int, Query(ge=1, le=100, description="Page size")]
CursorQuery = Annotated[
    str | None, Query(max_length=512, description="`next_cursor` of the previous page")
]

# --- geography ------------------------------------------------------------------------------

KommuneQuery = Annotated[
    str | None,
    Query(pattern=KOMMUNENUMMER_PATTERN, description="Kommunenummer", examples=["0301"]),
]
FylkeQuery = Annotated[
    str | None, Query(pattern=FYLKESNUMMER_PATTERN, description="Fylkesnummer", examples=["03"])
]
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

# Reference geography changes once in years; let clients and CDNs cache it for a day.
REFERENCE_CACHE_CONTROL = "public, max-age=86400"
