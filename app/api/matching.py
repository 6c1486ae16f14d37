"""/v1/listings/{id}/matches — offers for a wanted listing, wanted listings for an offer."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from app.api.deps import ClockDep, PrincipalDep, SettingsDep
from app.api.listings import OWNER_ONLY
from app.api.params import CursorQuery, LimitQuery
from app.db import SessionDep
from app.errors import (
    InvalidCursorError,
    ListingNotMatchableError,
    problem_responses,
)
from app.schemas.matching import MatchPage
from app.services import matching as service

router = APIRouter(prefix="/v1/listings", tags=["listings"])

JSON = "application/json"


@router.get(
    "/{listing_id}/matches",
    response_model=MatchPage,
    summary="Matches for a listing",
    description="For an offer, the wanted listings it could serve; for a wanted listing, the "
    "offers that could serve it — active, visible listings of the same kind, never the "
    "caller's own nor those of a person blocked either way, best first. Each has a `score` "
    "(0-1) and `reasons`: what fits and what does not, with a stable `code` and text in "
    "bokmål and English.\n\n"
    "* **materials**: the same EWC code, sub-chapter or material family (paper, wood, "
    "plastic, glass, metal from packaging, building sites, sorting plants or households), or "
    "only the chapter; the quantity in the wanted "
    "unit (kg ↔ t, l ↔ m³; mass ↔ volume with `details.density_kg_per_m3`) and the share of "
    "the need it covers; one-off or recurring. Hazardous material (a code with `*`) is only "
    "matched with an organization whose waste permit a moderator recorded.\n"
    "* **energy**: the same energy type; heat and steam at least as hot as needed, cooling "
    "at least as cold; months in common; the share of the need (kW, or MWh a year) covered, "
    "at least `details.min_share` of the wanted listing.\n"
    "* **space**: the same space type; the area within the wanted range "
    "(`details.area_min_m2`-`area_max_m2`, by default 80-150 % of `area_m2`); periods "
    "overlap.\n"
    "* **items**: the wanted category, one under it or above it; title similarity after "
    "Norwegian normalisation; condition at least as wanted.\n\n"
    "Within the smaller of the two listings' `details.max_distance_km` (a listing that states "
    "none takes its kind's default: heat 10 km, cooling and steam 5, electricity 50, materials "
    "150, space 30, items 25), measured between public points (a person's listing is blurred). "
    "The score: what it is (the code's closeness, the category's) times how well the rest "
    "fits; matches under `min_score` (default 0.25) are left out. For the listing's managers "
    "and moderators; a repair service or a closed listing is `409 listing_not_matchable`.",
    responses=problem_responses(*OWNER_ONLY, ListingNotMatchableError, InvalidCursorError, 422),
)
async def listing_matches(
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    now: ClockDep,
    listing_id: Annotated[uuid.UUID, Path(description="The listing's id")],
    limit: LimitQuery = 20,
    cursor: CursorQuery = None,
    min_score: Annotated[
        Decimal,
        Query(
            ge=0,
            le=1,
            description="Only matches scoring at least this (default 0.25; 0 shows every "
            "candidate, also a neighbouring material of the same EWC chapter)",
        ),
    ] = service.DEFAULT_MIN_SCORE,
) -> Response:
    body = await service.find_matches(
        session,
        settings=settings.matching,
        principal=principal,
        listing_id=listing_id,
        cursor=cursor,
        limit=limit,
        now=now,
        min_score=min_score,
    )
    return Response(content=body, media_type=JSON)
