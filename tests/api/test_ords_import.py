"""Importing ORDS v0.3 files as jobs: the upload answers 202, the worker validates every row
in one pass and applies the file in batches; nothing is written from a file with an invalid
row; every repair is stored and counted once — also when two organizations upload the same
records at the same time; the route's larger body limit."""

from __future__ import annotations

import asyncio
import csv
import functools
import gzip
import io
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from app.api.deps import utcnow
from app.config import PROJECT_ROOT, Settings
from app.models import Evidence, Organization, Repair
from app.models.organization import ApiKeyScope
from app.repositories.repair_import import RepairImportRepository
from app.services.impact.periods import NORWAY
from app.services.ords import ORDS_FIELDS
from app.services.repair_import import run_next, run_until_idle
from tests.api.test_embed import ClientFor
from tests.api.test_repairs import NOW, counts, repair_body, set_clock
from tests.factories import Actor, create_api_key, create_organization, create_person
from tests.problems import assert_problem
from tests.repositories.test_evidence_ledger import create_repair

SAMPLE = PROJECT_ROOT / "tests" / "fixtures" / "ords_sample.csv"
MIB = 1024 * 1024
CSV_HEADERS = {"content-type": "text/csv; charset=utf-8"}


def sample_rows() -> list[dict[str, str]]:
    with SAMPLE.open(encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file))


