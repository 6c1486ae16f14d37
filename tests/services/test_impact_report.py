"""The yearly impact report (``app.services.impact.report``, ``app.render.report``): what
the page holds, that every figure is the aggregate service's (suppressed ones never leak),
the ledger head, escaping, the reference data's attributions, and the SVG helpers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from html import escape
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.errors import InvalidPeriodError, UnknownFylkeError, UnknownKommuneError
from app.models.organization import Organization, OrganizationKind
from app.render.report import ATTRIBUTIONS, NOT_APPLICABLE, number, report_html
from app.render.svg import (
    Bar,
    Point,
    month_chart,
    nice_ticks,
    ranked_bars,
    tick_label,
)
from app.repositories.evidence import EvidenceRepository
from app.repositories.impact.report import ImpactReportRepository
from app.services.impact.catalogue import BY_ID, INDICATORS
from app.services.impact.periods import NORWAY
from app.services.impact.query import aggregate, build_query
from app.services.impact.report import yearly_report
from app.services.impact.suppression import MIN_HOUSEHOLDS, MIN_RECORDS
from tests.factories import Actor, create_listing, create_organization, create_person
from tests.places import PLACES
from tests.repositories.test_evidence_ledger import create_repair, repair_draft

DATA_README = Path(__file__).resolve().parents[2] / "data" / "README.md"
EVIL_SLUG = '<img src=x onerror=alert(1)>&"ø'
# The kilograms of the cells that must be suppressed: unmistakable if they leaked.
BERGEN_KG = Decimal("123.457")  # two repairs in April, Vestland
TRONDHEIM_KG = Decimal("200.001")  # two repairs in May, Trøndelag


def this_year() -> int:
    return datetime.now(NORWAY).year


def at(year: int, month: int) -> datetime:
    return datetime(year, month, 10, 12, 0, tzinfo=NORWAY)


@dataclass(frozen=True)
class Seeded:
    year: int
    repairs: int  # in ``year``
    repairs_before: int  # in ``year - 1``
    handovers: int


async def log_repairs(
    session: AsyncSession,
    shop: Organization,
    *,
    n: int,
    occurred_at: datetime,
    kommune: str,
    kg: Decimal,
    category: str | None = None,
) -> None:
    """``n`` repairs the shop logged, each its own ledger record."""
    repo = EvidenceRepository(session)
    for _ in range(n):
        repair = await create_repair(session, shop)
        draft = repair_draft(
            repair,
            occurred_at=occurred_at,
            kommunenummer=kommune,
            fylkesnummer=kommune[:2],
            category_slug=category,
            kg_diverted=kg,
        )
        await repo.append(draft)


async def give_away_bikes(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, n: int
) -> None:
    """``n`` bikes given away in Oslo through the API to three households, completed (the
    clock is the real one, so they count in the current month)."""
    oslo = (PLACES["oslo_city_hall"].lat, PLACES["oslo_city_hall"].lon)
    giver = await create_person(session, settings)
    takers: list[Actor] = [await create_person(session, settings) for _ in range(3)]
    for i in range(n):
        listing = await create_listing(session, at=oslo, person=giver, category="bikes")
        taker = takers[i % len(takers)]
        asked = await client.post(
            "/v1/transactions", json={"listing_id": str(listing.id)}, headers=taker.headers
        )
        assert asked.status_code == 201, asked.text
        tx = asked.json()["id"]
        for action in ("accept", "complete"):
            moved = await client.post(f"/v1/transactions/{tx}/{action}", headers=giver.headers)
            assert moved.status_code == 200, moved.text


async def seed(session: AsyncSession, settings: Settings, client: httpx.AsyncClient) -> Seeded:
    """Enough to show, and some that must be suppressed:

    * Oslo: 6 laptop repairs and one with a hostile category slug in March (shown), and 5 in
      March last year (for the change);
    * Vestland: 2 repairs in April; Trøndelag: 2 in May (suppressed: fewer than 5 records);
    * 6 bikes given away in Oslo this month (reuse handovers, shown).
    """
    year = this_year()
    owner = await create_person(session, settings)
    oslo = await create_organization(session, owner=owner, kind=OrganizationKind.REPAIR_SHOP)
    bergen = await create_organization(
        session, owner=owner, kind=OrganizationKind.REPAIR_SHOP, kommunenummer="4601"
    )
    trondheim = await create_organization(
        session, owner=owner, kind=OrganizationKind.CIVIL_SOCIETY, kommunenummer="5001"
    )
    march = at(year, 3)
    await log_repairs(
        session, oslo, n=6, occurred_at=march, kommune="0301", kg=Decimal("2.5"), category="laptops"
    )
    await log_repairs(
        session, oslo, n=1, occurred_at=march, kommune="0301", kg=Decimal("2.5"), category=EVIL_SLUG
    )
    await log_repairs(
        session, oslo, n=5, occurred_at=at(year - 1, 3), kommune="0301", kg=Decimal("2.5")
    )
    await log_repairs(
        session,
        bergen,
        n=2,
        occurred_at=at(year, 4),
        kommune="4601",
        kg=BERGEN_KG,
        category="laptops",
    )
    await log_repairs(
        session, trondheim, n=2, occurred_at=at(year, 5), kommune="5001", kg=TRONDHEIM_KG
    )
    await give_away_bikes(client, session, settings, 6)
    return Seeded(year=year, repairs=11, repairs_before=5, handovers=6)


async def render(session: AsyncSession, year: int, **kwargs: str | None) -> str:
    report = await yearly_report(
        session,
        year=year,
        fylke=kwargs.get("fylke"),
        kommune=kwargs.get("kommune"),
        now=datetime.now(UTC),
    )
    return report_html(report)


def headings(html: str, level: int) -> list[str]:
    return [
        re.sub(r"<[^>]+>", "", h).strip()
        for h in re.findall(rf"<h{level}[^>]*>(.*?)</h{level}>", html, re.S)
    ]


def summary_row(html: str, name: str) -> list[str]:
    """The cells of an indicator's row in the main table."""
    section = html[html.index('id="hovedtall"') : html.index('id="sg1"')]
    match = re.search(rf'<tr><th scope="row">{re.escape(escape(name))}</th>(.*?)</tr>', section)
    assert match is not None, name
    return re.findall(r"<td[^>]*>(.*?)</td>", match.group(1))


