"""Initiatives: pilots, experiments, reuse stations and repair-café series.

An initiative has one owner organization, partner organizations, the kommuner it works in and
a period. Listings, transactions and repair events can carry one initiative
(``initiative_id``); a transaction takes its listing's initiative when it is created, and the
evidence record of a completion carries the transaction's (or the repair event's) initiative,
so impact can be grouped by initiative. Re-tagging a transaction that already has evidence
appends a compensating pair of records (``retagged``) rather than editing the ledger.

The database keeps the partner list honest: the owner is never its own partner
(``initiative_partners_not_owner``).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    String,
    Text,
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, uuid_pk


class InitiativeKind(StrEnum):
    PILOT = "pilot"
    EXPERIMENT = "experiment"
    REUSE_STATION = "reuse_station"
    REPAIR_CAFE_SERIES = "repair_cafe_series"


class Initiative(Base):
    __tablename__ = "initiatives"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('pilot', 'experiment', 'reuse_station', 'repair_cafe_series')",
            name="kind_known",
        ),
        CheckConstraint("char_length(name) BETWEEN 3 AND 160", name="name_length"),
        CheckConstraint("char_length(description) <= 5000", name="description_length"),
        CheckConstraint("ends_on IS NULL OR ends_on >= starts_on", name="ends_after_start"),
        Index("ix_initiatives_owner_organization_id", "owner_organization_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, server_default=text("''"))
    owner_organization_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organizations.id", ondelete="RESTRICT")
    )
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class InitiativePartner(Base):
    __tablename__ = "initiative_partners"
    __table_args__ = (Index("ix_initiative_partners_organization_id", "organization_id"),)

    initiative_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("initiatives.id", ondelete="CASCADE"), primary_key=True
    )
    organization_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organizations.id", ondelete="RESTRICT"), primary_key=True
    )
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class InitiativeKommune(Base):
    __tablename__ = "initiative_kommuner"

    initiative_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("initiatives.id", ondelete="CASCADE"), primary_key=True
    )
    kommunenummer: Mapped[str] = mapped_column(
        String(4), ForeignKey("kommuner.kommunenummer", ondelete="RESTRICT"), primary_key=True
    )
