"""A person blocks another (``app.models.block`` lists the invariants).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 03:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TRIGGERS_SQL = r"""
CREATE FUNCTION sirkel_blocked(a uuid, b uuid) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT a IS NOT NULL AND b IS NOT NULL AND EXISTS (
        SELECT 1 FROM blocks
        WHERE (blocker_person_id = a AND blocked_person_id = b)
           OR (blocker_person_id = b AND blocked_person_id = a)
    )
$$;
-- ;;
CREATE FUNCTION transactions_not_blocked() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF sirkel_blocked(NEW.provider_person_id, NEW.receiver_person_id) THEN
        RAISE EXCEPTION 'one of the two persons blocked the other'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'transactions_not_blocked';
    END IF;
    RETURN NEW;
END
$$;
-- ;;
CREATE TRIGGER transactions_not_blocked BEFORE INSERT ON transactions
FOR EACH ROW EXECUTE FUNCTION transactions_not_blocked();
-- ;;
-- A message written in the conversation between the two persons of a transaction, one of whom
-- blocked the other (the notes of moves still go: a transaction under way keeps its moves).
CREATE FUNCTION messages_not_blocked() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    t transactions%ROWTYPE;
BEGIN
    IF NEW.kind <> 'text' OR NEW.author_side = 'moderator' OR NEW.author_person_id IS NULL THEN
        RETURN NEW;
    END IF;
    SELECT * INTO t FROM transactions WHERE id = NEW.transaction_id;
    IF sirkel_blocked(
        NEW.author_person_id,
        CASE WHEN NEW.author_side = 'provider' THEN t.receiver_person_id
             ELSE t.provider_person_id END
    ) THEN
        RAISE EXCEPTION 'one of the two persons blocked the other'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'messages_not_blocked';
    END IF;
    RETURN NEW;
END
$$;
-- ;;
CREATE TRIGGER messages_not_blocked BEFORE INSERT ON messages
FOR EACH ROW EXECUTE FUNCTION messages_not_blocked();
"""


def _execute_each(script: str) -> None:
    """asyncpg runs one statement per call; the scripts separate theirs with ``-- ;;``."""
    for statement in script.split("-- ;;"):
        if statement.strip():
            op.execute(statement)


def upgrade() -> None:
    op.create_table(
        "blocks",
        sa.Column("blocker_person_id", sa.Uuid(), nullable=False),
        sa.Column("blocked_person_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "blocker_person_id <> blocked_person_id", name=op.f("ck_blocks_not_self")
        ),
        sa.ForeignKeyConstraint(
            ["blocker_person_id"],
            ["persons.id"],
            name=op.f("fk_blocks_blocker_person_id_persons"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["blocked_person_id"],
            ["persons.id"],
            name=op.f("fk_blocks_blocked_person_id_persons"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("blocker_person_id", "blocked_person_id", name=op.f("pk_blocks")),
    )
    op.create_index("ix_blocks_blocked", "blocks", ["blocked_person_id"])
    _execute_each(TRIGGERS_SQL)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS messages_not_blocked ON messages")
    op.execute("DROP TRIGGER IF EXISTS transactions_not_blocked ON transactions")
    op.execute("DROP FUNCTION IF EXISTS messages_not_blocked()")
    op.execute("DROP FUNCTION IF EXISTS transactions_not_blocked()")
    op.drop_table("blocks")
    op.execute("DROP FUNCTION IF EXISTS sirkel_blocked(uuid, uuid)")
