"""/v1/geo — placing a point in Norway's geography."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.db import SessionDep
from app.errors import OutsideNorwayError, problem_responses
from app.schemas.geography import GeoLookupRead
from app.services import geography as service

router = APIRouter(prefix="/v1/geo", tags=["geography"])


@router.get(
    "/lookup",
    summary="Kommune and fylke of a point",
    description="The kommune containing the point (WGS 84). A point on a quay, pier or islet "
    "just outside the generalised coastline falls back to the nearest kommune within 5 km "
    "(`match: nearest`); farther away is a 404 `outside_norway`.",
    responses=problem_responses(OutsideNorwayError, 422),
)
async def lookup_point(
    session: SessionDep,
    lat: Annotated[
        float,
        Query(
            ge=-90, le=90, allow_inf_nan=False, description="Latitude, WGS 84", examples=[63.4305]
        ),
    ],
    lon: Annotated[
        float,
        Query(
            ge=-180,
            le=180,
            allow_inf_nan=False,
            description="Longitude, WGS 84",
            examples=[10.3951],
        ),
    ],
) -> GeoLookupRead:
    return await service.locate(session, lat=lat, lon=lon)
