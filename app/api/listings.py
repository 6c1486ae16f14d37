"""/v1/listings — publish, change, move through the lifecycle, and find listings near you."""

from __future__ import annotations

import math
import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Path, Query, Request, Response, status

from app.api.deps import ClockDep, OptionalPrincipalDep, PrincipalDep, SettingsDep
from app.api.listing_filters import (
    CategoryQuery,
    KindQuery,
    ModeQuery,
    OrganizationQuery,
    TextQuery,
)
from app.api.media import GEOJSON, JSON, GeoJsonFormat, negotiate
from app.api.params import AUTH_PROBLEMS as _AUTH
from app.api.params import FylkeQuery, KommuneQuery
from app.db import SessionDep
from app.errors import (
    FieldError,
    InsufficientRoleError,
    InsufficientScopeError,
    InvalidCursorError,
    InvalidInputError,
    InvalidTransitionError,
    ListingClosedError,
    ListingNotFoundError,
    NotAcceptableError,
    NotAMemberError,
    NotListingOwnerError,
    OrganizationNotFoundError,
    PersonRequiredError,
    PointOutsideNorwayError,
    RoleRequiredError,
    UnknownCategoryError,
    UnknownEwcCodeError,
    UnknownFylkeError,
    UnknownKommuneError,
    WrongOrganizationError,
    problem_responses,
)
from app.render.sql_json import feature_collection, item_page
from app.schemas.listing import (
    LISTING_CREATE_EXAMPLES,
    FeatureLink,
    HideRequest,
    ListingAction,
    ListingCreate,
    ListingFeatureCollection,
    ListingPage,
    ListingRead,
    ListingUpdate,
    SortOrder,
)
from app.services import listing as service

router = APIRouter(prefix="/v1/listings", tags=["listings"])

# The largest search circle: 100 km covers a city region; wider searches use bbox or fylke.
MAX_RADIUS_M = 100_000

ListingIdPath = Annotated[uuid.UUID, Path(description="The listing's id")]

# The problems of a route only a listing's managers may use.
OWNER_ONLY = (
    *_AUTH,
    NotListingOwnerError,
    NotAMemberError,
    InsufficientRoleError,
    InsufficientScopeError,
    WrongOrganizationError,
    ListingNotFoundError,
)


def parse_bbox(raw: str | None) -> tuple[float, float, float, float] | None:
    if raw is None:
        return None

    def fail(message: str) -> InvalidInputError:
        return InvalidInputError(
            f"bbox: {message}",
            errors=[
                FieldError(location="query", field="bbox", message=message, type="value_error")
            ],
        )

    parts = raw.split(",")
    if len(parts) != 4:
        raise fail("four numbers: minLon,minLat,maxLon,maxLat")
    try:
        min_lon, min_lat, max_lon, max_lat = (float(p) for p in parts)
    except ValueError:
        raise fail("four numbers: minLon,minLat,maxLon,maxLat") from None
    if not all(math.isfinite(v) for v in (min_lon, min_lat, max_lon, max_lat)):
        raise fail("numbers must be finite")
    if not (-180 <= min_lon <= 180 and -180 <= max_lon <= 180):
        raise fail("longitudes must be between -180 and 180")
    if not (-90 <= min_lat <= 90 and -90 <= max_lat <= 90):
        raise fail("latitudes must be between -90 and 90")
    if min_lon >= max_lon or min_lat >= max_lat:
        raise fail("the minimum must be below the maximum (the box is inverted or empty)")
    return (min_lon, min_lat, max_lon, max_lat)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ListingRead,
    response_model_exclude_unset=True,
    summary="Publish a listing",
    description="Offer or ask for an item, a repair service, material, energy or space. The "
    "body depends on `kind`; fields of another kind are refused. The point is placed in its "
    "kommune and fylke (a point outside Norway is `422 outside_norway`). A person's listing is "
    "shown to everyone else about 400 m from the point given; organizations' listings are "
    "exact. Set `organization_id` to list for an organization you are a member of; an API key "
    "(scope `listings:write`) lists for its own organization. `publish: false` keeps a draft. "
    "A material with a hazardous EWC code waits in `pending_review` for a moderator. Items "
    "expire after a period unless renewed.",
    responses=problem_responses(
        *_AUTH,
        NotAMemberError,
        InsufficientScopeError,
        WrongOrganizationError,
        OrganizationNotFoundError,
        UnknownCategoryError,
        UnknownEwcCodeError,
        PointOutsideNorwayError,
        422,
    ),
)
async def create_listing(
    body: Annotated[ListingCreate, Body(openapi_examples=LISTING_CREATE_EXAMPLES)],
    session: SessionDep,
    principal: PrincipalDep,
    now: ClockDep,
    settings: SettingsDep,
    response: Response,
) -> ListingRead:
    listing = await service.create_listing(
        session, principal=principal, data=body, now=now, settings=settings
    )
    response.headers["Location"] = f"/v1/listings/{listing.id}"
    return listing


