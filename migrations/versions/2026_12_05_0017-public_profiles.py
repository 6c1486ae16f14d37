"""Public profiles: the name a person shows others (or a neighbourly label instead).

* ``persons.public_name`` (optional, 1-60 characters; erasure clears it,
  ``erased_has_no_public_name``) and ``persons.show_name`` (default true);
* ``sirkel_person_label``: what others see of a person — the public name, else the display
  name, when they show it; else "Nabo i {kommune}" ("Nabo" without a home kommune); "Slettet
  bruker" after erasure. The listings' JSON and the profile both call it, so they agree.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05 03:30:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LABEL_SQL = r"""
CREATE FUNCTION sirkel_person_label(
    erased_at timestamptz, show_name boolean, public_name text, display_name text,
    kommune_name text
) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN erased_at IS NOT NULL THEN 'Slettet bruker'
        WHEN show_name AND coalesce(public_name, display_name) IS NOT NULL
            THEN coalesce(public_name, display_name)
        WHEN kommune_name IS NOT NULL THEN 'Nabo i ' || kommune_name
        ELSE 'Nabo'
    END
$$;
"""


def upgrade() -> None:
    op.add_column("persons", sa.Column("public_name", sa.Text(), nullable=True))
    op.add_column(
        "persons",
        sa.Column("show_name", sa.Boolean(), server_default=sa.text("true"), nullable=False),
    )
    op.create_check_constraint(
        "public_name_length",
        "persons",
        "public_name IS NULL OR char_length(public_name) BETWEEN 1 AND 60",
    )
    op.create_check_constraint(
        "erased_has_no_public_name", "persons", "erased_at IS NULL OR public_name IS NULL"
    )
    op.execute(LABEL_SQL)


def downgrade() -> None:
    op.execute(
        "DROP FUNCTION IF EXISTS sirkel_person_label(timestamptz, boolean, text, text, text)"
    )
    op.drop_constraint("erased_has_no_public_name", "persons", type_="check")
    op.drop_constraint("public_name_length", "persons", type_="check")
    op.drop_column("persons", "show_name")
    op.drop_column("persons", "public_name")
