"""/docs and /redoc work without the internet: the pages reference only Sirkel's own URLs, the
assets are served with their types and a year's cache, and headless Chromium — with every
host but 127.0.0.1 unresolvable — renders the operations."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.api.docs import ASSETS_PREFIX, CSP
from app.config import Settings
from app.main import create_app
from tests.api.test_impact_report_render import chromium, needs_chromium
from tests.live_server import serve
from tests.problems import assert_problem

_URL = re.compile(r'(?:src|href)="([^"]+)"|url: \'([^\']+)\'')


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_the_pages_reference_only_sirkel(client: httpx.AsyncClient, page: str) -> None:
    response = await client.get(page)
    assert response.status_code == 200
    assert response.headers["content-security-policy"] == CSP
    urls = [a or b for a, b in _URL.findall(response.text)]
    assert urls
    for url in urls:
        assert url.startswith("/"), url
        assert not url.startswith("//"), url
    assert "googleapis" not in response.text
    assert "cdn." not in response.text


@pytest.mark.parametrize(
    ("name", "media"),
    [
        ("swagger-ui-bundle.js", "text/javascript"),
        ("swagger-ui.css", "text/css"),
        ("redoc.standalone.js", "text/javascript"),
        ("favicon.png", "image/png"),
    ],
)
async def test_the_assets_are_served(client: httpx.AsyncClient, name: str, media: str) -> None:
    response = await client.get(f"{ASSETS_PREFIX}/{name}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(media)
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert len(response.content) > 1000


async def test_an_unknown_asset_or_version_is_404(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get(f"{ASSETS_PREFIX}/../../etc/passwd"), 404, "not_found")
    assert_problem(await client.get(f"{ASSETS_PREFIX}/evil.js"), 404, "not_found")
    assert_problem(await client.get("/static/docs/0.0.1/swagger-ui.css"), 404, "not_found")


@pytest.fixture(scope="module")
def served() -> Iterator[str]:
    """The app on a real port (the docs need no database)."""
    with serve(create_app(Settings()), lifespan="off") as url:
        yield url


# Any host but the server's own fails to resolve: a request that would leave Sirkel fails.
OFFLINE = "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"


@needs_chromium
async def test_swagger_ui_renders_offline(served: str, tmp_path: Path) -> None:
    dom = await chromium(
        tmp_path, OFFLINE, "--virtual-time-budget=15000", "--dump-dom", f"{served}/docs"
    )
    text = dom.decode()
    assert "Sirkel API" in text
    operations = len(re.findall(r'class="opblock opblock-', text))
    assert operations > 50, text[:2000]
    assert "Publish a listing" in text


@needs_chromium
async def test_redoc_renders_offline(served: str, tmp_path: Path) -> None:
    dom = await chromium(
        tmp_path, OFFLINE, "--virtual-time-budget=20000", "--dump-dom", f"{served}/redoc"
    )
    text = dom.decode()
    assert "Publish a listing" in text
    assert "Add a photo to a listing" in text