@pytest.fixture
async def seeded(session: AsyncSession, settings: Settings, client: httpx.AsyncClient) -> Seeded:
    return await seed(session, settings, client)


# --- the page --------------------------------------------------------------------------------


async def test_the_page_has_its_sections_charts_and_figures(
    session: AsyncSession, seeded: Seeded
) -> None:
    html = await render(session, seeded.year)
    assert html.startswith('<!DOCTYPE html>\n<html lang="nb">')
    assert headings(html, 1) == [f"Sirkel {NOT_APPLICABLE} årsrapport {seeded.year}: Hele Norge"]
    assert headings(html, 2) == [
        f"Hovedtall og endring fra {seeded.year - 1}",
        "SG1 Gjenbruk og reparasjon",
        "SG2 Deling",
        "SG3 Deling mellom virksomheter",
        "Fylkene sammenlignet",
        "Toppkategorier",
        "Metode",
    ]
    # One chart by month per indicator, three ranked comparisons (loans and materials have
    # nothing to rank), two top-category charts.
    svgs = re.findall(r"<svg\b.*?</svg>", html, re.S)
    assert len(svgs) == len(INDICATORS) + 3 + 2
    assert html.count(f"Ingen registreringer i {seeded.year}.") == 2
    for svg in svgs:
        assert 'role="img"' in svg
        assert re.search(r'aria-labelledby="([^"]+)-t \1-d"', svg)
        assert "<title id=" in svg
        assert "<desc id=" in svg
    # The figures of the year, with last year's and the change.
    assert summary_row(html, "Reparasjoner") == ["antall", "11", "0", "5", "+6", "+120,0\u00a0%"]
    assert summary_row(html, "Gjenbruk: overleveringer")[1] == str(seeded.handovers)
    # The repairs in March (7) are drawn and printed; March last year (5) is the marker.
    figure = html[html.index('id="m-sg1-repairs-count"') :]
    figure = figure[: figure.index("</figure>")]
    assert "mar: 7 (i fjor 5)" in figure
    assert 'class="compare"' in figure
    # Fully self-contained: nothing to load, nothing to run.
    for forbidden in ("<script", "<link", "<img", "<iframe", "<object", "@import", "url(http"):
        assert forbidden not in html
    assert not re.search(r"<[^>]*\s(src|srcset|on[a-z]+)=", html)
    assert set(re.findall(r'\shref="([^"#][^"]*)"', html)) <= {
        url for a in ATTRIBUTIONS.values() for _, url in a.links
    }
    assert "@page { size: A4" in html
    assert "page-break-inside: avoid" in html


