"""The impact of one completed transaction or repair: kg diverted from waste and kg CO2e
avoided, from a versioned factor set (``app.models.impact``).

**Method** (The Restart Project's Fixometer, as restarters.net applies it):

* a **Fixed repair** of a categorised product avoids ``pre-use CO2e of the category x
  displacement`` (0.5: a repaired product is assumed to displace half of a new purchase) and
  diverts the category's average weight; Repairable, End of life and Unknown repairs count as
  repairs but carry no kg or CO2e;
* a **reuse handover** of a categorised item uses the same factors, per item;
* where only the **weight** is known — a material exchange in kg or t, or an item in a
  category without a factor but with its weight given — reuse avoids 0.51 kg CO2e per kg
  (WRAP's average for reused products) and diverts the weight; materials in m³, litres,
  metres, m² or pieces have no weight to go by and count as activity;
* **loans, rentals, space shares and energy** count activity (count, item-days, m²·days, MWh);
  CO2e stays empty until a sourced factor exists.

Golden figure (tests): one Fixed medium laptop → 265.32 x 0.5 = 132.66 kg CO2e and 1.834 kg.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.repositories.impact.factors import FactorRow, ImpactRepository

DISPLACEMENT = Decimal("0.5")
WRAP_REUSE_CO2E_PER_KG = Decimal("0.51")
RESTART_SOURCE = (
    "The Restart Project, Fixometer LCA data 2021 (CC BY-SA 4.0), "
    "github.com/TheRestartProject/environmental-impact-data"
)
RESTART_METHOD_SOURCE = "The Restart Project, restarters.net impact method: displacement rate 0.5"
WRAP_SOURCE = (
    "WRAP (2011), Benefits of reuse case study: 0.51 t CO2e avoided per tonne of products "
    "reused (UK average)"
)
_KG = Decimal("0.001")


class ImpactBasis(StrEnum):
    CATEGORY = "category"  # the Restart category's factors
    WEIGHT = "weight"  # the item's weight and WRAP's per-kg factor
    ACTIVITY = "activity"  # counted, no kg or CO2e
    NONE = "none"  # nothing to count (a repair that did not fix, unknown category)


@dataclass(frozen=True, slots=True)
class Impact:
    basis: ImpactBasis
    factor_revision: int | None = None
    kg_diverted: Decimal | None = None
    co2e_kg: Decimal | None = None


def _round(value: Decimal) -> Decimal:
    return value.quantize(_KG, rounding=ROUND_HALF_UP)


def factor_set(reuse_factors: list[dict[str, Any]]) -> list[FactorRow]:
    """The complete factor set from the reuse factor table and the method's constants."""
    rows = [
        FactorRow("displacement", DISPLACEMENT, "ratio", RESTART_METHOD_SOURCE, "medium"),
        FactorRow("reuse_by_weight_co2e", WRAP_REUSE_CO2E_PER_KG, "kg CO2e/kg", WRAP_SOURCE, "low"),
    ]
    for rf in sorted(reuse_factors, key=lambda r: str(r["category"])):
        category = str(rf["category"])
        rows.append(
            FactorRow(
                f"item_weight:{category}",
                Decimal(str(rf["avg_weight_kg"])),
                "kg/item",
                RESTART_SOURCE,
                "medium",
            )
        )
        rows.append(
            FactorRow(
                f"item_co2e:{category}",
                Decimal(str(rf["co2e_kg_per_item"])),
                "kg CO2e/item (pre-use)",
                RESTART_SOURCE,
                "medium",
            )
        )
    return rows


def checksum(rows: list[FactorRow]) -> str:
    doc = [
        [r.key, format(r.factor.normalize(), "f"), r.unit, r.source, r.data_quality]
        for r in sorted(rows, key=lambda r: r.key)
    ]
    return hashlib.sha256(json.dumps(doc, separators=(",", ":")).encode()).hexdigest()


async def ensure_current_factors(session: AsyncSession, *, now: datetime) -> int | None:
    """Adds a factor revision when the reference data gives a set unlike any before; returns
    the new revision number, or None when nothing changed."""
    repo = ImpactRepository(session)
    rows = factor_set(await repo.reuse_factors())
    digest = checksum(rows)
    if await repo.revision_with_checksum(digest) is not None:
        return None
    return await repo.add_revision(rows, checksum=digest, now=now)


async def _category_factors(
    repo: ImpactRepository, category_slug: str | None
) -> tuple[int, Decimal, Decimal, Decimal] | None:
    """(revision, weight, pre-use CO2e, displacement) of the category's nearest mapped
    ancestor, in the current revision."""
    revision = await repo.current_revision()
    if revision is None or category_slug is None:
        return None
    factor_category = await repo.factor_category(category_slug)
    if factor_category is None:
        return None
    factors = await repo.factors(
        revision,
        [f"item_weight:{factor_category}", f"item_co2e:{factor_category}", "displacement"],
    )
    if len(factors) < 3:
        return None
    return (
        revision,
        factors[f"item_weight:{factor_category}"],
        factors[f"item_co2e:{factor_category}"],
        factors["displacement"],
    )


async def reuse_impact(
    session: AsyncSession,
    *,
    category_slug: str | None,
    items: Decimal,
    weight_kg_per_item: Decimal | None,
) -> Impact:
    repo = ImpactRepository(session)
    by_category = await _category_factors(repo, category_slug)
    if by_category is not None:
        revision, weight, co2e, displacement = by_category
        return Impact(
            ImpactBasis.CATEGORY,
            revision,
            _round(weight * items),
            _round(co2e * displacement * items),
        )
    current = await repo.current_revision()
    if weight_kg_per_item is not None and current is not None:
        revision = current
        per_kg = (await repo.factors(revision, ["reuse_by_weight_co2e"]))["reuse_by_weight_co2e"]
        kg = weight_kg_per_item * items
        return Impact(ImpactBasis.WEIGHT, revision, _round(kg), _round(kg * per_kg))
    return Impact(ImpactBasis.NONE)


async def repair_impact(
    session: AsyncSession, *, category_slug: str | None, repair_status: str
) -> Impact:
    if repair_status != "Fixed":
        return Impact(ImpactBasis.NONE)
    by_category = await _category_factors(ImpactRepository(session), category_slug)
    if by_category is None:
        return Impact(ImpactBasis.NONE)
    revision, weight, co2e, displacement = by_category
    return Impact(ImpactBasis.CATEGORY, revision, _round(weight), _round(co2e * displacement))


async def material_impact(session: AsyncSession, *, quantity: Decimal, unit: str) -> Impact:
    """Surplus material handed on for use is reuse by weight: kg diverted, and WRAP's
    0.51 kg CO2e per kg. Volumes, lengths, areas and pieces have no weight to go by."""
    kg = {"kg": quantity, "t": quantity * 1000}.get(unit)
    repo = ImpactRepository(session)
    revision = await repo.current_revision()
    if kg is None or revision is None:
        return Impact(ImpactBasis.ACTIVITY)
    per_kg = (await repo.factors(revision, ["reuse_by_weight_co2e"]))["reuse_by_weight_co2e"]
    return Impact(ImpactBasis.WEIGHT, revision, _round(kg), _round(kg * per_kg))
