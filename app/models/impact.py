"""Versioned impact factors: what one reused item, one repair or one tonne is worth in kg of
waste diverted and kg CO2e avoided.

A **revision** is a complete, immutable factor set. ``python -m app.cli load-reference`` builds
the set from the shipped data (``data/reuse_factors.csv`` plus the method's constants) and adds
a new revision only when something changed; the trigger ``impact_factors_append_only`` refuses
to change or delete a factor, so a transaction's impact, stored with its revision number, can
always be traced to the exact factors it used.

Keys: ``displacement`` (share of a new purchase a reuse or repair displaces, Restart: 0.5),
``reuse_by_weight_co2e`` (kg CO2e per kg reused where only weight is known, WRAP: 0.51),
``item_weight:<category>`` (kg per item) and ``item_co2e:<category>`` (pre-use kg CO2e per
item), one pair per Restart category.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    Numeric,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class ImpactFactorRevision(Base):
    __tablename__ = "impact_factor_revisions"
    __table_args__ = (CheckConstraint("revision >= 1", name="revision_positive"),)

    revision: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # SHA-256 of the canonical factor list: a load with the same factors adds no revision.
    checksum: Mapped[str] = mapped_column(Text, unique=True)
    note: Mapped[str] = mapped_column(Text)


class ImpactFactor(Base):
    __tablename__ = "impact_factors"
    __table_args__ = (
        CheckConstraint("factor >= 0", name="factor_non_negative"),
        CheckConstraint("data_quality IN ('high', 'medium', 'low')", name="data_quality_known"),
    )

    revision: Mapped[int] = mapped_column(
        Integer,
        ForeignKey("impact_factor_revisions.revision", ondelete="RESTRICT"),
        primary_key=True,
    )
    key: Mapped[str] = mapped_column(Text, primary_key=True)
    factor: Mapped[Decimal] = mapped_column(Numeric(14, 6))
    unit: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)
    data_quality: Mapped[str] = mapped_column(Text)
