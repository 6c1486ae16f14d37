"""Counts of searchable listings per map cell for low-zoom tiles, kept by a trigger.

Why and how: app/models/tile_cell.py. The Web Mercator functions here are also what the tile
statements use (app/repositories/listing.py), so a cell means the same everywhere.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 14:39:55.391533+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Half the Web Mercator world's width, in metres (EPSG:3857).
_HALF_WORLD = "20037508.342789244"

SQL = rf"""
CREATE FUNCTION sirkel_mercator_x(g geometry) RETURNS double precision
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT radians(ST_X(g)) * 6378137
$$;
-- ;;
CREATE FUNCTION sirkel_mercator_y(g geometry) RETURNS double precision
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT ln(tan(pi() / 4 + radians(ST_Y(g)) / 2)) * 6378137
$$;
-- ;;
-- Cell indices of the global grid of a level (2^level cells across), x from the west and
-- y from the north, as tile indices are.
CREATE FUNCTION sirkel_cell_x(mx double precision, level integer) RETURNS integer
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT floor((mx + {_HALF_WORLD}) * (2 ^ level) / (2 * {_HALF_WORLD}))::integer
$$;
-- ;;
CREATE FUNCTION sirkel_cell_y(my double precision, level integer) RETURNS integer
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT floor(({_HALF_WORLD} - my) * (2 ^ level) / (2 * {_HALF_WORLD}))::integer
$$;
-- ;;
-- Add (delta 1) or remove (delta -1) one listing at every rollup level, lowest level first
-- so that concurrent writers lock the rows in one order. Removal is an UPDATE: an INSERT's
-- CHECK (n >= 0) is tested on the proposed row before ON CONFLICT finds the existing one.
CREATE FUNCTION sirkel_tile_cells_add(
    g geometry, kind text, mode text, category text, delta integer
) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    mx double precision := sirkel_mercator_x(g);
    my double precision := sirkel_mercator_y(g);
    key text[];
BEGIN
    -- Each listing is counted twice per level: under its kind, mode and category, and in
    -- the cell's total ('*', '*', '*'), which an unfiltered map reads.
    FOR lvl IN 5..13 LOOP
        FOREACH key SLICE 1 IN ARRAY ARRAY[
            ARRAY['*', '*', '*'],
            ARRAY[kind, coalesce(mode, ''), coalesce(category, '')]
        ] LOOP
            IF delta > 0 THEN
                INSERT INTO listing_tile_cells AS c
                    (level, cx, cy, kind, mode, category, n, sum_mx, sum_my)
                VALUES (lvl, sirkel_cell_x(mx, lvl), sirkel_cell_y(my, lvl), key[1], key[2],
                        key[3], delta, delta * mx, delta * my)
                ON CONFLICT ON CONSTRAINT pk_listing_tile_cells DO UPDATE
                SET n = c.n + excluded.n, sum_mx = c.sum_mx + excluded.sum_mx,
                    sum_my = c.sum_my + excluded.sum_my;
            ELSE
                UPDATE listing_tile_cells AS c
                SET n = c.n + delta, sum_mx = c.sum_mx + delta * mx,
                    sum_my = c.sum_my + delta * my
                WHERE c.level = lvl AND c.cx = sirkel_cell_x(mx, lvl)
                  AND c.cy = sirkel_cell_y(my, lvl) AND c.kind = key[1] AND c.mode = key[2]
                  AND c.category = key[3];
                IF NOT FOUND THEN
                    RAISE EXCEPTION 'listing_tile_cells is missing a listing it should hold'
                        USING ERRCODE = 'check_violation',
                              CONSTRAINT = 'ck_listing_tile_cells_count_not_negative';
                END IF;
            END IF;
        END LOOP;
    END LOOP;
END
$$;
-- ;;
CREATE FUNCTION listings_tile_cells_sync() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    was_in boolean := TG_OP <> 'INSERT' AND OLD.status = 'active' AND OLD.hidden_at IS NULL;
    is_in boolean := TG_OP <> 'DELETE' AND NEW.status = 'active' AND NEW.hidden_at IS NULL;
