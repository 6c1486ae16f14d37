"""Listings follow their transactions: reserved when every unit is promised, active again when
a request frees some, completed when everything was delivered.

* ``listings.quantity_delivered``: what confirmed reuse and material exchanges took from the
  listing (their delivered quantity, else the requested one), kept beside
  ``quantity_committed`` by the same trigger ``transactions_commit_quantity`` and never more
  than it (``quantity_delivered_within_committed``: a confirmed handover's quantity is part of
  what is committed). **"Everything delivered"** means ``quantity_delivered >= quantity``: the
  receivers confirmed (or a moderator upheld) handovers of the whole quantity. A handover the
  provider reported but the receiver has not confirmed, or that is disputed or voided, still
  holds its quantity (the listing stays reserved) but does not complete the listing. Loans,
  rentals and space shares never touch either column, so they never complete a listing;
* ``sirkel_listing_status_after``: the rule (``app.models.listing.status_after_quantities``
  mirrors it), applied by the trigger ``listings_follow_quantities`` (BEFORE UPDATE OF the
  quantities, so it runs before ``listings_guard`` checks the move, and in the statement that
  changes the quantities, so in the database transaction of the move). The tile rollup's
  trigger ``listings_tile_cells_sync`` (0006) sees the new status like any other change;
* existing listings are brought in line once.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 23:30:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FUNCTIONS_SQL = r"""
-- How much of its listing a reuse or material exchange has delivered for good: what was
-- handed over once the receiver confirmed it (or a moderator upheld it), else nothing.
CREATE FUNCTION sirkel_delivered_quantity(status text, quantity numeric, delivered numeric)
RETURNS numeric LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN status = 'confirmed' THEN coalesce(delivered, quantity, 0) ELSE 0 END
$$;
-- ;;
CREATE OR REPLACE FUNCTION transactions_commit_quantity() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    delta numeric := sirkel_committed_quantity(NEW.status, NEW.quantity, NEW.delivered_quantity);
    delivered numeric := sirkel_delivered_quantity(NEW.status, NEW.quantity, NEW.delivered_quantity);
BEGIN
    IF NEW.type NOT IN ('reuse', 'material_exchange') THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        delta := delta - sirkel_committed_quantity(OLD.status, OLD.quantity, OLD.delivered_quantity);
        delivered := delivered
            - sirkel_delivered_quantity(OLD.status, OLD.quantity, OLD.delivered_quantity);
    END IF;
    IF delta <> 0 OR delivered <> 0 THEN
        UPDATE listings SET quantity_committed = quantity_committed + delta,
                            quantity_delivered = quantity_delivered + delivered
        WHERE id = NEW.listing_id;
    END IF;
    RETURN NULL;
END
$$;
-- ;;
-- A quantity-limited listing's status after its quantities moved. Only a listing open for
-- requests (active) or held by them (reserved) follows; drafts, reviews, expired, completed
-- and withdrawn listings stay as they are, and so does a listing the owner reserved by hand
-- while units were still free (it only goes back to active when it had been full).
CREATE FUNCTION sirkel_listing_status_after(
    status text,
    old_quantity numeric,
    old_committed numeric,
    quantity numeric,
    committed numeric,
    delivered numeric
) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN status NOT IN ('active', 'reserved') OR quantity IS NULL THEN status
        WHEN delivered >= quantity THEN 'completed'
        WHEN committed >= quantity THEN 'reserved'
        WHEN status = 'reserved' AND old_quantity IS NOT NULL AND old_committed >= old_quantity
            THEN 'active'
        ELSE status
    END
