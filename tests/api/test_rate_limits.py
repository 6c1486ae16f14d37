"""Request budgets: the IETF RateLimit headers, 429 rate_limited with Retry-After, one budget
per caller (person, API key or address), a forged token spends nothing of its victim's, and
the sliding window's arithmetic."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import RateLimitSettings, Settings
from app.ratelimit import Policy, SlidingWindow, policy_for
from tests.factories import create_person
from tests.problems import assert_problem

ClientFor = Callable[[Settings], Awaitable[httpx.AsyncClient]]


@pytest.fixture
async def limited(settings: Settings, client_for: ClientFor) -> httpx.AsyncClient:
    limits = RateLimitSettings(enabled=True, reads_per_minute=3, writes_per_minute=2)
    return await client_for(settings.model_copy(update={"rate_limits": limits}))


async def test_reads_carry_the_headers_and_stop_at_the_budget(
    limited: httpx.AsyncClient,
) -> None:
    seen = []
    for _ in range(3):
        response = await limited.get("/v1/kommuner/0301")
        assert response.status_code == 200
        assert response.headers["ratelimit-policy"] == '"reads";q=3;w=60'
        seen.append(response.headers["ratelimit"])
    assert [s.split(";")[1] for s in seen] == ["r=2", "r=1", "r=0"]
    refused = await limited.get("/v1/kommuner/0301")
    problem = assert_problem(refused, 429, "rate_limited")
    retry = int(refused.headers["retry-after"])
    assert 1 <= retry <= 60
    assert problem["retry_after"] == retry
    assert refused.headers["ratelimit"].startswith('"reads";r=0;')
    assert "x-request-id" in refused.headers
    # Probes are never limited.
    assert (await limited.get("/healthz")).status_code == 200


async def test_each_caller_has_a_budget_and_a_forged_token_spends_nothing_of_it(
    limited: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    person = await create_person(session, settings)
    for _ in range(3):
        assert (await limited.get("/v1/kommuner/0301")).status_code == 200
    assert_problem(await limited.get("/v1/kommuner/0301"), 429, "rate_limited")
    # The person's budget is theirs, not the address's.
    mine = await limited.get("/v1/kommuner/0301", headers=person.headers)
    assert mine.status_code == 200
    assert mine.headers["ratelimit"].startswith('"reads";r=2;')
    # A token that does not verify counts as the address (spent), not as the person.
    forged = {"Authorization": person.headers["Authorization"][:-4] + "AAAA"}
    assert_problem(await limited.get("/v1/kommuner/0301", headers=forged), 429, "rate_limited")
    again = await limited.get("/v1/kommuner/0301", headers=person.headers)
    assert again.headers["ratelimit"].startswith('"reads";r=1;')


async def test_writes_have_their_own_budget(
    limited: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    person = await create_person(session, settings)
    body = {"name": "Verksted", "kind": "repair_shop", "kommunenummer": "0301"}
    for _ in range(2):
        made = await limited.post("/v1/organizations", json=body, headers=person.headers)
        assert made.status_code == 201, made.text
        assert made.headers["ratelimit-policy"] == '"writes";q=2;w=60'
    refused = await limited.post("/v1/organizations", json=body, headers=person.headers)
    assert_problem(refused, 429, "rate_limited")
    assert (await limited.get("/v1/me", headers=person.headers)).status_code == 200


def test_policies_by_route() -> None:
    limits = RateLimitSettings()
    assert policy_for("POST", "/v1/auth/register", limits) == Policy("register", 20, 3600)
    assert policy_for("POST", "/v1/auth/token", limits) == Policy("token", 30, 60)
    assert policy_for("POST", "/v1/repairs/import", limits) == Policy("imports", 20, 3600)
    assert policy_for("GET", "/v1/listings", limits) == Policy("search", 300, 60)
    assert policy_for("GET", "/v1/tiles/listings/3/4/2.mvt", limits) == Policy("tiles", 3000, 60)
    assert policy_for("PATCH", "/v1/me", limits) == Policy("writes", 120, 60)
    assert policy_for("GET", "/v1/me", limits) == Policy("reads", 1200, 60)
    assert policy_for("OPTIONS", "/v1/me", limits) is None
    assert policy_for("GET", "/readyz", limits) is None


def test_the_window_slides() -> None:
    now = [1000.0 * 60]  # the start of a window
    window = SlidingWindow(clock=lambda: now[0])
    policy = Policy("reads", 10, 60)
    assert [window.hit(policy, "a")[0] for _ in range(10)] == [True] * 10
    assert window.hit(policy, "a")[0] is False
    assert window.hit(policy, "b")[0] is True  # another caller
    # Halfway into the next window half of the last one still counts: 5 more.
    now[0] += 90
    assert [window.hit(policy, "a")[0] for _ in range(6)] == [True] * 5 + [False]
    # Two windows later the old ones are gone.
    now[0] += 120
    allowed, remaining, reset = window.hit(policy, "a")
    assert (allowed, remaining) == (True, 9)
    assert 1 <= reset <= 60
