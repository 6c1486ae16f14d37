"""The ORDS v0.3 export written as CSV (the format and the records: ``app.services.ords``).

- the header, then one line per record; RFC 4180 quoting (the ``csv`` module), LF line ends
  and no BOM, as the published files have; UTF-8 once the caller encodes the text (a
  ``StreamingResponse`` does);
- missing values as empty cells; ``product_age`` without a trailing ``.0`` when whole
  (``11``) and with one decimal otherwise (``2.5``);
- the ``problem`` text passed through ``scrub_problem`` (personal data out), and every
  free-text cell through ``escape_formula`` (no spreadsheet formula injection).
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator, Sequence
from decimal import ROUND_HALF_UP, Decimal

from app.render.csv import escape_formula
from app.services.ords import ORDS_FIELDS, OrdsRecord, scrub_problem

_TENTH = Decimal("0.1")


def _format_age(age: Decimal | float) -> str:
    # repr gives the shortest decimal that reads back as the float: 2.25, not 2.2499999…
    value = Decimal(repr(age)) if isinstance(age, float) else Decimal(age)
    value = value.quantize(_TENTH, rounding=ROUND_HALF_UP)
    if value == value.to_integral_value():
        return str(int(value))
    return str(value)


def _cells(record: OrdsRecord) -> list[str]:
    problem = scrub_problem(record.problem) if record.problem is not None else ""
    text = {
        "data_provider": record.data_provider,
        "country": record.country,
        "partner_product_category": record.partner_product_category,
        "product_category": record.product_category,
        "brand": record.brand or "",
        "group_identifier": record.group_identifier or "",
        "problem": problem,
    }
    escaped = {column: escape_formula(value) for column, value in text.items()}
    barrier = record.repair_barrier_if_end_of_life
    return [
        record.id,
        escaped["data_provider"],
        escaped["country"],
        escaped["partner_product_category"],
        escaped["product_category"],
        str(record.product_category_id),
        escaped["brand"],
        "" if record.year_of_manufacture is None else str(record.year_of_manufacture),
        "" if record.product_age is None else _format_age(record.product_age),
        record.repair_status.value,
        "" if barrier is None else barrier.value,
        escaped["group_identifier"],
        record.event_date.isoformat(),
        escaped["problem"],
    ]


def ords_csv_lines(records: Iterable[OrdsRecord]) -> Iterator[str]:
    """The ORDS CSV of ``records``: the header line, then one line per record, each ending
    in ``\\n``. Lazy, so it can feed a ``StreamingResponse`` (media type
    ``ORDS_CSV_MEDIA_TYPE``) without holding the file in memory. A cell with a comma, quote
    or line break is quoted as RFC 4180 says."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")

    def line(cells: Iterable[str]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(cells)
        return buffer.getvalue()

    yield line(ORDS_FIELDS)
    for record in records:
        yield line(_cells(record))


async def ords_csv_stream(pages: AsyncIterable[Sequence[OrdsRecord]]) -> AsyncIterator[str]:
    """The ORDS CSV of the records a service yields page by page: the header at once, then
    one chunk of lines per page."""
    yield next(ords_csv_lines([]))
    async for page in pages:
        lines = ords_csv_lines(page)
        next(lines)  # the header, written once above
        yield "".join(lines)
