"""A library's two hot reads and writes at a million listings (issue #19):
``GET /v1/listings/{id}/availability`` and placing a hold.

Reuses the database ``make bench-matching`` made (1,000,000 generated listings; brought to the
schema's head). Over ``BENCH_LIBRARIES_ROUNDS`` lendable listings (drawn by seed):

* **availability**: the service in process (the route's work without HTTP), the raw busy-period
  statement the service runs (asyncpg, prepared), and the route through HTTP (one uvicorn
  worker, anonymous, as an embedded calendar would call it);
* **hold**: ``app.services.hold.place_hold`` in process, after every unit of the listing was
  lent out (loans written through the state machine's own moves), each in a transaction rolled
  back afterwards; and the raw SQL a hold needs at the least (lock the listing, the units out
  now, the insert).

Percentiles are nearest rank after a warm-up pass; results in ``bench/results/libraries.json``
and a section of ``docs/benchmarks.md``.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import DatabaseSettings
from app.db import create_engine
from app.models import Listing
from app.services import hold as hold_service
from app.services import transaction as transaction_service
from app.services.policy import Principal
from bench.impact_generate import app_url, dsn
from bench.matching import DATABASE, DOC, RESULTS, reuse, summary
from bench.server import running_api

PORT = int(os.environ.get("BENCH_LIBRARIES_PORT", "8797"))
ROUNDS = int(os.environ.get("BENCH_LIBRARIES_ROUNDS", "200"))
START_MARK = "<!-- libraries-benchmark:start (bench/libraries.py writes this section) -->"
END_MARK = "<!-- libraries-benchmark:end -->"

PICK_SQL = """
SELECT l.id, p.id AS borrower
FROM listings AS l
CROSS JOIN LATERAL (
    SELECT id FROM persons
    WHERE id IS DISTINCT FROM l.owner_person_id
    ORDER BY md5(id::text || l.id::text) LIMIT 1
) AS p
WHERE l.kind = 'item' AND l.mode = 'lend' AND l.status = 'active' AND l.hidden_at IS NULL
  AND (l.expires_at IS NULL OR l.expires_at > now())
ORDER BY md5(l.id::text || 'bench-libraries')
LIMIT $1
"""

# What GET /v1/listings/{id}/availability reads (TransactionRepository.busy), by hand.
BUSY_SQL = """
SELECT lower(blocked), upper(blocked), unit_no, status FROM transactions
WHERE listing_id = $1 AND type IN ('loan', 'rental', 'space_share')
  AND status IN ('requested', 'accepted', 'active', 'overdue')
  AND blocked && tstzrange($2, $3)
ORDER BY lower(blocked), unit_no
"""

# The least a hold needs: the listing's lock, the units out now, the insert.
RAW_HOLD_SQL = (
    "SELECT id FROM listings WHERE id = $1 FOR UPDATE",
    "SELECT unit_no FROM transactions WHERE listing_id = $1 AND status IN "
    "('requested', 'accepted', 'active', 'overdue') AND blocked && tstzrange(now(), "
    "now() + interval '1 second')",
    "INSERT INTO holds (listing_id, person_id, status, created_at) "
    "VALUES ($1, $2, 'waiting', now())",
)

# Every unit out: a loan per unit, moved requested -> accepted -> active as the machine does.
LEND_ALL_SQL = """
WITH l AS (SELECT * FROM listings WHERE id = :listing)
INSERT INTO transactions (type, subgoal, status, listing_id, provider_person_id,
    provider_organization_id, receiver_person_id, created_by_person_id, message, period,
    blocked, unit_no, created_at, updated_at, expires_at)
SELECT 'loan', 'SG2', 'requested', l.id, l.owner_person_id, l.owner_organization_id,
       :borrower, :borrower, '', tstzrange(:start, :end), tstzrange(:start, :end), u, :now,
       :now, :end
FROM l, generate_series(1, greatest(1, coalesce(l.quantity, 1))::int) AS u
"""


# Bookings to find: for up to 100,000 lendable listings (the drawn ones among them) four loan
# requests each, two days long, from day 8 on (the hold measurement lends every unit out for
# the first week). Written once; ``message`` marks them.
SEED_SQL = """
WITH p AS MATERIALIZED (
    SELECT id, row_number() OVER (ORDER BY id) AS rn FROM persons
), l AS MATERIALIZED (
    SELECT l.*, row_number() OVER (ORDER BY md5(l.id::text || 'bench-libraries')) AS n
    FROM listings AS l
    WHERE l.kind = 'item' AND l.mode = 'lend' AND l.status = 'active' AND l.hidden_at IS NULL
    ORDER BY md5(l.id::text || 'bench-libraries') LIMIT 100000
)
INSERT INTO transactions (type, subgoal, status, listing_id, provider_person_id,
    provider_organization_id, receiver_person_id, created_by_person_id, message, period,
    blocked, unit_no, created_at, updated_at, expires_at)