def csv_bytes(rows: list[dict[str, str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=ORDS_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode()


def one_row(**changes: str) -> dict[str, str]:
    row = {
        "id": "kafe_1",
        "data_provider": "Reparasjonskafé Oslo",
        "country": "NOR",
        "partner_product_category": "Bærbar PC",
        "product_category": "Laptop",
        "product_category_id": "16",
        "brand": "Lenovo",
        "year_of_manufacture": "2019",
        "product_age": "5",
        "repair_status": "Fixed",
        "repair_barrier_if_end_of_life": "",
        "group_identifier": "Reparasjonskafé Oslo",
        "event_date": "2026-11-21",
        "problem": "Byttet ladekontakt",
    }
    return row | changes


async def upload(
    client: httpx.AsyncClient,
    who: dict[str, str],
    org: Organization,
    body: bytes,
    content_type: str = "text/csv; charset=utf-8",
    **params: str,
) -> httpx.Response:
    return await client.post(
        "/v1/repairs/import",
        params={"organization_id": str(org.id), **params},
        content=body,
        headers={**who, "content-type": content_type},
    )


Worker = Callable[[], Awaitable[list[uuid.UUID]]]


@pytest.fixture
def work(connection: AsyncConnection, settings: Settings) -> Worker:
    """Runs the worker's import jobs until none is left, inside the test's transaction."""
    sessions = async_sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )

    async def run() -> list[uuid.UUID]:
        return await run_until_idle(sessions, settings.imports, lambda: NOW)

    return run


async def import_file(
    client: httpx.AsyncClient,
    work: Worker,
    who: dict[str, str],
    org: Organization,
    body: bytes,
    **params: str,
) -> dict[str, Any]:
    """Uploads, works the job, and returns it as GET /v1/imports/{id} shows it."""
    response = await upload(client, who, org, body, **params)
    assert response.status_code == 202, response.text
    job = response.json()
    assert response.headers["location"] == f"/v1/imports/{job['id']}"
    assert job["state"] == "queued"
    assert job["id"] in {str(i) for i in await work()}
    done = await client.get(f"/v1/imports/{job['id']}", headers=who)
    assert done.status_code == 200, done.text
    result: dict[str, Any] = done.json()
    return result


def counted(job: dict[str, Any]) -> dict[str, int]:
    """The job's counts that are not zero."""
    return {k: v for k, v in job["counts"].items() if v}


async def imported(session: AsyncSession, data_provider: str) -> dict[str, Repair]:
    rows = await session.execute(
        select(Repair)
        .where(Repair.data_provider == data_provider)
        .execution_options(populate_existing=True)
    )
    return {r.provider_record_id: r for r in rows.scalars()}


async def evidence_of(session: AsyncSession, data_provider: str) -> list[Evidence]:
    ids = select(Repair.id).where(Repair.data_provider == data_provider)
    rows = await session.execute(
        select(Evidence).where(Evidence.repair_id.in_(ids)).order_by(Evidence.seq)
    )
    return list(rows.scalars())


@pytest.fixture(autouse=True)
def fixed_clock(app: FastAPI) -> Iterator[None]:
    set_clock(app, NOW)
    yield
    app.dependency_overrides.pop(utcnow, None)


@pytest.fixture
async def owner(session: AsyncSession, settings: Settings) -> Actor:
    return await create_person(session, settings)


@pytest.fixture
async def stranger(session: AsyncSession, settings: Settings) -> Actor:
    return await create_person(session, settings)


@pytest.fixture
async def cafe(session: AsyncSession, owner: Actor) -> Organization:
    return await create_organization(session, owner=owner, name="Reparasjonskafé Oslo")


# --- importing --------------------------------------------------------------------------------


async def test_the_sample_is_stored_and_counted_once_however_often_it_is_uploaded(
    client: httpx.AsyncClient,
    session: AsyncSession,
    owner: Actor,
    cafe: Organization,
    work: Worker,
) -> None:
    raw = SAMPLE.read_bytes()
    first = await import_file(client, work, owner.headers, cafe, raw)
    assert first["state"] == "done"
    assert first["finished_at"] is not None
    assert counted(first) == {"rows": 50, "written": 50, "inserted": 50}
    assert (first["mode"], first["error_count"], first["errors"]) == ("append", 0, [])
    again = await import_file(client, work, owner.headers, cafe, raw)
    assert counted(again) == {"rows": 50, "written": 50, "unchanged": 50}

    repairs = await imported(session, "Fixit Clinic")
    assert len(repairs) == 50
    assert {r.source for r in repairs.values()} == {"imported"}
    assert {r.organization_id for r in repairs.values()} == {cafe.id}
    assert {r.country for r in repairs.values()} == {"USA"}
    assert {r.kommunenummer for r in repairs.values()} == {None}
    assert {str(r.import_id) for r in repairs.values()} == {first["id"]}
    records = await evidence_of(session, "Fixit Clinic")
    assert len(records) == 50
    assert {(r.record_count, r.event, r.grade, r.type, r.subgoal) for r in records} == {
        (1, "imported", "imported", "repair", "SG1")
    }
    party = await session.scalar(text("SELECT sirkel_party('organization', :id)"), {"id": cafe.id})
    assert {r.provider_party for r in records} == {party}
    assert {r.kommunenummer for r in records} == {None}
    # Each on its repair's day, in Norwegian time, as a repair logged one by one.
    by_repair = {r.repair_id: r for r in records}
    for repair in repairs.values():
        occurred = by_repair[repair.id].occurred_at.astimezone(NORWAY)
        assert (occurred.date(), occurred.hour, occurred.minute) == (repair.event_date, 0, 0)
    # The job is over: its file and its staging rows are gone.
    assert await session.scalar(text("SELECT count(*) FROM repair_import_rows")) == 0
    assert (
        await session.scalar(text("SELECT count(*) FROM repair_imports WHERE file IS NOT NULL"))
        == 0
    )
    listed = await client.get(
        "/v1/imports", params={"organization_id": str(cafe.id)}, headers=owner.headers
    )
    # Newest first (here both at the test's one moment: then by id).
    assert sorted(j["id"] for j in listed.json()["items"]) == sorted([again["id"], first["id"]])


async def test_a_gzip_file_is_imported_however_it_says_so(
    client: httpx.AsyncClient, owner: Actor, cafe: Organization, work: Worker
) -> None:
    raw = gzip.compress(csv_bytes([one_row(id=f"kafe_{i}") for i in range(3)]))
    as_type = await import_file(
        client, work, owner.headers, cafe, raw, content_type="application/gzip"
    )
    assert (as_type["gzip"], as_type["file_bytes"], counted(as_type)["inserted"]) == (
        True,
        len(raw),
        3,
    )
    raw = gzip.compress(csv_bytes([one_row(id=f"kafe_{i}") for i in range(3, 5)]))
    sniffed = await import_file(client, work, owner.headers, cafe, raw)  # said text/csv
    assert (sniffed["gzip"], counted(sniffed)["inserted"]) == (True, 2)
    encoded = await client.post(
        "/v1/repairs/import",
        params={"organization_id": str(cafe.id)},
        content=gzip.compress(csv_bytes([one_row(id="kafe_9")])),
        headers={**owner.headers, **CSV_HEADERS, "content-encoding": "gzip"},
    )
    assert encoded.status_code == 202, encoded.text
    assert encoded.json()["gzip"] is True
    await work()


async def test_imported_records_keep_their_fields_and_fixed_ones_carry_impact(
    client: httpx.AsyncClient,
    session: AsyncSession,
    owner: Actor,
    cafe: Organization,
    work: Worker,
) -> None:
    await import_file(client, work, owner.headers, cafe, SAMPLE.read_bytes())
    repairs = await imported(session, "Fixit Clinic")
    first = repairs["fixitclinic_1690"]
    assert (first.partner_product_category, first.ords_category_id) == ("Food processor", 37)
    assert (first.brand, first.year_of_manufacture, first.product_age) == (
        "Cuisinart",
        2009,
        Decimal("11.0"),
    )
    assert (first.repair_status, first.group_identifier) == ("Unknown", "Fixit Clinic")
    assert first.event_date.isoformat() == "2020-01-01"
    assert first.problem.startswith("I hadn’t used it in a year")  # noqa: RUF001
    # Not fixed: counted, with no kg or CO2e.
    assert (first.kg_diverted, first.co2e_kg, first.factor_revision) == (None, None, None)
    # Fixed, as our category closest to the root for the ORDS category.
    expected = {
        "fixitclinic_1434": ("laptops", "1.834", "132.660"),  # Laptop medium
        "fixitclinic_2113": ("blenders-and-food-processors", "3.068", "24.900"),  # Blender
        "fixitclinic_2114": ("electronics", "1.530", "21.400"),  # Small home electrical
        "fixitclinic_2279": ("printers-and-scanners", "12.466", "50.345"),
    }
    for record_id, (slug, kg, co2e) in expected.items():
        repair = repairs[record_id]
        assert repair.category_slug == slug
        assert (repair.kg_diverted, repair.co2e_kg) == (Decimal(kg), Decimal(co2e))
        assert repair.factor_revision is not None
    by_repair = {r.repair_id: r for r in await evidence_of(session, "Fixit Clinic")}
    laptop = by_repair[repairs["fixitclinic_1434"].id]
    assert (laptop.co2e_kg, laptop.kg_diverted) == (Decimal("132.660"), Decimal("1.834"))
    assert (laptop.category_slug, laptop.ords_category_id, laptop.repair_status) == (
        "laptops",
        16,
        "Fixed",
    )
    # The importer's members see them among the organization's repairs.
    listed = await client.get(
        "/v1/repairs", params={"organization_id": str(cafe.id), "limit": 100}, headers=owner.headers
    )
    assert len(listed.json()["items"]) == 50


async def test_misc_records_are_counted_without_a_category(
    client: httpx.AsyncClient,
    session: AsyncSession,
    owner: Actor,
    cafe: Organization,
    work: Worker,
) -> None:
    row = one_row(product_category="Misc", product_category_id="18", partner_product_category="X")
    job = await import_file(client, work, owner.headers, cafe, csv_bytes([row]))
    assert counted(job)["inserted"] == 1
    [repair] = (await imported(session, "Reparasjonskafé Oslo")).values()
    assert (repair.ords_category_id, repair.category_slug, repair.co2e_kg) == (18, None, None)
    assert (repair.country, repair.kommunenummer) == ("NOR", None)


async def test_an_imported_repair_is_not_corrected_here(
    client: httpx.AsyncClient,
    session: AsyncSession,
    owner: Actor,
    cafe: Organization,
    work: Worker,
) -> None:
    await import_file(client, work, owner.headers, cafe, csv_bytes([one_row()]))
    [repair] = (await imported(session, "Reparasjonskafé Oslo")).values()
    response = await client.patch(
        f"/v1/repairs/{repair.id}", json={"repair_status": "Unknown"}, headers=owner.headers
    )
    assert_problem(response, 409, "repair_not_editable")
    assert (await imported(session, "Reparasjonskafé Oslo"))["kafe_1"].repair_status == "Fixed"


async def test_one_unfinished_import_per_organization(
    client: httpx.AsyncClient, owner: Actor, cafe: Organization, work: Worker
) -> None:
    queued = await upload(client, owner.headers, cafe, csv_bytes([one_row()]))
    assert queued.status_code == 202
    body = assert_problem(
        await upload(client, owner.headers, cafe, csv_bytes([one_row()])), 409, "import_in_progress"
    )
    assert "in order" in body["detail"]
    await work()
    assert (await upload(client, owner.headers, cafe, csv_bytes([one_row()]))).status_code == 202


async def test_the_same_records_uploaded_by_two_organizations_at_once_are_stored_once(
    committed_client: httpx.AsyncClient, committed_engine: AsyncEngine, settings: Settings
) -> None:
    async with AsyncSession(committed_engine, expire_on_commit=False) as setup:
        person = await create_person(setup, settings)
        org = await create_organization(setup, owner=person)
        other = await create_organization(setup, owner=person)
        await setup.commit()
    # The committed database outlives this test: a provider name of its own keeps it unique.
    provider = f"Fixit Clinic {uuid.uuid4().hex[:8]}"
    raw = csv_bytes([row | {"data_provider": provider} for row in sample_rows()])
    for who in (org, other):
        assert (await upload(committed_client, person.headers, who, raw)).status_code == 202
    sessions = async_sessionmaker(committed_engine, expire_on_commit=False)
    imports = settings.imports.model_copy(update={"batch_rows": 7})

    async def worker() -> list[uuid.UUID]:
        done = []
        while (job := await run_next(sessions, imports, lambda: NOW)) is not None:
            done.append(job)
        return done

    # Two workers at once, each in small batches: every record is stored and counted once.
    ran = await asyncio.gather(worker(), worker())
    assert sum(len(r) for r in ran) >= 2
    jobs = [
        (
            await committed_client.get(
                f"/v1/imports?organization_id={o.id}", headers=person.headers
            )
        ).json()["items"][0]
        for o in (org, other)
    ]
    assert {j["state"] for j in jobs} == {"done"}
    assert sum(j["counts"]["inserted"] for j in jobs) == 50
    assert sum(j["counts"]["skipped"] for j in jobs) == 50
    async with AsyncSession(committed_engine) as check:
        assert len(await imported(check, provider)) == 50
        records = await evidence_of(check, provider)
        assert len(records) == 50
        assert len({r.repair_id for r in records}) == 50


# --- refused files: nothing stored ------------------------------------------------------------


async def test_a_file_with_invalid_rows_fails_whole_with_every_row_error(
    client: httpx.AsyncClient,
    session: AsyncSession,
    owner: Actor,
    cafe: Organization,
    work: Worker,
) -> None:
    rows = sample_rows()
    rows[2]["repair_status"] = "Mended"  # line 4
    rows[9]["event_date"] = "2020-13-01"  # line 11
    rows[9]["country"] = "US"
    before = await counts(session)
    job = await import_file(client, work, owner.headers, cafe, csv_bytes(rows))
    assert job["state"] == "failed"
    assert job["error_count"] == 3
    assert job["failure"] is None
    assert [(e["line"], e["column"]) for e in job["errors"]] == [
        (4, "repair_status"),
        (11, "country"),
        (11, "event_date"),
    ]
    for error in job["errors"]:
        assert error["location"] == "body"
        assert error["field"] == error["column"]
        assert error["type"] == "invalid_ords_row"
        assert error["message"]
    assert counted(job) == {"rows": 50}
    assert await counts(session) == before
    assert await session.scalar(text("SELECT count(*) FROM repair_import_rows")) == 0


async def test_what_partners_really_write_is_kept(
    client: httpx.AsyncClient,
    session: AsyncSession,
    owner: Actor,
    cafe: Organization,
    work: Worker,
) -> None:
    """Real partner files: problem texts of thousands of characters, a barrier on a repair
    that was not end of life (ORDS allows it), barriers spelled a little differently."""
    long_problem = "Ristet og luktet brent; " * 150  # 3,600 characters
    rows = [
        one_row(id="kafe_1", problem=long_problem),
        one_row(
            id="kafe_2",
            repair_status="Repairable",
            repair_barrier_if_end_of_life="Spare parts not available",
        ),
        one_row(
            id="kafe_3",
            repair_status="End of life",
            repair_barrier_if_end_of_life="No way to open the product.",
        ),
        one_row(
            id="kafe_4",
            repair_status="End of life",
            repair_barrier_if_end_of_life="  item too worn out ",
        ),
    ]
    job = await import_file(client, work, owner.headers, cafe, csv_bytes(rows))
    assert counted(job) == {"rows": 4, "written": 4, "inserted": 4}
    stored = await imported(session, "Reparasjonskafé Oslo")
    assert stored["kafe_1"].problem == long_problem
    assert (stored["kafe_2"].repair_status, stored["kafe_2"].repair_barrier) == (
        "Repairable",
        "Spare parts not available",
    )
    assert stored["kafe_3"].repair_barrier == "No way to open product"
    assert stored["kafe_4"].repair_barrier == "Item too worn out"


@pytest.mark.parametrize(
    ("ords_id", "name", "kg", "co2e_kg"),
    [
        # The factor's weight, and its pre-use CO2e x 0.5 (data/README.md, reuse factors).
        ("2", "Battery/charger/adapter", Decimal("0.075"), Decimal("0.275")),
        ("10", "Handheld entertainment device", Decimal("0.137"), Decimal("11.355")),
        ("21", "Paper shredder", Decimal("3.800"), Decimal("29.750")),
        ("33", "TV and gaming-related accessories", Decimal("1.989"), Decimal("25.665")),
    ],
)
async def test_fixed_repairs_of_every_ords_category_count_their_impact(
    client: httpx.AsyncClient,
    session: AsyncSession,
    owner: Actor,
    cafe: Organization,
    work: Worker,
    ords_id: str,
    name: str,
    kg: Decimal,
    co2e_kg: Decimal,
) -> None:
    row = one_row(product_category=name, product_category_id=ords_id)
    await import_file(client, work, owner.headers, cafe, csv_bytes([row]))
    repair = (await imported(session, "Reparasjonskafé Oslo"))["kafe_1"]
    assert (repair.kg_diverted, repair.co2e_kg) == (kg, co2e_kg)


async def test_a_logged_repair_still_names_a_barrier_only_at_end_of_life(
    session: AsyncSession, cafe: Organization
) -> None:
    """The database's rules for repairs logged in Sirkel stand; only imports are exempt."""
    repair = await create_repair(session, cafe)
    for change in (
        "repair_barrier = 'Lack of equipment'",  # on a Fixed repair
        "problem = repeat('x', 2001)",
        "withdrawn_at = now()",  # only an imported record is withdrawn by a release
        "release = '2025-07'",
    ):
        with pytest.raises(IntegrityError, match="ck_repairs_"):
            async with session.begin_nested():
                await session.execute(
                    text(f"UPDATE repairs SET {change} WHERE id = :id"), {"id": repair.id}
                )
    await session.execute(
        text(
            "UPDATE repairs SET source = 'imported', repair_barrier = 'Lack of equipment', "
            "problem = repeat('x', 20000) WHERE id = :id"
        ),
        {"id": repair.id},
    )
    with pytest.raises(IntegrityError, match="ck_repairs_problem_length"):
        async with session.begin_nested():
            await session.execute(
                text("UPDATE repairs SET problem = repeat('x', 20001) WHERE id = :id"),
                {"id": repair.id},
            )


async def test_every_error_comes_back_in_one_pass(
    client: httpx.AsyncClient,
    session: AsyncSession,
    owner: Actor,
    cafe: Organization,
    work: Worker,
) -> None:
    """What ORDS refuses and what a repair cannot hold, in one answer, in line order: not a
    first round of errors and then, once fixed, a second."""
    rows = [
        one_row(),
        one_row(id="kafe_2", problem="x" * 20_001),  # the table's cap
        one_row(id="kafe_3", repair_status="Fiksa"),  # not ORDS
        one_row(id="kafe_4", year_of_manufacture="1500"),  # the table's range
        one_row(id="kafe_5", repair_barrier_if_end_of_life="Too expensive overall"),
        one_row(id="kafe_6", product_age="250"),
        one_row(id="kafe_2"),  # the id again
    ]
    before = await counts(session)
    job = await import_file(client, work, owner.headers, cafe, csv_bytes(rows))
    assert job["state"] == "failed"
    assert [(e["line"], e["column"]) for e in job["errors"]] == [
        (3, "problem"),
        (4, "repair_status"),
        (5, "year_of_manufacture"),
        (6, "repair_barrier_if_end_of_life"),
        (7, "product_age"),
        (8, "id"),
    ]
    assert job["error_count"] == 6
    assert "20,000 characters" in job["errors"][0]["message"]
    assert "repeats the id on line 3" in job["errors"][5]["message"]
    assert await counts(session) == before


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"id,data_provider\nkafe_1,Kafe\n",  # not the ORDS header
        b"\xff\xfe" + ",".join(ORDS_FIELDS).encode("utf-16-le"),  # not UTF-8
        # gzip, but not ORDS inside (mtime=0: the same bytes, so the same test id, in every
        # xdist worker)
        gzip.compress(b"id,data_provider\nkafe_1,Kafe\n", mtime=0),
        b"\x1f\x8b\x08\x00garbage that is not deflate",  # says gzip, is not
    ],
    ids=["empty", "not-the-header", "utf-16", "gzip-not-ords", "not-gzip"],
)
async def test_a_file_that_is_not_ords_is_422_at_once(
    client: httpx.AsyncClient,
    session: AsyncSession,
    owner: Actor,
    cafe: Organization,
    raw: bytes,
) -> None:
    before = await counts(session)
    body = assert_problem(await upload(client, owner.headers, cafe, raw), 422, "invalid_ords_file")
    assert body["detail"]
    assert await counts(session) == before
    assert await session.scalar(text("SELECT count(*) FROM repair_imports")) == 0


