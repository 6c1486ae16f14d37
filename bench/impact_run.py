"""The impact benchmark, end to end: ``make bench-impact`` (``make bench-impact-quick``).

Issue: any impact query over 10 million evidence records answers with p95 under 200 ms on
this 2-core machine, and the report shows each impact query next to the same aggregate
computed directly from the evidence table (the ratio is what the rollups buy).

1. Data: ``bench.impact_generate`` fills ``sirkel_impact`` in the benchmark cluster with
   ``BENCH_IMPACT_SIZE`` records (default 10,000,000) unless ``BENCH_IMPACT_REUSE_DATA=1``
   and the database already holds that many; its timings come from
   ``bench/results/impact-gen-N.json``.
2. The API: one uvicorn worker of the app (``app.main:create_app``) on that database, as
   bench/run.py starts Sirkel for the listings benchmark.
3. Parity, before any timing, for every workload: the rollup path (the repository's
   statement) against the direct aggregate over ``impact_facts``, the rollups' household
   counts against the ledger's, and the API's rows against the direct aggregate (a suppressed
   cell only has to be there; a cell the suppression rule covers must be suppressed). Any
   difference stops the run.
4. Latency, one request at a time, per workload: ``BENCH_IMPACT_ROUNDS`` requests over its
   cases through HTTP and as rollup SQL after a warm-up pass, and ``BENCH_IMPACT_DIRECT_ROUNDS``
   direct executions (each compared with the rollup's answer again). p50/p95/p99 are
   nearest-rank percentiles of the samples.
5. ``EXPLAIN (ANALYZE, BUFFERS)`` of the slowest rollup statement of every workload whose API
   p95 misses 200 ms goes to ``bench/results/impact-plans-N.txt``; everything measured to
   ``bench/results/impact-N.json``; the report section of docs/benchmarks.md (between
   markers, the rest of the file is kept) is rewritten from that JSON, also by
   ``--report-only``.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import platform
import re
import subprocess
import sys
import time
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import asyncpg
import httpx
from pydantic import SecretStr
from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import DatabaseSettings
from app.db import create_engine, create_read_sessionmaker
from app.repositories.impact.rollup import LEVEL_DIMS, level_for
from app.services.impact.catalogue import BY_ID
from bench import cluster
from bench import impact_workloads as iw
from bench.impact_generate import app_url, database_for, dsn

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
RESULTS = BENCH / "results"
DOC = ROOT / "docs" / "benchmarks.md"
ANALYSIS = BENCH / "ANALYSIS.md"

SIZE = int(os.environ.get("BENCH_IMPACT_SIZE", "10000000"))
ROUNDS = int(os.environ.get("BENCH_IMPACT_ROUNDS", "60"))
DIRECT_ROUNDS = int(os.environ.get("BENCH_IMPACT_DIRECT_ROUNDS", "3"))
DATABASE = database_for(SIZE)
REUSE_DATA = os.environ.get("BENCH_IMPACT_REUSE_DATA", "") == "1"
VERIFY_ALL = os.environ.get("BENCH_IMPACT_VERIFY_ALL", "") == "1"
ONLY = [w for w in os.environ.get("BENCH_IMPACT_ONLY", "").split(",") if w]
PORT = int(os.environ.get("BENCH_IMPACT_PORT", "18111"))
POOL_SIZE = 10
TARGET_P95_MS = 200.0
T = TypeVar("T")

START_MARK = "<!-- impact-benchmark:start (bench/impact_run.py writes this section) -->"
END_MARK = "<!-- impact-benchmark:end -->"
ANALYSIS_START = "<!-- impact-analysis:start -->"
ANALYSIS_END = "<!-- impact-analysis:end -->"


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


def percentile(samples: list[float], q: float) -> float:
    """Nearest rank: the smallest sample with at least q of them at or below it."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def stats(samples: list[float]) -> dict[str, float]:
    return {
        "n": len(samples),
        "p50": round(percentile(samples, 0.50), 2),
        "p95": round(percentile(samples, 0.95), 2),
        "p99": round(percentile(samples, 0.99), 2),
        "max": round(max(samples), 2),
    }


# --- data -----------------------------------------------------------------------------------


async def _count() -> int | None:
    try:
        conn = await asyncpg.connect(dsn(DATABASE))
    except (OSError, asyncpg.InvalidCatalogNameError):
        return None
    try:
        return int(await conn.fetchval("SELECT count(*) FROM evidence"))
    except asyncpg.UndefinedTableError:
        return None
    finally:
        await conn.close()


