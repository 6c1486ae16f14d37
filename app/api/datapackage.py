"""/v1/impact/datapackage — a year's impact figures as open data (a Frictionless Data
Package in a ZIP archive)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Response, status

from app.api.deps import ClockDep, SettingsDep
from app.db import SnapshotSessionDep
from app.errors import (
    InvalidPeriodError,
    UnknownFylkeError,
    UnknownKommuneError,
    problem_responses,
)
from app.render.datapackage import MEDIA_TYPE, datapackage_zip
from app.services.impact.datapackage import datapackage_figures

router = APIRouter(prefix="/v1/impact", tags=["impact"])

# The package changes with every record: a cache keeps it only to ask with If-None-Match.
CACHE_CONTROL = "no-cache"
_ZIP_EXAMPLE = (
    "(a ZIP archive) datapackage.json, data/sg1.repairs.count.total.csv, "
    "data/sg1.repairs.count.month.csv, data/sg1.repairs.count.kommune.csv, …"
)


def _etag_matches(header: str | None, etag: str) -> bool:
    """If-None-Match by the weak comparison (RFC 9110, 13.1.2): ``W/"a"`` matches ``"a"``,
    and ``*`` matches any package."""
    if header is None:
        return False
    tags = {t.strip().removeprefix("W/") for t in header.split(",")}
    return "*" in tags or etag in tags


@router.get(
    "/datapackage/{year:int}.zip",
    response_class=Response,
    summary="The year's figures as open data (Frictionless Data Package)",
    description="Every indicator of the catalogue for one year — the whole country, or with "
    "`fylke` or `kommune` one area — as a [Frictionless Data "
    "Package](https://datapackage.org/) in a ZIP archive: `datapackage.json` and one CSV per "
    "indicator and grouping, `data/{indicator}.{grouping}.csv`, for the year's total "
    "(`total`) and by `month`, `fylke`, `kommune`, `category` and `sector` where the "
    "indicator supports it (within a fylke not by fylke, within a kommune by no place). "
    "Each CSV has a Table Schema, its size and sha256 in `datapackage.json`; each resource "
    "names the indicator's definition, counting rule and sources and the SDG, EU and "
    "Statistics Norway indicators it informs (`sirkel:frameworks`).\n\n"
    "The figures are those of `GET /v1/impact` for the year (evidence of every grade), "
    "suppressed the same way: a suppressed row has `value` and `records` empty and "
    "`suppressed` `true`. Only the rows the aggregate gives are written; no zero rows are "
    "made up. The package states the evidence ledger's head it was computed at "
    "(`sirkel:ledger_head`, seq and hash; also `version` and `created`) and the head at the "
    "end of the year (`sirkel:ledger_head_at_year_end`), the impact factor revisions and "
    "the reference data with their licences (`sources`). Licence of the figures: CC BY 4.0. "
    "All of it is read from one database snapshot.\n\n"
    "**Reproducible:** the same database state gives the same bytes, byte for byte (no time "
    "of making inside; fixed ZIP entry times). The `ETag` is the archive's sha256; send "
    "`If-None-Match` for a `304`. Public.",
    responses={
        200: {
            "description": "The data package as a ZIP archive",
            "content": {
                MEDIA_TYPE: {
                    "schema": {"type": "string", "format": "binary"},
                    "example": _ZIP_EXAMPLE,
                }
            },
            "headers": {
                "ETag": {
                    "description": "The archive's sha256 (a strong validator)",
                    "schema": {"type": "string"},
                },
                "Content-Disposition": {
                    "description": "`attachment` with the file name",
                    "schema": {"type": "string"},
                    "example": 'attachment; filename="sirkel-impact-2025-kommune-0301.zip"',
                },
            },
        },
        304: {"description": "Not modified (the ETag matched)"},
        **problem_responses(InvalidPeriodError, UnknownFylkeError, UnknownKommuneError, 422),
    },
)
async def read_datapackage(
    session: SnapshotSessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    year: Annotated[int, Path(description="The year, 2000 to next year", examples=[2025])],
    fylke: Annotated[
        str | None, Query(pattern=r"^[0-9]{2}$", description="Only this fylke")
    ] = None,
    kommune: Annotated[
        str | None, Query(pattern=r"^[0-9]{4}$", description="Only this kommune")
    ] = None,
    if_none_match: Annotated[
        str | None, Header(description="An ETag seen before (answered with 304)")
    ] = None,
) -> Response:
    figures = await datapackage_figures(session, year=year, fylke=fylke, kommune=kommune, now=clock)
    archive = datapackage_zip(figures, base_url=settings.public_base_url)
    etag = f'"{archive.sha256}"'
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL}
    if _etag_matches(if_none_match, etag):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    headers["Content-Disposition"] = f'attachment; filename="{archive.filename}"'
    return Response(content=archive.content, media_type=MEDIA_TYPE, headers=headers)
