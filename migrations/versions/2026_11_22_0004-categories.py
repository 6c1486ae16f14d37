"""The category taxonomy, with the reuse factors and ORDS product categories it maps to.

The path constraints (shape, parent, the generated parent_path foreign key) are explained in
app/models/category.py.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 13:49:11.846964+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ords_categories",
        sa.Column("id", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "char_length(name) BETWEEN 1 AND 100", name=op.f("ck_ords_categories_name_length")
        ),
        sa.CheckConstraint("id BETWEEN 1 AND 40", name=op.f("ck_ords_categories_id_range")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ords_categories")),
        sa.UniqueConstraint("name", name=op.f("uq_ords_categories_name")),
    )
    op.create_table(
        "reuse_factors",
        sa.Column("category", sa.Text(), nullable=False),
        sa.Column("avg_weight_kg", sa.Double(), nullable=False),
        sa.Column("co2e_kg_per_item", sa.Double(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.CheckConstraint("avg_weight_kg > 0", name=op.f("ck_reuse_factors_weight_positive")),
        sa.CheckConstraint(
            "char_length(category) BETWEEN 1 AND 100", name=op.f("ck_reuse_factors_category_length")
        ),
        sa.CheckConstraint(
            "co2e_kg_per_item >= 0", name=op.f("ck_reuse_factors_co2e_non_negative")
        ),
        sa.PrimaryKeyConstraint("category", name=op.f("pk_reuse_factors")),
    )
    op.create_table(
        "categories",
        sa.Column("slug", sa.Text(), nullable=False),
        sa.Column("parent_slug", sa.Text(), nullable=True),
        sa.Column("name_nb", sa.Text(), nullable=False),
        sa.Column("name_en", sa.Text(), nullable=False),
        sa.Column("reuse_factor_category", sa.Text(), nullable=True),
        sa.Column("ords_category_id", sa.SmallInteger(), nullable=True),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.Column("path", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column(
            "parent_path",
            postgresql.ARRAY(sa.Text()),
            sa.Computed("nullif(path[1:cardinality(path) - 1], '{}'::text[])", persisted=True),
            nullable=True,
        ),
        sa.CheckConstraint(
            "slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND char_length(slug) <= 64",
            name=op.f("ck_categories_slug_format"),
        ),
        sa.CheckConstraint(
            "COALESCE(array_ndims(path) = 1 AND cardinality(path) BETWEEN 1 AND 4 AND path[cardinality(path)] = slug, false)",
            name=op.f("ck_categories_path_shape"),
        ),
        sa.CheckConstraint(
            "char_length(name_nb) BETWEEN 1 AND 100 AND char_length(name_en) BETWEEN 1 AND 100",
            name=op.f("ck_categories_name_length"),
        ),
        sa.CheckConstraint(
            "ords_category_id BETWEEN 1 AND 40", name=op.f("ck_categories_ords_id_range")
        ),
        sa.CheckConstraint(
            "ords_category_id IS NULL OR reuse_factor_category IS NOT NULL",
            name=op.f("ck_categories_ords_needs_reuse_factor"),
        ),
        sa.CheckConstraint(
            "parent_slug IS NOT DISTINCT FROM path[cardinality(path) - 1]",
            name=op.f("ck_categories_path_matches_parent"),
        ),
        sa.ForeignKeyConstraint(
            ["ords_category_id"],
            ["ords_categories.id"],
            name=op.f("fk_categories_ords_category_id_ords_categories"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["parent_path"],
            ["categories.path"],
            name=op.f("fk_categories_parent_path_categories"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["parent_slug"],
            ["categories.slug"],
            name=op.f("fk_categories_parent_slug_categories"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["reuse_factor_category"],
            ["reuse_factors.category"],
            name=op.f("fk_categories_reuse_factor_category_reuse_factors"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("slug", name=op.f("pk_categories")),
        sa.UniqueConstraint("path", name=op.f("uq_categories_path")),
    )
    op.create_index(op.f("ix_categories_parent_slug"), "categories", ["parent_slug"], unique=False)
    op.create_index(
        "ix_categories_path", "categories", ["path"], unique=False, postgresql_using="gin"
    )


def downgrade() -> None:
    op.drop_index("ix_categories_path", table_name="categories", postgresql_using="gin")
    op.drop_index(op.f("ix_categories_parent_slug"), table_name="categories")
    op.drop_table("categories")
    op.drop_table("reuse_factors")
    op.drop_table("ords_categories")
    # The loader skips a dataset it has a checksum for: forget these with their tables.
    op.execute(
        "DELETE FROM reference_datasets "
        "WHERE name IN ('reuse_factors', 'ords_categories', 'categories')"
    )