def prepare_data() -> None:
    cluster.start(fresh=False)
    if (
        REUSE_DATA
        and asyncio.run(_count()) == SIZE
        and (RESULTS / f"impact-gen-{SIZE}.json").exists()
    ):
        say(f"reusing the {SIZE:,} records already in {DATABASE}")
        return
    say(f"generating {SIZE:,} evidence records into {DATABASE}")
    command = [sys.executable, "-m", "bench.impact_generate", "--size", str(SIZE)]
    subprocess.run([*command, *(["--verify-all"] if VERIFY_ALL else [])], check=True, cwd=ROOT)


# --- the database side ----------------------------------------------------------------------


def _engine_settings() -> DatabaseSettings:
    """The app's engine settings (jit off, custom plans, UTC), without a statement timeout:
    the direct aggregates take far longer than the API's 15 s."""
    return DatabaseSettings(
        url=SecretStr(app_url(DATABASE)),
        statement_timeout_ms=0,
        pool_size=1,
        max_overflow=0,
    )


async def _timed(work: Awaitable[T]) -> tuple[float, T]:
    """Milliseconds ``work`` (a coroutine not yet started) takes, and its result."""
    t0 = time.perf_counter()
    out = await work
    return (time.perf_counter() - t0) * 1000, out


class _CapturedError(Exception):
    def __init__(self, stmt: TextClause, params: dict[str, Any]) -> None:
        self.stmt, self.params = stmt, params


class _CapturingSession:
    async def execute(self, stmt: TextClause, params: dict[str, Any]) -> None:
        raise _CapturedError(stmt, params)


async def _plan(session: AsyncSession, case: iw.Case) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) of the repository's statement for the case."""
    try:
        await iw.rollup(_CapturingSession(), case)  # type: ignore[arg-type]
    except _CapturedError as captured:
        rows = await session.execute(
            text("EXPLAIN (ANALYZE, BUFFERS) " + captured.stmt.text), captured.params
        )
        return "\n".join(str(r[0]) for r in rows)
    raise RuntimeError("the repository ran no statement")


async def database_side(workloads: list[iw.Workload]) -> dict[str, Any]:
    """Parity (rollup vs direct, households), then rollup and direct latencies."""
    engine = create_engine(_engine_settings())
    sessions = create_read_sessionmaker(engine)
    out: dict[str, Any] = {}
    try:
        async with sessions() as session:
            say("warming the caches (one pass over impact_facts)")
            await session.execute(text("SELECT count(*), sum(records) FROM impact_facts"))
            for w in workloads:
                first = w.cases[0]
                rollup_ms, rolled = await _timed(iw.rollup(session, first))
                direct_ms, direct = await _timed(iw.direct(session, first))
                mine = iw.normalized(first, rolled)
                truth = iw.normalized(first, direct)
                problems = iw.differences(first, mine, truth, ("rollup", "direct"))
                group = first.ordered_group
                if first.ind.source == "cells":
                    households = await iw.direct_households(session, first)
                else:  # the direct parties query counts them exactly
                    households = {
                        tuple(r[f"key_{d}"] for d in group): min(3, int(r["households"]))
                        for r in direct
                    }
                for r in rolled:
                    key = tuple(r[f"key_{d}"] for d in group)
                    want, got = households.get(key, 0), min(3, int(r["households"] or 0))
                    if got != want:
                        problems.append(f"{first.path()} {key}: households {got} != {want}")
                if problems:
                    raise SystemExit(
                        "PARITY FAILED (rollup vs direct):\n  " + "\n  ".join(problems)
                    )
                say(
                    f"{w.name}: parity ok ({len(truth)} groups; rollup {rollup_ms:.0f} ms, "
                    f"direct {direct_ms:.0f} ms, first run)"
                )
                out[w.name] = {
                    "title": w.title,
                    "cases": [c.path() for c in w.cases],
                    "parity_case": first.path(),
                    "groups": len(truth),
                    "expected": {
                        json.dumps(list(k)): v
                        for k, v in iw.expected_api_rows(first, truth, households).items()
                    },
                }
            for w in workloads:
                rollup_samples: list[float] = []
                for case in w.cases:  # warm-up pass
                    await iw.rollup(session, case)
                for k in range(max(ROUNDS, len(w.cases))):
                    case = w.cases[k % len(w.cases)]
                    ms, _ = await _timed(iw.rollup(session, case))
                    rollup_samples.append(ms)
                direct_samples: list[float] = []
                for k in range(DIRECT_ROUNDS):
                    case = w.cases[k % len(w.cases)]
                    ms, direct = await _timed(iw.direct(session, case))
                    rolled = await iw.rollup(session, case)
                    problems = iw.differences(
                        case,
                        iw.normalized(case, rolled),
                        iw.normalized(case, direct),
                        ("rollup", "direct"),
                    )
                    if problems:
                        raise SystemExit("PARITY FAILED:\n  " + "\n  ".join(problems))
                    direct_samples.append(ms)
                out[w.name]["rollup"] = stats(rollup_samples)
                out[w.name]["direct"] = stats(direct_samples)
                # The case whose rollup statement took longest, for the plan.
                n = len(w.cases)
                slowest = max(range(n), key=lambda i: max(rollup_samples[i::n]))
                out[w.name]["slowest_case"] = w.cases[slowest].path()
                say(
                    f"{w.name}: rollup p50 {out[w.name]['rollup']['p50']:.1f} ms, p95 "
                    f"{out[w.name]['rollup']['p95']:.1f} ms; direct p50 "
                    f"{out[w.name]['direct']['p50']:.0f} ms"
                )
    finally:
        await engine.dispose()
    return out


