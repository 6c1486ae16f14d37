"""Imported repairs as the partner wrote them (issue #16): an imported ORDS record may name a
barrier with any outcome (the standard allows it; repairs logged in Sirkel still name one
only at end of life), and its problem text may be up to 20,000 characters (logged ones stay
at 2,000).

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-05 16:40:00.000000+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0033"
down_revision: str | None = "0032"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BARRIERS = (
    "'Spare parts not available', 'Spare parts too expensive', 'No way to open product', "
    "'Repair information not available', 'Lack of equipment', 'Item too worn out'"
)


def _replace(name: str, condition: str) -> None:
    op.drop_constraint(op.f(f"ck_repairs_{name}"), "repairs", type_="check")
    op.create_check_constraint(op.f(f"ck_repairs_{name}"), "repairs", condition)


def upgrade() -> None:
    _replace(
        "barrier_only_end_of_life",
        f"repair_barrier IS NULL OR (repair_barrier IN ({BARRIERS}) "
        "AND (repair_status = 'End of life' OR source = 'imported'))",
    )
    _replace(
        "problem_length",
        "char_length(problem) <= CASE WHEN source = 'imported' THEN 20000 ELSE 2000 END",
    )


def downgrade() -> None:
    # Fails while an imported record uses what this revision allowed, rather than lose it.
    _replace(
        "barrier_only_end_of_life",
        f"repair_barrier IS NULL OR (repair_barrier IN ({BARRIERS}) "
        "AND repair_status = 'End of life')",
    )
    _replace("problem_length", "char_length(problem) <= 2000")