@router.get(
    "",
    response_model=ListingPage,
    summary="Search listings",
    description="Active listings, filtered by any combination of place (a circle of `radius_m` "
    "metres around `lat`/`lon`, a `bbox`, a `kommune` or `fylke`), `kind`, `mode`, `category` "
    "(with its sub-categories), an `organization_id` and Norwegian free text `q` (plural and "
    "definite forms, compounds and a word being typed all match; see docs/search.md). With "
    "`lat`/`lon` every result has `distance_m` and the default order is nearest first; "
    "otherwise newest first. Persons' listings are found, measured and sorted by their blurred "
    "point, never their exact one.\n\n"
    "Paging is by an opaque `cursor` (`next_cursor` of the previous page): rows published "
    "meanwhile never shift a page, and no row appears twice.\n\n"
    "`Accept: application/geo+json` returns the same page as an RFC 7946 FeatureCollection "
    "with a `next` link.",
    responses={
        200: {
            "content": {
                GEOJSON: {"schema": ListingFeatureCollection.model_json_schema()},
            },
            "headers": {"Vary": {"description": "`Accept`", "schema": {"type": "string"}}},
        },
        **problem_responses(
            *_AUTH,
            UnknownKommuneError,
            UnknownFylkeError,
            UnknownCategoryError,
            InvalidCursorError,
            InvalidInputError,
            NotAcceptableError,
            422,
        ),
    },
)
async def search_listings(
    request: Request,
    session: SessionDep,
    now: ClockDep,
    principal: OptionalPrincipalDep,
    lat: Annotated[
        float | None, Query(ge=-90, le=90, description="Latitude (WGS 84)", examples=[59.9139])
    ] = None,
    lon: Annotated[
        float | None, Query(ge=-180, le=180, description="Longitude (WGS 84)", examples=[10.7522])
    ] = None,
    radius_m: Annotated[
        float | None,
        Query(gt=0, le=MAX_RADIUS_M, description="Only within this many metres of lat/lon"),
    ] = None,
    bbox: Annotated[
        str | None,
        Query(
            max_length=200,
            description="minLon,minLat,maxLon,maxLat (WGS 84); points on an edge are inside",
            examples=["10.6,59.85,10.9,59.97"],
        ),
    ] = None,
    kommune: KommuneQuery = None,
    fylke: FylkeQuery = None,
    kind: KindQuery = None,
    mode: ModeQuery = None,
    category: CategoryQuery = None,
    organization_id: OrganizationQuery = None,
    q: TextQuery = None,
    sort: Annotated[
        SortOrder | None,
        Query(description="`distance` (needs lat/lon; the default with them) or `newest`"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100, description="Page size")] = 20,
    cursor: Annotated[
        str | None, Query(max_length=512, description="`next_cursor` of the previous page")
    ] = None,
    f: GeoJsonFormat = None,  # noqa: ARG001 - declared and validated here, read by negotiate
) -> Response:
    media = negotiate(request, [JSON, GEOJSON])
    search = service.SearchRequest(
        lat=lat,
        lon=lon,
        radius_m=radius_m,
        bbox=parse_bbox(bbox),
        kommune=kommune,
        fylke=fylke,
        kind=kind.value if kind else None,
        mode=mode.value if mode else None,
        category=category,
        organization_id=organization_id,
        q=q,
        sort=sort,
        limit=limit,
        cursor=cursor,
    )
    result = await service.search_listings(
        session, request=search, now=now, geojson=media == GEOJSON, principal=principal
    )
    headers = {"Vary": "Accept"}
    if media == GEOJSON:
        links = [FeatureLink(rel="self", href=str(request.url), type=GEOJSON)]
        if result.next_cursor is not None:
            href = str(request.url.include_query_params(cursor=result.next_cursor))
            links.append(FeatureLink(rel="next", href=href, type=GEOJSON))
        body = feature_collection(result.rows, links=links, next_cursor=result.next_cursor)
        return Response(content=body, media_type=GEOJSON, headers=headers)
    body = item_page(result.rows, next_cursor=result.next_cursor)
    return Response(content=body, media_type=JSON, headers=headers)


