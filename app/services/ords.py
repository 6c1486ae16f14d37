"""Open Repair Data Standard (ORDS) v0.3 as CSV: the standard's shape of a repair record, and
reading the ORDS files that repair groups upload. Writing the export is presentation
(``app.render.ords``).

ORDS is the Open Repair Alliance's format for sharing data about repairs
(https://openrepair.org/open-data/open-standard/); its aggregated datasets are published as
CSV with 14 columns (``ORDS_FIELDS``). The table schema in ``data/ords_v0.3_schema.json``
is the Alliance's published Frictionless schema with its defects corrected; every file
``app.render.ords.ords_csv_lines`` writes, and every file ``parse_ords_csv`` accepts, is valid
against it. The export passes the ``problem`` text through ``scrub_problem`` (personal data
out).

Import (``parse_ords_csv``): the whole file is read; errors in a row are collected (up to
``MAX_ROW_ERRORS``) and parsing goes on, so a caller can report all of them at once. A file
that cannot be read as ORDS at all raises ``OrdsFileError``.

Pure Python: no database, no I/O.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Final

from app.errors import OrdsFileError

__all__ = [
    "FREE_TEXT_FIELDS",
    "MAX_ROW_ERRORS",
    "ORDS_CSV_MEDIA_TYPE",
    "ORDS_FIELDS",
    "ORDS_PRODUCT_CATEGORIES",
    "OrdsFileError",
    "OrdsParseResult",
    "OrdsRecord",
    "OrdsRowError",
    "RepairBarrier",
    "RepairStatus",
    "parse_ords_csv",
    "scrub_problem",
]

ORDS_FIELDS: Final[tuple[str, ...]] = (
    "id",
    "data_provider",
    "country",
    "partner_product_category",
    "product_category",
    "product_category_id",
    "brand",
    "year_of_manufacture",
    "product_age",
    "repair_status",
    "repair_barrier_if_end_of_life",
    "group_identifier",
    "event_date",
    "problem",
)
"""The columns of an ORDS v0.3 file, in the standard's order and spelling."""

FREE_TEXT_FIELDS: Final[frozenset[str]] = frozenset(
    {
        "data_provider",
        "country",
        "partner_product_category",
        "product_category",
        "brand",
        "group_identifier",
        "problem",
    }
)
"""Columns whose cells are text a spreadsheet could take for a formula, so are escaped on
export. The others are generated or validated values (id, numbers, dates, the two enums)."""

ORDS_CSV_MEDIA_TYPE: Final = "text/csv; charset=utf-8"

MAX_ROW_ERRORS: Final = 100
"""``parse_ords_csv`` keeps the first this many row errors (and counts all of them)."""

ORDS_PRODUCT_CATEGORIES: Final[tuple[tuple[int, str], ...]] = (
    (1, "Aircon/dehumidifier"),
    (2, "Battery/charger/adapter"),
    (3, "Decorative or safety lights"),
    (4, "Desktop computer"),
    (5, "Digital compact camera"),
    (6, "DSLR/video camera"),
    (7, "Fan"),
    (8, "Flat screen"),
    (9, "Hair & beauty item"),
    (10, "Handheld entertainment device"),
    (11, "Headphones"),
    (12, "Hi-Fi integrated"),
    (13, "Hi-Fi separates"),
    (14, "Kettle"),
    (15, "Lamp"),
    (16, "Laptop"),
    (17, "Large home electrical"),
    (18, "Misc"),
    (19, "Mobile"),
    (20, "Musical instrument"),
    (21, "Paper shredder"),
    (22, "PC accessory"),
    (23, "Portable radio"),
    (24, "Power tool"),
    (25, "Printer/scanner"),
    (26, "Projector"),
    (27, "Sewing machine"),
    (28, "Small home electrical"),
    (29, "Small kitchen item"),
    (30, "Tablet"),
    (31, "Toaster"),
    (32, "Toy"),
    (33, "TV and gaming-related accessories"),
    (34, "Vacuum"),
    (35, "Watch/clock"),
    (36, "Coffee maker"),
    (37, "Food processor"),
    (38, "Games console"),
    (39, "Hair dryer"),
    (40, "Iron"),
)
"""The 40 ORDS v0.3 product categories as (id, name); the same list as
``data/ords_product_categories.csv`` (a test keeps the two equal)."""

