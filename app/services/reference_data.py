"""Loading the shipped reference data (``data/``) into the database, idempotently.

Each dataset is recorded with the SHA-256 of its file; a dataset whose file is unchanged is
skipped, so ``make run`` costs nothing on the second start. Loading is an upsert, in the
caller's transaction: a failure half-way leaves the previous data in place.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from app.repositories.geography import GeographyRepository
from app.repositories.reference import ReferenceDatasetRepository

FYLKER_FILE = "fylker_2024.geojson"
KOMMUNER_FILE = "kommuner_2024.geojson"
POPULATION_FILE = "kommune_population.csv"

GEOGRAPHY_DATASET = "geography_2024"
POPULATION_DATASET = "kommune_population"


class ReferenceDataError(Exception):
    """A reference file is missing or does not have the expected shape."""


@dataclass
class LoadReport:
    loaded: dict[str, int] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise ReferenceDataError(f"reference file missing: {path}") from exc


def _features(raw: bytes, *, name: str, keys: tuple[str, ...]) -> list[dict[str, Any]]:
    doc = orjson.loads(raw)
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise ReferenceDataError(f"{name}: not a GeoJSON FeatureCollection")
    out = []
    for i, feature in enumerate(doc["features"]):
        props = feature.get("properties") or {}
        missing = [k for k in keys if not props.get(k)]
        if missing or feature.get("geometry") is None:
            raise ReferenceDataError(f"{name}: feature {i} lacks {missing or ['geometry']}")
        out.append(
            {
                **{k: str(props[k]) for k in keys},
                "geojson": orjson.dumps(feature["geometry"]).decode(),
            }
        )
    return out


async def load_reference_data(
    session: AsyncSession, *, data_dir: Path, force: bool = False
) -> LoadReport:
    report = LoadReport()
    datasets = ReferenceDatasetRepository(session)
    geography = GeographyRepository(session)

    fylker_raw = _read(data_dir / FYLKER_FILE)
    kommuner_raw = _read(data_dir / KOMMUNER_FILE)
    geo_sha = hashlib.sha256(
        hashlib.sha256(fylker_raw).digest() + hashlib.sha256(kommuner_raw).digest()
    ).hexdigest()
    geography_changed = force or await datasets.checksum(GEOGRAPHY_DATASET) != geo_sha
    if geography_changed:
        fylker = _features(fylker_raw, name=FYLKER_FILE, keys=("fylkesnummer", "fylkesnavn"))
        kommuner = _features(
            kommuner_raw,
            name=KOMMUNER_FILE,
            keys=("kommunenummer", "kommunenavn", "fylkesnummer"),
        )
        await geography.upsert_fylker(
            [
                {
                    "fylkesnummer": f["fylkesnummer"],
                    "name": f["fylkesnavn"],
                    "geojson": f["geojson"],
                }
                for f in fylker
            ]
        )
        await geography.upsert_kommuner(
            [
                {
                    "kommunenummer": k["kommunenummer"],
                    "name": k["kommunenavn"],
                    "fylkesnummer": k["fylkesnummer"],
                    "geojson": k["geojson"],
                }
                for k in kommuner
            ]
        )
        parts = await geography.rebuild_kommune_parts()
        await datasets.record(
            name=GEOGRAPHY_DATASET, sha256=geo_sha, row_count=len(fylker) + len(kommuner)
        )
        report.loaded["fylker"] = len(fylker)
        report.loaded["kommuner"] = len(kommuner)
        report.loaded["kommune_parts"] = parts
    else:
        report.skipped.append(GEOGRAPHY_DATASET)

    population_path = data_dir / POPULATION_FILE
    if population_path.exists():
        pop_raw = population_path.read_bytes()
        pop_sha = hashlib.sha256(pop_raw).hexdigest()
        if geography_changed or await datasets.checksum(POPULATION_DATASET) != pop_sha:
            rows = _population_rows(pop_raw)
            known = await geography.kommunenummer_set()
            unknown = sorted({r["kommunenummer"] for r in rows} - known)
            if unknown:
                raise ReferenceDataError(
                    f"{POPULATION_FILE}: kommuner not in the boundaries: {', '.join(unknown[:10])}"
                )
            await geography.set_population(rows)
            await datasets.record(name=POPULATION_DATASET, sha256=pop_sha, row_count=len(rows))
            report.loaded["population"] = len(rows)
        else:
            report.skipped.append(POPULATION_DATASET)
    await session.flush()
    return report


def _population_rows(raw: bytes) -> list[dict[str, Any]]:
    reader = csv.DictReader(io.StringIO(raw.decode("utf-8")))
    rows: list[dict[str, Any]] = []
    for line, rec in enumerate(reader, start=2):
        try:
            rows.append(
                {
                    "kommunenummer": rec["kommunenummer"].strip(),
                    "population": int(rec["population"]),
                    "year": int(rec["year"]),
                }
            )
        except (KeyError, ValueError, AttributeError) as exc:
            raise ReferenceDataError(f"{POPULATION_FILE}:{line}: {exc}") from exc
    return rows
