"""Libraries' catalogue numbers (issue #19): ``details.catalogue_ref`` of an organization's
listings is unique per organization (``ux_listings_catalogue_ref``), so a catalogue import run
twice, or twice at once, never makes an item twice.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-05 14:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ux_listings_catalogue_ref",
        "listings",
        ["owner_organization_id", sa.text("(details ->> 'catalogue_ref')")],
        unique=True,
        postgresql_where=sa.text("owner_organization_id IS NOT NULL AND details ? 'catalogue_ref'"),
    )


def downgrade() -> None:
    op.drop_index("ux_listings_catalogue_ref", table_name="listings")
