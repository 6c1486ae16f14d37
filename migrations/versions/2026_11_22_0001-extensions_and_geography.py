"""Extensions (postgis, btree_gist, pg_trgm), Norwegian geography, reference bookkeeping.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import geoalchemy2
import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")

    op.create_table(
        "fylker",
        sa.Column("fylkesnummer", sa.String(length=2), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column(
            "short_name",
            sa.Text(),
            sa.Computed("split_part(name, ' - ', 1)", persisted=True),
            nullable=False,
        ),
        sa.Column("area_km2", sa.Double(), nullable=False),
        sa.Column(
            "geom",
            geoalchemy2.types.Geometry(
                geometry_type="MULTIPOLYGON", srid=4326, spatial_index=False
            ),
            nullable=False,
        ),
        sa.CheckConstraint(
            "fylkesnummer ~ '^[0-9]{2}$'", name=op.f("ck_fylker_fylkesnummer_format")
        ),
        sa.PrimaryKeyConstraint("fylkesnummer", name=op.f("pk_fylker")),
    )
    op.create_index("ix_fylker_geom", "fylker", ["geom"], postgresql_using="gist")

    op.create_table(
        "kommuner",
        sa.Column("kommunenummer", sa.String(length=4), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column(
            "short_name",
            sa.Text(),
            sa.Computed("split_part(name, ' - ', 1)", persisted=True),
            nullable=False,
        ),
        sa.Column("fylkesnummer", sa.String(length=2), nullable=False),
        sa.Column("population", sa.Integer(), nullable=True),
        sa.Column("population_year", sa.SmallInteger(), nullable=True),
        sa.Column("area_km2", sa.Double(), nullable=False),
        sa.Column(
            "geom",
            geoalchemy2.types.Geometry(
                geometry_type="MULTIPOLYGON", srid=4326, spatial_index=False
            ),
            nullable=False,
        ),
        sa.CheckConstraint(
            "kommunenummer ~ '^[0-9]{4}$'", name=op.f("ck_kommuner_kommunenummer_format")
        ),
        sa.CheckConstraint(
            "left(kommunenummer, 2) = fylkesnummer", name=op.f("ck_kommuner_in_own_fylke")
        ),
        sa.CheckConstraint(
            "population IS NULL OR population >= 0",
            name=op.f("ck_kommuner_population_non_negative"),
        ),
        sa.CheckConstraint(
            "(population IS NULL) = (population_year IS NULL)",
            name=op.f("ck_kommuner_population_has_year"),
        ),
        sa.ForeignKeyConstraint(
            ["fylkesnummer"],
            ["fylker.fylkesnummer"],
            name=op.f("fk_kommuner_fylkesnummer_fylker"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("kommunenummer", name=op.f("pk_kommuner")),
    )
    op.create_index("ix_kommuner_geom", "kommuner", ["geom"], postgresql_using="gist")
    op.create_index(op.f("ix_kommuner_fylkesnummer"), "kommuner", ["fylkesnummer"])

    op.create_table(
        "kommune_parts",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("kommunenummer", sa.String(length=4), nullable=False),
        sa.Column(
            "geom",
            geoalchemy2.types.Geometry(geometry_type="POLYGON", srid=4326, spatial_index=False),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["kommunenummer"],
            ["kommuner.kommunenummer"],
            name=op.f("fk_kommune_parts_kommunenummer_kommuner"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kommune_parts")),
    )
    op.create_index("ix_kommune_parts_geom", "kommune_parts", ["geom"], postgresql_using="gist")
    op.create_index(op.f("ix_kommune_parts_kommunenummer"), "kommune_parts", ["kommunenummer"])

    op.create_table(
        "reference_datasets",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column(
            "loaded_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_reference_datasets")),
    )


def downgrade() -> None:
    op.drop_table("reference_datasets")
    op.drop_table("kommune_parts")
    op.drop_table("kommuner")
    op.drop_table("fylker")
    # Extensions go last; other objects in the database might use them, so only drop if free.
    op.execute("DROP EXTENSION IF EXISTS pg_trgm")
    op.execute("DROP EXTENSION IF EXISTS btree_gist")
    op.execute("DROP EXTENSION IF EXISTS postgis")
