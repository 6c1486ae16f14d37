"""The category taxonomy: the tree in one language, one category with its breadcrumb and
sub-tree, and the set of slugs that "this category including its sub-categories" means."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import CategoryNotFoundError
from app.repositories.category import CategoryRepository
from app.schemas.category import (
    CategoryNames,
    CategoryNode,
    CategoryRead,
    CategoryRef,
    CategoryTree,
    Language,
    OrdsCategoryRef,
)

_Mapping = tuple[str | None, OrdsCategoryRef | None]


def _name(row: RowMapping, language: Language) -> str:
    return str(row["name_nb"] if language is Language.NB else row["name_en"])


def _nodes(rows: Sequence[RowMapping], language: Language) -> dict[str, CategoryNode]:
    """One node per row, children attached and ordered (sort_order, then slug).

    ``rows`` must be ordered by path (every parent before its children) and hold every
    ancestor of every row, so that each category can inherit the impact mapping — the reuse
    factor with its ORDS category, as a pair — of its nearest ancestor that has one.
    """
    mapping: dict[str, _Mapping] = {}
    nodes: dict[str, CategoryNode] = {}
    order: dict[str, tuple[int, str]] = {}
    for row in rows:
        slug, parent = row["slug"], row["parent_slug"]
        if row["reuse_factor_category"] is not None:
            ords = (
                OrdsCategoryRef(id=row["ords_category_id"], name=row["ords_category_name"])
                if row["ords_category_id"] is not None
                else None
            )
            mapping[slug] = (row["reuse_factor_category"], ords)
        else:
            mapping[slug] = mapping.get(parent, (None, None)) if parent else (None, None)
        reuse, ords = mapping[slug]
        nodes[slug] = CategoryNode(
            slug=slug,
            name=_name(row, language),
            names=CategoryNames(nb=row["name_nb"], en=row["name_en"]),
            parent_slug=parent,
            reuse_factor_category=reuse,
            ords_category=ords,
            children=[],
        )
        order[slug] = (row["sort_order"], slug)
        if parent in nodes:
            nodes[parent].children.append(nodes[slug])
    for node in nodes.values():
        node.children.sort(key=lambda child: order[child.slug])
    return nodes


async def get_tree(session: AsyncSession, *, language: Language) -> CategoryTree:
    rows = await CategoryRepository(session).list_all()
    nodes = _nodes(rows, language)
    roots = sorted(
        (r for r in rows if r["parent_slug"] is None), key=lambda r: (r["sort_order"], r["slug"])
    )
    return CategoryTree(items=[nodes[r["slug"]] for r in roots])


async def get_category(session: AsyncSession, *, slug: str, language: Language) -> CategoryRead:
    rows = await CategoryRepository(session).lineage(slug)
    nodes = _nodes(rows, language)
    node = nodes.get(slug)
    if node is None:
        raise CategoryNotFoundError(f"No category has the slug {slug!r}.")
    path = next(r["path"] for r in rows if r["slug"] == slug)
    return CategoryRead(
        **node.model_dump(exclude={"children"}),
        ancestors=[CategoryRef(slug=s, name=nodes[s].name) for s in path[:-1]],
        children=node.children,
    )


async def descendant_slugs(session: AsyncSession, *, slug: str) -> list[str]:
    """The slug itself and the slugs of all categories below it, ordered by path; empty for an
    unknown slug (the caller decides whether that is an error). For a filter inside one SQL
    statement, embed ``app.repositories.category.subtree_slugs_query(slug)`` instead."""
    return await CategoryRepository(session).subtree_slugs(slug)
