"""Idempotency keys know when their request's effect committed: ``applied_at`` is written in
the request's own transaction (``app.db.get_session``), and the state ``applied`` is a key
whose effect committed but whose response was lost (a 5xx after the commit). A retry then
never runs the request again (``app.idempotency``).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-05 05:20:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "idempotency_keys", sa.Column("applied_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.drop_constraint("state_known", "idempotency_keys", type_="check")
    op.drop_constraint("completed_has_status", "idempotency_keys", type_="check")
    op.create_check_constraint(
        "state_known",
        "idempotency_keys",
        "state IN ('in_progress', 'applied', 'completed', 'completed_secret')",
    )
    op.create_check_constraint(
        "completed_has_status",
        "idempotency_keys",
        "(state IN ('in_progress', 'applied')) = (response_status IS NULL)",
    )
    op.create_check_constraint(
        "applied_is_applied", "idempotency_keys", "state <> 'applied' OR applied_at IS NOT NULL"
    )


def downgrade() -> None:
    op.execute("DELETE FROM idempotency_keys WHERE state = 'applied'")
    op.drop_constraint("applied_is_applied", "idempotency_keys", type_="check")
    op.drop_constraint("completed_has_status", "idempotency_keys", type_="check")
    op.drop_constraint("state_known", "idempotency_keys", type_="check")
    op.create_check_constraint(
        "state_known",
        "idempotency_keys",
        "state IN ('in_progress', 'completed', 'completed_secret')",
    )
    op.create_check_constraint(
        "completed_has_status",
        "idempotency_keys",
        "(state = 'in_progress') = (response_status IS NULL)",
    )
    op.drop_column("idempotency_keys", "applied_at")
