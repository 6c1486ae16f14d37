"""Evidence keeps its country; Norway's indicators count Norway (issue #16).

Imported ORDS records come from repair networks abroad as often as from Norway, and the
rollups counted every one of them as Norwegian (a yearly report for all of Norway printed
25,926 repairs, all foreign). Now:

* ``evidence.country`` (ISO 3166-1 alpha-3, default NOR): records of canonical version 4
  (every record from now on) hash it; versions 1-3 are verified as written and are
  Norwegian unless the repair they count says otherwise — ``sirkel_evidence_country(e)``
  answers for either, and a compensation copies what it answers;
* the view ``impact_facts``, which the rollup trigger and ``sirkel_impact_rebuild`` read,
  keeps Norway's records only (the same columns, so ``sirkel_impact_add`` is unchanged);
* if the ledger holds foreign imported records, the rollups are rebuilt without them.

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-05 17:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0034"
down_revision: str | None = "0033"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _canonical(tail: str) -> str:
    """``sirkel_evidence_canonical`` as migration 0008 wrote it (copied from 0025), with ``tail`` closing the
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


_V4_TAIL = """
    ) || CASE WHEN e.canonical_version >= 2
              THEN jsonb_build_object('initiative', e.initiative_id)
              ELSE '{}'::jsonb END
      || CASE WHEN e.canonical_version >= 3
              THEN jsonb_build_object('matched', e.matched)
              ELSE '{}'::jsonb END
      || CASE WHEN e.canonical_version >= 4
              THEN jsonb_build_object('country', e.country)
              ELSE '{}'::jsonb END) AS f"""

COUNTRY_FUNCTION = """
CREATE FUNCTION sirkel_evidence_country(e evidence) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN e.canonical_version >= 4 THEN e.country
                ELSE coalesce((SELECT r.country FROM repairs AS r WHERE r.id = e.repair_id),
                              'NOR') END
$$;
"""

# impact_facts as migration 0008 wrote it, for Norway's records only.
FACTS_VIEW = """
CREATE OR REPLACE VIEW impact_facts AS
SELECT
    e.seq,
    sirkel_impact_month(e.occurred_at) AS month,
    e.subgoal,
    e.type,
    CASE
        WHEN e.repair_status IS NOT NULL THEN e.repair_status
        WHEN w.hazardous THEN 'hazardous'
        WHEN w.hazardous IS NOT NULL THEN 'non_hazardous'
        ELSE ''
    END AS facet,
    coalesce(e.unit, '') AS unit,
    e.grade,
    coalesce(e.fylkesnummer, '') AS fylkesnummer,
    coalesce(e.kommunenummer, '') AS kommunenummer,
    e.provider_sector AS sector,
    coalesce(e.category_slug, 'ewc-' || w.chapter, '') AS category,
    coalesce(e.initiative_id::text, '') AS initiative,
    e.record_count::bigint AS records,
    coalesce(e.quantity, 0) AS quantity,
    coalesce(e.days * coalesce(abs(e.quantity), 1), 0) AS unit_days,
    coalesce(e.kg_diverted, 0) AS kg,
    coalesce(e.co2e_kg, 0) AS co2e_kg,
    e.provider_party,
    e.provider_sector,
    e.receiver_party,
    e.receiver_sector
FROM evidence AS e
LEFT JOIN ewc_codes AS w ON w.code = e.ewc_code
-- sirkel_evidence_country(e), written as a join so that a rebuild stays one hash join
-- rather than a lookup per record (the trigger's single record joins nothing from v4 on).
LEFT JOIN repairs AS r ON e.canonical_version < 4 AND r.id = e.repair_id
WHERE CASE WHEN e.canonical_version >= 4 THEN e.country ELSE coalesce(r.country, 'NOR') END
      = 'NOR'
"""

REBUILD_IF_FOREIGN = """
DO $$ BEGIN
    IF EXISTS (SELECT 1 FROM evidence AS e JOIN repairs AS r ON r.id = e.repair_id
               WHERE r.country <> 'NOR') THEN
        PERFORM sirkel_impact_rebuild();
    END IF;
END $$
"""


def upgrade() -> None:
    op.add_column(
        "evidence",
        sa.Column("country", sa.String(3), server_default=sa.text("'NOR'"), nullable=False),
    )
    op.create_check_constraint("country_alpha3", "evidence", "country ~ '^[A-Z]{3}$'")
    op.create_check_constraint(
        "country_needs_v4", "evidence", "canonical_version >= 4 OR country = 'NOR'"
    )
    op.drop_constraint("canonical_version_known", "evidence", type_="check")
    op.create_check_constraint(
        "canonical_version_known", "evidence", "canonical_version IN (1, 2, 3, 4)"
    )
    op.alter_column("evidence", "canonical_version", server_default=sa.text("4"))
    op.execute(_canonical(_V4_TAIL))
    op.execute(_chain(4))
    op.execute(COUNTRY_FUNCTION)
    op.execute(FACTS_VIEW)
    op.execute(REBUILD_IF_FOREIGN)


def downgrade() -> None:
    op.execute(
        "DO $$ BEGIN IF EXISTS (SELECT 1 FROM evidence WHERE canonical_version >= 4) THEN "
        "RAISE EXCEPTION 'evidence of canonical version 4 exists: it would no longer verify'; "
        "END IF; END $$"
    )
    op.execute(FACTS_VIEW[: FACTS_VIEW.index("-- sirkel_evidence_country")])
    op.execute("DROP FUNCTION sirkel_evidence_country(evidence)")
    op.execute(_chain(3))
    op.execute(_canonical(_V3_TAIL))
    op.alter_column("evidence", "canonical_version", server_default=sa.text("3"))
    op.drop_constraint("canonical_version_known", "evidence", type_="check")
    op.create_check_constraint(
        "canonical_version_known", "evidence", "canonical_version IN (1, 2, 3)"
    )
    op.drop_constraint("country_needs_v4", "evidence", type_="check")
    op.drop_constraint("country_alpha3", "evidence", type_="check")
    op.drop_column("evidence", "country")
    op.execute(REBUILD_IF_FOREIGN)
