"""ORDS imports as jobs (``app.services.repair_import``).

``repair_imports`` is one upload: the file itself (a PostgreSQL large object, written in
chunks as it arrives and unlinked when the job ends), how to apply it (``append`` or
``release``), and where the worker is. ``repair_import_rows`` holds the file's rows once they
are all valid (the staging table), with the impact each will count; the worker applies them in
short batches and deletes the staging rows with the job's end.

The life of a job is guarded here: ``queued`` → ``validating`` → ``writing`` → ``done``, or
``failed`` from any of the first three; a finished job has ``finished_at`` and no file; a
failed one says why (``failure``) or names the rows (``error_count``); counts never go below
zero; one organization has at most one unfinished import (releases apply in order).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, OID
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, uuid_pk
from app.models.base import sql_in as _in

IMPORT_MODES = ("append", "release")
IMPORT_STATES = ("queued", "validating", "writing", "done", "failed")
UNFINISHED = ("queued", "validating", "writing")
_UNFINISHED_SQL = "state IN ('queued', 'validating', 'writing')"
_COUNTS = (
    "rows_total",
    "rows_written",
    "inserted",
    "restated",
    "updated",
    "reinstated",
    "unchanged",
    "withdrawn",
    "skipped",
    "error_count",
)


class RepairImport(Base):
    __tablename__ = "repair_imports"
    __table_args__ = (
        CheckConstraint(_in("mode", IMPORT_MODES), name="mode_known"),
        CheckConstraint(_in("state", IMPORT_STATES), name="state_known"),
        CheckConstraint(
            "release IS NULL OR char_length(release) BETWEEN 1 AND 100", name="release_length"
        ),
        CheckConstraint(
            "(state IN ('done', 'failed')) = (finished_at IS NOT NULL)", name="finished_when_ended"
        ),
        CheckConstraint(
            "state NOT IN ('done', 'failed') OR file IS NULL", name="file_gone_when_ended"
        ),
        CheckConstraint(
            "state <> 'failed' OR failure IS NOT NULL OR error_count > 0", name="failure_says_why"
        ),
        CheckConstraint("state <> 'done' OR error_count = 0", name="done_without_errors"),
        CheckConstraint(" AND ".join(f"{c} >= 0" for c in _COUNTS), name="counts_not_negative"),
        CheckConstraint("file_bytes >= 0", name="file_bytes_not_negative"),
        # Releases apply in order: one unfinished import per organization.
        Index(
            "uq_repair_imports_one_unfinished",
            "organization_id",
            unique=True,
            postgresql_where=text(_UNFINISHED_SQL),
        ),
        # The worker's queue: the oldest unfinished first.
        Index(
            "ix_repair_imports_unfinished",
            "created_at",
            postgresql_where=text(_UNFINISHED_SQL),
        ),
        Index("ix_repair_imports_organization_id", "organization_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    organization_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organizations.id", ondelete="CASCADE")
    )
    requested_by: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("persons.id", ondelete="SET NULL")
    )
    mode: Mapped[str] = mapped_column(Text)
    release: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(Text, server_default="queued")
    # The uploaded file (gzip as sent, or CSV), a large object until the job ends.
    file: Mapped[int | None] = mapped_column(OID)
    file_bytes: Mapped[int] = mapped_column(BigInteger)
    gzip: Mapped[bool] = mapped_column(Boolean)
    rows_total: Mapped[int] = mapped_column(Integer, server_default="0")
    rows_written: Mapped[int] = mapped_column(Integer, server_default="0")
    inserted: Mapped[int] = mapped_column(Integer, server_default="0")
    restated: Mapped[int] = mapped_column(Integer, server_default="0")
    # Changed only in what does not count (the problem text, the brand …): no evidence.
    updated: Mapped[int] = mapped_column(Integer, server_default="0")
    reinstated: Mapped[int] = mapped_column(Integer, server_default="0")
    unchanged: Mapped[int] = mapped_column(Integer, server_default="0")
    withdrawn: Mapped[int] = mapped_column(Integer, server_default="0")
    # Records another organization imported (a provider's id is one record, whoever holds it).
    skipped: Mapped[int] = mapped_column(Integer, server_default="0")
    error_count: Mapped[int] = mapped_column(Integer, server_default="0")
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    failure: Mapped[str | None] = mapped_column(Text)
    # The staging rows up to this line are applied (the worker resumes after it).
    applied_through: Mapped[int] = mapped_column(Integer, server_default="0")
    attempts: Mapped[int] = mapped_column(SmallInteger, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RepairImportRow(Base):
    """One valid row of an import's file, with the impact it counts (the staging table)."""

    __tablename__ = "repair_import_rows"
    __table_args__ = (
        UniqueConstraint(
            "import_id", "data_provider", "provider_record_id", name="one_row_per_record"
        ),
    )

    import_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("repair_imports.id", ondelete="CASCADE"), primary_key=True
    )
    line: Mapped[int] = mapped_column(Integer, primary_key=True)
    data_provider: Mapped[str] = mapped_column(Text)
    provider_record_id: Mapped[str] = mapped_column(Text)
    country: Mapped[str] = mapped_column(String(3))
    partner_product_category: Mapped[str] = mapped_column(Text)
    ords_category_id: Mapped[int] = mapped_column(SmallInteger)
    category_slug: Mapped[str | None] = mapped_column(Text)
    brand: Mapped[str | None] = mapped_column(Text)
    year_of_manufacture: Mapped[int | None] = mapped_column(SmallInteger)
    product_age: Mapped[Decimal | None] = mapped_column(Numeric(5, 1))
    repair_status: Mapped[str] = mapped_column(Text)
    repair_barrier: Mapped[str | None] = mapped_column(Text)
    group_identifier: Mapped[str | None] = mapped_column(Text)
    event_date: Mapped[date] = mapped_column(Date)
    problem: Mapped[str] = mapped_column(Text)
    factor_revision: Mapped[int | None] = mapped_column(Integer)
    kg_diverted: Mapped[Decimal | None] = mapped_column(Numeric(14, 3))
    co2e_kg: Mapped[Decimal | None] = mapped_column(Numeric(14, 3))
