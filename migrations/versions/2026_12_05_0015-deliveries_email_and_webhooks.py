"""Deliveries from the outbox: per-person notification settings, organizations' webhooks,
planned deliveries (e-mail and webhooks) and the planners' cursors (``app.models.outbox``
lists the invariants).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 02:30:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FINAL_SQL = r"""
-- A delivered delivery is final; a dead one only goes back to pending (someone retries it).
CREATE FUNCTION deliveries_final() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status = 'delivered' OR (OLD.status = 'dead' AND NEW.status <> 'pending') THEN
        RAISE EXCEPTION 'delivery % is already %', OLD.id, OLD.status
            USING ERRCODE = 'check_violation', CONSTRAINT = 'deliveries_final';
    END IF;
    RETURN NEW;
END
$$;
-- ;;
CREATE TRIGGER deliveries_final BEFORE UPDATE ON deliveries
FOR EACH ROW EXECUTE FUNCTION deliveries_final();
"""


def _execute_each(script: str) -> None:
    """asyncpg runs one statement per call; the scripts separate theirs with ``-- ;;``."""
    for statement in script.split("-- ;;"):
        if statement.strip():
            op.execute(statement)


def upgrade() -> None:
    op.create_table(
        "notification_settings",
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("category", sa.Text(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "category IN ('transactions', 'messages', 'listings', 'moderation', 'account')",
            name=op.f("ck_notification_settings_category_known"),
        ),
        sa.CheckConstraint(
            "channel IN ('email')", name=op.f("ck_notification_settings_channel_known")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["persons.id"],
            name=op.f("fk_notification_settings_person_id_persons"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "person_id", "category", "channel", name=op.f("pk_notification_settings")
        ),
    )
    op.create_table(
        "webhooks",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column(
            "event_types",
            postgresql.ARRAY(sa.Text()),
            server_default=sa.text("'{}'::text[]"),
            nullable=False,
        ),
        sa.Column("secret_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.Text(), server_default="active", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("disabled_reason", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "status IN ('active', 'disabled')", name=op.f("ck_webhooks_status_known")
        ),
        sa.CheckConstraint("char_length(url) <= 2000", name=op.f("ck_webhooks_url_length")),
        sa.CheckConstraint(
            "(status = 'disabled') = (disabled_at IS NOT NULL)",
            name=op.f("ck_webhooks_disabled_has_time"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_webhooks_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["persons.id"],
            name=op.f("fk_webhooks_created_by_persons"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhooks")),
    )
    op.create_index("ix_webhooks_organization", "webhooks", ["organization_id"])
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("event_seq", sa.BigInteger(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=True),
        sa.Column("webhook_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.Text(), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("response_body", sa.Text(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "channel IN ('email', 'webhook')", name=op.f("ck_deliveries_channel_known")
        ),
        sa.CheckConstraint(
            "(channel = 'email' AND person_id IS NOT NULL AND webhook_id IS NULL) OR "
            "(channel = 'webhook' AND webhook_id IS NOT NULL AND person_id IS NULL)",
            name=op.f("ck_deliveries_one_target"),
        ),
        sa.CheckConstraint(
            "char_length(response_body) <= 1024", name=op.f("ck_deliveries_response_body_length")
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'delivered', 'dead')", name=op.f("ck_deliveries_status_known")
        ),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_deliveries_attempts_non_negative")),
        sa.CheckConstraint(
            "(status = 'delivered') = (delivered_at IS NOT NULL)",
            name=op.f("ck_deliveries_delivered_has_time"),
        ),
        sa.CheckConstraint(
            "char_length(last_error) <= 1000", name=op.f("ck_deliveries_last_error_length")
        ),
        sa.ForeignKeyConstraint(
            ["event_seq"],
            ["outbox_events.seq"],
            name=op.f("fk_deliveries_event_seq_outbox_events"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["persons.id"],
            name=op.f("fk_deliveries_person_id_persons"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["webhook_id"],
            ["webhooks.id"],
            name=op.f("fk_deliveries_webhook_id_webhooks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
        sa.UniqueConstraint("event_seq", "channel", "person_id", name="uq_deliveries_once"),
    )
    op.create_index(
        "ix_deliveries_due",
        "deliveries",
        ["channel", "next_attempt_at"],
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index(
        "ix_deliveries_pending_person",
        "deliveries",
        ["channel", "person_id", "event_seq"],
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index(
        "uq_deliveries_once_per_webhook",
        "deliveries",
        ["event_seq", "webhook_id"],
        unique=True,
        postgresql_where=sa.text("webhook_id IS NOT NULL"),
    )
    op.create_index(
        "ix_deliveries_pending_webhook",
        "deliveries",
        ["webhook_id", "event_seq"],
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index("ix_deliveries_webhook_log", "deliveries", ["webhook_id", "event_seq"])
    op.create_table(
        "outbox_cursors",
        sa.Column("consumer", sa.Text(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("consumer", name=op.f("pk_outbox_cursors")),
    )
    _execute_each(FINAL_SQL)


def downgrade() -> None:
    op.drop_table("outbox_cursors")
    op.drop_table("deliveries")
    op.execute("DROP FUNCTION IF EXISTS deliveries_final()")
    op.drop_table("webhooks")
    op.drop_table("notification_settings")
