"""The mission's targets (måltall): for one indicator and scope, a value to reach by a year
up to 2035, from a baseline year, along a path (``app.services.impact.targets``).

**Invariants the database keeps** (migration 0022):

* a target is a series of versions (``target_id``, ``version`` 1, 2, 3 …): a change inserts
  the next version, and no version is ever changed or deleted (trigger
  ``impact_targets_immutable``); the next version is exactly one more than the last, so two
  parallel changes cannot both land (``uq_impact_targets_version`` and the trigger
  ``impact_targets_next_version``);
* a target year after its baseline year and at most 2035; exactly one of an absolute value
  and a relative change; a scope of Norway has no code, a fylke two digits, a kommune four.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Numeric,
    SmallInteger,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, sql_in, uuid_pk

MISSION_YEAR = 2035


class TargetScope(StrEnum):
    NORWAY = "norway"
    FYLKE = "fylke"
    KOMMUNE = "kommune"


class TargetPath(StrEnum):
    LINEAR = "linear"
    ANNUAL_GROWTH = "annual_growth"


class TargetStatus(StrEnum):
    PROPOSED = "proposed"
    RECOMMENDED = "recommended"
    ADOPTED = "adopted"
    WITHDRAWN = "withdrawn"


class ImpactTarget(Base):
    __tablename__ = "impact_targets"
    __table_args__ = (
        UniqueConstraint("target_id", "version", name="uq_impact_targets_version"),
        CheckConstraint("version >= 1", name="version_positive"),
        CheckConstraint(sql_in("scope", TargetScope), name="scope_known"),
        CheckConstraint(
            "(scope = 'norway' AND scope_code IS NULL) "
            "OR (scope = 'fylke' AND scope_code ~ '^[0-9]{2}$') "
            "OR (scope = 'kommune' AND scope_code ~ '^[0-9]{4}$')",
            name="scope_code_fits",
        ),
        CheckConstraint(
            f"baseline_year >= 2000 AND target_year > baseline_year "
            f"AND target_year <= {MISSION_YEAR}",
            name="years",
        ),
        CheckConstraint(
            "num_nonnulls(target_value, target_change_pct) = 1", name="one_kind_of_target"
        ),
        CheckConstraint("target_change_pct > -100", name="change_above_minus_100"),
        CheckConstraint(sql_in("path", TargetPath), name="path_known"),
        CheckConstraint(sql_in("status", TargetStatus), name="status_known"),
        CheckConstraint(
            "char_length(indicator) <= 100 AND char_length(coalesce(note, '')) <= 2000 "
            "AND char_length(coalesce(decided_by, '')) <= 200 "
            "AND char_length(coalesce(reference_title, '')) <= 300 "
            "AND char_length(coalesce(reference_url, '')) <= 2000",
            name="text_lengths",
        ),
        Index("ix_impact_targets_indicator", "indicator", "scope", "scope_code"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    target_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    version: Mapped[int] = mapped_column(SmallInteger)
    indicator: Mapped[str] = mapped_column(Text)
    scope: Mapped[str] = mapped_column(Text)
    scope_code: Mapped[str | None] = mapped_column(Text)
    initiative_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("initiatives.id", ondelete="RESTRICT")
    )
    baseline_year: Mapped[int] = mapped_column(SmallInteger)
    target_year: Mapped[int] = mapped_column(SmallInteger)
    target_value: Mapped[Decimal | None] = mapped_column(Numeric(20, 4))
    target_change_pct: Mapped[Decimal | None] = mapped_column(Numeric(9, 3))
    path: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(Text)
    reference_title: Mapped[str | None] = mapped_column(Text)
    reference_url: Mapped[str | None] = mapped_column(Text)
    reference_date: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("persons.id", ondelete="RESTRICT")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
