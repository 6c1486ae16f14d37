"""Migrations: empty database → head, no drift against the models, down to base, up again."""

from __future__ import annotations

from tests.conftest import alembic, run_project_command
from tests.pg_cluster import Cluster


def test_migrations_round_trip_without_drift(pg_cluster: Cluster) -> None:
    pg_cluster.create_database("sirkel_migrations")
    url = pg_cluster.url("sirkel_migrations")

    for step in (
        ("upgrade", "head"),
        ("check",),
        ("downgrade", "base"),
        ("upgrade", "head"),
        ("check",),
    ):
        result = alembic(url, *step)
        assert result.returncode == 0, f"alembic {' '.join(step)} failed:\n{result.stderr}"

    tables = pg_cluster.psql(
        "SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables "
        "WHERE schemaname = 'public'",
        database="sirkel_migrations",
    ).strip()
    assert set(tables.split(",")) >= {"alembic_version", "fylker", "kommuner", "kommune_parts"}
    extensions = pg_cluster.psql(
        "SELECT string_agg(extname, ',' ORDER BY extname) FROM pg_extension",
        database="sirkel_migrations",
    ).strip()
    assert {"postgis", "btree_gist", "pg_trgm"} <= set(extensions.split(","))

    down = alembic(url, "downgrade", "base")
    assert down.returncode == 0, down.stderr
    left = pg_cluster.psql(
        "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' "
        "AND tablename <> 'alembic_version'",
        database="sirkel_migrations",
    ).strip()
    assert left == "0"


def test_reference_data_comes_back_after_a_downgrade(pg_cluster: Cluster) -> None:
    """A downgrade drops reference tables; their checksums must go too, or load-reference
    would skip them as unchanged and leave them empty."""
    pg_cluster.create_database("sirkel_reference_round_trip")
    url = pg_cluster.url("sirkel_reference_round_trip")
    for step in (
        ["alembic", "upgrade", "head"],
        ["load-reference"],
        ["alembic", "downgrade", "0003"],
        ["alembic", "upgrade", "head"],
        ["load-reference"],
    ):
        if step[0] == "alembic":
            result = alembic(url, *step[1:])
        else:
            result = run_project_command(["app.cli", *step], url)
        assert result.returncode == 0, f"{step} failed:\n{result.stderr}"
    counts = pg_cluster.psql(
        "SELECT (SELECT count(*) FROM ewc_codes) || ',' || (SELECT count(*) FROM categories)",
        database="sirkel_reference_round_trip",
    ).strip()
    assert counts == "842,140"


def test_version_1_evidence_still_verifies_and_is_rolled_up_after_0008(
    pg_cluster: Cluster,
) -> None:
    """Migration 0008 moves the ledger to canonical version 2. Records written before keep
    their version-1 serialization (their hashes must not change), the chain continues across
    the versions, and the new rollups are backfilled from the records already there."""
    database = "sirkel_canonical_v1"
    pg_cluster.create_database(database)
    url = pg_cluster.url(database)
    for result in (
        alembic(url, "upgrade", "0007"),
        run_project_command(["app.cli", "load-reference"], url),
    ):
        assert result.returncode == 0, result.stderr
    pg_cluster.psql(
        """
        WITH shop AS (
            INSERT INTO organizations (name, kind) VALUES ('Fiksern', 'repair_shop') RETURNING id
        ), owner AS (
            INSERT INTO persons (email, display_name, password_hash)
            VALUES ('eier@example.no', 'Eier', 'x') RETURNING id
        ), member AS (
            INSERT INTO memberships (organization_id, person_id, role)
            SELECT shop.id, owner.id, 'owner' FROM shop, owner
        ), repair AS (
            INSERT INTO repairs (organization_id, source, data_provider, provider_record_id,
                partner_product_category, ords_category_id, repair_status, event_date,
                created_at, updated_at)
            SELECT id, 'logged', 'Sirkel', 'r-1', 'Kaffetrakter', 1, 'Fixed', '2025-01-10',
                   now(), now() FROM shop
            RETURNING id, organization_id
        )
        INSERT INTO evidence (occurred_at, event, grade, type, subgoal, repair_id,
            provider_party, provider_sector, kommunenummer, fylkesnummer, record_count,
            kg_diverted, co2e_kg)
        SELECT '2025-01-10T10:00:00Z', 'logged', 'reported', 'repair', 'SG1', r.id,
               sirkel_party('organization', r.organization_id), 'business', '0301', '03', 1,
               2.5 * g, 13.125
        FROM repair AS r CROSS JOIN generate_series(1, 6) AS g
        """,
        database=database,
    )
    before = pg_cluster.psql(
        "SELECT string_agg(encode(hash, 'hex'), ',' ORDER BY seq) FROM evidence", database=database
    ).strip()

    upgraded = alembic(url, "upgrade", "head")
    assert upgraded.returncode == 0, upgraded.stderr
    pg_cluster.psql(
        "INSERT INTO evidence (occurred_at, event, grade, type, subgoal, repair_id, "
        "provider_party, provider_sector, record_count) SELECT occurred_at, 'logged', grade, "
        "type, subgoal, repair_id, provider_party, provider_sector, 1 FROM evidence "
        "WHERE seq = 1",
        database=database,
    )
    checked = pg_cluster.psql(
        """
        SELECT string_agg(encode(hash, 'hex'), ',' ORDER BY seq) FILTER (WHERE seq <= 6)
            || '|' || string_agg(canonical_version::text, '' ORDER BY seq)
            || '|' || bool_and(hash = sha256(prev_hash
                   || convert_to(sirkel_evidence_canonical(e), 'UTF8')))
            || '|' || bool_and(prev_hash = coalesce(
                   (SELECT p.hash FROM evidence AS p WHERE p.seq = e.seq - 1),
                   decode(repeat('00', 32), 'hex')))
            || '|' || (SELECT sum(records) FROM impact_cells WHERE level = 3)
            || '|' || position('"initiative"' IN (
                   SELECT sirkel_evidence_canonical(x) FROM evidence AS x WHERE x.seq = 7))
                   :: boolean
            || '|' || position('"initiative"' IN (
                   SELECT sirkel_evidence_canonical(x) FROM evidence AS x WHERE x.seq = 1))
                   :: boolean
        FROM evidence AS e
        """,
        database=database,
    ).strip()
    hashes, versions, rehashed, linked, rolled_up, v2_has_key, v1_has_key = checked.split("|")
    assert hashes == before
    assert versions == "1111114"  # the seventh is written at head: the current version
    assert (rehashed, linked) == ("true", "true")
    assert rolled_up == "7"  # six backfilled by the migration, one by the trigger
    assert (v2_has_key, v1_has_key) == ("true", "false")


