"""A seeded evidence ledger for the impact benchmark: ``python -m bench.impact_generate``.

``--size N`` records (default 10,000,000) go into ``sirkel_impact_N``, a database of its own
in the benchmark cluster (bench/cluster.py, port 54339), so neither the listings benchmark's
``sirkel_bench`` nor a quick run at another size replaces a 10M ledger that took half an
hour. The schema comes from the project's Alembic revisions and the reference data from
``python -m app.cli load-reference``, exactly as ``bench/run.py`` prepares its database;
nothing here creates tables of its own.

**Shape.** Records from 1 January 2022 to 22 November 2026 (Norwegian time), growing fourfold
over the period with seasons and busier weekends. Each record's kommune is drawn by
population (``kommuner.population``), households (``--households``, 400,000 at 10M) live in a
kommune drawn the same way and a few are far more active than most, organizations
(``--organizations``, 15,000 at 10M; one municipality per kommune) are real rows in
``organizations`` with their pseudonyms in ``organization_parties``. Every transaction type
appears with its sub-goal (``app.models.transaction.subgoal_of``) and the fields the services
write for it: reuse in pieces with the Restart factors of the category, loans and rentals
with days, rooms shared in m², materials with EWC codes (a few hazardous) in their listing's
unit and WRAP's per-kg factor for kg and t, energy in MWh, repairs through a transaction,
logged by a shop or café, or imported (no kommune, grade ``imported``) with ORDS statuses.
About 6 % of transactions are later confirmed, disputed (some upheld) or corrected, each as
the services append it (signed deltas, ``compensates``); about 5 % of records count toward one
of ``--initiatives`` initiatives in that initiative's kommuner.

**Loading** 10M records through the triggers would take hours (each insert takes the ledger's
lock, serialises itself in SQL and updates six rollup levels). Instead the chain is computed
here, in ``seq`` order, with exactly the canonical serialization of
``sirkel_evidence_canonical`` (version 2), and the rows go in by COPY under
``session_replication_role = replica``, which skips user triggers **and foreign-key checks**.
Bench-only shortcut: ``transaction_id`` and ``repair_id`` name transactions and repairs that
do not exist (the ledger, the rollups and the impact queries never join them), and the
organizations have no members. Afterwards 1,000 consecutive records at five places are
checked in SQL against ``sha256(prev_hash || convert_to(sirkel_evidence_canonical(e),
'UTF8'))`` and their links, so the ledger is a valid chain by the database's own definition
(``--verify-all`` runs the API's full verification as well, ``--verify-existing`` only that, on
the ledger generated before). The rollups are then rebuilt by
``ImpactRollupRepository.rebuild()``, the statements the trigger's property test compares
against, and everything is vacuumed and analysed.

Timings, counts and sizes go to ``bench/results/impact-gen-N.json`` for bench/impact_run.py.
The same size and seed give the same records; only the pseudonyms (and so the hashes) differ
between databases, because the pseudonym key is drawn by the migration.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import hashlib
import heapq
import itertools
import json
import math
import operator
import os
import random
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import DatabaseSettings
from app.db import create_engine, create_sessionmaker
from app.models.evidence import CANONICAL_FIELDS, CANONICAL_VERSION, GENESIS_HASH
from app.models.transaction import TransactionType, subgoal_of
from app.repositories.evidence import EvidenceRepository
from app.repositories.impact.rollup import ImpactRollupRepository
from bench import cluster, vocabulary

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DEFAULT_SIZE = 10_000_000
DEFAULT_SEED = 20261122

OSLO = ZoneInfo("Europe/Oslo")
FIRST_DAY = date(2022, 1, 1)
END_DAY = date(2026, 11, 22)  # exclusive: the ledger's head is "now"

# Shares of subjects (a transaction or a repair; a subject can have several records).
TYPE_SHARES: tuple[tuple[str, float], ...] = (
    ("reuse", 0.43),
    ("repair", 0.20),
    ("loan", 0.14),
    ("rental", 0.08),
    ("material_exchange", 0.09),
    ("space_share", 0.04),
    ("energy_exchange", 0.02),
)
# How a repair reaches the ledger: through a transaction, logged by the shop or café, imported.
REPAIR_SOURCES = (("transaction", 0.35), ("logged", 0.50), ("imported", 0.15))
REPAIR_STATUSES = (("Fixed", 0.55), ("Repairable", 0.20), ("End of life", 0.25))
# What happens to a completed transaction later (the rest: nothing).
FOLLOW_UPS = (("confirm", 0.040), ("dispute", 0.012), ("correct", 0.008))
UPHELD_SHARE = 0.4
INITIATIVE_SHARE = 0.065  # drawn; only records inside the initiative's period are tagged

# Who provides and who receives, per type: a household "H" or an organization of a kind.
PARTIES: dict[str, tuple[str, str]] = {
    "reuse": (
        "H .82 civil_society .08 company .05 municipality .03 public_agency .02",
        "H .93 company .03 civil_society .03 public_agency .01",
    ),
    "loan": ("H .65 library_of_things .30 municipality .05", "H .97 civil_society .02 company .01"),
    "rental": ("H .55 company .45", "H .90 company .10"),
    "rental_space": (
        "company .6 municipality .2 civil_society .1 public_agency .1",
        "company .5 civil_society .3 H .2",
    ),
    "space_share": (
        "municipality .35 company .35 civil_society .2 public_agency .1",
        "civil_society .45 company .35 H .2",
    ),
    "material_exchange": (
        "company .70 municipality .10 public_agency .10 civil_society .05 H .05",
        "company .55 civil_society .15 municipality .10 H .20",
    ),
    "energy_exchange": (
        "company .75 municipality .15 public_agency .10",
        "company .60 municipality .20 civil_society .20",
    ),
    "repair": ("repair_shop .85 H .15", "H .92 company .05 civil_society .03"),
    "repair_logged": ("repair_shop .6 civil_society .4", ""),
    "repair_imported": ("civil_society .7 repair_shop .3", ""),
}


def _shares(spec: str) -> list[tuple[str, float]]:
    """``"H .82 company .18"`` as ``[("H", 0.82), ("company", 0.18)]``."""
    words = spec.split()
    return [(words[i], float(words[i + 1])) for i in range(0, len(words), 2)]


# Organizations besides one municipality per kommune, by kind.
ORGANIZATION_KINDS = (
    ("company", 0.45),
    ("civil_society", 0.20),
    ("repair_shop", 0.15),
    ("public_agency", 0.14),
    ("library_of_things", 0.06),
)
INITIATIVE_KINDS = ("pilot", "experiment", "reuse_station", "repair_cafe_series")

# Things lent and rented out (slug: weight); kept to the slugs the categories table has.
LENT: dict[str, int] = {
    "power-tools": 20,
    "hand-tools": 8,
    "garden-tools": 8,
    "garden-machinery": 6,
    "ladders-and-scaffolding": 5,
    "tents": 8,
    "backpacks-and-hiking-gear": 4,
    "sleeping-bags-and-mats": 4,
    "cross-country-skiing": 8,
    "alpine-and-snowboard": 6,
    "bicycles": 6,
    "cargo-bikes": 5,
    "prams-and-strollers": 3,
    "child-car-seats": 3,
    "board-games-and-puzzles": 3,
    "sewing-machines": 2,
    "projectors": 3,
    "fishing-gear": 2,
    "water-sports": 3,
}
# Materials: EWC code, unit, category slug (None: counted by EWC chapter), weight, quantity
# range. The last six are hazardous waste codes (about 7 % of material exchanges).
MATERIALS: tuple[tuple[str, str, str | None, float, float, float], ...] = (
    ("170201", "m3", "timber-and-boards", 10, 0.5, 40),
    ("170202", "m2", "windows-and-doors", 6, 2, 120),
    ("170203", "kg", None, 6, 10, 2000),
    ("170107", "t", None, 8, 1, 60),
    ("170405", "kg", None, 8, 50, 8000),
    ("170504", "m3", None, 6, 5, 400),
    ("150101", "kg", None, 7, 5, 800),
    ("150103", "pcs", None, 8, 5, 300),
    ("170904", "m3", "surplus-building-materials", 6, 0.5, 30),
    ("200307", "pcs", None, 6, 1, 80),
    ("191204", "kg", None, 3, 50, 5000),
    ("080111", "l", None, 1.5, 5, 400),
    ("160601", "pcs", None, 1.0, 1, 50),
    ("200121", "pcs", None, 0.8, 5, 500),
    ("170106", "t", None, 0.7, 1, 30),
    ("170409", "kg", None, 0.8, 50, 3000),
    ("130205", "l", None, 0.6, 20, 1000),
)
MONTH_SEASON = (0.85, 0.9, 1.0, 1.1, 1.2, 1.15, 0.8, 1.1, 1.15, 1.05, 1.0, 0.8)

# The canonical serialization (README, "The evidence ledger"): keys in byte order. Static
# fields belong to the subject (a compensation copies them), dynamic ones to each record.
STATIC = (
    "type",
    "subgoal",
    "transaction_id",
    "repair_id",
    "provider_party",
    "provider_sector",
    "receiver_party",
    "receiver_sector",
    "kommunenummer",
    "fylkesnummer",
    "category",
    "ewc_code",
    "ords_category_id",
    "repair_status",
    "unit",
    "factor_revision",
    "initiative",
    "matched",
    "country",  # canonical version 4: the generated records are all Norway's
)
DYNAMIC = (
    "seq",
    "recorded_at",
    "occurred_at",
    "event",
    "grade",
    "count",
    "quantity",
    "days",
    "kg_diverted",
    "co2e_kg",
    "compensates",
    "v",
)
assert sorted(STATIC + DYNAMIC) == sorted(CANONICAL_FIELDS), "canonical fields changed"
_KEYS = sorted(STATIC + DYNAMIC)
_TEMPLATE = "{" + ",".join(f'"{k}":%s' for k in _KEYS) + "}"
_STATUS, _INITIATIVE = STATIC.index("repair_status"), STATIC.index("initiative")
_ORDER = operator.itemgetter(*((STATIC + DYNAMIC).index(k) for k in _KEYS))
# COPY columns: the static fields, the dynamic ones, the chain (table column names).
COPY_COLUMNS = [
    *({"category": "category_slug", "initiative": "initiative_id"}.get(c, c) for c in STATIC),
    *({"count": "record_count", "v": "canonical_version"}.get(c, c) for c in DYNAMIC),
    "prev_hash",
    "hash",
]


def _log(message: str, started: float) -> None:
    print(f"  [{time.monotonic() - started:7.1f}s] {message}", flush=True)


def database_for(size: int) -> str:
    return f"sirkel_impact_{size}"


def dsn(database: str) -> str:
    return f"postgresql://postgres@127.0.0.1:{cluster.PORT}/{database}"


def app_url(database: str) -> str:
    """The URL the app's settings take (``SIRKEL_DATABASE__URL``)."""
    return dsn(database).replace("postgresql", "postgresql+asyncpg", 1)


