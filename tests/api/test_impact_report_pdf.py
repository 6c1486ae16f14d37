"""The yearly report as PDF (``GET /v1/impact/report/{year}.pdf``): Debian's Chromium prints
the same page, and every way printing can fail is a 503 ``pdf_unavailable``, never a 500."""

from __future__ import annotations

import asyncio
import io
import os
import stat
from pathlib import Path

import httpx
import pypdf
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import ReportSettings, Settings
from app.render import pdf as pdf_module
from tests.api.test_embed import ClientFor
from tests.api.test_impact_report_render import HEADINGS, needs_chromium
from tests.factories import create_person
from tests.problems import assert_problem
from tests.services.test_impact_report import seed, this_year

A4 = (595, 842)  # points


def _text(data: bytes) -> tuple[list[pypdf.PageObject], str]:
    reader = pypdf.PdfReader(io.BytesIO(data))
    pages = list(reader.pages)
    # Words as printed, however the lines broke.
    return pages, " ".join(" ".join(page.extract_text() for page in pages).split())


@needs_chromium
async def test_the_report_prints_to_an_a4_pdf_with_its_targets(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    seeded = await seed(session, settings, client)
    analyst = await create_person(session, settings, roles=["analyst"])
    made = await client.post(
        "/v1/impact/targets",
        json={
            "indicator": "sg1.repairs.count",
            "scope": "kommune",
            "scope_code": "0301",
            "baseline_year": seeded.year - 1,
            "target_year": 2035,
            "target_change_pct": 100,
            "path": "linear",
            "status": "recommended",
            "decided_by": "Oslo kommune",
        },
        headers=analyst.headers,
    )
    assert made.status_code == 201, made.text

    response = await client.get(f"/v1/impact/report/{seeded.year}.pdf", params={"kommune": "0301"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == (
        f'inline; filename="sirkel-arsrapport-{seeded.year}-0301.pdf"'
    )
    pages, text = _text(response.content)
    assert len(pages) >= 4
    for page in pages:
        assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == A4
    assert f"årsrapport {seeded.year}: Oslo kommune (0301)" in text
    for heading in ("Måltall", *HEADINGS):
        assert heading in text, heading
    assert "Reparasjoner (anbefalt)" in text
    assert "Anbefalt av Oslo kommune." in text

    # The same page prints the same PDF without a second Chromium (kept by the HTML's hash).
    again = await client.get(f"/v1/impact/report/{seeded.year}.pdf", params={"kommune": "0301"})
    assert again.status_code == 200
    nationally = await client.get(f"/v1/impact/report/{seeded.year}.pdf")
    assert nationally.status_code == 200
    _, national_text = _text(nationally.content)
    assert "Hele Norge" in national_text
    assert "Måltall" not in national_text  # the target is Oslo's


async def test_the_pdf_refuses_what_the_html_refuses(client: httpx.AsyncClient) -> None:
    year = this_year()
    assert_problem(await client.get("/v1/impact/report/1999.pdf"), 422, "invalid_period")
    response = await client.get(f"/v1/impact/report/{year}.pdf", params={"kommune": "9999"})
    assert_problem(response, 422, "unknown_kommune")
    response = await client.get(f"/v1/impact/report/{year}.pdf", params={"fylke": "3"})
    assert_problem(response, 422, "validation_failed")


def _script(path: Path, body: str) -> Path:
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


async def test_without_a_working_chromium_the_pdf_is_a_503(
    settings: Settings, client_for: ClientFor, tmp_path: Path
) -> None:
    year = this_year()
    pdf_module._cache.clear()

    async def attempt(report: ReportSettings) -> dict[str, object]:
        client = await client_for(settings.model_copy(update={"report": report}))
        # The HTML is always there.
        assert (await client.get(f"/v1/impact/report/{year}")).status_code == 200
        return assert_problem(
            await client.get(f"/v1/impact/report/{year}.pdf"), 503, "pdf_unavailable"
        )

    missing = await attempt(ReportSettings(chromium=tmp_path / "no-chromium"))
    assert "not installed" in str(missing["detail"])
    assert "without `.pdf`" in str(missing["detail"])

    # Exits with an error, or "succeeds" without writing the file: both are failures.
    failing = _script(tmp_path / "failing", "echo broken >&2; exit 3")
    assert "could not print" in str((await attempt(ReportSettings(chromium=failing)))["detail"])
    silent = _script(tmp_path / "silent", "exit 0")
    assert "could not print" in str((await attempt(ReportSettings(chromium=silent)))["detail"])

    # Hangs: given up after the timeout, and its whole process group is killed.
    marker = tmp_path / "hung.pid"
    hanging = _script(tmp_path / "hanging", f"echo $$ > {marker}; sleep 600 & wait")
    body = await attempt(ReportSettings(chromium=hanging, pdf_timeout_s=1))
    assert "not ready within 1 s" in str(body["detail"])
    pid = int(marker.read_text())
    for _ in range(50):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError(f"the hung renderer {pid} is still running")
