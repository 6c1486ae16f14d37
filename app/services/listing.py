"""Rules around listings: who may write them, how they move through their lifecycle, where
they are, and how they are found.

**Who.** A person owns their own listings. An organization's listings are written by its
members (``OrgAction.WRITE_LISTINGS``: any role) or its API keys with ``listings:write``.
Moderators approve hazardous materials and hide listings. A listing the caller may not see is
a 404 whatever they try; one they may see but not change is a 403.

**Lifecycle** (``LISTING_ACTIONS``; the database refuses any other move, see
``app.models.listing``)::

    draft ──publish──▶ active ◀──unreserve── reserved
      │                 │  ▲ ──reserve──────▶   │
      │   (hazardous)   │  └──renew── expired   │
      └─▶ pending_review┘      ▲ (tick)         │
             └─approve─▶ active│                │
    active/reserved ──complete──▶ completed     │
    any open status ──withdraw──▶ withdrawn ◀───┘

Items expire ``settings.listings.item_ttl_days`` after publishing or renewing; other kinds
stay until withdrawn or completed. ``python -m app.cli tick`` marks expired listings, and search
never shows an item past its expiry even before the tick has run.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.errors import (
    FieldError,
    InvalidInputError,
    InvalidTransitionError,
    ListingClosedError,
    ListingNotFoundError,
    NotListingOwnerError,
    PointOutsideNorwayError,
    UnknownCategoryError,
    UnknownEwcCodeError,
    UnknownFylkeError,
    UnknownKommuneError,
)
from app.errors import (
    OutsideNorwayError as LookupOutsideNorwayError,
)
from app.geo import point_element
from app.models import Listing
from app.models.listing import FINAL_STATUSES, ListingKind, ListingStatus
from app.models.outbox import EventType
from app.models.person import PlatformRole
from app.pagination import decode_cursor, encode_cursor, invalid_cursor
from app.repositories.category import CategoryRepository
from app.repositories.geography import GeographyRepository
from app.repositories.listing import (
    ANONYMOUS,
    Caller,
    ListingRepository,
    SearchFilters,
    SearchPage,
)
from app.repositories.organization import OrganizationRepository
from app.repositories.waste import WasteCodeRepository
from app.schemas.listing import (
    CREATE_MODELS,
    ListingAction,
    ListingRead,
    ListingUpdate,
    SortOrder,
)
from app.services import alerts, geography, outbox
from app.services.policy import (
    OrgAction,
    Principal,
    acting_as,
    authorize_org,
    require_platform_role,
)

S = ListingStatus


# --- refusals -------------------------------------------------------------------------------

_E = TypeVar("_E", bound=InvalidInputError)


def _refusal(
    error: type[_E], detail: str | None, *, location: str, field: str, message: str, kind: str
) -> _E:
    """A 422 that names the one field at fault."""
    return error(
        detail, errors=[FieldError(location=location, field=field, message=message, type=kind)]
    )


def _unknown_category(
    slug: str, *, location: str, message: str | None = None
) -> UnknownCategoryError:
    return _refusal(
        UnknownCategoryError,
        f"No category has the slug {slug!r}; see /v1/categories.",
        location=location,
        field="category",
        message=message or f"Unknown category {slug!r}",
        kind="unknown_category",
    )


# --- who may see and change a listing -------------------------------------------------------


# Statuses anyone may read a listing in (by id); the others are the owner's business.
PUBLIC_STATUSES = frozenset({S.ACTIVE, S.RESERVED, S.COMPLETED, S.EXPIRED})


async def manages(session: AsyncSession, principal: Principal | None, listing: Listing) -> bool:
    """The caller owns the listing or acts for the organization that does."""
    if principal is None:
        return False
    if listing.owner_person_id is not None:
        return principal.person_id == listing.owner_person_id
    assert listing.owner_organization_id is not None
    if principal.is_api_key:
        return principal.organization_id == listing.owner_organization_id
    if principal.person_id is None:
        return False
    role = await OrganizationRepository(session).member_role(
        listing.owner_organization_id, principal.person_id
    )
    return role is not None


def _is_moderator(principal: Principal | None) -> bool:
    return principal is not None and principal.has_role(PlatformRole.MODERATOR)


def _publicly_visible(listing: Listing) -> bool:
    return listing.hidden_at is None and listing.status in PUBLIC_STATUSES


@dataclass(frozen=True, slots=True)
class _Access:
    listing: Listing
    manages: bool
    moderates: bool


async def _load(
    session: AsyncSession, principal: Principal | None, listing_id: uuid.UUID, *, lock: bool
) -> _Access:
    listing = await ListingRepository(session).get(listing_id, for_update=lock)
    if listing is None:
        raise ListingNotFoundError(f"No listing has the id {listing_id}.")
    managed = await manages(session, principal, listing)
    moderates = _is_moderator(principal)
    if not (managed or moderates or _publicly_visible(listing)):
        raise ListingNotFoundError(f"No listing has the id {listing_id}.")
    return _Access(listing=listing, manages=managed, moderates=moderates)


async def _require_owner(
    session: AsyncSession, principal: Principal, listing_id: uuid.UUID, *, lock: bool = True
) -> Listing:
    """The listing, locked, if the caller may change it (else 404 or 403)."""
    access = await _load(session, principal, listing_id, lock=lock)
    listing = access.listing
    if not access.manages:
        if listing.owner_organization_id is not None:
            # The precise reason: not a member, an API key of another organization, a scope.
            await authorize_org(
                session, principal, listing.owner_organization_id, OrgAction.WRITE_LISTINGS
            )
        raise NotListingOwnerError("This listing belongs to someone else.")
    if listing.owner_organization_id is not None:
        await authorize_org(
            session, principal, listing.owner_organization_id, OrgAction.WRITE_LISTINGS
        )
    return listing


async def _acting_owner(
    session: AsyncSession, principal: Principal, organization_id: uuid.UUID | None
) -> tuple[uuid.UUID | None, uuid.UUID | None]:
    """Whose listings the caller acts on (see ``acting_as``)."""
    return await acting_as(session, principal, organization_id, OrgAction.WRITE_LISTINGS)


# --- reading --------------------------------------------------------------------------------


async def _caller(session: AsyncSession, principal: Principal | None) -> Caller:
    """The caller as the listing JSON's ``actions`` need it (one query for a person's
    organizations, none per listing)."""
    if principal is None:
        return ANONYMOUS
    organizations: tuple[uuid.UUID, ...] = ()
    if principal.is_api_key:
        if principal.organization_id is not None:
            organizations = (principal.organization_id,)
    elif principal.person_id is not None:
        ids = await OrganizationRepository(session).organization_ids_of(principal.person_id)
        organizations = tuple(ids)
    return Caller(
        person_id=principal.person_id,
        organization_ids=organizations,
        moderator=_is_moderator(principal),
        signed_in=True,
        owner_actions=_OWNER_ACTIONS,
        moderator_actions=_MODERATOR_ACTIONS,
    )


async def _document(
    session: AsyncSession, listing_id: uuid.UUID, *, principal: Principal | None, manage: bool
) -> bytes:
    viewer = principal.person_id if principal is not None else None
    doc = await ListingRepository(session).listing_json(
        listing_id,
        viewer=viewer,
        with_moderation=manage,
        caller=await _caller(session, principal),
    )
    assert doc is not None
    return doc


async def _read(
    session: AsyncSession, listing_id: uuid.UUID, *, principal: Principal
) -> ListingRead:
    """The listing as its manager sees it after a change: the document ``get_listing`` serves,
    typed, so the two can never differ."""
    doc = await _document(session, listing_id, principal=principal, manage=True)
    return ListingRead.model_validate_json(doc)


async def get_listing(
    session: AsyncSession, *, principal: Principal | None, listing_id: uuid.UUID
) -> bytes:
    """The listing's JSON document as built in SQL (a hot read: see
    ``app.repositories.listing``)."""
    if principal is None:
        # Anonymous readers (maps, the public web) see only public listings: one statement.
        doc = await ListingRepository(session).public_listing_json(
            listing_id, statuses=[s.value for s in PUBLIC_STATUSES]
        )
        if doc is not None:
            return doc
    access = await _load(session, principal, listing_id, lock=False)
    return await _document(
        session, listing_id, principal=principal, manage=access.manages or access.moderates
    )


# --- writing --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Place:
    kommunenummer: str
    fylkesnummer: str


async def _place(session: AsyncSession, *, lon: float, lat: float) -> _Place:
    try:
        hit = await geography.locate(session, lat=lat, lon=lon)
    except LookupOutsideNorwayError as exc:
        raise _refusal(
            PointOutsideNorwayError,
            exc.detail,
            location="body",
            field="location.coordinates",
            message="Not in a Norwegian kommune",
            kind="outside_norway",
        ) from None
    return _Place(kommunenummer=hit.kommune.number, fylkesnummer=hit.fylke.number)


async def _check_references(session: AsyncSession, data: Any) -> bool:
    """Unknown categories and EWC codes are 422s; returns whether the EWC code is hazardous."""
    slugs = [s for s in (getattr(data, "category", None),) if s]
    details = getattr(data, "details", None)
    slugs += list(getattr(details, "also_repairs", []) or [])
    if slugs:
        known = await CategoryRepository(session).slugs()
        unknown = [s for s in slugs if s not in known]
        if unknown:
            raise _unknown_category(unknown[0], location="body")
    code = getattr(data, "ewc_code", None)
    if code is None:
        return False
    row = await WasteCodeRepository(session).get(code)
    if row is None:
        raise _refusal(
            UnknownEwcCodeError,
            f"{code} is not in the European List of Waste.",
            location="body",
            field="ewc_code",
            message=f"Unknown EWC code {code}",
            kind="unknown_ewc_code",
        )
    return bool(row["hazardous"])


def _columns(data: Any) -> dict[str, Any]:
    """The table's columns from a validated create body of any kind."""
    kind = ListingKind(data.kind)
    quantity = getattr(data, "quantity", None)
    return {
        "kind": kind.value,
        "mode": getattr(data, "mode", None),
        "title": data.title,
        "description": data.description,
        "category_slug": getattr(data, "category", None),
        "ewc_code": getattr(data, "ewc_code", None),
        "quantity": Decimal(quantity) if quantity is not None else None,
        "unit": "pcs" if kind is ListingKind.ITEM else getattr(data, "unit", None),
        "price_nok": getattr(data, "price_nok", None),
        "weight_kg": getattr(data, "weight_kg", None),
        "details": data.details.model_dump(mode="json"),
    }


