"""/v1/evidence: the analysts' feed (paging, since, access), verification of the chain from the
feed alone in plain Python, and the database's own verification under tampering."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.api.deps import utcnow
from app.config import Settings
from app.models.evidence import CANONICAL_FIELDS, EvidenceEvent, EvidenceGrade
from app.models.organization import ApiKeyScope, OrganizationKind
from app.pagination import encode_cursor
from app.repositories.evidence import EvidenceRepository, PartyRef
from tests.factories import Actor, create_api_key, create_organization, create_person
from tests.problems import assert_problem
from tests.repositories.test_evidence_ledger import (
    OCCURRED,
    append_repairs,
    create_repair,
    repair_draft,
    repair_shop,
)

FEED = "/v1/evidence"
VERIFY = "/v1/evidence/verify"
NOW = datetime(2026, 11, 23, 9, 20, tzinfo=UTC)
README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture(autouse=True)
def fixed_clock(app: FastAPI) -> Iterator[None]:
    app.dependency_overrides[utcnow] = lambda: NOW
    yield
    app.dependency_overrides.pop(utcnow, None)


@pytest.fixture
async def analyst(session: AsyncSession, settings: Settings) -> Actor:
    return await create_person(session, settings, roles=["analyst"])


@pytest.fixture
async def moderator(session: AsyncSession, settings: Settings) -> Actor:
    return await create_person(session, settings, roles=["moderator"])


async def pull_all(
    client: httpx.AsyncClient, headers: dict[str, str], *, limit: int, cursor: str | None = None
) -> tuple[list[dict[str, Any]], str | None, list[int]]:
    """Every record after ``cursor``, page by page: the records, the cursor to poll with
    later, and the size of each page."""
    records: list[dict[str, Any]] = []
    sizes = []
    while True:
        params: dict[str, Any] = {"limit": limit}
        if cursor is not None:
            params["cursor"] = cursor
        response = await client.get(FEED, params=params, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        records += page["records"]
        sizes.append(len(page["records"]))
        cursor = page["next_cursor"]
        if len(page["records"]) < limit:
            return records, cursor, sizes


# --- verifying from the feed alone ----------------------------------------------------------

_DECIMALS = ("quantity", "days", "kg_diverted", "co2e_kg")
_TIMES = ("recorded_at", "occurred_at")


def canonical_json(record: dict[str, Any]) -> str:
    """The canonical form (version 1), rebuilt from a feed record by the README's rules."""
    fields = {k: record[k] for k in CANONICAL_FIELDS}
    for name in _DECIMALS:
        if fields[name] is not None:
            fields[name] = f"{Decimal(str(fields[name])):.3f}"
    for name in _TIMES:
        fields[name] = (
            datetime.fromisoformat(fields[name]).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        )
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def check_chain(records: list[dict[str, Any]], prev_hash: str = "00" * 32) -> str:
    for record in records:
        assert record["prev_hash"] == prev_hash, f"link broken at {record['seq']}"
        digest = hashlib.sha256(
            bytes.fromhex(prev_hash) + canonical_json(record).encode("utf-8")
        ).hexdigest()
        assert digest == record["hash"], f"hash broken at {record['seq']}"
        prev_hash = record["hash"]
    return prev_hash


def readme_verifier() -> Callable[..., str]:
    """``verify_chain`` from the README's section on the evidence ledger, run as written."""
    section = README.read_text(encoding="utf-8").split("## The evidence ledger", 1)[1]
    section = section.split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)
    namespace: dict[str, Any] = {}
    exec(blocks[0], namespace)
    verify: Callable[..., str] = namespace["verify_chain"]
    return verify


