"""What the evidence feed and its verification look like to an analyst.

The feed itself is serialized by ``app.render.evidence`` (quantities must reach the client
as the exact JSON numbers the chain hashed, which Pydantic would turn into strings or floats);
these models document it in OpenAPI and give the verification its shape.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

HEX_HASH = r"^[0-9a-f]{64}$"

_HASH_A = "9c1185a5c5e9fc54612808977ee8f548b2258d31e0f6b3b9f7c5b1e48c3c1e2a"
_HASH_B = "4e07408562bedb8b60ce05c1decfe3ad16b72230967de01f640b7e4729b49fce"
_HASH_C = "d4735e3a265e16eee03f59718b9b5d03019c07d8b6c51f90da3a666eec13ab35"

RECORD_EXAMPLE: dict[str, Any] = {
    "v": 4,
    "seq": 41,
    "recorded_at": "2026-11-23T09:14:02.118204Z",
    "occurred_at": "2026-11-23T09:13:58.000000Z",
    "event": "confirmed",
    "grade": "confirmed",
    "type": "reuse",
    "subgoal": "SG1",
    "transaction_id": "0b9f3c7e-51d4-4f8e-9a55-2f1f7f3c9d10",
    "repair_id": None,
    "compensates": None,
    "provider_party": "p_5be0a1c6f3e94d1b8f2a7c0e4d9b6a31",
    "provider_sector": "households",
    "receiver_party": "o_0c7d2e9f4a1b3c5d6e7f8091a2b3c4d5",
    "receiver_sector": "civil_society",
    "kommunenummer": "0301",
    "fylkesnummer": "03",
    "category": "chairs",
    "ewc_code": None,
    "ords_category_id": None,
    "repair_status": None,
    "count": 1,
    "quantity": 2.0,
    "unit": "pcs",
    "days": None,
    "kg_diverted": 14.6,
    "co2e_kg": 33.212,
    "factor_revision": 1,
    "initiative": None,
    "matched": False,
    "country": "NOR",
    "prev_hash": _HASH_A,
    "hash": _HASH_B,
}

FEED_EXAMPLE: dict[str, Any] = {
    "records": [RECORD_EXAMPLE],
    "next_cursor": "eyJzZXEiOjQxfQ",
    "head": {"seq": 57, "hash": _HASH_C},
}


class EvidenceRecordRead(BaseModel):
    """One record of the ledger: every field the chain hashes, plus the two hashes."""

    model_config = ConfigDict(json_schema_extra={"example": RECORD_EXAMPLE})

    v: int = Field(
        description="Version of the canonical serialization: 1, 2 (adds `initiative`), 3 "
        "(adds `matched`) or 4 (adds `country`)"
    )
    seq: int = Field(description="Position in the chain: 1, 2, 3 … without gaps")
    recorded_at: datetime = Field(
        description="When the ledger stored the record (UTC, `YYYY-MM-DDTHH:MM:SS.ffffffZ`)"
    )
    occurred_at: datetime = Field(description="When the thing recorded happened (UTC, as above)")
    event: Literal[
        "completed",
        "confirmed",
        "disputed",
        "upheld",
        "corrected",
        "logged",
        "imported",
        "retagged",
        "restated",
        "withdrawn",
        "reinstated",
    ]
    grade: Literal["confirmed", "reported", "imported"] = Field(
        description="`confirmed` by both parties or a moderator, `reported` by one party, "
        "`imported` from another system's published data"
    )
    type: str = Field(description="Transaction type (`reuse`, `loan`, …) or `repair`")
    subgoal: str = Field(description="`SG1` reuse and repair, `SG2` sharing, `SG3` businesses")
    transaction_id: str | None = Field(description="The transaction counted (a uuid)")
    repair_id: str | None = Field(description="The repair counted (a uuid)")
    compensates: int | None = Field(description="The `seq` this record takes back, if any")
    provider_party: str = Field(description="Pseudonym of the provider (`p_…` or `o_…`)")
    provider_sector: str = Field(
        description="`households`, `business`, `civil_society` or `public_sector`"
    )
    receiver_party: str | None = Field(description="Pseudonym of the receiver")
    receiver_sector: str | None
    kommunenummer: str | None
    fylkesnummer: str | None
    category: str | None = Field(description="Category slug")
    ewc_code: str | None = Field(description="European List of Waste code (materials)")
    ords_category_id: int | None = Field(description="Open Repair Data Standard category")
    repair_status: str | None = Field(description="ORDS repair status (repairs)")
    count: Literal[-1, 0, 1] = Field(description="+1 counted, -1 taken back")
    quantity: float | None = Field(
        description="Signed, exactly three decimals as a JSON number (parse it as a decimal)"
    )
    unit: str | None
    days: float | None = Field(description="Days shared (loans, rentals, space), signed")
    kg_diverted: float | None = Field(description="Kilograms kept from waste, signed")
    co2e_kg: float | None = Field(description="Kilograms CO2e avoided, signed")
    factor_revision: int | None = Field(description="Impact factor revision used")
    initiative: str | None = Field(
        default=None,
        description="Version 2 and later: the initiative counted toward (a uuid, or null). "
        "A version-1 record has no such key, and its canonical form none either",
    )
    matched: bool | None = Field(
        default=None,
        description="Version 3 and later: the exchange started from a match (absent before)",
    )
    country: str | None = Field(
        default=None,
        pattern=r"^[A-Z]{3}$",
        description="Version 4 and later: where it happened (ISO 3166-1 alpha-3; imported "
        "records keep their partner's). Indicators count `NOR` only. Absent before: such "
        "records are Norway's unless their repair is another country's",
    )
    prev_hash: str = Field(pattern=HEX_HASH, description="`hash` of record `seq - 1`")
    hash: str = Field(
        pattern=HEX_HASH, description="SHA-256 of `prev_hash` and the canonical form (README)"
    )


class EvidenceHead(BaseModel):
    seq: int
    hash: str = Field(pattern=HEX_HASH)


class EvidenceFeed(BaseModel):
    """A page of the ledger in `seq` order."""

    model_config = ConfigDict(json_schema_extra={"example": FEED_EXAMPLE})

    records: list[EvidenceRecordRead]
    next_cursor: str | None = Field(
        description="Where to continue: after the last record of this page (or the `cursor` "
        "sent, when the page is empty). Null only when nothing was returned and no cursor was "
        "sent. A page shorter than `limit` means you are up to date; poll again later with it."
    )
    head: EvidenceHead | None = Field(
        description="The newest record when the page was read (null: the ledger is empty)"
    )


class EvidenceVerification(BaseModel):
    """The outcome of recomputing the whole chain."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "valid": True,
                "count": 57,
                "head_seq": 57,
                "head_hash": _HASH_C,
                "first_broken_seq": None,
                "reason": None,
                "checked_at": "2026-11-23T09:20:00.000000Z",
            }
        }
    )

    valid: bool = Field(description="Every record's number, link and hash are as the chain says")
    count: int = Field(description="Records in the ledger")
    head_seq: int | None
    head_hash: str | None = Field(pattern=HEX_HASH)
    first_broken_seq: int | None = Field(description="The first record that does not check out")
    reason: Literal["hash", "link", "sequence"] | None = Field(
        description="`hash`: the record's content does not match its hash (it was changed); "
        "`link`: its `prev_hash` is not the previous record's hash (the previous record was "
        "changed and rehashed, or replaced); `sequence`: its `seq` does not follow the "
        "previous one (a record is missing)"
    )
    checked_at: datetime