def _expiry(kind: str, *, now: datetime, settings: Settings) -> datetime | None:
    if kind != ListingKind.ITEM:
        return None
    return now + timedelta(days=settings.listings.item_ttl_days)


async def create_listing(
    session: AsyncSession,
    *,
    principal: Principal,
    data: Any,
    now: datetime,
    settings: Settings,
) -> ListingRead:
    owner_person_id, owner_organization_id = await _acting_owner(
        session, principal, data.organization_id
    )
    hazardous = await _check_references(session, data)
    place = await _place(session, lon=data.location.lon, lat=data.location.lat)
    status = S.DRAFT
    if data.publish:
        status = S.PENDING_REVIEW if hazardous else S.ACTIVE
    columns = _columns(data)
    listing = Listing(
        **columns,
        status=status.value,
        owner_person_id=owner_person_id,
        owner_organization_id=owner_organization_id,
        created_by_person_id=principal.person_id,
        geom=point_element(data.location.lon, data.location.lat),
        kommunenummer=place.kommunenummer,
        fylkesnummer=place.fylkesnummer,
        created_at=now,
        updated_at=now,
        published_at=now if status is S.ACTIVE else None,
        expires_at=_expiry(columns["kind"], now=now, settings=settings)
        if status is S.ACTIVE
        else None,
    )
    await ListingRepository(session).add(listing)
    if status is S.ACTIVE:
        await alerts.listing_opened(session, listing, settings=settings.matching, now=now)
    return await _read(session, listing.id, principal=principal)


