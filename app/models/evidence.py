"""The evidence ledger: one append-only, hash-chained record per thing that happened.

Every completion, confirmation, dispute, resolution or correction of a transaction, and every
repair logged or imported, appends a record. Records are **signed deltas**: ``record_count``
is +1 when something is counted, -1 when a later record takes it back (a dispute, a void, the
"reported" half of a confirmation), and the quantities carry the same sign. So the sum over
any set of records is the current truth, corrections never edit the past, and a rollup is a
plain running sum.

**What the database guarantees** (migration 0007):

* ``evidence_append_only``: UPDATE, DELETE and TRUNCATE are refused;
* ``evidence_chain`` (BEFORE INSERT): under a transaction-level advisory lock it numbers the
  record (``seq`` = head + 1), links it to the head (``prev_hash``) and sets
  ``hash = sha256(prev_hash || canonical)``, where ``canonical`` is
  ``sirkel_evidence_canonical(record)``: a compact JSON object of the record's fields with
  sorted keys, numbers as decimal strings and times as UTC ``...Z`` strings. The lock is held
  until commit, so records commit in ``seq`` order — a reader paging by ``seq`` never skips one
  that commits late — and parallel completions still make a single chain;
* parties are pseudonyms (``sirkel_party``: SHA-256 of a database-only key and the id), so the
  ledger can count distinct households and organizations without naming anyone.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    SmallInteger,
    String,
    Text,
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class EvidenceEvent(StrEnum):
    COMPLETED = "completed"  # handed over / returned / repaired, reported by the provider
    CONFIRMED = "confirmed"  # the receiver confirmed: -1 reported, +1 confirmed
    DISPUTED = "disputed"  # the receiver disputed: the reported record is taken back
    UPHELD = "upheld"  # a moderator upheld a disputed transaction: counted again
    CORRECTED = "corrected"  # a moderator corrected the quantity: -old, +new
    LOGGED = "logged"  # a repair logged by a repair shop or café
    IMPORTED = "imported"  # a repair imported from an ORDS file
    RETAGGED = "retagged"  # moved to another initiative: -1 under the old, +1 under the new
    # An imported record as its provider's next release has it (issue #16):
    RESTATED = "restated"  # the release changed what counts: -old, +new
    WITHDRAWN = "withdrawn"  # the release no longer has it: taken back
    REINSTATED = "reinstated"  # a withdrawn record is in a release again: counted again


class EvidenceGrade(StrEnum):
    CONFIRMED = "confirmed"  # confirmed by both parties (or upheld by a moderator)
    REPORTED = "reported"  # reported by one party
    IMPORTED = "imported"  # from another system's published data


CANONICAL_VERSION = 4
GENESIS_HASH = bytes(32)


class Evidence(Base):
    __tablename__ = "evidence"
    __table_args__ = (
        CheckConstraint("record_count IN (-1, 0, 1)", name="record_count_unit"),
        CheckConstraint("num_nonnulls(transaction_id, repair_id) >= 1", name="has_subject"),
        CheckConstraint("(quantity IS NULL) = (unit IS NULL)", name="quantity_has_unit"),
        CheckConstraint("octet_length(hash) = 32", name="hash_length"),
        CheckConstraint("canonical_version IN (1, 2, 3, 4)", name="canonical_version_known"),
        CheckConstraint(
            "canonical_version >= 2 OR initiative_id IS NULL", name="initiative_needs_v2"
        ),
        CheckConstraint("canonical_version >= 3 OR NOT matched", name="matched_needs_v3"),
        CheckConstraint("country ~ '^[A-Z]{3}$'", name="country_alpha3"),
        CheckConstraint("canonical_version >= 4 OR country = 'NOR'", name="country_needs_v4"),
        CheckConstraint("octet_length(prev_hash) = 32", name="prev_hash_length"),
        Index("ix_evidence_recorded_at", "recorded_at"),
        # The share of lendable items used reads loans by time (migration 0008).
        Index("ix_evidence_type_occurred_at", "type", "occurred_at"),
        Index("ix_evidence_transaction_id", "transaction_id"),
        Index("ix_evidence_repair_id", "repair_id"),
        # A record is taken back at most once; "is it counted" asks this index.
        Index(
            "uq_evidence_compensates",
            "compensates",
            unique=True,
            postgresql_where=text("compensates IS NOT NULL"),
        ),
        # sg3.matches.converted reads the matched records (few) straight from the ledger.
        Index("ix_evidence_matched", "occurred_at", postgresql_where=text("matched")),
    )

    # Assigned by the trigger evidence_chain; whatever the application sends is replaced.
    seq: Mapped[int] = mapped_column(
        BigInteger, primary_key=True, autoincrement=False, server_default=text("0")
    )
    canonical_version: Mapped[int] = mapped_column(SmallInteger, server_default=text("4"))
    recorded_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("clock_timestamp()")
    )
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    event: Mapped[str] = mapped_column(Text)
    grade: Mapped[str] = mapped_column(Text)
    type: Mapped[str] = mapped_column(Text)
    subgoal: Mapped[str] = mapped_column(Text)
    transaction_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("transactions.id", ondelete="RESTRICT")
    )
    repair_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("repairs.id", ondelete="RESTRICT")
    )
    compensates: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("evidence.seq", ondelete="RESTRICT")
    )
    provider_party: Mapped[str] = mapped_column(Text)
    provider_sector: Mapped[str] = mapped_column(Text)
    receiver_party: Mapped[str | None] = mapped_column(Text)
    receiver_sector: Mapped[str | None] = mapped_column(Text)
    kommunenummer: Mapped[str | None] = mapped_column(String(4))
    fylkesnummer: Mapped[str | None] = mapped_column(String(2))
    category_slug: Mapped[str | None] = mapped_column(Text)
    ewc_code: Mapped[str | None] = mapped_column(Text)
    ords_category_id: Mapped[int | None] = mapped_column(SmallInteger)
    repair_status: Mapped[str | None] = mapped_column(Text)
    record_count: Mapped[int] = mapped_column(SmallInteger)
    quantity: Mapped[Decimal | None] = mapped_column(Numeric(16, 3))
    unit: Mapped[str | None] = mapped_column(Text)
    days: Mapped[Decimal | None] = mapped_column(Numeric(12, 3))
    kg_diverted: Mapped[Decimal | None] = mapped_column(Numeric(14, 3))
    co2e_kg: Mapped[Decimal | None] = mapped_column(Numeric(14, 3))
    factor_revision: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("impact_factor_revisions.revision", ondelete="RESTRICT")
    )
    # Canonical version 2 and later: the initiative the record counts toward.
    initiative_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("initiatives.id", ondelete="RESTRICT")
    )
    # Canonical version 3 and later: the exchange started from a match (migration 0025).
    matched: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    # Where it happened (ISO 3166-1 alpha-3): imported ORDS records keep their partner's
    # country; national indicators count NOR only (the view impact_facts). Hashed from
    # canonical version 4; older records are Norwegian unless their repair says otherwise
    # (sirkel_evidence_country).
    country: Mapped[str] = mapped_column(String(3), server_default=text("'NOR'"))
    prev_hash: Mapped[bytes] = mapped_column(LargeBinary, server_default=text("'\\x'::bytea"))
    hash: Mapped[bytes] = mapped_column(LargeBinary, server_default=text("'\\x'::bytea"))


# Fields of the canonical serialization, in the JSON names a verifier sees in the feed.
CANONICAL_FIELDS: tuple[str, ...] = (
    "v",
    "seq",
    "recorded_at",
    "occurred_at",
    "event",
    "grade",
    "type",
    "subgoal",
    "transaction_id",
    "repair_id",
    "compensates",
    "provider_party",
    "provider_sector",
    "receiver_party",
    "receiver_sector",
    "kommunenummer",
    "fylkesnummer",
    "category",
    "ewc_code",
    "ords_category_id",
    "repair_status",
    "count",
    "quantity",
    "unit",
    "days",
    "kg_diverted",
    "co2e_kg",
    "factor_revision",
    "initiative",  # version 2 and later only
    "matched",  # version 3 and later only
    "country",  # version 4 and later only
)


def evidence_fields(record: Any) -> dict[str, Any]:
    """The record's fields under their canonical names (used by the feed and its tests).
    A version-1 record has no ``initiative`` key: its hash was computed without one."""
    fields = {
        "v": record.canonical_version,
        "seq": record.seq,
        "recorded_at": record.recorded_at,
        "occurred_at": record.occurred_at,
        "event": record.event,
        "grade": record.grade,
        "type": record.type,
        "subgoal": record.subgoal,
        "transaction_id": record.transaction_id,
        "repair_id": record.repair_id,
        "compensates": record.compensates,
        "provider_party": record.provider_party,
        "provider_sector": record.provider_sector,
        "receiver_party": record.receiver_party,
        "receiver_sector": record.receiver_sector,
        "kommunenummer": record.kommunenummer,
        "fylkesnummer": record.fylkesnummer,
        "category": record.category_slug,
        "ewc_code": record.ewc_code,
        "ords_category_id": record.ords_category_id,
        "repair_status": record.repair_status,
        "count": record.record_count,
        "quantity": record.quantity,
        "unit": record.unit,
        "days": record.days,
        "kg_diverted": record.kg_diverted,
        "co2e_kg": record.co2e_kg,
        "factor_revision": record.factor_revision,
    }
    if record.canonical_version >= 2:
        fields["initiative"] = record.initiative_id
    if record.canonical_version >= 3:
        fields["matched"] = record.matched
    if record.canonical_version >= 4:
        fields["country"] = record.country
    return fields
