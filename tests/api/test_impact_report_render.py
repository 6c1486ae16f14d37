"""The yearly report as a browser shows and prints it: headless Chromium (Debian's
``chromium``) renders the page to a PNG, dumps its DOM and prints it to PDF; and the page
through its route, ``GET /v1/impact/report/{year}``."""

from __future__ import annotations

import asyncio
import os
import struct
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.render.report import report_html
from app.services.impact.report import yearly_report
from tests.problems import assert_problem
from tests.services.test_impact_report import Seeded, seed, this_year

CHROMIUM = Path("/usr/bin/chromium")
# `make test` installs Chromium as root (scripts/dev.sh test-packages). Elsewhere the render
# tests skip — except where SIRKEL_REQUIRE_CHROMIUM=1 (.ci/run): there a missing browser fails.
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists() and os.environ.get("SIRKEL_REQUIRE_CHROMIUM") != "1",
    reason="headless Chromium is not installed (/usr/bin/chromium, Debian's chromium "
    "package; `scripts/dev.sh test-packages` installs it)",
)
WIDTH, HEIGHT = 1280, 2400
HEADINGS = ("SG1 Gjenbruk og reparasjon", "SG2 Deling", "SG3 Deling mellom virksomheter")


@dataclass(frozen=True)
class Rendered:
    seeded: Seeded
    html: Path
    workdir: Path


@pytest.fixture
async def rendered(
    session: AsyncSession, settings: Settings, client: httpx.AsyncClient, tmp_path: Path
) -> Rendered:
    seeded = await seed(session, settings, client)
    report = await yearly_report(
        session, year=seeded.year, fylke=None, kommune=None, now=datetime.now(UTC)
    )
    page = report_html(report)
    target = tmp_path / "report.html"
    await asyncio.to_thread(target.write_text, page, encoding="utf-8")
    return Rendered(seeded=seeded, html=target, workdir=tmp_path)