def _current_body(listing: Listing, *, lon: float, lat: float) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": listing.kind,
        "title": listing.title,
        "description": listing.description,
        "location": {"type": "Point", "coordinates": [lon, lat]},
        "details": listing.details,
    }
    optional = {
        "mode": listing.mode,
        "category": listing.category_slug,
        "ewc_code": listing.ewc_code,
        "quantity": listing.quantity,
        "unit": listing.unit if listing.kind == ListingKind.MATERIAL else None,
        "price_nok": listing.price_nok,
        "weight_kg": listing.weight_kg,
    }
    body.update({k: v for k, v in optional.items() if v is not None})
    return body


async def update_listing(
    session: AsyncSession,
    *,
    principal: Principal,
    listing_id: uuid.UUID,
    changes: ListingUpdate,
    now: datetime,
) -> ListingRead:
    listing = await _require_owner(session, principal, listing_id)
    if listing.status in FINAL_STATUSES:
        raise ListingClosedError(f"The listing is {listing.status}.")
    repo = ListingRepository(session)
    lon, lat = await repo.exact_point(listing.id)
    body = _current_body(listing, lon=lon, lat=lat)
    patch = changes.model_dump(mode="json", exclude_unset=True)
    for key, value in patch.items():
        if value is None:
            body.pop(key, None)
        else:
            body[key] = value
    model = CREATE_MODELS[ListingKind(listing.kind)]
    try:
        data = model.model_validate(body)
    except ValidationError as exc:
        raise InvalidInputError(
            "The listing would not be valid with these changes.",
            errors=[
                FieldError(
                    location="body",
                    field=".".join(str(p) for p in err["loc"]),
                    message=err["msg"],
                    type=err["type"],
                )
                for err in exc.errors()
            ],
        ) from None
    hazardous = await _check_references(session, data)
    columns = _columns(data)
    for key, value in columns.items():
        setattr(listing, key, value)
    if "location" in patch:
        place = await _place(session, lon=data.location.lon, lat=data.location.lat)
        listing.geom = point_element(data.location.lon, data.location.lat)
        listing.kommunenummer = place.kommunenummer
        listing.fylkesnummer = place.fylkesnummer
    ewc_changed = "ewc_code" in patch
    if hazardous and ewc_changed and listing.status in (S.ACTIVE, S.RESERVED):
        # A newly hazardous code needs review again before anyone finds the listing.
        listing.status = S.PENDING_REVIEW.value
    listing.updated_at = now
    await ListingRepository(session).flush()
    await session.refresh(listing)
    return await _read(session, listing.id, principal=principal)


