"""The rollup trigger fires for Norway's records only (issue #16).

``evidence_rollup`` looked every new record up through ``impact_facts``, which keeps Norway's
records only (migration 0034): for a record from abroad the lookup found nothing, and still
cost about 0.17 ms a record — a third of an ORDS import's evidence insert for a foreign
partner's file (bench/imports.py, EXPLAIN ANALYZE of one batch). A ``WHEN`` on the trigger
skips it. Exact: every record inserted now is of canonical version 4 and carries its own
country, and a compensation of an older record writes the country
``sirkel_evidence_country`` answers for it, which is what the view reads.

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-05 20:05:00.000000+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0036"
down_revision: str | None = "0035"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("DROP TRIGGER evidence_rollup ON evidence")
    op.execute(
        "CREATE TRIGGER evidence_rollup AFTER INSERT ON evidence "
        "FOR EACH ROW WHEN (NEW.country = 'NOR') EXECUTE FUNCTION evidence_rollup()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER evidence_rollup ON evidence")
    op.execute(
        "CREATE TRIGGER evidence_rollup AFTER INSERT ON evidence "
        "FOR EACH ROW EXECUTE FUNCTION evidence_rollup()"
    )
