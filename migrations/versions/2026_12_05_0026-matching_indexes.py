"""Matching at a million listings (issue #18).

* ``ix_listings_match_<kind>`` replaces ``ix_listings_matchable``: a GiST index per kind on
  what a candidate must share with the listing matches are found for (the EWC code, the
  category, the energy or space type), its mode and its public point (btree_gist), partial on
  active, visible listings of the kind. The match statement names the kind as a literal and
  asks for the candidate keys with ``= ANY``, which a bitmap scan answers with one probe per
  key; with kind and mode alone a wood buyer's statement read every material within 150 km.
* ``sirkel_quantity_in`` as one expression: a SQL function whose body has a ``FROM`` (0023's
  ``WITH f AS (...)``) is never inlined, so it ran as a function call, twice per candidate.
  PostgreSQL inlines a single ``SELECT <expression>`` into the calling statement.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-05 13:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEYS = {
    "material": "ewc_code",
    "item": "category_slug",
    "energy": "(details ->> 'energy_type')",
    "space": "(details ->> 'space_type')",
}

QUANTITY_IN = r"""
CREATE OR REPLACE FUNCTION sirkel_quantity_in(
    quantity numeric, from_unit text, to_unit text, density_kg_m3 numeric
) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN quantity IS NULL OR from_unit IS NULL OR to_unit IS NULL THEN NULL
        WHEN from_unit = to_unit THEN quantity
        WHEN from_unit IN ('kg', 't') AND to_unit IN ('kg', 't')
            THEN quantity * CASE from_unit WHEN 't' THEN 1000 ELSE 1 END
                / CASE to_unit WHEN 't' THEN 1000 ELSE 1 END
        WHEN from_unit IN ('m3', 'l') AND to_unit IN ('m3', 'l')
            THEN quantity * CASE from_unit WHEN 'l' THEN 0.001 ELSE 1 END
                / CASE to_unit WHEN 'l' THEN 0.001 ELSE 1 END
        WHEN density_kg_m3 IS NULL OR density_kg_m3 <= 0 THEN NULL
        WHEN from_unit IN ('kg', 't') AND to_unit IN ('m3', 'l')
            THEN quantity * CASE from_unit WHEN 't' THEN 1000 ELSE 1 END / density_kg_m3
                / CASE to_unit WHEN 'l' THEN 0.001 ELSE 1 END
        WHEN from_unit IN ('m3', 'l') AND to_unit IN ('kg', 't')
            THEN quantity * CASE from_unit WHEN 'l' THEN 0.001 ELSE 1 END * density_kg_m3
                / CASE to_unit WHEN 't' THEN 1000 ELSE 1 END
    END
$$;
"""

# 0023's body, for the downgrade.
QUANTITY_IN_0023 = r"""
CREATE OR REPLACE FUNCTION sirkel_quantity_in(
    quantity numeric, from_unit text, to_unit text, density_kg_m3 numeric
) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    WITH f AS (
        SELECT
            CASE from_unit WHEN 'kg' THEN 1 WHEN 't' THEN 1000 END AS from_kg,
            CASE to_unit WHEN 'kg' THEN 1 WHEN 't' THEN 1000 END AS to_kg,
            CASE from_unit WHEN 'm3' THEN 1 WHEN 'l' THEN 0.001 END AS from_m3,
            CASE to_unit WHEN 'm3' THEN 1 WHEN 'l' THEN 0.001 END AS to_m3
    )
    SELECT CASE
        WHEN quantity IS NULL OR from_unit IS NULL OR to_unit IS NULL THEN NULL
        WHEN from_unit = to_unit THEN quantity
        WHEN f.from_kg IS NOT NULL AND f.to_kg IS NOT NULL THEN quantity * f.from_kg / f.to_kg
        WHEN f.from_m3 IS NOT NULL AND f.to_m3 IS NOT NULL THEN quantity * f.from_m3 / f.to_m3
        WHEN density_kg_m3 IS NULL OR density_kg_m3 <= 0 THEN NULL
        WHEN f.from_kg IS NOT NULL AND f.to_m3 IS NOT NULL
            THEN quantity * f.from_kg / density_kg_m3 / f.to_m3
        WHEN f.from_m3 IS NOT NULL AND f.to_kg IS NOT NULL
            THEN quantity * f.from_m3 * density_kg_m3 / f.to_kg
    END
    FROM f
$$;
"""


def upgrade() -> None:
    op.drop_index("ix_listings_matchable", table_name="listings")
    for kind, key in KEYS.items():
        op.create_index(
            f"ix_listings_match_{kind}",
            "listings",
            [
                sa.text(key) if key.startswith("(") else key,
                "mode",
                sa.text("(public_geom::geography)"),
            ],
            postgresql_using="gist",
            postgresql_where=sa.text(
                f"status = 'active' AND hidden_at IS NULL AND kind = '{kind}'"
            ),
        )
    op.execute(QUANTITY_IN)


def downgrade() -> None:
    op.execute(QUANTITY_IN_0023)
    for kind in KEYS:
        op.drop_index(f"ix_listings_match_{kind}", table_name="listings")
    op.create_index(
        "ix_listings_matchable",
        "listings",
        ["kind", "mode", sa.text("(public_geom::geography)")],
        postgresql_using="gist",
        postgresql_where=sa.text(
            "status = 'active' AND hidden_at IS NULL AND kind IN ('material', 'energy', 'space')"
        ),
    )