def _fully_committed(listing: Listing) -> bool:
    """Every unit is promised to requests or handed over (reuse and material exchanges)."""
    return listing.quantity is not None and listing.quantity_committed >= listing.quantity


async def status_after_move(session: AsyncSession, listing_id: uuid.UUID) -> ListingStatus:
    """The listing's status after a transaction moved its quantities, as the trigger
    ``listings_follow_quantities`` left it in this database transaction (the rule:
    ``app.models.listing.status_after_quantities``). For the transaction service, which holds
    the listing's row lock during the move."""
    return S(await ListingRepository(session).current_status(listing_id))


@dataclass(frozen=True, slots=True)
class ActionRule:
    """Where an action may start, and who may take it."""

    from_statuses: frozenset[ListingStatus]
    by_moderator: bool = False


LISTING_ACTIONS: dict[ListingAction, ActionRule] = {
    ListingAction.PUBLISH: ActionRule(frozenset({S.DRAFT})),
    ListingAction.RESERVE: ActionRule(frozenset({S.ACTIVE})),
    ListingAction.UNRESERVE: ActionRule(frozenset({S.RESERVED})),
    ListingAction.COMPLETE: ActionRule(frozenset({S.ACTIVE, S.RESERVED})),
    ListingAction.WITHDRAW: ActionRule(
        frozenset({S.DRAFT, S.PENDING_REVIEW, S.ACTIVE, S.RESERVED, S.EXPIRED})
    ),
    ListingAction.RENEW: ActionRule(frozenset({S.ACTIVE, S.EXPIRED})),
    ListingAction.APPROVE: ActionRule(frozenset({S.PENDING_REVIEW}), by_moderator=True),
    ListingAction.UNHIDE: ActionRule(frozenset(S), by_moderator=True),
}


def _actions_by_status(*, by_moderator: bool) -> str:
    """status → the actions ``LISTING_ACTIONS`` allows from it (and ``update`` for managers
    while the listing is open), as the JSON the listing statements take (``Caller``)."""
    table: dict[str, list[str]] = {}
    for status in S:
        actions = [
            action.value
            for action, rule in LISTING_ACTIONS.items()
            if rule.by_moderator == by_moderator and status in rule.from_statuses
        ]
        if not by_moderator and status not in FINAL_STATUSES:
            actions.append("update")
        table[status.value] = sorted(actions)
    return json.dumps(table, sort_keys=True)


