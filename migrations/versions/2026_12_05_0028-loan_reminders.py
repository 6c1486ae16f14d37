"""Libraries' reminders (issue #19): the outbox events ``transaction.due_today`` (the morning a
booking is due back) and ``transaction.still_overdue`` (1, 3 and 7 days after it was due).

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-05 13:40:00.000000+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As 0027 left them (a migration keeps its own copy: later code may change).
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
)
EVENT_TYPES_AFTER = (*EVENT_TYPES_BEFORE, "transaction.due_today", "transaction.still_overdue")


def _event_types(types: tuple[str, ...]) -> None:
    op.drop_constraint("type_known", "outbox_events", type_="check")
    op.create_check_constraint(
        "type_known", "outbox_events", "type IN (" + ", ".join(repr(t) for t in types) + ")"
    )


def upgrade() -> None:
    _event_types(EVENT_TYPES_AFTER)


def downgrade() -> None:
    op.execute(
        "DELETE FROM outbox_events WHERE type IN ('transaction.due_today', "
        "'transaction.still_overdue')"
    )
    _event_types(EVENT_TYPES_BEFORE)