_CATEGORY_IDS: Final[dict[str, int]] = {name: id_ for id_, name in ORDS_PRODUCT_CATEGORIES}


class RepairStatus(StrEnum):
    FIXED = "Fixed"
    REPAIRABLE = "Repairable"
    END_OF_LIFE = "End of life"
    UNKNOWN = "Unknown"


class RepairBarrier(StrEnum):
    """Why an item reached end of life (``repair_barrier_if_end_of_life``)."""

    SPARE_PARTS_NOT_AVAILABLE = "Spare parts not available"
    SPARE_PARTS_TOO_EXPENSIVE = "Spare parts too expensive"
    NO_WAY_TO_OPEN_PRODUCT = "No way to open product"
    REPAIR_INFORMATION_NOT_AVAILABLE = "Repair information not available"
    LACK_OF_EQUIPMENT = "Lack of equipment"
    ITEM_TOO_WORN_OUT = "Item too worn out"


# --- Records -------------------------------------------------------------------------------

_ID = re.compile(r"[a-z][a-z0-9]*[_-][0-9]+")
_COUNTRY = re.compile(r"[A-Z]{3}")
_MIN_YEAR, _MAX_YEAR = 1000, 9999

_REQUIRED_TEXT: Final = ("data_provider", "partner_product_category")


def _id_problem(value: str) -> str | None:
    if not value:
        return "is required"
    if not _ID.fullmatch(value):
        return "must be a lower-case provider prefix, '_' or '-', and digits, e.g. sirkel_123"
    return None


def _country_problem(value: str) -> str | None:
    if not _COUNTRY.fullmatch(value):
        return "must be a three-letter upper-case ISO 3166-1 code, e.g. NOR"
    return None


def _category_problem(name: str, id_: int) -> tuple[str, str] | None:
    """(column, message) when the category name is unknown or its id is not that name's."""
    expected = _CATEGORY_IDS.get(name)
    if expected is None:
        return "product_category", "must be one of the 40 ORDS product categories"
    if id_ != expected:
        return "product_category_id", f"must be {expected}, the id of {name!r}"
    return None


def _year_problem(value: int) -> str | None:
    if not _MIN_YEAR <= value <= _MAX_YEAR:
        return "must be a four-digit year such as 2019"
    return None


def _age_problem(value: Decimal | float) -> str | None:
    finite = value.is_finite() if isinstance(value, Decimal) else math.isfinite(value)
    if not finite:
        return "must be a finite number"
    if value < 0:
        return "must not be negative"
    return None


@dataclass(frozen=True, slots=True)
class OrdsRecord:
    """One ORDS v0.3 record: one item brought to one repair event.

    The fields are the ORDS columns in order; ``None`` is an empty cell. The constructor
    checks what the published schema checks (id shape, country code, the category name and
    its id, year, age), so a record that exists can be exported as valid ORDS; it raises
    ``ValueError`` naming every broken field otherwise.
    """

    id: str
    data_provider: str
    country: str
    partner_product_category: str
    product_category: str
    product_category_id: int
    brand: str | None
    year_of_manufacture: int | None
    product_age: Decimal | float | None
    repair_status: RepairStatus
    repair_barrier_if_end_of_life: RepairBarrier | None
    group_identifier: str | None
    event_date: date
    problem: str | None

    def __post_init__(self) -> None:
        problems: list[tuple[str, str]] = []

        def check(column: str, message: str | None) -> None:
            if message is not None:
                problems.append((column, message))

        check("id", _id_problem(self.id))
        for column in _REQUIRED_TEXT:
            check(column, None if getattr(self, column).strip() else "is required")
        check("country", _country_problem(self.country))
        category = _category_problem(self.product_category, self.product_category_id)
        if category is not None:
            problems.append(category)
        if self.year_of_manufacture is not None:
            check("year_of_manufacture", _year_problem(self.year_of_manufacture))
        if self.product_age is not None:
            check("product_age", _age_problem(self.product_age))
        if not isinstance(self.repair_status, RepairStatus):
            problems.append(("repair_status", "must be a RepairStatus"))
        barrier = self.repair_barrier_if_end_of_life
        if barrier is not None and not isinstance(barrier, RepairBarrier):
            problems.append(("repair_barrier_if_end_of_life", "must be a RepairBarrier"))
        if isinstance(self.event_date, datetime) or not isinstance(self.event_date, date):
            problems.append(("event_date", "must be a date (not a datetime)"))
        if problems:
            detail = "; ".join(f"{column} {message}" for column, message in problems)
            raise ValueError(f"invalid ORDS record {self.id!r}: {detail}")


