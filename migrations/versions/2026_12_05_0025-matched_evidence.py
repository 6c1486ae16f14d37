"""A transaction that started from a match, and its evidence (issue #18).

* ``transactions.match_of_listing_id``: the requester's own listing whose matches found the
  listing asked for (``POST /v1/transactions`` with ``match_of``);
* ``evidence.matched``: the record counts an exchange that started from a match. Records of
  canonical version 3 (every record from now on) hash it; versions 1 and 2 are verified as
  they were written (``matched`` is false for them and is not in their canonical form);
* ``ix_evidence_matched`` for the indicator ``sg3.matches.converted``, read from the facts of
  the matched records (few, under this partial index) rather than from the rollups.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-05 11:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _canonical(tail: str) -> str:
    """``sirkel_evidence_canonical`` as migration 0008 wrote it, with ``tail`` closing the
    object (the keys of later versions)."""
    return (
        """
CREATE OR REPLACE FUNCTION sirkel_evidence_canonical(e evidence) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT '{' || string_agg(to_json(f.key)::text || ':' || f.value::text, ',' ORDER BY f.key COLLATE "C") || '}'
    FROM jsonb_each(jsonb_build_object(
        'v', e.canonical_version,
        'seq', e.seq,
        'recorded_at', sirkel_utc_text(e.recorded_at),
        'occurred_at', sirkel_utc_text(e.occurred_at),
        'event', e.event,
        'grade', e.grade,
        'type', e.type,
        'subgoal', e.subgoal,
        'transaction_id', e.transaction_id,
        'repair_id', e.repair_id,
        'compensates', e.compensates,
        'provider_party', e.provider_party,
        'provider_sector', e.provider_sector,
        'receiver_party', e.receiver_party,
        'receiver_sector', e.receiver_sector,
        'kommunenummer', e.kommunenummer,
        'fylkesnummer', e.fylkesnummer,
        'category', e.category_slug,
        'ewc_code', e.ewc_code,
        'ords_category_id', e.ords_category_id,
        'repair_status', e.repair_status,
        'count', e.record_count,
        'quantity', e.quantity::text,
        'unit', e.unit,
        'days', e.days::text,
        'kg_diverted', e.kg_diverted::text,
        'co2e_kg', e.co2e_kg::text,
        'factor_revision', e.factor_revision"""
        + tail
        + """
$$;
"""
    )


_V2_TAIL = """
    ) || CASE WHEN e.canonical_version >= 2
              THEN jsonb_build_object('initiative', e.initiative_id)
              ELSE '{}'::jsonb END) AS f"""

_V3_TAIL = """
    ) || CASE WHEN e.canonical_version >= 2
              THEN jsonb_build_object('initiative', e.initiative_id)
              ELSE '{}'::jsonb END
      || CASE WHEN e.canonical_version >= 3
              THEN jsonb_build_object('matched', e.matched)
              ELSE '{}'::jsonb END) AS f"""


def _chain(version: int) -> str:
    return f"""
CREATE OR REPLACE FUNCTION evidence_chain() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    head record;
BEGIN
    PERFORM pg_advisory_xact_lock(7262353537);
    SELECT e.seq, e.hash INTO head FROM evidence AS e ORDER BY e.seq DESC LIMIT 1;
    NEW.seq := coalesce(head.seq, 0) + 1;
    NEW.prev_hash := coalesce(head.hash, decode(repeat('00', 32), 'hex'));
    NEW.recorded_at := clock_timestamp();
    NEW.canonical_version := {version};
    NEW.hash := sha256(NEW.prev_hash || convert_to(sirkel_evidence_canonical(NEW), 'UTF8'));
    RETURN NEW;
END
$$;
"""


def upgrade() -> None:
    op.add_column(
        "transactions",
        sa.Column(
            "match_of_listing_id",
            sa.Uuid(),
            sa.ForeignKey(
                "listings.id",
                ondelete="RESTRICT",
                name="fk_transactions_match_of_listing_id_listings",
            ),
            nullable=True,
        ),
    )
    op.create_check_constraint(
        "match_of_another_listing",
        "transactions",
        "match_of_listing_id IS NULL OR match_of_listing_id <> listing_id",
    )
    op.add_column(
        "evidence",
        sa.Column("matched", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )
    op.drop_constraint("canonical_version_known", "evidence", type_="check")
    op.create_check_constraint(
        "canonical_version_known", "evidence", "canonical_version IN (1, 2, 3)"
    )
    op.create_check_constraint(
        "matched_needs_v3", "evidence", "canonical_version >= 3 OR NOT matched"
    )
    op.alter_column("evidence", "canonical_version", server_default=sa.text("3"))
    op.execute(_canonical(_V3_TAIL))
    op.execute(_chain(3))
    op.create_index(
        "ix_evidence_matched",
        "evidence",
        ["occurred_at"],
        postgresql_where=sa.text("matched"),
    )


def downgrade() -> None:
    op.drop_index("ix_evidence_matched", table_name="evidence")
    # Records of version 3 would no longer verify under version 2's canonical form.
    op.execute(
        "DO $$ BEGIN IF EXISTS (SELECT 1 FROM evidence WHERE canonical_version >= 3) THEN "
        "RAISE EXCEPTION 'evidence of canonical version 3 exists: it would no longer verify'; "
        "END IF; END $$"
    )
    op.execute(_chain(2))
    op.execute(_canonical(_V2_TAIL))
    op.alter_column("evidence", "canonical_version", server_default=sa.text("2"))
    op.drop_constraint("matched_needs_v3", "evidence", type_="check")
    op.drop_constraint("canonical_version_known", "evidence", type_="check")
    op.create_check_constraint("canonical_version_known", "evidence", "canonical_version IN (1, 2)")
    op.drop_column("evidence", "matched")
    op.drop_constraint("match_of_another_listing", "transactions", type_="check")
    op.drop_column("transactions", "match_of_listing_id")
