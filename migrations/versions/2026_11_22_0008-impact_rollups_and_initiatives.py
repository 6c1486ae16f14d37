"""Impact rollups, initiatives and canonical version 2 of the evidence ledger.

* ``initiatives`` (owner, ``initiative_partners``, ``initiative_kommuner``, period) and an
  ``initiative_id`` on listings, transactions, repair events and evidence records; the trigger
  ``initiative_partners_collaborate`` refuses the owner as its own partner and records the
  cross-sector pairs the initiative creates;
* evidence canonical **version 2**: the serialization gains ``initiative``. Version-1 records
  keep their version-1 serialization, so every existing hash still verifies;
* ``impact_facts``: the grouping keys and measures of each evidence record;
* ``impact_cells`` (six levels, ``impact_levels``), ``impact_parties`` and
  ``impact_collaborations``, kept by the trigger ``evidence_rollup`` in the transaction that
  appends the record; ``organization_parties`` maps an organization's pseudonym to its kind.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22 16:58:18.946491+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _canonical(tail: str) -> str:
    """``sirkel_evidence_canonical``; version 2 adds ``initiative`` for records of version 2
    and later (``tail`` closes the object), version 1 is what migration 0007 created."""
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


FUNCTIONS_SQL = r"""
INSERT INTO impact_levels (level, kommune, fylke, sector, category, initiative) VALUES
    (0, true, true, true, true, true),
    (1, false, true, true, true, false),
    (2, true, true, false, false, false),
    (3, false, true, false, false, false),
    (4, false, false, true, true, false),
    (5, false, false, false, false, true);
-- ;;
-- The calendar month of an instant, in Norway.
CREATE FUNCTION sirkel_impact_month(t timestamptz) RETURNS date
LANGUAGE sql STABLE STRICT AS $$
    SELECT date_trunc('month', t AT TIME ZONE 'Europe/Oslo')::date
$$;
-- ;;
-- The grouping keys and measures of each evidence record: the one place they are derived.
-- The rollup trigger reads a new record through this view, and a direct aggregate over it is
-- what the rollups must always equal (tests/services/test_impact_rollup_property.py).
--   facet:    the ORDS repair status of a repair, hazardous / non_hazardous for a material
--   category: the product category, or 'ewc-<chapter>' for a material
--   unit_days: days times units (item-days, m²·days); the sign rides on days
CREATE VIEW impact_facts AS
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
LEFT JOIN ewc_codes AS w ON w.code = e.ewc_code;
-- ;;
-- The three smallest distinct values of an array, NULL-padded to exactly three.
CREATE FUNCTION sirkel_sample3(items text[]) RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT s.a || array_fill(NULL::text, ARRAY[3 - cardinality(s.a)])
    FROM (
        SELECT coalesce(array_agg(x ORDER BY x), '{}') AS a
        FROM (
            SELECT DISTINCT x FROM unnest(items) AS x
            WHERE x IS NOT NULL ORDER BY x LIMIT 3
        ) AS d
    ) AS s
$$;
-- ;;
-- Adds one record (through impact_facts) to the party table, every level of impact_cells
-- and the collaborations. Runs under the ledger's advisory lock, so writers never race here.
CREATE FUNCTION sirkel_impact_add(f impact_facts) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    lv record;
    k text; fy text; se text; ca text; it text;
    p text;
    persons text[] := '{}';
    sample text[];
    present boolean;
    changed boolean;
