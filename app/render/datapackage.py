"""A year's impact figures as a Frictionless Data Package in a ZIP archive
(``GET /v1/impact/datapackage/{year}.zip``).

``datapackage_zip`` turns the figures of ``app.services.impact.datapackage`` into:

* ``datapackage.json`` — a Tabular Data Package (Data Package v1, which v2 readers accept,
  with each resource's v2 ``type`` beside its v1 ``profile``): name, title, description,
  version, licence, sources, and one resource per CSV with its Table Schema, size and
  sha256. Sirkel's own properties are prefixed ``sirkel:`` — the evidence ledger's heads,
  the suppression rule, the indicator as ``GET /v1/impact/indicators`` describes it and the
  indicators of other frameworks it informs;
* ``data/{indicator}.{grouping}.csv`` — one table per indicator and grouping (``total``:
  the year's total), RFC 4180 with CRLF, UTF-8 without a byte order mark. Columns: ``year``,
  the grouping's key (and, for fylke and kommune, the place's name), ``value``, ``unit``,
  ``records``, ``suppressed`` and ``suppression``; a suppressed row has ``value`` and
  ``records`` empty. Numbers are written exactly, with the indicator's decimals (``12.500``);
  text that a spreadsheet would run as a formula starts with ``'``.

**Byte for byte.** The same figures give the same bytes: nothing in the package says when it
was made (``created`` is when the ledger's head was recorded), the JSON is written in one
fixed order, the tables in key order, and every ZIP entry has the same fixed time
(``ZIP_DATE_TIME``), permissions and compression level, in a fixed order.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final

from app.models.organization import Sector
from app.render.csv import escape_formula
from app.render.impact import catalogue
from app.render.report import ATTRIBUTIONS
from app.repositories.impact.report import LedgerHead
from app.schemas.impact import IndicatorCatalogue, IndicatorRead
from app.services.impact.datapackage import DataPackageFigures, Grouping, Table
from app.services.impact.factors import WRAP_SOURCE
from app.services.impact.suppression import MIN_HOUSEHOLDS, MIN_RECORDS

MEDIA_TYPE: Final = "application/zip"
DESCRIPTOR: Final = "datapackage.json"
# The earliest time a ZIP entry can carry (MS-DOS dates start in 1980): the same for every
# entry of every package, so the bytes depend on the figures only.
ZIP_DATE_TIME: Final = (1980, 1, 1, 0, 0, 0)
ZIP_COMPRESSLEVEL: Final = 9
_UNIX: Final = 3  # ZipInfo's create_system: the same on every platform
_FILE_MODE: Final = 0o100644 << 16  # a regular file, rw-r--r--

_CC_BY: Final = {
    "name": "CC-BY-4.0",
    "title": "Creative Commons Attribution 4.0 International",
    "path": "https://creativecommons.org/licenses/by/4.0/",
}
_CC_BY_SA: Final = {
    "name": "CC-BY-SA-4.0",
    "title": "Creative Commons Attribution-ShareAlike 4.0 International",
    "path": "https://creativecommons.org/licenses/by-sa/4.0/",
}
_OGL: Final = {
    "name": "OGL-UK-3.0",
    "title": "Open Government Licence v3.0",
    "path": "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/",
}
# Sirkel's figures are published under CC BY 4.0 rather than NLOD 2.0: it is the licence of
# the public data they are computed with (SSB's population, Kartverket's boundaries), so one
# set of terms covers the package and those sources; it is the licence the EU and UN
# frameworks the figures are read beside (Eurostat, data.europa.eu) know; and NLOD 2.0 is
# itself compatible with CC BY 4.0, so nothing NLOD would allow is lost. The CC BY-SA factor
# and category tables are not in the package (only figures computed with them); they keep
# their own licence, named under ``sources``.
LICENSE: Final = _CC_BY

# The reference data the figures are computed or keyed with, by their name in
# reference_datasets: where they come from and under which licence (the attribution texts are
# those of app.render.report, which a test keeps equal to data/README.md).
_REFERENCE_SOURCES: Final[tuple[tuple[str, str | None, tuple[dict[str, str], ...]], ...]] = (
    (
        "reuse_factors",
        "https://github.com/TheRestartProject/environmental-impact-data",
        (_CC_BY_SA,),
    ),
    ("kommune_population", "https://www.ssb.no/statbank/table/07459", (_CC_BY,)),
    ("geography_2024", "https://www.kartverket.no/", (_CC_BY,)),
    ("ords_categories", "https://openrepair.org/open-data/open-standard/", (_CC_BY_SA,)),
    ("ewc_codes", "https://eur-lex.europa.eu/eli/dec/2000/532/oj", (_OGL,)),
    ("categories", None, ()),
)

_GROUPING_LABEL: Final[dict[Grouping | None, str]] = {
    None: "in total",
    "month": "by month",
    "fylke": "by fylke",
    "kommune": "by kommune",
    "category": "by category",
    "sector": "by sector",
}

ROWS_NOTE: Final = (
    "Each table holds the rows GET /v1/impact returns for the same indicator, grouping, year "
    "and area, and no others: a month, place, category or sector without a row had nothing "
    "counted (no record, or every record taken back). An empty key is the records without "
    "one. A total always has its row."
)
VERIFICATION: Final = (
    "The figures are computed from the whole evidence ledger up to and including the record "
    "sirkel:ledger_head (records registered after the year ended about events in it — late "
    "reports, confirmations, corrections — are counted); sirkel:ledger_head_at_year_end is "
    "the last record registered before the year ended (Norwegian time). To verify: fetch the "
    "records with GET /v1/evidence, check the hash chain from seq 1 (README, 'Verifying "
    "independently') and that the record with that seq has exactly that hash."
)


@dataclass(frozen=True, slots=True)
class DataPackageArchive:
    filename: str  # e.g. sirkel-impact-2025-kommune-0301.zip
    content: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


def package_name(figures: DataPackageFigures) -> str:
    """``sirkel-impact-2025-norway``, ``-fylke-46`` or ``-kommune-0301``."""
    area = figures.area
    suffix = f"{area.kind}-{area.number}" if area.number else area.kind
    return f"sirkel-impact-{figures.year}-{suffix}"


def datapackage_zip(figures: DataPackageFigures, *, base_url: str) -> DataPackageArchive:
    """The package as ZIP bytes; ``base_url`` is where people reach Sirkel (its links)."""
    # The indicators as GET /v1/impact/indicators describes them, and its suppression rule.
    described = catalogue(
        {t.indicator.id: t.indicator for t in figures.tables}.values(),
        min_records=MIN_RECORDS,
        min_households=MIN_HOUSEHOLDS,
        frameworks=figures.frameworks,
    )
    indicators = {i.id: i for i in described.indicators}
    files: list[tuple[str, bytes]] = []
    resources: list[dict[str, Any]] = []
    for table in figures.tables:
        path = f"data/{_resource_name(table)}.csv"
        data = table_csv(table, figures)
        files.append((path, data))
        resources.append(_resource(table, figures, indicators[table.indicator.id], path, data))
    descriptor = _descriptor(figures, described, resources, base_url=base_url.rstrip("/"))
    text = json.dumps(descriptor, ensure_ascii=False, indent=2) + "\n"
    files.insert(0, (DESCRIPTOR, text.encode("utf-8")))
    return DataPackageArchive(filename=f"{package_name(figures)}.zip", content=_zip(files))


# ------------------------------------------------------------------------------ the tables


def _grouping_name(grouping: Grouping | None) -> str:
    return grouping or "total"


def _resource_name(table: Table) -> str:
    return f"{table.indicator.id}.{_grouping_name(table.grouping)}"


def _names(figures: DataPackageFigures, grouping: Grouping | None) -> dict[str, str] | None:
    if grouping == "fylke":
        return figures.fylke_names
    if grouping == "kommune":
        return figures.kommune_names
    return None


def _text(value: Decimal | str | int | bool | None) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")  # exactly, with the indicator's decimals; never a formula
    if isinstance(value, int):
        return str(value)
    return escape_formula(value)


def table_csv(table: Table, figures: DataPackageFigures) -> bytes:
    """One table as CSV bytes: a header, then one line per cell in key order."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(field["name"] for field in _fields(table, figures))
    names = _names(figures, table.grouping)
    unit = table.indicator.unit
    for cell in table.cells:
        keys: list[str | None] = []
        if table.grouping is not None:
            keys.append(cell.key)
            if names is not None:
                keys.append(names.get(cell.key) if cell.key else None)
        row = (
            figures.year,
            *keys,
            cell.value,
            unit,
            cell.records,
            cell.suppressed,
            cell.suppression,
        )
        writer.writerow(_text(v) for v in row)
    return buffer.getvalue().encode("utf-8")


