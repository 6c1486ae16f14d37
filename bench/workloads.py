"""The workloads of the benchmark and their seeded random parameters.

Every workload is a list of request paths per peer, drawn once from ``random.Random(SEED)``
and from rows of the benchmark database read in a fixed order, so two runs on the same data
send the same requests. wrk's Lua script (bench/wrk.lua) then picks among them at random, also
from a fixed seed.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from urllib.parse import quote

from bench.vocabulary import CITY_CENTRES

SEED = 7
SAMPLES = 500
TIPG_COLLECTION = "bench_tipg.listings"
GEOJSON = "application/geo+json"


@dataclass(frozen=True)
class Bar:
    """A bar of issue #7: a throughput ratio or a latency limit."""

    kind: str  # "vs_floor", "vs_tipg", "p99_ms", "p50_ms"
    value: float


@dataclass
class Workload:
    name: str
    title: str
    accept: str = ""
    paths: list[str] = field(default_factory=list)  # Sirkel's and the floor's
    tipg_paths: list[str] | None = None
    bars: tuple[Bar, ...] = ()
    # What pgbench runs: (kind, params) pairs for bench/run.py to build statements from.
    pgbench: list[dict[str, object]] = field(default_factory=list)
    # Concurrent connections for wrk and pgbench; None: BENCH_CONNECTIONS. A latency bar of
    # one request "end to end" is measured one request at a time, without queueing.
    connections: int | None = None


@dataclass(frozen=True)
class Places:
    """Rows of the benchmark database the parameters are drawn from."""

    medium: list[tuple[float, float]]  # kommune points of 15,000-60,000 inhabitants
    sparse: list[tuple[float, float]]  # kommune points of under 3,000 inhabitants
    listing_ids: list[str]  # active listings, ordered by id (a stable pseudo-random sample)


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return min(max(x, 0), n - 1), min(max(y, 0), n - 1)


def _box(lon: float, lat: float, half_lon: float, half_lat: float) -> str:
    return f"{lon - half_lon:.5f},{lat - half_lat:.5f},{lon + half_lon:.5f},{lat + half_lat:.5f}"


CATEGORIES = (
    "furniture",
    "clothing-and-textiles",
    "electronics",
    "children",
    "bikes",
    "sports-and-outdoors",
    "tools",
    "household-appliances",
)
WORDS = ("sykkel", "sofa", "barnevogn", "vinterjakke", "symask", "lego", "drill", "bøker")

_BBOX_BARS = (Bar("vs_floor", 0.8), Bar("vs_tipg", 3.0))
_RADIUS_BARS = (Bar("vs_floor", 0.8),)


def build(places: Places) -> list[Workload]:
    rng = random.Random(SEED)
    cities = list(CITY_CENTRES.values())
    oslo = CITY_CENTRES["0301"]

    def jitter(centre: tuple[float, float], d_lon: float, d_lat: float) -> tuple[float, float]:
        return centre[0] + rng.uniform(-d_lon, d_lon), centre[1] + rng.uniform(-d_lat, d_lat)

    workloads: list[Workload] = []
    for name, title, centres, d, half in (
        ("bbox_dense", "bbox page of 100, dense (central Oslo, ~2 km box)", [oslo], 0.04, 0.02),
        ("bbox_medium", "bbox page of 100, medium (towns, ~11 km box)", places.medium, 0.05, 0.1),
        ("bbox_sparse", "bbox page of 100, sparse (rural, ~28 km box)", places.sparse, 0.05, 0.25),
    ):
        w = Workload(name, title, accept=GEOJSON, tipg_paths=[], bars=_BBOX_BARS)
        for _ in range(SAMPLES):
            lon, lat = jitter(rng.choice(centres), d, d / 2)
            box = _box(lon, lat, half, half / 2)
            w.paths.append(f"/v1/listings?bbox={box}&limit=100")
            assert w.tipg_paths is not None
            w.tipg_paths.append(
                f"/collections/{TIPG_COLLECTION}/items?bbox={box}&limit=100&sortby=-published_at"
            )
        workloads.append(w)

    w = Workload("radius_category", "radius 5 km + category, newest first", bars=_RADIUS_BARS)
    for _ in range(SAMPLES):
        lon, lat = jitter(rng.choice(cities[:10]), 0.03, 0.015)
        category = rng.choice(CATEGORIES)
        w.paths.append(
            f"/v1/listings?lat={lat:.5f}&lon={lon:.5f}&radius_m=5000&category={category}"
            "&sort=newest&limit=20"
        )
    workloads.append(w)

    w = Workload(
        "nearest",
        "nearest 20 with distances, one request at a time",
        bars=(Bar("p50_ms", 10.0),),
        connections=1,
    )
    for _ in range(SAMPLES):
        lon, lat = jitter(rng.choice(cities), 0.05, 0.025)
        w.paths.append(f"/v1/listings?lat={lat:.5f}&lon={lon:.5f}&sort=distance&limit=20")
    workloads.append(w)

    w = Workload("search_text", "free-text search q, newest first, 20")
    for _ in range(SAMPLES):
        w.paths.append(f"/v1/listings?q={quote(rng.choice(WORDS))}&limit=20")
    workloads.append(w)

    for z, d, bars in (
        (14, 0.03, (Bar("vs_floor", 0.8), Bar("vs_tipg", 2.0))),
        (12, 0.1, ()),
    ):
        w = Workload(f"tiles_z{z}", f"vector tiles z{z} (points)", tipg_paths=[], bars=bars)
        for _ in range(SAMPLES):
            x, y = tile_of(*jitter(rng.choice(cities), d, d / 2), z)
            w.paths.append(f"/v1/tiles/listings/{z}/{x}/{y}.mvt")
            assert w.tipg_paths is not None
            w.tipg_paths.append(
                f"/collections/{TIPG_COLLECTION}/tiles/WebMercatorQuad/{z}/{x}/{y}"
                "?properties=id,kind,mode,category,title"
            )
        workloads.append(w)

    z8 = sorted({tile_of(lon, lat, 8) for lon, lat in cities + places.medium + places.sparse})
    w = Workload("tiles_z8", "vector tiles z8 (clusters)", bars=(Bar("p99_ms", 300.0),))
    w.paths = [f"/v1/tiles/listings/8/{x}/{y}.mvt" for x, y in z8]
    workloads.append(w)

    lo_x, hi_y = tile_of(4.5, 57.9, 5)
    hi_x, lo_y = tile_of(31.0, 71.2, 5)
    w = Workload("tiles_z5", "vector tiles z5 (clusters)", bars=(Bar("p99_ms", 300.0),))
    w.paths = [
        f"/v1/tiles/listings/5/{x}/{y}.mvt"
        for x in range(lo_x, hi_x + 1)
        for y in range(lo_y, hi_y + 1)
    ]
    workloads.append(w)

    w = Workload("listing_by_id", "single listing by id", tipg_paths=[])
    ids = places.listing_ids[:SAMPLES]
    w.paths = [f"/v1/listings/{i}" for i in ids]
    w.tipg_paths = [f"/collections/{TIPG_COLLECTION}/items/{i}" for i in ids]
    workloads.append(w)
    return workloads