@pytest.mark.parametrize(
    ("raw", "failure"),
    [
        # Broken quoting after a good header: found by the worker, which reads every line.
        ("\ufeff".encode() + ",".join(ORDS_FIELDS).encode() + b'\nkafe_1,"broken\n', "CSV"),
        # Good gzip that stops in the middle.
        (
            gzip.compress(csv_bytes([one_row(id=f"kafe_{i}") for i in range(400)]), mtime=0)[:-40],
            "unpacked",
        ),
        # Valid UTF-8 at first, then not.
        (csv_bytes([one_row()]) + b"kafe_2,\xff\xfe\n", "UTF-8"),
    ],
    ids=["broken-quoting", "cut-gzip", "not-utf-8-later"],
)
async def test_a_file_broken_further_down_fails_and_writes_nothing(
    client: httpx.AsyncClient,
    session: AsyncSession,
    owner: Actor,
    cafe: Organization,
    work: Worker,
    raw: bytes,
    failure: str,
) -> None:
    before = await counts(session)
    job = await import_file(client, work, owner.headers, cafe, raw)
    assert job["state"] == "failed"
    assert failure in job["failure"]
    assert await counts(session) == before


async def test_a_gzip_bomb_stops_at_the_unpacked_limit(
    settings: Settings,
    client_for: ClientFor,
    session: AsyncSession,
    connection: AsyncConnection,
    owner: Actor,
    cafe: Organization,
) -> None:
    imports = settings.imports.model_copy(update={"max_unpacked_bytes": 200_000})
    client = await client_for(settings.model_copy(update={"imports": imports}))
    rows = [one_row(id=f"kafe_{i}", problem="y" * 1000) for i in range(500)]
    raw = gzip.compress(csv_bytes(rows))  # ~500 kB unpacked, a few kB packed
    assert len(raw) < 50_000
    response = await upload(client, owner.headers, cafe, raw)
    assert response.status_code == 202, response.text
    sessions = async_sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    await run_until_idle(sessions, imports, lambda: NOW)
    job = (await client.get(f"/v1/imports/{response.json()['id']}", headers=owner.headers)).json()
    assert job["state"] == "failed"
    assert "more than 200,000 bytes" in job["failure"]
    assert await session.scalar(select(func.count()).select_from(Repair)) == 0