def _key_fields(grouping: Grouping | None) -> list[dict[str, Any]]:
    without = "; empty for the records without one"
    if grouping is None:
        return []
    if grouping == "month":
        return [
            {
                "name": "month",
                "type": "yearmonth",
                "description": "The month, YYYY-MM (Norwegian time)",
                "constraints": {"required": True},
            }
        ]
    if grouping in ("fylke", "kommune"):
        digits = 2 if grouping == "fylke" else 4
        return [
            {
                "name": grouping,
                "type": "string",
                "description": f"The {grouping}'s number ({grouping}snummer, the division in "
                f"force since 2024-01-01){without}",
                "constraints": {"pattern": f"[0-9]{{{digits}}}"},
            },
            {
                "name": f"{grouping}_name",
                "type": "string",
                "description": f"The {grouping}'s short Norwegian name (Kartverket)",
            },
        ]
    if grouping == "category":
        return [
            {
                "name": "category",
                "type": "string",
                "description": "The category's slug (GET /v1/categories), or for materials "
                f"the EWC chapter (ewc-17, …){without}",
            }
        ]
    return [
        {
            "name": "sector",
            "type": "string",
            "description": "The sector of the party: households (persons), business, "
            f"civil_society or public_sector{without}",
            "constraints": {"enum": sorted(s.value for s in Sector)},
        }
    ]


