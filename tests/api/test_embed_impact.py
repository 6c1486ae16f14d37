"""GET /embed/impact: a kommune's headline numbers, each exactly what GET /v1/impact answers
for the same place and months, withheld by the same rules, per 1,000 inhabitants beside its
fylke and Norway."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.models.organization import OrganizationKind
from app.services.embed import HEADLINE_INDICATORS
from tests.factories import create_organization, create_person
from tests.problems import assert_problem
from tests.services.test_impact_report import log_repairs

_CELL = re.compile(r'<td class="number" data-scope="(\w+)">([^<]*)</td>')


def cells(page: str, indicator: str) -> dict[str, str]:
    row = re.search(rf'<tr id="{re.escape(indicator)}">(.*?)</tr>', page, re.S)
    assert row is not None, indicator
    return dict(_CELL.findall(row.group(1)))


def nb(text: str) -> Decimal:
    return Decimal(text.replace("\u00a0", "").replace(",", ".").replace("\u2212", "-"))


async def impact(client: httpx.AsyncClient, **scope: str) -> dict[str, dict[str, object]]:
    body = (
        await client.get("/v1/impact", params={"indicator": ",".join(HEADLINE_INDICATORS), **scope})
    ).json()
    return {row["indicator"]: row for row in body["rows"]}


async def populations(client: httpx.AsyncClient, kommune: str) -> tuple[int, int, int]:
    k = (await client.get(f"/v1/kommuner/{kommune}")).json()
    fylker = (await client.get("/v1/fylker")).json()["items"]
    fylke = next(f for f in fylker if f["fylkesnummer"] == kommune[:2])
    return k["population"], fylke["population"], sum(f["population"] for f in fylker)


async def test_a_kommunes_numbers_are_the_apis(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    last_month = datetime.now(UTC) - timedelta(days=31)
    owner = await create_person(session, settings)
    oslo = await create_organization(session, owner=owner, kind=OrganizationKind.REPAIR_SHOP)
    bergen = await create_organization(
        session, owner=owner, kind=OrganizationKind.REPAIR_SHOP, kommunenummer="4601"
    )
    await log_repairs(session, oslo, n=7, occurred_at=last_month, kommune="0301", kg=Decimal(2))
    await log_repairs(session, bergen, n=2, occurred_at=last_month, kommune="4601", kg=Decimal(2))

    response = await client.get("/embed/impact", params={"kommune": "0301"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "frame-ancestors *" in response.headers["content-security-policy"]
    assert "<script" not in response.text
    page = response.text
    kommune_pop, fylke_pop, norway_pop = await populations(client, "0301")
    for scope, params, population in (
        ("kommune", {"kommune": "0301"}, kommune_pop),
        ("fylke", {"fylke": "03"}, fylke_pop),
        ("norway", {}, norway_pop),
    ):
        api = await impact(client, **params)
        for indicator in HEADLINE_INDICATORS:
            shown = cells(page, indicator)[scope]
            row = api[indicator]
            if row["suppressed"]:
                assert shown == "•", (indicator, scope)
            else:
                value = Decimal(str(row["value"]))
                expected = value * 1000 / population
                assert abs(nb(shown) - expected) <= Decimal("0.005"), (indicator, scope)
    repairs = cells(page, "sg1.repairs.count")
    assert repairs["total"] == "7"
    assert nb(repairs["kommune"]) == round(Decimal(7000) / kommune_pop, 2)
    # Each row has a chart of twelve months, the last one labelled with this month.
    assert page.count('<svg xmlns="http://www.w3.org/2000/svg"') == len(HEADLINE_INDICATORS)
    assert page.count('<title id="trend-sg1-repairs-count-t">') == 1

    # Bergen's two repairs are too few to show, on the page as in the API.
    bergen_page = (await client.get("/embed/impact", params={"kommune": "4601"})).text
    assert (await impact(client, kommune="4601"))["sg1.repairs.count"]["suppressed"] is True
    assert cells(bergen_page, "sg1.repairs.count")["total"] == "•"
    assert cells(bergen_page, "sg1.repairs.count")["kommune"] == "•"
    # The month they were logged in is a withheld stub, never a bar of height 2.
    assert ">2</text>" not in bergen_page


async def test_english_and_refusals(client: httpx.AsyncClient) -> None:
    page = (await client.get("/embed/impact", params={"kommune": "5001", "lang": "en"})).text
    assert '<html lang="en">' in page
    assert "<title>Sharing, reuse and repair in Trondheim</title>" in page
    assert "Per 1,000 inhabitants" in page
    assert_problem(await client.get("/embed/impact"), 422, "validation_failed")
    assert_problem(
        await client.get("/embed/impact", params={"kommune": "9999"}), 422, "unknown_kommune"
    )
    assert_problem(
        await client.get("/embed/impact", params={"kommune": "03011"}), 422, "validation_failed"
    )
