"""Blind reviews after a confirmed handover (``app.models.review`` lists the invariants).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05 04:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TRIGGERS_SQL = r"""
CREATE FUNCTION reviews_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    t transactions%ROWTYPE;
    side_person uuid;
    side_org uuid;
    other_person uuid;
    other_org uuid;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF (NEW.id, NEW.transaction_id, NEW.author_side, NEW.author_organization_id,
            NEW.subject_person_id, NEW.subject_organization_id, NEW.rating, NEW.created_at)
           IS DISTINCT FROM
           (OLD.id, OLD.transaction_id, OLD.author_side, OLD.author_organization_id,
            OLD.subject_person_id, OLD.subject_organization_id, OLD.rating, OLD.created_at)
           OR (NEW.author_person_id IS DISTINCT FROM OLD.author_person_id
               AND NEW.author_person_id IS NOT NULL)
           OR (NEW.body <> OLD.body AND NOT (NEW.body = '' AND NEW.author_person_id IS NULL))
           OR (OLD.revealed_at IS NOT NULL AND NEW.revealed_at IS DISTINCT FROM OLD.revealed_at)
           OR (OLD.replied_at IS NOT NULL AND NEW.replied_at IS DISTINCT FROM OLD.replied_at)
        THEN
            RAISE EXCEPTION 'a review is revealed once, answered once, emptied by erasure'
                USING ERRCODE = 'check_violation', CONSTRAINT = 'reviews_immutable';
        END IF;
        RETURN NEW;
    END IF;
    SELECT * INTO t FROM transactions WHERE id = NEW.transaction_id;
    IF t.status <> 'confirmed' THEN
        RAISE EXCEPTION 'reviews open when the transaction is confirmed'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'reviews_confirmed_only';
    END IF;
    IF NEW.created_at > t.confirmed_at + interval '14 days' THEN
        RAISE EXCEPTION 'the review window closed 14 days after confirmation'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'reviews_window';
    END IF;
    IF NEW.author_side = 'provider' THEN
        side_person := t.provider_person_id; side_org := t.provider_organization_id;
        other_person := t.receiver_person_id; other_org := t.receiver_organization_id;
    ELSE
        side_person := t.receiver_person_id; side_org := t.receiver_organization_id;
        other_person := t.provider_person_id; other_org := t.provider_organization_id;
    END IF;
    IF NOT (
        (side_person IS NOT NULL AND NEW.author_person_id = side_person
         AND NEW.author_organization_id IS NULL)
        OR (side_org IS NOT NULL AND NEW.author_organization_id = side_org AND EXISTS (
            SELECT 1 FROM memberships AS m
            WHERE m.organization_id = side_org AND m.person_id = NEW.author_person_id))
    ) OR NEW.subject_person_id IS DISTINCT FROM other_person
      OR NEW.subject_organization_id IS DISTINCT FROM other_org
      OR NEW.revealed_at IS NOT NULL OR NEW.reply IS NOT NULL THEN
        RAISE EXCEPTION 'a review is by a party of its side about the other side'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'reviews_by_a_party';
    END IF;
    RETURN NEW;
END
$$;
-- ;;
CREATE TRIGGER reviews_guard BEFORE INSERT OR UPDATE ON reviews
FOR EACH ROW EXECUTE FUNCTION reviews_guard();
-- ;;
-- The second review reveals both.
CREATE FUNCTION reviews_reveal() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM reviews WHERE transaction_id = NEW.transaction_id
               AND author_side <> NEW.author_side) THEN
        UPDATE reviews SET revealed_at = NEW.created_at
        WHERE transaction_id = NEW.transaction_id AND revealed_at IS NULL;
    END IF;
    RETURN NULL;
END
$$;
-- ;;
CREATE TRIGGER reviews_reveal AFTER INSERT ON reviews
FOR EACH ROW EXECUTE FUNCTION reviews_reveal();
-- ;;
CREATE TRIGGER reviews_kept BEFORE DELETE ON reviews
FOR EACH ROW EXECUTE FUNCTION sirkel_refuse_change();
"""


def _execute_each(script: str) -> None:
    """asyncpg runs one statement per call; the scripts separate theirs with ``-- ;;``."""
    for statement in script.split("-- ;;"):
        if statement.strip():
            op.execute(statement)


def _fk(column: str, table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{table}.id"], name=op.f(f"fk_reviews_{column}_{table}"), ondelete="RESTRICT"
    )


def upgrade() -> None:
    op.create_table(
        "reviews",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("transaction_id", sa.Uuid(), nullable=False),
        sa.Column("author_side", sa.Text(), nullable=False),
        sa.Column("author_person_id", sa.Uuid(), nullable=True),
        sa.Column("author_organization_id", sa.Uuid(), nullable=True),
        sa.Column("subject_person_id", sa.Uuid(), nullable=True),
        sa.Column("subject_organization_id", sa.Uuid(), nullable=True),
        sa.Column("rating", sa.SmallInteger(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revealed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reply", sa.Text(), nullable=True),
        sa.Column("replied_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "author_side IN ('provider', 'receiver')", name=op.f("ck_reviews_author_side_known")
        ),
        sa.CheckConstraint("rating BETWEEN 1 AND 5", name=op.f("ck_reviews_rating_range")),
        sa.CheckConstraint("char_length(body) <= 1000", name=op.f("ck_reviews_body_length")),
        sa.CheckConstraint("char_length(reply) <= 1000", name=op.f("ck_reviews_reply_length")),
        sa.CheckConstraint(
            "num_nonnulls(subject_person_id, subject_organization_id) = 1",
            name=op.f("ck_reviews_one_subject"),
        ),
        sa.CheckConstraint(
            "(reply IS NULL) = (replied_at IS NULL)", name=op.f("ck_reviews_reply_has_time")
        ),
        sa.CheckConstraint(
            "author_person_id IS NOT NULL OR body = ''", name=op.f("ck_reviews_erased_has_no_text")
        ),
        _fk("transaction_id", "transactions"),
        _fk("author_person_id", "persons"),
        _fk("author_organization_id", "organizations"),
        _fk("subject_person_id", "persons"),
        _fk("subject_organization_id", "organizations"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reviews")),
        sa.UniqueConstraint("transaction_id", "author_side", name="uq_reviews_once"),
    )
    op.create_index("ix_reviews_subject_person", "reviews", ["subject_person_id", "created_at"])
    op.create_index(
        "ix_reviews_subject_organization", "reviews", ["subject_organization_id", "created_at"]
    )
    op.create_index("ix_reviews_author", "reviews", ["author_person_id"])
    _execute_each(TRIGGERS_SQL)


def downgrade() -> None:
    op.drop_table("reviews")
    op.execute("DROP FUNCTION IF EXISTS reviews_reveal()")
    op.execute("DROP FUNCTION IF EXISTS reviews_guard()")
