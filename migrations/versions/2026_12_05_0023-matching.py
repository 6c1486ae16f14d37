"""Matching (``app.services.matching``): organizations' waste permits, quantities compared across
units, and the indexes the candidates are found by.

* ``organizations.waste_permit_*``: a permit to receive hazardous waste
  (avfallsforskriften kap. 11), recorded by a moderator. A hazardous material (an EWC code with
  an asterisk) is only ever matched to an organization whose permit is recorded.
* ``sirkel_quantity_in(quantity, from_unit, to_unit, density_kg_m3)``: the quantity in another
  unit — kg and t, l and m³ always; mass and volume only with a density; NULL when they do not
  compare (pieces, m², m against anything else).
* ``ix_listings_matchable``: a GiST index on the public point of active, visible listings of the
  kinds matched by place first (materials, energy, space), with kind and mode as its leading
  columns (btree_gist), so the candidates within a distance are one index scan.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-05 09:40:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FUNCTION_SQL = r"""
CREATE FUNCTION sirkel_quantity_in(
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
    op.add_column("organizations", sa.Column("waste_permit_reference", sa.Text(), nullable=True))
    op.add_column(
        "organizations",
        sa.Column("waste_permit_verified_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.add_column(
        "organizations",
        sa.Column(
            "waste_permit_verified_by",
            sa.Uuid(),
            sa.ForeignKey(
                "persons.id",
                ondelete="SET NULL",
                name="fk_organizations_waste_permit_verified_by_persons",
            ),
            nullable=True,
        ),
    )
    op.create_check_constraint(
        "waste_permit_recorded",
        "organizations",
        "(waste_permit_reference IS NULL) = (waste_permit_verified_at IS NULL)",
    )
    op.create_check_constraint(
        "waste_permit_reference_length",
        "organizations",
        "char_length(waste_permit_reference) BETWEEN 1 AND 100",
    )
    op.execute(FUNCTION_SQL)
    op.create_index(
        "ix_listings_matchable",
        "listings",
        ["kind", "mode", sa.text("(public_geom::geography)")],
        postgresql_using="gist",
        postgresql_where=sa.text(
            "status = 'active' AND hidden_at IS NULL AND kind IN ('material', 'energy', 'space')"
        ),
    )


def downgrade() -> None:
    op.drop_index("ix_listings_matchable", table_name="listings")
    op.execute("DROP FUNCTION sirkel_quantity_in(numeric, text, text, numeric)")
    op.drop_constraint("waste_permit_reference_length", "organizations", type_="check")
    op.drop_constraint("waste_permit_recorded", "organizations", type_="check")
    op.drop_column("organizations", "waste_permit_verified_by")
    op.drop_column("organizations", "waste_permit_verified_at")
    op.drop_column("organizations", "waste_permit_reference")
