"""Listing photos (``app.models.photo`` lists the invariants).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-05 04:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TRIGGERS_SQL = r"""
CREATE FUNCTION listing_photos_at_most_10() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.removed_at IS NOT NULL THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.removed_at IS NULL AND OLD.listing_id = NEW.listing_id THEN
        RETURN NEW;
    END IF;
    -- The listing's row lock puts concurrent uploads to one listing in a line; each counts
    -- what the ones before it committed.
    PERFORM 1 FROM listings WHERE id = NEW.listing_id FOR UPDATE;
    IF (SELECT count(*) FROM listing_photos
        WHERE listing_id = NEW.listing_id AND removed_at IS NULL AND id <> NEW.id) >= 10 THEN
        RAISE EXCEPTION 'a listing has at most 10 photos'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'listing_photos_at_most_10';
    END IF;
    RETURN NEW;
END
$$;
-- ;;
CREATE TRIGGER listing_photos_at_most_10 BEFORE INSERT OR UPDATE ON listing_photos
FOR EACH ROW EXECUTE FUNCTION listing_photos_at_most_10();
"""


def _execute_each(script: str) -> None:
    """asyncpg runs one statement per call; the scripts separate theirs with ``-- ;;``."""
    for statement in script.split("-- ;;"):
        if statement.strip():
            op.execute(statement)


def upgrade() -> None:
    op.create_table(
        "listing_photos",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("listing_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("source_sha256", sa.String(length=64), nullable=False),
        sa.Column("renditions", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("bytes", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("removed_reason", sa.Text(), nullable=True),
        sa.Column("removed_by", sa.Uuid(), nullable=True),
        sa.CheckConstraint(
            "position >= 0 AND position < 10", name=op.f("ck_listing_photos_position_range")
        ),
        sa.CheckConstraint(
            "width > 0 AND height > 0 AND bytes > 0", name=op.f("ck_listing_photos_positive")
        ),
        sa.CheckConstraint(
            "(removed_at IS NULL) = (removed_reason IS NULL)",
            name=op.f("ck_listing_photos_removal_has_reason"),
        ),
        sa.ForeignKeyConstraint(
            ["listing_id"],
            ["listings.id"],
            name=op.f("fk_listing_photos_listing_id_listings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["persons.id"],
            name=op.f("fk_listing_photos_created_by_persons"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["removed_by"],
            ["persons.id"],
            name=op.f("fk_listing_photos_removed_by_persons"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_listing_photos")),
    )
    # One live photo per position, and the index that finds a listing's first live photo.
    op.create_index(
        "ux_listing_photos_live_position",
        "listing_photos",
        ["listing_id", "position"],
        unique=True,
        postgresql_where=sa.text("removed_at IS NULL"),
    )
    op.create_index("ix_listing_photos_created_by", "listing_photos", ["created_by"])
    _execute_each(TRIGGERS_SQL)


def downgrade() -> None:
    op.drop_table("listing_photos")
    op.execute("DROP FUNCTION IF EXISTS listing_photos_at_most_10()")