BEGIN
    IF was_in AND is_in AND ST_Equals(OLD.public_geom, NEW.public_geom)
       AND OLD.kind = NEW.kind AND OLD.mode IS NOT DISTINCT FROM NEW.mode
       AND OLD.category_slug IS NOT DISTINCT FROM NEW.category_slug THEN
        RETURN NULL;
    END IF;
    IF was_in THEN
        PERFORM sirkel_tile_cells_add(OLD.public_geom, OLD.kind, OLD.mode, OLD.category_slug, -1);
    END IF;
    IF is_in THEN
        PERFORM sirkel_tile_cells_add(NEW.public_geom, NEW.kind, NEW.mode, NEW.category_slug, 1);
    END IF;
    RETURN NULL;
END
$$;
-- ;;
CREATE TRIGGER listings_tile_cells_sync AFTER INSERT OR UPDATE OR DELETE ON listings
FOR EACH ROW EXECUTE FUNCTION listings_tile_cells_sync();
-- ;;
-- The whole rollup from the table: after bulk loads with the trigger disabled, or to check.
CREATE FUNCTION sirkel_tile_cells_rebuild() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    rows bigint;
BEGIN
    DELETE FROM listing_tile_cells;
    INSERT INTO listing_tile_cells (level, cx, cy, kind, mode, category, n, sum_mx, sum_my)
    SELECT level, sirkel_cell_x(mx, level), sirkel_cell_y(my, level), k.kind, k.mode,
           k.category, count(*), sum(mx), sum(my)
    FROM (
        SELECT sirkel_mercator_x(public_geom) AS mx, sirkel_mercator_y(public_geom) AS my,
               kind, coalesce(mode, '') AS mode, coalesce(category_slug, '') AS category
        FROM listings WHERE status = 'active' AND hidden_at IS NULL
    ) AS l,
    LATERAL (VALUES ('*', '*', '*'), (l.kind, l.mode, l.category)) AS k (kind, mode, category),
    generate_series(5, 13) AS level
    GROUP BY 1, 2, 3, 4, 5, 6;
    GET DIAGNOSTICS rows = ROW_COUNT;
    RETURN rows;
END
$$;
"""


def _execute_each(script: str) -> None:
    """asyncpg runs one statement per call; the script separates them with ``-- ;;``."""
    for statement in script.split("-- ;;"):
        if statement.strip():
            op.execute(statement)


def upgrade() -> None:
    op.create_table(
        "listing_tile_cells",
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.Column("cx", sa.Integer(), nullable=False),
        sa.Column("cy", sa.Integer(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("mode", sa.Text(), nullable=False),
        sa.Column("category", sa.Text(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("sum_mx", sa.Double(), nullable=False),
        sa.Column("sum_my", sa.Double(), nullable=False),
        sa.CheckConstraint(
            "level BETWEEN 5 AND 13", name=op.f("ck_listing_tile_cells_level_range")
        ),
        sa.CheckConstraint("n >= 0", name=op.f("ck_listing_tile_cells_count_not_negative")),
        sa.PrimaryKeyConstraint(
            "level", "cx", "cy", "kind", "mode", "category", name=op.f("pk_listing_tile_cells")
        ),
    )
    _execute_each(SQL)
    op.execute("SELECT sirkel_tile_cells_rebuild()")


def downgrade() -> None:
    op.execute("DROP TRIGGER listings_tile_cells_sync ON listings")
    for function in (
        "sirkel_tile_cells_rebuild()",
        "listings_tile_cells_sync()",
        "sirkel_tile_cells_add(geometry, text, text, text, integer)",
        "sirkel_cell_y(double precision, integer)",
        "sirkel_cell_x(double precision, integer)",
        "sirkel_mercator_y(geometry)",
        "sirkel_mercator_x(geometry)",
    ):
        op.execute(f"DROP FUNCTION {function}")
    op.drop_table("listing_tile_cells")
