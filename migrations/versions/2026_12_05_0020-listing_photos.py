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


# The outbox's event types before this revision (0014) and the one it adds.
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
)
EVENT_TYPES_AFTER = (*EVENT_TYPES_BEFORE, "listing.photo_removed")


# Photos can be reported: ``reports.photo_id`` beside the other targets (as 0019 added reviews).
TARGETS_BEFORE = {
    "listing": "listing_id",
    "message": "message_id",
    "person": "person_id",
    "review": "review_id",
}
TARGETS_AFTER = {**TARGETS_BEFORE, "photo": "photo_id"}

REPORTS_GUARD = r"""
CREATE OR REPLACE FUNCTION reports_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.status <> 'open' THEN
            RAISE EXCEPTION 'a report is made open, not %', NEW.status
                USING ERRCODE = 'check_violation', CONSTRAINT = 'reports_made_open';
        END IF;
        IF NEW.reason = 'other' AND btrim(NEW.note) = '' THEN
            RAISE EXCEPTION 'a report for another reason says what it is'
                USING ERRCODE = 'check_violation', CONSTRAINT = 'reports_other_has_note';
        END IF;
        RETURN NEW;
    END IF;
    IF (NEW.reporter_person_id, NEW.target_type, NEW.listing_id, NEW.message_id, NEW.person_id,
        NEW.review_id, {photo_new} NEW.reason, NEW.created_at)
       IS DISTINCT FROM
       (OLD.reporter_person_id, OLD.target_type, OLD.listing_id, OLD.message_id, OLD.person_id,
        OLD.review_id, {photo_old} OLD.reason, OLD.created_at) THEN
        RAISE EXCEPTION 'a report''s reporter, target and reason never change'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'reports_immutable';
    END IF;
    IF OLD.status <> 'open' AND (NEW.status, NEW.decided_at, NEW.decided_by,
                                 NEW.decision_note, NEW.action)
                                IS DISTINCT FROM
                                (OLD.status, OLD.decided_at, OLD.decided_by,
                                 OLD.decision_note, OLD.action) THEN
        RAISE EXCEPTION 'report % was already %', OLD.id, OLD.status
            USING ERRCODE = 'check_violation', CONSTRAINT = 'reports_decided_once';
    END IF;
    RETURN NEW;
END
$$;
"""


def _one_target(columns: dict[str, str]) -> str:
    arms = []
    for target, column in columns.items():
        others = " AND ".join(f"{c} IS NULL" for c in columns.values() if c != column)
        arms.append(f"(target_type = '{target}' AND {column} IS NOT NULL AND {others})")
    return " OR ".join(arms)


def _report_targets(columns: dict[str, str]) -> None:
    key = f"coalesce({', '.join(columns.values())})"
    op.drop_constraint("one_target", "reports", type_="check")
    op.drop_constraint("target_type_known", "reports", type_="check")
    op.drop_index("uq_reports_open_per_reporter", table_name="reports")
    op.drop_index("ix_reports_target", table_name="reports")
    op.create_check_constraint(
        "target_type_known",
        "reports",
        "target_type IN (" + ", ".join(repr(t) for t in columns) + ")",
    )
    op.create_check_constraint("one_target", "reports", _one_target(columns))
    op.create_index(
        "uq_reports_open_per_reporter",
        "reports",
        ["reporter_person_id", "target_type", sa.text(key)],
        unique=True,
        postgresql_where=sa.text("status = 'open'"),
    )
    op.create_index("ix_reports_target", "reports", ["target_type", sa.text(key)])


def _report_actions(actions: tuple[str, ...]) -> None:
    op.drop_constraint("action_when_actioned", "reports", type_="check")
    op.create_check_constraint(
        "action_when_actioned",
        "reports",
        "action IS NULL OR (status = 'actioned' AND action IN ("
        + ", ".join(repr(a) for a in actions)
        + "))",
    )


def _event_types(types: tuple[str, ...]) -> None:
    op.drop_constraint("type_known", "outbox_events", type_="check")
    op.create_check_constraint(
        "type_known",
        "outbox_events",
        "type IN (" + ", ".join(repr(t) for t in types) + ")",
    )


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
        sa.Column("alt_text", sa.Text(), nullable=True),
        sa.Column("purged_at", sa.DateTime(timezone=True), nullable=True),
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
        sa.CheckConstraint(
            "purged_at IS NULL OR removed_at IS NOT NULL",
            name=op.f("ck_listing_photos_purged_when_removed"),
        ),
        sa.CheckConstraint(
            "char_length(alt_text) <= 300", name=op.f("ck_listing_photos_alt_text_length")
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
    # One live photo per position, checked at commit (DEFERRABLE: reordering swaps positions in
    # one statement, which a unique index — checked row by row in PostgreSQL — refuses). Its
    # B-tree also finds a listing's first live photo.
    op.execute(
        "ALTER TABLE listing_photos ADD CONSTRAINT listing_photos_live_position_unique "
        "EXCLUDE USING btree (listing_id WITH =, position WITH =) WHERE (removed_at IS NULL) "
        "DEFERRABLE INITIALLY DEFERRED"
    )
    # Is a rendition still used by a live photo (before its file is deleted)?
    op.create_index(
        "ix_listing_photos_renditions",
        "listing_photos",
        ["renditions"],
        postgresql_using="gin",
        postgresql_ops={"renditions": "jsonb_path_ops"},
    )
    # Removed photos whose files are still to be deleted (the worker's sweep).
    op.create_index(
        "ix_listing_photos_to_purge",
        "listing_photos",
        ["removed_at"],
        postgresql_where=sa.text("removed_at IS NOT NULL AND purged_at IS NULL"),
    )
    op.create_index("ix_listing_photos_created_by", "listing_photos", ["created_by"])
    _execute_each(TRIGGERS_SQL)
    _event_types(EVENT_TYPES_AFTER)
    op.add_column("reports", sa.Column("photo_id", sa.Uuid(), nullable=True))
    op.create_foreign_key(
        op.f("fk_reports_photo_id_listing_photos"),
        "reports",
        "listing_photos",
        ["photo_id"],
        ["id"],
        ondelete="RESTRICT",
    )
    _report_targets(TARGETS_AFTER)
    _report_actions(("hide_listing", "remove_photo"))
    op.execute(REPORTS_GUARD.format(photo_new="NEW.photo_id,", photo_old="OLD.photo_id,"))


def downgrade() -> None:
    op.execute("ALTER TABLE report_events DISABLE TRIGGER report_events_append_only")
    op.execute(
        "DELETE FROM report_events WHERE report_id IN "
        "(SELECT id FROM reports WHERE photo_id IS NOT NULL)"
    )
    op.execute("ALTER TABLE report_events ENABLE TRIGGER report_events_append_only")
    op.execute("DELETE FROM reports WHERE photo_id IS NOT NULL")
    op.execute(REPORTS_GUARD.format(photo_new="", photo_old=""))
    _report_targets(TARGETS_BEFORE)
    _report_actions(("hide_listing",))
    op.drop_constraint(op.f("fk_reports_photo_id_listing_photos"), "reports", type_="foreignkey")
    op.drop_column("reports", "photo_id")
    op.execute("DELETE FROM outbox_events WHERE type = 'listing.photo_removed'")
    _event_types(EVENT_TYPES_BEFORE)
    op.drop_table("listing_photos")
    op.execute("DROP FUNCTION IF EXISTS listing_photos_at_most_10()")