def _fields(table: Table, figures: DataPackageFigures) -> list[dict[str, Any]]:
    indicator = table.indicator
    return [
        {
            "name": "year",
            "type": "year",
            "description": "The year of the figures (in every table, so that the tables of "
            "several years can be stacked)",
            "constraints": {"required": True, "enum": [figures.year]},
        },
        *_key_fields(table.grouping),
        {
            "name": "value",
            "type": "number",
            "description": f"The figure (unit: {indicator.unit}) with {indicator.decimals} "
            "decimals. Empty when suppressed, or when there is nothing to compute (a share "
            "without a denominator)",
        },
        {
            "name": "unit",
            "type": "string",
            "description": "The unit of value",
            "constraints": {"required": True, "enum": [indicator.unit]},
        },
        {
            "name": "records",
            "type": "integer",
            "description": "The evidence records behind the value; empty when suppressed",
        },
        {
            "name": "suppressed",
            "type": "boolean",
            "description": "Whether the value and records are withheld (sirkel:suppression)",
            "trueValues": ["true"],
            "falseValues": ["false"],
            "constraints": {"required": True, "enum": [False, True]},
        },
        {
            "name": "suppression",
            "type": "string",
            "description": "Why: primary (a small cell) or complementary (hidden so that a "
            "small cell cannot be recovered); empty when not suppressed",
            "constraints": {"enum": ["primary", "complementary"]},
        },
    ]


def _resource(
    table: Table,
    figures: DataPackageFigures,
    indicator: IndicatorRead,
    path: str,
    data: bytes,
) -> dict[str, Any]:
    return {
        "name": _resource_name(table),
        "path": path,
        "profile": "tabular-data-resource",
        "type": "table",
        "title": f"{indicator.name.en} {_GROUPING_LABEL[table.grouping]}, {figures.year}, "
        f"{_area_title(figures)}",
        "description": f"{indicator.definition} Counting rule: {indicator.counting_rule}",
        "format": "csv",
        "mediatype": "text/csv",
        "encoding": "utf-8",
        "bytes": len(data),
        "hash": f"sha256:{hashlib.sha256(data).hexdigest()}",
        "schema": {
            "fields": _fields(table, figures),
            "missingValues": [""],
            # The key column is named for its grouping; year makes stacked years unique.
            "primaryKey": ["year", *([table.grouping] if table.grouping else [])],
        },
        "sirkel:grouping": _grouping_name(table.grouping),
        "sirkel:indicator": {
            **indicator.model_dump(mode="json", exclude={"frameworks"}),
            "decimals": table.indicator.decimals,
        },
        "sirkel:frameworks": [link.model_dump(mode="json") for link in indicator.frameworks],
    }


# ---------------------------------------------------------------------------- the package


def _area_title(figures: DataPackageFigures) -> str:
    area = figures.area
    if area.kind == "norway":
        return "Norway"
    return f"{area.name} ({area.kind} {area.number})"


