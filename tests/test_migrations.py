"""Migrations: empty database → head, no drift against the models, down to base, up again."""

from __future__ import annotations

from tests.conftest import alembic
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
