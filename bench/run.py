"""The benchmark of issue #7, end to end: ``make bench`` (``BENCH_SIZE=10000`` for a quick run).

1. Its own PostgreSQL cluster (bench/cluster.py), the schema from the project's Alembic
   revisions and reference data, the seeded listings (bench/generate.py), CLUSTER + ANALYZE.
2. Three peers on the same database, each one uvicorn worker pinned to CPU 1 with a pool of
   ``POOL_SIZE`` connections: Sirkel, the raw floor (bench/floor.py) and tipg (its own venv,
   serving the active listings through a view).
3. Parity checks (same ids on the first page, same tile feature counts, valid GeoJSON), then per
   workload a warm-up and ``ROUNDS`` interleaved rounds of wrk (pinned to CPU 0) over the peers;
   the median round counts. pgbench runs the floor's statements as the database-only floor.
4. docs/benchmarks.md and bench/results/*.json.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import asyncpg
import httpx
import mapbox_vector_tile  # type: ignore[import-untyped]

from app.repositories.raw import compile_statement
from bench import cluster, floor
from bench.workloads import Bar, Places, Workload, build

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
RESULTS = BENCH / "results"
DOC = ROOT / "docs" / "benchmarks.md"
# A section another benchmark writes between its own markers.
OTHER_SECTIONS = re.compile(
    r"<!-- ([a-z]+)-benchmark:start.*?-->.*?<!-- \1-benchmark:end -->", flags=re.S
)
TIPG_VENV = BENCH / ".venv-tipg"

SIZE = int(os.environ.get("BENCH_SIZE", "1000000"))
DURATION = int(os.environ.get("BENCH_DURATION", "5"))
WARMUP = int(os.environ.get("BENCH_WARMUP", "2"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "10"))
POOL_SIZE = int(os.environ.get("BENCH_POOL_SIZE", "10"))
REUSE_DATA = os.environ.get("BENCH_REUSE_DATA", "") == "1"
SERVER_CPU = os.environ.get("BENCH_SERVER_CPU", "1")
LOAD_CPU = os.environ.get("BENCH_LOAD_CPU", "0")
PGBENCH_SCRIPTS = 32

PORTS = {"sirkel": 18101, "floor": 18102, "tipg": 18103}
DSN = cluster.url("postgresql")


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


# --- database ---------------------------------------------------------------------------------


def _python(*args: str, env: dict[str, str] | None = None) -> None:
    subprocess.run([sys.executable, *args], check=True, cwd=ROOT, env=env)


async def _fetch(sql: str, *args: object) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(DSN)
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


def fetch(sql: str, *args: object) -> list[asyncpg.Record]:
    return asyncio.run(_fetch(sql, *args))


def prepare_database() -> float:
    """Cluster, schema, data; returns the seconds the data took (0 when reused)."""
    reuse = REUSE_DATA and cluster.running()
    cluster.start(fresh=not reuse)
    if reuse and fetch("SELECT count(*) FROM listings")[0][0] == SIZE:
        say(f"reusing the {SIZE} listings already in the benchmark database")
        return 0.0
    if reuse:
        cluster.start(fresh=True)
    env = {**os.environ, "SIRKEL_DATABASE__URL": cluster.url()}
    say("schema (alembic upgrade head) and reference data (python -m app.cli load-reference)")
    _python("-m", "alembic", "upgrade", "head", env=env)
    _python("-m", "app.cli", "load-reference", env=env)
    say(f"generating {SIZE} listings")
    started = time.monotonic()
    _python("-m", "bench.generate", "--size", str(SIZE), env=env)
    return time.monotonic() - started


TIPG_VIEW = """
DROP SCHEMA IF EXISTS bench_tipg CASCADE;
CREATE SCHEMA bench_tipg;
-- What Sirkel's search and tiles may show: active, not hidden, not past expiry.
CREATE VIEW bench_tipg.listings AS
SELECT l.id, l.kind, l.mode, l.category_slug AS category, l.title, l.published_at,
       l.public_geom AS geom
FROM listings AS l
WHERE l.status = 'active' AND l.hidden_at IS NULL
  AND (l.expires_at IS NULL OR l.expires_at > now());