async def test_a_body_that_is_not_csv_is_415(
    client: httpx.AsyncClient, session: AsyncSession, owner: Actor, cafe: Organization
) -> None:
    before = await counts(session)
    response = await upload(
        client, owner.headers, cafe, b'{"rows": []}', content_type="application/json"
    )
    assert_problem(response, 415, "unsupported_media_type")
    brotli = await client.post(
        "/v1/repairs/import",
        params={"organization_id": str(cafe.id)},
        content=b"x",
        headers={**owner.headers, **CSV_HEADERS, "content-encoding": "br"},
    )
    assert_problem(brotli, 415, "unsupported_media_type")
    assert await counts(session) == before


async def test_only_the_organizations_members_and_keys_import_and_read_imports(
    client: httpx.AsyncClient,
    session: AsyncSession,
    settings: Settings,
    owner: Actor,
    stranger: Actor,
    cafe: Organization,
) -> None:
    raw = csv_bytes([one_row()])
    before = await counts(session)
    assert_problem(await upload(client, stranger.headers, cafe, raw), 403, "not_a_member")
    read_key = await create_api_key(
        session, organization_id=cafe.id, scopes=[ApiKeyScope.IMPACT_READ]
    )
    assert_problem(await upload(client, read_key, cafe, raw), 403, "insufficient_scope")
    elsewhere = await create_organization(session, owner=stranger)
    other_key = await create_api_key(
        session, organization_id=elsewhere.id, scopes=[ApiKeyScope.LISTINGS_WRITE]
    )
    assert_problem(await upload(client, other_key, cafe, raw), 403, "wrong_organization")
    assert_problem(await upload(client, {}, cafe, raw), 401, "unauthorized")
    unknown = await client.post(
        "/v1/repairs/import",
        params={"organization_id": str(uuid.uuid4())},
        content=raw,
        headers={**stranger.headers, **CSV_HEADERS},
    )
    assert_problem(unknown, 404, "organization_not_found")
    missing = await client.post(
        "/v1/repairs/import", content=raw, headers={**stranger.headers, **CSV_HEADERS}
    )
    assert assert_problem(missing, 422, "validation_failed")["errors"][0]["field"] == (
        "organization_id"
    )
    bad_mode = await upload(client, owner.headers, cafe, raw, mode="replace")
    assert assert_problem(bad_mode, 422, "validation_failed")["errors"][0]["field"] == "mode"
    assert await counts(session) == before

    # The job: the organization's own and the platform's readers, nobody else.
    job = (await upload(client, owner.headers, cafe, raw)).json()
    url = f"/v1/imports/{job['id']}"
    assert (await client.get(url, headers=owner.headers)).status_code == 200
    analyst = await create_person(session, settings, roles=["analyst"])
    assert (await client.get(url, headers=analyst.headers)).status_code == 200
    assert_problem(await client.get(url, headers=stranger.headers), 403, "not_a_member")
    assert_problem(await client.get(url), 401, "unauthorized")
    assert_problem(
        await client.get(f"/v1/imports/{uuid.uuid4()}", headers=owner.headers),
        404,
        "import_not_found",
    )
    listing = await client.get(
        "/v1/imports", params={"organization_id": str(cafe.id)}, headers=stranger.headers
    )
    assert_problem(listing, 403, "not_a_member")
    paged = await client.get(
        "/v1/imports",
        params={"organization_id": str(cafe.id), "cursor": "nonsense"},
        headers=owner.headers,
    )
    assert_problem(paged, 422, "invalid_cursor")