# --- Scrubbing personal data ---------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")

# A run of digits may be split by single separators: "912 34 567", "1234.56.78903".
_SEP = r"[ .\-]"
# Not in the middle of a longer run of digits (before and after).
_START = r"(?<![0-9])(?<![0-9][ .\-])"
_END = r"(?![0-9]|[ .\-][0-9])"
_TRAILING_PUNCTUATION = ".,;:!?)]}'\"»”’"  # noqa: RUF001 - typographic quotes end sentences

# Bare domains (no scheme, no www., no path) count as links only with these endings. "no"
# is also a word: "not working.no power" is a sentence missing a space, so a bare .no domain
# followed by a lower-case word is text.
_COMMON_TLDS = r"(?i:com|net|org|info|eu|io|uk)(?![\w\-])|(?i:no)(?![\w\-])(?! [a-zæøå])"
_LABEL = r"[^\W_](?:[\w\-]{0,61}[^\W_])?"
_AMOUNT_NUMBER = r"(?:[0-9]{1,3}(?:[ .][0-9]{3})+|[0-9]+)"
_DAY = r"(?:0[1-9]|[12][0-9]|3[01])"
_MONTH = r"(?:0[1-9]|1[0-2])"
# What names a product, part or version: the number after it is kept as it is.
_PRODUCT_WORDS = (
    "model",
    "modell",
    "model no",
    "model no.",
    "part",
    "part no",
    "part no.",
    "part number",
    "delenummer",
    "delenr",
    "delenr.",
    "art.nr",
    "art.nr.",
    "type",
    "version",
    "versjon",
    "firmware",
    "fastvare",
    "build",
)
_AFTER_PRODUCT_WORD = "|".join(
    f"(?<={re.escape(word)} )|(?<={re.escape(word)}: )" for word in _PRODUCT_WORDS
)