SELECT 'loan', 'SG2', 'requested', l.id, l.owner_person_id, l.owner_organization_id, p.id,
       p.id, 'bench-libraries',
       tstzrange(now() + make_interval(days => 8 + 3 * k),
                 now() + make_interval(days => 10 + 3 * k)),
       tstzrange(now() + make_interval(days => 8 + 3 * k),
                 now() + make_interval(days => 10 + 3 * k)),
       1, now(), now(), now() + make_interval(days => 8 + 3 * k)
FROM l
CROSS JOIN generate_series(0, 3) AS k
-- A borrower by number (skipped in the rare case they own the listing).
JOIN p ON p.rn = 1 + (l.n * 7 + k) % (SELECT count(*) FROM persons)
WHERE p.id IS DISTINCT FROM l.owner_person_id
"""


async def seed_bookings() -> int:
    """The bookings availability reads (written once); how many there are."""
    conn = await asyncpg.connect(dsn(DATABASE))
    try:
        have = await conn.fetchval(
            "SELECT count(*) FROM transactions WHERE message = 'bench-libraries'"
        )
        if not have:
            await conn.execute(SEED_SQL)
            await conn.execute("ANALYZE transactions")
            have = await conn.fetchval(
                "SELECT count(*) FROM transactions WHERE message = 'bench-libraries'"
            )
    finally:
        await conn.close()
    return int(have)


def say(message: str) -> None:
    print(f"[bench-libraries] {message}", file=sys.stderr, flush=True)


async def picked() -> list[tuple[uuid.UUID, uuid.UUID]]:
    conn = await asyncpg.connect(dsn(DATABASE))
    try:
        rows = await conn.fetch(PICK_SQL, ROUNDS)
    finally:
        await conn.close()
    return [(r["id"], r["borrower"]) for r in rows]


async def in_process(pairs: list[tuple[uuid.UUID, uuid.UUID]]) -> dict[str, Any]:
    engine = create_engine(DatabaseSettings(url=app_url(DATABASE), pool_size=2))  # type: ignore[arg-type]
    result: dict[str, Any] = {}
    now = datetime.now(UTC)
    try:
        async with AsyncSession(engine, expire_on_commit=False) as session:
            samples: list[float] = []
            for _pass in ("warm-up", "measured"):
                samples = []
                for listing_id, _ in pairs:
                    listing = await session.get(Listing, listing_id)
                    assert listing is not None
                    started = time.perf_counter()
                    await transaction_service.availability(
                        session, listing=listing, start=now, end=now + timedelta(days=30)
                    )
                    samples.append(time.perf_counter() - started)
            result["availability"] = summary(samples)
            for _pass in ("warm-up", "measured"):
                samples = []
                for listing_id, borrower in pairs:
                    await session.execute(
                        text(LEND_ALL_SQL),
                        {
                            "listing": listing_id,
                            "borrower": borrower,
                            "start": now,
                            "end": now + timedelta(days=7),
                            "now": now,
                        },
                    )
                    for status in ("accepted", "active"):
                        await session.execute(
                            text("UPDATE transactions SET status = :s WHERE listing_id = :l"),
                            {"s": status, "l": listing_id},
                        )
                    holder = await _another_person(session, borrower)
                    started = time.perf_counter()
                    await hold_service.place_hold(
                        session,
                        principal=Principal(person_id=holder),
                        listing_id=listing_id,
                        now=now,
                    )
                    samples.append(time.perf_counter() - started)
                    await session.rollback()
            result["hold"] = summary(samples)
    finally:
        await engine.dispose()
    return result


async def _another_person(session: AsyncSession, borrower: uuid.UUID) -> uuid.UUID:
    value = await session.scalar(
        text("SELECT id FROM persons WHERE id <> :b ORDER BY id LIMIT 1"), {"b": borrower}
    )
    assert isinstance(value, uuid.UUID)
    return value


async def raw_sql(pairs: list[tuple[uuid.UUID, uuid.UUID]]) -> dict[str, Any]:
    conn = await asyncpg.connect(dsn(DATABASE))
    result: dict[str, Any] = {}
    now = datetime.now(UTC)
    try:
        busy = await conn.prepare(BUSY_SQL)
        samples: list[float] = []
        for _pass in ("warm-up", "measured"):
            samples = []
            for listing_id, _ in pairs:
                started = time.perf_counter()
                await busy.fetch(listing_id, now, now + timedelta(days=30))
                samples.append(time.perf_counter() - started)
        result["availability"] = summary(samples)
        lock, out, insert = [await conn.prepare(sql) for sql in RAW_HOLD_SQL]
        for _pass in ("warm-up", "measured"):
            samples = []
            for listing_id, borrower in pairs:
                tx = conn.transaction()
                await tx.start()
                started = time.perf_counter()
                await lock.fetch(listing_id)
                await out.fetch(listing_id)
                await insert.fetch(listing_id, borrower)
                samples.append(time.perf_counter() - started)
                await tx.rollback()
        result["hold"] = summary(samples)
    finally:
        await conn.close()
    return result


async def through_api(base: str, pairs: list[tuple[uuid.UUID, uuid.UUID]]) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        samples: list[float] = []
        for _pass in ("warm-up", "measured"):
            samples = []
            for listing_id, _ in pairs:
                started = time.perf_counter()
                response = await client.get(f"/v1/listings/{listing_id}/availability")
                samples.append(time.perf_counter() - started)
                response.raise_for_status()
    return {"availability": summary(samples)}


def measure() -> dict[str, Any]:
    say(f"reusing {DATABASE} (make bench-matching makes it)")
    _, data = reuse()
    bookings = asyncio.run(seed_bookings())
    say(f"{bookings} booking requests to find")
    pairs = asyncio.run(picked())
    say(f"{len(pairs)} lendable listings; in process")
    local = asyncio.run(in_process(pairs))
    say(f"in process: {json.dumps(local)}; raw SQL")
    raw = asyncio.run(raw_sql(pairs))
    env = {
        "SIRKEL_ENVIRONMENT": "development",
        "SIRKEL_DATABASE__URL": app_url(DATABASE),
        # One client asks for every listing: the per-caller budget is not measured.
        "SIRKEL_RATE_LIMITS__ENABLED": "false",
    }
    with running_api(port=PORT, env=env, log_name="libraries-app.log") as (base, _pid):
        say("GET /v1/listings/{id}/availability through HTTP")
        api = asyncio.run(through_api(base, pairs))
    return {
        "listings": data["listings"],
        "bookings": bookings,
        "rounds": len(pairs),
        "local": local,
        "raw": raw,
        "api": api,
        "cores": os.cpu_count(),
        "date": datetime.now(UTC).date().isoformat(),
    }


def render(m: dict[str, Any]) -> str:
    def row(
        name: str, api: dict[str, Any] | None, local: dict[str, Any], raw: dict[str, Any]
    ) -> str:
        through = f"{api['p50']} / {api['p95']}" if api else "—"
        return (
            f"| {name} | {through} | {local['p50']} / {local['p95']} | "
            f"{raw['p50']} / {raw['p95']} | {local['p95'] / raw['p95']:.2f}x |"
        )

    return "\n".join(
        [
            START_MARK,
            "## A library's hot paths (issue #19)",
            "",
            f"`make bench-libraries`, {m['date']}, on this {m['cores']}-core machine, over the "
            f"{m['listings']:,} listings `make bench-matching` generated, with "
            f"{m.get('bookings', 0):,} loan requests written on its lendable listings (four "
            f"each, from day 8): {m['rounds']} of those listings drawn by seed, so each shows "
            "its bookings in the 30 days asked for; milliseconds p50 / p95 after a warm-up pass, "
            "nearest rank. **Service** is the route's work in process; **raw SQL** the least "
            "the same answer needs (asyncpg, prepared). A hold is placed after every unit of "
            "the listing was lent out, in a transaction rolled back afterwards.",
            "",
            "| operation | API p50 / p95 | service p50 / p95 | raw SQL p50 / p95 | "
            "service / raw (p95) |",
            "|---|---|---|---|---|",
            row(
                "`GET /v1/listings/{id}/availability` (30 days)",
                m["api"]["availability"],
                m["local"]["availability"],
                m["raw"]["availability"],
            ),
            row("place a hold", None, m["local"]["hold"], m["raw"]["hold"]),
            "",
            "Target of the issue: both under 20 ms p95.",
            END_MARK,
        ]
    )


def write_report(measured: dict[str, Any]) -> None:
    doc = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    doc = re.sub(re.escape(START_MARK) + ".*?" + re.escape(END_MARK) + "\n?", "", doc, flags=re.S)
    DOC.write_text(doc.rstrip() + "\n\n" + render(measured) + "\n")


def main() -> int:
    if "--report-only" in sys.argv:
        measured = json.loads((RESULTS / "libraries.json").read_text())
    else:
        measured = measure()
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "libraries.json").write_text(json.dumps(measured, indent=2) + "\n")
    write_report(measured)
    say(f"wrote docs/benchmarks.md and bench/results/libraries.json: {json.dumps(measured)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
