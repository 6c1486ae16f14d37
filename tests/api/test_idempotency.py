"""Idempotency-Key on POST: replays, conflicts, secrets, failures and real concurrency."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import StreamingResponse
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.config import Settings
from app.db import SessionDep
from app.idempotency import IdempotencyMiddleware
from app.models import ApiKey, IdempotencyRecord, Organization, Person
from tests.factories import create_organization, create_person
from tests.problems import assert_problem

ORG = {"name": "Sykkelverkstedet", "kind": "repair_shop", "kommunenummer": "0301"}


async def _count(session: AsyncSession, model: type[object]) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_same_key_same_request_replays_without_running_again(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    actor = await create_person(session, settings)
    headers = {**actor.headers, "Idempotency-Key": "opprett-1"}
    first = await client.post("/v1/organizations", json=ORG, headers=headers)
    assert first.status_code == 201, first.text
    assert "idempotency-replayed" not in first.headers
    second = await client.post("/v1/organizations", json=ORG, headers=headers)
    assert second.status_code == 201
    assert second.headers["idempotency-replayed"] == "true"
    assert second.json() == first.json()
    assert second.headers["content-type"] == first.headers["content-type"]
    assert await _count(session, Organization) == 1


async def test_same_key_other_request_is_422(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    actor = await create_person(session, settings)
    headers = {**actor.headers, "Idempotency-Key": "opprett-2"}
    assert (await client.post("/v1/organizations", json=ORG, headers=headers)).status_code == 201
    other = await client.post(
        "/v1/organizations", json={**ORG, "name": "Noe annet"}, headers=headers
    )
    body = assert_problem(other, 422, "idempotency_key_reused")
    assert body["instance"] == "/v1/organizations"
    assert await _count(session, Organization) == 1


async def test_key_while_first_request_runs_is_409(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    actor = await create_person(session, settings)
    headers = {**actor.headers, "Idempotency-Key": "opprett-3"}
    assert (await client.post("/v1/organizations", json=ORG, headers=headers)).status_code == 201
    # Put the record back in the state it has while the first request is running (before
    # its transaction committed and marked it applied).
    await session.execute(
        update(IdempotencyRecord)
        .where(IdempotencyRecord.key == "opprett-3")
        .values(state="in_progress", response_status=None, response_body=None, applied_at=None)
    )
    busy = await client.post("/v1/organizations", json=ORG, headers=headers)
    assert_problem(busy, 409, "idempotency_in_progress")
    assert busy.headers["retry-after"] == "1"
    # An abandoned claim (a worker that crashed before committing) is taken over after a while.
    await session.execute(
        update(IdempotencyRecord)
        .where(IdempotencyRecord.key == "opprett-3")
        .values(created_at=datetime.now(UTC) - timedelta(minutes=10))
    )
    again = await client.post("/v1/organizations", json=ORG, headers=headers)
    assert again.status_code == 201
    assert await _count(session, Organization) == 2


async def test_keys_belong_to_their_caller(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    alice = await create_person(session, settings)
    bob = await create_person(session, settings)
    key = {"Idempotency-Key": "samme-noekkel"}
    a = await client.post("/v1/organizations", json=ORG, headers={**alice.headers, **key})
    b = await client.post("/v1/organizations", json=ORG, headers={**bob.headers, **key})
    assert (a.status_code, b.status_code) == (201, 201)
    assert "idempotency-replayed" not in b.headers
    assert a.json()["id"] != b.json()["id"]


async def test_new_api_key_is_never_stored_and_retry_says_consumed(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    owner = await create_person(session, settings)
    org = await create_organization(session, owner=owner)
    headers = {**owner.headers, "Idempotency-Key": "ny-noekkel"}
    body = {"name": "kasse", "scopes": ["listings:write"]}
    first = await client.post(f"/v1/organizations/{org.id}/api-keys", json=body, headers=headers)
    assert first.status_code == 201, first.text
    assert first.headers["cache-control"] == "no-store"
    secret = first.json()["key"]
    retry = await client.post(f"/v1/organizations/{org.id}/api-keys", json=body, headers=headers)
    assert_problem(retry, 409, "idempotency_key_consumed")
    assert await _count(session, ApiKey) == 1
    stored = (await session.execute(select(IdempotencyRecord))).scalar_one()
    assert stored.response_body is None
    assert stored.state == "completed_secret"
    hits = await session.scalar(
        text("SELECT count(*) FROM idempotency_keys WHERE response_body::text LIKE :s"),
        {"s": f"%{secret}%"},
    )
    assert hits == 0


async def test_sign_in_ignores_the_key(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    actor = await create_person(session, settings)
    form = {"username": actor.email, "password": "correct horse battery"}
    headers = {"Idempotency-Key": "logg-inn"}
    one = await client.post("/v1/auth/token", data=form, headers=headers)
    two = await client.post("/v1/auth/token", data=form, headers=headers)
    assert (one.status_code, two.status_code) == (200, 200)
    assert one.json()["refresh_token"] != two.json()["refresh_token"]
    assert await _count(session, IdempotencyRecord) == 0


@pytest.mark.parametrize("key", ["", "x" * 256, "nøkkel", "tab\tkey"])
async def test_malformed_key_is_422(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, key: str
) -> None:
    actor = await create_person(session, settings)
    response = await client.post(
        "/v1/organizations",
        json=ORG,
        headers=[
            *((k.encode(), v.encode()) for k, v in actor.headers.items()),
            (b"Idempotency-Key", key.encode()),
        ],
    )
    assert_problem(response, 422, "invalid_idempotency_key")
    assert await _count(session, Organization) == 0


@pytest.fixture
async def flaky_client(app: FastAPI) -> AsyncIterator[tuple[httpx.AsyncClient, list[int]]]:
    calls: list[int] = []

    async def flaky() -> dict[str, int]:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("first attempt fails")
        return {"attempt": len(calls)}

    app.add_api_route("/_test/flaky", flaky, methods=["POST"])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c, calls


async def test_a_failed_first_attempt_is_forgotten(
    flaky_client: tuple[httpx.AsyncClient, list[int]],
) -> None:
    client, calls = flaky_client
    headers = {"Idempotency-Key": "proev-igjen"}
    assert (await client.post("/_test/flaky", headers=headers)).status_code == 500
    retry = await client.post("/_test/flaky", headers=headers)
    assert retry.status_code == 200
    assert retry.json() == {"attempt": 2}
    replay = await client.post("/_test/flaky", headers=headers)
    assert replay.headers["idempotency-replayed"] == "true"
    assert len(calls) == 2


async def test_parallel_retries_with_one_key_create_one_account(
    committed_client: httpx.AsyncClient, committed_engine: AsyncEngine
) -> None:
    email = f"idem-{uuid.uuid4().hex[:8]}@example.no"
    body = {"email": email, "password": "et langt passord", "display_name": "Samtidig"}
    headers = {"Idempotency-Key": f"registrer-{uuid.uuid4().hex}"}
    responses = await asyncio.gather(
        *(committed_client.post("/v1/auth/register", json=body, headers=headers) for _ in range(10))
    )
    fresh = [
        r for r in responses if r.status_code == 201 and "idempotency-replayed" not in r.headers
    ]
    assert len(fresh) == 1
    for r in responses:
        if r is fresh[0]:
            continue
        if r.status_code == 201:
            assert r.headers["idempotency-replayed"] == "true"
            assert r.json() == fresh[0].json()
        else:
            assert_problem(r, 409, "idempotency_in_progress")
    async with committed_engine.connect() as conn:
        count = await conn.scalar(
            select(func.count()).select_from(Person).where(Person.email == email)
        )
    assert count == 1


async def test_a_replay_asks_who_is_calling_now(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    """A logged-out token, an erased account's token and a revoked API key get the 401 a
    fresh request would, not the stored response (which may hold an exact point)."""
    listing = {
        "kind": "item",
        "mode": "give",
        "title": "Kommode",
        "category": "chairs",
        "location": {"type": "Point", "coordinates": [10.7336, 59.9119]},
    }
    logged_out = await create_person(session, settings)
    headers = {**logged_out.headers, "Idempotency-Key": "kommode-1"}
    assert (await client.post("/v1/listings", json=listing, headers=headers)).status_code == 201
    assert (await client.post("/v1/auth/logout", headers=logged_out.headers)).status_code == 204
    replay = await client.post("/v1/listings", json=listing, headers=headers)
    assert_problem(replay, 401, "invalid_token")
    assert "idempotency-replayed" not in replay.headers

    erased = await create_person(session, settings)
    headers = {**erased.headers, "Idempotency-Key": "kommode-2"}
    assert (await client.post("/v1/listings", json=listing, headers=headers)).status_code == 201
    assert (await client.delete("/v1/me", headers=erased.headers)).status_code == 204
    assert_problem(
        await client.post("/v1/listings", json=listing, headers=headers), 401, "invalid_token"
    )

    owner = await create_person(session, settings)
    org = await create_organization(session, owner=owner)
    created = await client.post(
        f"/v1/organizations/{org.id}/api-keys",
        json={"name": "ERP", "scopes": ["listings:write"]},
        headers=owner.headers,
    )
    assert created.status_code == 201, created.text
    key_headers = {"X-API-Key": created.json()["key"], "Idempotency-Key": "kommode-3"}
    body = {**listing, "organization_id": str(org.id)}
    assert (await client.post("/v1/listings", json=body, headers=key_headers)).status_code == 201
    revoked = await client.delete(
        f"/v1/organizations/{org.id}/api-keys/{created.json()['id']}", headers=owner.headers
    )
    assert revoked.status_code == 204
    assert_problem(
        await client.post("/v1/listings", json=body, headers=key_headers), 401, "invalid_api_key"
    )


async def test_a_crash_between_commit_and_stored_response_never_runs_twice(
    client: httpx.AsyncClient,
    session: AsyncSession,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The process dies after the request committed and before its response was stored: the
    response store is skipped, as death would skip it. The effect's transaction marked the
    key, so no retry runs the request again."""
    actor = await create_person(session, settings)
    headers = {**actor.headers, "Idempotency-Key": "krasj-1"}

    async def dies(*_args: object, **_kwargs: object) -> None:
        return None

    monkeypatch.setattr(IdempotencyMiddleware, "_finish", dies)
    first = await client.post("/v1/organizations", json=ORG, headers=headers)
    assert first.status_code == 201  # sent by the (now dead) first process
    monkeypatch.undo()
    record = await session.scalar(select(IdempotencyRecord))
    assert record is not None
    assert record.state == "in_progress"
    assert record.applied_at is not None  # committed with the organization
    soon = await client.post("/v1/organizations", json=ORG, headers=headers)
    assert_problem(soon, 409, "idempotency_in_progress")
    await session.execute(
        update(IdempotencyRecord).values(created_at=datetime.now(UTC) - timedelta(minutes=6))
    )
    later = await client.post("/v1/organizations", json=ORG, headers=headers)
    body = assert_problem(later, 409, "idempotency_key_applied")
    assert "not run again" in body["detail"]
    assert await _count(session, Organization) == 1