# --- rendering ------------------------------------------------------------------------------


def _milli(value: Decimal) -> int:
    """A decimal as integer thousandths, rounded half up as the services round kg and CO2e."""
    return int((value * 1000).to_integral_value(rounding=ROUND_HALF_UP))


def _fmt3(value: int) -> str:
    """Thousandths as PostgreSQL prints numeric(p, 3): ``-2.500``, never ``-0.000``."""
    if value < 0:
        return f"-{-value // 1000}.{-value % 1000:03d}"
    return f"{value // 1000}.{value % 1000:03d}"


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _utc(us: int) -> str:
    """Microseconds since the epoch as ``sirkel_utc_text`` writes them."""
    return (_EPOCH + timedelta(microseconds=us)).isoformat(timespec="microseconds")[:-6] + "Z"


def _us(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1)


def _json(value: str | int | None) -> str:
    # Our strings are slugs, codes, hex and uuids: nothing JSON would escape.
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return '"' + value + '"'


def _copy(value: str | int | None) -> str:
    return "\\N" if value is None else str(value)


def _uuid(bits: int) -> str:
    h = f"{bits:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


@dataclass(frozen=True, slots=True)
class Static:
    """A subject's fields, rendered once for the canonical JSON and once for COPY."""

    values: tuple[str | int | None, ...]
    json: tuple[str, ...] = ()
    copy: tuple[str, ...] = ()

    @staticmethod
    def of(values: tuple[str | int | None, ...]) -> Static:
        return Static(values, tuple(map(_json, values)), tuple(map(_copy, values)))

    def changed(self, **changes: str | int | None) -> Static:
        values = list(self.values)
        for name, value in changes.items():
            values[STATIC.index(name)] = value
        return Static.of(tuple(values))