# --- the import's body limit -------------------------------------------------------------------


def big_file(size: int) -> bytes:
    """An ORDS file of at least ``size`` bytes, every row of which has an unknown outcome."""
    row = csv_bytes([one_row(repair_status="Mended")]).split(b"\n", 1)[1]
    rows = [row.replace(b"kafe_1,", f"kafe_{n},".encode(), 1) for n in range(size // len(row) + 1)]
    return csv_bytes([]) + b"".join(rows)


async def test_the_import_takes_files_larger_than_the_default_limit(
    client: httpx.AsyncClient, app: FastAPI, owner: Actor, cafe: Organization, work: Worker
) -> None:
    assert app.state.settings.http.max_body_bytes == MIB
    job = await import_file(client, work, owner.headers, cafe, big_file(3 * MIB))
    # It reached the worker: the rows are refused for their content, not the file's size.
    assert job["state"] == "failed"
    assert job["error_count"] > 10_000
    assert job["counts"]["rows"] == job["error_count"]
    assert len(job["errors"]) == 100
    assert job["errors"][0] == {
        "location": "body",
        "field": "repair_status",
        "line": 2,
        "column": "repair_status",
        "message": "must be one of: Fixed, Repairable, End of life, Unknown",
        "type": "invalid_ords_row",
    }


async def test_the_import_refuses_more_than_its_limit(
    settings: Settings,
    client_for: ClientFor,
    session: AsyncSession,
    owner: Actor,
    cafe: Organization,
) -> None:
    assert settings.imports.max_bytes == 100 * MIB
    imports = settings.imports.model_copy(update={"max_bytes": 2 * MIB})
    client = await client_for(settings.model_copy(update={"imports": imports}))
    before = await counts(session)
    declared = await upload(client, owner.headers, cafe, big_file(2 * MIB + 1))
    body = assert_problem(declared, 413, "payload_too_large")
    assert str(2 * MIB) in body["detail"]

    async def chunks() -> AsyncIterator[bytes]:
        yield big_file(MIB)
        for _ in range(2):
            yield b"x" * MIB

    chunked = await client.post(
        "/v1/repairs/import",
        params={"organization_id": str(cafe.id)},
        content=chunks(),
        headers={**owner.headers, **CSV_HEADERS},
    )
    assert "content-length" not in chunked.request.headers
    assert_problem(chunked, 413, "payload_too_large")
    assert await counts(session) == before
    assert await session.scalar(text("SELECT count(*) FROM repair_imports")) == 0
    assert await session.scalar(text("SELECT count(*) FROM pg_largeobject_metadata")) == 0


async def test_other_routes_keep_the_default_limit(
    client: httpx.AsyncClient, owner: Actor, cafe: Organization
) -> None:
    body: dict[str, Any] = repair_body(cafe, problem="x" * (2 * MIB))
    response = await client.post("/v1/repairs", json=body, headers=owner.headers)
    assert_problem(response, 413, "payload_too_large")
    assert (
        await client.post("/v1/repairs", json=repair_body(cafe), headers=owner.headers)
    ).is_success


async def test_records_from_abroad_are_kept_but_counted_for_their_country_only(
    client: httpx.AsyncClient,
    session: AsyncSession,
    settings: Settings,
    owner: Actor,
    cafe: Organization,
    work: Worker,
) -> None:
    """A partner's file mixes countries: each record keeps its own, the evidence hashes it,
    and Norway's indicators count Norway's records only."""
    analyst = await create_person(session, settings, roles=["analyst"])

    async def national() -> int:
        response = await client.get(
            "/v1/impact",
            params={"indicator": "sg1.repairs.count", "from": "2026-11", "to": "2026-11"},
            headers=analyst.headers,
        )
        assert response.status_code == 200, response.text
        row = response.json()["rows"][0]
        assert row["suppressed"] is False
        return int(row["value"] or 0)

    before = await national()
    rows = [one_row(id=f"kafe_{i}") for i in range(6)] + [
        one_row(id=f"wales_{i}", country="GBR", data_provider="Repair Café Wales") for i in range(6)
    ]
    await import_file(client, work, owner.headers, cafe, csv_bytes(rows))
    assert await national() == before + 6
    records = await evidence_of(session, "Repair Café Wales")
    assert {(r.country, r.canonical_version) for r in records} == {("GBR", 4)}
    feed = await client.get("/v1/evidence", params={"limit": 1000}, headers=analyst.headers)
    countries = {r["country"] for r in feed.json()["records"] if r["v"] >= 4}
    assert {"GBR", "NOR"} <= countries


# --- a worker that dies -------------------------------------------------------------------------


async def test_a_worker_that_dies_mid_file_is_taken_over_and_nothing_counts_twice(
    client: httpx.AsyncClient,
    session: AsyncSession,
    connection: AsyncConnection,
    settings: Settings,
    owner: Actor,
    cafe: Organization,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rows = [one_row(id=f"kafe_{i}") for i in range(30)]
    job = (await upload(client, owner.headers, cafe, csv_bytes(rows), mode="release")).json()
    imports = settings.imports.model_copy(update={"batch_rows": 10, "max_attempts": 3})
    sessions = async_sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    real_batch = RepairImportRepository.batch
    calls = 0

    async def dying_batch(self: RepairImportRepository, *args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 3:  # two batches are committed; the worker dies reading the third
            raise ConnectionResetError("the worker's connection died")
        return await real_batch(self, *args, **kwargs)

    monkeypatch.setattr(RepairImportRepository, "batch", dying_batch)
    with pytest.raises(ConnectionResetError):
        await run_next(sessions, imports, lambda: NOW)
    monkeypatch.setattr(RepairImportRepository, "batch", real_batch)

    url = f"/v1/imports/{job['id']}"
    halfway = (await client.get(url, headers=owner.headers)).json()
    assert (halfway["state"], halfway["counts"]["written"], halfway["counts"]["inserted"]) == (
        "writing",
        20,
        20,
    )
    assert len(await evidence_of(session, "Reparasjonskafé Oslo")) == 20
    # Its heartbeat is fresh: no other worker takes it yet.
    assert await run_next(sessions, imports, lambda: NOW) is None
    # Once it is stale, another worker resumes after the last committed batch.
    later = NOW + timedelta(seconds=imports.stale_after_s + 1)
    assert str(await run_next(sessions, imports, lambda: later)) == job["id"]
    done = (await client.get(url, headers=owner.headers)).json()
    assert done["state"] == "done"
    assert counted(done) == {"rows": 30, "written": 30, "inserted": 30}
    records = await evidence_of(session, "Reparasjonskafé Oslo")
    assert len(records) == 30
    assert len({r.repair_id for r in records}) == 30


async def test_a_job_that_keeps_failing_is_given_up(
    client: httpx.AsyncClient,
    session: AsyncSession,
    connection: AsyncConnection,
    settings: Settings,
    owner: Actor,
    cafe: Organization,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    job = (await upload(client, owner.headers, cafe, csv_bytes([one_row()]))).json()
    imports = settings.imports.model_copy(update={"max_attempts": 2})
    sessions = async_sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )

    async def broken(*_: Any, **__: Any) -> Any:
        raise ConnectionResetError("again")

    monkeypatch.setattr(RepairImportRepository, "batch", broken)
    stale = timedelta(seconds=imports.stale_after_s + 1)
    for attempt in range(2):
        with pytest.raises(ConnectionResetError):
            await run_next(sessions, imports, functools.partial(lambda n: NOW + n * stale, attempt))
    assert str(await run_next(sessions, imports, lambda: NOW + 2 * stale)) == job["id"]
    failed = (await client.get(f"/v1/imports/{job['id']}", headers=owner.headers)).json()
    assert failed["state"] == "failed"
    assert "stopped 2 times" in failed["failure"]
    assert failed["finished_at"] is not None
    assert await session.scalar(text("SELECT count(*) FROM repair_import_rows")) == 0
    assert await session.scalar(text("SELECT count(*) FROM pg_largeobject_metadata")) == 0
