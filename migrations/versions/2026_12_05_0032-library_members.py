"""Library members (issue #19): ``library_members`` (see ``app.models.library_member``) and the
trigger ``transactions_members_only``: a booking of a listing whose
``details.booking.members_only`` is true needs a membership of the owning organization valid
through the booking's last day (in Norway).

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-05 15:30:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0032"
down_revision: str | None = "0031"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TRIGGER_SQL = r"""
CREATE FUNCTION transactions_members_only() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    owner uuid;
BEGIN
    IF NEW.period IS NULL THEN
        RETURN NEW;
    END IF;
    SELECT l.owner_organization_id INTO owner FROM listings AS l
    WHERE l.id = NEW.listing_id
      AND (l.details -> 'booking' ->> 'members_only')::boolean IS TRUE;
    IF owner IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM library_members AS m
        WHERE m.organization_id = owner AND m.person_id = NEW.receiver_person_id
          AND m.valid_until >= (upper(NEW.period) AT TIME ZONE 'Europe/Oslo')::date
    ) THEN
        RAISE EXCEPTION 'only members of the library may book this listing'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'transactions_members_only';
    END IF;
    RETURN NEW;
END
$$;
-- ;;
CREATE TRIGGER transactions_members_only BEFORE INSERT ON transactions
FOR EACH ROW EXECUTE FUNCTION transactions_members_only();
"""


def upgrade() -> None:
    op.create_table(
        "library_members",
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("terms_accepted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_library_members_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["persons.id"],
            name=op.f("fk_library_members_person_id_persons"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organization_id", "person_id", name=op.f("pk_library_members")),
    )
    op.create_index("ix_library_members_person", "library_members", ["person_id"])
    for statement in TRIGGER_SQL.split("-- ;;"):
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TRIGGER transactions_members_only ON transactions")
    op.execute("DROP FUNCTION transactions_members_only()")
    op.drop_table("library_members")