BEGIN
    INSERT INTO impact_parties AS q (subgoal, type, month, facet, unit, grade, fylkesnummer,
        kommunenummer, sector, category, initiative, role, party, party_sector, net)
    VALUES (f.subgoal, f.type, f.month, f.facet, f.unit, f.grade, f.fylkesnummer, f.kommunenummer,
        f.sector, f.category, f.initiative, 'provider', f.provider_party, f.provider_sector,
        f.records)
    ON CONFLICT (subgoal, type, month, facet, unit, grade, fylkesnummer, kommunenummer, sector,
        category, initiative, role, party)
    DO UPDATE SET net = q.net + EXCLUDED.net;
    IF f.receiver_party IS NOT NULL THEN
        INSERT INTO impact_parties AS q (subgoal, type, month, facet, unit, grade, fylkesnummer,
            kommunenummer, sector, category, initiative, role, party, party_sector, net)
        VALUES (f.subgoal, f.type, f.month, f.facet, f.unit, f.grade, f.fylkesnummer, f.kommunenummer,
            f.sector, f.category, f.initiative, 'receiver', f.receiver_party,
            f.receiver_sector, f.records)
        ON CONFLICT (subgoal, type, month, facet, unit, grade, fylkesnummer, kommunenummer, sector,
            category, initiative, role, party)
        DO UPDATE SET net = q.net + EXCLUDED.net;
    END IF;
    IF f.provider_sector = 'households' THEN
        persons := persons || f.provider_party;
    END IF;
    IF f.receiver_sector = 'households' AND f.receiver_party IS DISTINCT FROM f.provider_party THEN
        persons := persons || f.receiver_party;
    END IF;

    FOR lv IN SELECT * FROM impact_levels ORDER BY level LOOP
        k := CASE WHEN lv.kommune THEN f.kommunenummer ELSE '*' END;
        fy := CASE WHEN lv.fylke THEN f.fylkesnummer ELSE '*' END;
        se := CASE WHEN lv.sector THEN f.sector ELSE '*' END;
        ca := CASE WHEN lv.category THEN f.category ELSE '*' END;
        it := CASE WHEN lv.initiative THEN f.initiative ELSE '*' END;
        INSERT INTO impact_cells AS c (level, subgoal, type, month, facet, unit, grade, fylkesnummer,
            kommunenummer, sector, category, initiative, records, quantity, unit_days, kg,
            co2e_kg, households, household_sample)
        VALUES (lv.level, f.subgoal, f.type, f.month, f.facet, f.unit, f.grade, fy, k, se, ca, it,
            f.records, f.quantity, f.unit_days, f.kg, f.co2e_kg, 0,
            ARRAY[NULL, NULL, NULL]::text[])
        ON CONFLICT (level, subgoal, type, month, facet, unit, grade, fylkesnummer, kommunenummer,
            sector, category, initiative)
        DO UPDATE SET records = c.records + EXCLUDED.records,
            quantity = c.quantity + EXCLUDED.quantity,
            unit_days = c.unit_days + EXCLUDED.unit_days,
            kg = c.kg + EXCLUDED.kg,
            co2e_kg = c.co2e_kg + EXCLUDED.co2e_kg
        RETURNING c.household_sample INTO sample;

        changed := false;
        FOREACH p IN ARRAY persons LOOP
            present := EXISTS (
                SELECT 1 FROM impact_parties AS q
                WHERE q.party = p AND q.month = f.month AND q.subgoal = f.subgoal AND q.type = f.type
                  AND q.facet = f.facet AND q.unit = f.unit AND q.grade = f.grade
                  AND (k = '*' OR q.kommunenummer = k) AND (fy = '*' OR q.fylkesnummer = fy)
                  AND (se = '*' OR q.sector = se) AND (ca = '*' OR q.category = ca)
                  AND (it = '*' OR q.initiative = it) AND q.net > 0);
            IF present AND array_position(sample, p) IS NULL THEN
                sample := sirkel_sample3(sample || p);
                changed := true;
            ELSIF NOT present AND array_position(sample, p) IS NOT NULL THEN
                sample := sirkel_sample3(ARRAY(
                    SELECT DISTINCT q.party FROM impact_parties AS q
                    WHERE q.month = f.month AND q.subgoal = f.subgoal AND q.type = f.type AND q.facet = f.facet
                      AND q.unit = f.unit AND q.grade = f.grade
                      AND (k = '*' OR q.kommunenummer = k) AND (fy = '*' OR q.fylkesnummer = fy)
                      AND (se = '*' OR q.sector = se) AND (ca = '*' OR q.category = ca)
                      AND (it = '*' OR q.initiative = it)
                      AND q.party_sector = 'households' AND q.net > 0
                    ORDER BY q.party LIMIT 3));
                changed := true;
            END IF;
        END LOOP;
        IF changed THEN
            UPDATE impact_cells AS c
            SET household_sample = sample, households = cardinality(array_remove(sample, NULL))
            WHERE c.level = lv.level AND c.subgoal = f.subgoal AND c.type = f.type AND c.month = f.month
              AND c.facet = f.facet AND c.unit = f.unit AND c.grade = f.grade
              AND c.fylkesnummer = fy AND c.kommunenummer = k AND c.sector = se
              AND c.category = ca AND c.initiative = it;
        END IF;
    END LOOP;

    IF f.records > 0 AND f.receiver_party IS NOT NULL
       AND f.provider_sector <> 'households' AND f.receiver_sector <> 'households'
       AND f.provider_sector <> f.receiver_sector THEN
        INSERT INTO impact_collaborations AS c (party_a, party_b, sector_a, sector_b,
            first_month, source, fylkesnummer, kommunenummer, initiative)
        VALUES (
            least(f.provider_party, f.receiver_party),
            greatest(f.provider_party, f.receiver_party),
            CASE WHEN f.provider_party < f.receiver_party THEN f.provider_sector ELSE f.receiver_sector END,
            CASE WHEN f.provider_party < f.receiver_party THEN f.receiver_sector ELSE f.provider_sector END,
            f.month, 'transaction', f.fylkesnummer, f.kommunenummer, f.initiative)
        ON CONFLICT (party_a, party_b) DO UPDATE
        SET first_month = EXCLUDED.first_month, source = EXCLUDED.source,
            fylkesnummer = EXCLUDED.fylkesnummer, kommunenummer = EXCLUDED.kommunenummer,
            initiative = EXCLUDED.initiative
        WHERE EXCLUDED.first_month < c.first_month;
    END IF;
