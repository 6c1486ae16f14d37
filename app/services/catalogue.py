"""A library's catalogue, imported from CSV (``POST /v1/organizations/{id}/catalogue``).

One row per item; the columns (in any order, by name; the header is the first line):

* ``title`` (required), ``category`` (required, a category slug), ``description``;
* ``lat`` and ``lon`` (required): where the item is lent from;
* ``units``: how many identical items (1 when empty);
* ``mode``: ``lend`` (when empty) or ``rent``; renting needs ``price_nok`` and
  ``price_period``;
* ``condition``, ``brand``;
* ``ref``: the library's own number for the item (``details.catalogue_ref``). A row whose
  ``ref`` the organization already has is skipped and counted as a duplicate, so an import can
  be run again with the whole catalogue; the database keeps refs unique per organization.

**All or nothing.** Every row is checked as ``POST /v1/listings`` would check it (the same
models, categories and the point's kommune); a file with any invalid row stores nothing and
answers ``422 invalid_catalogue_rows`` with each row's ``line``, ``column`` and ``message``.
Then each item is created through the listing service, as a draft or, with ``publish=true``,
active (alerts and matches included).
"""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.errors import (
    CatalogueFileError,
    InvalidCatalogueRowsError,
    OrganizationNotFoundError,
    OutsideNorwayError,
)
from app.repositories.category import CategoryRepository
from app.repositories.listing import ListingRepository
from app.repositories.organization import OrganizationRepository
from app.schemas.listing import ItemCreate
from app.schemas.organization import CatalogueImportResult
from app.services import geography
from app.services import listing as listing_service
from app.services.policy import OrgAction, Principal, authorize_org

COLUMNS = (
    "ref",
    "title",
    "category",
    "description",
    "units",
    "lat",
    "lon",
    "mode",
    "price_nok",
    "price_period",
    "condition",
    "brand",
)
REQUIRED = ("title", "category", "lat", "lon")
MAX_ROWS = 2000
MAX_ROW_ERRORS = 100

# Where a field of ``ItemCreate`` comes from in the file.
_COLUMN_OF = {
    "title": "title",
    "description": "description",
    "category": "category",
    "quantity": "units",
    "location": "lat",
    "mode": "mode",
    "price_nok": "price_nok",
    "details.price_period": "price_period",
    "details.condition": "condition",
    "details.brand": "brand",
    "details.catalogue_ref": "ref",
}
_ITEM = TypeAdapter(ItemCreate)


@dataclass(frozen=True, slots=True)
class RowError:
    line: int
    column: str | None
    message: str

    def problem(self) -> dict[str, Any]:
        return {
            "location": "body",
            "field": self.column or "",
            "line": self.line,
            "column": self.column,
            "message": self.message,
            "type": "invalid_catalogue_row",
        }


@dataclass(frozen=True, slots=True)
class Row:
    line: int
    ref: str | None
    item: ItemCreate


def _number(
    cells: dict[str, str], column: str, errors: list[RowError], line: int, *, integer: bool
) -> Any:
    text = cells.get(column, "").strip()
    if not text:
        return None
    if integer:
        try:
            return int(text)
        except ValueError:
            errors.append(RowError(line, column, f"{text!r} is not a whole number"))
            return None
    try:
        value = Decimal(text.replace(",", "."))
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite():
        errors.append(RowError(line, column, f"{text!r} is not a number"))
        return None
    return value


def _row(
    line: int, cells: dict[str, str], *, organization_id: uuid.UUID, publish: bool
) -> tuple[Row | None, list[RowError]]:
    errors: list[RowError] = []
    for required in REQUIRED:
        if not cells.get(required, "").strip():
            errors.append(RowError(line, required, "is required"))
    units = _number(cells, "units", errors, line, integer=True)
    lat = _number(cells, "lat", errors, line, integer=False)
    lon = _number(cells, "lon", errors, line, integer=False)
    price = _number(cells, "price_nok", errors, line, integer=False)
    if errors:
        return None, errors
    text = {c: cells.get(c, "").strip() for c in COLUMNS}
    details = {
        k: v
        for k, v in (
            ("catalogue_ref", text["ref"]),
            ("condition", text["condition"]),
            ("brand", text["brand"]),
            ("price_period", text["price_period"]),
        )
        if v
    }
    body: dict[str, Any] = {
        "kind": "item",
        "mode": text["mode"] or "lend",
        "title": text["title"],
        "description": text["description"],
        "category": text["category"],
        "location": {"type": "Point", "coordinates": [float(lon), float(lat)]},
        "organization_id": str(organization_id),
        "publish": publish,
        "details": details,
    }
    if units is not None:
        body["quantity"] = units
    if price is not None:
        body["price_nok"] = str(price)
    try:
        item = _ITEM.validate_python(body)
    except ValidationError as exc:
        for error in exc.errors():
            path = ".".join(str(p) for p in error["loc"])
            column: str | None = next(
                (c for f, c in _COLUMN_OF.items() if path == f or path.startswith(f + ".")),
                None,
            )
            errors.append(RowError(line, column, error["msg"]))
        return None, errors
    if item.mode.value not in ("lend", "rent"):
        return None, [RowError(line, "mode", "a catalogue lends or rents: lend or rent")]
    return Row(line, text["ref"] or None, item), []


