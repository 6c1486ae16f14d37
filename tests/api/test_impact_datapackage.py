"""GET /v1/impact/datapackage/{year}.zip: a Frictionless Data Package the reference validator
accepts, whose every cell is the cell of GET /v1/impact, reproducible byte for byte for the
same database state, and every documented error."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from frictionless import validate

from app.repositories.impact.report import ImpactReportRepository
from app.services.impact.periods import NORWAY
from app.services.impact.query import MAX_INDICATORS
from tests.api.test_impact import Ledger, ledger  # noqa: F401 - the fixture
from tests.clock import Clock, frozen
from tests.problems import assert_problem

YEAR = 2025
NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
URL = f"/v1/impact/datapackage/{YEAR}.zip"
MAY = datetime(2025, 5, 1, tzinfo=UTC)
JUNE = datetime(2025, 6, 10, tzinfo=UTC)


@pytest.fixture(autouse=True)
def clock(app: FastAPI) -> Iterator[Clock]:
    with frozen(app, NOW) as clock:
        yield clock


@dataclass(frozen=True)
class Package:
    response: httpx.Response
    archive: zipfile.ZipFile
    descriptor: dict[str, Any]

    def table(self, name: str) -> list[dict[str, str]]:
        data = self.archive.read(f"data/{name}.csv").decode("utf-8")
        return list(csv.DictReader(io.StringIO(data, newline="")))

    def resources(self, grouping: str | None = None) -> list[dict[str, Any]]:
        return [
            r
            for r in self.descriptor["resources"]
            if grouping is None or r["sirkel:grouping"] == grouping
        ]


async def fetch(client: httpx.AsyncClient, url: str = URL, **params: str) -> Package:
    response = await client.get(url, params=params)
    assert response.status_code == 200, response.text
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    return Package(response, archive, json.loads(archive.read("datapackage.json")))


@pytest.fixture
async def seeded(ledger: Ledger) -> Ledger:  # noqa: F811
    """Ten repairs in Oslo in May (shown), three in Bergen in June (suppressed, and so Oslo
    beside it in the line of kommuner)."""
    await ledger.repairs(10, kommune="0301", when=MAY)
    await ledger.repairs(3, kommune="4601", when=JUNE)
    return ledger


# --- the package ----------------------------------------------------------------------------


async def test_the_package_is_valid_for_the_reference_validator(
    client: httpx.AsyncClient, seeded: Ledger, tmp_path: Path
) -> None:
    package = await fetch(client)
    assert package.response.headers["content-type"] == "application/zip"
    assert package.response.headers["content-disposition"] == (
        'attachment; filename="sirkel-impact-2025-norway.zip"'
    )
    names = package.archive.namelist()
    assert names[0] == "datapackage.json"
    assert names[1:] == [r["path"] for r in package.resources()]
    package.archive.extractall(tmp_path)

    report = validate(tmp_path / "datapackage.json")
    assert report.valid, report.flatten(["resourceName", "rowNumber", "fieldName", "type", "note"])

    descriptor = package.descriptor
    assert descriptor["name"] == "sirkel-impact-2025-norway"
    assert descriptor["licenses"][0]["name"] == "CC-BY-4.0"
    source_licences = {lic["name"] for s in descriptor["sources"] for lic in s.get("licenses", [])}
    assert {"CC-BY-4.0", "CC-BY-SA-4.0"} <= source_licences
    assert "Statistisk sentralbyrå" in json.dumps(descriptor["sources"], ensure_ascii=False)
    assert "Kartverket" in json.dumps(descriptor["sources"], ensure_ascii=False)
    assert "suppressed" in descriptor["sirkel:suppression"]
    head = await ImpactReportRepository(seeded.session).ledger_head()
    assert head is not None
    assert descriptor["sirkel:ledger_head"]["seq"] == head.seq
    assert descriptor["sirkel:ledger_head"]["hash"] == head.hash_hex
    assert descriptor["version"] == str(head.seq)
    # The records are about 2025 but registered now, after it ended: in, but not by year-end.
    assert descriptor["sirkel:ledger_head_at_year_end"] is None
    assert descriptor["sirkel:groupings"] == [
        "total",
        "month",
        "fylke",
        "kommune",
        "category",
        "sector",
    ]
    repairs = {r["name"]: r for r in package.resources() if r["name"].startswith("sg1.repairs.")}
    assert {"sg1.repairs.count.total", "sg1.repairs.count.kommune"} <= set(repairs)
    count = repairs["sg1.repairs.count.kommune"]
    assert count["schema"]["primaryKey"] == ["year", "kommune"]
    assert count["sirkel:indicator"]["id"] == "sg1.repairs.count"
    assert isinstance(count["sirkel:frameworks"], list)
    assert any(r["sirkel:frameworks"] for r in package.resources())


@pytest.mark.usefixtures("seeded")
async def test_each_file_has_the_size_and_hash_its_resource_states(
    client: httpx.AsyncClient,
) -> None:
    package = await fetch(client)
    for resource in package.resources():
        data = package.archive.read(resource["path"])
        assert resource["bytes"] == len(data), resource["name"]
        assert resource["hash"] == f"sha256:{hashlib.sha256(data).hexdigest()}"
        assert data.startswith(b"year,"), resource["name"]
        assert b"\r\n" in data


@pytest.mark.usefixtures("seeded")
async def test_every_cell_is_the_cell_of_the_aggregate(client: httpx.AsyncClient) -> None:
    package = await fetch(client)
    compared = 0
    for grouping in package.descriptor["sirkel:groupings"]:
        resources = package.resources(grouping)
        ids = [r["sirkel:indicator"]["id"] for r in resources]
        expected: dict[str, list[tuple[Any, ...]]] = {i: [] for i in ids}
        for start in range(0, len(ids), MAX_INDICATORS):
            params: dict[str, Any] = {
                "indicator": ",".join(ids[start : start + MAX_INDICATORS]),
                "from": f"{YEAR}-01",
                "to": f"{YEAR}-12",
            }
            if grouping != "total":
                params["group_by"] = grouping
            response = await client.get("/v1/impact", params=params)
            assert response.status_code == 200, response.text
            for row in response.json()["rows"]:
                expected[row["indicator"]].append(
                    (
                        row["keys"].get(grouping),
                        None if row["value"] is None else Decimal(str(row["value"])),
                        row["records"],
                        row["suppressed"],
                        row["suppression"],
                    )
                )
        for resource in resources:
            rows = package.table(resource["name"])
            got = [
                (
                    row[grouping] or None if grouping != "total" else None,
                    Decimal(row["value"]) if row["value"] else None,
                    int(row["records"]) if row["records"] else None,
                    row["suppressed"] == "true",
                    row["suppression"] or None,
                )
                for row in rows
            ]
            indicator = resource["sirkel:indicator"]["id"]
            assert sorted(got, key=_order) == sorted(expected[indicator], key=_order), resource[
                "name"
            ]
            compared += len(got)
    assert compared > 0


def _order(row: tuple[Any, ...]) -> str:
    return str(row[0] or "")


@pytest.mark.usefixtures("seeded")
async def test_a_suppressed_cell_is_empty_and_cannot_be_recovered(
    client: httpx.AsyncClient,
) -> None:
    package = await fetch(client)
    kommuner = {r["kommune"]: r for r in package.table("sg1.repairs.count.kommune")}
    assert set(kommuner) == {"0301", "4601"}
    bergen = kommuner["4601"]
    assert (bergen["value"], bergen["records"], bergen["suppressed"]) == ("", "", "true")
    assert bergen["suppression"] == "primary"
    assert bergen["kommune_name"] == "Bergen"
    # Oslo is hidden beside it, so the total (13, shown) minus Oslo cannot give Bergen's 3.
    oslo = kommuner["0301"]
    assert (oslo["value"], oslo["suppressed"], oslo["suppression"]) == ("", "true", "complementary")
    (total,) = package.table("sg1.repairs.count.total")
    assert (total["value"], total["records"], total["suppressed"]) == ("13", "13", "false")
    months = {r["month"]: r for r in package.table("sg1.repairs.count.month")}
    assert set(months) == {"2025-05", "2025-06"}
    assert months["2025-06"]["value"] == ""
    assert months["2025-05"]["value"] == ""  # hidden beside June in the year and the quarter
    # Anywhere in the package, a suppressed row shows nothing.
    for resource in package.resources():
        for row in package.table(resource["name"]):
            if row["suppressed"] == "true":
                assert (row["value"], row["records"]) == ("", ""), resource["name"]
            else:
                assert row["suppressed"] == "false"
                assert row["suppression"] == ""


async def test_the_same_state_gives_the_same_bytes_and_a_new_record_changes_them(
    client: httpx.AsyncClient, seeded: Ledger, clock: Clock
) -> None:
    first = await fetch(client)
    clock.now = NOW + timedelta(days=40, hours=3)  # later: nothing in it says when
    second = await fetch(client)
    assert first.response.content == second.response.content
    etag = first.response.headers["etag"]
    assert etag == f'"{hashlib.sha256(first.response.content).hexdigest()}"'
    assert second.response.headers["etag"] == etag
    for info in first.archive.infolist():
        assert info.date_time == (1980, 1, 1, 0, 0, 0)
        assert info.compress_type == zipfile.ZIP_DEFLATED
        assert info.external_attr == 0o100644 << 16

    await seeded.repairs(1, kommune="0301", when=MAY)
    third = await fetch(client)
    assert third.response.content != first.response.content
    assert third.response.headers["etag"] != etag
    before, after = first.descriptor["sirkel:ledger_head"], third.descriptor["sirkel:ledger_head"]
    assert after["seq"] == before["seq"] + 1
    assert after["hash"] != before["hash"]
    (total,) = third.table("sg1.repairs.count.total")
    assert total["value"] == "14"


async def test_the_head_at_year_end_is_the_last_record_registered_in_the_year(
    client: httpx.AsyncClient, seeded: Ledger, clock: Clock
) -> None:
    head = await ImpactReportRepository(seeded.session).ledger_head()
    assert head is not None
    # Records are registered now (the database's time): ask for the year they were in.
    clock.now = head.recorded_at
    year = head.recorded_at.astimezone(NORWAY).year
    package = await fetch(client, url=f"/v1/impact/datapackage/{year}.zip")
    expected = {"seq": head.seq, "hash": head.hash_hex}
    for key in ("sirkel:ledger_head_at_year_end", "sirkel:ledger_head"):
        assert {k: package.descriptor[key][k] for k in ("seq", "hash")} == expected
    recorded = datetime.fromisoformat(package.descriptor["created"])
    assert recorded == head.recorded_at


@pytest.mark.usefixtures("seeded")
async def test_a_known_etag_is_answered_with_304(client: httpx.AsyncClient) -> None:
    package = await fetch(client)
    etag = package.response.headers["etag"]
    for sent in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        response = await client.get(URL, headers={"If-None-Match": sent})
        assert response.status_code == 304, sent
        assert response.content == b""
        assert response.headers["etag"] == etag
    response = await client.get(URL, headers={"If-None-Match": '"other"'})
    assert response.status_code == 200
    assert response.content == package.response.content


@pytest.mark.usefixtures("seeded")
async def test_a_kommune_package_has_no_place_groupings(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    package = await fetch(client, kommune="0301")
    descriptor = package.descriptor
    assert descriptor["name"] == "sirkel-impact-2025-kommune-0301"
    assert package.response.headers["content-disposition"] == (
        'attachment; filename="sirkel-impact-2025-kommune-0301.zip"'
    )
    assert descriptor["sirkel:area"] == {"kind": "kommune", "number": "0301", "name": "Oslo"}
    assert descriptor["sirkel:groupings"] == ["total", "month", "category", "sector"]
    groupings = {r["sirkel:grouping"] for r in package.resources()}
    assert groupings == {"total", "month", "category", "sector"}
    assert not any(n.endswith((".fylke.csv", ".kommune.csv")) for n in package.archive.namelist())
    # Oslo alone: ten repairs, shown (Bergen's are not in the area).
    (total,) = package.table("sg1.repairs.count.total")
    assert (total["value"], total["suppressed"]) == ("10", "false")
    package.archive.extractall(tmp_path)
    report = validate(tmp_path / "datapackage.json")
    assert report.valid, report.flatten(["resourceName", "rowNumber", "fieldName", "type", "note"])


@pytest.mark.usefixtures("seeded")
async def test_a_fylke_package_groups_its_kommuner_but_not_by_fylke(
    client: httpx.AsyncClient,
) -> None:
    package = await fetch(client, fylke="46")
    assert package.descriptor["name"] == "sirkel-impact-2025-fylke-46"
    groupings = {r["sirkel:grouping"] for r in package.resources()}
    assert groupings == {"total", "month", "kommune", "category", "sector"}
    kommuner = package.table("sg1.repairs.count.kommune")
    assert [(r["kommune"], r["kommune_name"], r["suppressed"]) for r in kommuner] == [
        ("4601", "Bergen", "true")
    ]


async def test_an_empty_ledger_gives_a_valid_package_of_zeros(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    package = await fetch(client, url="/v1/impact/datapackage/2001.zip")
    descriptor = package.descriptor
    assert descriptor["sirkel:ledger_head_at_year_end"] is None
    (total,) = package.table("sg1.repairs.count.total")
    assert (total["year"], total["value"], total["records"]) == ("2001", "0", "0")
    assert package.table("sg1.repairs.count.kommune") == []
    package.archive.extractall(tmp_path)
    report = validate(tmp_path / "datapackage.json")
    assert report.valid, report.flatten(["resourceName", "rowNumber", "fieldName", "type", "note"])


# --- errors ---------------------------------------------------------------------------------


async def test_a_year_out_of_range_is_invalid_period(client: httpx.AsyncClient) -> None:
    for year in (1999, 2028):  # before 2000; after next year (it is 2026)
        response = await client.get(f"/v1/impact/datapackage/{year}.zip")
        assert_problem(response, 422, "invalid_period")
    assert (await client.get("/v1/impact/datapackage/2027.zip")).status_code == 200


async def test_an_unknown_place_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.get(URL, params={"kommune": "9999"})
    assert_problem(response, 422, "unknown_kommune")
    response = await client.get(URL, params={"fylke": "99"})
    assert_problem(response, 422, "unknown_fylke")


@pytest.mark.parametrize(("field", "value"), [("kommune", "301"), ("fylke", "3x")])
async def test_a_malformed_place_is_a_validation_problem(
    client: httpx.AsyncClient, field: str, value: str
) -> None:
    problem = assert_problem(await client.get(URL, params={field: value}), 422, "validation_failed")
    assert field in [e["field"] for e in problem["errors"]]