def _time(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _head(head: LedgerHead | None) -> dict[str, Any] | None:
    if head is None:
        return None
    return {"seq": head.seq, "hash": head.hash_hex, "recorded_at": _time(head.recorded_at)}


def _report_url(figures: DataPackageFigures, base_url: str) -> str:
    filters = [(n, v) for n, v in (("fylke", figures.fylke), ("kommune", figures.kommune)) if v]
    query = "&".join(f"{n}={v}" for n, v in filters)
    return f"{base_url}/v1/impact/report/{figures.year}" + (f"?{query}" if query else "")


def _sources(figures: DataPackageFigures, base_url: str) -> list[dict[str, Any]]:
    loaded = {d.name: d for d in figures.datasets}
    sources: list[dict[str, Any]] = [
        {
            "title": "Sirkel evidence ledger (signed, hash-chained records)",
            "path": f"{base_url}/v1/evidence",
            "description": "Every figure is computed from the ledger's records up to "
            "sirkel:ledger_head.",
        }
    ]
    for name, path, licenses in _REFERENCE_SOURCES:
        attribution = ATTRIBUTIONS[name]
        source: dict[str, Any] = {"title": attribution.text}
        if path is not None:
            source["path"] = path
        source["description"] = attribution.what
        if licenses:
            source["licenses"] = list(licenses)
        dataset = loaded.get(name)
        source["sirkel:dataset"] = (
            None
            if dataset is None
            else {
                "name": dataset.name,
                "sha256": dataset.sha256,
                "rows": dataset.row_count,
                "loaded_at": _time(dataset.loaded_at),
            }
        )
        sources.append(source)
    sources.append(
        {
            "title": WRAP_SOURCE,
            "description": "The factor for material known only by its weight "
            "(sirkel:factor_revisions).",
        }
    )
    return sources


def _description(figures: DataPackageFigures) -> str:
    groupings = ", ".join(g for g in figures.groupings if g is not None)
    return (
        f"Sirkel's circular-economy indicators for {figures.year}, {_area_title(figures)}: "
        "every indicator of the catalogue (GET /v1/impact/indicators) as the year's total and "
        f"by each of {groupings} it supports, one CSV per indicator and grouping. Computed as "
        "GET /v1/impact computes them (the twelve months of the year, evidence of every "
        "grade) from the evidence ledger up to sirkel:ledger_head, and suppressed the same "
        "way: a suppressed row has value and records empty and suppressed true. The same "
        "database state gives the same bytes."
    )


def _descriptor(
    figures: DataPackageFigures,
    described: IndicatorCatalogue,
    resources: list[dict[str, Any]],
    *,
    base_url: str,
) -> dict[str, Any]:
    head = figures.head_now
    area = figures.area
    descriptor: dict[str, Any] = {
        "profile": "tabular-data-package",
        "name": package_name(figures),
        "title": f"Sirkel impact figures {figures.year}, {_area_title(figures)}",
        "description": _description(figures),
        # The ledger's head: a later package of the same year and area has a higher one.
        "version": str(head.seq if head is not None else 0),
    }
    if head is not None:
        descriptor["created"] = _time(head.recorded_at)
    descriptor |= {
        "homepage": _report_url(figures, base_url),
        "keywords": ["circular economy", "reuse", "repair", "sharing", "Norway", "Sirkel"],
        "licenses": [LICENSE],
        "contributors": [{"title": "Sirkel", "role": "publisher", "path": base_url}],
        "sources": _sources(figures, base_url),
        "sirkel:attribution": f"Sirkel, impact figures {figures.year} "
        f"({_area_title(figures)}), CC BY 4.0; with population from Statistisk sentralbyrå "
        "and boundaries © Kartverket (CC BY 4.0)",
        "sirkel:year": figures.year,
        "sirkel:area": {"kind": area.kind, "number": area.number, "name": area.name},
        "sirkel:filters": {"fylke": figures.fylke, "kommune": figures.kommune},
        "sirkel:evidence": "all",
        "sirkel:groupings": [_grouping_name(g) for g in figures.groupings],
        "sirkel:ledger_head": _head(head),
        "sirkel:ledger_head_at_year_end": _head(figures.head_at_year_end),
        "sirkel:verification": VERIFICATION,
        "sirkel:suppression": described.suppression,
        "sirkel:coverage": described.coverage,
        "sirkel:rows": ROWS_NOTE,
        "sirkel:population_year": figures.population_year,
        "sirkel:factor_revisions": [
            {
                "revision": r.revision,
                "created": _time(r.created_at),
                "checksum": r.checksum,
                "note": r.note,
                "factors": r.factor_count,
            }
            for r in figures.revisions
        ],
        "resources": resources,
    }
    return descriptor


def _zip(files: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files:
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE_TIME)
            info.create_system = _UNIX
            info.external_attr = _FILE_MODE
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data, compresslevel=ZIP_COMPRESSLEVEL)
    return buffer.getvalue()