async def build_history(session: AsyncSession, settings: Settings) -> None:
    """Records of every kind: logged, confirmed (-1 reported, +1 confirmed), disputed and
    upheld, corrected; receivers of both kinds; awkward text and times; negative numbers."""
    person = await create_person(session, settings)
    shop = await repair_shop(session, settings)
    library = await create_organization(
        session, owner=person, kind=OrganizationKind.LIBRARY_OF_THINGS
    )
    repo = EvidenceRepository(session)

    confirmed = await create_repair(session, shop)
    first = await repo.append(
        repair_draft(confirmed, receiver=PartyRef(person_id=person.person_id))
    )
    await repo.compensate(first, event=EvidenceEvent.CONFIRMED, occurred_at=OCCURRED)
    await repo.restate(
        first, event=EvidenceEvent.CONFIRMED, grade=EvidenceGrade.CONFIRMED, occurred_at=OCCURRED
    )

    disputed = await create_repair(session, shop)
    oslo_winter = timezone(timedelta(hours=1))
    second = await repo.append(
        repair_draft(
            disputed,
            receiver=PartyRef(organization_id=library.id),
            occurred_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=oslo_winter),
            repair_status='Fixed "fort" \\ ny\nlinje\tæøå 😀 \u2028 \x01 \x7f </>',
            unit="m²",
            quantity=Decimal("123456789012.345"),
            days=Decimal("0.001"),
            kg_diverted=Decimal("0"),
            co2e_kg=None,
        )
    )
    await repo.compensate(second, event=EvidenceEvent.DISPUTED, occurred_at=OCCURRED)
    upheld = await repo.restate(
        second, event=EvidenceEvent.UPHELD, grade=EvidenceGrade.CONFIRMED, occurred_at=OCCURRED
    )
    await repo.compensate(upheld, event=EvidenceEvent.CORRECTED, occurred_at=OCCURRED)
    await repo.restate(
        upheld,
        event=EvidenceEvent.CORRECTED,
        grade=EvidenceGrade.CONFIRMED,
        occurred_at=OCCURRED,
        changes={"kg_diverted": Decimal("7.5")},
    )
    imported = await create_repair(session, shop)
    await repo.append(
        repair_draft(imported, event=EvidenceEvent.IMPORTED, grade=EvidenceGrade.IMPORTED)
    )


async def test_the_feed_can_be_verified_outside_the_database(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, analyst: Actor
) -> None:
    await build_history(session, settings)
    response = await client.get(FEED, params={"limit": 1000}, headers=analyst.headers)
    assert response.status_code == 200, response.text
    as_floats = response.json()["records"]
    as_decimals = json.loads(response.text, parse_float=Decimal)["records"]
    assert [r["seq"] for r in as_floats] == list(range(1, 10))
    assert [r["count"] for r in as_floats] == [1, -1, 1, 1, -1, 1, -1, 1, 1]
    assert [r["event"] for r in as_floats] == [
        "logged",
        "confirmed",
        "confirmed",
        "logged",
        "disputed",
        "upheld",
        "corrected",
        "corrected",
        "imported",
    ]
    head = check_chain(as_floats)
    assert check_chain(as_decimals) == head
    assert response.json()["head"] == {"seq": 9, "hash": head}


async def test_the_readme_verifier_verifies_the_feed_and_finds_a_changed_figure(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, analyst: Actor
) -> None:
    await build_history(session, settings)
    response = await client.get(FEED, headers=analyst.headers)
    records = response.json()["records"]
    verify_chain = readme_verifier()
    assert verify_chain(records) == response.json()["head"]["hash"]
    assert verify_chain(json.loads(response.text, parse_float=Decimal)["records"])
    assert verify_chain(records[4:], records[3]["hash"]) == records[-1]["hash"]
    records[2]["kg_diverted"] += 1
    with pytest.raises(ValueError, match="hash broken at seq 3"):
        verify_chain(records)


