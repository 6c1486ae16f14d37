"""Every SQL statement about impact factors."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import ImpactFactor, ImpactFactorRevision, ReuseFactor


@dataclass(frozen=True, slots=True)
class FactorRow:
    key: str
    factor: Decimal
    unit: str
    source: str
    data_quality: str


# The category's own factor category, or its nearest ancestor's (categories.path is the
# slugs from the root down to the category itself).
_FACTOR_CATEGORY = text(
    """
    SELECT a.reuse_factor_category
    FROM categories AS c
    JOIN categories AS a ON a.slug = ANY (c.path)
    WHERE c.slug = :slug AND a.reuse_factor_category IS NOT NULL
    ORDER BY cardinality(a.path) DESC
    LIMIT 1
    """
)


class ImpactRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def reuse_factors(self) -> list[dict[str, Any]]:
        stmt = select(ReuseFactor.category, ReuseFactor.avg_weight_kg, ReuseFactor.co2e_kg_per_item)
        return [dict(r) for r in (await self.session.execute(stmt)).mappings()]

    async def revision_with_checksum(self, checksum: str) -> int | None:
        stmt = select(ImpactFactorRevision.revision).where(
            ImpactFactorRevision.checksum == checksum
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def current_revision(self) -> int | None:
        stmt = select(func.max(ImpactFactorRevision.revision))
        return (await self.session.execute(stmt)).scalar_one()

    async def add_revision(self, rows: list[FactorRow], *, checksum: str, now: datetime) -> int:
        # Serialised: two loaders never take the same number.
        await self.session.execute(text("LOCK TABLE impact_factor_revisions IN EXCLUSIVE MODE"))
        revision = (await self.current_revision() or 0) + 1
        self.session.add(
            ImpactFactorRevision(
                revision=revision,
                created_at=now,
                checksum=checksum,
                note=f"{len(rows)} factors from the shipped reference data",
            )
        )
        await self.session.flush()
        self.session.add_all(
            ImpactFactor(
                revision=revision,
                key=r.key,
                factor=r.factor,
                unit=r.unit,
                source=r.source,
                data_quality=r.data_quality,
            )
            for r in rows
        )
        await self.session.flush()
        return revision

    async def factors(self, revision: int, keys: list[str]) -> dict[str, Decimal]:
        stmt = select(ImpactFactor.key, ImpactFactor.factor).where(
            ImpactFactor.revision == revision, ImpactFactor.key.in_(keys)
        )
        return {row[0]: row[1] for row in await self.session.execute(stmt)}

    async def factor_category(self, category_slug: str) -> str | None:
        result = await self.session.execute(_FACTOR_CATEGORY, {"slug": category_slug})
        return result.scalar_one_or_none()
