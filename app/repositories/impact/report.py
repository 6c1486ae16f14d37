"""SQL the yearly impact report needs besides the aggregates: the evidence ledger's head at
the end of a year, the impact factor revisions, the loaded reference datasets and the names
of places and categories to label the figures with."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Category, Evidence, Fylke, Kommune, ReferenceDataset
from app.models.impact import ImpactFactor, ImpactFactorRevision


@dataclass(frozen=True, slots=True)
class LedgerHead:
    seq: int
    hash_hex: str
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class FactorRevision:
    revision: int
    created_at: datetime
    checksum: str
    note: str
    factor_count: int


@dataclass(frozen=True, slots=True)
class LoadedDataset:
    name: str
    sha256: str
    row_count: int
    loaded_at: datetime


class ImpactReportRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def ledger_head_before(self, end: datetime) -> LedgerHead | None:
        """The last record recorded before ``end`` (records are numbered under a lock in
        the order they are recorded, so it is also the one with the highest ``seq``)."""
        return await self._head(Evidence.recorded_at < end)

    async def ledger_head(self) -> LedgerHead | None:
        """The newest record of the whole ledger."""
        return await self._head()

    async def _head(self, *conditions: ColumnElement[bool]) -> LedgerHead | None:
        stmt = (
            select(Evidence.seq, func.encode(Evidence.hash, "hex"), Evidence.recorded_at)
            .where(*conditions)
            .order_by(Evidence.seq.desc())
            .limit(1)
        )
        row = (await self.session.execute(stmt)).one_or_none()
        if row is None:
            return None
        return LedgerHead(seq=int(row[0]), hash_hex=str(row[1]), recorded_at=row[2])

    async def factor_revisions(self) -> list[FactorRevision]:
        stmt = (
            select(
                ImpactFactorRevision.revision,
                ImpactFactorRevision.created_at,
                ImpactFactorRevision.checksum,
                ImpactFactorRevision.note,
                func.count(ImpactFactor.key),
            )
            .outerjoin(ImpactFactor, ImpactFactor.revision == ImpactFactorRevision.revision)
            .group_by(ImpactFactorRevision.revision)
            .order_by(ImpactFactorRevision.revision)
        )
        return [
            FactorRevision(
                revision=int(r[0]),
                created_at=r[1],
                checksum=str(r[2]),
                note=str(r[3]),
                factor_count=int(r[4]),
            )
            for r in (await self.session.execute(stmt)).all()
        ]

    async def reference_datasets(self) -> list[LoadedDataset]:
        stmt = select(
            ReferenceDataset.name,
            ReferenceDataset.sha256,
            ReferenceDataset.row_count,
            ReferenceDataset.loaded_at,
        ).order_by(ReferenceDataset.name)
        return [
            LoadedDataset(name=r[0], sha256=r[1], row_count=int(r[2]), loaded_at=r[3])
            for r in (await self.session.execute(stmt)).all()
        ]

    async def fylke_names(self) -> dict[str, str]:
        """Every fylke's short (Norwegian) name by number."""
        stmt = select(Fylke.fylkesnummer, Fylke.short_name).order_by(Fylke.fylkesnummer)
        return {r[0]: r[1] for r in (await self.session.execute(stmt)).all()}

    async def kommune_names(self, *, fylkesnummer: str | None = None) -> dict[str, str]:
        """Kommuner's short names by number, all or those of one fylke."""
        stmt = select(Kommune.kommunenummer, Kommune.short_name).order_by(Kommune.kommunenummer)
        if fylkesnummer is not None:
            stmt = stmt.where(Kommune.fylkesnummer == fylkesnummer)
        return {r[0]: r[1] for r in (await self.session.execute(stmt)).all()}

    async def category_names(self) -> dict[str, str]:
        """Every category's bokmål name by slug."""
        stmt = select(Category.slug, Category.name_nb)
        return {r[0]: r[1] for r in (await self.session.execute(stmt)).all()}
