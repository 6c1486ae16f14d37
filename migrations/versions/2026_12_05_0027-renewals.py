"""Renewals of bookings (issue #19).

* ``transactions.renewals``: how often a booking was renewed (``renew``); never negative, and
  only bookings have any (``renewals_of_bookings``);
* the trigger ``transactions_renewal_guard``: a booking's period changes only by a renewal —
  one more, of an active booking, the same start and a later end — and never beyond the
  listing's ``details.booking.max_renewals`` (2 when the listing says nothing, as
  ``app.schemas.listing.DEFAULT_MAX_RENEWALS``). The exclusion constraint
  ``bookings_do_not_overlap`` still decides whether the unit is free for the extension;
* the outbox event ``transaction.renewed``.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-05 13:20:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

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
)
EVENT_TYPES_AFTER = (*EVENT_TYPES_BEFORE, "transaction.renewed")

DEFAULT_MAX_RENEWALS = 2

TRIGGER_SQL = rf"""
CREATE FUNCTION transactions_renewal_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    allowed integer;
BEGIN
    IF NEW.period IS NOT DISTINCT FROM OLD.period AND NEW.renewals = OLD.renewals THEN
        RETURN NEW;
    END IF;
    IF OLD.period IS NULL OR NEW.period IS NULL
       OR NEW.renewals IS DISTINCT FROM OLD.renewals + 1
       OR OLD.status <> 'active' OR NEW.status <> 'active'
       OR lower(NEW.period) <> lower(OLD.period)
       OR upper(NEW.period) <= upper(OLD.period) THEN
        RAISE EXCEPTION 'a booking''s period changes only by a renewal: one more, of an '
                        'active booking, with the same start and a later end'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'transactions_renewal_guard';
    END IF;
    SELECT coalesce((l.details -> 'booking' ->> 'max_renewals')::integer,
                    {DEFAULT_MAX_RENEWALS})
    INTO allowed FROM listings AS l WHERE l.id = NEW.listing_id;
    IF NEW.renewals > allowed THEN
        RAISE EXCEPTION 'this booking may be renewed at most % times', allowed
            USING ERRCODE = 'check_violation', CONSTRAINT = 'transactions_renewal_limit';
    END IF;
    RETURN NEW;
END
$$;
-- ;;
CREATE TRIGGER transactions_renewal_guard BEFORE UPDATE OF period, renewals ON transactions
FOR EACH ROW EXECUTE FUNCTION transactions_renewal_guard();
"""


def _event_types(types: tuple[str, ...]) -> None:
    op.drop_constraint("type_known", "outbox_events", type_="check")
    op.create_check_constraint(
        "type_known", "outbox_events", "type IN (" + ", ".join(repr(t) for t in types) + ")"
    )


def upgrade() -> None:
    op.add_column(
        "transactions",
        sa.Column("renewals", sa.SmallInteger(), server_default=sa.text("0"), nullable=False),
    )
    op.create_check_constraint(
        "renewals_of_bookings",
        "transactions",
        "renewals >= 0 AND (renewals = 0 OR period IS NOT NULL)",
    )
    for statement in TRIGGER_SQL.split("-- ;;"):
        op.execute(statement)
    _event_types(EVENT_TYPES_AFTER)


def downgrade() -> None:
    op.execute("DELETE FROM outbox_events WHERE type = 'transaction.renewed'")
    _event_types(EVENT_TYPES_BEFORE)
    op.execute("DROP TRIGGER transactions_renewal_guard ON transactions")
    op.execute("DROP FUNCTION transactions_renewal_guard()")
    op.drop_constraint("renewals_of_bookings", "transactions", type_="check")
    op.drop_column("transactions", "renewals")