# The moves after which a listing may be searchable anew: saved searches and matches hear of it
# (``app.services.alerts``; each hit and pair once, however often it is opened).
_OPENING = frozenset(
    {ListingAction.PUBLISH, ListingAction.APPROVE, ListingAction.RENEW, ListingAction.UNHIDE}
)

_OWNER_ACTIONS = _actions_by_status(by_moderator=False)
_MODERATOR_ACTIONS = _actions_by_status(by_moderator=True)


async def act_on_listing(
    session: AsyncSession,
    *,
    principal: Principal,
    listing_id: uuid.UUID,
    action: ListingAction,
    now: datetime,
    settings: Settings,
) -> ListingRead:
    rule = LISTING_ACTIONS[action]
    if rule.by_moderator:
        moderator_id = require_platform_role(principal, PlatformRole.MODERATOR)
        listing = (await _load(session, principal, listing_id, lock=True)).listing
    else:
        listing = await _require_owner(session, principal, listing_id)
        moderator_id = None
    status = S(listing.status)
    if status not in rule.from_statuses:
        raise InvalidTransitionError(f"A listing cannot {action} when it is {status}.")
    if action is ListingAction.RENEW and listing.kind != ListingKind.ITEM:
        raise InvalidTransitionError("Only item listings expire, so only they are renewed.")
    if action is ListingAction.UNHIDE:
        if listing.hidden_at is None:
            raise InvalidTransitionError("The listing is not hidden.")
        listing.hidden_at = None
        listing.hidden_reason = None
        listing.hidden_by = None
    elif action in (ListingAction.PUBLISH, ListingAction.APPROVE, ListingAction.RENEW):
        hazardous = False
        if listing.ewc_code is not None:
            row = await WasteCodeRepository(session).get(listing.ewc_code)
            hazardous = bool(row and row["hazardous"])
        if action is ListingAction.APPROVE:
            listing.review_approved_at = now
            listing.review_approved_by = moderator_id
        if hazardous and listing.review_approved_at is None:
            listing.status = S.PENDING_REVIEW.value
        else:
            listing.status = S.ACTIVE.value
            listing.published_at = listing.published_at or now
            if action is ListingAction.RENEW:
                listing.published_at = now
            listing.expires_at = _expiry(listing.kind, now=now, settings=settings)
    elif action is ListingAction.RESERVE:
        listing.status = S.RESERVED.value
    elif action is ListingAction.UNRESERVE:
        if _fully_committed(listing):
            raise InvalidTransitionError(
                "Every unit is promised to requests; the listing is active again once one is "
                "declined, cancelled or expires."
            )
        listing.status = S.ACTIVE.value
    else:  # COMPLETE, WITHDRAW
        listing.status = (S.COMPLETED if action is ListingAction.COMPLETE else S.WITHDRAWN).value
        listing.closed_at = now
    listing.updated_at = now
    await ListingRepository(session).flush()
    if action is ListingAction.APPROVE:
        await _tell_owner(session, listing, EventType.LISTING_APPROVED, now=now)
    if action in _OPENING and listing.status == S.ACTIVE and listing.hidden_at is None:
        await alerts.listing_opened(session, listing, settings=settings.matching, now=now)
    return await _read(session, listing.id, principal=principal)


async def _tell_owner(
    session: AsyncSession, listing: Listing, event: EventType, *, now: datetime
) -> None:
    await outbox.emit(
        session,
        event,
        to=[outbox.Recipient(listing.owner_person_id, listing.owner_organization_id)],
        payload={"listing_id": str(listing.id), "status": listing.status},
        now=now,
    )


async def hide_listing(
    session: AsyncSession,
    *,
    principal: Principal,
    listing_id: uuid.UUID,
    reason: str,
    now: datetime,
) -> ListingRead:
    moderator_id = require_platform_role(principal, PlatformRole.MODERATOR)
    listing = (await _load(session, principal, listing_id, lock=True)).listing
    listing.hidden_at = now
    listing.hidden_reason = reason
    listing.hidden_by = moderator_id
    listing.updated_at = now
    await ListingRepository(session).flush()
    await _tell_owner(session, listing, EventType.LISTING_HIDDEN, now=now)
    return await _read(session, listing.id, principal=principal)


async def expire_listings(session: AsyncSession, *, now: datetime) -> int:
    return await ListingRepository(session).expire_due(now=now)