$$;
-- ;;
CREATE FUNCTION listings_follow_quantities() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    next text;
BEGIN
    -- A statement that moves the status itself (the owner's or a moderator's action) decides.
    IF NEW.status <> OLD.status
       OR (NEW.quantity IS NOT DISTINCT FROM OLD.quantity
           AND NEW.quantity_committed = OLD.quantity_committed
           AND NEW.quantity_delivered = OLD.quantity_delivered) THEN
        RETURN NEW;
    END IF;
    next := sirkel_listing_status_after(
        NEW.status, OLD.quantity, OLD.quantity_committed,
        NEW.quantity, NEW.quantity_committed, NEW.quantity_delivered
    );
    IF next <> NEW.status THEN
        NEW.status := next;
        IF next = 'completed' THEN
            NEW.closed_at := coalesce(NEW.closed_at, now());
        END IF;
    END IF;
    RETURN NEW;
END
$$;
-- ;;
-- BEFORE triggers run in name order: this one before listings_guard checks the move.
CREATE TRIGGER listings_follow_quantities
BEFORE UPDATE OF quantity, quantity_committed, quantity_delivered ON listings
FOR EACH ROW EXECUTE FUNCTION listings_follow_quantities();
-- ;;
UPDATE listings AS l SET quantity_delivered = d.total
FROM (
    SELECT t.listing_id,
           sum(sirkel_delivered_quantity(t.status, t.quantity, t.delivered_quantity)) AS total
    FROM transactions AS t
    WHERE t.type IN ('reuse', 'material_exchange')
    GROUP BY t.listing_id
) AS d
WHERE l.id = d.listing_id AND d.total <> 0;
-- ;;
-- Listings whose quantities were already full or delivered before this migration.
UPDATE listings
SET status = sirkel_listing_status_after(
        status, quantity, 0, quantity, quantity_committed, quantity_delivered
    ),
    closed_at = CASE
        WHEN sirkel_listing_status_after(
            status, quantity, 0, quantity, quantity_committed, quantity_delivered
        ) = 'completed' THEN coalesce(closed_at, now())
        ELSE closed_at
    END
WHERE status IN ('active', 'reserved') AND quantity IS NOT NULL
  AND sirkel_listing_status_after(
        status, quantity, 0, quantity, quantity_committed, quantity_delivered
      ) <> status;
"""

DROP_SQL = r"""
DROP TRIGGER IF EXISTS listings_follow_quantities ON listings;
-- ;;
DROP FUNCTION IF EXISTS listings_follow_quantities();
-- ;;
DROP FUNCTION IF EXISTS sirkel_listing_status_after(text, numeric, numeric, numeric, numeric, numeric);
-- ;;
CREATE OR REPLACE FUNCTION transactions_commit_quantity() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    delta numeric := sirkel_committed_quantity(NEW.status, NEW.quantity, NEW.delivered_quantity);
BEGIN
    IF NEW.type NOT IN ('reuse', 'material_exchange') THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        delta := delta - sirkel_committed_quantity(OLD.status, OLD.quantity, OLD.delivered_quantity);
    END IF;
    IF delta <> 0 THEN
        UPDATE listings SET quantity_committed = quantity_committed + delta
        WHERE id = NEW.listing_id;
    END IF;
    RETURN NULL;
END
$$;
-- ;;
DROP FUNCTION IF EXISTS sirkel_delivered_quantity(text, numeric, numeric);
"""


def _execute_each(script: str) -> None:
    """asyncpg runs one statement per call; the scripts separate theirs with ``-- ;;``."""
    for statement in script.split("-- ;;"):
        if statement.strip():
            op.execute(statement)


def upgrade() -> None:
    op.add_column(
        "listings",
        sa.Column(
            "quantity_delivered",
            sa.Numeric(precision=16, scale=3),
            server_default="0",
            nullable=False,
        ),
    )
    op.create_check_constraint(
        "quantity_delivered_within_committed",
        "listings",
        "quantity_delivered >= 0 AND quantity_delivered <= quantity_committed",
    )
    _execute_each(FUNCTIONS_SQL)


def downgrade() -> None:
    _execute_each(DROP_SQL)
    op.drop_constraint(op.f("ck_listings_quantity_delivered_within_committed"), "listings")
    op.drop_column("listings", "quantity_delivered")
