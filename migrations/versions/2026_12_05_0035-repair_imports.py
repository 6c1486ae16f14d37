"""ORDS imports as jobs, and releases that replace each other (issue #16).

* ``repair_imports``: one upload — its file as a large object until the job ends, the mode
  (``append`` or ``release``), the state the worker moves it through, the counts, the row
  errors; at most one unfinished import per organization (releases apply in order);
* ``repair_import_rows``: the staging table, the file's rows once every one is valid;
* ``repairs`` gains ``import_id`` (the upload that last wrote it), ``release`` (the
  provider's release it is from) and ``withdrawn_at`` (a later release no longer has it),
  for imported records only, and an index to find what a provider's release left out;
* ``evidence``: a record is taken back at most once (a unique partial index on
  ``compensates``, which also answers "is it still counted" without a scan).

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-05 19:30:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0035"
down_revision: str | None = "0034"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNFINISHED = "state IN ('queued', 'validating', 'writing')"
COUNTS = (
    "rows_total",
    "rows_written",
    "inserted",
    "restated",
    "updated",
    "reinstated",
    "unchanged",
    "withdrawn",
    "skipped",
    "error_count",
)


def _count(name: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.Integer(), server_default="0", nullable=False)


def upgrade() -> None:
    op.create_table(
        "repair_imports",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("requested_by", sa.Uuid(), nullable=True),
        sa.Column("mode", sa.Text(), nullable=False),
        sa.Column("release", sa.Text(), nullable=True),
        sa.Column("state", sa.Text(), server_default="queued", nullable=False),
        sa.Column("file", postgresql.OID(), nullable=True),
        sa.Column("file_bytes", sa.BigInteger(), nullable=False),
        sa.Column("gzip", sa.Boolean(), nullable=False),
        *(_count(name) for name in COUNTS[:-1]),
        _count("error_count"),
        sa.Column(
            "errors",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column("failure", sa.Text(), nullable=True),
        sa.Column("applied_through", sa.Integer(), server_default="0", nullable=False),
        sa.Column("attempts", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "mode IN ('append', 'release')", name=op.f("ck_repair_imports_mode_known")
        ),
        sa.CheckConstraint(
            "state IN ('queued', 'validating', 'writing', 'done', 'failed')",
            name=op.f("ck_repair_imports_state_known"),
        ),
        sa.CheckConstraint(
            "release IS NULL OR char_length(release) BETWEEN 1 AND 100",
            name=op.f("ck_repair_imports_release_length"),
        ),
        sa.CheckConstraint(
            "(state IN ('done', 'failed')) = (finished_at IS NOT NULL)",
            name=op.f("ck_repair_imports_finished_when_ended"),
        ),
        sa.CheckConstraint(
            "state NOT IN ('done', 'failed') OR file IS NULL",
            name=op.f("ck_repair_imports_file_gone_when_ended"),
        ),
        sa.CheckConstraint(
            "state <> 'failed' OR failure IS NOT NULL OR error_count > 0",
            name=op.f("ck_repair_imports_failure_says_why"),
        ),
        sa.CheckConstraint(
            "state <> 'done' OR error_count = 0", name=op.f("ck_repair_imports_done_without_errors")
        ),
        sa.CheckConstraint(
            " AND ".join(f"{c} >= 0" for c in COUNTS),
            name=op.f("ck_repair_imports_counts_not_negative"),
        ),
        sa.CheckConstraint(
            "file_bytes >= 0", name=op.f("ck_repair_imports_file_bytes_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_repair_imports_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["requested_by"],
            ["persons.id"],
            name=op.f("fk_repair_imports_requested_by_persons"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_repair_imports")),
    )
    op.create_index(
        "uq_repair_imports_one_unfinished",
        "repair_imports",
        ["organization_id"],
        unique=True,
        postgresql_where=sa.text(UNFINISHED),
    )
    op.create_index(
        "ix_repair_imports_unfinished",
        "repair_imports",
        ["created_at"],
        postgresql_where=sa.text(UNFINISHED),
    )
    op.create_index(
        "ix_repair_imports_organization_id",
        "repair_imports",
        ["organization_id", "created_at"],
    )
    op.create_table(
        "repair_import_rows",
        sa.Column("import_id", sa.Uuid(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("data_provider", sa.Text(), nullable=False),
        sa.Column("provider_record_id", sa.Text(), nullable=False),
        sa.Column("country", sa.String(length=3), nullable=False),
        sa.Column("partner_product_category", sa.Text(), nullable=False),
        sa.Column("ords_category_id", sa.SmallInteger(), nullable=False),
        sa.Column("category_slug", sa.Text(), nullable=True),
        sa.Column("brand", sa.Text(), nullable=True),
        sa.Column("year_of_manufacture", sa.SmallInteger(), nullable=True),
        sa.Column("product_age", sa.Numeric(precision=5, scale=1), nullable=True),
        sa.Column("repair_status", sa.Text(), nullable=False),
        sa.Column("repair_barrier", sa.Text(), nullable=True),
        sa.Column("group_identifier", sa.Text(), nullable=True),
        sa.Column("event_date", sa.Date(), nullable=False),
        sa.Column("problem", sa.Text(), nullable=False),
        sa.Column("factor_revision", sa.Integer(), nullable=True),
        sa.Column("kg_diverted", sa.Numeric(precision=14, scale=3), nullable=True),
        sa.Column("co2e_kg", sa.Numeric(precision=14, scale=3), nullable=True),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["repair_imports.id"],
            name=op.f("fk_repair_import_rows_import_id_repair_imports"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("import_id", "line", name=op.f("pk_repair_import_rows")),
        sa.UniqueConstraint(
            "import_id",
            "data_provider",
            "provider_record_id",
            name="one_row_per_record",
        ),
    )
    op.add_column("repairs", sa.Column("import_id", sa.Uuid(), nullable=True))
    op.add_column("repairs", sa.Column("release", sa.Text(), nullable=True))
    op.add_column("repairs", sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True))
    op.create_foreign_key(
        op.f("fk_repairs_import_id_repair_imports"),
        "repairs",
        "repair_imports",
        ["import_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.create_check_constraint(
        op.f("ck_repairs_release_only_imported"),
        "repairs",
        "source = 'imported' OR (withdrawn_at IS NULL AND release IS NULL)",
    )
    op.create_index(
        "ix_repairs_imported_by_provider",
        "repairs",
        ["organization_id", "data_provider"],
        postgresql_where=sa.text("source = 'imported' AND withdrawn_at IS NULL"),
    )
    op.create_index(
        "uq_evidence_compensates",
        "evidence",
        ["compensates"],
        unique=True,
        postgresql_where=sa.text("compensates IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("uq_evidence_compensates", table_name="evidence")
    op.drop_index("ix_repairs_imported_by_provider", table_name="repairs")
    op.drop_constraint(op.f("ck_repairs_release_only_imported"), "repairs", type_="check")
    op.drop_constraint(op.f("fk_repairs_import_id_repair_imports"), "repairs", type_="foreignkey")
    op.drop_column("repairs", "withdrawn_at")
    op.drop_column("repairs", "release")
    op.drop_column("repairs", "import_id")
    op.drop_table("repair_import_rows")
    # Files of unfinished imports are large objects the table no longer names.
    op.execute("SELECT lo_unlink(file) FROM repair_imports WHERE file IS NOT NULL")
    op.drop_table("repair_imports")
