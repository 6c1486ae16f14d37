"""The category taxonomy and the two reference lists its impact mappings point at.

``categories`` is a tree: each category has an optional parent, names in bokmål and English,
and (where it sensibly can) a product category of The Restart Project's reuse factors
(``reuse_factors``, for kg and CO2e) and, for electrical and electronic items, an Open Repair
Data Standard product category (``ords_categories``, for ORDS exports). Both mappings are
foreign keys, so a mapping to a category that does not exist cannot be stored.

**The subtree predicate.** ``path`` is the array of slugs from the root down to the category
itself (``{electronics,computers,laptops}``). "This category including all its
sub-categories" is then one predicate, ``path @> ARRAY['computers']``, served by a GIN index,
for a category at any depth and without first looking anything up: slugs are unique across
the whole tree, so containing the slug is the same as descending from it. A materialized
string (``electronics/computers/laptops``) would need the ancestor's own path first and then
either two predicates (``path = p OR path LIKE p || '/%'``) or a trailing-separator trick.
The array also *is* the breadcrumb (``path`` in order) and gives the depth
(``cardinality(path)``). For a taxonomy of this size the planner will rightly scan the table;
the point is that the predicate composes into one statement (``listings.category_slug IN
(SELECT slug FROM categories WHERE path @> …)``) and stays indexable as the tree grows.

**Why the path cannot lie.** A stored path could disagree with ``parent_slug`` or form a
cycle. Three constraints rule that out in the database itself:

* ``path_shape``: a one-dimensional array of 1 to ``MAX_DEPTH`` slugs ending in the row's own;
* ``path_matches_parent``: the element before the last is ``parent_slug`` (none for a root);
* ``parent_path`` (generated: ``path`` without its last element) is a foreign key to
  ``categories.path`` — so the parent's path is exactly this path minus the last slug.

By induction every path is the chain of real ancestors, and as the paths' lengths strictly
grow from parent to child, no cycle can exist. ``parent_slug`` keeps its own foreign key
(``ON DELETE RESTRICT``) for readers who join on it. Moving a sub-tree means rewriting the
paths of the whole sub-tree in one statement; the loader does exactly that (all categories in
one ``INSERT … ON CONFLICT``, the foreign keys checked at the end of the statement).

**The impact mapping.** ``ords_category_id`` may only be set together with
``reuse_factor_category`` (``ords_needs_reuse_factor``): the two describe the same kind of
product and are read as a pair. A category without a reuse factor inherits the pair from its
nearest ancestor that has one.
"""

from __future__ import annotations

from sqlalchemy import (
    CheckConstraint,
    Computed,
    Double,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    SmallInteger,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base

# Lowercase ASCII kebab-case; clients store slugs, so they never change once published.
SLUG_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"
SLUG_MAX_LENGTH = 64
# Roots are depth 1. The shipped taxonomy uses three levels; one more is allowed.
MAX_DEPTH = 4
NAME_MAX_LENGTH = 100
# The Open Repair Data Standard v0.3 numbers its product categories 1 to 40.
ORDS_MIN_ID, ORDS_MAX_ID = 1, 40


class ReuseFactor(Base):
    """Average weight and pre-use footprint of one new product of a category (Restart Project,
    CC BY-SA 4.0). ``co2e_kg_per_item`` is the embodied CO2e of a *new* item, not the saving
    from reuse; see ``data/README.md``."""

    __tablename__ = "reuse_factors"
    __table_args__ = (
        CheckConstraint("char_length(category) BETWEEN 1 AND 100", name="category_length"),
        CheckConstraint("avg_weight_kg > 0", name="weight_positive"),
        CheckConstraint("co2e_kg_per_item >= 0", name="co2e_non_negative"),
    )

    category: Mapped[str] = mapped_column(Text, primary_key=True)
    avg_weight_kg: Mapped[float] = mapped_column(Double)
    co2e_kg_per_item: Mapped[float] = mapped_column(Double)
    source: Mapped[str] = mapped_column(Text)


class OrdsCategory(Base):
    """A product category of the Open Repair Data Standard v0.3 (Open Repair Alliance,
    CC BY-SA 4.0): categories of powered items only."""

    __tablename__ = "ords_categories"
    __table_args__ = (
        CheckConstraint(f"id BETWEEN {ORDS_MIN_ID} AND {ORDS_MAX_ID}", name="id_range"),
        CheckConstraint("char_length(name) BETWEEN 1 AND 100", name="name_length"),
    )

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(Text, unique=True)


class Category(Base):
    __tablename__ = "categories"
    __table_args__ = (
        CheckConstraint(
            f"slug ~ '{SLUG_PATTERN}' AND char_length(slug) <= {SLUG_MAX_LENGTH}",
            name="slug_format",
        ),
        # COALESCE: a NULL from an empty or multi-dimensional array must fail, not pass.
        CheckConstraint(
            "COALESCE(array_ndims(path) = 1 "
            f"AND cardinality(path) BETWEEN 1 AND {MAX_DEPTH} "
            "AND path[cardinality(path)] = slug, false)",
            name="path_shape",
        ),
        CheckConstraint(
            "parent_slug IS NOT DISTINCT FROM path[cardinality(path) - 1]",
            name="path_matches_parent",
        ),
        CheckConstraint(
            f"char_length(name_nb) BETWEEN 1 AND {NAME_MAX_LENGTH} "
            f"AND char_length(name_en) BETWEEN 1 AND {NAME_MAX_LENGTH}",
            name="name_length",
        ),
        CheckConstraint(
            f"ords_category_id BETWEEN {ORDS_MIN_ID} AND {ORDS_MAX_ID}", name="ords_id_range"
        ),
        CheckConstraint(
            "ords_category_id IS NULL OR reuse_factor_category IS NOT NULL",
            name="ords_needs_reuse_factor",
        ),
        UniqueConstraint("path"),
        ForeignKeyConstraint(["parent_path"], ["categories.path"], ondelete="RESTRICT"),
        Index("ix_categories_path", "path", postgresql_using="gin"),
    )

    slug: Mapped[str] = mapped_column(Text, primary_key=True)
    parent_slug: Mapped[str | None] = mapped_column(
        Text, ForeignKey("categories.slug", ondelete="RESTRICT"), index=True
    )
    name_nb: Mapped[str] = mapped_column(Text)
    name_en: Mapped[str] = mapped_column(Text)
    reuse_factor_category: Mapped[str | None] = mapped_column(
        Text, ForeignKey("reuse_factors.category", ondelete="RESTRICT")
    )
    ords_category_id: Mapped[int | None] = mapped_column(
        SmallInteger, ForeignKey("ords_categories.id", ondelete="RESTRICT")
    )
    sort_order: Mapped[int] = mapped_column(Integer)
    # Slugs from the root down to this category, itself included (see the module docstring).
    path: Mapped[list[str]] = mapped_column(ARRAY(Text))
    # The parent's path; NULL for a root. A foreign key to categories.path.
    parent_path: Mapped[list[str] | None] = mapped_column(
        ARRAY(Text),
        Computed("nullif(path[1:cardinality(path) - 1], '{}'::text[])", persisted=True),
    )
