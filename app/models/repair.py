"""Repairs in the Open Repair Data Standard (ORDS v0.3), and the repair events (repair cafés)
where many of them happen.

A repair is logged by a repair shop or café (``source = 'logged'``), reported as the outcome of
a ``repair`` transaction (``'transaction'``), or imported from an ORDS CSV file
(``'imported'``). ``(data_provider, provider_record_id)`` is unique, so the same published
repair is never imported, or counted, twice. ``ords_seq`` is the stable number behind the id
the ORDS export gives each repair (``sirkel_<ords_seq>``).

**Invariants the database keeps** (migration 0007): the outcome and the barrier come from
the ORDS code lists, and a barrier is only given for "End of life"; the product category is
one of the 40 ORDS categories (foreign key); ages and years are plausible; an event ends after
it starts and counts no negative people.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal, get_args

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Identity,
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
from sqlalchemy.orm import Mapped, mapped_column

from app.geo import SRID
from app.models.base import Base, uuid_pk
from app.models.base import sql_in as _in

# The ORDS code lists, as types for request bodies and as tuples for the CHECK constraints.
RepairStatusCode = Literal["Fixed", "Repairable", "End of life", "Unknown"]
RepairBarrierCode = Literal[
    "Spare parts not available",
    "Spare parts too expensive",
    "No way to open product",
    "Repair information not available",
    "Lack of equipment",
    "Item too worn out",
]
REPAIR_STATUSES: tuple[str, ...] = get_args(RepairStatusCode)
REPAIR_BARRIERS: tuple[str, ...] = get_args(RepairBarrierCode)
REPAIR_SOURCES = ("logged", "transaction", "imported")
PROBLEM_MAX_LENGTH = 2000
# Imported ORDS records keep the partner's text: the standard sets no limit, real files have
# problem texts of several thousand characters. This is only a safety cap (a row error).
IMPORTED_PROBLEM_MAX_LENGTH = 20_000


class RepairEvent(Base):
    __tablename__ = "repair_events"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("char_length(title) BETWEEN 3 AND 120", name="title_length"),
        CheckConstraint("char_length(description) <= 5000", name="description_length"),
        CheckConstraint("participants IS NULL OR participants >= 0", name="participants_range"),
        CheckConstraint("volunteers IS NULL OR volunteers >= 0", name="volunteers_range"),
        Index("ix_repair_events_organization_id", "organization_id", "starts_at"),
        Index("ix_repair_events_starts_at", "starts_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    organization_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organizations.id", ondelete="RESTRICT")
    )
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, server_default="")
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    address: Mapped[str | None] = mapped_column(Text)
    geom: Mapped[Any] = mapped_column(
        Geometry("POINT", srid=SRID, spatial_index=False), nullable=True
    )
    kommunenummer: Mapped[str | None] = mapped_column(
        String(4), ForeignKey("kommuner.kommunenummer", ondelete="RESTRICT")
    )
    fylkesnummer: Mapped[str | None] = mapped_column(
        String(2), ForeignKey("fylker.fylkesnummer", ondelete="RESTRICT")
    )
    participants: Mapped[int | None] = mapped_column(Integer)
    volunteers: Mapped[int | None] = mapped_column(Integer)
    # The initiative (pilot, experiment, reuse station, repair-café series) this belongs to.
    initiative_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("initiatives.id", ondelete="RESTRICT"), index=True
    )
    created_by_person_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("persons.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Repair(Base):
    __tablename__ = "repairs"
    __table_args__ = (
        UniqueConstraint("data_provider", "provider_record_id", name="one_record_per_provider"),
        CheckConstraint(_in("source", REPAIR_SOURCES), name="source_known"),
        CheckConstraint(_in("repair_status", REPAIR_STATUSES), name="repair_status_known"),
        # Repairs logged in Sirkel name a barrier only at end of life; imported records keep
        # what the partner recorded (ORDS allows a barrier with any outcome).
        CheckConstraint(
            f"repair_barrier IS NULL OR ({_in('repair_barrier', REPAIR_BARRIERS)} "
            "AND (repair_status = 'End of life' OR source = 'imported'))",
            name="barrier_only_end_of_life",
        ),
        CheckConstraint("country ~ '^[A-Z]{3}$'", name="country_alpha3"),
        CheckConstraint(
            "year_of_manufacture IS NULL OR year_of_manufacture BETWEEN 1850 AND 2100",
            name="year_range",
        ),
        CheckConstraint(
            "product_age IS NULL OR (product_age >= 0 AND product_age <= 200)",
            name="age_range",
        ),
        CheckConstraint(
            f"char_length(problem) <= CASE WHEN source = 'imported' "
            f"THEN {IMPORTED_PROBLEM_MAX_LENGTH} ELSE {PROBLEM_MAX_LENGTH} END",
            name="problem_length",
        ),
        CheckConstraint(
            "char_length(data_provider) BETWEEN 1 AND 200", name="data_provider_length"
        ),
        CheckConstraint(
            "char_length(provider_record_id) BETWEEN 1 AND 200", name="record_id_length"
        ),
        CheckConstraint(
            "source <> 'transaction' OR transaction_id IS NOT NULL", name="transaction_link"
        ),
        CheckConstraint(
            "source = 'transaction' OR organization_id IS NOT NULL", name="logged_by_organization"
        ),
        CheckConstraint(
            "(kg_diverted IS NULL AND co2e_kg IS NULL) OR factor_revision IS NOT NULL",
            name="impact_names_revision",
        ),
        CheckConstraint(
            "source = 'imported' OR (withdrawn_at IS NULL AND release IS NULL)",
            name="release_only_imported",
        ),
        Index("ix_repairs_organization_id", "organization_id", "event_date"),
        # A release withdraws what an organization imported from a provider and no longer has.
        Index(
            "ix_repairs_imported_by_provider",
            "organization_id",
            "data_provider",
            postgresql_where=text("source = 'imported' AND withdrawn_at IS NULL"),
        ),
        Index("ix_repairs_updated_at", "updated_at", "ords_seq"),
        Index("ix_repairs_event_id", "event_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    ords_seq: Mapped[int] = mapped_column(BigInteger, Identity(), unique=True)
    # Who logged or imported it; NULL only for a repair reported by a person's repair service.
    organization_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("organizations.id", ondelete="RESTRICT")
    )
    source: Mapped[str] = mapped_column(Text)
    event_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("repair_events.id", ondelete="RESTRICT")
    )
    transaction_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("transactions.id", ondelete="RESTRICT"), unique=True
    )
    data_provider: Mapped[str] = mapped_column(Text)
    provider_record_id: Mapped[str] = mapped_column(Text)
    country: Mapped[str] = mapped_column(String(3), server_default="NOR")
    partner_product_category: Mapped[str] = mapped_column(Text)
    ords_category_id: Mapped[int] = mapped_column(
        SmallInteger, ForeignKey("ords_categories.id", ondelete="RESTRICT")
    )
    category_slug: Mapped[str | None] = mapped_column(
        Text, ForeignKey("categories.slug", ondelete="RESTRICT")
    )
    brand: Mapped[str | None] = mapped_column(Text)
    year_of_manufacture: Mapped[int | None] = mapped_column(SmallInteger)
    product_age: Mapped[Decimal | None] = mapped_column(Numeric(5, 1))
    repair_status: Mapped[str] = mapped_column(Text)
    repair_barrier: Mapped[str | None] = mapped_column(Text)
    group_identifier: Mapped[str | None] = mapped_column(Text)
    event_date: Mapped[date] = mapped_column(Date)
    problem: Mapped[str] = mapped_column(Text, server_default="")
    kommunenummer: Mapped[str | None] = mapped_column(
        String(4), ForeignKey("kommuner.kommunenummer", ondelete="RESTRICT")
    )
    fylkesnummer: Mapped[str | None] = mapped_column(
        String(2), ForeignKey("fylker.fylkesnummer", ondelete="RESTRICT")
    )
    factor_revision: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("impact_factor_revisions.revision", ondelete="RESTRICT")
    )
    kg_diverted: Mapped[Decimal | None] = mapped_column(Numeric(14, 3))
    co2e_kg: Mapped[Decimal | None] = mapped_column(Numeric(14, 3))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Imported records: the upload that last wrote it, the provider's release it is from, and
    # when a later release of the provider no longer had it (its evidence taken back).
    import_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("repair_imports.id", ondelete="SET NULL")
    )
    release: Mapped[str | None] = mapped_column(Text)
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