async def plans(workloads: list[iw.Workload], slow: dict[str, str]) -> str:
    engine = create_engine(_engine_settings())
    sessions = create_read_sessionmaker(engine)
    chunks = []
    try:
        async with sessions() as session:
            for w in workloads:
                if w.name not in slow:
                    continue
                for case in w.cases:
                    if case.path() == slow[w.name]:
                        chunks.append(f"### {w.name}: {case.path()}\n{await _plan(session, case)}")
    finally:
        await engine.dispose()
    return "\n\n".join(chunks)


async def shape() -> dict[str, Any]:
    """Table sizes, rows per rollup level, settings, versions."""
    conn = await asyncpg.connect(dsn(DATABASE))
    try:
        sizes = {
            t: {
                "bytes": await conn.fetchval("SELECT pg_total_relation_size($1::regclass)", t),
                "heap": await conn.fetchval("SELECT pg_relation_size($1::regclass)", t),
                "rows": await conn.fetchval(f"SELECT count(*) FROM {t}"),
            }
            for t in ("evidence", "impact_cells", "impact_parties", "impact_collaborations")
        }
        levels = {
            str(r["level"]): r["n"]
            for r in await conn.fetch(
                "SELECT level, count(*) AS n FROM impact_cells GROUP BY level ORDER BY level"
            )
        }
        settings = [
            (r["name"], r["setting"] + (r["unit"] or ""))
            for r in await conn.fetch(
                "SELECT name, setting, unit FROM pg_settings WHERE name IN ('shared_buffers', "
                "'work_mem', 'effective_cache_size', 'random_page_cost', 'jit', "
                "'max_parallel_workers_per_gather', 'fsync', 'synchronous_commit', "
                "'lc_collate') ORDER BY name"
            )
        ]
        version = str(await conn.fetchval("SELECT version()")).split(",")[0]
    finally:
        await conn.close()
    return {"sizes": sizes, "levels": levels, "settings": settings, "postgres": version}


# --- the API side ---------------------------------------------------------------------------