async def chromium(workdir: Path, *args: str) -> bytes:
    """Runs headless Chromium with a throw-away profile and no network chatter; its stdout."""
    process = await asyncio.create_subprocess_exec(
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
        f"--user-data-dir={workdir / 'profile'}",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode == 0, err.decode(errors="replace")
    return out


# --- a PNG decoder from the standard library ------------------------------------------------


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def decode_png(data: bytes) -> tuple[int, int, int, list[bytes]]:
    """(width, height, bytes per pixel, rows): 8-bit RGB or RGBA, not interlaced."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat = 8, bytearray()
    width = height = bpp = 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8, depth
            assert colour in (2, 6), colour
            assert interlace == 0
            bpp = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
    raw = zlib.decompress(bytes(idat))
    stride = width * bpp
    rows: list[bytes] = []
    previous = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        filter_type = raw[start]
        line = bytearray(raw[start + 1 : start + 1 + stride])
        if filter_type == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 0xFF
        elif filter_type == 2:
            line = bytearray((a + b) & 0xFF for a, b in zip(line, previous, strict=True))
        elif filter_type == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + previous[i]) >> 1)) & 0xFF
        elif filter_type == 4:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                upper_left = previous[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + _paeth(left, previous[i], upper_left)) & 0xFF
        else:
            assert filter_type == 0, filter_type
        rows.append(bytes(line))
        previous = line
    return width, height, bpp, rows


class _Headings(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: dict[str, list[str]] = {}
        self.svgs = 0
        self._open: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, _attrs: list[tuple[str, str | None]]) -> None:
        if tag == "svg":
            self.svgs += 1
        if tag in ("h1", "h2", "h3"):
            self._open, self._text = tag, []

    def handle_endtag(self, tag: str) -> None:
        if tag == self._open:
            self.found.setdefault(tag, []).append(" ".join("".join(self._text).split()))
            self._open = None

    def handle_data(self, data: str) -> None:
        if self._open:
            self._text.append(data)


# --- Chromium -------------------------------------------------------------------------------


@needs_chromium
async def test_chromium_renders_the_page_to_a_picture(rendered: Rendered) -> None:
    png = rendered.workdir / "report.png"
    await chromium(
        rendered.workdir,
        f"--screenshot={png}",
        f"--window-size={WIDTH},{HEIGHT}",
        rendered.html.as_uri(),
    )
    data = await asyncio.to_thread(png.read_bytes)
    width, height, bpp, rows = await asyncio.to_thread(decode_png, data)
    assert (width, height) == (WIDTH, HEIGHT)
    colours: set[bytes] = set()
    ink = dark = 0
    for row in rows[::2]:
        for x in range(0, len(row), bpp * 2):
            pixel = row[x : x + 3]
            colours.add(pixel)
            if min(pixel) < 235:
                ink += 1
            if max(pixel) < 80:
                dark += 1
    sampled = (height // 2) * (width // 2)
    # Not blank: text, rules and charts; mostly white paper; black ink of the headings.
    assert len(colours) >= 16, len(colours)
    assert 0.02 < ink / sampled < 0.6, ink / sampled
    assert dark > 1000, dark
    # Ink near the top (the title), not only somewhere.
    assert any(min(row[i : i + 3]) < 80 for row in rows[20:120] for i in range(0, len(row), bpp))


@needs_chromium
async def test_the_rendered_dom_has_the_headings_and_charts(rendered: Rendered) -> None:
    dom = await chromium(rendered.workdir, "--dump-dom", rendered.html.as_uri())
    parser = _Headings()
    parser.feed(dom.decode("utf-8"))
    year = rendered.seeded.year
    assert parser.found["h1"][0].endswith(f"årsrapport {year}: Hele Norge")
    h2 = parser.found["h2"]
    assert [h for h in h2 if h.startswith("SG")] == list(HEADINGS)
    assert "Metode" in h2
    assert "Fylkene sammenlignet" in h2
    assert "Toppkategorier" in h2
    assert "Bevisloggen: hodet for året" in parser.found["h3"]
    assert parser.svgs >= 24
    assert '<html lang="nb">' in dom.decode("utf-8")


@needs_chromium
async def test_the_page_prints_to_pdf(rendered: Rendered) -> None:
    pdf = rendered.workdir / "report.pdf"
    await chromium(
        rendered.workdir, "--no-pdf-header-footer", f"--print-to-pdf={pdf}", rendered.html.as_uri()
    )
    data = await asyncio.to_thread(pdf.read_bytes)
    assert data.startswith(b"%PDF-")
    assert len(data) > 30_000, len(data)
    assert data.rstrip().endswith(b"%%EOF")
    # A4 pages (595 x 842 pt), several of them: a section per sub-goal starts a page.
    assert b"/MediaBox [0 0 594.95996 841.91998]" in data or b"/MediaBox [0 0 595" in data
    pages = data.count(b"/Type /Page\n") + data.count(b"/Type /Page/") + data.count(b"/Type /Page ")
    assert pages >= 5, pages


# --- the route ------------------------------------------------------------------------------


async def test_the_route_serves_the_page(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    seeded = await seed(session, settings, client)
    response = await client.get(f"/v1/impact/report/{seeded.year}")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert response.text.startswith("<!DOCTYPE html>")
    for heading in HEADINGS:
        assert f">{heading}</h2>" in response.text
    response = await client.get(f"/v1/impact/report/{seeded.year}", params={"fylke": "03"})
    assert response.status_code == 200, response.text
    assert "Kommunene i Oslo fylke (03) sammenlignet" in response.text
    response = await client.get(f"/v1/impact/report/{seeded.year}", params={"kommune": "0301"})
    assert response.status_code == 200, response.text
    assert "Oslo kommune (0301)" in response.text


async def test_the_route_refuses_unknown_places_and_years(client: httpx.AsyncClient) -> None:
    year = this_year()
    assert_problem(await client.get("/v1/impact/report/1999"), 422, "invalid_period")
    assert_problem(await client.get(f"/v1/impact/report/{year + 2}"), 422, "invalid_period")
    response = await client.get(f"/v1/impact/report/{year}", params={"fylke": "99"})
    assert_problem(response, 422, "unknown_fylke")
    response = await client.get(f"/v1/impact/report/{year}", params={"kommune": "9999"})
    assert_problem(response, 422, "unknown_kommune")