END
$$;
-- ;;
CREATE FUNCTION evidence_rollup() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM sirkel_impact_add(f) FROM impact_facts AS f WHERE f.seq = NEW.seq;
    RETURN NULL;
END
$$;
-- ;;
CREATE TRIGGER evidence_rollup AFTER INSERT ON evidence
FOR EACH ROW EXECUTE FUNCTION evidence_rollup();
-- ;;
-- Pairs of organizations from different sectors sharing an initiative, first seen in the
-- month the later of the two joined it (never before the initiative starts).
CREATE FUNCTION sirkel_initiative_pairs(only_initiative uuid) RETURNS TABLE (
    party_a text, party_b text, sector_a text, sector_b text, first_month date, initiative text)
LANGUAGE sql STABLE AS $$
    WITH members AS (
        SELECT i.id, i.owner_organization_id AS organization_id,
               greatest(i.starts_on, (i.created_at AT TIME ZONE 'Europe/Oslo')::date) AS joined_on
        FROM initiatives AS i
        WHERE only_initiative IS NULL OR i.id = only_initiative
        UNION ALL
        SELECT i.id, p.organization_id,
               greatest(i.starts_on, (p.added_at AT TIME ZONE 'Europe/Oslo')::date)
        FROM initiative_partners AS p JOIN initiatives AS i ON i.id = p.initiative_id
        WHERE only_initiative IS NULL OR i.id = only_initiative
    ), parties AS (
        SELECT m.id, sirkel_party('organization', m.organization_id) AS party, o.sector,
               m.joined_on
        FROM members AS m JOIN organizations AS o ON o.id = m.organization_id
    )
    SELECT a.party, b.party, a.sector, b.sector,
           date_trunc('month', greatest(a.joined_on, b.joined_on))::date, a.id::text
    FROM parties AS a JOIN parties AS b ON a.id = b.id AND a.party < b.party
    WHERE a.sector <> b.sector
$$;
-- ;;
CREATE FUNCTION initiative_partners_collaborate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM initiatives AS i
               WHERE i.id = NEW.initiative_id AND i.owner_organization_id = NEW.organization_id) THEN
        RAISE EXCEPTION 'the owner of an initiative is not its own partner'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'initiative_partners_not_owner';
    END IF;
    INSERT INTO impact_collaborations AS c (party_a, party_b, sector_a, sector_b, first_month,
        source, fylkesnummer, kommunenummer, initiative)
    SELECT s.party_a, s.party_b, s.sector_a, s.sector_b, s.first_month, 'initiative', '', '',
           s.initiative
    FROM sirkel_initiative_pairs(NEW.initiative_id) AS s
    ON CONFLICT (party_a, party_b) DO UPDATE
    SET first_month = EXCLUDED.first_month, source = EXCLUDED.source,
        fylkesnummer = EXCLUDED.fylkesnummer, kommunenummer = EXCLUDED.kommunenummer,
        initiative = EXCLUDED.initiative
    WHERE EXCLUDED.first_month < c.first_month;
    RETURN NEW;
