"""GET /v1/impact and /v1/impact/indicators: what is counted, how it is grouped, compared,
normalised and suppressed, CSV and JSON alike, and every documented error."""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.models import Listing
from app.models.evidence import EvidenceEvent, EvidenceGrade
from app.models.organization import OrganizationKind
from app.repositories.evidence import EvidenceDraft, EvidenceRepository, PartyRef
from app.repositories.impact.rollup import LEVEL_DIMS, ImpactRollupRepository
from app.services.impact.catalogue import INDICATORS
from tests.clock import frozen
from tests.factories import create_listing, create_organization, create_person
from tests.places import PLACES
from tests.problems import assert_problem
from tests.repositories.test_evidence_ledger import create_repair

OSLO = (PLACES["oslo_city_hall"].lat, PLACES["oslo_city_hall"].lon)
JAN = datetime(2025, 1, 15, 12, tzinfo=UTC)
FEB = datetime(2025, 2, 15, 12, tzinfo=UTC)


@dataclass
class Ledger:
    """Writes evidence records through the repository (so through both triggers)."""

    session: AsyncSession
    settings: Settings
    subject: uuid.UUID

    async def person(self) -> PartyRef:
        return PartyRef(person_id=(await create_person(self.session, self.settings)).person_id)

    async def org(self, kind: OrganizationKind = OrganizationKind.REPAIR_SHOP) -> PartyRef:
        owner = await create_person(self.session, self.settings)
        org = await create_organization(self.session, owner=owner, kind=kind)
        return PartyRef(organization_id=org.id)

    async def add(
        self,
        provider: PartyRef,
        *,
        type: str = "repair",
        subgoal: str = "SG1",
        receiver: PartyRef | None = None,
        kommune: str | None = "0301",
        when: datetime = JAN,
        grade: EvidenceGrade = EvidenceGrade.REPORTED,
        kg: str = "2.000",
        status: str | None = "Fixed",
        category: str | None = "tables",
        days: str | None = None,
        initiative: uuid.UUID | None = None,
    ) -> int:
        return await EvidenceRepository(self.session).append(
            EvidenceDraft(
                occurred_at=when,
                event=EvidenceEvent.LOGGED,
                grade=grade,
                type=type,
                subgoal=subgoal,
                provider=provider,
                receiver=receiver,
                repair_id=self.subject,
                kommunenummer=kommune,
                fylkesnummer=kommune[:2] if kommune else None,
                category_slug=category,
                repair_status=status if type == "repair" else None,
                days=Decimal(days) if days else None,
                kg_diverted=Decimal(kg),
                co2e_kg=Decimal(kg) * 5,
                initiative_id=initiative,
            )
        )

    async def repairs(self, n: int, **kwargs: Any) -> list[int]:
        shop = await self.org()
        return [await self.add(shop, **kwargs) for _ in range(n)]


@pytest.fixture
async def ledger(session: AsyncSession, settings: Settings) -> Ledger:
    owner = await create_person(session, settings)
    shop = await create_organization(session, owner=owner, kind=OrganizationKind.REPAIR_SHOP)
    repair = await create_repair(session, shop)
    return Ledger(session, settings, repair.id)