async def test_suppressed_values_are_never_printed(session: AsyncSession, seeded: Seeded) -> None:
    html = await render(session, seeded.year)
    for kg in (BERGEN_KG * 2, TRONDHEIM_KG * 2, BERGEN_KG, TRONDHEIM_KG):
        assert number(kg, 3) not in html
        assert str(kg) not in html
    # The fylker table: Oslo's repairs shown, Vestland's and Trøndelag's suppressed.
    places = html[html.index('id="steder"') : html.index('id="kategorier"')]
    cells = {
        name: re.findall(r"<td[^>]*>(.*?)</td>", row)
        for name, row in re.findall(
            r'<tr><th scope="row">([^<]+) <span class="note">\d+</span></th>(.*?)</tr>', places
        )
    }
    assert cells["Oslo"][1] == "7"
    assert cells["Vestland"][1] == "•"
    assert cells["Trøndelag"][1] == "•"
    assert cells["Rogaland"][1] == "0"
    # And by month: April and May are stubs with a "•", no number.
    figure = html[html.index('id="m-sg1-repairs-fixed-kg"') :]
    figure = figure[: figure.index("</figure>")]
    assert "apr: •" in figure
    assert "mai: •" in figure
    # Whatever the service suppressed (by month, by fylke), its kilograms are not on the page.
    for group_by in (["month"], ["fylke"], []):
        query = await build_query(
            session,
            indicator=[i.id for i in INDICATORS if i.decimals == 3],
            group_by=group_by,
            month_from=f"{seeded.year}-01",
            month_to=f"{seeded.year}-12",
            evidence="all",
            fylke=None,
            kommune=None,
            initiative=None,
            baseline=None,
            now=datetime.now(UTC),
        )
        result = await aggregate(session, query)
        hidden = [r for r in result.rows if r.suppressed and r.raw_value]
        if group_by:
            assert hidden, group_by
        for row in hidden:
            assert row.raw_value is not None
            assert number(row.raw_value, BY_ID[row.indicator].decimals) not in html


async def test_the_ledger_head_of_the_year_is_the_ledgers_head(
    session: AsyncSession, seeded: Seeded
) -> None:
    html = await render(session, seeded.year)
    head = await EvidenceRepository(session).head()
    assert head is not None
    assert f'<code class="head-seq">{head["seq"]}</code>' in html
    assert f'<code class="hash head-hash">{head["hash"].hex()}</code>' in html
    verdict = await EvidenceRepository(session).verify()
    assert verdict["head_hash"] == head["hash"].hex()
    assert "GET /v1/evidence/verify" in html
    assert "verify_chain" in html


async def test_last_years_report_has_the_head_at_its_end(
    session: AsyncSession, seeded: Seeded
) -> None:
    # Every record was recorded this year, so at the end of last year the ledger was empty;
    # the page says so and names the head its figures were computed from.
    html = await render(session, seeded.year - 1)
    assert f"Bevisloggen hadde ingen poster ved utgangen av {seeded.year - 1}" in html
    head = await EvidenceRepository(session).head()
    assert head is not None
    assert head["hash"].hex() in html
    assert summary_row(html, "Reparasjoner")[1] == str(seeded.repairs_before)
    repo = ImpactReportRepository(session)
    assert await repo.ledger_head_before(datetime(seeded.year, 1, 1, tzinfo=NORWAY)) is None
    latest = await repo.ledger_head_before(datetime.now(UTC) + timedelta(minutes=1))
    assert latest is not None
    assert (latest.seq, latest.hash_hex) == (head["seq"], head["hash"].hex())


async def test_text_from_data_is_escaped(session: AsyncSession, seeded: Seeded) -> None:
    html = await render(session, seeded.year)
    assert EVIL_SLUG not in html
    assert "<img" not in html
    # One record of it: suppressed, so it is named among the suppressed categories, escaped.
    categories = html[html.index('id="kategorier"') : html.index('id="metode"')]
    assert escape(EVIL_SLUG) in categories
    assert "Skjult:" in categories
    assert "Bærbare PC-er" in categories  # laptops: 8 repairs
    assert "Sykler" in categories  # bikes: 6 handovers


async def test_a_fylke_compares_its_kommuner_and_a_kommune_nothing(
    session: AsyncSession, seeded: Seeded
) -> None:
    html = await render(session, seeded.year, fylke="03")
    assert f"Sirkel {NOT_APPLICABLE} årsrapport" in headings(html, 1)[0]
    assert "Oslo fylke (03)" in headings(html, 1)[0]
    assert "Kommunene i Oslo fylke (03) sammenlignet" in headings(html, 2)
    assert summary_row(html, "Reparasjoner")[1] == "7"
    html = await render(session, seeded.year, kommune="4601")
    assert "Bergen kommune (4601)" in headings(html, 1)[0]
    assert not any("sammenlignet" in h for h in headings(html, 2))
    assert summary_row(html, "Reparasjoner")[1] == "•"  # two repairs