Figures = tuple[int | None, int | None, int | None, int | None]  # quantity, days, kg, co2e


def _negated(figures: Figures) -> Figures:
    q, d, kg, co2e = figures
    return (
        None if q is None else -q,
        None if d is None else -d,
        None if kg is None else -kg,
        None if co2e is None else -co2e,
    )


@dataclass(slots=True)
class Subject:
    """A transaction or repair: what its records copy, and what its follow-ups need."""

    static: Static
    figures: Figures
    grade: str
    basis: tuple[str, Any]  # how kg and CO2e follow from the quantity (for corrections)
    counted: int = 0  # seq of the record that counts it now


class Ledger:
    """Numbers, serialises and chains records in ``seq`` order, as ``evidence_chain`` does."""

    def __init__(self) -> None:
        self.seq = 0
        self.prev = GENESIS_HASH
        self.last_recorded = 0
        self.events: Counter[tuple[str, str, str, int]] = Counter()
        self.tagged = 0
        self.compensations = 0

    def record(
        self,
        static: Static,
        *,
        event: str,
        grade: str,
        count: int,
        figures: Figures,
        occurred: int,
        recorded: int,
        compensates: int | None = None,
    ) -> str:
        self.seq += 1
        recorded = max(recorded, self.last_recorded + 1)
        self.last_recorded = recorded
        q, d, kg, co2e = figures
        q_t = None if q is None else _fmt3(q)
        d_t = None if d is None else _fmt3(d)
        kg_t = None if kg is None else _fmt3(kg)
        co2e_t = None if co2e is None else _fmt3(co2e)
        recorded_t, occurred_t = _utc(recorded), _utc(occurred)
        dynamic = (
            str(self.seq),
            '"' + recorded_t + '"',
            '"' + occurred_t + '"',
            '"' + event + '"',
            '"' + grade + '"',
            str(count),
            "null" if q_t is None else '"' + q_t + '"',
            "null" if d_t is None else '"' + d_t + '"',
            "null" if kg_t is None else '"' + kg_t + '"',
            "null" if co2e_t is None else '"' + co2e_t + '"',
            "null" if compensates is None else str(compensates),
            str(CANONICAL_VERSION),
        )
        canonical = _TEMPLATE % _ORDER(static.json + dynamic)
        digest = hashlib.sha256(self.prev + canonical.encode()).digest()
        line = "\t".join(
            (
                *static.copy,
                str(self.seq),
                recorded_t,
                occurred_t,
                event,
                grade,
                str(count),
                "\\N" if q_t is None else q_t,
                "\\N" if d_t is None else d_t,
                "\\N" if kg_t is None else kg_t,
                "\\N" if co2e_t is None else co2e_t,
                "\\N" if compensates is None else str(compensates),
                str(CANONICAL_VERSION),
                "\\\\x" + self.prev.hex(),
                "\\\\x" + digest.hex(),
            )
        )
        self.prev = digest
        self.events[(str(static.values[0]), event, grade, count)] += 1
        if static.values[_INITIATIVE] is not None:
            self.tagged += 1
        if compensates is not None:
            self.compensations += 1
        return line


# --- reference data and parties -------------------------------------------------------------


@dataclass
class Kommune:
    nr: str
    fylke: str
    name: str
    population: int


@dataclass
class Initiative:
    id: str
    kommuner: list[str]
    starts: int  # microseconds
    ends: int | None


@dataclass
class World:
    """The reference data and the parties the records are drawn from."""

    kommuner: list[Kommune]
    kommune_cum: list[float]
    fylke_of: dict[str, str]
    factor_of: dict[str, tuple[Decimal, Decimal] | None]  # slug: (kg, CO2e) per item
    ords_of: dict[str, int]
    revision: int
    wrap: Decimal
    ewc_chapter: dict[str, tuple[str, bool]]
    key: bytes
    households: dict[str, list[str]] = field(default_factory=dict)
    household_ids: list[tuple[str, str]] = field(default_factory=list)  # (uuid, pseudonym)
    orgs: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # kind: kommune: ...
    orgs_in_fylke: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    orgs_all: dict[str, list[str]] = field(default_factory=dict)
    sector_of: dict[str, str] = field(default_factory=dict)  # pseudonym: sector
    initiatives: list[Initiative] = field(default_factory=list)


async def load_world(conn: asyncpg.Connection) -> World:
    kommuner = [
        Kommune(r["kommunenummer"], r["fylkesnummer"], r["name"], max(r["population"] or 0, 50))
        for r in await conn.fetch(
            "SELECT kommunenummer, fylkesnummer, name, population FROM kommuner "
            "ORDER BY kommunenummer"
        )
    ]
    total = sum(k.population for k in kommuner)
    cum = list(itertools.accumulate(k.population / total for k in kommuner))
    revision = await conn.fetchval("SELECT max(revision) FROM impact_factor_revisions")
    if revision is None:
        raise SystemExit("no impact factors: run python -m app.cli load-reference first")
    factors = {
        r["key"]: r["factor"]
        for r in await conn.fetch(
            "SELECT key, factor FROM impact_factors WHERE revision = $1", revision
        )
    }
    factor_of: dict[str, tuple[Decimal, Decimal] | None] = {}
    ords_of: dict[str, int] = {}
    # The nearest ancestor's factor category and ORDS category, as the services look them up.
    for r in await conn.fetch(
        "SELECT c.slug, (SELECT a.reuse_factor_category FROM categories AS a "
        "WHERE a.slug = ANY (c.path) AND a.reuse_factor_category IS NOT NULL "
        "ORDER BY cardinality(a.path) DESC LIMIT 1) AS factor_category, "
        "(SELECT a.ords_category_id FROM categories AS a WHERE a.slug = ANY (c.path) "
        "AND a.ords_category_id IS NOT NULL ORDER BY cardinality(a.path) DESC LIMIT 1) AS ords "
        "FROM categories AS c"
    ):
        fc = r["factor_category"]
        weight, co2e = factors.get(f"item_weight:{fc}"), factors.get(f"item_co2e:{fc}")
        factor_of[r["slug"]] = (
            (weight, co2e * factors["displacement"])
            if weight is not None and co2e is not None
            else None
        )
        ords_of[r["slug"]] = r["ords"] or 18  # 18 = Misc, as a transaction's repair gets
    ewc = {
        r["code"]: (r["chapter"], r["hazardous"])
        for r in await conn.fetch(
            "SELECT code, chapter, hazardous FROM ewc_codes WHERE code = ANY ($1::text[])",
            [m[0] for m in MATERIALS],
        )
    }
    missing = [m[0] for m in MATERIALS if m[0] not in ewc]
    if missing:
        raise SystemExit(f"EWC codes missing from ewc_codes: {missing}")
    key = await conn.fetchval("SELECT key FROM privacy_keys WHERE name = 'evidence_party'")
    return World(
        kommuner=kommuner,
        kommune_cum=cum,
        fylke_of={k.nr: k.fylke for k in kommuner},
        factor_of=factor_of,
        ords_of=ords_of,
        revision=revision,
        wrap=factors["reuse_by_weight_co2e"],
        ewc_chapter=ewc,
        key=bytes(key),
    )


