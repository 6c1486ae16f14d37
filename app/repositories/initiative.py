"""Every SQL statement about initiatives, their partners and kommuner, and what is tagged with
them.

**Partners.** The trigger ``initiative_partners_collaborate`` refuses an initiative's owner as
its own partner (``initiative_partners_not_owner``); ``add_partner`` turns that refusal into
``OwnerAsPartnerError``. Adding a partner twice changes nothing (``ON CONFLICT DO NOTHING``,
so the trigger, which records the cross-sector pairs, runs once per partner).

**Tagging.** The rows tagged are locked (``FOR UPDATE``) and re-read before their current
initiative decides anything, so two requests tagging the same listing, transaction or repair
event with different initiatives cannot both win.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import delete, exists, func, insert, or_, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from app.errors import OwnerAsPartnerError
from app.geo import SRID
from app.models import (
    Evidence,
    Initiative,
    InitiativeKommune,
    InitiativePartner,
    Kommune,
    Listing,
    Organization,
    Repair,
    RepairEvent,
    Transaction,
)
from app.repositories.db_errors import constraint_name
from app.repositories.sql import fresh_row

OWNER_NOT_PARTNER = "initiative_partners_not_owner"


@dataclass(frozen=True, slots=True)
class OrganizationRow:
    id: uuid.UUID
    name: str
    sector: str


@dataclass(frozen=True, slots=True)
class PartnerRow:
    id: uuid.UUID
    name: str
    sector: str
    added_at: datetime


@dataclass(frozen=True, slots=True)
class Counts:
    listings: int = 0
    transactions: int = 0
    repair_events: int = 0


@dataclass(frozen=True, slots=True)
class InitiativeFilters:
    kommunenummer: str | None = None
    organization_id: uuid.UUID | None = None
    kind: str | None = None
    active_on: date | None = None
    # Active some day in [active_from, active_before): an OGC datetime interval.
    active_from: date | None = None
    active_before: date | None = None
    # Working in a kommune that meets this box (west, south, east, north).
    bbox: tuple[float, float, float, float] | None = None


class InitiativeRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def flush(self) -> None:
        await self.session.flush()

    # --- initiatives --------------------------------------------------------------------

    async def add(self, initiative: Initiative) -> Initiative:
        self.session.add(initiative)
        await self.session.flush()
        return initiative

    async def get(self, initiative_id: uuid.UUID, *, for_update: bool = False) -> Initiative | None:
        return await fresh_row(self.session, Initiative, initiative_id, for_update=for_update)

    async def find(
        self,
        filters: InitiativeFilters,
        *,
        after: tuple[date, uuid.UUID] | None,
        limit: int,
    ) -> list[Initiative]:
        """Initiatives by start, the latest first (then by id)."""
        stmt = (
            select(Initiative)
            .order_by(Initiative.starts_on.desc(), Initiative.id.desc())
            .limit(limit)
        )
        if filters.kind is not None:
            stmt = stmt.where(Initiative.kind == filters.kind)
        if filters.kommunenummer is not None:
            stmt = stmt.where(
                exists().where(
                    InitiativeKommune.initiative_id == Initiative.id,
                    InitiativeKommune.kommunenummer == filters.kommunenummer,
                )
            )
        if filters.organization_id is not None:
            stmt = stmt.where(
                or_(
                    Initiative.owner_organization_id == filters.organization_id,
                    exists().where(
                        InitiativePartner.initiative_id == Initiative.id,
                        InitiativePartner.organization_id == filters.organization_id,
                    ),
                )
            )
        if filters.active_on is not None:
            stmt = stmt.where(
                Initiative.starts_on <= filters.active_on,
                or_(Initiative.ends_on.is_(None), Initiative.ends_on >= filters.active_on),
            )
        if filters.active_from is not None:
            stmt = stmt.where(
                or_(Initiative.ends_on.is_(None), Initiative.ends_on >= filters.active_from)
            )
        if filters.active_before is not None:
            stmt = stmt.where(Initiative.starts_on < filters.active_before)
        if filters.bbox is not None:
            stmt = stmt.where(
                exists().where(
                    InitiativeKommune.initiative_id == Initiative.id,
                    InitiativeKommune.kommunenummer == Kommune.kommunenummer,
                    func.ST_Intersects(Kommune.geom, func.ST_MakeEnvelope(*filters.bbox, SRID)),
                )
            )
        if after is not None:
            stmt = stmt.where(tuple_(Initiative.starts_on, Initiative.id) < tuple_(*after))
        return list((await self.session.execute(stmt)).scalars())

    async def areas(self, initiative_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
        """Each initiative's kommuner as one GeoJSON geometry (their union, 5 decimals,
        simplified to about 100 m): the shape of an OGC feature."""
        stmt = (
            select(
                InitiativeKommune.initiative_id,
                func.ST_AsGeoJSON(
                    func.ST_SimplifyPreserveTopology(func.ST_Union(Kommune.geom), 0.001), 5
                ),
            )
            .join(Kommune, Kommune.kommunenummer == InitiativeKommune.kommunenummer)
            .where(InitiativeKommune.initiative_id.in_(initiative_ids))
            .group_by(InitiativeKommune.initiative_id)
        )
        return {row[0]: row[1] for row in (await self.session.execute(stmt)).all()}

    # --- kommuner -----------------------------------------------------------------------

    async def unknown_kommuner(self, numbers: Sequence[str]) -> set[str]:
        """Those of ``numbers`` that are not kommuner."""
        if not numbers:
            return set()
        stmt = select(Kommune.kommunenummer).where(Kommune.kommunenummer.in_(set(numbers)))
        known = set((await self.session.execute(stmt)).scalars())
        return set(numbers) - known

    async def set_kommuner(self, initiative_id: uuid.UUID, numbers: Iterable[str]) -> None:
        """Replaces the initiative's kommuner."""
        await self.session.execute(
            delete(InitiativeKommune).where(InitiativeKommune.initiative_id == initiative_id)
        )
        rows = [{"initiative_id": initiative_id, "kommunenummer": n} for n in sorted(set(numbers))]
        if rows:
            await self.session.execute(insert(InitiativeKommune), rows)

    async def kommuner_of(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[Kommune]]:
        stmt = (
            select(InitiativeKommune.initiative_id, Kommune)
            .join(Kommune, Kommune.kommunenummer == InitiativeKommune.kommunenummer)
            .where(InitiativeKommune.initiative_id.in_(ids))
            .order_by(InitiativeKommune.initiative_id, Kommune.kommunenummer)
        )
        out: dict[uuid.UUID, list[Kommune]] = {i: [] for i in ids}
        for initiative_id, kommune in (await self.session.execute(stmt)).all():
            out[initiative_id].append(kommune)
        return out

    # --- organizations and partners -----------------------------------------------------

    async def organizations(self, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, OrganizationRow]:
        wanted = set(ids)
        if not wanted:
            return {}
        stmt = select(Organization.id, Organization.name, Organization.sector).where(
            Organization.id.in_(wanted)
        )
        return {
            row.id: OrganizationRow(id=row.id, name=row.name, sector=row.sector)
            for row in (await self.session.execute(stmt)).all()
        }

    async def partners_of(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[PartnerRow]]:
        """Each initiative's partners, by name."""
        stmt = (
            select(
                InitiativePartner.initiative_id,
                Organization.id,
                Organization.name,
                Organization.sector,
                InitiativePartner.added_at,
            )
            .join(Organization, Organization.id == InitiativePartner.organization_id)
            .where(InitiativePartner.initiative_id.in_(ids))
            .order_by(InitiativePartner.initiative_id, Organization.name, Organization.id)
        )
        out: dict[uuid.UUID, list[PartnerRow]] = {i: [] for i in ids}
        for initiative_id, org_id, name, sector, added_at in (
            await self.session.execute(stmt)
        ).all():
            out[initiative_id].append(
                PartnerRow(id=org_id, name=name, sector=sector, added_at=added_at)
            )
        return out

    async def members(self, initiative: Initiative) -> set[uuid.UUID]:
        """The organizations taking part: the owner and the partners."""
        stmt = select(InitiativePartner.organization_id).where(
            InitiativePartner.initiative_id == initiative.id
        )
        return {initiative.owner_organization_id, *(await self.session.execute(stmt)).scalars()}

    async def add_partner(
        self, initiative_id: uuid.UUID, organization_id: uuid.UUID, *, now: datetime
    ) -> bool:
        """Adds a partner; False if it already was one."""
        stmt = (
            pg_insert(InitiativePartner)
            .values(initiative_id=initiative_id, organization_id=organization_id, added_at=now)
            .on_conflict_do_nothing(index_elements=["initiative_id", "organization_id"])
            .returning(InitiativePartner.organization_id)
        )
        try:
            inserted = (await self.session.execute(stmt)).scalar_one_or_none()
        except IntegrityError as exc:
            if constraint_name(exc) == OWNER_NOT_PARTNER:
                raise OwnerAsPartnerError(
                    "The organization owns this initiative; an owner is not its own partner.",
                ) from exc
            raise
        return inserted is not None

    async def remove_partner(self, initiative_id: uuid.UUID, organization_id: uuid.UUID) -> bool:
        stmt = (
            delete(InitiativePartner)
            .where(
                InitiativePartner.initiative_id == initiative_id,
                InitiativePartner.organization_id == organization_id,
            )
            .returning(InitiativePartner.organization_id)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none() is not None

    async def touch(self, initiative_id: uuid.UUID, *, now: datetime) -> None:
        await self.session.execute(
            update(Initiative).where(Initiative.id == initiative_id).values(updated_at=now)
        )

    # --- what is tagged -----------------------------------------------------------------

    async def counts_of(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Counts]:
        """How many listings, transactions and repair events each initiative tags (each an
        indexed count on ``initiative_id``)."""
        found: dict[str, dict[uuid.UUID, int]] = {}
        columns: tuple[tuple[str, InstrumentedAttribute[uuid.UUID | None]], ...] = (
            ("listings", Listing.initiative_id),
            ("transactions", Transaction.initiative_id),
            ("repair_events", RepairEvent.initiative_id),
        )
        for name, column in columns:
            stmt = select(column, func.count()).where(column.in_(ids)).group_by(column)
            found[name] = {
                key: int(n)
                for key, n in (await self.session.execute(stmt)).all()
                if key is not None
            }
        return {
            i: Counts(
                listings=found["listings"].get(i, 0),
                transactions=found["transactions"].get(i, 0),
                repair_events=found["repair_events"].get(i, 0),
            )
            for i in ids
        }

    async def lock_listing(self, listing_id: uuid.UUID) -> Listing | None:
        return await fresh_row(self.session, Listing, listing_id, for_update=True)

    async def tag_listing(self, listing_id: uuid.UUID, initiative_id: uuid.UUID | None) -> None:
        await self.session.execute(
            update(Listing).where(Listing.id == listing_id).values(initiative_id=initiative_id)
        )

    async def lock_transaction(self, transaction_id: uuid.UUID) -> Transaction | None:
        return await fresh_row(self.session, Transaction, transaction_id, for_update=True)

    async def tag_transaction(
        self, transaction_id: uuid.UUID, initiative_id: uuid.UUID | None
    ) -> None:
        await self.session.execute(
            update(Transaction)
            .where(Transaction.id == transaction_id)
            .values(initiative_id=initiative_id)
        )

    async def lock_event(self, event_id: uuid.UUID) -> RepairEvent | None:
        return await fresh_row(self.session, RepairEvent, event_id, for_update=True)

    async def tag_event(self, event_id: uuid.UUID, initiative_id: uuid.UUID | None) -> None:
        await self.session.execute(
            update(RepairEvent)
            .where(RepairEvent.id == event_id)
            .values(initiative_id=initiative_id)
        )

    async def repairs_at_event(self, event_id: uuid.UUID) -> list[uuid.UUID]:
        """The repairs logged at the event, oldest first."""
        stmt = select(Repair.id).where(Repair.event_id == event_id).order_by(Repair.ords_seq)
        return list((await self.session.execute(stmt)).scalars())

    async def record_initiative(self, seq: int) -> uuid.UUID | None:
        """The initiative an evidence record counts toward."""
        stmt = select(Evidence.initiative_id).where(Evidence.seq == seq)
        return (await self.session.execute(stmt)).scalar_one()
