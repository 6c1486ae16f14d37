"""/ogc — OGC API - Features, Part 1 (Core, GeoJSON), read-only, for GIS tools.

QGIS ("Add OGC API - Features layer"), GDAL (``OAPIF:`` driver) and other clients read the
public listings (blurred, as everywhere: the public point), repair events, kommuner and fylker
here, with ``bbox``, ``limit`` (up to 10,000) and ``next`` links through every page; repair
events also by ``datetime`` (their start: an instant, a date, or an interval with ``..`` for
an open end). The documents are JSON; features are GeoJSON in WGS 84 (CRS84, longitude
first). Every document is also a page to read in a browser (``f=html``, or an ``Accept``
that prefers text/html, as a browser's does; ``app.render.ogc``). Not yet: ``datetime`` on
kommuner and fylker (answered with 422).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import HTMLResponse

from app.api.deps import ClockDep, SettingsDep
from app.api.listings import parse_bbox
from app.api.media import parse_accept
from app.config import Settings
from app.db import SessionDep
from app.errors import (
    FieldError,
    FylkeNotFoundError,
    InitiativeNotFoundError,
    InvalidCursorError,
    InvalidInputError,
    KommuneNotFoundError,
    ListingNotFoundError,
    NotFoundError,
    RepairEventNotFoundError,
    problem_responses,
)
from app.geo import NORWAY_BBOX
from app.render import ogc as ogc_pages
from app.render import ogc_openapi, sql_json
from app.schemas.repair import RepairEventRead
from app.services import geography
from app.services import initiative as initiative_service
from app.services import listing as listing_service
from app.services import repair as repair_service
from app.services.impact.periods import NORWAY

router = APIRouter(prefix="/ogc", tags=["ogc"])

GEOJSON = "application/geo+json"
JSON = "application/json"
OPENAPI = "application/vnd.oai.openapi+json;version=3.1"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
]
OPENAPI_30 = "application/vnd.oai.openapi+json;version=3.0"
HTML = "text/html"
# The HTML pages load only Sirkel's stylesheet, run no script, and may be framed by Sirkel.
HTML_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'self'"
)
FormatQuery = Annotated[
    Literal["json", "html"] | None,
    Query(
        description="`html` for a page to read in a browser, `json` for the document "
        "(GeoJSON for features). Unset: `Accept` decides (a browser gets HTML)."
    ),
]
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
MAX_LIMIT = 10_000
COLLECTIONS: dict[str, dict[str, str]] = {
    "listings": {
        "title": "Listings on the map",
        "description": "Active listings: items, repair services, materials, energy and space. "
        "A person's listing is shown about 400 m from its true point.",
    },
    "repair-events": {
        "title": "Repair events",
        "description": "Repair cafés and repair days that organizations announced, with their "
        "place and time. `datetime` selects by the start.",
    },
    "initiatives": {
        "title": "Initiatives",
        "description": "Pilots, experiments, reuse stations and repair-café series, shaped as "
        "the kommuner they work in. `datetime` selects those active then.",
    },
    "kommuner": {"title": "Kommuner", "description": "Norway's 357 kommuner (2024)."},
    "fylker": {"title": "Fylker", "description": "Norway's 15 fylker (2024)."},
}

CollectionPath = Annotated[
    str,
    Path(description="`listings`, `repair-events`, `initiatives`, `kommuner` or `fylker`"),
]
BboxQuery = Annotated[
    str | None,
    Query(max_length=200, description="minLon,minLat,maxLon,maxLat (CRS84)"),
]
LimitQuery = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Features per page")]
DatetimeQuery = Annotated[
    str | None,
    Query(
        max_length=100,
        description="Listings by when they were published, repair events by their start, "
        "initiatives by the days they are active: an instant or a date (a day in Norway: "
        "`2026-12-12T18:00:00Z`, `2026-12-12`), or an interval "
        "(`2026-12-01T00:00:00Z/2026-12-31T23:59:59Z`, `../2026-12-31`, `2026-12-01/..`). "
        "Not for kommuner and fylker (422).",
        examples=["2026-12-01/.."],
    ),
]


def _json(body: Any, media: str = JSON) -> Response:
    return Response(content=orjson.dumps(body), media_type=media)


def _html_wanted(request: Request, f: str | None) -> bool:
    """``f`` decides; else an ``Accept`` that names text/html above JSON (a browser's)."""
    if f is not None:
        return f == "html"
    ranges = parse_accept(request.headers.get("accept", ""))
    html = max((q for media, q in ranges if media == HTML), default=0.0)
    json = max((q for media, q in ranges if media in (JSON, GEOJSON)), default=0.0)
    return html > 0 and html > json


def _answer(
    request: Request,
    settings: Settings,
    f: str | None,
    doc: dict[str, Any] | bytes,
    *,
    title: str,
    media: str = JSON,
    trail: list[tuple[str, str]] | None = None,
) -> Response:
    if not _html_wanted(request, f):
        body = doc if isinstance(doc, bytes) else orjson.dumps(doc)
        return Response(content=body, media_type=media)
    parsed = orjson.loads(doc) if isinstance(doc, bytes) else doc
    html = ogc_pages.page(
        parsed,
        url=str(request.url),
        root=_base(request),
        title=title,
        assets_dir=settings.embed.assets_dir,
        trail=trail,
    )
    return HTMLResponse(
        html,
        headers={"Content-Security-Policy": HTML_CSP, "X-Content-Type-Options": "nosniff"},
    )


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/ogc"


def _collection(request: Request, name: str) -> dict[str, Any]:
    base = _base(request)
    min_lon, min_lat, max_lon, max_lat = NORWAY_BBOX
    return {
        "id": name,
        **COLLECTIONS[name],
        "itemType": "feature",
        "crs": [CRS84],
        "extent": {"spatial": {"bbox": [[min_lon, min_lat, max_lon, max_lat]], "crs": CRS84}},
        "links": [
            {"rel": "self", "type": JSON, "href": f"{base}/collections/{name}"},
            {"rel": "items", "type": GEOJSON, "href": f"{base}/collections/{name}/items"},
        ],
    }


def _known(name: str) -> None:
    if name not in COLLECTIONS:
        raise NotFoundError(f"No collection {name!r}; see /ogc/collections.")


def _datetime_error(message: str) -> InvalidInputError:
    return InvalidInputError(
        f"datetime: {message}",
        errors=[
            FieldError(location="query", field="datetime", message=message, type="value_error")
        ],
    )


def _moment(text: str, *, end: bool) -> dt.datetime:
    """An RFC 3339 date-time with a time zone, or a date (a day in Norway): its first
    moment, or for the end of an interval the first moment after it."""
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            # A date is a day in Norway: from its midnight there.
            moment = dt.datetime.combine(day, dt.time(), tzinfo=NORWAY)
            return moment + dt.timedelta(days=1) if end else moment
        moment = dt.datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise _datetime_error(f"{text!r} is neither an RFC 3339 date-time nor a date") from None
    if moment.tzinfo is None:
        raise _datetime_error(f"{text!r} needs a time zone (Z or +01:00)")
    return moment + dt.timedelta(microseconds=1) if end else moment


def parse_datetime(value: str) -> tuple[dt.datetime | None, dt.datetime | None]:
    """OGC API's ``datetime`` as a half-open range of start times [from, to)."""
    if "/" not in value:
        return _moment(value, end=False), _moment(value, end=True)
    first, _, last = value.partition("/")
    if first in ("", "..") and last in ("", ".."):
        raise _datetime_error("an interval needs at least one end")
    start = None if first in ("", "..") else _moment(first, end=False)
    stop = None if last in ("", "..") else _moment(last, end=True)
    if start is not None and stop is not None and start >= stop:
        raise _datetime_error("the interval ends before it starts")
    return start, stop


def _no_datetime(value: str | None, collection: str) -> None:
    if value is not None:
        raise InvalidInputError(
            f"datetime selects listings, repair events and initiatives; {collection} have no time.",
            errors=[
                FieldError(
                    location="query",
                    field="datetime",
                    message="not for kommuner and fylker",
                    type="unsupported",
                )
            ],
        )


def _feature_page(
    request: Request,
    links: list[dict[str, str]],
    features: list[dict[str, Any]],
    next_cursor: str | None,
    now: dt.datetime,
) -> dict[str, Any]:
    """A cursor-paged FeatureCollection built here (repair events, initiatives)."""
    if next_cursor is not None:
        href = str(request.url.include_query_params(cursor=next_cursor))
        links.append({"rel": "next", "type": GEOJSON, "href": href})
    return {
        "type": "FeatureCollection",
        "numberReturned": len(features),
        "timeStamp": now.isoformat().replace("+00:00", "Z"),
        "links": links,
        "features": features,
    }


def _event_feature(event: RepairEventRead) -> dict[str, Any]:
    return {
        "type": "Feature",
        "id": str(event.id),
        "geometry": None if event.location is None else event.location.model_dump(),
        "properties": event.model_dump(
            mode="json", exclude={"id", "location", "created_at", "updated_at"}
        ),
    }


@router.get(
    "",
    summary="OGC API landing page",
    description="Links to the API definition, the conformance declaration and the collections.",
    response_class=Response,
    responses={
        200: {
            "content": {JSON: {}, HTML: {"schema": {"type": "string"}}},
            "description": "The landing page",
        }
    },
)
async def landing(request: Request, settings: SettingsDep, f: FormatQuery = None) -> Response:
    base = _base(request)
    return _answer(
        request,
        settings,
        f,
        {
            "title": "Sirkel — sharing, reuse and repair in Norway (OGC API - Features)",
            "description": "Public listings, kommuner and fylker for GIS tools.",
            "links": [
                {"rel": "self", "type": JSON, "href": base},
                {"rel": "service-desc", "type": OPENAPI_30, "href": f"{base}/api"},
                {
                    "rel": "service-desc",
                    "type": OPENAPI,
                    "href": str(request.base_url).rstrip("/") + "/openapi.json",
                },
                {
                    "rel": "service-doc",
                    "type": "text/html",
                    "href": str(request.base_url).rstrip("/") + "/docs",
                },
                {"rel": "alternate", "type": HTML, "href": f"{base}?f=html"},
                {"rel": "conformance", "type": JSON, "href": f"{base}/conformance"},
                {"rel": "data", "type": JSON, "href": f"{base}/collections"},
            ],
        },
        title="Sirkel — sharing, reuse and repair in Norway",
    )


@router.get(
    "/api",
    summary="OGC API definition (OpenAPI 3.0)",
    description="The OGC endpoints under `/ogc` described in OpenAPI 3.0.3, as OGC API - "
    "Features asks (conformance class `oas30`). The whole Sirkel API is at `/openapi.json` "
    "(OpenAPI 3.1).",
    response_class=Response,
    responses={200: {"content": {OPENAPI_30: {"schema": {"type": "object"}}}}},
)
async def api_definition(request: Request) -> Response:
    return Response(
        content=orjson.dumps(ogc_openapi.definition(_base(request))), media_type=OPENAPI_30
    )


@router.get(
    "/conformance",
    summary="OGC API conformance",
    description="The conformance classes implemented: Core, GeoJSON, HTML and OpenAPI 3.0.",
    response_class=Response,
    responses={
        200: {
            "content": {JSON: {}, HTML: {"schema": {"type": "string"}}},
            "description": "The conformance declaration",
        }
    },
)
async def conformance(request: Request, settings: SettingsDep, f: FormatQuery = None) -> Response:
    return _answer(
        request,
        settings,
        f,
        {"conformsTo": CONFORMANCE},
        title="Conformance",
        trail=[("conformance", str(request.url))],
    )


@router.get(
    "/collections",
    summary="OGC API collections",
    description="`listings`, `repair-events`, `initiatives`, `kommuner` and `fylker`.",
    response_class=Response,
    responses={
        200: {
            "content": {JSON: {}, HTML: {"schema": {"type": "string"}}},
            "description": "The collections",
        }
    },
)
async def collections(request: Request, settings: SettingsDep, f: FormatQuery = None) -> Response:
    base = _base(request)
    return _answer(
        request,
        settings,
        f,
        {
            "links": [
                {"rel": "self", "type": JSON, "href": f"{base}/collections"},
                {"rel": "alternate", "type": HTML, "href": f"{base}/collections?f=html"},
            ],
            "collections": [_collection(request, name) for name in COLLECTIONS],
        },
        title="Collections",
        trail=[("collections", f"{base}/collections?f=html")],
    )


@router.get(
    "/collections/{collection}",
    summary="OGC API collection",
    description="One collection: its extent, CRS and items link.",
    response_class=Response,
    responses={
        200: {
            "content": {JSON: {}, HTML: {"schema": {"type": "string"}}},
            "description": "The collection",
        },
        **problem_responses(NotFoundError, 422),
    },
)
async def collection(
    request: Request, settings: SettingsDep, collection: CollectionPath, f: FormatQuery = None
) -> Response:
    _known(collection)
    base = _base(request)
    doc = _collection(request, collection)
    return _answer(
        request,
        settings,
        f,
        doc,
        title=doc["title"],
        trail=[
            ("collections", f"{base}/collections?f=html"),
            (collection, f"{base}/collections/{collection}?f=html"),
        ],
    )


@router.get(
    "/collections/{collection}/items",
    summary="OGC API items",
    description="A page of features as a GeoJSON FeatureCollection with `numberReturned`, "
    "`numberMatched` (kommuner and fylker) and a `next` link while more follow. `bbox` in "
    "CRS84; `limit` 1 to 10,000 (default 10).",
    response_class=Response,
    responses={
        200: {
            "content": {GEOJSON: {}, HTML: {"schema": {"type": "string"}}},
            "description": "The features",
        },
        **problem_responses(NotFoundError, InvalidInputError, InvalidCursorError, 422),
    },
)
async def items(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    now: ClockDep,
    collection: CollectionPath,
    bbox: BboxQuery = None,
    limit: LimitQuery = 10,
    offset: Annotated[int, Query(ge=0, le=100_000, description="For kommuner and fylker")] = 0,
    cursor: Annotated[
        str | None, Query(max_length=512, description="For listings and repair events")
    ] = None,
    datetime: DatetimeQuery = None,
    f: FormatQuery = None,
) -> Response:
    _known(collection)
    base = _base(request)
    trail = [
        ("collections", f"{base}/collections?f=html"),
        (collection, f"{base}/collections/{collection}?f=html"),
        ("items", str(request.url)),
    ]
    title = f"{COLLECTIONS[collection]['title']}: features"
    if collection in ("kommuner", "fylker"):
        _no_datetime(datetime, collection)
    box = parse_bbox(bbox)
    links = [{"rel": "self", "type": GEOJSON, "href": str(request.url)}]
    matched: int | None = None
    if collection == "initiatives":
        start, stop = parse_datetime(datetime) if datetime else (None, None)
        found, next_cursor = await initiative_service.initiative_features(
            session, bbox=box, active_from=start, active_until=stop, cursor=cursor, limit=limit
        )
        body = _feature_page(request, links, found, next_cursor, now)
        return _answer(request, settings, f, body, title=title, media=GEOJSON, trail=trail)
    if collection == "repair-events":
        starts_from, starts_to = parse_datetime(datetime) if datetime else (None, None)
        page = await repair_service.list_events(
            session,
            organization_id=None,
            kommunenummer=None,
            starts_from=starts_from,
            starts_to=starts_to,
            cursor=cursor,
            limit=limit,
            bbox=box,
        )
        events = [_event_feature(event) for event in page.items]
        body = _feature_page(request, links, events, page.next_cursor, now)
        return _answer(request, settings, f, body, title=title, media=GEOJSON, trail=trail)
    if collection == "listings":
        published_from, published_before = parse_datetime(datetime) if datetime else (None, None)
        result = await listing_service.search_listings(
            session,
            request=listing_service.SearchRequest(
                bbox=box,
                limit=limit,
                cursor=cursor,
                published_from=published_from,
                published_before=published_before,
            ),
            now=now,
            geojson=True,
        )
        features = result.rows
        if result.next_cursor is not None:
            href = str(request.url.include_query_params(cursor=result.next_cursor))
            links.append({"rel": "next", "type": GEOJSON, "href": href})
    else:
        features, matched = await geography.area_features(
            session, collection, bbox=box, limit=limit, offset=offset
        )
        if offset + len(features) < matched:
            href = str(request.url.include_query_params(offset=offset + len(features)))
            links.append({"rel": "next", "type": GEOJSON, "href": href})
        if offset > 0:
            href = str(request.url.include_query_params(offset=max(0, offset - limit)))
            links.append({"rel": "prev", "type": GEOJSON, "href": href})
    head: dict[str, Any] = {
        "type": "FeatureCollection",
        "numberReturned": len(features),
        "timeStamp": now.isoformat().replace("+00:00", "Z"),
        "links": links,
    }
    if matched is not None:
        head["numberMatched"] = matched
    return _answer(
        request,
        settings,
        f,
        sql_json.ogc_items(head, features),
        title=title,
        media=GEOJSON,
        trail=trail,
    )


@router.get(
    "/collections/{collection}/items/{feature_id}",
    summary="OGC API feature",
    description="One feature: a listing or a repair event by its id, a kommune by its "
    "kommunenummer, a fylke by "
    "its fylkesnummer.",
    response_class=Response,
    responses={
        200: {
            "content": {GEOJSON: {}, HTML: {"schema": {"type": "string"}}},
            "description": "The feature",
        },
        **problem_responses(
            NotFoundError,
            ListingNotFoundError,
            RepairEventNotFoundError,
            InitiativeNotFoundError,
            KommuneNotFoundError,
            FylkeNotFoundError,
            422,
        ),
    },
)
async def feature(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    now: ClockDep,
    collection: CollectionPath,
    feature_id: Annotated[str, Path(max_length=64)],
    f: FormatQuery = None,
) -> Response:
    _known(collection)
    base = _base(request)
    trail = [
        ("collections", f"{base}/collections?f=html"),
        (collection, f"{base}/collections/{collection}?f=html"),
        ("items", f"{base}/collections/{collection}/items?f=html"),
    ]
    body: dict[str, Any] | bytes
    if collection == "initiatives":
        try:
            initiative_id = uuid.UUID(feature_id)
        except ValueError:
            raise InitiativeNotFoundError(f"No initiative has the id {feature_id!r}.") from None
        body = await initiative_service.initiative_feature(session, initiative_id=initiative_id)
    elif collection == "repair-events":
        try:
            event_id = uuid.UUID(feature_id)
        except ValueError:
            raise RepairEventNotFoundError(f"No repair event has the id {feature_id!r}.") from None
        event = await repair_service.get_event(session, event_id=event_id)
        body = _event_feature(event)
    elif collection == "listings":
        try:
            listing_id = uuid.UUID(feature_id)
        except ValueError:
            raise ListingNotFoundError(f"No listing has the id {feature_id!r}.") from None
        body = await listing_service.searchable_feature(session, listing_id=listing_id, now=now)
    elif collection == "kommuner":
        body = await geography.get_kommune_feature(session, kommunenummer=feature_id)
    else:
        body = await geography.get_fylke_feature(session, fylkesnummer=feature_id)
    return _answer(
        request, settings, f, body, title=f"{collection} {feature_id}", media=GEOJSON, trail=trail
    )