@contextmanager
def api_server() -> Iterator[str]:
    """One uvicorn worker of the app on the benchmark database (as bench/run.py runs it)."""
    base = f"http://127.0.0.1:{PORT}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIRKEL_")}
    env |= {
        "SIRKEL_ENVIRONMENT": "development",
        "SIRKEL_DATABASE__URL": app_url(DATABASE),
        "SIRKEL_DATABASE__POOL_SIZE": str(POOL_SIZE),
        "SIRKEL_DATABASE__MAX_OVERFLOW": "0",
    }
    RESULTS.mkdir(exist_ok=True)
    log = RESULTS / "impact-api.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                str(ROOT / ".venv" / "bin" / "uvicorn"),
                "app.main:create_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(PORT),
                "--workers",
                "1",
                "--no-access-log",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                raise SystemExit(f"the API exited; see {log}")
            try:
                if httpx.get(base + "/readyz", timeout=5).status_code < 300:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"the API did not become ready; see {log}")
            time.sleep(0.5)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def api_side(workloads: list[iw.Workload], found: dict[str, Any]) -> None:
    """Parity of the API against the direct aggregate, then latency through HTTP."""
    with api_server() as base, httpx.Client(base_url=base, timeout=120) as client:
        catalogue = client.get("/v1/impact/indicators")
        catalogue.raise_for_status()
        ids = {i["id"] for i in catalogue.json()["indicators"]}
        for w in workloads:
            missing = {c.indicator for c in w.cases} - ids
            if missing:
                raise SystemExit(f"{w.name}: the API does not list {sorted(missing)}")
            first = w.cases[0]
            response = client.get(first.path())
            if response.status_code != 200:
                raise SystemExit(f"{first.path()}: HTTP {response.status_code} {response.text}")
            expected = {tuple(json.loads(k)): v for k, v in found[w.name]["expected"].items()}
            problems, suppressed = iw.api_differences(first, response.json(), expected)
            if problems:
                raise SystemExit("PARITY FAILED (API vs direct):\n  " + "\n  ".join(problems))
            found[w.name]["api_rows"] = len(response.json()["rows"])
            found[w.name]["api_suppressed"] = suppressed
            say(f"{w.name}: API parity ok ({suppressed} of {len(expected)} cells suppressed)")
        for w in workloads:
            for case in w.cases:  # warm-up pass
                client.get(case.path()).raise_for_status()
            samples: list[float] = []
            for k in range(max(ROUNDS, len(w.cases))):
                case = w.cases[k % len(w.cases)]
                t0 = time.perf_counter()
                response = client.get(case.path())
                samples.append((time.perf_counter() - t0) * 1000)
                if response.status_code != 200:
                    raise SystemExit(f"{case.path()}: HTTP {response.status_code}")
            found[w.name]["api"] = stats(samples)
            say(
                f"{w.name}: API p50 {found[w.name]['api']['p50']:.1f} ms, p95 "
                f"{found[w.name]['api']['p95']:.1f} ms, p99 {found[w.name]['api']['p99']:.1f} ms"
            )


# --- the report -----------------------------------------------------------------------------


def _version(cmd: list[str]) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    except OSError:
        return "?"
    lines = (out.stdout or out.stderr).strip().splitlines()
    return lines[0] if lines else "?"


def _mb(n: int) -> str:
    return f"{n / 1024**2:,.0f} MB" if n < 10 * 1024**3 else f"{n / 1024**3:,.1f} GB"


def _ms(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.1f}" if value < 100 else f"{value:,.0f}"


def reads(path: str) -> str:
    """Which rollup a case reads: ``impact_parties``, or ``impact_cells`` and the level the
    repository picks (the smallest that keeps every dimension grouped or filtered by)."""
    query = parse_qs(urlsplit(path).query)
    indicator = BY_ID[query["indicator"][0]]
    if indicator.source != "cells":
        return f"impact_{indicator.source}"
    dims = set(",".join(query.get("group_by", [""])).split(","))
    dims |= {d for d in ("fylke", "kommune", "initiative") if d in query}
    return f"cells L{level_for(dims & set(LEVEL_DIMS[0]))}"


