"""Opaque keyset cursors.

A cursor is the sort key of the last row a client has seen, as base64url-encoded JSON. The
next page starts strictly after that key, so rows inserted meanwhile neither shift the page
nor appear twice. Clients must treat cursors as opaque strings.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

import orjson

from app.errors import InvalidCursorError

MAX_CURSOR_LENGTH = 512

T = TypeVar("T")


def encode_cursor(key: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(key)).rstrip(b"=").decode("ascii")


def next_cursor(rows: Sequence[T], limit: int, key: Callable[[T], dict[str, Any]]) -> str | None:
    """The cursor of the next page, or None on the last: ``rows`` were fetched as ``limit + 1``
    and ``key`` gives the sort key of the page's last row."""
    return encode_cursor(key(rows[limit - 1])) if len(rows) > limit else None


def invalid_cursor() -> InvalidCursorError:
    return InvalidCursorError.for_field(
        "The cursor is not one this endpoint issued; start again without a cursor.",
        location="query",
        field="cursor",
        message="Invalid cursor",
        type="invalid",
    )


def decode_cursor(cursor: str, *, required: tuple[str, ...]) -> dict[str, Any]:
    """Decode a cursor and check that it carries the keys the endpoint sorts by."""
    try:
        if len(cursor) > MAX_CURSOR_LENGTH:
            raise ValueError("too long")
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = orjson.loads(raw)
    except (ValueError, binascii.Error, orjson.JSONDecodeError):
        key = None
    if not isinstance(key, dict) or any(k not in key for k in required):
        raise invalid_cursor()
    return key


def decode_time_id_cursor(
    cursor: str, *, time: str, id: str, aware: bool = False
) -> tuple[datetime, uuid.UUID]:
    """The (time, id) sort key of a keyset cursor whose keys are ``time`` and ``id``; with
    ``aware`` the time must carry its offset."""
    key = decode_cursor(cursor, required=(time, id))
    try:
        at = datetime.fromisoformat(str(key[time]))
        if aware and at.tzinfo is None:
            raise ValueError("naive time")
        return at, uuid.UUID(str(key[id]))
    except (TypeError, ValueError):
        raise invalid_cursor() from None


def encode_seq_cursor(seq: int) -> str:
    """The cursor of a list ordered by a sequence number (messages, notifications, logs)."""
    return encode_cursor({"s": seq})


def decode_seq_cursor(cursor: str) -> int:
    """The sequence number a ``encode_seq_cursor`` cursor carries."""
    value = decode_cursor(cursor, required=("s",))["s"]
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise invalid_cursor()
    return value
