"""/v1/impact — the mission's indicators: catalogue, aggregates (JSON or CSV), yearly report."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse

from app.api.deps import ClockDep, SettingsDep
from app.api.media import CSV, JSON, CsvFormat, negotiate
from app.db import SnapshotSessionDep
from app.errors import (
    InvalidGroupingError,
    InvalidPeriodError,
    NotAcceptableError,
    PdfUnavailableError,
    UnknownFylkeError,
    UnknownIndicatorError,
    UnknownKommuneError,
    problem_responses,
)
from app.render.impact import catalogue, framework_catalogue, impact_csv, impact_response
from app.render.pdf import html_to_pdf
from app.render.report import report_html
from app.schemas.impact import FrameworkCatalogue, ImpactResponse, IndicatorCatalogue
from app.services.impact import query as service
from app.services.impact.catalogue import INDICATORS
from app.services.impact.frameworks import frameworks
from app.services.impact.report import yearly_report
from app.services.impact.suppression import MIN_HOUSEHOLDS, MIN_RECORDS

# The area filters of the figures and the report.
_OnlyFylke = Annotated[str | None, Query(pattern=r"^[0-9]{2}$", description="Only this fylke")]
_OnlyKommune = Annotated[str | None, Query(pattern=r"^[0-9]{4}$", description="Only this kommune")]

router = APIRouter(prefix="/v1/impact", tags=["impact"])

_QUERY_ERRORS = (
    UnknownIndicatorError,
    InvalidGroupingError,
    InvalidPeriodError,
    UnknownFylkeError,
    UnknownKommuneError,
)


@router.get(
    "/indicators",
    response_model=IndicatorCatalogue,
    summary="The indicator catalogue",
    description="Every indicator `GET /v1/impact` can compute, for the three sub-goals of the "
    "circular-economy mission: its id, name in bokmål and English, sub-goal, unit, "
    "definition, counting rule, data source, factor source, the groupings it supports, and "
    "the indicators of other frameworks it informs (`frameworks`: SDG 12, the EU circular "
    "economy monitoring framework, EU reuse reporting, Statistics Norway). Also states the "
    "suppression rule applied to every cell. Public.",
)
async def read_indicators() -> IndicatorCatalogue:
    return catalogue(
        INDICATORS,
        min_records=MIN_RECORDS,
        min_households=MIN_HOUSEHOLDS,
        frameworks=frameworks(),
    )


@router.get(
    "/frameworks",
    response_model=FrameworkCatalogue,
    summary="The indicator frameworks Sirkel's indicators inform",
    description="The frameworks the mission's indicators are read beside: the UN SDG global "
    "indicators (Goal 12), the EU monitoring framework for the circular economy (2023 "
    "revision; Eurostat's `cei_*` datasets), the reuse reporting of Commission Implementing "
    "Decision (EU) 2021/19, and Statistics Norway's StatBank tables. Each framework names its "
    "edition and terms; each of its indicators its exact id, name, unit and source, and the "
    "Sirkel indicators that inform it, with the relation — `direct` (a component of it), "
    "`partial` (a part of it: the note says which) or `context` (read beside it, not part of "
    "it) — and a note. Most relations are `context`: reuse is not recycling, and Sirkel's "
    "figures cover its own platform only. Public.",
)
async def read_frameworks() -> FrameworkCatalogue:
    return framework_catalogue(frameworks())


@router.get(
    "",
    response_model=ImpactResponse,
    summary="Aggregate indicators",
    description="Indicators from the evidence ledger, grouped and filtered. Public: every cell "
    "with 1-4 records or 1-2 distinct households is suppressed (`value` and `records` null, "
    "`suppressed` true), with complementary suppression so that no suppressed cell can be "
    "recovered by subtracting the others from a total.\n\n"
    "* `indicator`: one or more ids (repeat it or separate with commas);\n"
    "* `group_by`: any of `year`, `quarter` or `month` (one), `subgoal`, `fylke`, `kommune`, "
    "`sector`, `category`, `initiative`, `kind` (organization indicators) and `type` (the "
    "kind of exchange, `sg3.matches.converted`);\n"
    "* `from`, `to`: months `YYYY-MM` or years `YYYY`, inclusive (default: the last 12 months);\n"
    "* `evidence`: `all` (default) or `confirmed` only;\n"
    "* `baseline`: a year to compare each row with (the same period of that year).\n\n"
    "Rows carry their group keys, the value, its unit, the number of evidence records behind "
    "it, and the change against the previous period and the baseline. `Accept: text/csv` "
    "gives the same rows as CSV. Totals are current to the last committed record: the "
    "rollups are updated in the transaction that appends it.",
    responses={
        200: {"content": {CSV: {"example": "indicator,year,value,unit,records,...\r\n"}}},
        **problem_responses(*_QUERY_ERRORS, NotAcceptableError, 422),
    },
)
async def read_impact(
    request: Request,
    session: SnapshotSessionDep,
    clock: ClockDep,
    indicator: Annotated[
        list[str],
        Query(
            description="Indicator id(s), see /v1/impact/indicators",
            examples=["sg1.repairs.count,sg1.repairs.fixed_co2e"],
        ),
    ],
    group_by: Annotated[
        list[str],
        Query(description="Dimensions to group by", examples=["year,kommune"]),
    ] = [],  # noqa: B006 - FastAPI copies the default
    from_: Annotated[
        str | None,
        Query(alias="from", max_length=7, description="First month", examples=["2025-01"]),
    ] = None,
    to: Annotated[
        str | None, Query(max_length=7, description="Last month, inclusive", examples=["2025-12"])
    ] = None,
    evidence: Annotated[
        Literal["confirmed", "all"], Query(description="Which evidence grades count")
    ] = "all",
    fylke: _OnlyFylke = None,
    kommune: _OnlyKommune = None,
    initiative: Annotated[
        str | None,
        Query(
            pattern=r"^[0-9a-fA-F-]{36}$", description="Only what is tagged with this initiative"
        ),
    ] = None,
    baseline: Annotated[
        int | None, Query(ge=2000, le=2100, description="Year to compare with")
    ] = None,
    f: CsvFormat = None,  # noqa: ARG001 - declared and validated here, read by negotiate
) -> ImpactResponse | Response:
    media = negotiate(request, [JSON, CSV])
    query = await service.build_query(
        session,
        indicator=indicator,
        group_by=group_by,
        month_from=from_,
        month_to=to,
        evidence=evidence,
        fylke=fylke,
        kommune=kommune,
        initiative=initiative.lower() if initiative else None,
        baseline=baseline,
        now=clock,
    )
    result = await service.aggregate(session, query)
    if media == CSV:
        return Response(content=impact_csv(result), media_type="text/csv; charset=utf-8")
    return impact_response(result)


@router.get(
    "/report/{year:int}.pdf",
    response_class=Response,
    summary="The yearly report (PDF)",
    description="The yearly report of `GET /v1/impact/report/{year}` as an A4 PDF for filing "
    "and sending: the same figures, charts, targets and method section, printed by headless "
    "Chromium on the server (no network, no script). Same filters (`fylke`, `kommune`) and "
    "the same one database snapshot. When Chromium is not installed, fails or takes longer "
    "than the configured timeout, `503 pdf_unavailable`: the HTML report is always there. "
    "Public.",
    responses={
        200: {
            "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
            "description": "The report as PDF (`Content-Disposition: inline` with a file name)",
        },
        **problem_responses(
            InvalidPeriodError, UnknownFylkeError, UnknownKommuneError, PdfUnavailableError, 422
        ),
    },
)
async def read_report_pdf(
    session: SnapshotSessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    year: int,
    fylke: _OnlyFylke = None,
    kommune: _OnlyKommune = None,
) -> Response:
    report = await yearly_report(session, year=year, fylke=fylke, kommune=kommune, now=clock)
    pdf = await html_to_pdf(report_html(report), settings.report)
    area = kommune or fylke or "norge"
    return Response(
        content=pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="sirkel-arsrapport-{year}-{area}.pdf"'},
    )


@router.get(
    "/report/{year:int}",
    response_class=HTMLResponse,
    summary="The yearly report (HTML)",
    description="A self-contained HTML page for the working group's yearly status: each "
    "sub-goal's indicators by month as inline SVG charts, the fylker (or, with `fylke`, its "
    "kommuner) compared, the top categories, the change against the year before, and a "
    "method section — definitions, counting rules, impact factor revisions and sources, the "
    "attributions of the reference data, and the evidence ledger's head for the year "
    "(`seq` and hash), so the figures can be verified against `GET /v1/evidence`. No "
    "script, nothing loaded from elsewhere; prints to A4 PDF from a browser. Every figure "
    "comes from `GET /v1/impact`, suppressed the same way. All figures and the head are "
    "read from one database snapshot. Public.",
    responses={
        200: {"content": {"text/html": {"example": "<!doctype html><html lang=nb>…"}}},
        **problem_responses(InvalidPeriodError, UnknownFylkeError, UnknownKommuneError, 422),
    },
)
async def read_report(
    session: SnapshotSessionDep,
    clock: ClockDep,
    year: int,
    fylke: _OnlyFylke = None,
    kommune: _OnlyKommune = None,
) -> HTMLResponse:
    report = await yearly_report(session, year=year, fylke=fylke, kommune=kommune, now=clock)
    return HTMLResponse(content=report_html(report))
