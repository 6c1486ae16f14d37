"""Holds and waitlists (issue #19): ``holds`` (see ``app.models.hold``), the trigger
``transactions_unit_held`` that keeps a ready hold's unit from anyone else's booking over its
pickup window, and the outbox events ``hold.ready`` and ``hold.lapsed``.

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-05 14:30:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0030"
down_revision: str | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As 0028 left them.
EVENT_TYPES_BEFORE = (
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
    "listing.photo_removed",
    "saved_search.matched",
    "saved_search.digest",
    "listing.match_found",
    "transaction.renewed",
    "transaction.due_today",
    "transaction.still_overdue",
)
EVENT_TYPES_AFTER = (*EVENT_TYPES_BEFORE, "hold.ready", "hold.lapsed")

TRIGGER_SQL = r"""
CREATE FUNCTION transactions_unit_held() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.blocked IS NOT NULL AND EXISTS (
        SELECT 1 FROM holds AS h
        WHERE h.listing_id = NEW.listing_id AND h.unit_no = NEW.unit_no
          AND h.status = 'ready'
          AND tstzrange(h.ready_at, h.ready_until) && NEW.blocked
          AND h.person_id IS DISTINCT FROM NEW.receiver_person_id
    ) THEN
        RAISE EXCEPTION 'the unit is kept for a hold over this period'
            USING ERRCODE = 'exclusion_violation', CONSTRAINT = 'transactions_unit_held';
    END IF;
    RETURN NEW;
END
$$;
-- ;;
CREATE TRIGGER transactions_unit_held BEFORE INSERT ON transactions
FOR EACH ROW EXECUTE FUNCTION transactions_unit_held();
"""


def _event_types(types: tuple[str, ...]) -> None:
    op.drop_constraint("type_known", "outbox_events", type_="check")
    op.create_check_constraint(
        "type_known", "outbox_events", "type IN (" + ", ".join(repr(t) for t in types) + ")"
    )


def upgrade() -> None:
    op.create_table(
        "holds",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("listing_id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("unit_no", sa.SmallInteger(), nullable=True),
        sa.Column("ready_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ready_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("transaction_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('waiting', 'ready', 'fulfilled', 'cancelled', 'lapsed')",
            name=op.f("ck_holds_status_known"),
        ),
        sa.CheckConstraint(
            "(status <> 'ready' OR (unit_no >= 1 AND ready_at IS NOT NULL "
            "AND ready_until > ready_at)) AND (status <> 'waiting' OR (unit_no IS NULL "
            "AND ready_at IS NULL AND ready_until IS NULL))",
            name=op.f("ck_holds_ready_has_unit"),
        ),
        sa.CheckConstraint(
            "(closed_at IS NULL) = (status IN ('waiting', 'ready'))",
            name=op.f("ck_holds_closed_when_done"),
        ),
        sa.ForeignKeyConstraint(
            ["listing_id"],
            ["listings.id"],
            name=op.f("fk_holds_listing_id_listings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["persons.id"],
            name=op.f("fk_holds_person_id_persons"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["transactions.id"],
            name=op.f("fk_holds_transaction_id_transactions"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_holds")),
        sa.UniqueConstraint("seq", name=op.f("uq_holds_seq")),
    )
    op.create_index(
        "ux_holds_one_live_per_person",
        "holds",
        ["listing_id", "person_id"],
        unique=True,
        postgresql_where=sa.text("status IN ('waiting', 'ready')"),
    )
    op.create_index(
        "ux_holds_one_ready_per_unit",
        "holds",
        ["listing_id", "unit_no"],
        unique=True,
        postgresql_where=sa.text("status = 'ready'"),
    )
    op.create_index(
        "ix_holds_queue",
        "holds",
        ["listing_id", "seq"],
        postgresql_where=sa.text("status = 'waiting'"),
    )
    op.create_index("ix_holds_person", "holds", ["person_id", "created_at"])
    op.create_index(
        "ix_holds_ready_until",
        "holds",
        ["ready_until"],
        postgresql_where=sa.text("status = 'ready'"),
    )
    for statement in TRIGGER_SQL.split("-- ;;"):
        op.execute(statement)
    _event_types(EVENT_TYPES_AFTER)


def downgrade() -> None:
    op.execute("DELETE FROM outbox_events WHERE type IN ('hold.ready', 'hold.lapsed')")
    _event_types(EVENT_TYPES_BEFORE)
    op.execute("DROP TRIGGER transactions_unit_held ON transactions")
    op.execute("DROP FUNCTION transactions_unit_held()")
    op.drop_table("holds")