_PATTERNS: Final[tuple[tuple[str, str], ...]] = (
    # kari.nordmann@example.no, also with æøå (internationalised addresses).
    ("email", r"(?<![\w.%+\-])[\w.%+\-]+@(?:[\w\-]+\.)+[^\W\d_]{2,}"),
    ("url", r"(?i:\b(?:https?|ftp)://|(?<![\w.\-])www\.)[^\s<>\"]+"),
    # A bare domain with a path is a link (any TLD); without a path only common TLDs count,
    # so that abbreviations ("f.eks.", "bl.a.") and file names ("manual.pdf") survive.
    (
        "domain",
        rf"(?<![\w@.\-/])(?:{_LABEL}\.)+(?:[^\W\d_]{{2,24}}/[^\s<>\"]*|{_COMMON_TLDS})"
        # A hyphenated name is a site, not a missing space: "kari-nordmann.no har bilder".
        r"|(?<![\w@.\-/])[^\W_][\w]*-[\w\-]*\.(?i:no)(?![\w\-])",
    ),
    # A fødselsnummer written with its date: "010190 12345", "01.01.1990 12345".
    (
        "birth_number",
        rf"{_START}{_DAY}(?P<birth_sep>[./]?){_MONTH}(?P=birth_sep)(?:19|20)?[0-9]{{2}}"
        rf" [0-9]{{5}}{_END}",
    ),
    # A Norwegian account number as it is written: 1234.56.78903, 1234 56 78903.
    (
        "account",
        rf"{_START}[0-9]{{4}}(?P<account_sep>[ .])[0-9]{{2}}(?P=account_sep)[0-9]{{5}}{_END}",
    ),
    # A payment card as it is written, 4111 1111 1111 1111 (replaced if its Luhn digit fits).
    ("card", rf"{_START}[0-9]{{4}}(?:[ \-][0-9]{{4}}){{2,3}}(?:[ \-][0-9]{{1,3}})?{_END}"),
    # Kept as they are: dates, year ranges, amounts of money, and what follows a product
    # word ("model 330215", "part number 427694"): repair context, identifying no one.
    (
        "keep",
        rf"{_START}(?:"
        r"(?:19|20)[0-9]{2}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
        r"|(?:0?[1-9]|[12][0-9]|3[01])(?P<date_sep>[./\-])(?:0?[1-9]|1[0-2])(?P=date_sep)"
        r"(?:19|20)?[0-9]{2}"
        r"|(?:19|20)[0-9]{2}[-–](?:19|20)[0-9]{2}"  # noqa: RUF001 - the en dash of a range
        rf"|(?i:(?<=kr )|(?<=kr\. )|(?<=nok )){_AMOUNT_NUMBER}"
        rf"|{_AMOUNT_NUMBER}(?=,-|(?:,[0-9]{{2}})?\s?(?i:kr|kroner|nok)\b)"
        rf"){_END}"
        rf"|(?i:{_AFTER_PRODUCT_WORD})[0-9A-Za-z][0-9A-Za-z\-./]*",
    ),
    # +47 912 34 567, 0047 91234567, +44 20 7946 0958, +44 (0)20 7946 0958.
    (
        "international_phone",
        r"(?:(?<![\w+])\+|(?<![0-9])00)[1-9][0-9]{0,2}"
        r"(?:[ .\-]?(?:\([0-9]{1,4}\)|[0-9]{1,4})){2,6}",
    ),
    # (555) 123-4567, 555-123-4567.
    (
        "north_american_phone",
        rf"{_START}(?:\([0-9]{{3}}\) ?[0-9]{{3}}|[0-9]{{3}}[.\-][0-9]{{3}})[ .\-][0-9]{{4}}{_END}",
    ),
    # British numbers as written at home (the Welsh repair cafés' data): 07700 900123,
    # 01632 960123, 020 7946 0958, 029 2018 0000; 10 or 11 digits from a 0.
    (
        "uk_phone",
        rf"{_START}0[1-9][0-9]{{1,3}}(?:[ \-]?[0-9]{{3,4}}){{2}}{_END}",
    ),
    # Norwegian numbers: eight digits, the first 2-9, written 91234567, 912 34 567,
    # 22 12 34 56, 912 34567 or 9123 4567.
    (
        "norwegian_phone",
        rf"{_START}[2-9](?:[0-9]{{7}}"
        r"|[0-9]{2}[ \-][0-9]{2}[ \-][0-9]{3}"
        r"|[0-9](?:[ \-][0-9]{2}){3}"
        r"|[0-9]{2}[ \-][0-9]{5}"
        rf"|[0-9]{{3}}[ \-][0-9]{{4}}){_END}",
    ),
    # Any other run of digits: a personal or account number if it checks as one (below).
    ("digits", r"(?<![0-9])[0-9]+(?![0-9])"),
)
_PERSONAL = re.compile("|".join(f"(?P<{name}>{pattern})" for name, pattern in _PATTERNS))
_MIN_DIGITS_PHONE = 8
_ACCOUNT_WEIGHTS = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
_BIRTH_WEIGHTS = ((3, 7, 6, 1, 8, 9, 4, 5, 2), (5, 4, 3, 2, 7, 6, 5, 4, 3, 2))


def _digit_count(text: str) -> int:
    return sum(character in "0123456789" for character in text)


def _mod11(digits: str, weights: tuple[int, ...]) -> bool:
    """The last digit is the mod-11 control digit of those before it."""
    total = sum(int(d) * w for d, w in zip(digits, weights, strict=False))
    control = (11 - total % 11) % 11
    return control != 10 and control == int(digits[len(weights)])


def _looks_like_birth_number(digits: str) -> bool:
    """Eleven digits that start with a day and a month (a D-number adds 40 to the day): a
    fødselsnummer, whether or not its control digits were typed right."""
    day, month = int(digits[:2]), int(digits[2:4])
    return (1 <= day <= 31 or 41 <= day <= 71) and 1 <= month <= 12


def _luhn(digits: str) -> bool:
    total = 0
    for i, d in enumerate(reversed(digits)):
        n = int(d) * (2 if i % 2 else 1)
        total += n - 9 if n > 9 else n
    return total % 10 == 0


def _personal_number(digits: str) -> bool:
    """A run of digits that is a fødselsnummer, a Norwegian account number, or a payment
    card or IMEI number (13-19 digits with a valid Luhn digit)."""
    if len(digits) == 11:
        return _looks_like_birth_number(digits) or _mod11(digits, _ACCOUNT_WEIGHTS)
    return 13 <= len(digits) <= 19 and _luhn(digits)