END
$$;
-- ;;
CREATE TRIGGER initiative_partners_collaborate AFTER INSERT ON initiative_partners
FOR EACH ROW EXECUTE FUNCTION initiative_partners_collaborate();
-- ;;
CREATE FUNCTION organizations_party() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO organization_parties AS o (party, organization_id, kind)
    VALUES (sirkel_party('organization', NEW.id), NEW.id, NEW.kind)
    ON CONFLICT (party) DO UPDATE SET kind = EXCLUDED.kind;
    RETURN NULL;
END
$$;
-- ;;
CREATE TRIGGER organizations_party AFTER INSERT OR UPDATE OF kind ON organizations
FOR EACH ROW EXECUTE FUNCTION organizations_party();
-- ;;
INSERT INTO organization_parties (party, organization_id, kind)
SELECT sirkel_party('organization', o.id), o.id, o.kind FROM organizations AS o;
-- ;;
-- Recomputes every rollup from impact_facts in a few set-based statements (a bulk load, a
-- restore, this migration's backfill; python -m app.cli rebuild-impact). Takes the ledger's
-- lock first, so no record is appended half-way.
CREATE FUNCTION sirkel_impact_rebuild() RETURNS void
LANGUAGE plpgsql AS $fn$
BEGIN
    PERFORM pg_advisory_xact_lock(7262353537);
    TRUNCATE impact_cells, impact_parties, impact_collaborations;
    INSERT INTO impact_parties (subgoal, type, month, facet, unit, grade, fylkesnummer, kommunenummer, sector, category, initiative, role, party, party_sector, net)
        SELECT subgoal, type, month, facet, unit, grade, fylkesnummer, kommunenummer, sector, category, initiative, 'provider', provider_party, provider_sector, sum(records)
        FROM impact_facts
        GROUP BY subgoal, type, month, facet, unit, grade, fylkesnummer, kommunenummer, sector, category, initiative, provider_party, provider_sector
        UNION ALL
        SELECT subgoal, type, month, facet, unit, grade, fylkesnummer, kommunenummer, sector, category, initiative, 'receiver', receiver_party, receiver_sector, sum(records)
        FROM impact_facts
        WHERE receiver_party IS NOT NULL
        GROUP BY subgoal, type, month, facet, unit, grade, fylkesnummer, kommunenummer, sector, category, initiative, receiver_party, receiver_sector;
    INSERT INTO impact_cells (level, subgoal, type, month, facet, unit, grade, fylkesnummer, kommunenummer, sector, category, initiative, records, quantity, unit_days, kg, co2e_kg,
                                  households, household_sample)
        SELECT 0, subgoal, type, month, facet, unit, grade, fylkesnummer, kommunenummer, sector, category, initiative, sum(records), sum(quantity), sum(unit_days), sum(kg), sum(co2e_kg),
               0, ARRAY[NULL, NULL, NULL]::text[]
        FROM impact_facts
        GROUP BY subgoal, type, month, facet, unit, grade, fylkesnummer, kommunenummer, sector, category, initiative;
    INSERT INTO impact_cells (level, subgoal, type, month, facet, unit, grade, fylkesnummer, kommunenummer, sector, category, initiative, records, quantity, unit_days, kg, co2e_kg,
                                  households, household_sample)
        SELECT l.level, c.subgoal, c.type, c.month, c.facet, c.unit, c.grade,
        CASE WHEN l.fylke THEN c.fylkesnummer ELSE '*' END,
        CASE WHEN l.kommune THEN c.kommunenummer ELSE '*' END,
        CASE WHEN l.sector THEN c.sector ELSE '*' END,
        CASE WHEN l.category THEN c.category ELSE '*' END,
        CASE WHEN l.initiative THEN c.initiative ELSE '*' END,
               sum(c.records), sum(c.quantity), sum(c.unit_days), sum(c.kg), sum(c.co2e_kg),
               0, ARRAY[NULL, NULL, NULL]::text[]
        FROM impact_cells AS c CROSS JOIN impact_levels AS l
        WHERE c.level = 0 AND l.level > 0
        GROUP BY l.level, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12;
    UPDATE impact_cells AS c
        SET household_sample = s.sample, households = cardinality(array_remove(s.sample, NULL))
        FROM (
            SELECT l.level, q.subgoal, q.type, q.month, q.facet, q.unit, q.grade,
        CASE WHEN l.fylke THEN q.fylkesnummer ELSE '*' END,
        CASE WHEN l.kommune THEN q.kommunenummer ELSE '*' END,
        CASE WHEN l.sector THEN q.sector ELSE '*' END,
        CASE WHEN l.category THEN q.category ELSE '*' END,
        CASE WHEN l.initiative THEN q.initiative ELSE '*' END,
                   sirkel_sample3((array_agg(DISTINCT q.party ORDER BY q.party))[1:3]) AS sample
            FROM impact_parties AS q CROSS JOIN impact_levels AS l
            WHERE q.party_sector = 'households' AND q.net > 0
            GROUP BY l.level, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12
        ) AS s (level, subgoal, type, month, facet, unit, grade, fylkesnummer, kommunenummer, sector, category, initiative, sample)
        WHERE (c.level, c.subgoal, c.type, c.month, c.facet, c.unit, c.grade, c.fylkesnummer,
               c.kommunenummer, c.sector, c.category, c.initiative)
            = (s.level, s.subgoal, s.type, s.month, s.facet, s.unit, s.grade, s.fylkesnummer,
               s.kommunenummer, s.sector, s.category, s.initiative);
    INSERT INTO impact_collaborations (party_a, party_b, sector_a, sector_b, first_month,
                                           source, fylkesnummer, kommunenummer, initiative)
        SELECT DISTINCT ON (party_a, party_b)
               party_a, party_b, sector_a, sector_b, first_month, source, fylkesnummer,
               kommunenummer, initiative
        FROM (
            SELECT least(f.provider_party, f.receiver_party) AS party_a,
                   greatest(f.provider_party, f.receiver_party) AS party_b,
                   CASE WHEN f.provider_party < f.receiver_party
                        THEN f.provider_sector ELSE f.receiver_sector END AS sector_a,
                   CASE WHEN f.provider_party < f.receiver_party
                        THEN f.receiver_sector ELSE f.provider_sector END AS sector_b,
                   f.month AS first_month, 'transaction' AS source, f.fylkesnummer,
                   f.kommunenummer, f.initiative, 0 AS source_rank, f.seq
            FROM impact_facts AS f
            WHERE f.records > 0 AND f.receiver_party IS NOT NULL
              AND f.provider_sector <> 'households' AND f.receiver_sector <> 'households'
              AND f.provider_sector <> f.receiver_sector
            UNION ALL
            SELECT s.party_a, s.party_b, s.sector_a, s.sector_b, s.first_month, 'initiative',
                   '', '', s.initiative, 1, 0
            FROM sirkel_initiative_pairs(NULL) AS s
        ) AS seen
        ORDER BY party_a, party_b, first_month, source_rank, seq;
END
$fn$;
-- ;;
SELECT sirkel_impact_rebuild();
-- ;;
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
    NEW.canonical_version := 2;
    NEW.hash := sha256(NEW.prev_hash || convert_to(sirkel_evidence_canonical(NEW), 'UTF8'));
    RETURN NEW;
END
$$;
-- ;;
""" + _canonical(
    """
    ) || CASE WHEN e.canonical_version >= 2
              THEN jsonb_build_object('initiative', e.initiative_id)
              ELSE '{}'::jsonb END) AS f"""
)

DROP_SQL = r"""
DROP TRIGGER IF EXISTS evidence_rollup ON evidence;
-- ;;
DROP TRIGGER IF EXISTS initiative_partners_collaborate ON initiative_partners;
-- ;;
DROP TRIGGER IF EXISTS organizations_party ON organizations;
-- ;;
DROP FUNCTION IF EXISTS evidence_rollup();
-- ;;
DROP FUNCTION IF EXISTS sirkel_impact_rebuild();
-- ;;
DROP FUNCTION IF EXISTS sirkel_impact_add(impact_facts);
-- ;;
DROP FUNCTION IF EXISTS initiative_partners_collaborate();
-- ;;
DROP FUNCTION IF EXISTS sirkel_initiative_pairs(uuid);
-- ;;
DROP FUNCTION IF EXISTS organizations_party();
-- ;;
DROP FUNCTION IF EXISTS sirkel_sample3(text[]);
-- ;;
DROP VIEW IF EXISTS impact_facts;
-- ;;
DROP FUNCTION IF EXISTS sirkel_impact_month(timestamptz);
-- ;;
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
    NEW.canonical_version := 1;
    NEW.hash := sha256(NEW.prev_hash || convert_to(sirkel_evidence_canonical(NEW), 'UTF8'));
    RETURN NEW;