async def test_years_and_places_that_do_not_exist(session: AsyncSession) -> None:
    year = this_year()
    for bad in (1999, year + 2):
        with pytest.raises(InvalidPeriodError):
            await render(session, bad)
    with pytest.raises(UnknownFylkeError):
        await render(session, year, fylke="99")
    with pytest.raises(UnknownKommuneError):
        await render(session, year, kommune="9999")
    # Next year exists, with nothing in it yet; the earliest year has no year before it.
    html = await render(session, year + 1)
    assert "året har ikke begynt" in html
    html = await render(session, 2000)
    assert "Hovedtall og endring fra 1999" in headings(html, 2)
    assert summary_row(html, "Reparasjoner") == ["antall", "0", "0", *[NOT_APPLICABLE] * 3]


async def test_the_method_names_definitions_factors_sources_and_the_rule(
    session: AsyncSession, seeded: Seeded
) -> None:
    html = await render(session, seeded.year)
    method = html[html.index('id="metode"') :]
    for ind in INDICATORS:
        for text in (ind.id, ind.definition, ind.counting_rule, ind.data_source):
            assert escape(text) in method, text
        if ind.factor_source:
            assert escape(ind.factor_source) in method
    repo = ImpactReportRepository(session)
    revisions = await repo.factor_revisions()
    assert revisions
    for revision in revisions:
        assert revision.checksum in method
        assert escape(revision.note) in method
    assert f"færre enn <strong>{MIN_RECORDS}</strong> poster" in method
    assert f"<code>MIN_HOUSEHOLDS</code> = {MIN_HOUSEHOLDS}" in method
    datasets = await repo.reference_datasets()
    assert {d.name for d in datasets} <= ATTRIBUTIONS.keys()
    for dataset in datasets:
        assert dataset.sha256 in method
        assert escape(ATTRIBUTIONS[dataset.name].text) in method
    for licence in (
        "CC BY 4.0",
        "CC BY-SA 4.0",
        "Kartverket",
        "Statistisk sentralbyrå",
        "2014/955/EU",
    ):
        assert licence in method


def test_the_attributions_are_the_data_readmes() -> None:
    readme = " ".join(DATA_README.read_text(encoding="utf-8").split())
    for name, attribution in ATTRIBUTIONS.items():
        if name == "categories":
            continue
        assert " ".join(attribution.text.split()) in readme, name
        for _, url in attribution.links:
            assert url.rstrip("/") in readme, url


# --- the SVG helpers ------------------------------------------------------------------------


def test_nice_ticks_and_their_labels() -> None:
    assert [tick_label(t) for t in nice_ticks(0.092)] == ["0", "0,025", "0,05", "0,075", "0,1"]
    assert tick_label(12500) == "12\u00a0500"
    assert nice_ticks(0) == [0.0, 1.0]
    assert nice_ticks(7) == [0.0, 2.0, 4.0, 6.0, 8.0]
    assert nice_ticks(100) == [0.0, 25.0, 50.0, 75.0, 100.0]
    assert nice_ticks(0.3)[-1] >= 0.3


def test_a_month_chart_draws_values_and_stubs_without_numbers() -> None:
    points = [
        Point(label="jan", value=Decimal(12), text="12", compare=Decimal(10)),
        Point(label="feb", value=None, mark="•"),
        Point(label="mar", value=None, mark=NOT_APPLICABLE),
        Point(label="apr", value=None, future=True),
    ]
    svg = month_chart("x", title="A <b>", desc='B "c"', points=points, unit="kg")
    assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg"')
    assert '<title id="x-t">A &lt;b&gt;</title>' in svg
    assert '<desc id="x-d">B &quot;c&quot;</desc>' in svg
    assert svg.count('fill="url(#x-h)"') == 1  # the suppressed one only
    assert ">•</text>" in svg
    assert f">{NOT_APPLICABLE}</text>" in svg
    assert ">12</text>" in svg
    assert 'class="compare"' in svg
    line = month_chart("y", title="t", desc="d", points=points, kind="line")
    assert "<circle" in line


def test_ranked_bars_escape_labels() -> None:
    svg = ranked_bars(
        "r",
        title="t",
        desc="d",
        bars=[Bar(label="<x>", value=Decimal(3), text="3"), Bar(label="y", value=None, mark="•")],
    )
    assert "&lt;x&gt;" in svg
    assert "<x>" not in svg
    assert svg.count("<rect") == 3  # the pattern's background, one bar, one stub


def test_numbers_are_norwegian() -> None:
    assert number(Decimal("1234567.5"), 1) == "1\u00a0234\u00a0567,5"
    assert number(Decimal(-3), 0) == "\u22123"
    assert number(Decimal(3), 0, signed=True) == "+3"
    assert number(Decimal(0), 2, signed=True) == "0,00"
