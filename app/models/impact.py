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

import uuid
from datetime import date, datetime
from decimal import Decimal

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
    Text,
    Uuid,
)
from sqlalchemy.dialects.postgresql import ARRAY
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


# ---------------------------------------------------------------------------------------------
# Rollups of the evidence ledger (migration 0008). The trigger ``evidence_rollup`` adds every
# appended record to them in the same database transaction, so a total never disagrees with
# the ledger; ``app.repositories.impact.rollup.ImpactRollupRepository.rebuild`` (the database
# function ``sirkel_impact_rebuild``) recomputes them from
# ``impact_facts`` (the one place the grouping keys of a record are derived).
#
# Keys are text, never NULL: '' means "none" (a record with no kommune) and '*' means "rolled
# away at this level". Each level keeps a subset of the dimensions (``impact_levels``), so a
# query reads the smallest level that has every dimension it groups or filters by.
# ---------------------------------------------------------------------------------------------


class ImpactLevel(Base):
    __tablename__ = "impact_levels"

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    kommune: Mapped[bool] = mapped_column(Boolean)
    fylke: Mapped[bool] = mapped_column(Boolean)
    sector: Mapped[bool] = mapped_column(Boolean)
    category: Mapped[bool] = mapped_column(Boolean)
    initiative: Mapped[bool] = mapped_column(Boolean)


class _CellKey:
    """The finest cell an impact figure is counted in: indicator, month and the facets a
    query groups or filters by. Shared by ``impact_cells`` and ``impact_parties``."""

    subgoal: Mapped[str] = mapped_column(Text, primary_key=True)
    type: Mapped[str] = mapped_column(Text, primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    facet: Mapped[str] = mapped_column(Text, primary_key=True)
    unit: Mapped[str] = mapped_column(Text, primary_key=True)
    grade: Mapped[str] = mapped_column(Text, primary_key=True)
    fylkesnummer: Mapped[str] = mapped_column(Text, primary_key=True)
    kommunenummer: Mapped[str] = mapped_column(Text, primary_key=True)
    sector: Mapped[str] = mapped_column(Text, primary_key=True)
    category: Mapped[str] = mapped_column(Text, primary_key=True)
    initiative: Mapped[str] = mapped_column(Text, primary_key=True)


class ImpactCell(_CellKey, Base):
    __tablename__ = "impact_cells"
    __table_args__ = (
        CheckConstraint("cardinality(household_sample) = 3", name="sample_of_three"),
        CheckConstraint("households BETWEEN 0 AND 3", name="households_saturate"),
        Index("ix_impact_cells_kommune", "level", "kommunenummer", "subgoal", "type", "month"),
        Index("ix_impact_cells_fylke", "level", "fylkesnummer", "subgoal", "type", "month"),
    )

    level: Mapped[int] = mapped_column(
        SmallInteger, ForeignKey("impact_levels.level"), primary_key=True
    )
    records: Mapped[int] = mapped_column(BigInteger)
    quantity: Mapped[Decimal] = mapped_column(Numeric)
    unit_days: Mapped[Decimal] = mapped_column(Numeric)
    kg: Mapped[Decimal] = mapped_column(Numeric)
    co2e_kg: Mapped[Decimal] = mapped_column(Numeric)
    # The (up to) three smallest household pseudonyms counted in the cell, NULL-padded to three.
    # The union of the samples of any set of cells holds at least min(3, distinct households
    # of the set) distinct values: enough to decide the "fewer than 3 households" rule exactly.
    households: Mapped[int] = mapped_column(SmallInteger)
    household_sample: Mapped[list[str | None]] = mapped_column(ARRAY(Text))


class ImpactParty(_CellKey, Base):
    """Each party's net record count per finest cell and role: distinct borrowers, active
    organizations and businesses are counted from here, and the household samples refilled."""

    __tablename__ = "impact_parties"
    __table_args__ = (Index("ix_impact_parties_party", "party", "month"),)

    role: Mapped[str] = mapped_column(Text, primary_key=True)
    party: Mapped[str] = mapped_column(Text, primary_key=True)
    party_sector: Mapped[str] = mapped_column(Text)
    net: Mapped[int] = mapped_column(BigInteger)


class ImpactCollaboration(Base):
    """A pair of organizations from different sectors, counted in the month first seen working
    together: a completed transaction between them, or a shared initiative."""

    __tablename__ = "impact_collaborations"
    __table_args__ = (
        CheckConstraint("party_a < party_b", name="pair_ordered"),
        CheckConstraint("sector_a <> sector_b", name="across_sectors"),
        CheckConstraint("source IN ('transaction', 'initiative')", name="source_known"),
        Index("ix_impact_collaborations_month", "first_month"),
    )

    party_a: Mapped[str] = mapped_column(Text, primary_key=True)
    party_b: Mapped[str] = mapped_column(Text, primary_key=True)
    sector_a: Mapped[str] = mapped_column(Text)
    sector_b: Mapped[str] = mapped_column(Text)
    first_month: Mapped[date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(Text)
    fylkesnummer: Mapped[str] = mapped_column(Text)
    kommunenummer: Mapped[str] = mapped_column(Text)
    initiative: Mapped[str] = mapped_column(Text)


class OrganizationParty(Base):
    """An organization's ledger pseudonym, so active organizations can be counted by kind.
    Kept by the trigger ``organizations_party`` (organizations are not private)."""

    __tablename__ = "organization_parties"

    party: Mapped[str] = mapped_column(Text, primary_key=True)
    organization_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organizations.id", ondelete="CASCADE"), unique=True
    )
    kind: Mapped[str] = mapped_column(Text)