def parse_catalogue(
    raw: bytes, *, organization_id: uuid.UUID, publish: bool
) -> tuple[list[Row], list[RowError], int]:
    """The rows of an upload that validate, the first ``MAX_ROW_ERRORS`` errors, and how
    many errors there were. Raises ``CatalogueFileError`` for what cannot be read at all."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CatalogueFileError(
            f"The file is not UTF-8 text (byte {exc.start} cannot be decoded)."
        ) from exc
    if "\x00" in text:
        raise CatalogueFileError("The file contains NUL characters; it is not a text file.")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[Row] = []
    errors: list[RowError] = []
    count = 0
    refs: dict[str, int] = {}
    try:
        header = [h.strip().lower() for h in next(reader, None) or []]
        if not header:
            raise CatalogueFileError("The file is empty: it needs a header line.")
        unknown = [h for h in header if h not in COLUMNS]
        if unknown:
            raise CatalogueFileError(
                f"Unknown column {unknown[0]!r}; the columns are {', '.join(COLUMNS)}."
            )
        repeated = [h for h in set(header) if header.count(h) > 1]
        if repeated:
            raise CatalogueFileError(f"The column {repeated[0]!r} appears twice.")
        missing = [c for c in REQUIRED if c not in header]
        if missing:
            raise CatalogueFileError(f"The column {missing[0]!r} is missing.")
        n = 0
        while True:
            line = reader.line_num + 1
            cells = next(reader, None)
            if cells is None:
                break
            if not any(c.strip() for c in cells):
                continue
            n += 1
            if n > MAX_ROWS:
                raise CatalogueFileError(f"The file has more than {MAX_ROWS} rows; split it.")
            if len(cells) != len(header):
                found = [
                    RowError(line, None, f"has {len(cells)} cells; the header has {len(header)}")
                ]
                row = None
            else:
                row, found = _row(
                    line,
                    dict(zip(header, cells, strict=True)),
                    organization_id=organization_id,
                    publish=publish,
                )
                # Repeats count even where the first row is invalid.
                ref = cells[header.index("ref")].strip() if "ref" in header else ""
                if ref and ref in refs:
                    found = [
                        *found,
                        RowError(line, "ref", f"repeats the ref on line {refs[ref]}"),
                    ]
                    row = None
                elif ref:
                    refs[ref] = line
            if row is not None:
                rows.append(row)
            count += len(found)
            errors.extend(found[: max(0, MAX_ROW_ERRORS - len(errors))])
    except csv.Error as exc:
        raise CatalogueFileError(
            f"Line {reader.line_num}: the CSV cannot be read ({exc})."
        ) from exc
    return rows, errors, count


async def import_catalogue(
    session: AsyncSession,
    *,
    principal: Principal,
    organization_id: uuid.UUID,
    raw: bytes,
    publish: bool,
    now: datetime,
    settings: Settings,
) -> CatalogueImportResult:
    """Creates the catalogue's items, all or nothing (see the module docstring)."""
    if await OrganizationRepository(session).get(organization_id) is None:
        raise OrganizationNotFoundError(f"No organization has the id {organization_id}.")
    await authorize_org(session, principal, organization_id, OrgAction.WRITE_LISTINGS)
    rows, errors, count = parse_catalogue(raw, organization_id=organization_id, publish=publish)
    known = await CategoryRepository(session).slugs()
    for row in rows:
        found: list[RowError] = []
        if row.item.category not in known:
            found.append(RowError(row.line, "category", f"Unknown category {row.item.category}"))
        try:
            await geography.locate(session, lat=row.item.location.lat, lon=row.item.location.lon)
        except OutsideNorwayError:
            found.append(RowError(row.line, "lat", "The point is not in a Norwegian kommune"))
        count += len(found)
        errors.extend(found[: max(0, MAX_ROW_ERRORS - len(errors))])
    if count:
        errors.sort(key=lambda e: e.line)
        raise InvalidCatalogueRowsError(
            f"{count} error(s) in the file; nothing was imported.",
            rows=[e.problem() for e in errors],
            error_count=count,
        )
    refs = [r.ref for r in rows if r.ref is not None]
    have = await ListingRepository(session).catalogue_refs(organization_id, refs)
    created: list[uuid.UUID] = []
    for row in rows:
        if row.ref is not None and row.ref in have:
            continue
        read = await listing_service.create_listing(
            session, principal=principal, data=row.item, now=now, settings=settings
        )
        created.append(read.id)
    return CatalogueImportResult(
        created=len(created), duplicates=len(rows) - len(created), listing_ids=created
    )
