"""A database outage is a 503 with Retry-After, never a 500, and the API recovers without a
restart: a server that refuses connections, connections killed under a client, and a write
that runs out of time waiting for a lock (503 busy)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import Settings
from app.main import create_app
from tests.api.test_listing_races import _item, _signed_in
from tests.conformance import ResponseContract
from tests.pg_cluster import _free_port
from tests.problems import assert_problem


@asynccontextmanager
async def client_for(settings: Settings, **database: Any) -> AsyncIterator[httpx.AsyncClient]:
    application = create_app(
        settings.model_copy(update={"database": settings.database.model_copy(update=database)})
    )
    async with application.router.lifespan_context(application):
        hooks: dict[str, list[Callable[..., Any]]] = {"response": [ResponseContract(application)]}
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=application),
            base_url="http://testserver",
            event_hooks=hooks,
        ) as client:
            yield client


def assert_unavailable(response: httpx.Response, code: str = "service_unavailable") -> None:
    assert_problem(response, 503, code)
    assert int(response.headers["retry-after"]) > 0


async def test_a_database_that_refuses_connections_is_a_503(settings: Settings) -> None:
    closed = SecretStr(f"postgresql+asyncpg://postgres@127.0.0.1:{_free_port()}/sirkel")
    async with client_for(settings, url=closed, connect_timeout_s=2) as client:
        for path in ("/v1/kommuner/0301", "/v1/listings?kommune=0301"):
            assert_unavailable(await client.get(path))
        registered = await client.post(
            "/v1/auth/register",
            json={"email": "ute@example.no", "password": "et langt passord", "display_name": "U"},
        )
        assert_unavailable(registered)


async def test_killed_connections_are_a_503_and_the_api_recovers(
    settings: Settings, committed_database_url: str, committed_engine: AsyncEngine
) -> None:
    async with client_for(settings, url=SecretStr(committed_database_url), pool_size=4) as client:
        headers = await _signed_in(client)
        created = await client.post("/v1/listings", json=_item("Sykkel"), headers=headers)
        assert created.status_code == 201
        path = f"/v1/listings/{created.json()['id']}"
        assert (await client.get(path)).status_code == 200
        async with committed_engine.connect() as admin:
            await admin.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = 'sirkel' AND datname = current_database() "
                    "AND pid <> pg_backend_pid()"
                )
            )
            await admin.commit()
        statuses = []
        for _ in range(10):
            response = await client.get(path)
            statuses.append(response.status_code)
            if response.status_code == 200:
                break
            assert_unavailable(response)
        assert statuses[-1] == 200, statuses  # recovered without a restart
        again = await client.post("/v1/listings", json=_item("Stol"), headers=headers)
        assert again.status_code == 201


async def test_a_write_that_runs_out_of_time_is_503_busy_and_changes_nothing(
    settings: Settings, committed_database_url: str, committed_engine: AsyncEngine
) -> None:
    async with client_for(
        settings,
        url=SecretStr(committed_database_url),
        statement_timeout_ms=300,
    ) as client:
        headers = await _signed_in(client)
        created = await client.post("/v1/listings", json=_item("Benk"), headers=headers)
        listing_id = created.json()["id"]
        async with committed_engine.connect() as holder:
            await holder.execute(
                text("SELECT 1 FROM listings WHERE id = :id FOR UPDATE"), {"id": listing_id}
            )
            blocked = await client.patch(
                f"/v1/listings/{listing_id}", json={"title": "Ny benk"}, headers=headers
            )
            assert_unavailable(blocked, "busy")
            await holder.rollback()
        await asyncio.sleep(0)
        read = await client.get(f"/v1/listings/{listing_id}", headers=headers)
        assert read.json()["title"] == "Benk"
        done = await client.patch(
            f"/v1/listings/{listing_id}", json={"title": "Ny benk"}, headers=headers
        )
        assert done.status_code == 200, done.text