"""


async def _execute(sql: str) -> None:
    conn = await asyncpg.connect(DSN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def places() -> Places:
    medium = fetch(
        "SELECT ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) FROM kommuner "
        "WHERE population BETWEEN 15000 AND 60000 ORDER BY kommunenummer"
    )
    sparse = fetch(
        "SELECT ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) FROM kommuner "
        "WHERE population < 3000 ORDER BY kommunenummer"
    )
    ids = fetch(
        "SELECT id::text FROM listings WHERE status = 'active' AND hidden_at IS NULL "
        "AND (expires_at IS NULL OR expires_at > now()) ORDER BY id LIMIT 2000"
    )
    return Places(
        medium=[(r[0], r[1]) for r in medium],
        sparse=[(r[0], r[1]) for r in sparse],
        listing_ids=[r[0] for r in ids],
    )


# --- servers ----------------------------------------------------------------------------------


@dataclass
class Peer:
    name: str
    command: list[str]
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    log: Path = field(default_factory=Path)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{PORTS[self.name]}"


def peers() -> list[Peer]:
    uvicorn = [str(ROOT / ".venv" / "bin" / "uvicorn")]
    common = ["--host", "127.0.0.1", "--workers", "1", "--no-access-log", "--log-level", "warning"]
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("SIRKEL_", "TIPG_"))}
    sirkel = Peer(
        "sirkel",
        [
            *uvicorn,
            "app.main:create_app",
            "--factory",
            "--port",
            str(PORTS["sirkel"]),
            *common,
        ],
        {
            **base_env,
            "SIRKEL_ENVIRONMENT": "development",
            "SIRKEL_DATABASE__URL": cluster.url(),
            "SIRKEL_DATABASE__POOL_SIZE": str(POOL_SIZE),
            "SIRKEL_DATABASE__MAX_OVERFLOW": "0",
        },
    )
    raw = Peer(
        "floor",
        [*uvicorn, "bench.floor:app", "--port", str(PORTS["floor"]), *common],
        {**base_env, "BENCH_DSN": DSN, "BENCH_POOL_SIZE": str(POOL_SIZE)},
    )
    tipg = Peer(
        "tipg",
        [
            str(TIPG_VENV / "bin" / "uvicorn"),
            "tipg.main:app",
            "--port",
            str(PORTS["tipg"]),
            *common,
        ],
        {
            **base_env,
            "DATABASE_URL": DSN,
            "DB_MIN_CONN_SIZE": str(POOL_SIZE),
            "DB_MAX_CONN_SIZE": str(POOL_SIZE),
            "TIPG_DB_SCHEMAS": '["bench_tipg"]',
            "TIPG_DB_SPATIAL_EXTENT": "false",
            "TIPG_DB_DATETIME_EXTENT": "false",
            "TIPG_TILE_BUFFER": "64",
            "TIPG_MAX_FEATURES_PER_TILE": "10000",
            "TIPG_MAX_FEATURES_PER_QUERY": "10000",
        },
    )
    return [sirkel, raw, tipg]


@contextmanager
def running(all_peers: list[Peer]) -> Iterator[None]:
    RESULTS.mkdir(exist_ok=True)
    try:
        for peer in all_peers:
            peer.log = RESULTS / f"{peer.name}.log"
            with peer.log.open("wb") as log:
                peer.process = subprocess.Popen(
                    ["taskset", "-c", SERVER_CPU, *peer.command],
                    cwd=ROOT,
                    env=peer.env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
        for peer in all_peers:
            _wait_ready(peer)
        yield
    finally:
        for peer in all_peers:
            if peer.process is not None and peer.process.poll() is None:
                peer.process.terminate()
                try:
                    peer.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    peer.process.kill()


def _wait_ready(peer: Peer) -> None:
    probe = {"sirkel": "/readyz", "floor": "/v1/tiles/listings/0/0/0.mvt", "tipg": "/collections"}
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert peer.process is not None
        if peer.process.poll() is not None:
            raise SystemExit(f"{peer.name} exited; see {peer.log}")
        try:
            if httpx.get(peer.base + probe[peer.name], timeout=5).status_code < 300:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"{peer.name} did not become ready; see {peer.log}")


# --- parity -----------------------------------------------------------------------------------


def _ids(body: dict[str, Any]) -> list[str]:
    rows = body.get("features") if "features" in body else body.get("items", [])
    return [str(r["id"]) for r in rows or []]


def _valid_geojson(body: dict[str, Any]) -> bool:
    if body.get("type") != "FeatureCollection" or not isinstance(body.get("features"), list):
        return False
    for f in body["features"]:
        g = f.get("geometry") or {}
        c = g.get("coordinates")
        if f.get("type") != "Feature" or g.get("type") != "Point":
            return False
        if not (isinstance(c, list) and len(c) == 2 and all(isinstance(v, float | int) for v in c)):
            return False
    return True


def _features(tile: bytes) -> int:
    if not tile:
        return 0
    layers = mapbox_vector_tile.decode(tile)
    return sum(len(layer["features"]) for layer in layers.values())


def parity(w: Workload, client: httpx.Client) -> list[str]:
    """Differences between the peers on the first samples; empty when they agree."""
    problems: list[str] = []
    headers = {"Accept": w.accept} if w.accept else {}
    s_base, f_base, t_base = (f"http://127.0.0.1:{PORTS[p]}" for p in ("sirkel", "floor", "tipg"))
    for k, path in enumerate(w.paths[:8]):
        s = client.get(s_base + path, headers=headers)
        f = client.get(f_base + path, headers=headers)
        if s.status_code not in (200, 204) or s.status_code != f.status_code:
            problems.append(f"{path}: status sirkel {s.status_code}, floor {f.status_code}")
            continue
        if path.endswith(".mvt"):
            counts = [_features(s.content), _features(f.content)]
            if counts[0] != counts[1]:
                problems.append(f"{path}: tile features {counts} (sirkel, floor)")
            if w.tipg_paths is not None:
                t = client.get(t_base + w.tipg_paths[k])
                theirs = _features(t.content) if t.status_code == 200 else 0
                # tipg selects the points inside the tile and only clips with its buffer;
                # Sirkel also selects those within the 64-unit buffer (drawn whole at the edge).
                if not 0.8 * counts[0] <= theirs <= counts[0]:
                    problems.append(f"{path}: tile features sirkel {counts[0]}, tipg {theirs}")
            continue
        sb, fb = s.json(), f.json()
        if w.accept and not (_valid_geojson(sb) and _valid_geojson(fb)):
            problems.append(f"{path}: invalid GeoJSON")
        if "items" in sb or "features" in sb:
            if _ids(sb) != _ids(fb):
                problems.append(f"{path}: first page ids differ between sirkel and floor")
        elif sb != fb:
            problems.append(f"{path}: the listing differs between sirkel and floor")
        if w.tipg_paths is not None:
            t = client.get(t_base + w.tipg_paths[k])
            if t.status_code != 200:
                problems.append(f"{w.tipg_paths[k]}: tipg status {t.status_code}")
            elif "items" in sb or "features" in sb:
                if _ids(t.json()) != _ids(sb):
                    problems.append(f"{path}: first page ids differ between sirkel and tipg")
                if not _valid_geojson(t.json()):
                    problems.append(f"{path}: tipg returned invalid GeoJSON")
            elif str(t.json().get("id")) != str(sb.get("id")):
                problems.append(f"{path}: tipg returned another listing")
    return problems


# --- load -------------------------------------------------------------------------------------


@dataclass
class Run:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int


def wrk(peer: str, paths: list[str], accept: str, seconds: int, connections: int) -> Run:
    with tempfile.NamedTemporaryFile("w", suffix=".paths", delete=False) as f:
        f.write("\n".join(paths) + "\n")
        paths_file = f.name
    try:
        out = subprocess.run(
            [
                "taskset",
                "-c",
                LOAD_CPU,
                "wrk",
                "-t1",
                f"-c{connections}",
                f"-d{seconds}s",
                "--timeout",
                "10s",
                "-s",
                str(BENCH / "wrk.lua"),
                f"http://127.0.0.1:{PORTS[peer]}",
                "--",
                paths_file,
                accept,
                "7",
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    finally:
        os.unlink(paths_file)
    data = json.loads(out.strip().splitlines()[-1])
    errors = sum(v for k, v in data.items() if k.startswith("err_"))
    seconds_run = data["duration_us"] / 1e6
    return Run(
        rps=data["requests"] / seconds_run,
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        requests=data["requests"],
        errors=errors,
    )


def _literal(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, datetime):
        return f"'{value.isoformat()}'::timestamptz"
    if isinstance(value, list | tuple):
        if not value:
            # Untyped: PostgreSQL takes the array's type from where it stands (uuid[] for the
            # caller's organizations, text[] for slugs).
            return "'{}'"
        return "ARRAY[" + ",".join(_literal(v) for v in value) + "]::text[]"
    return "'" + str(value).replace("'", "''") + "'"


def _inline(sql: str, args: list[Any]) -> str:
    for n in range(len(args), 0, -1):
        sql = sql.replace(f"${n}", _literal(args[n - 1]))
    return sql


async def _pgbench_statements(w: Workload) -> list[str]:
    """The floor's statements for the first samples, with their values inlined."""
    conn = await asyncpg.connect(DSN)
    statements: list[str] = []
    try:
        listing_sql, names, defaults = await floor.listing_statement()
        for path in w.paths[:PGBENCH_SCRIPTS]:
            parts = urlsplit(path)
            query = dict(parse_qsl(parts.query))
            if parts.path == "/v1/listings":
                terms: tuple[str, ...] = ()
                if "q" in query:
                    terms = tuple(await conn.fetchval("SELECT sirkel_search_terms($1)", query["q"]))
                stmt, _, _ = floor.search_for(query, terms=terms, geojson=bool(w.accept))
                statements.append(_inline(*compile_statement(stmt)))
            elif parts.path.endswith(".mvt"):
                z, x, y = (int(p) for p in parts.path[len("/v1/tiles/listings/") : -4].split("/"))
                statements.append(_inline(*compile_statement(floor.tile_for(z, x, y, query))))
            else:
                values = {**defaults, "id": parts.path.rsplit("/", 1)[1], "viewer": None}
                statements.append(_inline(listing_sql, [values[n] for n in names]))
    finally:
        await conn.close()
    return statements