@pytest.fixture
async def fails_after_commit(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async def broken_body() -> AsyncIterator[bytes]:
        yield b'{"count": '
        raise RuntimeError("the server fails while sending")

    async def writes_then_fails(session: SessionDep) -> StreamingResponse:
        await session.execute(
            text(
                "INSERT INTO organizations (id, name, kind, kommunenummer) "
                "VALUES (gen_random_uuid(), 'Etter commit', 'repair_shop', '0301')"
            )
        )
        # The session commits when this returns; the body then fails halfway.
        return StreamingResponse(broken_body(), media_type="application/json")

    app.add_api_route("/_test/fails-after-commit", writes_then_fails, methods=["POST"])
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


async def test_a_failure_after_the_commit_is_not_forgotten(
    fails_after_commit: httpx.AsyncClient, session: AsyncSession
) -> None:
    headers = {"Idempotency-Key": "etter-commit"}
    await fails_after_commit.post("/_test/fails-after-commit", headers=headers)
    assert await _count(session, Organization) == 1
    record = await session.scalar(select(IdempotencyRecord))
    assert record is not None
    assert record.state == "applied"
    retry = await fails_after_commit.post("/_test/fails-after-commit", headers=headers)
    assert_problem(retry, 409, "idempotency_key_applied")
    assert await _count(session, Organization) == 1