@router.get(
    "/{listing_id}",
    response_model=ListingRead,
    summary="Get one listing",
    description="Anyone may read an active, reserved, completed or expired listing that is not "
    "hidden; drafts, listings in review, withdrawn and hidden ones only their owner (and "
    "moderators) — for everyone else they do not exist (404). The owner sees the exact "
    "point and the moderation state.",
    responses=problem_responses(*_AUTH, ListingNotFoundError, 422),
)
async def get_listing(
    session: SessionDep, principal: OptionalPrincipalDep, listing_id: ListingIdPath
) -> Response:
    doc = await service.get_listing(session, principal=principal, listing_id=listing_id)
    return Response(content=doc, media_type=JSON)


@router.patch(
    "/{listing_id}",
    response_model=ListingRead,
    response_model_exclude_unset=True,
    summary="Change a listing",
    description="The owner (or, for an organization's listing, its members and API keys with "
    "`listings:write`) changes the fields sent; `null` clears an optional one and `details` "
    "is replaced whole. The result must be a valid listing of its kind. A new point is placed "
    "again; a new hazardous EWC code sends an active listing back to review. Completed and "
    "withdrawn listings cannot change (`409 listing_closed`).",
    responses=problem_responses(
        *OWNER_ONLY,
        ListingClosedError,
        UnknownCategoryError,
        UnknownEwcCodeError,
        PointOutsideNorwayError,
        InvalidInputError,
        422,
    ),
)
async def update_listing(
    body: ListingUpdate,
    session: SessionDep,
    principal: PrincipalDep,
    now: ClockDep,
    listing_id: ListingIdPath,
) -> ListingRead:
    return await service.update_listing(
        session, principal=principal, listing_id=listing_id, changes=body, now=now
    )


@router.post(
    "/{listing_id}/hide",
    response_model=ListingRead,
    response_model_exclude_unset=True,
    summary="Hide a listing (moderators)",
    description="Moderators only: take a listing out of search, tiles and public reads, with a "
    "reason its owner sees. `unhide` reverses it.",
    responses=problem_responses(
        *_AUTH, PersonRequiredError, RoleRequiredError, ListingNotFoundError, 422
    ),
)
async def hide_listing(
    body: HideRequest,
    session: SessionDep,
    principal: PrincipalDep,
    now: ClockDep,
    listing_id: ListingIdPath,
) -> ListingRead:
    return await service.hide_listing(
        session, principal=principal, listing_id=listing_id, reason=body.reason, now=now
    )


@router.post(
    "/{listing_id}/{action}",
    response_model=ListingRead,
    response_model_exclude_unset=True,
    summary="Move a listing through its lifecycle",
    description="The owner: `publish` a draft, `reserve` and `unreserve` an active listing, "
    "`complete` it (handed over, filled), `withdraw` it, or `renew` an item listing before or "
    "after it expired. Moderators: `approve` a listing in review (a hazardous material), "
    "`unhide` a hidden one. Any other move is `409 invalid_transition`.",
    responses=problem_responses(
        *OWNER_ONLY, PersonRequiredError, RoleRequiredError, InvalidTransitionError, 422
    ),
)
async def act_on_listing(
    session: SessionDep,
    principal: PrincipalDep,
    now: ClockDep,
    settings: SettingsDep,
    listing_id: ListingIdPath,
    action: Annotated[ListingAction, Path(description="What to do")],
) -> ListingRead:
    return await service.act_on_listing(
        session,
        principal=principal,
        listing_id=listing_id,
        action=action,
        now=now,
        settings=settings,
    )
