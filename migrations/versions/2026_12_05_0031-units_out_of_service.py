"""Units out of service (issue #19): ``units_out_of_service`` (a unit that came back needing
repair, or retired; see ``app.models.unit``) and the trigger
``transactions_unit_out_of_service`` that refuses a new booking of such a unit.

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-05 15:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0031"
down_revision: str | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TRIGGER_SQL = r"""
CREATE FUNCTION transactions_unit_out_of_service() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.unit_no IS NOT NULL AND EXISTS (
        SELECT 1 FROM units_out_of_service AS u
        WHERE u.listing_id = NEW.listing_id AND u.unit_no = NEW.unit_no
    ) THEN
        RAISE EXCEPTION 'unit % of this listing is out of service', NEW.unit_no
            USING ERRCODE = 'exclusion_violation',
                  CONSTRAINT = 'transactions_unit_out_of_service';
    END IF;
    RETURN NEW;
END
$$;
-- ;;
CREATE TRIGGER transactions_unit_out_of_service BEFORE INSERT ON transactions
FOR EACH ROW EXECUTE FUNCTION transactions_unit_out_of_service();
"""


def upgrade() -> None:
    op.create_table(
        "units_out_of_service",
        sa.Column("listing_id", sa.Uuid(), nullable=False),
        sa.Column("unit_no", sa.SmallInteger(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("transaction_id", sa.Uuid(), nullable=True),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('needs_repair', 'retired')",
            name=op.f("ck_units_out_of_service_status_known"),
        ),
        sa.CheckConstraint("unit_no >= 1", name=op.f("ck_units_out_of_service_unit_no_positive")),
        sa.CheckConstraint(
            "char_length(note) <= 1000", name=op.f("ck_units_out_of_service_note_length")
        ),
        sa.ForeignKeyConstraint(
            ["listing_id"],
            ["listings.id"],
            name=op.f("fk_units_out_of_service_listing_id_listings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["transactions.id"],
            name=op.f("fk_units_out_of_service_transaction_id_transactions"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("listing_id", "unit_no", name=op.f("pk_units_out_of_service")),
    )
    for statement in TRIGGER_SQL.split("-- ;;"):
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TRIGGER transactions_unit_out_of_service ON transactions")
    op.execute("DROP FUNCTION transactions_unit_out_of_service()")
    op.drop_table("units_out_of_service")