def pgbench(w: Workload, seconds: int) -> Run | None:
    statements = asyncio.run(_pgbench_statements(w))
    binary = Path(cluster.bindir()) / "pgbench"
    with tempfile.TemporaryDirectory() as tmp:
        scripts = []
        for k, sql in enumerate(statements):
            script = Path(tmp) / f"s{k}.sql"
            script.write_text(" ".join(sql.split()) + ";\n")
            scripts += ["-f", f"{script}@1"]
        os.chmod(tmp, 0o777)
        result = subprocess.run(
            [
                "taskset",
                "-c",
                LOAD_CPU,
                str(binary),
                "-n",
                "-M",
                "simple",
                "-c",
                str(w.connections or CONNECTIONS),
                "-j",
                "1",
                "-T",
                str(seconds),
                "--random-seed",
                "7",
                "-l",
                "--log-prefix",
                f"{tmp}/log",
                *scripts,
                DSN,
            ],
            capture_output=True,
            text=True,
            cwd=tmp,
            check=False,
        )
        if result.returncode != 0:
            say(f"pgbench failed for {w.name}: {result.stderr[-500:]}")
            return None
        latencies = []
        for log in Path(tmp).glob("log*"):
            for line in log.read_text().splitlines():
                latencies.append(int(line.split()[2]) / 1000)
    tps = re.search(r"tps = ([0-9.]+) \(without", result.stdout)
    failed = re.search(r"number of failed transactions: (\d+)", result.stdout)
    latencies.sort()
    return Run(
        rps=float(tps.group(1)) if tps else 0.0,
        p50_ms=latencies[len(latencies) // 2] if latencies else 0.0,
        p99_ms=latencies[int(len(latencies) * 0.99)] if latencies else 0.0,
        requests=len(latencies),
        errors=int(failed.group(1)) if failed else 0,
    )


# --- report -----------------------------------------------------------------------------------


def _median(runs: list[Run]) -> Run:
    return Run(
        rps=statistics.median(r.rps for r in runs),
        p50_ms=statistics.median(r.p50_ms for r in runs),
        p99_ms=statistics.median(r.p99_ms for r in runs),
        requests=sum(r.requests for r in runs),
        errors=sum(r.errors for r in runs),
    )


def _version(cmd: list[str]) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    except OSError:
        return "?"
    return (out.stdout or out.stderr).strip().splitlines()[0] if (out.stdout or out.stderr) else "?"


def metadata(data_seconds: float, load_before: str) -> dict[str, Any]:
    settings = fetch(
        "SELECT name, setting, unit FROM pg_settings WHERE name IN ('shared_buffers', "
        "'work_mem', 'effective_cache_size', 'random_page_cost', 'jit', 'max_connections', "
        "'max_parallel_workers_per_gather', 'plan_cache_mode', 'fsync', 'synchronous_commit') "
        "ORDER BY name"
    )
    stats = fetch(
        "SELECT (SELECT version()), (SELECT postgis_lib_version()), "
        "(SELECT count(*) FROM listings), "
        "(SELECT count(*) FROM bench_tipg.listings), "
        "(SELECT count(*) FROM listings WHERE kommunenummer = '0301'), "
        "(SELECT count(*) FROM persons), (SELECT count(*) FROM organizations), "
        "(SELECT string_agg(kind || ' ' || n, ', ' ORDER BY n DESC) FROM "
        "(SELECT kind, count(*) AS n FROM listings GROUP BY kind) AS k), "
        "(SELECT i.indisclustered FROM pg_index AS i JOIN pg_class AS c ON c.oid = i.indexrelid "
        "WHERE c.relname = 'ix_listings_public_geom'), "
        "(SELECT pg_size_pretty(pg_total_relation_size('listings')))"
    )[0]
    tipg_version = _version(
        [str(TIPG_VENV / "bin" / "python"), "-c", "import tipg; print(tipg.__version__)"]
    )
    py = str(ROOT / ".venv" / "bin" / "python")
    main_versions = _version(
        [
            py,
            "-c",
            "import fastapi, sqlalchemy, asyncpg, uvicorn, starlette; print("
            "f'fastapi {fastapi.__version__}, starlette {starlette.__version__}, "
            "SQLAlchemy {sqlalchemy.__version__}, asyncpg {asyncpg.__version__}, "
            "uvicorn {uvicorn.__version__}')",
        ]
    )
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "size": SIZE,
        "data_seconds": round(data_seconds),
        "settings": [(r[0], r[1] + (r[2] or "")) for r in settings],
        "postgres": stats[0].split(",")[0],
        "postgis": stats[1],
        "listings": stats[2],
        "searchable": stats[3],
        "oslo": stats[4],
        "persons": stats[5],
        "organizations": stats[6],
        "kinds": stats[7],
        "clustered": bool(stats[8]),
        "table_size": stats[9],
        "tipg": tipg_version,
        "python": platform.python_version(),
        "main_versions": main_versions,
        "wrk": _version(["wrk", "-v"]),
        "cpu": _version(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"]),
        "nproc": os.cpu_count(),
        "load_before": load_before,
        "load_after": Path("/proc/loadavg").read_text().strip(),
        "commit": _version(["git", "-C", str(ROOT), "log", "-1", "--format=%h %s"]),
        "worktree_changes": _version(["sh", "-c", f"git -C {ROOT} status --short app | wc -l"]),
    }


def _ratio(a: float, b: float | None) -> str:
    return f"{a / b:.2f}x" if b else "n/a"


def bar_name(bar: Bar) -> str:
    return {
        "vs_floor": f"throughput >= {bar.value}x floor",
        "vs_tipg": f"throughput >= {bar.value}x tipg",
        "p99_ms": f"p99 < {bar.value:.0f} ms",
        "p50_ms": f"p50 < {bar.value:.0f} ms",
    }[bar.kind]


def judge(w: Workload, res: dict[str, Run], problems: list[str]) -> list[tuple[str, bool, str]]:
    verdicts: list[tuple[str, bool, str]] = []
    s = res["sirkel"]
    if s.requests == 0:
        # Nothing completed within a round: every bar is missed, whatever the zeros say.
        verdicts += [(bar_name(b), False, "no request completed in a round") for b in w.bars]
        verdicts.append(("zero errors", False, "every request outlived the round"))
        verdicts.append(("parity", not problems, "; ".join(problems[:3]) or "same results"))
        return verdicts
    for bar in w.bars:
        if bar.kind == "vs_floor":
            r = s.rps / res["floor"].rps
            verdicts.append((f"throughput >= {bar.value}x floor", r >= bar.value, f"{r:.2f}x"))
        elif bar.kind == "vs_tipg" and "tipg" in res:
            r = s.rps / res["tipg"].rps
            verdicts.append((f"throughput >= {bar.value}x tipg", r >= bar.value, f"{r:.2f}x"))
        elif bar.kind == "p99_ms":
            ok = s.p99_ms < bar.value
            verdicts.append((f"p99 < {bar.value:.0f} ms", ok, f"{s.p99_ms:.1f} ms"))
        elif bar.kind == "p50_ms":
            ok = s.p50_ms < bar.value
            verdicts.append((f"p50 < {bar.value:.0f} ms", ok, f"{s.p50_ms:.1f} ms"))
    errors = sum(r.errors for name, r in res.items() if name != "pgbench")
    verdicts.append(("zero errors", errors == 0, f"{errors} errors"))
    verdicts.append(("parity", not problems, "; ".join(problems[:3]) or "same results"))
    return verdicts


def write_report(meta: dict[str, Any], results: list[dict[str, Any]]) -> None:
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (bench/run.py); the method is issue #7's. Numbers are from "
        "the run described here, on this project's 2-core machine: read them as ratios between "
        "peers measured side by side, not as absolute capacity.",
        "",
        "## This run",
        "",
        f"- Date: {meta['date']}; {meta['listings']:,} listings ({meta['searchable']:,} "
        f"searchable, {meta['oslo']:,} in Oslo), {meta['persons']:,} persons, "
        f"{meta['organizations']:,} organizations; kinds: {meta['kinds']}; table with indexes "
        f"{meta['table_size']}; "
        + (
            f"generated and loaded in {meta['data_seconds']} s."
            if meta["data_seconds"]
            else "data reused from an earlier run."
        ),
        f"- Table clustered on `ix_listings_public_geom`: {'yes' if meta['clustered'] else 'no'} "
        "(`python -m app.cli maintain` after the load, then `VACUUM (ANALYZE)`).",
        f"- Machine: {meta['nproc']} CPUs ({meta['cpu'].strip()}). Load average before the run: "
        f"{meta['load_before']}; after: {meta['load_after']}. Other engineers' processes may "
        "share the machine: a load average above ~0.5 before the run means they did.",
        f"- Peers: one uvicorn worker each, pinned to CPU {SERVER_CPU}, pool of {POOL_SIZE} "
        f"connections; wrk (1 thread, {CONNECTIONS} connections) and pgbench pinned to CPU "
        f"{LOAD_CPU}; PostgreSQL not pinned. Warm-up {WARMUP} s per peer, then {ROUNDS} rounds "
        f"of {DURATION} s per peer, interleaved (A B C A B C ...); the median round is shown.",
        f"- Versions: {meta['postgres']}, PostGIS {meta['postgis']}, Python {meta['python']}, "
        f"{meta['main_versions']}; tipg {meta['tipg']} (own virtualenv); {meta['wrk']}.",
        (
            f"- Code measured: `{meta['commit']}`, with {meta['worktree_changes']} files under "
            "app/ changed in the work tree at the end of the run."
            if meta.get("commit")
            else "- Code measured: not recorded."
        ),
        "- plan_cache_mode: Sirkel and the floor set `force_custom_plan` on their connections "
        "(app/db.py); tipg and pgbench use the server's setting below. pgbench runs the floor's "
        f"statements for the first {PGBENCH_SCRIPTS} parameter sets with the values inlined "
        "(simple protocol).",
        "- PostgreSQL settings: "
        + ", ".join(f"`{name}={value}`" for name, value in meta["settings"])
        + ".",
        "",
        "Peers: **sirkel** is the app (`uvicorn app.main:create_app --factory`); **floor** is "
        "bench/floor.py, a bare ASGI app on asyncpg running the very statements Sirkel's "
        "repository builds and returning their bytes; **tipg** serves a view of the searchable "
        "listings (`bench_tipg.listings`) where it supports the workload; **pgbench** is the "
        "database alone.",
        "",
    ]
    summary = ["## Bars", "", "| workload | bar | result | met |", "|---|---|---|---|"]
    for r in results:
        for bar, ok, detail in r["verdicts"]:
            summary.append(f"| {r['name']} | {bar} | {detail} | {'met' if ok else 'MISSED'} |")
    lines += [*summary, "", "## Workloads", ""]
    for r in results:
        res: dict[str, Run] = r["median"]
        lines += [
            f"### {r['name']}: {r['title']}",
            "",
            "| peer | requests/s | p50 ms | p99 ms | requests | errors |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for name, run in res.items():
            lines.append(
                f"| {name} | {run.rps:,.0f} | {run.p50_ms:.2f} | {run.p99_ms:.2f} | "
                f"{run.requests:,} | {run.errors} |"
            )
        s = res["sirkel"]
        tipg_rps = res["tipg"].rps if "tipg" in res else None
        lines += [
            "",
            f"Sirkel/floor {_ratio(s.rps, res['floor'].rps)}, Sirkel/tipg "
            f"{_ratio(s.rps, tipg_rps)}, Sirkel/pgbench "
            f"{_ratio(s.rps, res['pgbench'].rps if 'pgbench' in res else None)}. "
            f"Parity: {'; '.join(r['problems']) or 'same results on the samples checked'}.",
            "",
            "Requests/s per round: "
            + "; ".join(f"{n} {', '.join(f'{v:,}' for v in vs)}" for n, vs in r["rounds"].items())
            + ".",
            "",
        ]
    if meta.get("note"):
        lines[lines.index("## This run") + 2 : lines.index("## This run") + 2] = [
            f"- **Note:** {meta['note']}"
        ]
    analysis = BENCH / "ANALYSIS.md"
    if analysis.exists():
        lines += [analysis.read_text().rstrip(), ""]
    # The other benchmarks' sections (impact, outbox, photos …) are theirs: keep them.
    if DOC.exists():
        lines += [m.group(0) + "\n" for m in OTHER_SECTIONS.finditer(DOC.read_text())]
    DOC.parent.mkdir(exist_ok=True)
    DOC.write_text("\n".join(lines))


# --- main -------------------------------------------------------------------------------------


def report_only() -> int:
    """Rewrite docs/benchmarks.md from bench/results/bench-SIZE.json (no measuring)."""
    saved = json.loads((RESULTS / f"bench-{SIZE}.json").read_text())
    bars = {
        w.name: w
        for w in build(Places(medium=[(10.0, 60.0)], sparse=[(10.0, 60.0)], listing_ids=["x"]))
    }
    for r in saved["results"]:
        r["median"] = {name: Run(**run) for name, run in r["median"].items()}
        r["verdicts"] = judge(bars[r["name"]], r["median"], r["problems"])
    write_report(saved["meta"], saved["results"])
    say(f"rewrote {DOC.relative_to(ROOT)} from bench/results/bench-{SIZE}.json")
    return 0


def main() -> int:
    if "--report-only" in sys.argv:
        return report_only()
    for tool in ("wrk", "taskset"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is missing (bench/run.sh installs it)")
    load_before = Path("/proc/loadavg").read_text().strip()
    data_seconds = prepare_database()
    asyncio.run(_execute(TIPG_VIEW))
    workloads = build(places())
    only = os.environ.get("BENCH_ONLY", "")
    if only:
        workloads = [w for w in workloads if w.name in only.split(",")]
    all_peers = peers()
    results: list[dict[str, Any]] = []
    with running(all_peers), httpx.Client(timeout=60) as client:
        say("parity checks")
        problems = {w.name: parity(w, client) for w in workloads}
        for name, found in problems.items():
            say(f"  {name}: {'; '.join(found) if found else 'ok'}")
        for w in workloads:
            names = ["sirkel", "floor"] + (["tipg"] if w.tipg_paths is not None else [])
            say(f"{w.name}: warm-up")
            for name in names:
                warm = w.tipg_paths if name == "tipg" else w.paths
                assert warm is not None
                wrk(name, warm, w.accept, WARMUP, w.connections or CONNECTIONS)
            rounds: dict[str, list[Run]] = {name: [] for name in names}
            for k in range(ROUNDS):
                for name in names:
                    paths = w.tipg_paths if name == "tipg" else w.paths
                    assert paths is not None
                    rounds[name].append(
                        wrk(name, paths, w.accept, DURATION, w.connections or CONNECTIONS)
                    )
                say(
                    f"{w.name} round {k + 1}: "
                    + ", ".join(f"{n} {rounds[n][-1].rps:,.0f}/s" for n in names)
                )
            median = {name: _median(runs) for name, runs in rounds.items()}
            pg = pgbench(w, DURATION)
            if pg is not None:
                median["pgbench"] = pg
            results.append(
                {
                    "name": w.name,
                    "title": w.title,
                    "median": median,
                    "rounds": {n: [round(r.rps) for r in runs] for n, runs in rounds.items()},
                    "problems": problems[w.name],
                    "verdicts": judge(w, median, problems[w.name]),
                }
            )
    meta = metadata(data_seconds, load_before)
    write_report(meta, results)
    (RESULTS / f"bench-{SIZE}.json").write_text(
        json.dumps(
            {"meta": meta, "results": results},
            default=lambda o: o.__dict__,
            indent=2,
            ensure_ascii=False,
        )
    )
    say(f"wrote {DOC.relative_to(ROOT)} and bench/results/bench-{SIZE}.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
