"""/v1/kommuner — the 357 kommuner of 2024."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from app.api.media import GEOJSON, GeoJsonFormat, feature_or_json
from app.api.params import FYLKESNUMMER_PATTERN, REFERENCE_CACHE_CONTROL, KommunenummerPath
from app.db import SessionDep
from app.errors import (
    FylkeNotFoundError,
    InvalidCursorError,
    KommuneNotFoundError,
    NotAcceptableError,
    problem_responses,
)
from app.schemas.common import Page
from app.schemas.geography import KommuneRead, KommuneSummary
from app.services import geography as service

router = APIRouter(prefix="/v1/kommuner", tags=["geography"])

FylkeQuery = Annotated[
    str | None,
    Query(pattern=FYLKESNUMMER_PATTERN, description="Only kommuner in this fylke", examples=["03"]),
]

_FEATURE_EXAMPLE: dict[str, Any] = {
    "type": "Feature",
    "id": "0301",
    "geometry": {
        "type": "MultiPolygon",
        "coordinates": [
            [
                [
                    [10.58075, 60.07624],
                    [10.48915, 60.01726],
                    [10.62534, 59.9235],
                    [10.58075, 60.07624],
                ]
            ]
        ],
    },
    "properties": {"kommunenummer": "0301", "name": "Oslo", "fylkesnummer": "03"},
}


@router.get(
    "",
    summary="List kommuner",
    description="The kommuner of the 2024 structure, ordered by number, with their fylke and "
    "population (1 January 2024, SSB). Keyset-paginated.",
    responses=problem_responses(FylkeNotFoundError, InvalidCursorError, 422),
)
async def list_kommuner(
    session: SessionDep,
    response: Response,
    fylke: FylkeQuery = None,
    limit: Annotated[int, Query(ge=1, le=500, description="Page size")] = 100,
    cursor: Annotated[
        str | None, Query(max_length=512, description="`next_cursor` of the previous page")
    ] = None,
) -> Page[KommuneSummary]:
    response.headers["Cache-Control"] = REFERENCE_CACHE_CONTROL
    return await service.list_kommuner(session, fylkesnummer=fylke, cursor=cursor, limit=limit)


@router.get(
    "/{kommunenummer}",
    summary="Get one kommune",
    response_model=KommuneRead,
    description="The kommune as JSON, or with `Accept: application/geo+json` its boundary as "
    "an RFC 7946 Feature (WGS 84, `[lon, lat]`, generalised: good for maps, not for cadastre).",
    responses={
        200: {
            "content": {GEOJSON: {"schema": {"type": "object"}, "example": _FEATURE_EXAMPLE}},
        },
        **problem_responses(KommuneNotFoundError, NotAcceptableError, 422),
    },
)
async def get_kommune(
    request: Request,
    session: SessionDep,
    kommunenummer: KommunenummerPath,
    f: GeoJsonFormat = None,  # noqa: ARG001 - declared and validated here, read by feature_or_json
) -> Any:
    return await feature_or_json(
        request,
        feature=partial(service.get_kommune_feature, session, kommunenummer=kommunenummer),
        read=partial(service.get_kommune, session, kommunenummer=kommunenummer),
        cache_control=REFERENCE_CACHE_CONTROL,
    )
