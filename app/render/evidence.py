"""The evidence feed as JSON bytes, digit for digit as the chain hashed it.

Each record carries the fields the chain hashes under their canonical names
(``app.models.evidence.CANONICAL_FIELDS``) plus ``prev_hash`` and ``hash`` in lowercase hex.
Times are written as the canonical form writes them (UTC, six decimals, ``Z``) and quantities
as JSON numbers with exactly the three decimals stored (``orjson.Fragment``; Pydantic would
write a string or a float), so a verifier that parses them as decimals sees the very digits
that were hashed. The canonical form itself is the database's (``sirkel_evidence_canonical``).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson

from app.models import Evidence
from app.models.evidence import evidence_fields
from app.services.evidence import FeedPage


def utc_text(value: datetime) -> str:
    """A time as the canonical form writes it: ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` in UTC."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        # The stored digits, as a JSON number: 132.660, never 132.66 or "132.660".
        return orjson.Fragment(f"{value:.3f}".encode("ascii"))
    if isinstance(value, datetime):
        return utc_text(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def record_document(record: Evidence) -> dict[str, Any]:
    """One record as the feed shows it."""
    doc = {name: _json_value(value) for name, value in evidence_fields(record).items()}
    doc["prev_hash"] = record.prev_hash.hex()
    doc["hash"] = record.hash.hex()
    return doc


def feed_json(page: FeedPage) -> bytes:
    """The feed page (``app.schemas.evidence.EvidenceFeed``) as JSON bytes."""
    return orjson.dumps(
        {
            "records": [record_document(r) for r in page.records],
            "next_cursor": page.next_cursor,
            "head": None if page.head is None else {"seq": page.head.seq, "hash": page.head.hash},
        }
    )