def _replace_link(text: str) -> str:
    stripped = text.rstrip(_TRAILING_PUNCTUATION)
    return "[url]" + text[len(stripped) :]


def _replace(match: re.Match[str]) -> str:
    kind, text = match.lastgroup, match.group()
    if kind == "email":
        return "[e-mail]"
    if kind in ("url", "domain"):
        return _replace_link(text)
    if kind == "keep":
        return text
    if kind in ("birth_number", "account"):
        return "[number]"
    if kind in ("digits", "card"):
        digits = re.sub(r"[^0-9]", "", text)
        return "[number]" if _personal_number(digits) else text
    if kind == "uk_phone" and len(text) == 11 and text.isdigit() and _looks_like_birth_number(text):
        return "[number]"  # eleven digits from a 0 and a date: a fødselsnummer
    if kind == "international_phone" and _digit_count(text) < _MIN_DIGITS_PHONE:
        return text
    return "[phone]"


def scrub_problem(text: str) -> str:
    """``text`` without personal data, for export.

    Replaced: e-mail addresses by ``[e-mail]``; links by ``[url]`` (``http(s)://`` and
    ``ftp://`` URLs, ``www.`` addresses, bare domains followed by a path such as
    ``example.com/kari``, and bare domains ending in .com, .net, .org, .info, .eu, .io, .uk
    or .no — but not ``working.no power``, a sentence missing a space, unless the name has
    a hyphen as people's own sites do); telephone numbers by
    ``[phone]`` (Norwegian eight-digit numbers as they are usually written, numbers with a
    ``+``/``00`` country code, British numbers from a 0, North American ``(555) 123-4567``);
    personal numbers by ``[number]``: a fødselsnummer (eleven digits from a day and a month,
    or written with its date), a Norwegian account number (``1234.56.78903``, or eleven
    digits with a valid control digit), a card or IMEI number (13-19 digits, Luhn).

    Kept: everything else that is repair context — model and part numbers (``Morphy Richards
    330215``, ``part number 427694``, ``WF-1000XM4``), versions (``win 10 1803``), ranges
    (``300-400V``), years, ages, dates, amounts of money, and bare domains with other
    endings (``manual.pdf``, ``f.eks.``). Names are not recognised.

    Control characters (newlines, tabs and the like) become a space; the result is trimmed.
    """
    text = _CONTROL.sub(" ", text)
    return _PERSONAL.sub(_replace, text).strip()


# --- Import --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OrdsRowError:
    """One problem in one row: ``line`` is the file's line where the row starts (the header
    is line 1), ``column`` the ORDS column, or ``None`` for the row as a whole."""

    line: int
    column: str | None
    message: str


@dataclass(frozen=True, slots=True)
class OrdsParseResult:
    """The valid rows of an upload as records, and what was wrong with the others.

    ``errors`` holds at most ``MAX_ROW_ERRORS`` errors, in file order; ``error_count`` is the
    number found in all. A row with any error gives no record.
    """

    records: list[OrdsRecord] = field(default_factory=list)
    errors: list[OrdsRowError] = field(default_factory=list)
    error_count: int = 0
    # The file's line where each record's row starts, parallel to ``records``.
    lines: list[int] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return self.error_count == 0


_INTEGER = re.compile(r"[0-9]+")
_YEAR = re.compile(r"[0-9]{4}")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_STATUSES = ", ".join(status.value for status in RepairStatus)
_BARRIERS = ", ".join(barrier.value for barrier in RepairBarrier)


def _barrier_key(text: str) -> str:
    """A barrier's spelling reduced to what tells the barriers apart: case, spacing, the
    articles and a trailing full stop do not ("No way to open the product." is "No way to
    open product")."""
    words = re.sub(r"[^\w]+", " ", text.casefold()).split()
    return " ".join(word for word in words if word not in ("the", "a", "an"))


# Each barrier by its reduced spelling; a value that reduces to none of them is an error.
_BARRIER_SPELLINGS: Final[dict[str, RepairBarrier]] = {
    _barrier_key(barrier.value): barrier for barrier in RepairBarrier
}


