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
    assert counts == "842,136"