async def test_a_record_carries_every_canonical_field_and_both_hashes(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, analyst: Actor
) -> None:
    shop = await repair_shop(session, settings)
    repair = await create_repair(session, shop)
    await EvidenceRepository(session).append(repair_draft(repair))
    response = await client.get(FEED, headers=analyst.headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    (record,) = response.json()["records"]
    assert list(record) == [*CANONICAL_FIELDS, "prev_hash", "hash"]
    assert record["repair_id"] == str(repair.id)
    assert record["transaction_id"] is None
    assert record["provider_sector"] == "business"
    assert record["occurred_at"] == "2026-11-20T12:30:15.250000Z"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", record["recorded_at"])
    assert record["prev_hash"] == "00" * 32
    assert re.fullmatch(r"[0-9a-f]{64}", record["hash"])
    # Decimals are JSON numbers with the stored digits.
    assert '"kg_diverted":2.500,' in response.text
    assert '"quantity":1.000,' in response.text
    assert '"days":null,' in response.text


async def test_an_empty_ledger_has_an_empty_feed_and_verifies(
    client: httpx.AsyncClient, analyst: Actor
) -> None:
    feed = await client.get(FEED, headers=analyst.headers)
    assert feed.json() == {"records": [], "next_cursor": None, "head": None}
    verdict = await client.get(VERIFY, headers=analyst.headers)
    assert verdict.status_code == 200
    assert verdict.json() == {
        "valid": True,
        "count": 0,
        "head_seq": None,
        "head_hash": None,
        "first_broken_seq": None,
        "reason": None,
        "checked_at": "2026-11-23T09:20:00Z",
    }


# --- paging ---------------------------------------------------------------------------------


async def test_paging_returns_every_record_once_in_seq_order(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, analyst: Actor
) -> None:
    await append_repairs(session, settings, 7)
    records, cursor, sizes = await pull_all(client, analyst.headers, limit=3)
    assert sizes == [3, 3, 1]
    assert [r["seq"] for r in records] == [1, 2, 3, 4, 5, 6, 7]
    assert cursor is not None
    exact, _, exact_sizes = await pull_all(client, analyst.headers, limit=7)
    assert exact_sizes == [7, 0]
    assert exact == records


async def test_a_cursor_continues_after_records_appended_later(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, analyst: Actor
) -> None:
    await append_repairs(session, settings, 4)
    first, cursor, _ = await pull_all(client, analyst.headers, limit=4)
    assert [r["seq"] for r in first] == [1, 2, 3, 4]

    empty = await client.get(FEED, params={"cursor": cursor}, headers=analyst.headers)
    assert empty.json()["records"] == []
    assert empty.json()["next_cursor"] == cursor  # nothing new: poll again with the same

    await append_repairs(session, settings, 3)
    later, cursor_after, _ = await pull_all(client, analyst.headers, limit=2, cursor=cursor)
    assert [r["seq"] for r in later] == [5, 6, 7]
    assert check_chain(later, first[-1]["hash"]) == later[-1]["hash"]
    assert cursor_after != cursor


async def test_since_starts_the_first_pull_at_a_time(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, analyst: Actor
) -> None:
    await append_repairs(session, settings, 5)
    everything, _, _ = await pull_all(client, analyst.headers, limit=100)
    third = datetime.fromisoformat(everything[2]["recorded_at"])
    in_oslo = third.astimezone(timezone(timedelta(hours=1))).isoformat()
    for since in (everything[2]["recorded_at"], in_oslo):
        response = await client.get(FEED, params={"since": since}, headers=analyst.headers)
        assert response.status_code == 200, response.text
        assert [r["seq"] for r in response.json()["records"]] == [3, 4, 5]
    late = (third + timedelta(days=1)).isoformat()
    response = await client.get(FEED, params={"since": late}, headers=analyst.headers)
    assert response.json() == {
        "records": [],
        "next_cursor": None,
        "head": {"seq": 5, "hash": everything[-1]["hash"]},
    }


async def test_a_since_without_a_time_zone_is_refused(
    client: httpx.AsyncClient, analyst: Actor
) -> None:
    response = await client.get(
        FEED, params={"since": "2026-11-01T00:00:00"}, headers=analyst.headers
    )
    body = assert_problem(response, 422, "validation_failed")
    assert [(e["location"], e["field"], e["type"]) for e in body["errors"]] == [
        ("query", "since", "timezone_aware")
    ]


@pytest.mark.parametrize(
    ("limit", "error_type"),
    [("0", "greater_than_equal"), ("1001", "less_than_equal"), ("x", "int_parsing")],
)
async def test_a_limit_outside_1_to_1000_is_refused(
    client: httpx.AsyncClient, analyst: Actor, limit: str, error_type: str
) -> None:
    response = await client.get(FEED, params={"limit": limit}, headers=analyst.headers)
    body = assert_problem(response, 422, "validation_failed")
    assert [(e["location"], e["field"], e["type"]) for e in body["errors"]] == [
        ("query", "limit", error_type)
    ]


@pytest.mark.parametrize(
    "cursor",
    [
        "not a cursor",
        encode_cursor({"k": "0301"}),
        encode_cursor({"seq": "3"}),
        encode_cursor({"seq": -1}),
        encode_cursor({"seq": True}),
    ],
)
async def test_a_cursor_this_feed_did_not_issue_is_refused(
    client: httpx.AsyncClient, analyst: Actor, cursor: str
) -> None:
    response = await client.get(FEED, params={"cursor": cursor}, headers=analyst.headers)
    body = assert_problem(response, 422, "invalid_cursor")
    assert body["errors"] == [
        {"location": "query", "field": "cursor", "message": "Invalid cursor", "type": "invalid"}
    ]


# --- who may read ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", [FEED, VERIFY])
async def test_the_ledger_needs_a_signed_in_person(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert_problem(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("roles", [[], ["moderator"]])
async def test_the_feed_is_for_analysts_only(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, roles: list[str]
) -> None:
    person = await create_person(session, settings, roles=roles)
    response = await client.get(FEED, headers=person.headers)
    body = assert_problem(response, 403, "role_required")
    assert body["detail"] == "Only an analyst can do this."


async def test_verification_is_for_analysts_and_moderators(
    client: httpx.AsyncClient,
    session: AsyncSession,
    settings: Settings,
    analyst: Actor,
    moderator: Actor,
) -> None:
    await append_repairs(session, settings, 2)
    for actor in (analyst, moderator):
        response = await client.get(VERIFY, headers=actor.headers)
        assert response.status_code == 200, response.text
        assert response.json()["valid"] is True
    person = await create_person(session, settings)
    body = assert_problem(await client.get(VERIFY, headers=person.headers), 403, "role_required")
    assert body["detail"] == "Only an analyst or a moderator can do this."


@pytest.mark.parametrize("path", [FEED, VERIFY])
async def test_api_keys_cannot_read_the_ledger(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, path: str
) -> None:
    shop = await repair_shop(session, settings)
    headers = await create_api_key(
        session, organization_id=shop.id, scopes=[ApiKeyScope.IMPACT_READ]
    )
    assert_problem(await client.get(path, headers=headers), 403, "person_required")


# --- verification and tampering -------------------------------------------------------------


async def test_an_intact_chain_verifies(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, analyst: Actor
) -> None:
    await build_history(session, settings)
    feed = (await client.get(FEED, headers=analyst.headers)).json()
    response = await client.get(VERIFY, headers=analyst.headers)
    assert response.json() == {
        "valid": True,
        "count": 9,
        "head_seq": 9,
        "head_hash": feed["head"]["hash"],
        "first_broken_seq": None,
        "reason": None,
        "checked_at": "2026-11-23T09:20:00Z",
    }


async def _behind_the_triggers_back(session: AsyncSession, *statements: str) -> None:
    """Runs statements with ``evidence_append_only`` off, inside the test's transaction (so
    the change, and the trigger's absence, vanish with its rollback)."""
    await session.execute(text("ALTER TABLE evidence DISABLE TRIGGER evidence_append_only"))
    for statement in statements:
        await session.execute(text(statement))
    await session.execute(text("ALTER TABLE evidence ENABLE TRIGGER evidence_append_only"))


async def _verdict(client: httpx.AsyncClient, actor: Actor) -> dict[str, Any]:
    response = await client.get(VERIFY, headers=actor.headers)
    assert response.status_code == 200, response.text
    verdict: dict[str, Any] = response.json()
    return {k: verdict[k] for k in ("valid", "count", "first_broken_seq", "reason")}


async def test_a_changed_figure_breaks_the_records_hash(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, analyst: Actor
) -> None:
    await append_repairs(session, settings, 5)
    await _behind_the_triggers_back(
        session, "UPDATE evidence SET kg_diverted = kg_diverted + 100 WHERE seq = 3"
    )
    assert await _verdict(client, analyst) == {
        "valid": False,
        "count": 5,
        "first_broken_seq": 3,
        "reason": "hash",
    }
    records = (await client.get(FEED, headers=analyst.headers)).json()["records"]
    with pytest.raises(AssertionError, match="hash broken at 3"):
        check_chain(records)


async def test_a_changed_and_rehashed_record_breaks_the_next_link(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, analyst: Actor
) -> None:
    await append_repairs(session, settings, 5)
    await _behind_the_triggers_back(
        session,
        "UPDATE evidence SET kg_diverted = kg_diverted + 100 WHERE seq = 3",
        "UPDATE evidence AS e SET hash = sha256(e.prev_hash || "
        "convert_to(sirkel_evidence_canonical(e), 'UTF8')) WHERE seq = 3",
    )
    assert await _verdict(client, analyst) == {
        "valid": False,
        "count": 5,
        "first_broken_seq": 4,
        "reason": "link",
    }


async def test_a_deleted_record_breaks_the_sequence(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, analyst: Actor
) -> None:
    await append_repairs(session, settings, 5)
    await _behind_the_triggers_back(session, "DELETE FROM evidence WHERE seq = 3")
    assert await _verdict(client, analyst) == {
        "valid": False,
        "count": 4,
        "first_broken_seq": 4,
        "reason": "sequence",
    }


async def test_a_replaced_record_breaks_its_own_link(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, analyst: Actor
) -> None:
    """A record rebuilt whole — new content, prev_hash and hash consistent with each other —
    but on a made-up predecessor hash."""
    await append_repairs(session, settings, 5)
    await _behind_the_triggers_back(
        session,
        "UPDATE evidence AS e SET prev_hash = sha256('forged'::bytea) WHERE seq = 3",
        "UPDATE evidence AS e SET hash = sha256(e.prev_hash || "
        "convert_to(sirkel_evidence_canonical(e), 'UTF8')) WHERE seq = 3",
    )
    assert await _verdict(client, analyst) == {
        "valid": False,
        "count": 5,
        "first_broken_seq": 3,
        "reason": "link",
    }


# --- on committed data, through a separate connection ---------------------------------------


@pytest.fixture
async def committed_analyst(committed_engine: AsyncEngine, settings: Settings) -> Actor:
    async with AsyncSession(committed_engine, expire_on_commit=False) as session:
        actor = await create_person(session, settings, roles=["analyst"])
        await session.commit()
    return actor


@pytest.fixture
async def five_committed_records(committed_engine: AsyncEngine, settings: Settings) -> list[int]:
    """Five records really committed (the committed database is this worker's alone, and its
    tests run one at a time, so they are the chain's head)."""
    async with AsyncSession(committed_engine, expire_on_commit=False) as session:
        seqs = await append_repairs(session, settings, 5)
        await session.commit()
    return seqs


async def test_verification_over_committed_data_finds_a_change_made_behind_the_trigger(
    committed_client: httpx.AsyncClient,
    committed_engine: AsyncEngine,
    committed_analyst: Actor,
    five_committed_records: list[int],
) -> None:
    third = five_committed_records[2]
    before = (await committed_client.get(VERIFY, headers=committed_analyst.headers)).json()
    assert before["valid"] is True
    assert before["head_seq"] == five_committed_records[-1]

    async def tamper(delta: str) -> None:
        async with committed_engine.begin() as conn:
            await conn.execute(text("SET LOCAL session_replication_role = replica"))
            await conn.execute(
                text(f"UPDATE evidence SET kg_diverted = kg_diverted + {delta} WHERE seq = :s"),
                {"s": third},
            )

    await tamper("1")
    try:
        broken = (await committed_client.get(VERIFY, headers=committed_analyst.headers)).json()
    finally:
        await tamper("-1")
    assert (broken["valid"], broken["first_broken_seq"], broken["reason"]) == (False, third, "hash")
    assert broken["count"] == before["count"]
    after = (await committed_client.get(VERIFY, headers=committed_analyst.headers)).json()
    assert after == {**before, "checked_at": after["checked_at"]}
