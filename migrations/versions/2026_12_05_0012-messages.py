"""Messages between the parties of a transaction, read markers, and the provider's sharing of
the exact place (``app.models.message`` lists the invariants).

Revision ID: 0012
Revises: 0009
Create Date: 2026-12-05 01:30:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GUARD_SQL = r"""
-- The author of a message is a party of its transaction on the side the message says: the
-- side's person, or the side's organization (a member writing for it, or its API key alone).
-- Only a moderator's move leaves a moderator's note. A message never changes afterwards,
-- except that erasure of its author empties it; it is never deleted.
CREATE FUNCTION messages_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    t transactions%ROWTYPE;
    side_person uuid;
    side_org uuid;
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'messages are never deleted'
            USING ERRCODE = 'insufficient_privilege', CONSTRAINT = 'messages_kept';
    END IF;
    IF TG_OP = 'UPDATE' THEN
        IF (NEW.id, NEW.seq, NEW.transaction_id, NEW.author_side, NEW.author_person_id,
            NEW.author_organization_id, NEW.kind, NEW.action, NEW.created_at)
           IS DISTINCT FROM
           (OLD.id, OLD.seq, OLD.transaction_id, OLD.author_side, OLD.author_person_id,
            OLD.author_organization_id, OLD.kind, OLD.action, OLD.created_at)
           OR (NEW.body <> OLD.body AND NEW.body <> '') THEN
            RAISE EXCEPTION 'a message never changes; only erasure empties it'
                USING ERRCODE = 'check_violation', CONSTRAINT = 'messages_immutable';
        END IF;
        RETURN NEW;
    END IF;
    IF NEW.author_side = 'moderator' THEN
        IF NEW.kind <> 'note' OR NOT EXISTS (
            SELECT 1 FROM persons AS p
            WHERE p.id = NEW.author_person_id AND 'moderator' = ANY (p.roles)
        ) THEN
            RAISE EXCEPTION 'only a moderator''s move leaves a moderator''s note'
                USING ERRCODE = 'check_violation', CONSTRAINT = 'messages_author_is_party';
        END IF;
        RETURN NEW;
    END IF;
    SELECT * INTO t FROM transactions WHERE id = NEW.transaction_id;
    IF NEW.author_side = 'provider' THEN
        side_person := t.provider_person_id;
        side_org := t.provider_organization_id;
    ELSE
        side_person := t.receiver_person_id;
        side_org := t.receiver_organization_id;
    END IF;
    IF NOT (
        (side_person IS NOT NULL AND NEW.author_person_id = side_person
         AND NEW.author_organization_id IS NULL)
        OR (side_org IS NOT NULL AND NEW.author_organization_id = side_org
            AND (NEW.author_person_id IS NULL OR EXISTS (
                SELECT 1 FROM memberships AS m
                WHERE m.organization_id = side_org AND m.person_id = NEW.author_person_id)))
    ) THEN
        RAISE EXCEPTION 'the author is not the transaction''s %', NEW.author_side
            USING ERRCODE = 'check_violation', CONSTRAINT = 'messages_author_is_party';
    END IF;
    RETURN NEW;
END
$$;
-- ;;
CREATE TRIGGER messages_guard BEFORE INSERT OR UPDATE OR DELETE ON messages
FOR EACH ROW EXECUTE FUNCTION messages_guard();
"""


def _execute_each(script: str) -> None:
    """asyncpg runs one statement per call; the scripts separate theirs with ``-- ;;``."""
    for statement in script.split("-- ;;"):
        if statement.strip():
            op.execute(statement)


def upgrade() -> None:
    op.add_column(
        "transactions", sa.Column("location_shared_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column("transactions", sa.Column("pickup_note", sa.Text(), nullable=True))
    op.create_check_constraint(
        "pickup_note_when_shared",
        "transactions",
        "pickup_note IS NULL OR (location_shared_at IS NOT NULL "
        "AND char_length(pickup_note) <= 1000)",
    )
    op.create_table(
        "messages",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("transaction_id", sa.Uuid(), nullable=False),
        sa.Column("author_side", sa.Text(), nullable=False),
        sa.Column("author_person_id", sa.Uuid(), nullable=True),
        sa.Column("author_organization_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "author_side IN ('provider', 'receiver', 'moderator')",
            name=op.f("ck_messages_author_side_known"),
        ),
        sa.CheckConstraint(
            "kind IN ('text', 'request', 'note')", name=op.f("ck_messages_kind_known")
        ),
        sa.CheckConstraint(
            "(kind = 'note') = (action IS NOT NULL)", name=op.f("ck_messages_note_has_action")
        ),
        sa.CheckConstraint("char_length(body) <= 4000", name=op.f("ck_messages_body_length")),
        sa.CheckConstraint(
            "(erased_at IS NULL) = (body <> '')", name=op.f("ck_messages_body_unless_erased")
        ),
        sa.CheckConstraint(
            "erased_at IS NOT NULL OR num_nonnulls(author_person_id, author_organization_id) >= 1",
            name=op.f("ck_messages_has_author"),
        ),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["transactions.id"],
            name=op.f("fk_messages_transaction_id_transactions"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["author_person_id"],
            ["persons.id"],
            name=op.f("fk_messages_author_person_id_persons"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["author_organization_id"],
            ["organizations.id"],
            name=op.f("fk_messages_author_organization_id_organizations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
        sa.UniqueConstraint("seq", name=op.f("uq_messages_seq")),
    )
    op.create_index("ix_messages_transaction", "messages", ["transaction_id", "seq"])
    op.create_index("ix_messages_author", "messages", ["author_person_id"])
    op.create_table(
        "message_reads",
        sa.Column("transaction_id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["transactions.id"],
            name=op.f("fk_message_reads_transaction_id_transactions"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["persons.id"],
            name=op.f("fk_message_reads_person_id_persons"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("transaction_id", "person_id", name=op.f("pk_message_reads")),
    )
    _execute_each(GUARD_SQL)


def downgrade() -> None:
    op.drop_table("message_reads")
    op.drop_table("messages")
    op.execute("DROP FUNCTION IF EXISTS messages_guard()")
    op.drop_constraint("pickup_note_when_shared", "transactions", type_="check")
    op.drop_column("transactions", "pickup_note")
    op.drop_column("transactions", "location_shared_at")