class Weighted:
    """Weighted choice by bisection over cumulative weights (random.choices per call would
    rebuild them every time)."""

    def __init__(self, items: Sequence[tuple[Any, float]]) -> None:
        self.values = [v for v, _ in items]
        self.cum = list(itertools.accumulate(w for _, w in items))
        self.total = self.cum[-1]

    def __call__(self, rng: random.Random) -> Any:
        return self.values[bisect.bisect_right(self.cum, rng.random() * self.total)]


def _kommune(world: World, rng: random.Random) -> Kommune:
    return world.kommuner[
        bisect.bisect_right(world.kommune_cum, rng.random() * world.kommune_cum[-1])
    ]


def make_households(world: World, rng: random.Random, count: int) -> None:
    """Households in kommuner drawn by population; pseudonyms as ``sirkel_party('person', id)``
    computes them with the database's key."""
    by_kommune: dict[str, list[str]] = {k.nr: [] for k in world.kommuner}
    for _ in range(count):
        k = _kommune(world, rng)
        person = _uuid(rng.getrandbits(128))
        digest = hashlib.sha256(world.key + f"person:{person}".encode()).hexdigest()
        pseudonym = "p_" + digest[:32]
        by_kommune[k.nr].append(pseudonym)
        world.household_ids.append((person, pseudonym))
        world.sector_of[pseudonym] = "households"
    world.households = by_kommune


def _org_rows(world: World, rng: random.Random, count: int) -> list[tuple[Any, ...]]:
    patterns: dict[str, list[str]] = {}
    for kind, pattern in vocabulary.ORGANIZATIONS:
        patterns.setdefault(kind, []).append(pattern)
    created = datetime(2021, 6, 1, tzinfo=UTC)
    rows: list[tuple[Any, ...]] = []
    kinds = Weighted(ORGANIZATION_KINDS)
    for n in range(count):
        if n < len(world.kommuner):
            k, kind = world.kommuner[n], "municipality"
            name = f"{k.name} kommune"
        else:
            k, kind = _kommune(world, rng), kinds(rng)
            name = f"{rng.choice(patterns[kind]).format(k.name)} {n}"
        rows.append(
            (
                _uuid(rng.getrandbits(128)),
                name[:200],
                kind,
                str(800_000_000 + n),
                k.nr,
                "Benchmark organization",
                created,
                created,
            )
        )
    return rows


async def make_organizations(
    conn: asyncpg.Connection, world: World, rng: random.Random, count: int
) -> None:
    """Organizations as rows (without members: the owner check is a trigger, skipped in
    replica mode) and their pseudonyms by the migration's own statement."""
    rows = _org_rows(world, rng, count)
    async with conn.transaction():
        await conn.execute("SET LOCAL session_replication_role = replica")
        await conn.copy_records_to_table(
            "organizations",
            records=[(uuid.UUID(r[0]), *r[1:]) for r in rows],
            columns=[
                "id",
                "name",
                "kind",
                "organisasjonsnummer",
                "kommunenummer",
                "description",
                "created_at",
                "updated_at",
            ],
        )
        await conn.execute(
            "INSERT INTO organization_parties (party, organization_id, kind) "
            "SELECT sirkel_party('organization', o.id), o.id, o.kind FROM organizations AS o"
        )
    for r in await conn.fetch(
        "SELECT p.party, o.kind, o.sector, o.kommunenummer FROM organization_parties AS p "
        "JOIN organizations AS o ON o.id = p.organization_id ORDER BY o.organisasjonsnummer"
    ):
        world.sector_of[r["party"]] = r["sector"]
        world.orgs.setdefault(r["kind"], {}).setdefault(r["kommunenummer"], []).append(r["party"])
        world.orgs_in_fylke.setdefault(r["kind"], {}).setdefault(
            world.fylke_of[r["kommunenummer"]], []
        ).append(r["party"])
        world.orgs_all.setdefault(r["kind"], []).append(r["party"])


async def make_initiatives(
    conn: asyncpg.Connection, world: World, rng: random.Random, count: int
) -> None:
    """Initiatives owned by organizations, in one to three kommuner, some with partners from
    other sectors (the trigger records those collaborations; the rebuild recomputes them)."""
    orgs = await conn.fetch(
        "SELECT id, kind, kommunenummer FROM organizations ORDER BY organisasjonsnummer"
    )
    by_kind: dict[str, list[asyncpg.Record]] = {}
    for o in orgs:
        by_kind.setdefault(o["kind"], []).append(o)
    owners = Weighted(
        [("municipality", 0.4), ("civil_society", 0.3), ("company", 0.2), ("public_agency", 0.1)]
    )
    first, last = date(2022, 1, 1), date(2025, 12, 1)
    initiatives: list[tuple[Any, ...]] = []
    kommuner: list[tuple[str, str]] = []
    partners: list[tuple[Any, ...]] = []
    for n in range(count):
        owner = rng.choice(by_kind[owners(rng)])
        starts = first + timedelta(days=rng.randrange((last - first).days))
        ends = starts + timedelta(days=rng.randrange(180, 900)) if rng.random() < 0.3 else None
        created = datetime.combine(starts, clock(9), tzinfo=OSLO)
        ident = _uuid(rng.getrandbits(128))
        places = [owner["kommunenummer"]]
        for _ in range(rng.randrange(3)):
            extra = _kommune(world, rng).nr
            if extra not in places:
                places.append(extra)
        initiatives.append(
            (
                ident,
                f"Initiativ {n + 1}: sirkulært {rng.choice(['lag', 'nabolag', 'samarbeid'])}",
                rng.choice(INITIATIVE_KINDS),
                owner["id"],
                starts,
                ends,
                created,
                created,
            )
        )
        kommuner.extend((ident, k) for k in places)
        others = [o for o in orgs if o["kind"] != owner["kind"]]
        for partner in rng.sample(others, rng.randrange(4)):
            partners.append((ident, partner["id"], created + timedelta(days=rng.randrange(1, 120))))
        world.initiatives.append(
            Initiative(
                ident,
                places,
                _us(created),
                _us(datetime.combine(ends, clock(0), tzinfo=OSLO)) if ends else None,
            )
        )
    await conn.executemany(
        "INSERT INTO initiatives (id, name, kind, owner_organization_id, starts_on, ends_on, "
        "created_at, updated_at) VALUES ($1::uuid, $2, $3, $4, $5, $6, $7, $8)",
        initiatives,
    )
    await conn.executemany(
        "INSERT INTO initiative_kommuner (initiative_id, kommunenummer) VALUES ($1::uuid, $2)",
        kommuner,
    )
    await conn.executemany(
        "INSERT INTO initiative_partners (initiative_id, organization_id, added_at) "
        "VALUES ($1::uuid, $2, $3)",
        partners,
    )