def _read_header(cells: list[str] | None) -> dict[str, int]:
    """The position of each ORDS column in the file."""
    names = [cell.strip() for cell in cells or []]
    if not any(names):
        raise OrdsFileError("The file is empty: its first line must be the ORDS header.")
    duplicated = sorted({name for name in names if names.count(name) > 1})
    unknown = [name for name in names if name not in ORDS_FIELDS]
    missing = [name for name in ORDS_FIELDS if name not in names]
    if duplicated or unknown or missing:
        parts = [
            f"{label}: {', '.join(repr(name) for name in values)}"
            for label, values in (
                ("missing", missing),
                ("not ORDS v0.3", unknown),
                ("repeated", duplicated),
            )
            if values
        ]
        raise OrdsFileError(
            "The first line must be the header with the 14 ORDS v0.3 columns ("
            + "; ".join(parts)
            + ")."
        )
    return {name: names.index(name) for name in ORDS_FIELDS}


class _RowParser:
    """Turns one row's cells into a record, collecting every problem on the way."""

    def __init__(self, line: int, cells: dict[str, str]) -> None:
        self.line = line
        self.cells = cells
        self.errors: list[OrdsRowError] = []

    def error(self, column: str, message: str) -> None:
        self.errors.append(OrdsRowError(self.line, column, message))

    def text(self, column: str, *, required: bool) -> str | None:
        value = self.cells[column]
        if value.strip():
            return value
        if required:
            self.error(column, "is required")
        return None

    def matching(self, column: str, check: str | None) -> None:
        if check is not None:
            self.error(column, check)

    def integer(self, column: str) -> int | None:
        value = self.cells[column]
        if _INTEGER.fullmatch(value):
            return int(value)
        self.error(column, "must be a whole number" if value else "is required")
        return None

    def year(self) -> int | None:
        value = self.cells["year_of_manufacture"]
        if not value:
            return None
        if _YEAR.fullmatch(value) and _year_problem(int(value)) is None:
            return int(value)
        self.error("year_of_manufacture", "must be a four-digit year such as 2019, or empty")
        return None

    def age(self) -> Decimal | None:
        value = self.cells["product_age"]
        if not value:
            return None
        if not _NUMBER.fullmatch(value):
            self.error("product_age", "must be a number of years such as 11 or 2.5, or empty")
            return None
        age = Decimal(value)
        if age < 0:
            self.error("product_age", "must not be negative")
            return None
        return age

    def status(self) -> RepairStatus | None:
        value = self.cells["repair_status"]
        try:
            return RepairStatus(value)
        except ValueError:
            self.error("repair_status", f"must be one of: {_STATUSES}")
            return None

    def barrier(self) -> RepairBarrier | None:
        value = self.cells["repair_barrier_if_end_of_life"]
        if not value.strip():
            return None
        barrier = _BARRIER_SPELLINGS.get(_barrier_key(value))
        if barrier is None:
            self.error("repair_barrier_if_end_of_life", f"must be empty or one of: {_BARRIERS}")
        return barrier

    def event_date(self) -> date | None:
        value = self.cells["event_date"]
        if _ISO_DATE.fullmatch(value):
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        self.error("event_date", "must be a date as yyyy-mm-dd" if value else "is required")
        return None

    def record(self) -> OrdsRecord | None:
        id_ = self.cells["id"]
        self.matching("id", _id_problem(id_))
        data_provider = self.text("data_provider", required=True)
        country = self.cells["country"]
        self.matching("country", _country_problem(country))
        partner_category = self.text("partner_product_category", required=True)
        category = self.cells["product_category"]
        category_id = self.integer("product_category_id")
        if category not in _CATEGORY_IDS:
            self.error("product_category", "must be one of the 40 ORDS product categories")
        elif category_id is not None:
            mismatch = _category_problem(category, category_id)
            if mismatch is not None:
                self.error(*mismatch)
        brand = self.text("brand", required=False)
        year = self.year()
        age = self.age()
        status = self.status()
        barrier = self.barrier()
        group = self.text("group_identifier", required=False)
        event_date = self.event_date()
        problem = self.text("problem", required=False)
        if (
            self.errors
            or data_provider is None
            or partner_category is None
            or category_id is None
            or status is None
            or event_date is None
        ):
            return None
        return OrdsRecord(
            id=id_,
            data_provider=data_provider,
            country=country,
            partner_product_category=partner_category,
            product_category=category,
            product_category_id=category_id,
            brand=brand,
            year_of_manufacture=year,
            product_age=age,
            repair_status=status,
            repair_barrier_if_end_of_life=barrier,
            group_identifier=group,
            event_date=event_date,
            problem=problem,
        )


