"""GET /metrics: off without a token, guarded by it, and what it counts."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import MetricsSettings, Settings
from app.models.outbox import EventType
from app.services import outbox
from app.services.ords import ORDS_FIELDS
from tests.factories import create_organization, create_person
from tests.problems import assert_problem

UNPLANNED = "sirkel_outbox_unplanned_events"
TOKEN = "metrics-token-that-is-long-enough-0123456789"


@pytest.fixture
async def metered(
    settings: Settings, client_for: Callable[[Settings], Awaitable[httpx.AsyncClient]]
) -> httpx.AsyncClient:
    """A client of an app with a metrics token."""
    return await client_for(
        settings.model_copy(update={"metrics": MetricsSettings(token=SecretStr(TOKEN))})
    )


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of one series in the exposition text."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split(" ")[0]))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


async def test_metrics_are_off_without_a_token(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/metrics"), 404, "not_found")


async def test_metrics_need_the_token(metered: httpx.AsyncClient) -> None:
    assert_problem(await metered.get("/metrics"), 401, "invalid_token")
    wrong = await metered.get("/metrics", headers={"Authorization": "Bearer " + "x" * 44})
    problem = assert_problem(wrong, 401, "invalid_token")
    assert problem["detail"] == "Send the metrics token as a bearer token."
    basic = await metered.get("/metrics", headers={"Authorization": f"Basic {TOKEN}"})
    assert_problem(basic, 401, "invalid_token")


async def test_requests_are_counted_by_route_template_and_state_is_read(
    metered: httpx.AsyncClient,
) -> None:
    for _ in range(3):
        assert (await metered.get("/v1/kommuner/0301")).status_code == 200
    assert (await metered.get("/v1/kommuner/9999")).status_code == 404
    assert (await metered.get("/no/such/path/12345")).status_code == 404
    response = await metered.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    route = "/v1/kommuner/{kommunenummer}"
    total = "sirkel_http_requests_total"
    assert sample(text, total, method="GET", route=route, status="200") == 3
    assert sample(text, total, method="GET", route=route, status="404") == 1
    assert sample(text, total, method="GET", route="<unmatched>", status="404") == 1
    assert "/no/such/path" not in text  # raw paths never become labels
    count = sample(text, "sirkel_http_request_duration_seconds_count", method="GET", route=route)
    assert count == 4
    assert sample(text, "sirkel_db_pool_connections", state="in_use") is not None
    assert sample(text, "sirkel_db_pool_size") == 5
    for name in (
        "sirkel_outbox_unplanned_events",
        "sirkel_outbox_lag_seconds",
        "sirkel_ledger_records",
        "sirkel_ledger_head_age_seconds",
        "sirkel_photo_files_to_delete",
    ):
        value = sample(text, name)
        assert value is not None, name
    assert sample(text, "sirkel_deliveries_due", channel="webhook") is not None
    assert sample(text, "sirkel_deliveries_oldest_due_seconds", channel="email") is not None


async def test_an_unplanned_event_shows_as_outbox_lag(
    metered: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    person = await create_person(session, settings)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    before = sample((await metered.get("/metrics", headers=headers)).text, UNPLANNED)
    assert before is not None
    then = datetime.now(UTC) - timedelta(minutes=5)
    await outbox.emit(
        session,
        EventType.WEBHOOK_DISABLED,
        to=[outbox.Recipient(person_id=person.person_id)],
        payload={},
        now=then,
    )
    await session.flush()
    text = (await metered.get("/metrics", headers=headers)).text
    assert sample(text, UNPLANNED) == before + 1
    lag = sample(text, "sirkel_outbox_lag_seconds")
    assert lag is not None
    assert lag >= 300


async def test_waiting_imports_show_as_the_import_queue(
    metered: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    idle = (await metered.get("/metrics", headers=headers)).text
    assert sample(idle, "sirkel_repair_imports", state="queued") == 0
    assert sample(idle, "sirkel_repair_import_oldest_seconds") == 0
    owner = await create_person(session, settings)
    org = await create_organization(session, owner=owner)
    row = ",".join(ORDS_FIELDS) + "\n"
    queued = await metered.post(
        "/v1/repairs/import",
        params={"organization_id": str(org.id)},
        content=row.encode(),
        headers={**owner.headers, "content-type": "text/csv"},
    )
    assert queued.status_code == 202, queued.text
    waiting = (await metered.get("/metrics", headers=headers)).text
    assert sample(waiting, "sirkel_repair_imports", state="queued") == 1
    assert sample(waiting, "sirkel_repair_imports", state="running") == 0
    oldest = sample(waiting, "sirkel_repair_import_oldest_seconds")
    assert oldest is not None
    assert oldest >= 0