async def impact(client: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    params.setdefault("from", "2025-01")
    params.setdefault("to", "2025-12")
    response = await client.get("/v1/impact", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def by_key(body: dict[str, Any], dim: str) -> dict[str | None, dict[str, Any]]:
    return {row["keys"][dim]: row for row in body["rows"]}


# --- the catalogue ------------------------------------------------------------------------


async def test_the_catalogue_covers_the_three_subgoals_in_both_languages(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/v1/impact/indicators")
    assert response.status_code == 200
    body = response.json()
    ids = {i["id"] for i in body["indicators"]}
    assert {
        "sg1.reuse.handovers",
        "sg1.repairs.success_rate",
        "sg1.collaborations.cross_sector",
        "sg1.organizations.active",
        "sg2.loans.per_1000",
        "sg2.borrowers.distinct",
        "sg2.lendable.used_share",
        "sg2.loans.per_item",
        "sg2.items.idle_share",
        "sg3.materials.tonnes",
        "sg3.materials.hazardous_share",
        "sg3.energy.mwh",
        "sg3.space.m2_days",
        "sg3.businesses.giving",
        "sg3.businesses.receiving",
    } <= ids
    assert {i["subgoal"] for i in body["indicators"]} == {"SG1", "SG2", "SG3"}
    for indicator in body["indicators"]:
        assert indicator["name"]["nb"]
        assert indicator["name"]["en"]
        assert indicator["definition"]
        assert indicator["counting_rule"]
        assert indicator["data_source"]
        assert "year" in indicator["group_by"]
    assert "suppressed" in body["suppression"]


async def test_the_levels_the_queries_choose_from_are_the_levels_the_trigger_keeps(
    session: AsyncSession,
) -> None:
    assert await ImpactRollupRepository(session).levels() == LEVEL_DIMS


# --- what counts ----------------------------------------------------------------------------


async def test_a_listing_never_handed_over_counts_zero(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    owner = await create_person(session, settings)
    asker = await create_person(session, settings)
    listing: Listing = await create_listing(session, at=OSLO, person=owner)
    asked = await client.post(
        "/v1/transactions", json={"listing_id": str(listing.id)}, headers=asker.headers
    )
    assert asked.status_code == 201, asked.text
    tx = asked.json()["id"]
    accepted = await client.post(f"/v1/transactions/{tx}/accept", headers=owner.headers)
    assert accepted.status_code == 200, accepted.text

    body = await impact(
        client, indicator="sg1.reuse.handovers,sg1.reuse.kg", **{"from": "2000-01", "to": "2029-12"}
    )
    assert [(r["indicator"], r["value"], r["records"], r["suppressed"]) for r in body["rows"]] == [
        ("sg1.reuse.handovers", 0, 0, False),
        ("sg1.reuse.kg", 0, 0, False),
    ]
    grouped = await impact(client, indicator="sg1.reuse.handovers", group_by="kommune")
    assert grouped["rows"] == []


async def test_a_compensating_correction_changes_the_totals(
    client: httpx.AsyncClient, ledger: Ledger
) -> None:
    seqs = await ledger.repairs(6, kg="2.000")
    before = await impact(client, indicator="sg1.repairs.fixed_kg,sg1.repairs.count")
    assert [(r["value"], r["records"]) for r in before["rows"]] == [(12, 6), (6, 6)]

    repo = EvidenceRepository(ledger.session)
    when = datetime(2025, 3, 1, tzinfo=UTC)
    await repo.compensate(seqs[0], event=EvidenceEvent.CORRECTED, occurred_at=when)
    await repo.restate(
        seqs[0],
        event=EvidenceEvent.CORRECTED,
        occurred_at=when,
        changes={"kg_diverted": Decimal("7.500")},
    )
    await repo.compensate(seqs[1], event=EvidenceEvent.DISPUTED, occurred_at=when)

    after = await impact(client, indicator="sg1.repairs.fixed_kg,sg1.repairs.count")
    # 12 - 2 + 7.5 (corrected) - 2 (disputed) = 15.5 kg from 5 repairs that still count.
    assert [(r["value"], r["records"]) for r in after["rows"]] == [(15.5, 5), (5, 5)]


async def test_confirmed_evidence_only(client: httpx.AsyncClient, ledger: Ledger) -> None:
    await ledger.repairs(5, grade=EvidenceGrade.CONFIRMED)
    await ledger.repairs(7)
    all_ = await impact(client, indicator="sg1.repairs.count")
    confirmed = await impact(client, indicator="sg1.repairs.count", evidence="confirmed")
    assert all_["rows"][0]["value"] == 12
    assert confirmed["rows"][0]["value"] == 5


async def test_outcomes_and_the_success_rate(client: httpx.AsyncClient, ledger: Ledger) -> None:
    await ledger.repairs(6, status="Fixed")
    await ledger.repairs(3, status="Repairable")
    await ledger.repairs(1, status="End of life")
    body = await impact(
        client,
        indicator="sg1.repairs.fixed,sg1.repairs.repairable,sg1.repairs.success_rate",
    )
    rows = {r["indicator"]: r for r in body["rows"]}
    assert rows["sg1.repairs.fixed"]["value"] == 6
    assert rows["sg1.repairs.repairable"]["suppressed"] is True  # 3 records
    assert rows["sg1.repairs.success_rate"]["value"] == 60.0
    assert rows["sg1.repairs.success_rate"]["unit"] == "%"
    assert rows["sg1.repairs.success_rate"]["records"] == 10


# --- suppression ---------------------------------------------------------------------------


async def test_primary_and_complementary_suppression(
    client: httpx.AsyncClient, ledger: Ledger
) -> None:
    # Four kommuner of Agder (46): 9, 2, 6 and 7 repairs.
    for kommune, n in (("4601", 9), ("4602", 2), ("4603", 6), ("4204", 7)):
        await ledger.repairs(n, kommune=kommune)
    body = await impact(client, indicator="sg1.repairs.count", group_by="kommune")
    rows = by_key(body, "kommune")
    assert rows["4602"] | {"keys": None} == {
        "indicator": "sg1.repairs.count",
        "keys": None,
        "value": None,
        "unit": "count",
        "records": None,
        "suppressed": True,
        "suppression": "primary",
        "previous": rows["4602"]["previous"],
        "baseline": None,
    }
    # Alone, 4602 could be recovered from the total (24); the smallest other cell goes too.
    assert (rows["4603"]["suppressed"], rows["4603"]["suppression"]) == (True, "complementary")
    assert rows["4603"]["value"] is None
    assert rows["4603"]["records"] is None
    assert (rows["4601"]["value"], rows["4204"]["value"]) == (9, 7)
    total = await impact(client, indicator="sg1.repairs.count")
    assert total["rows"][0]["value"] == 24
    # Nothing visible subtracts to a hidden cell: hidden cells sum to 8, not one of them.
    shown = sum(r["value"] for r in body["rows"] if not r["suppressed"])
    assert total["rows"][0]["value"] - shown == 8


async def test_suppression_within_a_fylke_and_across_months(
    client: httpx.AsyncClient, ledger: Ledger
) -> None:
    # Oslo (03) has one kommune; Agder (46): 4601 with 2 (primary) and 4602 with 8.
    await ledger.repairs(10, kommune="0301")
    await ledger.repairs(2, kommune="4601")
    await ledger.repairs(8, kommune="4602")
    body = await impact(client, indicator="sg1.repairs.count", group_by="kommune")
    rows = by_key(body, "kommune")
    # Nationally 4601 shares its line with two cells, but Agder's total (a public fylke
    # figure) minus 4602 would give it away: 4602 is hidden too.
    assert rows["4601"]["suppression"] == "primary"
    assert rows["4602"]["suppression"] == "complementary"
    assert rows["0301"]["value"] == 10

    # A 2 x 2 table (months x fylker) with one small cell: every line through it must keep
    # two hidden cells, so the whole table goes — the complement propagates.
    await ledger.repairs(6, kommune="0301", when=FEB)
    await ledger.repairs(3, kommune="4601", when=FEB)
    monthly = await impact(client, indicator="sg1.repairs.count", group_by="month,fylke")
    cells = {(r["keys"]["month"], r["keys"]["fylke"]): r["suppression"] for r in monthly["rows"]}
    assert cells == {
        ("2025-01", "03"): "complementary",
        ("2025-01", "46"): "complementary",
        ("2025-02", "03"): "complementary",
        ("2025-02", "46"): "primary",
    }


async def test_the_requested_span_is_a_line_of_its_own(
    client: httpx.AsyncClient, ledger: Ledger
) -> None:
    """The period before ``from`` is fetched for the comparison only; were it part of the
    months' line, one hidden month in the span could be recovered from the span's total."""
    await ledger.repairs(2, when=datetime(2024, 11, 15, 12, tzinfo=UTC))
    await ledger.repairs(2, when=datetime(2024, 12, 15, 12, tzinfo=UTC))
    for month in range(1, 4):
        await ledger.repairs(6, when=datetime(2025, month, 15, 12, tzinfo=UTC))
    params = {"indicator": "sg1.repairs.count", "from": "2024-12", "to": "2025-03"}
    monthly = await impact(client, group_by="month", **params)
    hidden = [r["keys"]["month"] for r in monthly["rows"] if r["suppressed"]]
    assert "2024-12" in hidden
    assert len(hidden) >= 2
    total = (await impact(client, **params))["rows"][0]["value"]
    shown = sum(r["value"] for r in monthly["rows"] if not r["suppressed"])
    assert total == 20
    assert total - shown >= 2 + 6  # never a single hidden month's value


async def test_fewer_than_three_households_is_suppressed_however_many_records(
    client: httpx.AsyncClient, ledger: Ledger
) -> None:
    library = await ledger.org(OrganizationKind.LIBRARY_OF_THINGS)
    a, b = await ledger.person(), await ledger.person()
    for borrower in (a, b, a, b, a, b, a):
        await ledger.add(
            library, type="loan", subgoal="SG2", receiver=borrower, status=None, days="2"
        )
    body = await impact(client, indicator="sg2.loans.count,sg2.borrowers.distinct")
    assert [(r["value"], r["suppressed"]) for r in body["rows"]] == [(None, True), (None, True)]

    await ledger.add(
        library, type="loan", subgoal="SG2", receiver=await ledger.person(), status=None
    )
    body = await impact(client, indicator="sg2.loans.count,sg2.borrowers.distinct")
    assert [(r["value"], r["suppressed"]) for r in body["rows"]] == [(8, False), (3, False)]


# --- normalisation --------------------------------------------------------------------------


async def test_loans_per_1000_inhabitants_use_the_real_population(
    client: httpx.AsyncClient, ledger: Ledger, session: AsyncSession
) -> None:
    library = await ledger.org(OrganizationKind.LIBRARY_OF_THINGS)
    for kommune, n in (("0301", 30), ("4601", 12)):
        for _ in range(n):
            await ledger.add(
                library,
                type="loan",
                subgoal="SG2",
                receiver=await ledger.person(),
                kommune=kommune,
                status=None,
            )
    counts = (await session.execute(text("SELECT kommunenummer, population FROM kommuner"))).all()
    population: dict[str, int] = {str(k): int(p) for k, p in counts}
    assert population["0301"] > 700_000  # Oslo, Statistics Norway 2024
    body = await impact(client, indicator="sg2.loans.per_1000", group_by="kommune")
    rows = by_key(body, "kommune")
    assert rows["0301"]["value"] == round(30 * 1000 / population["0301"], 2)
    assert rows["4601"]["value"] == round(12 * 1000 / population["4601"], 2)
    assert rows["0301"]["unit"] == "per 1,000 inhabitants"
    assert body["population_year"] == 2024
    national = await impact(client, indicator="sg2.loans.per_1000")
    assert national["rows"][0]["value"] == round(42 * 1000 / sum(population.values()), 2)


# --- comparisons, groupings, formats -------------------------------------------------------


async def test_change_against_the_previous_period_and_a_baseline(
    client: httpx.AsyncClient, ledger: Ledger
) -> None:
    await ledger.repairs(8, when=datetime(2023, 5, 1, 12, tzinfo=UTC))
    await ledger.repairs(10, when=datetime(2024, 5, 1, 12, tzinfo=UTC))
    await ledger.repairs(12, when=datetime(2025, 5, 1, 12, tzinfo=UTC))
    body = await impact(
        client,
        indicator="sg1.repairs.count",
        group_by="year",
        baseline=2023,
        **{"from": "2024", "to": "2025"},
    )
    rows = by_key(body, "year")
    assert list(rows) == ["2024", "2025"]
    assert rows["2025"]["previous"] == {
        "period": "2024",
        "value": 10,
        "absolute": 2,
        "relative": 0.2,
    }
    assert rows["2024"]["previous"]["value"] == 8
    assert rows["2025"]["baseline"] == {
        "period": "2023",
        "value": 8,
        "absolute": 4,
        "relative": 0.5,
    }

    ungrouped = await impact(
        client, indicator="sg1.repairs.count", **{"from": "2025", "to": "2025"}
    )
    assert ungrouped["rows"][0]["previous"]["period"] == "2024-01/2024-12"
    assert ungrouped["rows"][0]["previous"]["value"] == 10


async def test_group_by_initiative_sector_and_category(
    client: httpx.AsyncClient, ledger: Ledger, session: AsyncSession
) -> None:
    initiative = uuid.uuid4()
    shop = await ledger.org()
    owner_org = shop.organization_id
    await session.execute(
        text(
            "INSERT INTO initiatives (id, name, kind, owner_organization_id, starts_on, "
            "created_at, updated_at) VALUES (:id, 'Reparasjonskafé Grünerløkka', "
            "'repair_cafe_series', :org, '2025-01-01', now(), now())"
        ),
        {"id": initiative, "org": owner_org},
    )
    for _ in range(6):
        await ledger.add(shop, initiative=initiative, category="tables")
    for _ in range(5):
        await ledger.add(shop, category="sofas-and-armchairs")
    body = await impact(client, indicator="sg1.repairs.count", group_by="initiative")
    assert {r["keys"]["initiative"]: r["value"] for r in body["rows"]} == {
        str(initiative): 6,
        None: 5,
    }
    filtered = await impact(client, indicator="sg1.repairs.count", initiative=str(initiative))
    assert filtered["rows"][0]["value"] == 6
    by_category = await impact(client, indicator="sg1.repairs.count", group_by="sector,category")
    assert {
        (r["keys"]["sector"], r["keys"]["category"]): r["value"] for r in by_category["rows"]
    } == {
        ("business", "tables"): 6,
        ("business", "sofas-and-armchairs"): 5,
    }


async def test_cross_sector_collaborations_count_each_pair_once(
    client: httpx.AsyncClient, ledger: Ledger
) -> None:
    municipality = await ledger.org(OrganizationKind.MUNICIPALITY)
    companies = [await ledger.org(OrganizationKind.COMPANY) for _ in range(5)]
    for company in companies:
        for when in (JAN, FEB):  # the second exchange adds no pair
            await ledger.add(
                company,
                type="material_exchange",
                subgoal="SG3",
                receiver=municipality,
                status=None,
                category=None,
                when=when,
            )
    same_sector = companies[0]
    await ledger.add(
        same_sector, type="reuse", receiver=companies[1], status=None, when=JAN
    )  # business with business: not cross-sector
    body = await impact(client, indicator="sg1.collaborations.cross_sector", group_by="month")
    assert {r["keys"]["month"]: r["value"] for r in body["rows"]} == {"2025-01": 5}
    active = await impact(client, indicator="sg1.organizations.active", group_by="kind")
    assert {r["keys"]["kind"]: r["value"] for r in active["rows"]} == {
        "company": 5,
        "municipality": 1,
    }


async def test_csv_equals_json(client: httpx.AsyncClient, ledger: Ledger) -> None:
    for kommune, n in (("0301", 9), ("4601", 2), ("4602", 6), ("4204", 7)):
        await ledger.repairs(n, kommune=kommune, when=JAN)
        await ledger.repairs(n + 1, kommune=kommune, when=FEB)
    params = {
        "indicator": "sg1.repairs.count,sg1.repairs.fixed_co2e",
        "group_by": "month,kommune",
        "from": "2025-01",
        "to": "2025-02",
        "baseline": "2024",
    }
    as_json = (await client.get("/v1/impact", params=params)).json()
    response = await client.get("/v1/impact", params=params, headers={"Accept": "text/csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    lines = list(csv.DictReader(io.StringIO(response.text)))
    assert len(lines) == len(as_json["rows"]) > 0

    def num(value: str) -> float | None:
        return float(value) if value else None

    for line, row in zip(lines, as_json["rows"], strict=True):
        assert line["indicator"] == row["indicator"]
        assert (line["month"], line["kommune"]) == (row["keys"]["month"], row["keys"]["kommune"])
        assert num(line["value"]) == row["value"]
        assert num(line["records"]) == row["records"]
        assert line["unit"] == row["unit"]
        assert line["suppressed"] == str(row["suppressed"]).lower()
        assert (line["suppression"] or None) == row["suppression"]
        assert num(line["previous_value"]) == row["previous"]["value"]
        assert num(line["change"]) == row["previous"]["absolute"]
        assert (line["baseline_period"] or None) == row["baseline"]["period"]
    assert any(r["suppressed"] for r in as_json["rows"])


# --- errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"indicator": "sg9.nothing"}, 422, "unknown_indicator"),
        ({"indicator": ""}, 422, "unknown_indicator"),
        ({"indicator": "sg1.repairs.count", "group_by": "year,month"}, 422, "invalid_grouping"),
        ({"indicator": "sg1.repairs.count", "group_by": "planet"}, 422, "invalid_grouping"),
        ({"indicator": "sg2.loans.per_1000", "group_by": "sector"}, 422, "invalid_grouping"),
        ({"indicator": "sg1.repairs.count", "from": "2025-13"}, 422, "invalid_period"),
        ({"indicator": "sg1.repairs.count", "from": "2025-1x"}, 422, "invalid_period"),
        ({"indicator": "sg1.repairs.count", "from": "2025", "to": "2024"}, 422, "invalid_period"),
        ({"indicator": "sg1.repairs.count", "kommune": "9999"}, 422, "unknown_kommune"),
        ({"indicator": "sg1.repairs.count", "fylke": "99"}, 422, "unknown_fylke"),
        ({"indicator": "sg1.repairs.count", "kommune": "Oslo"}, 422, "validation_failed"),
        ({"indicator": "sg1.repairs.count", "evidence": "most"}, 422, "validation_failed"),
        ({"indicator": "sg1.repairs.count", "baseline": "1066"}, 422, "validation_failed"),
        ({"indicator": "sg1.repairs.count", "initiative": "x"}, 422, "validation_failed"),
        ({}, 422, "validation_failed"),
    ],
)
async def test_bad_queries_are_problems(
    client: httpx.AsyncClient, params: dict[str, str], status: int, code: str
) -> None:
    response = await client.get("/v1/impact", params=params)
    assert_problem(response, status, code)


async def test_formats_other_than_json_and_csv_are_406(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/v1/impact", params={"indicator": "sg1.repairs.count"}, headers={"Accept": "image/png"}
    )
    assert_problem(response, 406, "not_acceptable")


async def test_every_indicator_answers_every_grouping_it_declares(
    client: httpx.AsyncClient, ledger: Ledger
) -> None:
    await ledger.repairs(6)
    for indicator in INDICATORS:
        for dim in sorted(indicator.dims):
            body = await impact(client, indicator=indicator.id, group_by=dim)
            assert all(set(r["keys"]) == {dim} for r in body["rows"]), (indicator.id, dim)


# --- through real transactions --------------------------------------------------------------


async def test_the_share_of_lendable_items_used_counts_real_loans(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, app: FastAPI
) -> None:
    start = datetime(2026, 11, 2, 9, tzinfo=UTC)
    with frozen(app, start) as clock:
        owners = [await create_person(session, settings) for _ in range(3)]
        borrower = await create_person(session, settings)
        drills = [
            await create_listing(
                session,
                at=OSLO,
                person=owners[i % 3],
                mode="lend",
                category="power-tools",
                published_at=start - timedelta(days=30),
            )
            for i in range(6)
        ]
        # Not lendable: a gift does not count in either part of the share.
        await create_listing(session, at=OSLO, person=owners[0], published_at=start)
        for drill, owner in ((drills[0], owners[0]), (drills[1], owners[1])):
            clock.now = start
            period = {
                "start": (start + timedelta(days=1)).isoformat(),
                "end": (start + timedelta(days=3)).isoformat(),
            }
            asked = await client.post(
                "/v1/transactions",
                json={"listing_id": str(drill.id), "period": period},
                headers=borrower.headers,
            )
            assert asked.status_code == 201, asked.text
            tx = asked.json()["id"]
            for action, days in (("accept", 0), ("pickup", 1), ("return", 2)):
                clock.now = start + timedelta(days=days, hours=1)
                moved = await client.post(f"/v1/transactions/{tx}/{action}", headers=owner.headers)
                assert moved.status_code == 200, moved.text

    body = await impact(
        client,
        indicator="sg2.lendable.used_share,sg2.loans.count,sg2.sharing.item_days",
        **{"from": "2026-11", "to": "2026-11"},
    )
    rows = {r["indicator"]: r for r in body["rows"]}
    assert (
        rows["sg2.lendable.used_share"]["value"],
        rows["sg2.lendable.used_share"]["records"],
    ) == (
        33.3,
        6,
    )
    # Two loans are too few to show; their item-days (2 x 1 day) likewise.
    assert rows["sg2.loans.count"]["suppressed"] is True
    assert rows["sg2.sharing.item_days"]["suppressed"] is True
    october = await impact(
        client, indicator="sg2.lendable.used_share", **{"from": "2026-10", "to": "2026-10"}
    )
    assert october["rows"][0]["value"] == 0.0

    # Utilisation: 2 loans of 6 units in November is 4 loans per unit per year; 4 of the 6
    # units saw no loan in the 90 days up to 1 December. In October: none lent, all idle.
    def utilisation(body: dict[str, Any]) -> tuple[Any, Any]:
        rows = {r["indicator"]: r["value"] for r in body["rows"]}
        return rows["sg2.loans.per_item"], rows["sg2.items.idle_share"]

    both = "sg2.loans.per_item,sg2.items.idle_share"
    november = await impact(client, indicator=both, **{"from": "2026-11", "to": "2026-11"})
    assert utilisation(november) == (4.0, 66.7)
    october = await impact(client, indicator=both, **{"from": "2026-10", "to": "2026-10"})
    assert utilisation(october) == (0.0, 100.0)
    # Over two months the same two loans are half the yearly rate.
    autumn = await impact(client, indicator=both, **{"from": "2026-10", "to": "2026-11"})
    assert utilisation(autumn) == (2.0, 66.7)
    monthly = await impact(
        client,
        indicator="sg2.loans.per_item",
        group_by="month",
        **{"from": "2026-11", "to": "2026-11"},
    )
    assert [r["value"] for r in monthly["rows"]] == [4.0]


async def test_impact_and_the_report_read_one_snapshot_in_production(
    committed_client: httpx.AsyncClient,
) -> None:
    """With the real engine (not the test transaction) the reads run in a read-only
    REPEATABLE READ transaction; this is the path the harness cannot take."""
    response = await committed_client.get(
        "/v1/impact",
        params={"indicator": "sg1.repairs.count,sg2.loans.count", "group_by": "month"},
    )
    assert response.status_code == 200, response.text
    report = await committed_client.get("/v1/impact/report/2026")
    assert report.status_code == 200, report.text
    assert report.headers["content-type"].startswith("text/html")
