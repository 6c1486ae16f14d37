"""Every SQL statement about the mission's targets (``app.models.target``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import Select, func, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import TargetChangedError
from app.models import ImpactTarget
from app.repositories.db_errors import constraint_name

_RACES = frozenset({"uq_impact_targets_version", "impact_targets_next_version"})


@dataclass(frozen=True, slots=True)
class TargetFilters:
    indicator: str | None = None
    scope: str | None = None
    scope_code: str | None = None
    status: str | None = None


def _latest() -> Select[ImpactTarget]:
    newest = (
        select(ImpactTarget.target_id, func.max(ImpactTarget.version).label("version"))
        .group_by(ImpactTarget.target_id)
        .subquery()
    )
    return select(ImpactTarget).join(
        newest,
        (newest.c.target_id == ImpactTarget.target_id) & (newest.c.version == ImpactTarget.version),
    )


class TargetRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, target: ImpactTarget) -> ImpactTarget:
        """Insert a version; the database refuses one that is not the next (a parallel
        change got there first)."""
        try:
            async with self.session.begin_nested():
                self.session.add(target)
                await self.session.flush()
        except IntegrityError as exc:
            if constraint_name(exc) in _RACES:
                raise TargetChangedError(
                    "The target was changed meanwhile; read its latest version and try again."
                ) from None
            raise
        return target

    async def latest(self, target_id: uuid.UUID) -> ImpactTarget | None:
        stmt = (
            select(ImpactTarget)
            .where(ImpactTarget.target_id == target_id)
            .order_by(ImpactTarget.version.desc())
            .limit(1)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def version(self, target_id: uuid.UUID, version: int) -> ImpactTarget | None:
        stmt = select(ImpactTarget).where(
            ImpactTarget.target_id == target_id, ImpactTarget.version == version
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def versions(self, target_id: uuid.UUID) -> list[ImpactTarget]:
        stmt = (
            select(ImpactTarget)
            .where(ImpactTarget.target_id == target_id)
            .order_by(ImpactTarget.version)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def latest_page(
        self, filters: TargetFilters, *, after: tuple[str, uuid.UUID] | None, limit: int
    ) -> list[ImpactTarget]:
        """Current versions, by indicator then id (keyset: ``after``)."""
        stmt = _latest()
        if filters.indicator is not None:
            stmt = stmt.where(ImpactTarget.indicator == filters.indicator)
        if filters.scope is not None:
            stmt = stmt.where(ImpactTarget.scope == filters.scope)
        if filters.scope_code is not None:
            stmt = stmt.where(ImpactTarget.scope_code == filters.scope_code)
        if filters.status is not None:
            stmt = stmt.where(ImpactTarget.status == filters.status)
        if after is not None:
            stmt = stmt.where(tuple_(ImpactTarget.indicator, ImpactTarget.target_id) > after)
        stmt = stmt.order_by(ImpactTarget.indicator, ImpactTarget.target_id).limit(limit)
        return list((await self.session.execute(stmt)).scalars())

    async def current_for_area(
        self, *, scope: str, scope_code: str | None, statuses: tuple[str, ...], limit: int
    ) -> list[ImpactTarget]:
        """The current versions of an area's targets with one of ``statuses`` (none for an
        initiative), by indicator then baseline year."""
        stmt = _latest().where(
            ImpactTarget.scope == scope,
            ImpactTarget.scope_code.is_(None)
            if scope_code is None
            else ImpactTarget.scope_code == scope_code,
            ImpactTarget.initiative_id.is_(None),
            ImpactTarget.status.in_(statuses),
        )
        stmt = stmt.order_by(
            ImpactTarget.indicator, ImpactTarget.baseline_year, ImpactTarget.target_id
        ).limit(limit)
        return list((await self.session.execute(stmt)).scalars())