def render(saved: dict[str, Any]) -> str:
    """The report section, from the saved results alone."""
    gen, meta, results = saved["generation"], saved["meta"], saved["workloads"]
    t = gen["timings"]
    records = gen["records"]
    sizes = meta["sizes"]
    ev = sizes["evidence"]
    lines = [
        START_MARK,
        "",
        f"## Impact aggregates over {records / 1e6:g} million evidence records",
        "",
        "Written by `make bench-impact` (bench/impact_run.py; `BENCH_IMPACT_SIZE=200000 make "
        "bench-impact-quick` for a quick run) from "
        f"`bench/results/impact-{gen['size']}.json`. The bar: every impact query answers with "
        f"p95 under {TARGET_P95_MS:.0f} ms on this 2-core machine; the direct aggregate from the "
        "evidence table shows what the rollups buy.",
        "",
        "### Data",
        "",
        f"- {records:,} evidence records (seed {gen['seed']}) from January 2022 to "
        f"{gen['last_recorded'][:10]}, growing fourfold over the period: "
        + ", ".join(f"{k} {v:,}" for k, v in gen["by_type"].items())
        + ". Events: "
        + ", ".join(f"{k} {v:,}" for k, v in gen["by_event"].items())
        + f". {gen['compensations'] / records:.1%} are compensations (`compensates` set: "
        "disputes, the reported half of confirmations, corrections); "
        f"{gen['tagged'] / records:.1%} count toward one of {gen['initiatives']} initiatives.",
        f"- {gen['households']:,} households (kommune by population; a few far more active), "
        f"{gen['organizations']:,} organizations (one municipality per kommune), generated by "
        f"bench/impact_generate.py into its own database `{gen.get('database', DATABASE)}` in "
        "the benchmark cluster. The hash chain is computed in Python and the rows COPYed with "
        "`session_replication_role = replica` (no triggers, no foreign-key checks: the "
        "records' transactions and repairs do not exist — a benchmark-only shortcut); "
        f"{gen['chain']['records_checked']:,} records at five places were then checked "
        "against `sirkel_evidence_canonical` and their links"
        + (
            f", and the whole chain by `GET /v1/evidence/verify`'s query in "
            f"{t['verify_all_s']:,.0f} s"
            if "verify_all_s" in t
            else ""
        )
        + ".",
        f"- Times: schema and reference data {t['schema_and_reference_s']:.0f} s, "
        f"households, organizations and initiatives {t['parties_s']:.0f} s, "
        f"chain + COPY {t['load_s']:,.0f} s "
        f"({records / t['load_s']:,.0f} records/s), secondary indexes {t['indexes_s']:.0f} s, "
        f"`ImpactRollupRepository.rebuild()` **{t['rebuild_s']:,.0f} s**, VACUUM ANALYZE "
        f"{t['vacuum_analyze_s']:.0f} s; total {t['total_s'] / 60:,.1f} min.",
        "",
        "| table | rows | heap | with indexes | bytes per record |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, s in sizes.items():
        lines.append(
            f"| {name} | {s['rows']:,} | {_mb(s['heap'])} | {_mb(s['bytes'])} | "
            f"{s['bytes'] / records:,.0f} |"
        )
    lines += [
        "",
        "Rows of `impact_cells` per level: "
        + ", ".join(f"{lv}: {n:,}" for lv, n in meta["levels"].items())
        + f" (evidence: {ev['rows']:,}).",
        "",
        "### Latency, one request at a time",
        "",
        f"**api** is `GET /v1/impact` through HTTP (one uvicorn worker, pool {POOL_SIZE}; the "
        "service runs two rollup queries per indicator — the period and the one before it — "
        "then suppression); **rollup** is the repository's one statement for the period "
        "(`ImpactRollupRepository.cells`/`.parties`); **direct** is the same aggregate from "
        "`impact_facts` with GROUP BY (records and value; without the household count "
        "suppression needs, so the ratio is a lower bound). "
        f"{meta['rounds']} requests per workload over its cases after a warm-up pass, "
        f"{meta['direct_rounds']} direct runs (p95 of three is their maximum); milliseconds, "
        "nearest-rank percentiles. Parity was checked before any timing, on the first case of "
        "every workload: rollup = direct (records, value, share numerator), the rollups' "
        "household counts = the ledger's (capped at 3), the API's rows = direct (a suppressed "
        "cell only has to be there; one the rule covers must be suppressed); and rollup = "
        "direct again on every timed direct run.",
        "",
        "| workload | reads | api p50 | api p95 | api p99 | rollup p50 | rollup p95 | "
        "direct p50 | direct p95 | direct/rollup | api p95 < 200 ms |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name, r in results.items():
        api, rollup, direct = r.get("api"), r["rollup"], r["direct"]
        met = api is not None and api["p95"] < TARGET_P95_MS
        lines.append(
            f"| {name} | {reads(r['parity_case'])} | {_ms(api and api['p50'])} | "
            f"{_ms(api and api['p95'])} | "
            f"{_ms(api and api['p99'])} | {_ms(rollup['p50'])} | {_ms(rollup['p95'])} | "
            f"{_ms(direct['p50'])} | {_ms(direct['p95'])} | "
            f"{direct['p50'] / rollup['p50']:,.0f}x | "
            + ("met" if met else ("MISSED" if api is not None else "not measured"))
            + " |"
        )
    measured = [r for r in results.values() if "api" in r]
    met = sum(r["api"]["p95"] < TARGET_P95_MS for r in measured)
    lines += [
        "",
        f"**{met} of {len(measured)} workloads meet p95 < {TARGET_P95_MS:.0f} ms through the "
        "API.** direct/rollup is the ratio of the p50s; *reads* is the rollup table and, for "
        "`impact_cells`, the level the repository reads.",
        "",
        "Workloads (the cases are in the JSON):",
        "",
    ]
    for name, r in results.items():
        suppressed = (
            f"; {r['api_suppressed']} of {len(r['expected'])} cells suppressed"
            if "api_suppressed" in r
            else ""
        )
        lines.append(
            f"- **{name}**: {r['title']} — {len(r['cases'])} cases, e.g. `{r['parity_case']}` "
            f"({r['groups']} groups{suppressed})."
        )
    lines += [
        "",
        f"Machine: {meta['nproc']} CPUs ({meta['cpu'].strip()}), {meta['memory']}; load "
        f"average before {meta['load_before']}, after {meta['load_after']} (other engineers' "
        f"processes may share the machine). {meta['postgres']}, Python {meta['python']}. "
        "PostgreSQL settings: "
        + ", ".join(f"`{k}={v}`" for k, v in meta["settings"])
        + "; the app's connections set `jit=off` and `plan_cache_mode=force_custom_plan`, and "
        "so do the rollup and direct measurements (same engine). Date: "
        f"{meta['date']}.",
        "",
    ]
    if ANALYSIS.exists():
        analysis = ANALYSIS.read_text()
        if ANALYSIS_START in analysis and ANALYSIS_END in analysis:
            lines.append(
                analysis[analysis.index(ANALYSIS_START) : analysis.index(ANALYSIS_END)]
                + ANALYSIS_END
            )
            lines.append("")
    lines.append(END_MARK)
    return "\n".join(lines)


def write_report(saved: dict[str, Any]) -> None:
    """Replaces this benchmark's section of docs/benchmarks.md (or appends it); any copy of
    the impact analysis outside it (bench/run.py copies all of ANALYSIS.md) is dropped."""
    doc = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    doc = re.sub(re.escape(START_MARK) + ".*?" + re.escape(END_MARK) + "\n?", "", doc, flags=re.S)
    doc = re.sub(
        re.escape(ANALYSIS_START) + ".*?" + re.escape(ANALYSIS_END) + "\n?", "", doc, flags=re.S
    )
    DOC.write_text(doc.rstrip() + "\n\n" + render(saved) + "\n")


def report_only() -> int:
    saved = json.loads((RESULTS / f"impact-{SIZE}.json").read_text())
    # The same generation may have been verified since (impact_generate --verify-existing).
    path = RESULTS / f"impact-gen-{SIZE}.json"
    if path.exists():
        generation = json.loads(path.read_text())
        if generation.get("date") == saved["generation"].get("date"):
            saved["generation"] = generation
            (RESULTS / f"impact-{SIZE}.json").write_text(
                json.dumps(saved, indent=2, default=str, ensure_ascii=False) + "\n"
            )
    write_report(saved)
    say(f"rewrote the impact section of {DOC.relative_to(ROOT)} from impact-{SIZE}.json")
    return 0


def main() -> int:
    if "--report-only" in sys.argv:
        return report_only()
    load_before = Path("/proc/loadavg").read_text().strip()
    prepare_data()
    generation = json.loads((RESULTS / f"impact-gen-{SIZE}.json").read_text())

    async def setup() -> list[iw.Workload]:
        engine = create_engine(_engine_settings())
        try:
            async with create_read_sessionmaker(engine)() as session:
                return iw.build(await iw.places(session))
        finally:
            await engine.dispose()

    workloads = asyncio.run(setup())
    if ONLY:
        workloads = [w for w in workloads if w.name in ONLY]
    found = asyncio.run(database_side(workloads))
    if "--no-api" not in sys.argv:
        api_side(workloads, found)
    slow = {
        name: r["slowest_case"]
        for name, r in found.items()
        if r.get("api", r["rollup"])["p95"] >= TARGET_P95_MS
    }
    RESULTS.mkdir(exist_ok=True)
    if slow:
        (RESULTS / f"impact-plans-{SIZE}.txt").write_text(asyncio.run(plans(workloads, slow)))
        say(f"plans of {len(slow)} slow workloads in bench/results/impact-plans-{SIZE}.txt")
    meta = {
        **asyncio.run(shape()),
        "rounds": ROUNDS,
        "direct_rounds": DIRECT_ROUNDS,
        "nproc": os.cpu_count(),
        "cpu": _version(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"]),
        "memory": _version(["sh", "-c", "free -g | awk '/Mem:/ {print $2 \" GiB RAM\"}'"]),
        "python": platform.python_version(),
        "load_before": load_before,
        "load_after": Path("/proc/loadavg").read_text().strip(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }
    saved = {"generation": generation, "meta": meta, "workloads": found}
    (RESULTS / f"impact-{SIZE}.json").write_text(
        json.dumps(saved, indent=2, default=str, ensure_ascii=False) + "\n"
    )
    write_report(saved)
    say(f"wrote bench/results/impact-{SIZE}.json and the impact section of docs/benchmarks.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
