"""Every SQL statement about categories, reuse factors and ORDS product categories."""

from __future__ import annotations

from typing import Any

from sqlalchemy import RowMapping, Select, bindparam, or_, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import Integer, SmallInteger, Text

from app.models import Category, OrdsCategory, ReuseFactor
from app.repositories.sql import all_values, upsert


def subtree_slugs_query(slug: str) -> Select[str]:
    """``SELECT slug`` of the category and all its descendants: one indexed predicate
    (``path @> ARRAY[slug]``, GIN). Embed it, e.g. ``Listing.category_slug.in_(…)``."""
    return select(Category.slug).where(Category.path.contains([slug]))


# All categories in one statement, so that a sub-tree that moves (new parent, hence new paths
# for every row below it) is checked by the path foreign key only once the whole statement is
# done. Paths travel as '/'-joined text: a slug never contains '/'.
_UPSERT_CATEGORIES = text(
    """
    INSERT INTO categories AS c (slug, parent_slug, name_nb, name_en, reuse_factor_category,
                                 ords_category_id, sort_order, path)
    SELECT r.slug, r.parent_slug, r.name_nb, r.name_en, r.reuse_factor_category,
           r.ords_category_id, r.sort_order, string_to_array(r.path, '/')
    FROM unnest(:slugs, :parent_slugs, :names_nb, :names_en, :reuse_factor_categories,
                :ords_category_ids, :sort_orders, :paths)
         AS r(slug, parent_slug, name_nb, name_en, reuse_factor_category, ords_category_id,
              sort_order, path)
    ON CONFLICT (slug) DO UPDATE SET
        parent_slug = EXCLUDED.parent_slug,
        name_nb = EXCLUDED.name_nb,
        name_en = EXCLUDED.name_en,
        reuse_factor_category = EXCLUDED.reuse_factor_category,
        ords_category_id = EXCLUDED.ords_category_id,
        sort_order = EXCLUDED.sort_order,
        path = EXCLUDED.path
    WHERE (c.parent_slug, c.name_nb, c.name_en, c.reuse_factor_category, c.ords_category_id,
           c.sort_order, c.path)
          IS DISTINCT FROM
          (EXCLUDED.parent_slug, EXCLUDED.name_nb, EXCLUDED.name_en,
           EXCLUDED.reuse_factor_category, EXCLUDED.ords_category_id, EXCLUDED.sort_order,
           EXCLUDED.path)
    """
).bindparams(
    bindparam("slugs", type_=ARRAY(Text)),
    bindparam("parent_slugs", type_=ARRAY(Text)),
    bindparam("names_nb", type_=ARRAY(Text)),
    bindparam("names_en", type_=ARRAY(Text)),
    bindparam("reuse_factor_categories", type_=ARRAY(Text)),
    bindparam("ords_category_ids", type_=ARRAY(SmallInteger)),
    bindparam("sort_orders", type_=ARRAY(Integer)),
    bindparam("paths", type_=ARRAY(Text)),
)


class CategoryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- reads -------------------------------------------------------------------------

    def _columns(
        self,
    ) -> Select[str, str | None, str, str, str | None, int | None, str | None, int, list[str]]:
        return select(
            Category.slug,
            Category.parent_slug,
            Category.name_nb,
            Category.name_en,
            Category.reuse_factor_category,
            Category.ords_category_id,
            OrdsCategory.name.label("ords_category_name"),
            Category.sort_order,
            Category.path,
        ).outerjoin(OrdsCategory, OrdsCategory.id == Category.ords_category_id)

    async def list_all(self) -> list[RowMapping]:
        stmt = self._columns().order_by(Category.path)
        return list((await self.session.execute(stmt)).mappings().all())

    async def lineage(self, slug: str) -> list[RowMapping]:
        """The category, its ancestors and its descendants, in one statement; empty when the
        slug is unknown."""
        # Descendants (and itself): path @> {slug}. Ancestors (and itself): path <@ its path —
        # slugs are unique, so only a prefix of its path has all its slugs in it.
        own_path = select(Category.path).where(Category.slug == slug).scalar_subquery()
        stmt = (
            self._columns()
            .where(or_(Category.path.contains([slug]), Category.path.contained_by(own_path)))
            .order_by(Category.path)
        )
        return list((await self.session.execute(stmt)).mappings().all())

    async def subtree_slugs(self, slug: str) -> list[str]:
        stmt = subtree_slugs_query(slug).order_by(Category.path)
        return list((await self.session.execute(stmt)).scalars())

    async def exists(self, slug: str) -> bool:
        stmt = select(Category.slug).where(Category.slug == slug)
        return (await self.session.execute(stmt)).first() is not None

    async def slugs(self) -> set[str]:
        return await all_values(self.session, Category.slug)

    async def reuse_factor_categories(self) -> set[str]:
        return await all_values(self.session, ReuseFactor.category)

    async def ords_category_ids(self) -> set[int]:
        return await all_values(self.session, OrdsCategory.id)

    # --- writes (reference data loading) ----------------------------------------------

    async def upsert_reuse_factors(self, rows: list[dict[str, Any]]) -> None:
        """rows: category, avg_weight_kg, co2e_kg_per_item, source."""
        columns = ("avg_weight_kg", "co2e_kg_per_item", "source")
        await self.session.execute(upsert(ReuseFactor, ReuseFactor.category, columns), rows)

    async def upsert_ords_categories(self, rows: list[dict[str, Any]]) -> None:
        """rows: id, name."""
        await self.session.execute(upsert(OrdsCategory, OrdsCategory.id, ("name",)), rows)

    async def upsert_categories(self, rows: list[dict[str, Any]]) -> None:
        """rows: slug, parent_slug, name_nb, name_en, reuse_factor_category,
        ords_category_id, sort_order, path (list of slugs from the root)."""
        await self.session.execute(
            _UPSERT_CATEGORIES,
            {
                "slugs": [r["slug"] for r in rows],
                "parent_slugs": [r["parent_slug"] for r in rows],
                "names_nb": [r["name_nb"] for r in rows],
                "names_en": [r["name_en"] for r in rows],
                "reuse_factor_categories": [r["reuse_factor_category"] for r in rows],
                "ords_category_ids": [r["ords_category_id"] for r in rows],
                "sort_orders": [r["sort_order"] for r in rows],
                "paths": ["/".join(r["path"]) for r in rows],
            },
        )