END
$$;
-- ;;
""" + _canonical("""
    )) AS f""")


def _execute_each(script: str) -> None:
    """asyncpg runs one statement per call; the scripts separate theirs with ``-- ;;``."""
    for statement in script.split("-- ;;"):
        if statement.strip():
            op.execute(statement)


def upgrade() -> None:
    op.create_table(
        "impact_collaborations",
        sa.Column("party_a", sa.Text(), nullable=False),
        sa.Column("party_b", sa.Text(), nullable=False),
        sa.Column("sector_a", sa.Text(), nullable=False),
        sa.Column("sector_b", sa.Text(), nullable=False),
        sa.Column("first_month", sa.Date(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("fylkesnummer", sa.Text(), nullable=False),
        sa.Column("kommunenummer", sa.Text(), nullable=False),
        sa.Column("initiative", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "source IN ('transaction', 'initiative')",
            name=op.f("ck_impact_collaborations_source_known"),
        ),
        sa.CheckConstraint("party_a < party_b", name=op.f("ck_impact_collaborations_pair_ordered")),
        sa.CheckConstraint(
            "sector_a <> sector_b", name=op.f("ck_impact_collaborations_across_sectors")
        ),
        sa.PrimaryKeyConstraint("party_a", "party_b", name=op.f("pk_impact_collaborations")),
    )
    op.create_index(
        "ix_impact_collaborations_month", "impact_collaborations", ["first_month"], unique=False
    )
    op.create_table(
        "impact_levels",
        sa.Column("level", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("kommune", sa.Boolean(), nullable=False),
        sa.Column("fylke", sa.Boolean(), nullable=False),
        sa.Column("sector", sa.Boolean(), nullable=False),
        sa.Column("category", sa.Boolean(), nullable=False),
        sa.Column("initiative", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("level", name=op.f("pk_impact_levels")),
    )
    op.create_table(
        "impact_parties",
        sa.Column("subgoal", sa.Text(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("facet", sa.Text(), nullable=False),
        sa.Column("unit", sa.Text(), nullable=False),
        sa.Column("grade", sa.Text(), nullable=False),
        sa.Column("fylkesnummer", sa.Text(), nullable=False),
        sa.Column("kommunenummer", sa.Text(), nullable=False),
        sa.Column("sector", sa.Text(), nullable=False),
        sa.Column("category", sa.Text(), nullable=False),
        sa.Column("initiative", sa.Text(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("party", sa.Text(), nullable=False),
        sa.Column("party_sector", sa.Text(), nullable=False),
        sa.Column("net", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "subgoal",
            "type",
            "month",
            "facet",
            "unit",
            "grade",
            "fylkesnummer",
            "kommunenummer",
            "sector",
            "category",
            "initiative",
            "role",
            "party",
            name=op.f("pk_impact_parties"),
        ),
    )
    op.create_index("ix_impact_parties_party", "impact_parties", ["party", "month"], unique=False)
    op.create_table(
        "impact_cells",
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.Column("subgoal", sa.Text(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("facet", sa.Text(), nullable=False),
        sa.Column("unit", sa.Text(), nullable=False),
        sa.Column("grade", sa.Text(), nullable=False),
        sa.Column("fylkesnummer", sa.Text(), nullable=False),
        sa.Column("kommunenummer", sa.Text(), nullable=False),
        sa.Column("sector", sa.Text(), nullable=False),
        sa.Column("category", sa.Text(), nullable=False),
        sa.Column("initiative", sa.Text(), nullable=False),
        sa.Column("records", sa.BigInteger(), nullable=False),
        sa.Column("quantity", sa.Numeric(), nullable=False),
        sa.Column("unit_days", sa.Numeric(), nullable=False),
        sa.Column("kg", sa.Numeric(), nullable=False),
        sa.Column("co2e_kg", sa.Numeric(), nullable=False),
        sa.Column("households", sa.SmallInteger(), nullable=False),
        sa.Column("household_sample", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.CheckConstraint(
            "cardinality(household_sample) = 3", name=op.f("ck_impact_cells_sample_of_three")
        ),
        sa.CheckConstraint(
            "households BETWEEN 0 AND 3", name=op.f("ck_impact_cells_households_saturate")
        ),
        sa.ForeignKeyConstraint(
            ["level"], ["impact_levels.level"], name=op.f("fk_impact_cells_level_impact_levels")
        ),
        sa.PrimaryKeyConstraint(
            "level",
            "subgoal",
            "type",
            "month",
            "facet",
            "unit",
            "grade",
            "fylkesnummer",
            "kommunenummer",
            "sector",
            "category",
            "initiative",
            name=op.f("pk_impact_cells"),
        ),
    )
    op.create_index(
        "ix_impact_cells_fylke",
        "impact_cells",
        ["level", "fylkesnummer", "subgoal", "type", "month"],
        unique=False,
    )
    op.create_index(
        "ix_impact_cells_kommune",
        "impact_cells",
        ["level", "kommunenummer", "subgoal", "type", "month"],
        unique=False,
    )
    op.create_table(
        "initiatives",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("owner_organization_id", sa.Uuid(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('pilot', 'experiment', 'reuse_station', 'repair_cafe_series')",
            name=op.f("ck_initiatives_kind_known"),
        ),
        sa.CheckConstraint(
            "char_length(description) <= 5000", name=op.f("ck_initiatives_description_length")
        ),
        sa.CheckConstraint(
            "char_length(name) BETWEEN 3 AND 160", name=op.f("ck_initiatives_name_length")
        ),
        sa.CheckConstraint(
            "ends_on IS NULL OR ends_on >= starts_on", name=op.f("ck_initiatives_ends_after_start")
        ),
        sa.ForeignKeyConstraint(
            ["owner_organization_id"],
            ["organizations.id"],
            name=op.f("fk_initiatives_owner_organization_id_organizations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_initiatives")),
    )
    op.create_index(
        "ix_initiatives_owner_organization_id",
        "initiatives",
        ["owner_organization_id"],
        unique=False,
    )
    op.create_table(
        "organization_parties",
        sa.Column("party", sa.Text(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_organization_parties_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("party", name=op.f("pk_organization_parties")),
        sa.UniqueConstraint(
            "organization_id", name=op.f("uq_organization_parties_organization_id")
        ),
    )
    op.create_table(
        "initiative_kommuner",
        sa.Column("initiative_id", sa.Uuid(), nullable=False),
        sa.Column("kommunenummer", sa.String(length=4), nullable=False),
        sa.ForeignKeyConstraint(
            ["initiative_id"],
            ["initiatives.id"],
            name=op.f("fk_initiative_kommuner_initiative_id_initiatives"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["kommunenummer"],
            ["kommuner.kommunenummer"],
            name=op.f("fk_initiative_kommuner_kommunenummer_kommuner"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint(
            "initiative_id", "kommunenummer", name=op.f("pk_initiative_kommuner")
        ),
    )
    op.create_table(
        "initiative_partners",
        sa.Column("initiative_id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["initiative_id"],
            ["initiatives.id"],
            name=op.f("fk_initiative_partners_initiative_id_initiatives"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_initiative_partners_organization_id_organizations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint(
            "initiative_id", "organization_id", name=op.f("pk_initiative_partners")
        ),
    )
    op.create_index(
        "ix_initiative_partners_organization_id",
        "initiative_partners",
        ["organization_id"],
        unique=False,
    )
    op.add_column("evidence", sa.Column("initiative_id", sa.Uuid(), nullable=True))
    op.alter_column(
        "evidence",
        "canonical_version",
        existing_type=sa.SMALLINT(),
        server_default=sa.text("2"),
        existing_nullable=False,
    )
    op.create_foreign_key(
        op.f("fk_evidence_initiative_id_initiatives"),
        "evidence",
        "initiatives",
        ["initiative_id"],
        ["id"],
        ondelete="RESTRICT",
    )
    op.add_column("listings", sa.Column("initiative_id", sa.Uuid(), nullable=True))
    op.create_index(op.f("ix_listings_initiative_id"), "listings", ["initiative_id"], unique=False)
    op.create_foreign_key(
        op.f("fk_listings_initiative_id_initiatives"),
        "listings",
        "initiatives",
        ["initiative_id"],
        ["id"],
        ondelete="RESTRICT",
    )
    op.add_column("repair_events", sa.Column("initiative_id", sa.Uuid(), nullable=True))
    op.create_index(
        op.f("ix_repair_events_initiative_id"), "repair_events", ["initiative_id"], unique=False
    )
    op.create_foreign_key(
        op.f("fk_repair_events_initiative_id_initiatives"),
        "repair_events",
        "initiatives",
        ["initiative_id"],
        ["id"],
        ondelete="RESTRICT",
    )
    op.add_column("transactions", sa.Column("initiative_id", sa.Uuid(), nullable=True))
    op.create_index(
        op.f("ix_transactions_initiative_id"), "transactions", ["initiative_id"], unique=False
    )
    op.create_foreign_key(
        op.f("fk_transactions_initiative_id_initiatives"),
        "transactions",
        "initiatives",
        ["initiative_id"],
        ["id"],
        ondelete="RESTRICT",
    )
    op.create_index(
        "ix_evidence_type_occurred_at", "evidence", ["type", "occurred_at"], unique=False
    )
    op.create_check_constraint(
        op.f("ck_evidence_canonical_version_known"), "evidence", "canonical_version IN (1, 2)"
    )
    op.create_check_constraint(
        op.f("ck_evidence_initiative_needs_v2"),
        "evidence",
        "canonical_version >= 2 OR initiative_id IS NULL",
    )
    _execute_each(FUNCTIONS_SQL)


def downgrade() -> None:
    _execute_each(DROP_SQL)
    op.drop_index("ix_evidence_type_occurred_at", table_name="evidence")
    op.drop_constraint(op.f("ck_evidence_initiative_needs_v2"), "evidence")
    op.drop_constraint(op.f("ck_evidence_canonical_version_known"), "evidence")
    op.drop_constraint(
        op.f("fk_transactions_initiative_id_initiatives"), "transactions", type_="foreignkey"
    )
    op.drop_index(op.f("ix_transactions_initiative_id"), table_name="transactions")
    op.drop_column("transactions", "initiative_id")
    op.drop_constraint(
        op.f("fk_repair_events_initiative_id_initiatives"), "repair_events", type_="foreignkey"
    )
    op.drop_index(op.f("ix_repair_events_initiative_id"), table_name="repair_events")
    op.drop_column("repair_events", "initiative_id")
    op.drop_constraint(
        op.f("fk_listings_initiative_id_initiatives"), "listings", type_="foreignkey"
    )
    op.drop_index(op.f("ix_listings_initiative_id"), table_name="listings")
    op.drop_column("listings", "initiative_id")
    op.drop_constraint(
        op.f("fk_evidence_initiative_id_initiatives"), "evidence", type_="foreignkey"
    )
    op.alter_column(
        "evidence",
        "canonical_version",
        existing_type=sa.SMALLINT(),
        server_default=sa.text("1"),
        existing_nullable=False,
    )
    op.drop_column("evidence", "initiative_id")
    op.drop_index("ix_initiative_partners_organization_id", table_name="initiative_partners")
    op.drop_table("initiative_partners")
    op.drop_table("initiative_kommuner")
    op.drop_table("organization_parties")
    op.drop_index("ix_initiatives_owner_organization_id", table_name="initiatives")
    op.drop_table("initiatives")
    op.drop_index("ix_impact_cells_kommune", table_name="impact_cells")
    op.drop_index("ix_impact_cells_fylke", table_name="impact_cells")
    op.drop_table("impact_cells")
    op.drop_index("ix_impact_parties_party", table_name="impact_parties")
    op.drop_table("impact_parties")
    op.drop_table("impact_levels")
    op.drop_index("ix_impact_collaborations_month", table_name="impact_collaborations")
    op.drop_table("impact_collaborations")