@dataclass(frozen=True, slots=True)
class OrdsRow:
    """One row of a file: its record when it is valid, else its errors."""

    line: int
    record: OrdsRecord | None
    errors: list[OrdsRowError]


def iter_ords_rows(text: Iterable[str], *, max_rows: int) -> Iterator[OrdsRow]:
    """The rows of an ORDS v0.3 CSV file read line by line (``text`` yields its lines, e.g. a
    file opened with ``newline=""``), as ``parse_ords_csv`` checks them, in file order; an
    import reads a file of any size with it in constant memory (but for the ids seen, which
    must be unique). Raises ``OrdsFileError`` as ``parse_ords_csv`` does, also for text that
    turns out not to be UTF-8 on the way."""
    reader = csv.reader(text, strict=True)
    first_line: dict[str, int] = {}
    try:
        columns = _read_header(next(reader, None))
        width = len(ORDS_FIELDS)  # the header's, as _read_header has checked
        rows = 0
        while True:
            line = reader.line_num + 1
            cells = next(reader, None)
            if cells is None:
                return
            if not cells:
                continue
            rows += 1
            if rows > max_rows:
                raise OrdsFileError(f"The file has more than {max_rows:,} rows.")
            if any("\x00" in cell for cell in cells):
                # The csv module reads them, but no text column of PostgreSQL can hold one.
                raise OrdsFileError(f"Line {line} contains NUL characters; it is not text.")
            record: OrdsRecord | None
            if len(cells) != width:
                row_errors = [
                    OrdsRowError(line, None, f"has {len(cells)} cells; the header has {width}")
                ]
                record = None
            else:
                parser = _RowParser(line, {name: cells[i] for name, i in columns.items()})
                record = parser.record()
                row_errors = parser.errors
                id_ = cells[columns["id"]]
                if id_ in first_line:
                    row_errors.append(
                        OrdsRowError(line, "id", f"repeats the id on line {first_line[id_]}")
                    )
                    record = None
                elif id_:
                    first_line[id_] = line
            yield OrdsRow(line, None if row_errors else record, row_errors)
    except csv.Error as exc:
        raise OrdsFileError(f"Line {reader.line_num}: the CSV cannot be read ({exc}).") from exc
    except UnicodeDecodeError:
        raise OrdsFileError(
            f"The file is not UTF-8 text (near line {reader.line_num + 1})."
        ) from None


def parse_ords_csv(raw: bytes, *, max_rows: int = 50_000) -> OrdsParseResult:
    """Read an uploaded ORDS v0.3 CSV file.

    The file is UTF-8, with or without a BOM; its first line is the header, which must name
    the 14 ORDS columns, each once, in any order, and nothing else. Every row is checked as
    the ORDS schema says (see ``OrdsRecord``), ids must be unique within the file, and
    ``partner_product_category`` is required, as the schema has it. Empty cells are
    ``None``; other values are kept as written (``brand`` ``Unknown`` stays ``Unknown``), and
    ``problem`` is not scrubbed. Blank lines are skipped.

    Raises ``OrdsFileError`` for a file that is not UTF-8 (or holds NUL characters), has no
    or the wrong header, breaks CSV quoting, or has more than ``max_rows`` rows.
    """
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise OrdsFileError(
            f"The file is not UTF-8 text (byte {exc.start} cannot be decoded)."
        ) from exc
    if "\x00" in text:
        # The csv module reads them, but no text column of PostgreSQL can hold one.
        raise OrdsFileError("The file contains NUL characters; it is not a text file.")
    records: list[OrdsRecord] = []
    lines: list[int] = []
    errors: list[OrdsRowError] = []
    error_count = 0
    for row in iter_ords_rows(io.StringIO(text, newline=""), max_rows=max_rows):
        if row.record is not None:
            records.append(row.record)
            lines.append(row.line)
        error_count += len(row.errors)
        errors.extend(row.errors[: max(0, MAX_ROW_ERRORS - len(errors))])
    return OrdsParseResult(records=records, errors=errors, error_count=error_count, lines=lines)