# --- the records ----------------------------------------------------------------------------


class Generator:
    """Draws subjects day by day and yields their records, and their follow-ups, as COPY
    lines in the order the ledger would have appended them."""

    def __init__(self, world: World, rng: random.Random, size: int) -> None:
        self.world = world
        self.rng = rng
        self.size = size
        self.ledger = Ledger()
        self.types = Weighted(TYPE_SHARES)
        self.repair_sources = Weighted(REPAIR_SOURCES)
        self.repair_statuses = Weighted(REPAIR_STATUSES)
        self.follow_ups = Weighted([*FOLLOW_UPS, ("", 1 - sum(w for _, w in FOLLOW_UPS))])
        items = [(s, float(w)) for s, (w, _) in vocabulary.ITEM_CATEGORIES.items()]
        self.items = Weighted([(s, w) for s, w in items if s in world.factor_of])
        self.lent = Weighted([(s, float(w)) for s, w in LENT.items() if s in world.factor_of])
        self.repaired = Weighted(
            [(s, w) for s, w in items if s in world.factor_of and world.ords_of[s] != 18]
        )
        self.materials = Weighted([(m, m[3]) for m in MATERIALS])
        self.parties = {
            kind: (
                Weighted(_shares(providers)),
                Weighted(_shares(receivers)) if receivers else None,
            )
            for kind, (providers, receivers) in PARTIES.items()
        }
        self.initiatives = (
            Weighted([(i, 1 / (n + 1) ** 0.8) for n, i in enumerate(world.initiatives)])
            if world.initiatives
            else None
        )
        self.pending: list[tuple[int, int, str, Subject]] = []
        self.tie = itertools.count()
        self.day_start: dict[date, int] = {}

    # -- parties --

    def _household(self, kommune: str) -> str:
        rng = self.rng
        if rng.random() >= 0.85:
            kommune = _kommune(self.world, rng).nr
        people = self.world.households[kommune]
        while not people:
            people = self.world.households[_kommune(self.world, rng).nr]
        # A few households are far more active than most (density ~ 1/sqrt).
        return people[int(len(people) * rng.random() ** 2)]

    def _organization(self, kind: str, kommune: str) -> str:
        w = self.world
        found = w.orgs.get(kind, {}).get(kommune) or w.orgs_in_fylke.get(kind, {}).get(
            w.fylke_of[kommune]
        )
        return self.rng.choice(found or w.orgs_all[kind])

    def _party(self, kind: str, kommune: str) -> str:
        return self._household(kommune) if kind == "H" else self._organization(kind, kommune)

    def _pair(self, key: str, kommune: str) -> tuple[str, str | None]:
        providers, receivers = self.parties[key]
        provider = self._party(providers(self.rng), kommune)
        if receivers is None:
            return provider, None
        for _ in range(5):
            receiver = self._party(receivers(self.rng), kommune)
            if receiver != provider:
                return provider, receiver
        return provider, None if receiver == provider else receiver

    # -- figures --

    def _reuse_impact(
        self, category: str, items: int, weight: int | None
    ) -> tuple[int | None, int | None, int | None]:
        """(kg, CO2e, revision) as ``app.services.impact.factors.reuse_impact`` computes them."""
        factor = self.world.factor_of.get(category)
        if factor is not None:
            return (
                _milli(factor[0] * items),
                _milli(factor[1] * items),
                self.world.revision,
            )
        if weight is not None:
            kg = Decimal(weight * items) / 1000
            return _milli(kg), _milli(kg * self.world.wrap), self.world.revision
        return None, None, None

    def _material_impact(self, quantity: int, unit: str) -> tuple[int | None, int | None]:
        kg = {"kg": quantity, "t": quantity * 1000}.get(unit)
        if kg is None:
            return None, None
        return kg, _milli(Decimal(kg) / 1000 * self.world.wrap)

    def _repair_impact(self, category: str, status: str) -> tuple[int | None, int | None]:
        factor = self.world.factor_of.get(category)
        if status != "Fixed" or factor is None:
            return None, None
        return _milli(factor[0]), _milli(factor[1])

    def _days(self, low_hours: float, high_days: float) -> int:
        seconds = math.exp(
            self.rng.uniform(math.log(low_hours * 3600), math.log(high_days * 86400))
        )
        return _milli(Decimal(int(seconds)) / Decimal(86400))

    def _log_uniform(self, low: float, high: float) -> float:
        return math.exp(self.rng.uniform(math.log(low), math.log(high)))

    # -- subjects --

    def subject(self, recorded: int) -> tuple[Subject, str, int, bool]:
        """A new subject at ``recorded``: (subject, event, occurred, is a transaction)."""
        rng, w = self.rng, self.world
        kind = self.types(rng)
        kommune = _kommune(w, rng).nr
        initiative: str | None = None
        if self.initiatives is not None and rng.random() < INITIATIVE_SHARE:
            chosen: Initiative = self.initiatives(rng)
            if chosen.starts <= recorded and (chosen.ends is None or recorded < chosen.ends):
                initiative = chosen.id
                kommune = rng.choice(chosen.kommuner)
        fylke = w.fylke_of[kommune]
        tx: str | None = _uuid(rng.getrandbits(128))
        repair: str | None = None
        category: str | None = None
        ewc: str | None = None
        ords: int | None = None
        status: str | None = None
        unit: str | None = None
        revision: int | None = None
        q = d = kg = co2e = None
        basis: tuple[str, Any] = ("none", None)
        event, grade = "completed", "reported"
        occurred = recorded - rng.randrange(2_000, 40_000)
        listing_kind = "item"
        key = kind
        if kind == "reuse":
            category = self.items(rng)
            items = 1 if rng.random() < 0.85 else rng.randrange(2, 6)
            weight = rng.randrange(500, 40_000) if rng.random() < 0.3 else None
            q, unit = items * 1000, "pcs"
            kg, co2e, revision = self._reuse_impact(category, items, weight)
            basis = ("reuse", (category, weight))
        elif kind in ("loan", "rental"):
            if kind == "rental" and rng.random() < 0.2:
                listing_kind, key = "space", "rental_space"
                q, unit = rng.randrange(10, 301) * 1000, "m2"
                d = self._days(4, 90)
            else:
                category = self.lent(rng)
                d = self._days(2, 21 if kind == "loan" else 30)
        elif kind == "space_share":
            listing_kind = "space"
            q, unit = rng.randrange(5, 501) * 1000, "m2"
            d = self._days(2, 30)
        elif kind == "material_exchange":
            listing_kind = "material"
            code, unit, category, _, low, high = self.materials(rng)
            ewc = code
            amount = self._log_uniform(low, high)
            q = int(amount) * 1000 if unit == "pcs" else _milli(Decimal(f"{amount:.1f}"))
            kg, co2e = self._material_impact(q, unit)
            revision = w.revision if kg is not None else None
            basis = ("material", unit)
        elif kind == "energy_exchange":
            listing_kind = "energy"
            q, unit = _milli(Decimal(f"{self._log_uniform(0.5, 300):.3f}")), "mwh"
            basis = ("energy", None)
        else:  # repair
            listing_kind = "repair_service"
            source = self.repair_sources(rng)
            category = self.repaired(rng)
            ords = w.ords_of[category]
            status = self.repair_statuses(rng)
            kg, co2e = self._repair_impact(category, status)
            revision = w.revision if kg is not None else None
            repair = _uuid(rng.getrandbits(128))
            basis = ("repair", category)
            if source != "transaction":
                tx, key = None, f"repair_{source}"
                day = datetime.fromtimestamp(recorded / 1e6, tz=OSLO).date() - timedelta(
                    days=rng.randrange(3 if source == "logged" else 60)
                )
                occurred = max(self._start_of_day(day), self._start_of_day(FIRST_DAY))
                event = "logged" if source == "logged" else "imported"
                grade = "reported" if source == "logged" else "imported"
                if source == "imported":
                    kommune = fylke = ""  # an ORDS file names no kommune
        provider, receiver = self._pair(key, kommune or _kommune(w, rng).nr)
        values = (
            kind,
            subgoal_of(TransactionType(kind), listing_kind).value,
            tx,
            repair,
            provider,
            w.sector_of[provider],
            receiver,
            None if receiver is None else w.sector_of[receiver],
            kommune or None,
            fylke or None,
            category,
            ewc,
            ords,
            status,
            unit,
            revision,
            initiative,
            False,  # matched: the generated exchanges did not start from a match
            "NOR",
        )
        subject = Subject(Static.of(values), (q, d, kg, co2e), grade, basis)
        return subject, event, occurred, tx is not None

    def _start_of_day(self, day: date) -> int:
        if day not in self.day_start:
            self.day_start[day] = _us(datetime.combine(day, clock(0), tzinfo=OSLO))
        return self.day_start[day]

    def _corrected(self, s: Subject) -> tuple[Static, Figures]:
        """The figures a moderator's correction restates (``_corrected_figures``)."""
        rng = self.rng
        q, d, _, _ = s.figures
        kind, arg = s.basis
        if kind == "repair":
            status = "Repairable" if s.static.values[_STATUS] == "Fixed" else "Fixed"
            kg, co2e = self._repair_impact(arg, status)
            revision = self.world.revision if kg is not None else None
            return s.static.changed(repair_status=status, factor_revision=revision), (
                q,
                d,
                kg,
                co2e,
            )
        if q is None or kind == "none":
            return s.static, s.figures
        if kind == "reuse":
            items = max(1, q // 1000 + rng.choice((-1, 1)))
            kg, co2e, _ = self._reuse_impact(arg[0], items, arg[1])
            return s.static, (items * 1000, d, kg, co2e)
        new_q = max(1, q * rng.randrange(50, 151) // 100)
        if kind == "material" and arg == "pcs":
            new_q = max(1000, new_q // 1000 * 1000)
        kg, co2e = self._material_impact(new_q, arg) if kind == "material" else (None, None)
        return s.static, (new_q, d, kg, co2e)

    def _schedule(self, at: int, what: str, s: Subject) -> None:
        heapq.heappush(self.pending, (at, next(self.tie), what, s))

    def _follow_up(self, at: int, what: str, s: Subject) -> Iterator[str]:
        """The records the services append when a transaction is confirmed, disputed,
        upheld or corrected (app.services.transaction.act_on_transaction)."""
        led, occurred = self.ledger, at - self.rng.randrange(2_000, 40_000)
        if what == "upheld":
            # Restates the last positive record, graded confirmed.
            yield led.record(
                s.static,
                event="upheld",
                grade="confirmed",
                count=1,
                figures=s.figures,
                occurred=occurred,
                recorded=at,
            )
            s.counted = led.seq
            return
        event = {"confirm": "confirmed", "dispute": "disputed", "correct": "corrected"}[what]
        yield led.record(
            s.static,
            event=event,
            grade=s.grade,
            count=-1,
            figures=_negated(s.figures),
            occurred=occurred,
            recorded=at,
            compensates=s.counted,
        )
        if what == "confirm":
            s.grade = "confirmed"
            yield led.record(
                s.static,
                event=event,
                grade="confirmed",
                count=1,
                figures=s.figures,
                occurred=occurred,
                recorded=at + 300,
            )
            s.counted = led.seq
        elif what == "correct":
            static, figures = self._corrected(s)
            yield led.record(
                static,
                event=event,
                grade=s.grade,
                count=1,
                figures=figures,
                occurred=occurred,
                recorded=at + 300,
            )
            s.static, s.figures, s.counted = static, figures, led.seq
        elif self.rng.random() < UPHELD_SHARE:
            self._schedule(at + int(self._log_uniform(2, 20) * 86_400e6), "upheld", s)

    def _day_weights(self) -> list[tuple[date, float]]:
        span = (END_DAY - FIRST_DAY).days
        weights = []
        for n in range(span):
            day = FIRST_DAY + timedelta(days=n)
            growth = 1 + 3 * n / span
            weekend = 1.25 if day.weekday() >= 5 else 1.0
            weights.append((day, growth * MONTH_SEASON[day.month - 1] * weekend))
        return weights

    def lines(self) -> Iterator[str]:
        """Every record's COPY line, in ``seq`` order, until ``size`` records."""
        rng, led = self.rng, self.ledger
        follow_share = sum(w for _, w in FOLLOW_UPS)
        per_tx = (
            1
            + 2 * FOLLOW_UPS[0][1]
            + FOLLOW_UPS[1][1] * (1 + UPHELD_SHARE)
            + 2 * (FOLLOW_UPS[2][1])
        )
        repair_share = dict(TYPE_SHARES)["repair"] * (1 - REPAIR_SOURCES[0][1])
        per_subject = repair_share + (1 - repair_share) * per_tx
        subjects = self.size / per_subject * 1.01
        assert follow_share < 1
        days = self._day_weights()
        total = sum(w for _, w in days)
        carry = 0.0
        for day, weight in days:
            wanted = subjects * weight / total + carry
            n = int(wanted)
            carry = wanted - n
            # Recorded between 06:00 and 23:00 Norwegian time.
            lo = _us(datetime.combine(day, clock(6), tzinfo=OSLO))
            hi = _us(datetime.combine(day, clock(23), tzinfo=OSLO))
            for at in sorted(rng.randrange(lo, hi) for _ in range(n)):
                while self.pending and self.pending[0][0] < at:
                    due, _, what, s = heapq.heappop(self.pending)
                    for line in self._follow_up(due, what, s):
                        yield line
                        if led.seq >= self.size:
                            return
                s, event, occurred, is_tx = self.subject(at)
                yield led.record(
                    s.static,
                    event=event,
                    grade=s.grade,
                    count=1,
                    figures=s.figures,
                    occurred=occurred,
                    recorded=at,
                )
                s.counted = led.seq
                if led.seq >= self.size:
                    return
                what = self.follow_ups(rng) if is_tx else ""
                if what == "correct" and s.basis[0] == "none":
                    what = ""  # a booking has no delivered quantity to correct
                if what:
                    hours = self._log_uniform(0.5, 24 * (30 if what == "correct" else 7))
                    self._schedule(at + int(hours * 3_600e6), what, s)
        raise SystemExit(f"only {led.seq} records by {END_DAY}; raise the subjects' margin")


# --- the run --------------------------------------------------------------------------------


async def prepare_database(database: str) -> None:
    """The benchmark cluster, a fresh database, the schema and the reference data."""
    cluster.start(fresh=False)
    conn = await asyncpg.connect(dsn("postgres"))
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        await conn.execute(f"CREATE DATABASE {database}")
    finally:
        await conn.close()
    env = {**os.environ, "SIRKEL_DATABASE__URL": app_url(database)}
    for command in (["alembic", "upgrade", "head"], ["app.cli", "load-reference"]):
        # Blocking is fine here: nothing else runs on the loop yet.
        subprocess.run(  # noqa: ASYNC221
            [sys.executable, "-m", *command],
            check=True,
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
        )


async def _copy_evidence(conn: asyncpg.Connection, gen: Generator, started: float) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        batch: list[str] = []
        for line in gen.lines():
            batch.append(line)
            if len(batch) == 5000:
                batch.append("")
                yield "\n".join(batch).encode()
                batch = []
                if gen.ledger.seq % 1_000_000 == 0:
                    _log(f"{gen.ledger.seq:,} records", started)
        if batch:
            batch.append("")
            yield "\n".join(batch).encode()

    await conn.copy_to_table("evidence", source=chunks(), columns=COPY_COLUMNS, format="text")


async def verify_sample(conn: asyncpg.Connection, size: int, world: World) -> dict[str, Any]:
    """1,000 consecutive records at five places: hash and link as the database computes
    them, and a few household pseudonyms against ``sirkel_party``."""
    checked = bad = 0
    for start in sorted({1, size // 4, size // 2, 3 * size // 4, max(1, size - 999)}):
        row = await conn.fetchrow(
            "SELECT count(*) AS n, count(*) FILTER (WHERE e.hash <> sha256(e.prev_hash || "
            "convert_to(sirkel_evidence_canonical(e), 'UTF8')) OR e.prev_hash <> "
            "coalesce(p.hash, decode(repeat('00', 32), 'hex'))) AS bad "
            "FROM evidence AS e LEFT JOIN evidence AS p ON p.seq = e.seq - 1 "
            "WHERE e.seq BETWEEN $1 AND $2",
            start,
            start + 999,
        )
        checked += row["n"]
        bad += row["bad"]
    if bad or not checked:
        raise SystemExit(f"the generated chain is broken: {bad} of {checked} records")
    for person, pseudonym in world.household_ids[:: max(1, len(world.household_ids) // 7)]:
        if await conn.fetchval("SELECT sirkel_party('person', $1::uuid)", person) != pseudonym:
            raise SystemExit("household pseudonyms differ from sirkel_party")
    return {"records_checked": checked, "broken": bad}


def _engine(database: str) -> AsyncEngine:
    """The app's own engine (jit off, UTC), without the statement timeout."""
    return create_engine(
        DatabaseSettings(
            url=SecretStr(app_url(database)), statement_timeout_ms=0, pool_size=1, max_overflow=0
        )
    )


async def rebuild(database: str) -> float:
    """``ImpactRollupRepository.rebuild()``, with memory for its sorts; its seconds."""
    engine = _engine(database)
    try:
        async with create_sessionmaker(engine)() as session:
            await session.execute(text("SET work_mem = '1GB'"))
            t0 = time.perf_counter()
            await ImpactRollupRepository(session).rebuild()
            await session.commit()
            return time.perf_counter() - t0
    finally:
        await engine.dispose()


async def verify_all(database: str) -> dict[str, Any]:
    """What ``GET /v1/evidence/verify`` runs (``EvidenceRepository.verify``: every hash and
    link, in one statement), timed; a break stops the run."""
    engine = _engine(database)
    try:
        async with create_sessionmaker(engine)() as session:
            t0 = time.perf_counter()
            result = await EvidenceRepository(session).verify()
            seconds = time.perf_counter() - t0
    finally:
        await engine.dispose()
    if result["first_broken_seq"] is not None:
        raise SystemExit(f"GET /v1/evidence/verify finds a break: {result}")
    return {
        "verify_all_s": round(seconds, 1),
        "verify_all": {k: v for k, v in result.items() if k != "head_hash"},
    }


async def verify_existing(size: int) -> None:
    """``--verify-existing``: the full verification of a ledger generated earlier, recorded
    in its ``impact-gen-N.json``."""
    path = RESULTS / f"impact-gen-{size}.json"
    summary = json.loads(path.read_text())
    found = await verify_all(database_for(size))
    summary["timings"]["verify_all_s"] = found["verify_all_s"]
    summary["verify_all"] = found["verify_all"]
    path.write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(found))


async def generate(
    *,
    size: int,
    seed: int,
    households: int,
    organizations: int,
    initiatives: int,
    full_verification: bool,
) -> dict[str, Any]:
    started = time.monotonic()
    timings: dict[str, float] = {}
    mark = time.monotonic()
    database = database_for(size)
    await prepare_database(database)
    timings["schema_and_reference_s"] = time.monotonic() - mark
    _log(f"fresh {database}: alembic upgrade head, load-reference", started)
    rng = random.Random(seed)
    conn = await asyncpg.connect(dsn(database))
    try:
        await conn.execute("SET maintenance_work_mem = '1GB'; SET work_mem = '256MB'")
        mark = time.monotonic()
        world = await load_world(conn)
        make_households(world, rng, households)
        await make_organizations(conn, world, rng, organizations)
        await make_initiatives(conn, world, rng, initiatives)
        timings["parties_s"] = time.monotonic() - mark
        _log(
            f"{households:,} households, {organizations:,} organizations, "
            f"{initiatives} initiatives",
            started,
        )
        # Secondary indexes are rebuilt after the load (the primary key stays: compensates
        # references it); triggers and foreign keys are off for this session only.
        indexes = await conn.fetch(
            "SELECT c.relname AS name, pg_get_indexdef(i.indexrelid) AS sql FROM pg_index AS i "
            "JOIN pg_class AS c ON c.oid = i.indexrelid WHERE i.indrelid = 'evidence'::regclass "
            "AND NOT i.indisprimary"
        )
        for index in indexes:
            await conn.execute(f'DROP INDEX "{index["name"]}"')
        mark = time.monotonic()
        gen = Generator(world, rng, size)
        async with conn.transaction():
            await conn.execute("SET LOCAL session_replication_role = replica")
            await _copy_evidence(conn, gen, started)
        timings["load_s"] = time.monotonic() - mark
        _log(f"{gen.ledger.seq:,} records chained and copied", started)
        mark = time.monotonic()
        for index in indexes:
            await conn.execute(index["sql"])
        timings["indexes_s"] = time.monotonic() - mark
        _log(f"{len(indexes)} secondary indexes built", started)
        mark = time.monotonic()
        chain = await verify_sample(conn, size, world)
        timings["verify_sample_s"] = time.monotonic() - mark
        _log(f"chain checked on {chain['records_checked']:,} records", started)
        await conn.execute("VACUUM (ANALYZE) evidence")
    finally:
        await conn.close()
    timings["rebuild_s"] = await rebuild(database)
    _log(f"rollups rebuilt in {timings['rebuild_s']:.0f} s", started)
    verified: dict[str, Any] = {}
    if full_verification:
        verified = await verify_all(database)
        timings["verify_all_s"] = verified.pop("verify_all_s")
        _log(f"full chain verification: {timings['verify_all_s']:.0f} s", started)
    conn = await asyncpg.connect(dsn(database))
    try:
        mark = time.monotonic()
        for table in ("impact_cells", "impact_parties", "impact_collaborations", "organizations"):
            await conn.execute(f"VACUUM (ANALYZE) {table}")
        timings["vacuum_analyze_s"] = time.monotonic() - mark
    finally:
        await conn.close()
    timings["total_s"] = time.monotonic() - started
    _log("VACUUM (ANALYZE); done", started)
    led = gen.ledger
    by_type: Counter[str] = Counter()
    by_event: Counter[str] = Counter()
    by_grade: Counter[str] = Counter()
    for (kind, ev, grade, count), n in led.events.items():
        by_type[kind] += n
        by_event[ev] += n
        by_grade[f"{grade} {'+' if count > 0 else '-'}"] += n
    summary = {
        "size": size,
        "database": database,
        "seed": seed,
        "households": households,
        "organizations": organizations,
        "initiatives": initiatives,
        "records": led.seq,
        "compensations": led.compensations,
        "tagged": led.tagged,
        "by_type": dict(by_type.most_common()),
        "by_event": dict(by_event.most_common()),
        "by_grade": dict(sorted(by_grade.items())),
        "last_recorded": _utc(led.last_recorded),
        "chain": chain,
        "timings": {k: round(v, 1) for k, v in timings.items()},
        **verified,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"impact-gen-{size}.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=DEFAULT_SIZE)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--households", type=int, help="default: 400,000 per 10M records")
    parser.add_argument("--organizations", type=int, help="default: 15,000 per 10M records")
    parser.add_argument("--initiatives", type=int, default=50)
    parser.add_argument(
        "--verify-all", action="store_true", help="also time GET /v1/evidence/verify's query"
    )
    parser.add_argument(
        "--verify-existing",
        action="store_true",
        help="only time GET /v1/evidence/verify's query on the ledger generated before",
    )
    args = parser.parse_args(argv)
    if args.verify_existing:
        asyncio.run(verify_existing(args.size))
        return 0
    scale = args.size / DEFAULT_SIZE
    summary = asyncio.run(
        generate(
            size=args.size,
            seed=args.seed,
            households=args.households or max(5_000, round(400_000 * scale)),
            organizations=args.organizations or max(1_500, round(15_000 * scale)),
            initiatives=args.initiatives,
            full_verification=args.verify_all,
        )
    )
    print(json.dumps(summary["timings"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
