"""Invariants held by the database under real concurrency: parallel requests over separate
connections, each committing on its own."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from app.repositories.db_errors import constraint_name


async def test_parallel_registrations_of_one_email_create_one_account(
    committed_client: httpx.AsyncClient, committed_engine: AsyncEngine
) -> None:
    email = f"race-{uuid.uuid4().hex[:8]}@example.no"
    body = {"email": email, "password": "et langt passord", "display_name": "Rask"}
    responses = await asyncio.gather(
        *(committed_client.post("/v1/auth/register", json=body) for _ in range(20))
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * 19
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {"email_taken"}
    async with committed_engine.connect() as conn:
        count = await conn.scalar(
            text("SELECT count(*) FROM persons WHERE email = :e"), {"e": email}
        )
    assert count == 1


async def test_two_owners_demoting_each_other_at_once_leave_one_owner(
    committed_engine: AsyncEngine,
) -> None:
    """The trigger memberships_keep_an_owner serialises on the organization row and checks on
    a fresh snapshot: of two concurrent demotions, the second to commit fails."""
    async with committed_engine.begin() as conn:
        ids = []
        for _ in range(2):
            ids.append(
                await conn.scalar(
                    text(
                        "INSERT INTO persons (email, display_name, password_hash) "
                        "VALUES (:e, 'Eier', 'x') RETURNING id"
                    ),
                    {"e": f"owner-{uuid.uuid4().hex[:8]}@example.no"},
                )
            )
        org = await conn.scalar(
            text(
                "INSERT INTO organizations (name, kind) VALUES ('Tvilling', 'company') RETURNING id"
            )
        )
        for person in ids:
            await conn.execute(
                text(
                    "INSERT INTO memberships (organization_id, person_id, role) "
                    "VALUES (:o, :p, 'owner')"
                ),
                {"o": org, "p": person},
            )

    started = asyncio.Event()

    async def demote(person: uuid.UUID, hold: float) -> str:
        async with committed_engine.connect() as conn:
            try:
                async with conn.begin():
                    await conn.execute(
                        text(
                            "UPDATE memberships SET role = 'member' "
                            "WHERE organization_id = :o AND person_id = :p"
                        ),
                        {"o": org, "p": person},
                    )
                    started.set()
                    await asyncio.sleep(hold)  # keep the transaction open while the other runs
                return "ok"
            except IntegrityError as exc:
                return constraint_name(exc) or "integrity"

    first = asyncio.create_task(demote(ids[0], 0.3))
    await started.wait()
    second = asyncio.create_task(demote(ids[1], 0.0))
    outcomes = sorted(await asyncio.gather(first, second))
    assert outcomes == ["memberships_keep_an_owner", "ok"]
    async with committed_engine.connect() as conn:
        owners = await conn.scalar(
            text("SELECT count(*) FROM memberships WHERE organization_id = :o AND role = 'owner'"),
            {"o": org},
        )
    assert owners == 1


async def test_an_organization_cannot_be_created_without_an_owner(
    committed_engine: AsyncEngine,
) -> None:
    with pytest.raises(IntegrityError) as caught:
        async with committed_engine.begin() as conn:
            await conn.execute(
                text("INSERT INTO organizations (name, kind) VALUES ('Foreldreløs', 'company')")
            )
    assert constraint_name(caught.value) == "organizations_have_an_owner"
