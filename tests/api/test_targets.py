"""The mission's targets: versioned måltall made by analysts, read by everyone, and the
progress toward them — the path's maths by hand, suppression kept, every refusal."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.api.deps import utcnow
from app.config import Settings
from app.models.target import TargetPath
from app.repositories.db_errors import constraint_name
from app.services.impact.targets import expected_value, status_of
from tests.api.test_impact import Ledger, ledger  # noqa: F401 - the fixture
from tests.factories import Actor, create_person
from tests.problems import assert_problem

BODY: dict[str, Any] = {
    "indicator": "sg1.repairs.count",
    "scope": "kommune",
    "scope_code": "0301",
    "baseline_year": 2023,
    "target_year": 2027,
    "target_change_pct": 60,
    "path": "linear",
    "status": "proposed",
    "decided_by": "Arbeidsgruppen",
    "reference_title": "Forslag til måltall",
}


@pytest.fixture
async def analyst(session: AsyncSession, settings: Settings) -> Actor:
    return await create_person(session, settings, roles=["analyst"])


@pytest.fixture
def in_2026(app: FastAPI) -> Iterator[None]:
    app.dependency_overrides[utcnow] = lambda: datetime(2026, 3, 1, 12, tzinfo=UTC)
    yield
    app.dependency_overrides.pop(utcnow, None)


async def created(client: httpx.AsyncClient, who: Actor, **changes: Any) -> dict[str, Any]:
    response = await client.post(
        "/v1/impact/targets", json={**BODY, **changes}, headers=who.headers
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    assert response.headers["location"] == f"/v1/impact/targets/{body['id']}"
    return body


def test_the_paths_by_hand() -> None:
    linear = [
        expected_value(
            TargetPath.LINEAR,
            base=Decimal(10),
            target=Decimal(16),
            base_year=2023,
            target_year=2027,
            year=y,
        )
        for y in range(2023, 2028)
    ]
    assert linear == [Decimal(10), Decimal("11.5"), Decimal(13), Decimal("14.5"), Decimal(16)]
    growth = expected_value(
        TargetPath.ANNUAL_GROWTH,
        base=Decimal(100),
        target=Decimal(200),
        base_year=2025,
        target_year=2035,
        year=2030,
    )
    assert growth is not None
    assert abs(growth - Decimal(2).sqrt() * 100) < Decimal("0.0001")  # halfway: times the root of 2
    none = expected_value(
        TargetPath.ANNUAL_GROWTH,
        base=Decimal(0),
        target=Decimal(5),
        base_year=2025,
        target_year=2030,
        year=2026,
    )
    assert none is None
    assert status_of(actual=Decimal(105), expected=Decimal(100), increasing=True) == "on_track"
    assert status_of(actual=Decimal(106), expected=Decimal(100), increasing=True) == "ahead"
    assert status_of(actual=Decimal(94), expected=Decimal(100), increasing=True) == "behind"
    assert status_of(actual=Decimal(94), expected=Decimal(100), increasing=False) == "ahead"


async def test_progress_follows_the_path_and_keeps_hidden_years_hidden(
    client: httpx.AsyncClient,
    analyst: Actor,
    ledger: Ledger,  # noqa: F811
    in_2026: None,  # noqa: ARG001 - the clock
) -> None:
    await ledger.repairs(10, kommune="0301", when=datetime(2023, 5, 1, tzinfo=UTC))
    await ledger.repairs(12, kommune="0301", when=datetime(2024, 5, 1, tzinfo=UTC))
    await ledger.repairs(3, kommune="0301", when=datetime(2025, 5, 1, tzinfo=UTC))
    # Two small years: neither can be worked out from the other shown ones (with only one,
    # the complementary rule would hide a second, as GET /v1/impact does).
    await ledger.repairs(2, kommune="0301", when=datetime(2026, 2, 1, tzinfo=UTC))
    target = await created(client, analyst)
    response = await client.get("/v1/impact/progress", params={"target": target["id"]})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["baseline"] == {"year": 2023, "value": "10"}
    assert Decimal(body["target_value"]) == 16
    years = {y["year"]: y for y in body["years"]}
    assert sorted(years) == [2023, 2024, 2025, 2026]
    assert (years[2024]["actual"], years[2024]["expected"], years[2024]["gap"]) == (
        "12",
        "11.5",
        "0.5",
    )
    # Three repairs are below the small-count rule: nothing shown reveals them.
    assert years[2025] == {
        "year": 2025,
        "complete": True,
        "actual": None,
        "suppressed": True,
        "expected": "13",
        "gap": None,
    }
    assert years[2026]["complete"] is False
    assert years[2026]["suppressed"] is True
    # The last complete year with a value is 2024: 12 against 11.5 is within 5 %.
    assert body["status"] == "on_track"
    # (16 / 12)^(1/3) - 1 = 10.06 %
    assert body["required_annual_growth_pct"] == "10.06"
    assert "3" not in {y["actual"] for y in body["years"]}


async def test_one_small_year_hides_another_as_in_the_figures(
    client: httpx.AsyncClient,
    analyst: Actor,
    ledger: Ledger,  # noqa: F811
    in_2026: None,  # noqa: ARG001 - the clock
) -> None:
    """With one hidden year, the smallest shown one is hidden too (complementary
    suppression): here the baseline, so there is nothing to measure against."""
    await ledger.repairs(10, kommune="0301", when=datetime(2023, 5, 1, tzinfo=UTC))
    await ledger.repairs(12, kommune="0301", when=datetime(2024, 5, 1, tzinfo=UTC))
    await ledger.repairs(3, kommune="0301", when=datetime(2025, 5, 1, tzinfo=UTC))
    target = await created(client, analyst)
    body = (await client.get("/v1/impact/progress", params={"target": target["id"]})).json()
    years = {y["year"]: y for y in body["years"]}
    assert years[2025]["suppressed"] is True
    assert years[2023]["suppressed"] is True
    assert body["baseline"] == {"year": 2023, "value": None}
    assert body["status"] == "insufficient_data"
    assert all(y["gap"] is None for y in body["years"])


async def test_progress_without_a_target_and_insufficient_data(
    client: httpx.AsyncClient,
    analyst: Actor,
    ledger: Ledger,  # noqa: F811
    in_2026: None,  # noqa: ARG001 - the clock
) -> None:
    await ledger.repairs(6, kommune="0301", when=datetime(2024, 5, 1, tzinfo=UTC))
    plain = await client.get(
        "/v1/impact/progress", params={"indicator": "sg1.repairs.count", "scope": "kommune:0301"}
    )
    assert plain.status_code == 200, plain.text
    body = plain.json()
    assert body["target"] is None
    assert body["status"] is None
    assert {y["year"]: y["actual"] for y in body["years"]}[2024] == "6"
    # A baseline year without records: nothing to measure against.
    target = await created(client, analyst, baseline_year=2020, target_change_pct=10)
    progress = (await client.get("/v1/impact/progress", params={"target": target["id"]})).json()
    assert progress["status"] == "insufficient_data"
    assert progress["target_value"] is None


async def test_targets_are_versioned_and_never_edited(
    client: httpx.AsyncClient, analyst: Actor, session: AsyncSession
) -> None:
    first = await created(client, analyst)
    changed = await client.patch(
        f"/v1/impact/targets/{first['id']}",
        json={"status": "recommended", "decided_by": "Partnerskapet", "target_value": 20},
        headers=analyst.headers,
    )
    assert changed.status_code == 200, changed.text
    second = changed.json()
    assert (second["id"], second["version"], second["latest"]) == (first["id"], 2, True)
    assert second["status"] == "recommended"
    assert (second["target_value"], second["target_change_pct"]) == ("20", None)
    old = await client.get(f"/v1/impact/targets/{first['id']}", params={"version": 1})
    assert old.json()["status"] == "proposed"
    assert old.json()["latest"] is False
    history = (await client.get(f"/v1/impact/targets/{first['id']}/versions")).json()
    assert [v["version"] for v in history["items"]] == [1, 2]
    listed = (await client.get("/v1/impact/targets", params={"status": "recommended"})).json()
    assert [t["version"] for t in listed["items"] if t["id"] == first["id"]] == [2]
    # The database keeps versions as they were.
    with pytest.raises(DBAPIError) as caught:
        async with session.begin_nested():
            await session.execute(text("UPDATE impact_targets SET status = 'adopted'"))
    assert constraint_name(caught.value) == "impact_targets_immutable"
    with pytest.raises(DBAPIError) as caught:
        async with session.begin_nested():
            await session.execute(text("DELETE FROM impact_targets"))
    assert constraint_name(caught.value) == "impact_targets_immutable"


@pytest.mark.parametrize(
    ("changes", "status", "code"),
    [
        ({"indicator": "sg9.nothing"}, 422, "unknown_indicator"),
        ({"target_year": 2036}, 422, "validation_failed"),
        ({"baseline_year": 2027}, 422, "invalid_target"),
        ({"target_value": 10}, 422, "invalid_target"),  # both kinds of target
        ({"scope": "fylke", "scope_code": "99"}, 422, "unknown_fylke"),
        ({"scope": "kommune", "scope_code": "9999"}, 422, "unknown_kommune"),
        ({"scope": "kommune", "scope_code": None}, 422, "invalid_target"),
        ({"scope": "norway"}, 422, "invalid_target"),  # with a scope_code
        ({"target_change_pct": -100}, 422, "validation_failed"),
        ({"initiative_id": str(uuid.uuid4())}, 422, "invalid_target"),
        ({"reference_url": "javascript:alert(1)"}, 422, "validation_failed"),
        ({"note": "<script>x</script>"}, 422, "validation_failed"),
    ],
)
async def test_what_is_no_target_is_refused(
    client: httpx.AsyncClient, analyst: Actor, changes: dict[str, Any], status: int, code: str
) -> None:
    response = await client.post(
        "/v1/impact/targets", json={**BODY, **changes}, headers=analyst.headers
    )
    assert_problem(response, status, code)
    assert (await client.get("/v1/impact/targets")).json()["items"] == []


async def test_only_analysts_make_and_change_targets(
    client: httpx.AsyncClient, analyst: Actor, session: AsyncSession, settings: Settings
) -> None:
    person = await create_person(session, settings)
    assert_problem(await client.post("/v1/impact/targets", json=BODY), 401, "unauthorized")
    refused = await client.post("/v1/impact/targets", json=BODY, headers=person.headers)
    assert_problem(refused, 403, "role_required")
    target = await created(client, analyst)
    patch = await client.patch(
        f"/v1/impact/targets/{target['id']}", json={"status": "adopted"}, headers=person.headers
    )
    assert_problem(patch, 403, "role_required")
    missing = await client.patch(
        f"/v1/impact/targets/{uuid.uuid4()}", json={"status": "adopted"}, headers=analyst.headers
    )
    assert_problem(missing, 404, "target_not_found")
    assert_problem(await client.get(f"/v1/impact/targets/{uuid.uuid4()}"), 404, "target_not_found")
    assert_problem(
        await client.get(f"/v1/impact/targets/{target['id']}", params={"version": 9}),
        404,
        "target_not_found",
    )
    empty = await client.patch(
        f"/v1/impact/targets/{target['id']}", json={}, headers=analyst.headers
    )
    assert_problem(empty, 422, "invalid_target")
    bad_scope = await client.get(
        "/v1/impact/progress", params={"indicator": "sg1.repairs.count", "scope": "by:x"}
    )
    assert_problem(bad_scope, 422, "invalid_target")
    assert_problem(await client.get("/v1/impact/progress"), 422, "invalid_target")


async def test_parallel_changes_make_one_next_version(
    committed_client: httpx.AsyncClient, committed_engine: AsyncEngine, settings: Settings
) -> None:
    async with AsyncSession(committed_engine, expire_on_commit=False) as session:
        analyst = await create_person(session, settings, roles=["analyst"])
        await session.commit()
    target = await created(committed_client, analyst)
    responses = await asyncio.gather(
        *(
            committed_client.patch(
                f"/v1/impact/targets/{target['id']}",
                json={"note": f"Endring {i}"},
                headers=analyst.headers,
            )
            for i in range(6)
        )
    )
    versions = [r.json()["version"] for r in responses if r.status_code == 200]
    for r in responses:
        if r.status_code != 200:
            assert_problem(r, 409, "target_changed")
    assert len(versions) == len(set(versions))  # never two of one number
    history = (await committed_client.get(f"/v1/impact/targets/{target['id']}/versions")).json()
    assert [v["version"] for v in history["items"]] == list(range(1, len(versions) + 2))


def _target_section(page: str) -> str:
    start = page.index('<section id="maltall"')
    return page[start : page.index("</section>", start)]


async def test_the_yearly_report_shows_the_areas_targets_through_its_year(
    client: httpx.AsyncClient,
    analyst: Actor,
    ledger: Ledger,  # noqa: F811
    in_2026: None,  # noqa: ARG001 - the clock
) -> None:
    await ledger.repairs(10, kommune="0301", when=datetime(2023, 5, 1, tzinfo=UTC))
    await ledger.repairs(12, kommune="0301", when=datetime(2024, 5, 1, tzinfo=UTC))
    await ledger.repairs(14, kommune="0301", when=datetime(2025, 5, 1, tzinfo=UTC))
    await ledger.repairs(6, kommune="0301", when=datetime(2026, 2, 1, tzinfo=UTC))
    shown = await created(client, analyst, note="Dobbelt så mange reparasjoner i Oslo.")
    elsewhere = await created(client, analyst, scope_code="4601")
    national = await created(client, analyst, scope="norway", scope_code=None)
    withdrawn = await created(client, analyst, indicator="sg1.repairs.fixed")
    changed = await client.patch(
        f"/v1/impact/targets/{withdrawn['id']}",
        json={"status": "withdrawn"},
        headers=analyst.headers,
    )
    assert changed.status_code == 200, changed.text

    page = (await client.get("/v1/impact/report/2024", params={"kommune": "0301"})).text
    section = _target_section(page)
    assert '<a href="#maltall">Måltall</a>' in page
    # Only the kommune's own targets, and never a withdrawn one.
    assert section.count('<figure id="target-') == 1
    assert "<strong>Reparasjoner</strong> (foreslått)" in section
    assert "Dobbelt så mange reparasjoner i Oslo." in section
    assert "Mål: +60\u00a0% fra 2023 til 2027 (16), lineær bane" in section
    # Through the report's year only: 2024 is 12 against 11.5 on the path, within 5 %.
    assert '<th scope="row">2025</th>' not in section
    assert (
        '<tr><th scope="row">2024</th><td class="num">12</td><td class="num">11,5</td>'
        '<td class="num">+0,5</td></tr>'
    ) in section
    assert "Status: <strong>i rute</strong>" in section
    assert 'class="path"' in section  # the path is drawn to 2027, the target at its end
    assert 'class="target"' in section

    # A year later 14 is above the path's 13 by more than 5 %: ahead.
    later = _target_section(
        (await client.get("/v1/impact/report/2025", params={"kommune": "0301"})).text
    )
    assert "Status: <strong>foran banen</strong>" in later
    # Every figure is the progress endpoint's.
    progress = (await client.get("/v1/impact/progress", params={"target": shown["id"]})).json()
    assert [p["year"] for p in progress["path"]] == list(range(2023, 2028))
    assert [p["expected"] for p in progress["path"]] == ["10", "11.5", "13", "14.5", "16"]
    years = {y["year"]: y for y in progress["years"]}
    assert years[2025]["actual"] == "14"
    assert f'<td class="num">{years[2025]["actual"]}</td>' in later

    # The year under way is there, marked, and not joined to the line; the status stays 2025's.
    current = _target_section(
        (await client.get("/v1/impact/report/2026", params={"kommune": "0301"})).text
    )
    assert '<th scope="row">2026 (hittil)</th><td class="num">6</td>' in current
    assert current.count('class="partial"') == 1
    assert "Status: <strong>foran banen</strong>" in current

    # The national report shows the national target only; a fylke without targets none.
    whole = (await client.get("/v1/impact/report/2025")).text
    assert _target_section(whole).count('<figure id="target-') == 1
    assert elsewhere["id"] != national["id"]
    oslo_fylke = (await client.get("/v1/impact/report/2025", params={"fylke": "03"})).text
    assert 'id="maltall"' not in oslo_fylke
    assert '<a href="#maltall">' not in oslo_fylke
