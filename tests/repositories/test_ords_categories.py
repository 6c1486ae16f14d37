"""Every ORDS product category but Misc stands for a category of ours with a reuse factor, so
an imported Fixed repair counts kg and CO2e; and data/README.md's table of that choice is the
one the import uses."""

from __future__ import annotations

import csv
import re

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import PROJECT_ROOT
from app.models import Category
from app.repositories.repair import ORDS_MISC_ID, RepairRepository

DATA = PROJECT_ROOT / "data"
_ROW = re.compile(r"^\| (\d+) [^|]+ \| `([a-z0-9-]+)` \| ([^|]+) \| ([0-9.]+) \| ([0-9.]+) \|$")


def _csv(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file))


async def test_every_ords_category_but_misc_counts_impact(session: AsyncSession) -> None:
    chosen = await RepairRepository(session).category_for_ords()
    ords_ids = {int(row["id"]) for row in _csv("ords_product_categories.csv")}
    assert set(chosen) == ords_ids - {ORDS_MISC_ID}
    factors = dict(
        (await session.execute(select(Category.slug, Category.reuse_factor_category))).all()
    )
    assert all(factors[slug] for slug in chosen.values())


async def test_the_readme_table_is_the_choice_the_import_makes(session: AsyncSession) -> None:
    chosen = await RepairRepository(session).category_for_ords()
    factors = {row["category"]: row for row in _csv("reuse_factors.csv")}
    ours = {row["slug"]: row for row in _csv("categories.csv")}
    text = (DATA / "README.md").read_text(encoding="utf-8")
    section = text[text.index("### ORDS categories in imports") :]
    rows = [m.groups() for m in map(_ROW.match, section.splitlines()) if m]
    assert {int(ords_id): slug for ords_id, slug, *_ in rows} == chosen
    for _, slug, factor, kg, co2e in rows:
        assert ours[slug]["reuse_factor_category"] == factor.strip()
        assert (
            factors[factor.strip()]["avg_weight_kg"],
            factors[factor.strip()]["co2e_kg_per_item"],
        ) == (kg, co2e)
