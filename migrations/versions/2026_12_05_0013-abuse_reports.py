"""Abuse reports and their audit trail (``app.models.report`` lists the invariants).

* ``reports``: one target through a real foreign key (``one_target``), an open → actioned |
  dismissed life (``reports_guard``), one open report per reporter and target
  (``uq_reports_open_per_reporter``);
* ``report_events``: written by ``reports_audit`` on every insert and state change, append-only
  (``sirkel_refuse_change`` of 0007).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 01:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# target type -> (column, referenced table)
TARGETS = {
    "listing": ("listing_id", "listings"),
    "message": ("message_id", "messages"),
    "person": ("person_id", "persons"),
}
TARGET_COLUMNS = {target: column for target, (column, _) in TARGETS.items()}
TARGET_KEY = f"coalesce({', '.join(TARGET_COLUMNS.values())})"
REASONS = (
    "spam",
    "scam",
    "prohibited",
    "hazardous",
    "offensive",
    "harassment",
    "personal_data",
    "misleading",
    "other",
)
STATUSES = ("open", "actioned", "dismissed")
ACTIONS = ("hide_listing",)


def _in(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _one_target() -> str:
    arms = []
    for target, column in TARGET_COLUMNS.items():
        others = " AND ".join(f"{c} IS NULL" for c in TARGET_COLUMNS.values() if c != column)
        arms.append(f"(target_type = '{target}' AND {column} IS NOT NULL AND {others})")
    return " OR ".join(arms)


TRIGGERS_SQL = r"""
-- A report is made open, with a note when its reason is 'other'; it moves once, from open to
-- actioned or dismissed, and its reporter and target never change. The only later change is
-- erasure emptying the reporter's note.
CREATE FUNCTION reports_guard() RETURNS trigger
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
        NEW.reason, NEW.created_at)
       IS DISTINCT FROM
       (OLD.reporter_person_id, OLD.target_type, OLD.listing_id, OLD.message_id, OLD.person_id,
        OLD.reason, OLD.created_at) THEN
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
-- ;;
CREATE TRIGGER reports_guard BEFORE INSERT OR UPDATE ON reports
FOR EACH ROW EXECUTE FUNCTION reports_guard();
-- ;;
-- The audit trail: who moved the report where, when, why. The reporter's own note stays on
-- the report (erasure can empty it there); the trail holds only the moderators' words.
CREATE FUNCTION reports_audit() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO report_events (report_id, status, actor_person_id, note, action, at)
        VALUES (NEW.id, NEW.status, NEW.reporter_person_id, NULL, NULL, NEW.created_at);
    ELSIF NEW.status IS DISTINCT FROM OLD.status THEN
        INSERT INTO report_events (report_id, status, actor_person_id, note, action, at)
        VALUES (NEW.id, NEW.status, NEW.decided_by, NEW.decision_note, NEW.action,
                NEW.decided_at);
    END IF;
    RETURN NULL;
END
$$;
-- ;;
CREATE TRIGGER reports_audit AFTER INSERT OR UPDATE OF status ON reports
FOR EACH ROW EXECUTE FUNCTION reports_audit();
-- ;;
CREATE TRIGGER report_events_append_only BEFORE UPDATE OR DELETE ON report_events
FOR EACH ROW EXECUTE FUNCTION sirkel_refuse_change();
-- ;;
CREATE TRIGGER report_events_no_truncate BEFORE TRUNCATE ON report_events
FOR EACH STATEMENT EXECUTE FUNCTION sirkel_refuse_change();
"""


def _execute_each(script: str) -> None:
    """asyncpg runs one statement per call; the scripts separate theirs with ``-- ;;``."""
    for statement in script.split("-- ;;"):
        if statement.strip():
            op.execute(statement)


def upgrade() -> None:
    op.create_table(
        "reports",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("reporter_person_id", sa.Uuid(), nullable=False),
        sa.Column("target_type", sa.Text(), nullable=False),
        *(sa.Column(column, sa.Uuid(), nullable=True) for column in TARGET_COLUMNS.values()),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), server_default="", nullable=False),
        sa.Column("status", sa.Text(), server_default="open", nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.Uuid(), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.Column("action", sa.Text(), nullable=True),
        sa.CheckConstraint(
            _in("target_type", list(TARGETS)), name=op.f("ck_reports_target_type_known")
        ),
        sa.CheckConstraint(_one_target(), name=op.f("ck_reports_one_target")),
        sa.CheckConstraint(_in("reason", REASONS), name=op.f("ck_reports_reason_known")),
        sa.CheckConstraint("char_length(note) <= 1000", name=op.f("ck_reports_note_length")),
        sa.CheckConstraint(_in("status", STATUSES), name=op.f("ck_reports_status_known")),
        sa.CheckConstraint(
            "(status = 'open') = (decided_at IS NULL AND decided_by IS NULL "
            "AND decision_note IS NULL)",
            name=op.f("ck_reports_decided_iff_closed"),
        ),
        sa.CheckConstraint(
            f"action IS NULL OR (status = 'actioned' AND {_in('action', ACTIONS)})",
            name=op.f("ck_reports_action_when_actioned"),
        ),
        sa.CheckConstraint(
            "char_length(decision_note) <= 1000", name=op.f("ck_reports_decision_note_length")
        ),
        sa.ForeignKeyConstraint(
            ["reporter_person_id"],
            ["persons.id"],
            name=op.f("fk_reports_reporter_person_id_persons"),
            ondelete="RESTRICT",
        ),
        *(
            sa.ForeignKeyConstraint(
                [column],
                [f"{table}.id"],
                name=op.f(f"fk_reports_{column}_{table}"),
                ondelete="RESTRICT",
            )
            for column, table in TARGETS.values()
        ),
        sa.ForeignKeyConstraint(
            ["decided_by"],
            ["persons.id"],
            name=op.f("fk_reports_decided_by_persons"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reports")),
    )
    op.create_index(
        "uq_reports_open_per_reporter",
        "reports",
        ["reporter_person_id", "target_type", sa.text(TARGET_KEY)],
        unique=True,
        postgresql_where=sa.text("status = 'open'"),
    )
    op.create_index("ix_reports_queue", "reports", ["status", "created_at", "id"])
    op.create_index("ix_reports_target", "reports", ["target_type", sa.text(TARGET_KEY)])
    op.create_index("ix_reports_reporter", "reports", ["reporter_person_id", "created_at"])
    op.create_table(
        "report_events",
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("report_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("actor_person_id", sa.Uuid(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("action", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(_in("status", STATUSES), name=op.f("ck_report_events_status_known")),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["reports.id"],
            name=op.f("fk_report_events_report_id_reports"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["actor_person_id"],
            ["persons.id"],
            name=op.f("fk_report_events_actor_person_id_persons"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_report_events")),
    )
    op.create_index("ix_report_events_report", "report_events", ["report_id", "seq"])
    _execute_each(TRIGGERS_SQL)


def downgrade() -> None:
    op.drop_table("report_events")
    op.drop_table("reports")
    op.execute("DROP FUNCTION IF EXISTS reports_audit()")
    op.execute("DROP FUNCTION IF EXISTS reports_guard()")
