"""The transactional outbox and in-app notifications (``app.models.outbox`` lists the
invariants): ``outbox_events`` written with the change itself, fanned out by the trigger
``outbox_events_notify`` to one notification per person (an organization's: each member).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 02:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EVENT_TYPES = (
    "transaction.requested",
    "transaction.accepted",
    "transaction.declined",
    "transaction.cancelled",
    "transaction.expired",
    "transaction.picked_up",
    "transaction.overdue",
    "transaction.returned",
    "transaction.completed",
    "transaction.confirmed",
    "transaction.disputed",
    "transaction.voided",
    "transaction.due_soon",
    "message.received",
    "listing.approved",
    "listing.hidden",
    "listing.expiring",
    "report.actioned",
    "review.received",
    "webhook.disabled",
)

TRIGGERS_SQL = r"""
-- Every event is in its recipients' notifications in the statement that writes it: the
-- person, or every member of the organization as it is when the event happens.
CREATE FUNCTION outbox_events_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.recipient_person_id IS NOT NULL THEN
        INSERT INTO notifications (event_seq, person_id, created_at)
        SELECT NEW.seq, p.id, NEW.created_at FROM persons AS p
        WHERE p.id = NEW.recipient_person_id AND p.erased_at IS NULL;
    ELSE
        INSERT INTO notifications (event_seq, person_id, created_at)
        SELECT NEW.seq, m.person_id, NEW.created_at FROM memberships AS m
        WHERE m.organization_id = NEW.recipient_organization_id;
    END IF;
    RETURN NULL;
END
$$;
-- ;;
CREATE TRIGGER outbox_events_notify AFTER INSERT ON outbox_events
FOR EACH ROW EXECUTE FUNCTION outbox_events_notify();
-- ;;
CREATE TRIGGER outbox_events_append_only BEFORE UPDATE OR DELETE ON outbox_events
FOR EACH ROW EXECUTE FUNCTION sirkel_refuse_change();
-- ;;
-- A notification only moves from unread to read.
CREATE FUNCTION notifications_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.id, NEW.event_seq, NEW.person_id, NEW.created_at)
       IS DISTINCT FROM (OLD.id, OLD.event_seq, OLD.person_id, OLD.created_at)
       OR (OLD.read_at IS NOT NULL AND NEW.read_at IS DISTINCT FROM OLD.read_at) THEN
        RAISE EXCEPTION 'a notification only moves from unread to read'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'notifications_read_once';
    END IF;
    RETURN NEW;
END
$$;
-- ;;
CREATE TRIGGER notifications_guard BEFORE UPDATE ON notifications
FOR EACH ROW EXECUTE FUNCTION notifications_guard();
"""


def _execute_each(script: str) -> None:
    """asyncpg runs one statement per call; the scripts separate theirs with ``-- ;;``."""
    for statement in script.split("-- ;;"):
        if statement.strip():
            op.execute(statement)


def upgrade() -> None:
    op.create_table(
        "outbox_events",
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("recipient_person_id", sa.Uuid(), nullable=True),
        sa.Column("recipient_organization_id", sa.Uuid(), nullable=True),
        sa.Column(
            "payload",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("once_key", sa.Text(), nullable=True),
        sa.Column(
            "written_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.clock_timestamp(),
            nullable=False,
        ),
        sa.CheckConstraint(
            "type IN (" + ", ".join(repr(t) for t in EVENT_TYPES) + ")",
            name=op.f("ck_outbox_events_type_known"),
        ),
        sa.CheckConstraint(
            "num_nonnulls(recipient_person_id, recipient_organization_id) = 1",
            name=op.f("ck_outbox_events_one_recipient"),
        ),
        sa.ForeignKeyConstraint(
            ["recipient_person_id"],
            ["persons.id"],
            name=op.f("fk_outbox_events_recipient_person_id_persons"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["recipient_organization_id"],
            ["organizations.id"],
            name=op.f("fk_outbox_events_recipient_organization_id_organizations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_outbox_events")),
        sa.UniqueConstraint("id", name=op.f("uq_outbox_events_id")),
    )
    op.create_index("ix_outbox_events_person", "outbox_events", ["recipient_person_id", "seq"])
    op.create_index(
        "uq_outbox_events_once",
        "outbox_events",
        ["once_key"],
        unique=True,
        postgresql_where=sa.text("once_key IS NOT NULL"),
    )
    op.create_index(
        "ix_outbox_events_organization", "outbox_events", ["recipient_organization_id", "seq"]
    )
    op.create_table(
        "notifications",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("event_seq", sa.BigInteger(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["event_seq"],
            ["outbox_events.seq"],
            name=op.f("fk_notifications_event_seq_outbox_events"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["persons.id"],
            name=op.f("fk_notifications_person_id_persons"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        sa.UniqueConstraint("person_id", "event_seq", name="uq_notifications_person_event"),
    )
    op.create_index(
        "ix_notifications_unread",
        "notifications",
        ["person_id", "event_seq"],
        postgresql_where=sa.text("read_at IS NULL"),
    )
    _execute_each(TRIGGERS_SQL)


def downgrade() -> None:
    op.drop_table("notifications")
    op.drop_table("outbox_events")
    op.execute("DROP FUNCTION IF EXISTS notifications_guard()")
    op.execute("DROP FUNCTION IF EXISTS outbox_events_notify()")