# An owner is reminded this long before an active listing expires.
EXPIRY_REMINDER = timedelta(days=3)


async def remind_expiring(session: AsyncSession, *, now: datetime) -> int:
    """Tell owners of listings that expire within ``EXPIRY_REMINDER`` (once per expiry: a
    renewed listing is reminded again before its new expiry)."""
    reminded = 0
    for listing in await ListingRepository(session).expiring_within(now, now + EXPIRY_REMINDER):
        assert listing.expires_at is not None
        reminded += await outbox.emit(
            session,
            EventType.LISTING_EXPIRING,
            to=[outbox.Recipient(listing.owner_person_id, listing.owner_organization_id)],
            payload={"listing_id": str(listing.id), "expires_at": listing.expires_at.isoformat()},
            now=now,
            once=f"{listing.id}:{listing.expires_at.isoformat()}",
        )
    return reminded


async def recluster(session: AsyncSession) -> None:
    await ListingRepository(session).recluster()


# --- search ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ListingFilters:
    """What a search and a map of listings filter by (the tiles take these alone)."""

    kind: str | None = None
    mode: str | None = None
    category: str | None = None
    kommune: str | None = None
    fylke: str | None = None
    organization_id: uuid.UUID | None = None
    q: str | None = None


@dataclass(frozen=True, slots=True)
class SearchRequest(ListingFilters):
    """Search parameters as the API parsed them (types and ranges already checked)."""

    lat: float | None = None
    lon: float | None = None
    radius_m: float | None = None
    bbox: tuple[float, float, float, float] | None = None
    sort: SortOrder | None = None
    limit: int = 20
    cursor: str | None = None
    published_from: datetime | None = None
    published_before: datetime | None = None


def _query_error(field: str, message: str) -> InvalidInputError:
    return _refusal(
        InvalidInputError,
        message,
        location="query",
        field=field,
        message=message,
        kind="value_error",
    )


async def search_filters(session: AsyncSession, request: SearchRequest) -> SearchFilters:
    """Check what needs the database (kommune, fylke, category exist) and normalise ``q``."""
    has_point = request.lat is not None and request.lon is not None
    if (request.lat is None) != (request.lon is None):
        raise _query_error("lat", "lat and lon go together")
    if request.radius_m is not None and not has_point:
        raise _query_error("radius_m", "radius_m needs lat and lon")
    geo = GeographyRepository(session)
    places = (
        ("kommune", request.kommune, geo.kommune_exists, UnknownKommuneError),
        ("fylke", request.fylke, geo.fylke_exists, UnknownFylkeError),
    )
    for name, number, exists, error in places:
        if number is not None and not await exists(number):
            raise _refusal(
                error,
                f"No {name} has the number {number}.",
                location="query",
                field=name,
                message=f"Unknown {name}",
                kind=f"unknown_{name}",
            )
    if request.category is not None and not await CategoryRepository(session).exists(
        request.category
    ):
        raise _unknown_category(request.category, location="query", message="Unknown category")
    terms: tuple[str, ...] = ()
    last_is_prefix = False
    if request.q is not None:
        terms = tuple(await ListingRepository(session).search_terms(request.q))
        # Type-ahead: the last word is still being typed unless the query ends in a space.
        last_is_prefix = not request.q[-1:].isspace()
    return SearchFilters(
        lat=request.lat,
        lon=request.lon,
        radius_m=request.radius_m,
        bbox=request.bbox,
        kommunenummer=request.kommune,
        fylkesnummer=request.fylke,
        kind=request.kind,
        mode=request.mode,
        category=request.category,
        organization_id=request.organization_id,
        terms=terms,
        last_is_prefix=last_is_prefix,
        text_query=request.q is not None,
        published_from=request.published_from,
        published_before=request.published_before,
    )


def _sort(request: SearchRequest) -> SortOrder:
    has_point = request.lat is not None
    if request.sort is SortOrder.DISTANCE and not has_point:
        raise _query_error("sort", "sort=distance needs lat and lon")
    return request.sort or (SortOrder.DISTANCE if has_point else SortOrder.NEWEST)


