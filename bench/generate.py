"""Deterministic listings for the benchmark: ``python -m bench.generate --size N --seed S``.

Everything is drawn from ``hashint8extended(i, seed)`` rather than ``random()``, so the same
size and seed give the same rows whatever order PostgreSQL evaluates them in (parallel
workers included). The schema must exist (``alembic upgrade head`` and ``python -m app.cli
load-reference``); the run replaces any earlier benchmark rows.

Places: most listings are scattered around where people live (kommuner picked in proportion
to their population, a two-scale gaussian around the town centre), the rest uniformly over each
kommune's area (the rural spread). Each candidate point is placed in its kommune by a
point-in-polygon test against ``kommune_parts`` (points in the sea are dropped), so
``kommunenummer`` and ``fylkesnummer`` are right by construction.

Rows go into ``listings`` through ``INSERT ... SELECT``, so the triggers (the blurred
``public_geom`` of persons' listings, the lifecycle guard) and the generated ``search_text`` run
as they do for the API. The secondary indexes are dropped during the load and rebuilt from
their own definitions afterwards (faster than maintaining them row by row; the result is the
same schema), the tile rollup's trigger is off during the load, and ``python -m app.cli
maintain`` clusters the table and rebuilds the rollup.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import asyncpg

from bench import cluster, vocabulary

ROOT = Path(__file__).resolve().parent.parent

# Share of listings placed around towns (the rest spread over each kommune's area), and how
# many candidates are drawn per listing wanted (some land in the sea and are dropped).
URBAN_SHARE = 0.85
URBAN_OVERSAMPLE = 1.6
RURAL_OVERSAMPLE = 3.0


def _log(message: str, started: float) -> None:
    print(f"  [{time.monotonic() - started:6.1f}s] {message}", flush=True)


def _values(rows: Sequence[tuple[object, ...]]) -> str:
    """A VALUES list of literals (the vocabulary is ours; quotes are doubled anyway)."""

    def literal(value: object) -> str:
        if isinstance(value, int | float):
            return repr(value)
        if isinstance(value, tuple):
            return "ARRAY[" + ", ".join(literal(v) for v in value) + "]::text[]"
        return "'" + str(value).replace("'", "''") + "'"

    return ", ".join("(" + ", ".join(literal(v) for v in row) + ")" for row in rows)


def _vocabulary_sql() -> list[str]:
    items: list[tuple[object, ...]] = []
    for slug, (weight, nouns) in vocabulary.ITEM_CATEGORIES.items():
        items.extend((len(items) + 1, slug, nouns) for _ in range(weight))
    repairs = [(i + 1, slug, t) for i, (slug, t) in enumerate(vocabulary.REPAIR_SERVICES.items())]
    materials = [
        (i + 1, code, unit, slug, titles)
        for i, (code, unit, slug, titles) in enumerate(vocabulary.MATERIALS)
    ]
    energy = [(i + 1, kind, title) for i, (kind, title) in enumerate(vocabulary.ENERGY)]
    spaces = [(i + 1, kind, title) for i, (kind, title) in enumerate(vocabulary.SPACES)]
    centres = [(nr, lon, lat) for nr, (lon, lat) in vocabulary.CITY_CENTRES.items()]
    orgs = [(i + 1, kind, name) for i, (kind, name) in enumerate(vocabulary.ORGANIZATIONS)]
    words = [
        (
            vocabulary.CONDITIONS,
            vocabulary.DESCRIPTIONS,
            vocabulary.FIRST_NAMES,
            vocabulary.LAST_NAMES,
        )
    ]
    return [
        "CREATE TABLE bench_gen.item_cat (idx int PRIMARY KEY, slug text, nouns text[])",
        f"INSERT INTO bench_gen.item_cat VALUES {_values(items)}",
        "CREATE TABLE bench_gen.repair (idx int PRIMARY KEY, slug text, titles text[])",
        f"INSERT INTO bench_gen.repair VALUES {_values(repairs)}",
        "CREATE TABLE bench_gen.material "
        "(idx int PRIMARY KEY, code text, unit text, slug text, titles text[])",
        f"INSERT INTO bench_gen.material VALUES {_values(materials)}",
        "CREATE TABLE bench_gen.energy (idx int PRIMARY KEY, energy_type text, title text)",
        f"INSERT INTO bench_gen.energy VALUES {_values(energy)}",
        "CREATE TABLE bench_gen.space (idx int PRIMARY KEY, space_type text, title text)",
        f"INSERT INTO bench_gen.space VALUES {_values(spaces)}",
        "CREATE TABLE bench_gen.centre (kommunenummer text PRIMARY KEY, lon float8, lat float8)",
        f"INSERT INTO bench_gen.centre VALUES {_values(centres)}",
        "CREATE TABLE bench_gen.org_kind (idx int PRIMARY KEY, kind text, pattern text)",
        f"INSERT INTO bench_gen.org_kind VALUES {_values(orgs)}",
        "CREATE TABLE bench_gen.words "
        "(conditions text[], descriptions text[], first_names text[], last_names text[])",
        f"INSERT INTO bench_gen.words VALUES {_values(words)}",
    ]


def _pick(array: str, u: str) -> str:
    """One element of a text array, chosen by the uniform ``u``."""
    return f"{array}[1 + floor({u} * array_length({array}, 1))::int]"


def _functions_sql(seed: int) -> list[str]:
    return [
        # A uniform number in (0, 1) for row i and stream s: the same for the same seed.
        "CREATE FUNCTION bench_gen.u(i bigint, s int) RETURNS float8 "
        "LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT "
        f"((hashint8extended(i, {seed}::bigint * 1000 + s) & 2147483647) + 1)::float8 "
        "/ 2147483649.0 $$",
        "CREATE FUNCTION bench_gen.uid(tag text, i bigint) RETURNS uuid "
        "LANGUAGE sql IMMUTABLE PARALLEL SAFE AS "
        f"$$ SELECT md5('sirkel-bench:{seed}:' || tag || ':' || i)::uuid $$",
    ]


def _owners_sql(persons: int, organizations: int) -> list[str]:
    u = "bench_gen.u"
    return [
        "INSERT INTO persons (id, email, password_hash, display_name, language, created_at) "
        f"SELECT bench_gen.uid('person', i), 'person' || i || '@bench.sirkel.no', "
        f"'!bench-no-login', {_pick('w.first_names', f'{u}(i, 901)')} || ' ' || "
        f"{_pick('w.last_names', f'{u}(i, 902)')}, 'nb', "
        f"now() - {u}(i, 903) * interval '3 years' "
        f"FROM generate_series(1, {persons}) AS i, bench_gen.words AS w",
        "INSERT INTO organizations (id, name, kind, organisasjonsnummer, kommunenummer, "
        "description, created_at, updated_at) "
        "SELECT bench_gen.uid('organization', i), left(format(ok.pattern, k.name), 200), "
        "ok.kind, (900000000 + i)::text, k.kommunenummer, 'Benchmark organization', "
        "now(), now() FROM generate_series(1, "
        f"{organizations}) AS i "
        "JOIN bench_gen.org_kind AS ok ON ok.idx = 1 + (i - 1) % "
        f"{len(vocabulary.ORGANIZATIONS)} "
        "JOIN (SELECT kommunenummer, name, row_number() OVER (ORDER BY population DESC, "
        "kommunenummer) AS rn FROM kommuner) AS k "
        f"ON k.rn = 1 + ((i - 1) / {len(vocabulary.ORGANIZATIONS)}) % 357",
        "INSERT INTO memberships (organization_id, person_id, role) "
        "SELECT bench_gen.uid('organization', i), bench_gen.uid('person', "
        f"1 + (i * 7919) % {persons}), 'owner' FROM generate_series(1, {organizations}) AS i",
    ]


def _points_sql(size: int) -> list[str]:
    u = "bench_gen.u"
    urban = URBAN_SHARE * URBAN_OVERSAMPLE * size
    rural = (1 - URBAN_SHARE) * RURAL_OVERSAMPLE * size
    return [
        # Per kommune: its centre, the scale of its town, its bounding box.
        "CREATE TABLE bench_gen.k AS SELECT k.kommunenummer, k.population::float8 AS pop, "
        "k.area_km2, row_number() OVER (ORDER BY k.kommunenummer) AS kn, "
        "coalesce(c.lon, ST_X(ST_PointOnSurface(k.geom))) AS clon, "
        "coalesce(c.lat, ST_Y(ST_PointOnSurface(k.geom))) AS clat, "
        "least(8.0, greatest(1.0, 0.12 * sqrt(k.area_km2))) AS sigma_km, "
        "ST_XMin(k.geom) AS x0, ST_XMax(k.geom) AS x1, "
        "ST_YMin(k.geom) AS y0, ST_YMax(k.geom) AS y1 "
        "FROM kommuner AS k LEFT JOIN bench_gen.centre AS c USING (kommunenummer)",
        # Candidates: around the centre (two scales of gaussian, by Box-Muller) or uniform in
        # the bounding box. seq is unique and stable: kommune number, part, index.
        "CREATE TABLE bench_gen.cand AS "
        "SELECT seq, ST_SetSRID(ST_MakePoint(lon, lat), 4326) AS pt FROM ("
        "SELECT k.kn * 100000000 + j AS seq, "
        "k.clon + r * cos(th) / (111.32 * cos(radians(k.clat))) AS lon, "
        "k.clat + r * sin(th) / 110.57 AS lat FROM bench_gen.k AS k, "
        f"LATERAL generate_series(1, ceil({urban} * k.pop / "
        "(SELECT sum(pop) FROM bench_gen.k))::int) AS j, "
        f"LATERAL (SELECT k.sigma_km * CASE WHEN {u}(k.kn * 100000000 + j, 3) < 0.5 "
        f"THEN 0.35 ELSE 1.0 END * sqrt(-2 * ln({u}(k.kn * 100000000 + j, 1))) AS r, "
        f"2 * pi() * {u}(k.kn * 100000000 + j, 2) AS th) AS g "
        "UNION ALL "
        "SELECT k.kn * 100000000 + 50000000 + j, "
        f"k.x0 + (k.x1 - k.x0) * {u}(k.kn * 100000000 + 50000000 + j, 1), "
        f"k.y0 + (k.y1 - k.y0) * {u}(k.kn * 100000000 + 50000000 + j, 2) "
        "FROM bench_gen.k AS k, "
        f"LATERAL generate_series(1, ceil({rural} * k.area_km2 / "
        "(SELECT sum(area_km2) FROM bench_gen.k))::int) AS j"
        ") AS c WHERE lon BETWEEN 4.0 AND 31.5 AND lat BETWEEN 57.5 AND 71.5",
        # On land, in a kommune (the same point-in-polygon test as GET /v1/geo/lookup).
        "CREATE TABLE bench_gen.land AS SELECT c.seq, c.pt, p.kommunenummer "
        "FROM bench_gen.cand AS c CROSS JOIN LATERAL (SELECT kp.kommunenummer "
        "FROM kommune_parts AS kp WHERE kp.geom && c.pt AND ST_Intersects(kp.geom, c.pt) "
        "LIMIT 1) AS p",
        # The listings wanted: a seeded shuffle of the candidates on land, numbered 1..N.
        "CREATE TABLE bench_gen.pts AS SELECT row_number() OVER (ORDER BY "
        f"{u}(seq, 4), seq) AS i, pt, kommunenummer FROM bench_gen.land "
        f"ORDER BY {u}(seq, 4), seq LIMIT {size}",
    ]


def _listings_sql(persons: int, organizations: int) -> str:
    u = "bench_gen.u"
    n_items = sum(w for w, _ in vocabulary.ITEM_CATEGORIES.values())
    kind = (
        f"CASE WHEN {u}(p.i, 11) < 0.72 THEN 'item' WHEN {u}(p.i, 11) < 0.80 "
        f"THEN 'repair_service' WHEN {u}(p.i, 11) < 0.89 THEN 'material' "
        f"WHEN {u}(p.i, 11) < 0.93 THEN 'energy' ELSE 'space' END"
    )
    mode = (
        "CASE s.kind "
        "WHEN 'item' THEN CASE WHEN s.um < 0.35 THEN 'give' WHEN s.um < 0.75 THEN 'sell' "
        "WHEN s.um < 0.85 THEN 'lend' WHEN s.um < 0.90 THEN 'rent' ELSE 'wanted' END "
        "WHEN 'material' THEN CASE WHEN s.um < 0.5 THEN 'give' WHEN s.um < 0.8 THEN 'sell' "
        "ELSE 'wanted' END "
        "WHEN 'energy' THEN CASE WHEN s.um < 0.4 THEN 'give' WHEN s.um < 0.9 THEN 'sell' "
        "ELSE 'wanted' END "
        "WHEN 'space' THEN CASE WHEN s.um < 0.3 THEN 'lend' WHEN s.um < 0.8 THEN 'rent' "
        "ELSE 'wanted' END END"
    )
    person_share = (
        "CASE s.kind WHEN 'item' THEN 0.92 WHEN 'repair_service' THEN 0.15 "
        "WHEN 'material' THEN 0.35 WHEN 'energy' THEN 0.10 ELSE 0.5 END"
    )
    noun = _pick("ic.nouns", "s.nu")
    condition = _pick("w.conditions", "s.au")
    title = (
        "CASE s.kind "
        "WHEN 'item' THEN CASE s.mode WHEN 'wanted' THEN 'Ønskes: ' || " + noun + " "
        "WHEN 'give' THEN initcap(left(" + noun + ", 1)) || substr(" + noun + ", 2) "
        "|| ' gis bort' WHEN 'lend' THEN initcap(left(" + noun + ", 1)) || substr(" + noun + ", 2) "
        "|| ' til utlån' WHEN 'rent' THEN initcap(left(" + noun + ", 1)) "
        "|| substr(" + noun + ", 2) || ' til leie' "
        "ELSE " + condition + " || ' ' || " + noun + " END "
        "WHEN 'repair_service' THEN " + _pick("rp.titles", "s.nu") + " || ' i ' || s.kname "
        "WHEN 'material' THEN " + _pick("m.titles", "s.nu") + " "
        "WHEN 'energy' THEN e.title || ' i ' || s.kname "
        "ELSE sp.title || CASE s.mode WHEN 'rent' THEN ' til leie' WHEN 'lend' "
        "THEN ' til utlån' ELSE ' ønskes' END || ' i ' || s.kname END"
    )
    description = (
        f"{_pick('w.conditions', 's.du')} || ' og i god stand. ' || "
        f"{_pick('w.descriptions', 's.au')} || ' Hentes i ' || s.kname || '.'"
    )
    price = (
        "CASE WHEN s.mode = 'sell' THEN round((50 + s.pu * s.pu * 15000)::numeric, -1) "
        "WHEN s.mode = 'rent' AND s.kind = 'space' THEN round((500 + s.pu * 14500)::numeric, -2) "
        "WHEN s.mode = 'rent' THEN round((100 + s.pu * 900)::numeric, -1) END"
    )
    details = (
        "CASE s.kind "
        "WHEN 'item' THEN CASE WHEN s.mode = 'rent' THEN '{\"price_period\": \"day\"}'::jsonb "
        "ELSE '{}'::jsonb END "
        "WHEN 'energy' THEN jsonb_build_object('energy_type', e.energy_type, 'capacity_kw', "
        "round((10 + s.qu * 990)::numeric)) "
        "WHEN 'space' THEN jsonb_build_object('space_type', sp.space_type, 'area_m2', "
        "round((5 + s.qu * 300)::numeric)) || CASE WHEN s.mode = 'rent' "
        "THEN '{\"price_period\": \"month\"}'::jsonb ELSE '{}'::jsonb END "
        "ELSE '{}'::jsonb END"
    )
    published = (
        "CASE WHEN s.su < 0.02 THEN NULL WHEN s.kind = 'item' "
        "THEN now() - s.tu * interval '58 days' ELSE now() - s.tu * interval '365 days' END"
    )
    return (
        "INSERT INTO listings (id, kind, mode, status, owner_person_id, owner_organization_id, "
        "created_by_person_id, title, description, category_slug, ewc_code, quantity, unit, "
        "price_nok, details, geom, kommunenummer, fylkesnummer, created_at, updated_at, "
        "published_at, expires_at) "
        "SELECT t.id, t.kind, t.mode, t.status, t.owner_person_id, t.owner_organization_id, "
        "t.owner_person_id, t.title, t.description, t.category_slug, t.ewc_code, t.quantity, "
        "t.unit, t.price_nok, t.details, t.pt, t.kommunenummer, t.fylkesnummer, "
        "coalesce(t.published_at, now()) - interval '1 hour', "
        "coalesce(t.published_at, now() - interval '1 hour'), t.published_at, "
        "CASE WHEN t.kind = 'item' THEN t.published_at + interval '60 days' END FROM ("
        "SELECT s.i, s.id, s.kind, s.mode, "
        "CASE WHEN s.su < 0.02 THEN 'draft' ELSE 'active' END AS status, "
        "CASE WHEN s.ou < " + person_share + " THEN bench_gen.uid('person', "
        f"1 + floor(s.ou2 * {persons})::bigint) END AS owner_person_id, "
        "CASE WHEN s.ou >= " + person_share + " THEN bench_gen.uid('organization', "
        f"1 + floor(s.ou2 * {organizations})::bigint) END AS owner_organization_id, "
        "left(" + title + ", 120) AS title, " + description + " AS description, "
        "CASE s.kind WHEN 'item' THEN ic.slug WHEN 'repair_service' THEN rp.slug "
        "WHEN 'material' THEN nullif(m.slug, '') END AS category_slug, "
        "CASE WHEN s.kind = 'material' THEN m.code END AS ewc_code, "
        "CASE s.kind WHEN 'item' THEN CASE WHEN s.qu < 0.8 THEN 1 ELSE 2 + floor(s.qu * 5) END "
        "WHEN 'material' THEN round((1 + s.qu * 500)::numeric) END AS quantity, "
        "CASE s.kind WHEN 'item' THEN 'pcs' WHEN 'material' THEN m.unit END AS unit, "
        + price
        + " AS price_nok, "
        + details
        + " AS details, "
        "s.pt, s.kommunenummer, s.fylkesnummer, " + published + " AS published_at "
        "FROM (SELECT s0.*, "
        + mode.replace("s.", "s0.")
        + " AS mode FROM (SELECT p.i, p.pt, p.kommunenummer, k.fylkesnummer, k.name AS kname, "
        "bench_gen.uid('listing', p.i) AS id, " + kind + " AS kind, "
        f"{u}(p.i, 12) AS um, {u}(p.i, 13) AS cu, {u}(p.i, 14) AS nu, {u}(p.i, 15) AS au, "
        f"{u}(p.i, 16) AS du, {u}(p.i, 17) AS ou, {u}(p.i, 18) AS ou2, {u}(p.i, 19) AS pu, "
        f"{u}(p.i, 20) AS qu, {u}(p.i, 21) AS tu, {u}(p.i, 22) AS su "
        "FROM bench_gen.pts AS p JOIN kommuner AS k USING (kommunenummer)) AS s0) AS s "
        "CROSS JOIN bench_gen.words AS w "
        f"LEFT JOIN bench_gen.item_cat AS ic ON ic.idx = 1 + floor(s.cu * {n_items})::int "
        "LEFT JOIN bench_gen.repair AS rp ON rp.idx = 1 + floor(s.cu * "
        f"{len(vocabulary.REPAIR_SERVICES)})::int "
        "LEFT JOIN bench_gen.material AS m ON m.idx = 1 + floor(s.cu * "
        f"{len(vocabulary.MATERIALS)})::int "
        "LEFT JOIN bench_gen.energy AS e ON e.idx = 1 + floor(s.cu * "
        f"{len(vocabulary.ENERGY)})::int "
        "LEFT JOIN bench_gen.space AS sp ON sp.idx = 1 + floor(s.cu * "
        f"{len(vocabulary.SPACES)})::int"
        ") AS t"
    )


# After the insert, some listings move on through the lifecycle (the guard checks each move).
_LIFECYCLE_SQL = [
    "UPDATE listings SET status = 'completed', closed_at = now() "
    "WHERE status = 'active' AND bench_gen.u(hashtext(id::text), 30) < 0.04",
    "UPDATE listings SET status = 'withdrawn', closed_at = now() "
    "WHERE status = 'active' AND bench_gen.u(hashtext(id::text), 31) < 0.02",
    "UPDATE listings SET status = 'reserved' "
    "WHERE status = 'active' AND bench_gen.u(hashtext(id::text), 32) < 0.01",
    "UPDATE listings SET hidden_at = now(), hidden_reason = 'Brudd på retningslinjene' "
    "WHERE status = 'active' AND bench_gen.u(hashtext(id::text), 33) < 0.003",
]


# JIT compiling these wide expressions costs seconds per statement and saves nothing here.
_SESSION = "SET maintenance_work_mem = '1GB'; SET work_mem = '256MB'; SET jit = off"
# The insert runs in chunks on this many connections at once (the text normalisation behind
# search_text is the bulk of the work and is per row).
LOAD_CONNECTIONS = 2
CHUNK = 50_000


async def _insert_listings(url: str, *, size: int, persons: int, organizations: int) -> None:
    statement = _listings_sql(persons, organizations)
    chunks = [(lo, min(lo + CHUNK - 1, size)) for lo in range(1, size + 1, CHUNK)]

    async def worker(mine: list[tuple[int, int]]) -> None:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(_SESSION)
            for lo, hi in mine:
                await conn.execute(statement + f" WHERE t.i BETWEEN {lo} AND {hi}")
        finally:
            await conn.close()

    await asyncio.gather(*(worker(chunks[k::LOAD_CONNECTIONS]) for k in range(LOAD_CONNECTIONS)))


async def generate(url: str, *, size: int, seed: int) -> None:
    started = time.monotonic()
    url = url.replace("postgresql+asyncpg", "postgresql")
    persons = max(100, size // 20)
    organizations = max(30, size // 500)
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(_SESSION)
        async with conn.transaction():
            # The cascade reaches the evidence ledger, whose trigger refuses TRUNCATE
            # (evidence_append_only); this database is the benchmark's own, so user triggers
            # are skipped for the emptying statement alone.
            await conn.execute("SET LOCAL session_replication_role = replica")
            await conn.execute(
                "TRUNCATE listings, memberships, organizations, persons CASCADE; "
                "DROP SCHEMA IF EXISTS bench_gen CASCADE; CREATE SCHEMA bench_gen"
            )
        for sql in _functions_sql(seed) + _vocabulary_sql():
            await conn.execute(sql)
        async with conn.transaction():
            # Every organization needs an owner by the end of the transaction.
            await conn.execute("SET CONSTRAINTS ALL DEFERRED")
            for sql in _owners_sql(persons, organizations):
                await conn.execute(sql)
        _log(f"{persons} persons, {organizations} organizations", started)
        for sql in _points_sql(size):
            await conn.execute(sql)
        placed = await conn.fetchval("SELECT count(*) FROM bench_gen.pts")
        if placed < size:
            raise SystemExit(f"only {placed} candidate points on land; raise the oversampling")
        _log(f"{placed} points placed in their kommuner", started)
        # The secondary indexes, dropped for the load and rebuilt from their definitions.
        indexes = await conn.fetch(
            "SELECT c.relname AS name, pg_get_indexdef(i.indexrelid) AS sql, "
            "i.indisclustered AS clustered FROM pg_index AS i "
            "JOIN pg_class AS c ON c.oid = i.indexrelid "
            "WHERE i.indrelid = 'listings'::regclass AND NOT i.indisprimary "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint AS k WHERE k.conindid = i.indexrelid)"
        )
        # A failed run leaves the table without them: make bench starts from a fresh database.
        for index in indexes:
            await conn.execute(f'DROP INDEX "{index["name"]}"')
        # The low-zoom tile rollup is rebuilt in one statement by `maintain` afterwards
        # rather than updated nine times per row by its trigger.
        await conn.execute("ALTER TABLE listings DISABLE TRIGGER listings_tile_cells_sync")
        await _insert_listings(url, size=size, persons=persons, organizations=organizations)
        _log(f"{size} listings inserted (triggers and generated columns ran)", started)
        for sql in _LIFECYCLE_SQL:
            await conn.execute(sql)
        _log("lifecycle moves applied", started)
        await conn.execute("ALTER TABLE listings ENABLE TRIGGER listings_tile_cells_sync")
        clustered = [i for i in indexes if i["clustered"]]
        if not clustered:
            raise SystemExit("listings has no clustered index; start from a fresh database")
        for index in clustered:
            await conn.execute(index["sql"])
            await conn.execute(f'ALTER TABLE listings CLUSTER ON "{index["name"]}"')
        await conn.execute("DROP SCHEMA bench_gen CASCADE")
    finally:
        await conn.close()
    # The project's own maintenance: CLUSTER on the spatial index, then ANALYZE.
    maintain = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app.cli",
        "maintain",
        cwd=ROOT,
        env={**os.environ, "SIRKEL_DATABASE__URL": url.replace("postgresql", "postgresql+asyncpg")},
    )
    if await maintain.wait() != 0:
        raise SystemExit("python -m app.cli maintain failed")
    _log("python -m app.cli maintain (CLUSTER, tile rollup, ANALYZE)", started)
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(_SESSION)
        for index in indexes:
            if not index["clustered"]:
                await conn.execute(index["sql"])
        _log(f"{len(indexes) - len(clustered)} secondary indexes rebuilt", started)
        # Statistics for the rebuilt expression indexes, and the visibility map.
        await conn.execute("VACUUM (ANALYZE) listings")
        await conn.execute("VACUUM (ANALYZE) persons")
        await conn.execute("VACUUM (ANALYZE) organizations")
        _log("VACUUM (ANALYZE)", started)
    finally:
        await conn.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=20261122)
    parser.add_argument("--url", default=cluster.url())
    args = parser.parse_args(argv)
    asyncio.run(generate(args.url, size=args.size, seed=args.seed))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
