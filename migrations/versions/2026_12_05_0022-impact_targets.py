"""The mission's targets, versioned (``app.models.target`` lists the invariants).

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-05 05:40:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TRIGGERS_SQL = r"""
CREATE FUNCTION impact_targets_immutable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'a target version never changes; a change is the next version'
        USING ERRCODE = 'check_violation', CONSTRAINT = 'impact_targets_immutable';
END
$$;
-- ;;
CREATE TRIGGER impact_targets_immutable BEFORE UPDATE OR DELETE ON impact_targets
FOR EACH ROW EXECUTE FUNCTION impact_targets_immutable();
-- ;;
CREATE FUNCTION impact_targets_next_version() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    last smallint;
BEGIN
    -- One change of a target at a time: they queue on this lock, each sees the one before.
    PERFORM pg_advisory_xact_lock(hashtextextended(NEW.target_id::text, 2035));
    SELECT max(version) INTO last FROM impact_targets WHERE target_id = NEW.target_id;
    IF NEW.version <> coalesce(last, 0) + 1 THEN
        RAISE EXCEPTION 'target % is at version %, not %', NEW.target_id, coalesce(last, 0),
            NEW.version - 1
            USING ERRCODE = 'check_violation', CONSTRAINT = 'impact_targets_next_version';
    END IF;
    RETURN NEW;
END
$$;
-- ;;
CREATE TRIGGER impact_targets_next_version BEFORE INSERT ON impact_targets
FOR EACH ROW EXECUTE FUNCTION impact_targets_next_version();
"""


def upgrade() -> None:
    op.create_table(
        "impact_targets",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("target_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.SmallInteger(), nullable=False),
        sa.Column("indicator", sa.Text(), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("scope_code", sa.Text(), nullable=True),
        sa.Column("initiative_id", sa.Uuid(), nullable=True),
        sa.Column("baseline_year", sa.SmallInteger(), nullable=False),
        sa.Column("target_year", sa.SmallInteger(), nullable=False),
        sa.Column("target_value", sa.Numeric(20, 4), nullable=True),
        sa.Column("target_change_pct", sa.Numeric(9, 3), nullable=True),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("decided_by", sa.Text(), nullable=True),
        sa.Column("reference_title", sa.Text(), nullable=True),
        sa.Column("reference_url", sa.Text(), nullable=True),
        sa.Column("reference_date", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("version >= 1", name=op.f("ck_impact_targets_version_positive")),
        sa.CheckConstraint(
            "scope IN ('norway', 'fylke', 'kommune')", name=op.f("ck_impact_targets_scope_known")
        ),
        sa.CheckConstraint(
            "(scope = 'norway' AND scope_code IS NULL) "
            "OR (scope = 'fylke' AND scope_code ~ '^[0-9]{2}$') "
            "OR (scope = 'kommune' AND scope_code ~ '^[0-9]{4}$')",
            name=op.f("ck_impact_targets_scope_code_fits"),
        ),
        sa.CheckConstraint(
            "baseline_year >= 2000 AND target_year > baseline_year AND target_year <= 2035",
            name=op.f("ck_impact_targets_years"),
        ),
        sa.CheckConstraint(
            "num_nonnulls(target_value, target_change_pct) = 1",
            name=op.f("ck_impact_targets_one_kind_of_target"),
        ),
        sa.CheckConstraint(
            "target_change_pct > -100", name=op.f("ck_impact_targets_change_above_minus_100")
        ),
        sa.CheckConstraint(
            "path IN ('linear', 'annual_growth')", name=op.f("ck_impact_targets_path_known")
        ),
        sa.CheckConstraint(
            "status IN ('proposed', 'recommended', 'adopted', 'withdrawn')",
            name=op.f("ck_impact_targets_status_known"),
        ),
        sa.CheckConstraint(
            "char_length(indicator) <= 100 AND char_length(coalesce(note, '')) <= 2000 "
            "AND char_length(coalesce(decided_by, '')) <= 200 "
            "AND char_length(coalesce(reference_title, '')) <= 300 "
            "AND char_length(coalesce(reference_url, '')) <= 2000",
            name=op.f("ck_impact_targets_text_lengths"),
        ),
        sa.ForeignKeyConstraint(
            ["initiative_id"],
            ["initiatives.id"],
            name=op.f("fk_impact_targets_initiative_id_initiatives"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["persons.id"],
            name=op.f("fk_impact_targets_created_by_persons"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_impact_targets")),
        sa.UniqueConstraint("target_id", "version", name="uq_impact_targets_version"),
    )
    op.create_index(
        "ix_impact_targets_indicator", "impact_targets", ["indicator", "scope", "scope_code"]
    )
    for statement in TRIGGERS_SQL.split("-- ;;"):
        if statement.strip():
            op.execute(statement)


def downgrade() -> None:
    op.drop_table("impact_targets")
    op.execute("DROP FUNCTION IF EXISTS impact_targets_immutable()")
    op.execute("DROP FUNCTION IF EXISTS impact_targets_next_version()")
