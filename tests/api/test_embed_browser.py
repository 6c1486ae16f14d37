"""The embeddable map in a real browser: Debian's Chromium (WebGL through SwiftShader),
driven by Playwright, against Sirkel on a real port with listings committed in Lillehammer.

Every host but 127.0.0.1 is unresolvable for the browser, and every request it makes is
recorded: a page that reached outside Sirkel would fail here twice. Screenshots of each page
are kept in build/test-artefacts/.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import PROJECT_ROOT, DatabaseSettings, Settings
from app.db import create_engine
from app.main import create_app
from tests.api.test_docs_offline import OFFLINE
from tests.api.test_impact_report_render import CHROMIUM, needs_chromium
from tests.factories import create_listing, create_person
from tests.live_server import serve
from tests.places import PLACES

pytestmark = needs_chromium

ARTEFACTS = PROJECT_ROOT / "build" / "test-artefacts"
AXE = PROJECT_ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"
LILLEHAMMER = PLACES["lillehammer"]
# Listings around Lillehammer's centre (lat, lon offsets of up to ~1.5 km), and what they are.
SPREAD = [(dy * 0.004, dx * 0.008) for dy in (-2, -1, 0, 1, 2) for dx in (-2, -1, 0, 1, 2)]


@pytest.fixture(scope="module")
def served(settings: Settings, committed_database_url: str) -> Iterator[str]:
    database = DatabaseSettings(url=committed_database_url, pool_size=5)  # type: ignore[arg-type]
    with serve(create_app(settings.model_copy(update={"database": database}))) as url:
        yield url


@pytest.fixture(scope="module")
async def seeded(settings: Settings, committed_database_url: str) -> int:
    """25 listings in Lillehammer (5 of them wanted), 3 in Oslo that its map must not show."""
    engine = create_engine(DatabaseSettings(url=committed_database_url, pool_size=2))  # type: ignore[arg-type]
    try:
        async with AsyncSession(engine, expire_on_commit=False) as session:
            owner = await create_person(session, settings)
            for i, (dlat, dlon) in enumerate(SPREAD):
                await create_listing(
                    session,
                    at=(LILLEHAMMER.lat + dlat, LILLEHAMMER.lon + dlon),
                    person=owner,
                    title=f"Kart-test {i:02d}",
                    mode="wanted" if i % 5 == 0 else "give",
                )
            oslo = PLACES["oslo_city_hall"]
            for _ in range(3):
                await create_listing(session, at=(oslo.lat, oslo.lon), person=owner)
            await session.commit()
    finally:
        await engine.dispose()
    return len(SPREAD)


async def api_count(base: str, **filters: str) -> int:
    """How many listings GET /v1/listings finds: what the map must show."""
    count, cursor = 0, None
    async with httpx.AsyncClient(base_url=base) as client:
        while True:
            params = {**filters, "limit": "100", **({"cursor": cursor} if cursor else {})}
            page = (await client.get("/v1/listings", params=params)).json()
            count += len(page["items"])
            cursor = page["next_cursor"]
            if cursor is None:
                return count


@dataclass
class Visit:
    page: Page
    origin: str
    requests: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    async def js(self, expression: str) -> Any:
        # Runtime evaluation through the DevTools protocol: the page's CSP (no eval) holds
        # for the page itself, not for this.
        return await self.page.evaluate(expression)

    async def until(self, expression: str, timeout_s: float = 20.0) -> Any:
        for _ in range(int(timeout_s / 0.1)):
            value = await self.js(expression)
            if value:
                return value
            await asyncio.sleep(0.1)
        raise AssertionError(f"never true: {expression}")

    async def settled(self, after: int) -> dict[str, int]:
        """The list after the map has been idle again since ``after`` idles."""
        await self.until(f"window.sirkel && window.sirkel.idles > {after}")
        view: dict[str, int] = await self.js("window.sirkel.view")
        return view

    async def idles(self) -> int:
        count: int = await self.js("window.sirkel.idles")
        return count

    def assert_clean(self) -> None:
        assert self.problems == []
        outside = [url for url in self.requests if not url.startswith(self.origin)]
        assert outside == [], outside


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--enable-unsafe-swiftshader", "--use-angle=swiftshader", OFFLINE],
        )
        yield launched
        await launched.close()


@pytest.fixture
async def visit(browser: Browser, served: str) -> AsyncIterator[Visit]:
    context = await browser.new_context(viewport={"width": 1000, "height": 700})
    page = await context.new_page()
    seen = Visit(page=page, origin=served)
    page.on("request", lambda request: seen.requests.append(request.url))
    page.on(
        "console",
        lambda message: (
            seen.problems.append(f"console {message.type}: {message.text}")
            if message.type in ("error", "warning")
            else None
        ),
    )
    page.on("pageerror", lambda error: seen.problems.append(f"page error: {error}"))
    yield seen
    await context.close()


async def open_map(visit: Visit, query: str) -> dict[str, int]:
    await visit.page.goto(f"{visit.origin}/embed/map?{query}")
    await visit.page.wait_for_selector("body[data-ready=true]", state="attached")
    return await visit.settled(0)


async def screenshot(visit: Visit, name: str) -> None:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    await visit.page.screenshot(path=str(ARTEFACTS / f"{name}.png"))


async def test_the_map_of_a_kommune_shows_its_listings_in_clusters(
    visit: Visit, seeded: int
) -> None:
    expected = await api_count(visit.origin, kommune=LILLEHAMMER.kommunenummer)
    assert expected >= seeded
    view = await open_map(visit, f"kommune={LILLEHAMMER.kommunenummer}")
    assert await visit.js("window.sirkel.map.getZoom()") < 12  # fitted: clusters
    assert view["total"] == expected
    assert view["points"] == 0
    assert view["clusters"] >= 1
    summary = await visit.page.text_content("#list-summary")
    assert summary == f"{expected} annonser i kartutsnittet"
    items = await visit.page.locator("#list-items li").count()
    assert items == view["clusters"]
    # The basemap and its labels were drawn from Sirkel's own tiles and glyphs.
    assert any("/v1/tiles/kommuner/" in url for url in visit.requests)
    assert any("/embed/glyphs/Noto%20Sans%20Bold/0-255.pbf" in url for url in visit.requests)
    await screenshot(visit, "embed-map-kommune")
    visit.assert_clean()


@pytest.mark.usefixtures("seeded")
async def test_a_cluster_click_zooms_in_and_a_point_opens_its_popup(visit: Visit) -> None:
    await open_map(visit, f"kommune={LILLEHAMMER.kommunenummer}")
    zoom = await visit.js("window.sirkel.map.getZoom()")
    box = await visit.page.locator("#map canvas").bounding_box()
    assert box is not None
    biggest = await visit.js(
        "(() => { const m = window.sirkel.map;"
        " const f = m.queryRenderedFeatures({layers: ['clusters']})"
        "   .sort((a, b) => b.properties.count - a.properties.count)[0];"
        " const p = m.project(f.geometry.coordinates); return [p.x, p.y]; })()"
    )
    idles = await visit.idles()
    await visit.page.mouse.click(box["x"] + biggest[0], box["y"] + biggest[1])
    await visit.until(f"window.sirkel.map.getZoom() > {zoom + 1.5}")
    await visit.settled(idles)

    # Up close every listing is its own point, and the list names each one.
    idles = await visit.idles()
    await visit.js(
        f"window.sirkel.map.jumpTo({{center: [{LILLEHAMMER.lon}, {LILLEHAMMER.lat}], zoom: 13}})"
    )
    view = await visit.settled(idles)
    assert view["clusters"] == 0
    assert view["points"] >= 1
    rendered = await visit.js(
        "new Set(window.sirkel.map.queryRenderedFeatures({layers: ['points']})"
        ".map(f => f.properties.id)).size"
    )
    assert view["points"] == rendered
    assert await visit.page.locator("#list-items li").count() == rendered
    titles = await visit.page.locator("#list-items li strong").all_text_contents()
    assert titles == sorted(titles)
    assert all(t.startswith("Kart-test") for t in titles)

    point = await visit.js(
        "(() => { const m = window.sirkel.map;"
        " const f = m.queryRenderedFeatures({layers: ['points']})[0];"
        " const p = m.project(f.geometry.coordinates);"
        " return [p.x, p.y, f.properties.title, f.properties.id]; })()"
    )
    await visit.page.mouse.click(box["x"] + point[0], box["y"] + point[1])
    popup = visit.page.locator(".maplibregl-popup .popup")
    await popup.wait_for()
    assert await popup.locator("h3").text_content() == point[2]
    link = await popup.locator("a").get_attribute("href")
    assert link == f"{visit.origin}/v1/listings/{point[3]}"
    await screenshot(visit, "embed-map-popup")
    visit.assert_clean()


@pytest.mark.usefixtures("seeded")
async def test_filter_chips_redraw_the_map(visit: Visit) -> None:
    wanted = await api_count(visit.origin, kommune=LILLEHAMMER.kommunenummer, mode="wanted")
    assert wanted >= 5
    await open_map(visit, f"kommune={LILLEHAMMER.kommunenummer}&lang=en")
    chip = visit.page.get_by_role("button", name="Wanted")
    idles = await visit.idles()
    await chip.click()
    assert await chip.get_attribute("aria-pressed") == "true"
    await visit.until(f"window.sirkel.view.total === {wanted}")
    await visit.settled(idles)
    assert await visit.page.text_content("#list-summary") == f"{wanted} listings in the map view"
    # A page opened with the filter shows the same.
    other = await open_map(visit, f"kommune={LILLEHAMMER.kommunenummer}&mode=wanted")
    assert other["total"] == wanted
    visit.assert_clean()


async def _axe(visit: Visit) -> list[dict[str, Any]]:
    await visit.js(AXE.read_text("utf-8"))
    result = json.loads(
        await visit.page.evaluate(
            "axe.run(document, {resultTypes: ['violations']}).then(r => JSON.stringify(r))"
        )
    )
    assert result["testEngine"]["name"] == "axe-core"
    assert result["toolOptions"]["resultTypes"] == ["violations"]
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["html"] for n in v["nodes"]][:3]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


@pytest.mark.usefixtures("seeded")
async def test_the_map_meets_wcag_aa_by_axe(visit: Visit) -> None:
    await open_map(visit, f"kommune={LILLEHAMMER.kommunenummer}")
    assert await _axe(visit) == []
    visit.assert_clean()


@pytest.mark.usefixtures("seeded")
async def test_the_builder_makes_the_snippet_and_meets_wcag_aa(visit: Visit) -> None:
    await visit.page.goto(f"{visit.origin}/embed")
    snippet = visit.page.locator("#snippet")
    assert "kommune=0301" in (await snippet.input_value())
    await visit.page.select_option("select[name=place]", f"kommune:{LILLEHAMMER.kommunenummer}")
    await visit.page.select_option("select[name=mode]", "lend")
    value = await snippet.input_value()
    assert value.startswith(f'<iframe src="{visit.origin}/embed/map?kommune=3405&amp;mode=lend')
    assert 'title="Lillehammer"' in value
    numbers = await visit.page.locator("#numbers-snippet").input_value()
    assert numbers.startswith(f'<iframe src="{visit.origin}/embed/impact?kommune=3405&amp;lang=nb"')
    preview = visit.page.frame_locator("#preview")
    await preview.locator("body[data-ready=true]").wait_for(state="attached")
    assert await preview.locator("h1").text_content() == "Del, lån og gjenbruk i Lillehammer"
    await screenshot(visit, "embed-builder")
    assert await _axe(visit) == []
    visit.assert_clean()


@pytest.mark.usefixtures("seeded")
async def test_the_kommunes_numbers_meet_wcag_aa(visit: Visit) -> None:
    await visit.page.goto(f"{visit.origin}/embed/impact?kommune={LILLEHAMMER.kommunenummer}")
    assert await visit.page.locator("tbody tr").count() == 4
    await screenshot(visit, "embed-impact")
    assert await _axe(visit) == []
    visit.assert_clean()


@pytest.mark.usefixtures("seeded")
async def test_axe_here_finds_what_it_should(visit: Visit) -> None:
    """The harness itself: a nameless button and an image without alt text on the map page
    are serious or critical violations."""
    await open_map(visit, f"kommune={LILLEHAMMER.kommunenummer}")
    await visit.js(
        "document.querySelector('main').append(document.createElement('button'));"
        "const i = document.createElement('img'); i.src = 'data:,';"
        "document.querySelector('main').append(i);"
    )
    found = {violation["id"] for violation in await _axe(visit)}
    assert {"button-name", "image-alt"} <= found


@pytest.mark.usefixtures("seeded")
async def test_the_ogc_pages_meet_wcag_aa(visit: Visit) -> None:
    for path in (
        "/ogc",
        "/ogc/collections/repair-events?f=html",
        "/ogc/collections/kommuner/items?f=html&limit=5",
    ):
        await visit.page.goto(f"{visit.origin}{path}")
        assert await _axe(visit) == [], path
    await screenshot(visit, "ogc-items")
    visit.assert_clean()
