"""/v1/fylker — the 15 fylker of 2024."""

from __future__ import annotations

from functools import partial
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from app.api.media import GEOJSON, GeoJsonFormat, feature_or_json
from app.api.params import REFERENCE_CACHE_CONTROL, FylkesnummerPath
from app.db import SessionDep
from app.errors import FylkeNotFoundError, NotAcceptableError, problem_responses
from app.schemas.geography import FylkeRead
from app.services import geography as service

router = APIRouter(prefix="/v1/fylker", tags=["geography"])


class FylkeList(BaseModel):
    items: list[FylkeRead]


@router.get(
    "",
    summary="List fylker",
    description="All 15 fylker of the 2024 structure with their number of kommuner and "
    "population (sum over the kommuner, 1 January 2024).",
)
async def list_fylker(session: SessionDep, response: Response) -> FylkeList:
    response.headers["Cache-Control"] = REFERENCE_CACHE_CONTROL
    return FylkeList(items=await service.list_fylker(session))


@router.get(
    "/{fylkesnummer}",
    summary="Get one fylke",
    response_model=FylkeRead,
    description="The fylke as JSON, or with `Accept: application/geo+json` its boundary as an "
    "RFC 7946 Feature.",
    responses={
        200: {"content": {GEOJSON: {"schema": {"type": "object"}}}},
        **problem_responses(FylkeNotFoundError, NotAcceptableError, 422),
    },
)
async def get_fylke(
    request: Request,
    session: SessionDep,
    fylkesnummer: FylkesnummerPath,
    f: GeoJsonFormat = None,  # noqa: ARG001 - declared and validated here, read by feature_or_json
) -> Any:
    return await feature_or_json(
        request,
        feature=partial(service.get_fylke_feature, session, fylkesnummer=fylkesnummer),
        read=partial(service.get_fylke, session, fylkesnummer=fylkesnummer),
        cache_control=REFERENCE_CACHE_CONTROL,
    )
