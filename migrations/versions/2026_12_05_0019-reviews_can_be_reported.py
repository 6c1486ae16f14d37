"""Reviews can be reported: ``reports.review_id`` beside the other targets, in the
one-target rule, the one-open-report index and the guard that keeps a report's target.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05 04:30:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BEFORE = {"listing": "listing_id", "message": "message_id", "person": "person_id"}
AFTER = {**BEFORE, "review": "review_id"}

GUARD_WITH_REVIEWS = r"""
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
        NEW.review_id, NEW.reason, NEW.created_at)
       IS DISTINCT FROM
       (OLD.reporter_person_id, OLD.target_type, OLD.listing_id, OLD.message_id, OLD.person_id,
        OLD.review_id, OLD.reason, OLD.created_at) THEN
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

GUARD_BEFORE = r"""
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

"""


def _one_target(columns: dict[str, str]) -> str:
    arms = []
    for target, column in columns.items():
        others = " AND ".join(f"{c} IS NULL" for c in columns.values() if c != column)
        arms.append(f"(target_type = '{target}' AND {column} IS NOT NULL AND {others})")
    return " OR ".join(arms)


def _key(columns: dict[str, str]) -> str:
    return f"coalesce({', '.join(columns.values())})"


def _targets(columns: dict[str, str]) -> None:
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
        ["reporter_person_id", "target_type", sa.text(_key(columns))],
        unique=True,
        postgresql_where=sa.text("status = 'open'"),
    )
    op.create_index("ix_reports_target", "reports", ["target_type", sa.text(_key(columns))])


def upgrade() -> None:
    op.add_column("reports", sa.Column("review_id", sa.Uuid(), nullable=True))
    op.create_foreign_key(
        op.f("fk_reports_review_id_reviews"),
        "reports",
        "reviews",
        ["review_id"],
        ["id"],
        ondelete="RESTRICT",
    )
    _targets(AFTER)
    op.execute(GUARD_WITH_REVIEWS)


def downgrade() -> None:
    # Reports on reviews go with the column; their audit lines are append-only otherwise.
    op.execute("ALTER TABLE report_events DISABLE TRIGGER report_events_append_only")
    op.execute(
        "DELETE FROM report_events WHERE report_id IN "
        "(SELECT id FROM reports WHERE review_id IS NOT NULL)"
    )
    op.execute("ALTER TABLE report_events ENABLE TRIGGER report_events_append_only")
    op.execute("DELETE FROM reports WHERE review_id IS NOT NULL")
    op.execute(GUARD_BEFORE)
    _targets(BEFORE)
    op.drop_constraint(op.f("fk_reports_review_id_reviews"), "reports", type_="foreignkey")
    op.drop_column("reports", "review_id")