def _after(cursor: str | None, sort: SortOrder) -> dict[str, Any] | None:
    if cursor is None:
        return None
    if sort is SortOrder.DISTANCE:
        key = decode_cursor(cursor, required=("s", "d", "id"))
    else:
        key = decode_cursor(cursor, required=("s", "p", "id"))
    try:
        if key["s"] != sort.value:
            raise ValueError("cursor of another sort order")
        after: dict[str, Any] = {"id": uuid.UUID(str(key["id"]))}
        if sort is SortOrder.DISTANCE:
            distance = key["d"]
            if not isinstance(distance, int | float) or isinstance(distance, bool):
                raise ValueError("distance")
            after["d"] = float(distance)
        else:
            published = datetime.fromisoformat(str(key["p"]))
            if published.tzinfo is None:
                raise ValueError("naive time")
            after["p"] = published
    except (ValueError, TypeError):
        raise invalid_cursor() from None
    return after


def _next_cursor(page: SearchPage, sort: SortOrder) -> str | None:
    if page.next_key is None:
        return None
    return encode_cursor({"s": sort.value, **page.next_key})


@dataclass(frozen=True, slots=True)
class SearchResult:
    rows: list[bytes]
    next_cursor: str | None


async def search_listings(
    session: AsyncSession,
    *,
    request: SearchRequest,
    now: datetime,
    geojson: bool,
    principal: Principal | None = None,
) -> SearchResult:
    sort = _sort(request)
    after = _after(request.cursor, sort)
    filters = await search_filters(session, request)
    page = await ListingRepository(session).search(
        filters,
        now=now,
        sort=sort.value,
        after=after,
        limit=request.limit,
        geojson=geojson,
        caller=ANONYMOUS if geojson else await _caller(session, principal),
    )
    return SearchResult(rows=page.rows, next_cursor=_next_cursor(page, sort))


async def list_my_listings(
    session: AsyncSession,
    *,
    principal: Principal,
    organization_id: uuid.UUID | None,
    statuses: list[ListingStatus] | None,
    cursor: str | None,
    limit: int,
) -> SearchResult:
    """The caller's own listings in every status (or an organization's, for its members)."""
    after = None
    if cursor is not None:
        key = decode_cursor(cursor, required=("c", "id"))
        try:
            after = {
                "created_at": datetime.fromisoformat(str(key["c"])),
                "id": uuid.UUID(str(key["id"])),
            }
        except (ValueError, TypeError):
            raise invalid_cursor() from None
    person_id, organization_id = await _acting_owner(session, principal, organization_id)
    rows, next_key = await ListingRepository(session).list_for_owner(
        person_id=person_id,
        organization_id=organization_id,
        statuses=[s.value for s in statuses] if statuses else None,
        after=after,
        limit=limit,
        caller=await _caller(session, principal),
    )
    return SearchResult(
        rows=rows, next_cursor=encode_cursor(next_key) if next_key is not None else None
    )


async def visible_listing(
    session: AsyncSession, *, principal: Principal | None, listing_id: uuid.UUID
) -> Listing:
    """The listing if the caller may see it (public, or theirs, or a moderator's), else 404."""
    return (await _load(session, principal, listing_id, lock=False)).listing


async def manages_listing(
    session: AsyncSession, *, principal: Principal | None, listing: Listing
) -> bool:
    """The caller owns the listing or acts for the organization that does."""
    return await manages(session, principal, listing)


async def owned_listing(
    session: AsyncSession, *, principal: Principal, listing_id: uuid.UUID, lock: bool = True
) -> Listing:
    """The listing (locked unless ``lock=False``) if the caller may change it (its owner, a
    member of the owning organization, or a key with ``listings:write``); else 404 or 403."""
    return await _require_owner(session, principal, listing_id, lock=lock)


def publicly_visible(listing: Listing) -> bool:
    """Anyone may see it: not hidden, and in a public status."""
    return _publicly_visible(listing)


async def searchable_feature(
    session: AsyncSession, *, listing_id: uuid.UUID, now: datetime
) -> bytes:
    """A listing search can find, as a public GeoJSON Feature; else 404."""
    feature = await ListingRepository(session).searchable_feature_json(listing_id, now=now)
    if feature is None:
        raise ListingNotFoundError(f"No listing with the id {listing_id} is on the map.")
    return feature


async def caller_of(session: AsyncSession, principal: Principal | None) -> Caller:
    """The caller as listing JSON's ``actions`` need it (for other services that return
    listings, such as matching)."""
    return await _caller(session, principal)
