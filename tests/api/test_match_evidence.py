"""An exchange that starts from a match: ``match_of`` on the request, ``matched`` in its evidence
(canonical version 3, still verifying), and the indicator ``sg3.matches.converted``."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.models import Evidence
from app.models.evidence import CANONICAL_VERSION, EvidenceEvent, EvidenceGrade
from app.models.organization import OrganizationKind
from app.repositories.evidence import EvidenceDraft, EvidenceRepository, PartyRef
from tests.api.test_matching import business, material
from tests.factories import create_organization, create_person
from tests.problems import assert_problem
from tests.repositories.test_evidence_ledger import create_repair


async def test_an_exchange_from_a_match_is_recorded_as_matched(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    board = await business(session, settings, "Platefabrikken")
    wanted = await board.post(client, mode="wanted", title="Flis", **material("030105", 2, "t"))
    sawmill = await business(session, settings, "Saga")
    offer = await sawmill.post(client, mode="give", title="Kutt", **material("030105", 5, "t"))
    found = await client.get(f"/v1/listings/{wanted['id']}/matches", headers=board.owner.headers)
    assert [m["listing"]["id"] for m in found.json()["items"]] == [offer["id"]]
    asked = await client.post(
        "/v1/transactions",
        json={
            "listing_id": offer["id"],
            "organization_id": board.id,
            "quantity": 2,
            "match_of": wanted["id"],
        },
        headers=board.owner.headers,
    )
    assert asked.status_code == 201, asked.text
    tx = asked.json()["id"]
    for who, action in (
        (sawmill.owner, "accept"),
        (sawmill.owner, "complete"),
        (board.owner, "confirm"),
    ):
        moved = await client.post(f"/v1/transactions/{tx}/{action}", headers=who.headers)
        assert moved.status_code == 200, (action, moved.text)
    records = (
        await session.scalars(
            select(Evidence).where(Evidence.transaction_id == uuid.UUID(tx)).order_by(Evidence.seq)
        )
    ).all()
    assert [r.record_count for r in records] == [1, -1, 1]
    assert all(r.matched for r in records)
    assert all(r.canonical_version == CANONICAL_VERSION == 4 for r in records)
    analyst = await create_person(session, settings, roles=["analyst"])
    verified = await client.get("/v1/evidence/verify", headers=analyst.headers)
    assert verified.status_code == 200, verified.text
    assert verified.json()["valid"] is True
    feed = await client.get("/v1/evidence", headers=analyst.headers)
    ours = [r for r in feed.json()["records"] if r["transaction_id"] == tx]
    assert ours
    assert all(r["matched"] is True for r in ours)


async def test_match_of_must_be_your_own_wanted_listing_of_the_kind(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    board = await business(session, settings, "Kjøperen")
    own_wanted = await board.post(client, mode="wanted", title="Flis", **material("030105", 2, "t"))
    own_offer = await board.post(client, mode="give", title="Bark", **material("030101", 1, "t"))
    own_space = await board.post(
        client,
        mode="wanted",
        title="Lager",
        kind="space",
        details={"space_type": "storage", "area_m2": 100},
    )
    other = await business(session, settings, "Andre")
    others_wanted = await other.post(
        client, mode="wanted", title="Flis", **material("030105", 2, "t")
    )
    sawmill = await business(session, settings, "Saga")
    offer = await sawmill.post(client, mode="give", title="Kutt", **material("030105", 5, "t"))
    for match_of in (others_wanted["id"], own_offer["id"], own_space["id"], str(uuid.uuid4())):
        response = await client.post(
            "/v1/transactions",
            json={
                "listing_id": offer["id"],
                "organization_id": board.id,
                "quantity": 1,
                "match_of": match_of,
            },
            headers=board.owner.headers,
        )
        body = assert_problem(response, 422, "invalid_match_of")
        assert body["errors"][0]["field"] == "match_of"
    # Nothing was asked for: the offer still has all it had.
    listing = (await client.get(f"/v1/listings/{offer['id']}")).json()
    assert listing["quantity_available"] == 5
    assert own_wanted["status"] == "active"


async def test_matches_converted_counts_matched_records_with_suppression(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    owner = await create_person(session, settings)
    shop = await create_organization(session, owner=owner, kind=OrganizationKind.COMPANY)
    buyer = await create_organization(session, owner=owner, kind=OrganizationKind.COMPANY)
    subject = (await create_repair(session, shop)).id
    repo = EvidenceRepository(session)

    async def add(kind: str, *, matched: bool, kommune: str = "0301") -> None:
        await repo.append(
            EvidenceDraft(
                occurred_at=datetime(2025, 3, 10, 12, tzinfo=UTC),
                event=EvidenceEvent.COMPLETED,
                grade=EvidenceGrade.REPORTED,
                type=kind,
                subgoal="SG3",
                provider=PartyRef(organization_id=shop.id),
                receiver=PartyRef(organization_id=buyer.id),
                repair_id=subject,
                kommunenummer=kommune,
                fylkesnummer=kommune[:2],
                quantity=Decimal(1),
                unit="t",
                matched=matched,
            )
        )

    for _ in range(6):
        await add("material_exchange", matched=True)
    for _ in range(2):
        await add("energy_exchange", matched=True, kommune="4601")
    for _ in range(7):
        await add("space_share", matched=True)
    for _ in range(4):
        await add("material_exchange", matched=False)
    params: dict[str, Any] = {
        "indicator": "sg3.matches.converted",
        "from": "2025-01",
        "to": "2025-12",
    }
    total = (await client.get("/v1/impact", params=params)).json()["rows"]
    # The four unmatched records do not count.
    assert [(r["value"], r["records"], r["suppressed"]) for r in total] == [(15, 15, False)]
    by_type = (await client.get("/v1/impact", params={**params, "group_by": "type"})).json()
    rows = {r["keys"]["type"]: r for r in by_type["rows"]}
    assert (rows["space_share"]["value"], rows["space_share"]["suppressed"]) == (7, False)
    # Two records alone would tell who: suppressed, and the smallest other cell with it, so
    # the two cannot be recovered from the total.
    assert (rows["energy_exchange"]["value"], rows["energy_exchange"]["suppressed"]) == (
        None,
        True,
    )
    assert rows["material_exchange"]["suppressed"] is True
    refused = await client.get("/v1/impact", params={**params, "group_by": "initiative"})
    assert_problem(refused, 422, "invalid_grouping")
