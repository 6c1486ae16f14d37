"""Loading the shipped reference data (``data/``) into the database, idempotently.

Each dataset is recorded with the SHA-256 of its file; a dataset whose file is unchanged is
skipped, so ``make run`` costs nothing on the second start. Loading is an upsert, in the
caller's transaction: a failure half-way leaves the previous data in place.

Order: geography, population, then the reuse factors and ORDS product categories, then the
category taxonomy that maps to both, then the European List of Waste (chapters and codes, one
dataset). Rows of those three lists are never deleted: categories
and, later, listings and evidence refer to them, so a row missing from an edited file is an
error (edit names and values freely; keep the keys).
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.category import (
    MAX_DEPTH,
    NAME_MAX_LENGTH,
    ORDS_MAX_ID,
    ORDS_MIN_ID,
    SLUG_MAX_LENGTH,
    SLUG_PATTERN,
)
from app.repositories.category import CategoryRepository
from app.repositories.geography import GeographyRepository
from app.repositories.reference import ReferenceDatasetRepository
from app.repositories.waste import WasteCodeRepository
from app.services.impact.factors import ensure_current_factors

FYLKER_FILE = "fylker_2024.geojson"
KOMMUNER_FILE = "kommuner_2024.geojson"
POPULATION_FILE = "kommune_population.csv"

REUSE_FACTORS_FILE = "reuse_factors.csv"
ORDS_CATEGORIES_FILE = "ords_product_categories.csv"
CATEGORIES_FILE = "categories.csv"
EWC_CHAPTERS_FILE = "ewc_chapters.csv"
EWC_CODES_FILE = "ewc_codes.csv"

GEOGRAPHY_DATASET = "geography_2024"
POPULATION_DATASET = "kommune_population"
REUSE_FACTORS_DATASET = "reuse_factors"
ORDS_CATEGORIES_DATASET = "ords_categories"
CATEGORIES_DATASET = "categories"
EWC_DATASET = "ewc_codes"
# Reported as loaded with the new revision number, or skipped when the set is unchanged.
IMPACT_FACTORS = "impact_factors"

_SLUG_RE = re.compile(SLUG_PATTERN)


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

    await _load_reuse_factors(session, data_dir=data_dir, force=force, report=report)
    await _load_ords_categories(session, data_dir=data_dir, force=force, report=report)
    await _load_categories(session, data_dir=data_dir, force=force, report=report)
    await _load_ewc(session, data_dir=data_dir, force=force, report=report)
    await session.flush()
    # The factor set is rebuilt from what is loaded now; a new revision only when it differs.
    revision = await ensure_current_factors(session, now=datetime.now(UTC))
    if revision is None:
        report.skipped.append(IMPACT_FACTORS)
    else:
        report.loaded[IMPACT_FACTORS] = revision
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


# --- CSV helpers ---------------------------------------------------------------------------


def _csv_records(raw: bytes, *, name: str, columns: tuple[str, ...]) -> list[dict[str, str]]:
    """The rows of a UTF-8 CSV whose header is exactly ``columns`` (in any order), stripped;
    each with its line number under ``"_line"``."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ReferenceDataError(f"{name}: not UTF-8 ({exc.reason} at byte {exc.start})") from exc
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = reader.fieldnames or []
    if sorted(header) != sorted(columns):
        found = ", ".join(header) or "none"
        raise ReferenceDataError(
            f"{name}: expected the columns {', '.join(columns)}; found {found}"
        )
    rows: list[dict[str, str]] = []
    for rec in reader:
        line = reader.line_num
        if None in rec or any(v is None for v in rec.values()):
            raise ReferenceDataError(f"{name}:{line}: expected {len(columns)} fields")
        rows.append({"_line": str(line), **{k: v.strip() for k, v in rec.items()}})
    return rows


