"""Every SQL statement about repair events and repairs.

**Imports are set-based.** ``insert_imported`` writes a whole ORDS file in one statement: the
records travel as one array per column, ``unnest`` turns them back into rows, and ``ON
CONFLICT (data_provider, provider_record_id) DO NOTHING`` skips every record already stored.
Two uploads of the same file at the same time cannot both store a record: the second waits on
the first's uncommitted row and then skips it. Rows are inserted in (provider, record id)
order, so two overlapping uploads take their row locks in the same order and cannot deadlock.

**The ORDS export** pages by ``ords_seq`` (unique, never reused), so a page boundary can never
skip or repeat a repair whatever is written meanwhile.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Date,
    Integer,
    Numeric,
    RowMapping,
    SmallInteger,
    Text,
    func,
    select,
    tuple_,
)
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import TypeEngine

from app.geo import SRID
from app.models import Category, Kommune, Repair, RepairEvent
from app.repositories.sql import fresh_row

# ORDS 18 "Misc" is the standard's catch-all. Our only category mapped to it is e-bikes (ORDS
# has no bicycle category), and a Misc repair from another provider is not an e-bike, so no
# category of ours stands for Misc in imports.
ORDS_MISC_ID = 18


@dataclass(frozen=True, slots=True)
class CategoryOrds:
    """A category's English name and the ORDS product category of it or its nearest
    ancestor that has one."""

    slug: str
    name_en: str
    ords_category_id: int | None


@dataclass(frozen=True, slots=True)
class ImportRow:
    """One ORDS record as the repairs table stores it."""

    data_provider: str
    provider_record_id: str
    country: str
    partner_product_category: str
    ords_category_id: int
    category_slug: str | None
    brand: str | None
    year_of_manufacture: int | None
    product_age: Decimal | None
    repair_status: str
    repair_barrier: str | None
    group_identifier: str | None
    event_date: date
    problem: str
    factor_revision: int | None
    kg_diverted: Decimal | None
    co2e_kg: Decimal | None


# (column, element type, its SQL name) in the order of the unnest below; each column travels
# as one array.
_IMPORT_COLUMNS: tuple[tuple[str, type[TypeEngine[Any]], str], ...] = (
    ("data_provider", Text, "text"),
    ("provider_record_id", Text, "text"),
    ("country", Text, "text"),
    ("partner_product_category", Text, "text"),
    ("ords_category_id", SmallInteger, "smallint"),
    ("category_slug", Text, "text"),
    ("brand", Text, "text"),
    ("year_of_manufacture", SmallInteger, "smallint"),
    ("product_age", Numeric, "numeric"),
    ("repair_status", Text, "text"),
    ("repair_barrier", Text, "text"),
    ("group_identifier", Text, "text"),
    ("event_date", Date, "date"),
    ("problem", Text, "text"),
    ("factor_revision", Integer, "integer"),
    ("kg_diverted", Numeric, "numeric"),
    ("co2e_kg", Numeric, "numeric"),
)
_COLUMN_NAMES = ", ".join(name for name, _, _ in _IMPORT_COLUMNS)
_ARRAYS = ", ".join(f"CAST(:{name} AS {sql_name}[])" for name, _, sql_name in _IMPORT_COLUMNS)


class RepairRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def flush(self) -> None:
        await self.session.flush()

    # --- reference data ---------------------------------------------------------------

    async def category_ords(self, slug: str) -> CategoryOrds | None:
        own_path = select(Category.path).where(Category.slug == slug).scalar_subquery()
        ords_id = (
            select(Category.ords_category_id)
            .where(Category.path.contained_by(own_path), Category.ords_category_id.is_not(None))
            .order_by(func.cardinality(Category.path).desc())
            .limit(1)
            .scalar_subquery()
        )
        stmt = select(Category.slug, Category.name_en, ords_id.label("ords")).where(
            Category.slug == slug
        )
        row = (await self.session.execute(stmt)).one_or_none()
        if row is None:
            return None
        return CategoryOrds(slug=row.slug, name_en=row.name_en, ords_category_id=row.ords)

    async def category_for_ords(self) -> dict[int, str]:
        """For each ORDS product category, the category of ours that stands for it in
        imports: of the categories mapped to it, the one closest to the root (then by
        ``sort_order`` and slug). Every such category has a reuse factor (a database
        constraint), so a Fixed repair of it counts kg and CO2e. Misc has none."""
        stmt = (
            select(Category.ords_category_id, Category.slug)
            .where(
                Category.ords_category_id.is_not(None),
                Category.ords_category_id != ORDS_MISC_ID,
            )
            .order_by(
                Category.ords_category_id,
                func.cardinality(Category.path),
                Category.sort_order,
                Category.slug,
            )
            .ext(distinct_on(Category.ords_category_id))
        )
        rows = (await self.session.execute(stmt)).all()
        return {ords: slug for ords, slug in rows if ords is not None}

    async def fylke_of(self, kommunenummer: str) -> str | None:
        stmt = select(Kommune.fylkesnummer).where(Kommune.kommunenummer == kommunenummer)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    # --- repair events ----------------------------------------------------------------

    async def add_event(self, event: RepairEvent) -> RepairEvent:
        self.session.add(event)
        await self.session.flush()
        return event

    async def get_event(
        self, event_id: uuid.UUID, *, for_update: bool = False
    ) -> RepairEvent | None:
        return await fresh_row(self.session, RepairEvent, event_id, for_update=for_update)

    async def event_point(self, event_id: uuid.UUID) -> tuple[float, float] | None:
        """The event's point as (lon, lat), if it has one."""
        stmt = select(func.ST_X(RepairEvent.geom), func.ST_Y(RepairEvent.geom)).where(
            RepairEvent.id == event_id, RepairEvent.geom.is_not(None)
        )
        row = (await self.session.execute(stmt)).one_or_none()
        return (float(row[0]), float(row[1])) if row is not None else None

    async def list_events(
        self,
        *,
        organization_id: uuid.UUID | None,
        kommunenummer: str | None,
        starts_from: datetime | None,
        starts_to: datetime | None,
        after: tuple[datetime, uuid.UUID] | None,
        limit: int,
        bbox: tuple[float, float, float, float] | None = None,
    ) -> list[tuple[RepairEvent, float | None, float | None]]:
        """Events by start time (then id), with their points as (lon, lat); with ``bbox``
        only events with a point in it."""
        stmt = (
            select(RepairEvent, func.ST_X(RepairEvent.geom), func.ST_Y(RepairEvent.geom))
            .order_by(RepairEvent.starts_at, RepairEvent.id)
            .limit(limit)
        )
        if organization_id is not None:
            stmt = stmt.where(RepairEvent.organization_id == organization_id)
        if kommunenummer is not None:
            stmt = stmt.where(RepairEvent.kommunenummer == kommunenummer)
        if starts_from is not None:
            stmt = stmt.where(RepairEvent.starts_at >= starts_from)
        if starts_to is not None:
            stmt = stmt.where(RepairEvent.starts_at < starts_to)
        if after is not None:
            stmt = stmt.where(tuple_(RepairEvent.starts_at, RepairEvent.id) > tuple_(*after))
        if bbox is not None:
            envelope = func.ST_MakeEnvelope(*bbox, SRID)
            stmt = stmt.where(func.ST_Intersects(RepairEvent.geom, envelope))
        rows = (await self.session.execute(stmt)).all()
        return [
            (event, None if lon is None else float(lon), None if lat is None else float(lat))
            for event, lon, lat in rows
        ]

    # --- repairs ----------------------------------------------------------------------

    async def add(self, repair: Repair) -> Repair:
        self.session.add(repair)
        await self.session.flush()
        await self.session.refresh(repair, ["ords_seq"])
        return repair

    async def get(self, repair_id: uuid.UUID, *, for_update: bool = False) -> Repair | None:
        return await fresh_row(self.session, Repair, repair_id, for_update=for_update)

    async def list_for_organization(
        self,
        *,
        organization_id: uuid.UUID,
        event_id: uuid.UUID | None,
        status: str | None,
        after: tuple[date, int] | None,
        limit: int,
    ) -> list[Repair]:
        """The organization's repairs, the latest day first (then the latest logged)."""
        stmt = (
            select(Repair)
            .where(Repair.organization_id == organization_id)
            .order_by(Repair.event_date.desc(), Repair.ords_seq.desc())
            .limit(limit)
        )
        if event_id is not None:
            stmt = stmt.where(Repair.event_id == event_id)
        if status is not None:
            stmt = stmt.where(Repair.repair_status == status)
        if after is not None:
            stmt = stmt.where(tuple_(Repair.event_date, Repair.ords_seq) < tuple_(*after))
        return list((await self.session.execute(stmt)).scalars())

    # --- the ORDS export --------------------------------------------------------------

    async def export_page(
        self, *, after_seq: int, updated_since: datetime | None, limit: int
    ) -> list[RowMapping]:
        stmt = (
            select(
                Repair.ords_seq,
                Repair.data_provider,
                Repair.country,
                Repair.partner_product_category,
                Repair.ords_category_id,
                Repair.brand,
                Repair.year_of_manufacture,
                Repair.product_age,
                Repair.repair_status,
                Repair.repair_barrier,
                Repair.group_identifier,
                Repair.event_date,
                Repair.problem,
            )
            # A record its provider's later release withdrew is no longer its data.
            .where(Repair.ords_seq > after_seq, Repair.withdrawn_at.is_(None))
            .order_by(Repair.ords_seq)
            .limit(limit)
        )
        if updated_since is not None:
            stmt = stmt.where(Repair.updated_at >= updated_since)
        return list((await self.session.execute(stmt)).mappings())