def test_foreign_records_leave_norways_figures_at_0034(pg_cluster: Cluster) -> None:
    """Before 0034 an imported record from Wales counted as Norway's. The migration keeps
    the record (its hash unchanged) but rebuilds the rollups without it; a compensation of
    it is not Norway's either; new records hash their country (version 4)."""
    database = "sirkel_evidence_country"
    pg_cluster.create_database(database)
    url = pg_cluster.url(database)
    for result in (
        alembic(url, "upgrade", "0033"),
        run_project_command(["app.cli", "load-reference"], url),
    ):
        assert result.returncode == 0, result.stderr
    pg_cluster.psql(
        """
        WITH cafe AS (
            INSERT INTO organizations (name, kind) VALUES ('Repair Café', 'civil_society')
            RETURNING id
        ), owner AS (
            INSERT INTO persons (email, display_name, password_hash)
            VALUES ('cafe@example.no', 'Eier', 'x') RETURNING id
        ), member AS (
            INSERT INTO memberships (organization_id, person_id, role)
            SELECT cafe.id, owner.id, 'owner' FROM cafe, owner
        ), repair AS (
            INSERT INTO repairs (organization_id, source, data_provider, provider_record_id,
                country, partner_product_category, ords_category_id, repair_status,
                event_date, created_at, updated_at)
            SELECT id, 'imported', 'Repair Café Wales', r.n, r.country, 'Kettle', 14, 'Fixed',
                   '2025-03-10', now(), now()
            FROM cafe, (VALUES ('w-1', 'GBR'), ('w-2', 'GBR'), ('n-1', 'NOR')) AS r(n, country)
            RETURNING id, organization_id
        )
        INSERT INTO evidence (occurred_at, event, grade, type, subgoal, repair_id,
            provider_party, provider_sector, record_count, kg_diverted, co2e_kg)
        SELECT '2025-03-10T00:00:00Z', 'imported', 'imported', 'repair', 'SG1', r.id,
               sirkel_party('organization', r.organization_id), 'civil_society', 1, 1.245,
               22.16
        FROM repair AS r
        """,
        database=database,
    )
    counted = "SELECT coalesce(sum(records), 0) FROM impact_cells WHERE level = 0"
    before = pg_cluster.psql(
        "SELECT string_agg(encode(hash, 'hex'), ',' ORDER BY seq) FROM evidence",
        database=database,
    ).strip()
    assert pg_cluster.psql(counted, database=database).strip() == "3"

    upgraded = alembic(url, "upgrade", "head")
    assert upgraded.returncode == 0, upgraded.stderr
    assert pg_cluster.psql(counted, database=database).strip() == "1"  # Norway's only
    # A compensation of a Welsh record (a later release withdrew it) is Welsh too.
    pg_cluster.psql(
        "INSERT INTO evidence (occurred_at, event, grade, type, subgoal, repair_id, "
        "provider_party, provider_sector, record_count, compensates, country) "
        "SELECT occurred_at, 'corrected', grade, type, subgoal, repair_id, provider_party, "
        "provider_sector, -1, seq, sirkel_evidence_country(e) FROM evidence AS e WHERE seq = 1",
        database=database,
    )
    checked = pg_cluster.psql(
        """
        SELECT string_agg(encode(hash, 'hex'), ',' ORDER BY seq) FILTER (WHERE seq <= 3)
            || '|' || string_agg(canonical_version::text || country, ',' ORDER BY seq)
            || '|' || bool_and(hash = sha256(prev_hash
                   || convert_to(sirkel_evidence_canonical(e), 'UTF8')))
            || '|' || (SELECT coalesce(sum(records), 0) FROM impact_cells WHERE level = 0)
            || '|' || position('"country":"GBR"' IN (
                   SELECT sirkel_evidence_canonical(x) FROM evidence AS x WHERE x.seq = 4))
                   :: boolean
        FROM evidence AS e
        """,
        database=database,
    ).strip()
    hashes, versions, verified, still_counted, hashed_country = checked.split("|")
    assert hashes == before
    assert versions == "3NOR,3NOR,3NOR,4GBR"
    assert verified == "true"
    assert still_counted == "1"
    assert hashed_country == "true"
    downgraded = alembic(url, "downgrade", "0033")
    assert downgraded.returncode != 0  # a version-4 record would no longer verify