def _sha256(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def _refuse_removed(*, name: str, what: str, loaded: set[Any], in_file: set[Any]) -> None:
    removed = sorted(loaded - in_file, key=str)
    if removed:
        shown = ", ".join(repr(r) for r in removed[:10]) + (" …" if len(removed) > 10 else "")
        raise ReferenceDataError(
            f"{name}: {len(removed)} {what} already loaded but missing from the file: {shown}. "
            f"Other data refers to them, so they are never deleted; put them back (names and "
            f"values may change, keys may not)."
        )


def _float(value: str, *, where: str, column: str) -> float:
    try:
        number = float(value)
    except ValueError as exc:
        raise ReferenceDataError(f"{where}: {column} {value!r} is not a number") from exc
    if not math.isfinite(number):
        raise ReferenceDataError(f"{where}: {column} {value!r} is not a finite number")
    return number


def _int(value: str, *, where: str, column: str) -> int:
    try:
        return int(value)
    except ValueError as exc:
        raise ReferenceDataError(f"{where}: {column} {value!r} is not an integer") from exc


# --- reuse factors and ORDS product categories ---------------------------------------------


def _reuse_factor_rows(raw: bytes) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    first_line: dict[str, str] = {}
    for rec in _csv_records(
        raw,
        name=REUSE_FACTORS_FILE,
        columns=("category", "avg_weight_kg", "co2e_kg_per_item", "source"),
    ):
        where = f"{REUSE_FACTORS_FILE}:{rec['_line']}"
        category = rec["category"]
        if not 1 <= len(category) <= NAME_MAX_LENGTH:
            raise ReferenceDataError(f"{where}: category must have 1 to 100 characters")
        if category in first_line:
            raise ReferenceDataError(
                f"{where}: category {category!r} appears twice (first on line "
                f"{first_line[category]})"
            )
        first_line[category] = rec["_line"]
        weight = _float(rec["avg_weight_kg"], where=where, column="avg_weight_kg")
        co2e = _float(rec["co2e_kg_per_item"], where=where, column="co2e_kg_per_item")
        if weight <= 0 or co2e < 0:
            raise ReferenceDataError(
                f"{where}: avg_weight_kg must be positive and co2e_kg_per_item not negative"
            )
        if not rec["source"]:
            raise ReferenceDataError(f"{where}: source is empty")
        rows.append(
            {
                "category": category,
                "avg_weight_kg": weight,
                "co2e_kg_per_item": co2e,
                "source": rec["source"],
            }
        )
    return rows


async def _unchanged(
    datasets: ReferenceDatasetRepository,
    name: str,
    *,
    sha: str,
    force: bool,
    report: LoadReport,
) -> bool:
    """True (and noted as skipped) when the dataset was loaded from this very file before."""
    if not force and await datasets.checksum(name) == sha:
        report.skipped.append(name)
        return True
    return False


async def _load_reuse_factors(
    session: AsyncSession, *, data_dir: Path, force: bool, report: LoadReport
) -> None:
    datasets = ReferenceDatasetRepository(session)
    raw = _read(data_dir / REUSE_FACTORS_FILE)
    sha = _sha256(raw)
    if await _unchanged(datasets, REUSE_FACTORS_DATASET, sha=sha, force=force, report=report):
        return
    rows = _reuse_factor_rows(raw)
    repo = CategoryRepository(session)
    _refuse_removed(
        name=REUSE_FACTORS_FILE,
        what="reuse factor categories",
        loaded=await repo.reuse_factor_categories(),
        in_file={r["category"] for r in rows},
    )
    await repo.upsert_reuse_factors(rows)
    await datasets.record(name=REUSE_FACTORS_DATASET, sha256=sha, row_count=len(rows))
    report.loaded["reuse_factors"] = len(rows)


def _ords_category_rows(raw: bytes) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    seen_ids: set[int] = set()
    seen_names: set[str] = set()
    for rec in _csv_records(raw, name=ORDS_CATEGORIES_FILE, columns=("id", "name")):
        where = f"{ORDS_CATEGORIES_FILE}:{rec['_line']}"
        ords_id = _int(rec["id"], where=where, column="id")
        if not ORDS_MIN_ID <= ords_id <= ORDS_MAX_ID:
            raise ReferenceDataError(f"{where}: id {ords_id} is outside 1-40")
        if not rec["name"]:
            raise ReferenceDataError(f"{where}: name is empty")
        if ords_id in seen_ids or rec["name"] in seen_names:
            raise ReferenceDataError(f"{where}: id {ords_id} or name {rec['name']!r} repeated")
        seen_ids.add(ords_id)
        seen_names.add(rec["name"])
        rows.append({"id": ords_id, "name": rec["name"]})
    return rows


async def _load_ords_categories(
    session: AsyncSession, *, data_dir: Path, force: bool, report: LoadReport
) -> None:
    datasets = ReferenceDatasetRepository(session)
    raw = _read(data_dir / ORDS_CATEGORIES_FILE)
    sha = _sha256(raw)
    if await _unchanged(datasets, ORDS_CATEGORIES_DATASET, sha=sha, force=force, report=report):
        return
    rows = _ords_category_rows(raw)
    repo = CategoryRepository(session)
    _refuse_removed(
        name=ORDS_CATEGORIES_FILE,
        what="ORDS product categories",
        loaded=await repo.ords_category_ids(),
        in_file={r["id"] for r in rows},
    )
    await repo.upsert_ords_categories(rows)
    await datasets.record(name=ORDS_CATEGORIES_DATASET, sha256=sha, row_count=len(rows))
    report.loaded["ords_categories"] = len(rows)


# --- the category taxonomy -----------------------------------------------------------------

_CATEGORY_COLUMNS = (
    "slug",
    "parent_slug",
    "name_nb",
    "name_en",
    "reuse_factor_category",
    "ords_category_id",
    "sort_order",
)


def _category_rows(
    raw: bytes, *, reuse_factors: set[str], ords_ids: set[int]
) -> list[dict[str, Any]]:
    """Parse and validate ``categories.csv``; each row gets its ``path`` (root first)."""
    rows: list[dict[str, Any]] = []
    line_of: dict[str, str] = {}
    for rec in _csv_records(raw, name=CATEGORIES_FILE, columns=_CATEGORY_COLUMNS):
        where = f"{CATEGORIES_FILE}:{rec['_line']}"
        slug = rec["slug"]
        if len(slug) > SLUG_MAX_LENGTH or not _SLUG_RE.fullmatch(slug):
            raise ReferenceDataError(
                f"{where}: slug {slug!r} is not lowercase ASCII kebab-case (a-z, 0-9 and single "
                f"hyphens between them, at most {SLUG_MAX_LENGTH} characters)"
            )
        if slug in line_of:
            raise ReferenceDataError(
                f"{where}: slug {slug!r} appears twice (first on line {line_of[slug]})"
            )
        line_of[slug] = rec["_line"]
        for column in ("name_nb", "name_en"):
            if not 1 <= len(rec[column]) <= NAME_MAX_LENGTH:
                raise ReferenceDataError(
                    f"{where}: {slug}: {column} must have 1 to {NAME_MAX_LENGTH} characters"
                )
        reuse = rec["reuse_factor_category"] or None
        if reuse is not None and reuse not in reuse_factors:
            raise ReferenceDataError(
                f"{where}: {slug}: unknown reuse factor category {reuse!r} "
                f"(not a category of {REUSE_FACTORS_FILE})"
            )
        ords_id = (
            _int(rec["ords_category_id"], where=where, column="ords_category_id")
            if rec["ords_category_id"]
            else None
        )
        if ords_id is not None and ords_id not in ords_ids:
            raise ReferenceDataError(
                f"{where}: {slug}: unknown ORDS product category id {ords_id} "
                f"(not in {ORDS_CATEGORIES_FILE})"
            )
        if ords_id is not None and reuse is None:
            raise ReferenceDataError(
                f"{where}: {slug}: an ORDS category needs a reuse factor category on the same "
                f"row (the two are read as a pair)"
            )
        rows.append(
            {
                "slug": slug,
                "parent_slug": rec["parent_slug"] or None,
                "name_nb": rec["name_nb"],
                "name_en": rec["name_en"],
                "reuse_factor_category": reuse,
                "ords_category_id": ords_id,
                "sort_order": _int(rec["sort_order"], where=where, column="sort_order"),
            }
        )

    parent_of = {r["slug"]: r["parent_slug"] for r in rows}
    for row in rows:
        parent = row["parent_slug"]
        if parent is not None and parent not in parent_of:
            raise ReferenceDataError(
                f"{CATEGORIES_FILE}:{line_of[row['slug']]}: {row['slug']}: unknown parent "
                f"{parent!r}"
            )

    paths: dict[str, list[str]] = {}
    for row in rows:
        # Walk up until a category whose path is known (or a root), then fill in the chain.
        chain: list[str] = []
        current: str | None = row["slug"]
        while current is not None and current not in paths:
            if current in chain:
                cycle = [*chain[chain.index(current) :], current]
                raise ReferenceDataError(
                    f"{CATEGORIES_FILE}: the parents form a cycle (parent → child): "
                    f"{' → '.join(reversed(cycle))}"
                )
            chain.append(current)
            current = parent_of[current]
        path = paths[current] if current is not None else []
        for slug in reversed(chain):
            path = [*path, slug]
            paths[slug] = path
        if len(paths[row["slug"]]) > MAX_DEPTH:
            raise ReferenceDataError(
                f"{CATEGORIES_FILE}:{line_of[row['slug']]}: {row['slug']} is "
                f"{len(paths[row['slug']])} levels deep ({'/'.join(paths[row['slug']])}); "
                f"at most {MAX_DEPTH} are allowed"
            )
        row["path"] = paths[row["slug"]]
    return rows


async def _load_categories(
    session: AsyncSession, *, data_dir: Path, force: bool, report: LoadReport
) -> None:
    datasets = ReferenceDatasetRepository(session)
    raw = _read(data_dir / CATEGORIES_FILE)
    sha = _sha256(raw)
    if await _unchanged(datasets, CATEGORIES_DATASET, sha=sha, force=force, report=report):
        return
    repo = CategoryRepository(session)
    rows = _category_rows(
        raw,
        reuse_factors=await repo.reuse_factor_categories(),
        ords_ids=await repo.ords_category_ids(),
    )
    _refuse_removed(
        name=CATEGORIES_FILE,
        what="categories",
        loaded=await repo.slugs(),
        in_file={r["slug"] for r in rows},
    )
    await repo.upsert_categories(rows)
    await datasets.record(name=CATEGORIES_DATASET, sha256=sha, row_count=len(rows))
    report.loaded["categories"] = len(rows)


# --- the European List of Waste --------------------------------------------------------------

_BOOLEANS = {"true": True, "false": False}


def _ewc_rows(
    chapters_raw: bytes, codes_raw: bytes
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    chapters: dict[str, dict[str, Any]] = {}
    for rec in _csv_records(
        chapters_raw, name=EWC_CHAPTERS_FILE, columns=("code", "level", "description")
    ):
        where = f"{EWC_CHAPTERS_FILE}:{rec['_line']}"
        digits = {"chapter": 2, "subchapter": 4}.get(rec["level"])
        if digits is None or not (rec["code"].isdigit() and len(rec["code"]) == digits):
            raise ReferenceDataError(f"{where}: {rec['level']!r} {rec['code']!r} is malformed")
        if rec["code"] in chapters or not rec["description"]:
            raise ReferenceDataError(f"{where}: {rec['code']} repeated or without description")
        chapters[rec["code"]] = {k: rec[k] for k in ("code", "level", "description")}
    codes: list[dict[str, Any]] = []
    seen: set[str] = set()
    columns = ("code", "chapter", "subchapter", "description", "hazardous", "entry_type")
    for rec in _csv_records(codes_raw, name=EWC_CODES_FILE, columns=columns):
        where = f"{EWC_CODES_FILE}:{rec['_line']}"
        code = rec["code"]
        if not (code.isdigit() and len(code) == 6) or code in seen:
            raise ReferenceDataError(f"{where}: code {code!r} is malformed or repeated")
        if rec["subchapter"] != code[:4] or rec["chapter"] != code[:2]:
            raise ReferenceDataError(f"{where}: {code} is not in {rec['subchapter']}")
        if rec["chapter"] not in chapters or rec["subchapter"] not in chapters:
            raise ReferenceDataError(f"{where}: the heading of {code} is not in the chapters")
        if rec["hazardous"] not in _BOOLEANS or rec["entry_type"] not in ("absolute", "mirror"):
            raise ReferenceDataError(f"{where}: hazardous or entry_type of {code} is unknown")
        seen.add(code)
        codes.append({**{k: rec[k] for k in columns}, "hazardous": _BOOLEANS[rec["hazardous"]]})
    return list(chapters.values()), codes


async def _load_ewc(
    session: AsyncSession, *, data_dir: Path, force: bool, report: LoadReport
) -> None:
    datasets = ReferenceDatasetRepository(session)
    chapters_raw = _read(data_dir / EWC_CHAPTERS_FILE)
    codes_raw = _read(data_dir / EWC_CODES_FILE)
    sha = _sha256(chapters_raw + b"\0" + codes_raw)
    if await _unchanged(datasets, EWC_DATASET, sha=sha, force=force, report=report):
        return
    chapters, codes = _ewc_rows(chapters_raw, codes_raw)
    repo = WasteCodeRepository(session)
    _refuse_removed(
        name=EWC_CHAPTERS_FILE,
        what="EWC headings",
        loaded=await repo.chapter_codes(),
        in_file={c["code"] for c in chapters},
    )
    _refuse_removed(
        name=EWC_CODES_FILE,
        what="EWC codes",
        loaded=await repo.codes(),
        in_file={c["code"] for c in codes},
    )
    await repo.upsert_chapters(chapters)
    await repo.upsert_codes(codes)
    await datasets.record(name=EWC_DATASET, sha256=sha, row_count=len(codes))
    report.loaded["ewc_chapters"] = len(chapters)
    report.loaded["ewc_codes"] = len(codes)
