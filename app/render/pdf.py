"""HTML to PDF with Debian's headless Chromium: the yearly report as the working group files it.

Why Chromium and not an HTML-to-PDF library: the report is written for a browser (CSS grid,
inline SVG with ``role="img"``, ``@page`` and print media rules), the browser tests already
render it in Debian's Chromium, and a PDF printed by the same engine looks like the page a
reader sees. WeasyPrint would need its own pango stack and lays out grids and SVG text
differently; a second engine would be a second look to test.

How: Chromium's own ``--print-to-pdf`` (no Playwright, no driver at run time) in a throw-away
profile and directory, one process per print, with

* no network at all: every host name resolves to nothing and the proxy is a closed port, so
  even a link in the page cannot be fetched (the page's CSP already allows no loads);
* no script: the page has none and its CSP (``default-src 'none'``) would refuse any;
* a timeout after which the whole process group is killed;
* at most ``pdf_concurrency`` prints at once per process (a Chromium takes ~150 MB), the
  others wait their turn within the same timeout.

The same HTML gives the same PDF for a while: the last few are kept by the SHA-256 of the
HTML (the report's HTML names the minute it was made, so a cached PDF is at most the page
that a reload in the same minute would print).

Any failure — no binary, a crash, no file written, a timeout — is ``PdfUnavailableError``
(503 ``pdf_unavailable``) with what Chromium said in the log, never a 500.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import signal
import tempfile
from collections import OrderedDict
from pathlib import Path

from app.config import ReportSettings
from app.errors import PdfUnavailableError

log = logging.getLogger(__name__)

CACHED = 8

_slots: dict[int, asyncio.Semaphore] = {}
_cache: OrderedDict[str, bytes] = OrderedDict()


def _semaphore(settings: ReportSettings) -> asyncio.Semaphore:
    # One per concurrency setting (tests use several apps with their own settings).
    found = _slots.get(settings.pdf_concurrency)
    if found is None:
        found = _slots[settings.pdf_concurrency] = asyncio.Semaphore(settings.pdf_concurrency)
    return found


def chromium_args(settings: ReportSettings, *, profile: Path, page: Path, out: Path) -> list[str]:
    args = [
        str(settings.chromium),
        "--headless",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-default-apps",
        "--disable-extensions",
        "--disable-sync",
        "--disable-quic",
        "--mute-audio",
        # Headless printing talks to itself over localhost: every other name is unresolvable.
        # (Found the hard way: "MAP * ~NOTFOUND" alone, or --blink-settings=
        # scriptEnabled=false, makes Chromium 156 exit 0 without writing the PDF.)
        "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost",
        "--proxy-server=127.0.0.1:9",
        f"--user-data-dir={profile}",
        "--no-pdf-header-footer",
        f"--print-to-pdf={out}",
    ]
    if not settings.chromium_sandbox:
        args.append("--no-sandbox")
    return [*args, page.as_uri()]


async def html_to_pdf(html: str, settings: ReportSettings) -> bytes:
    """The page printed to A4 PDF (the page's ``@page`` rule sets size and margins)."""
    key = hashlib.sha256(html.encode()).hexdigest()
    if key in _cache:
        _cache.move_to_end(key)
        return _cache[key]
    if not os.access(settings.chromium, os.X_OK):
        raise PdfUnavailableError(
            f"Chromium is not installed at {settings.chromium} (Debian's chromium package; "
            "`make run` installs it as root). The HTML report is at the same path without "
            "`.pdf`."
        )
    try:
        async with asyncio.timeout(settings.pdf_timeout_s):
            async with _semaphore(settings):
                pdf = await _print(html, settings)
    except TimeoutError:
        raise PdfUnavailableError(
            f"The PDF was not ready within {settings.pdf_timeout_s:g} s; try again later, or "
            "use the HTML report (the same path without `.pdf`)."
        ) from None
    _cache[key] = pdf
    while len(_cache) > CACHED:
        _cache.popitem(last=False)
    return pdf


async def _print(html: str, settings: ReportSettings) -> bytes:
    with tempfile.TemporaryDirectory(prefix="sirkel-pdf-") as workdir:
        root = Path(workdir)
        page, out = root / "report.html", root / "report.pdf"
        await asyncio.to_thread(page.write_text, html, encoding="utf-8")
        process = await asyncio.create_subprocess_exec(
            *chromium_args(settings, profile=root / "profile", page=page, out=out),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,  # its own process group: a timeout kills the renderers too
        )
        try:
            _, err = await process.communicate()
        except asyncio.CancelledError:  # the timeout, or the client went away
            _kill(process.pid)
            await process.wait()
            raise
        data = await asyncio.to_thread(out.read_bytes) if out.exists() else b""
    if process.returncode != 0 or not data.startswith(b"%PDF-"):
        log.error(
            "pdf_failed",
            extra={
                "returncode": process.returncode,
                "stderr": err.decode(errors="replace")[-2000:],
            },
        )
        raise PdfUnavailableError(
            "Chromium could not print the report; the HTML report is at the same path "
            "without `.pdf`."
        )
    return data


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
