"""Saved searches (``/v1/me/saved-searches``) and an organization's matches feed
(``/v1/organizations/{id}/matches``). The fan-out itself is in ``app.services.alerts``."""

from __future__ import annotations

import uuid
from datetime import datetime
from urllib.parse import urlencode

from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import (
    EmptySearchAreaError,
    FieldError,
    ForbiddenError,
    InvalidInputError,
    SavedSearchNotFoundError,
    UnauthorizedError,
)
from app.models.saved_search import SavedSearch
from app.pagination import decode_cursor, encode_cursor, invalid_cursor
from app.render import sql_json
from app.repositories.saved_search import Place, SavedSearchRepository
from app.schemas.common import Page
from app.schemas.saved_search import SavedSearchCreate, SavedSearchOwner, SavedSearchRead
from app.services import listing as listing_service
from app.services.policy import OrgAction, Principal, acting_as, authorize_org


def _search_url(query: dict[str, object]) -> str:
    params = {k: v for k, v in query.items() if k != "bbox"}
    if "bbox" in query:
        params["bbox"] = ",".join(str(v) for v in query["bbox"])  # type: ignore[attr-defined]
    return "/v1/listings" + (f"?{urlencode(params)}" if params else "")


def _read(saved: SavedSearch, *, hits: int) -> SavedSearchRead:
    return SavedSearchRead(
        id=saved.id,
        name=saved.name,
        frequency=saved.frequency,  # type: ignore[arg-type]
        query=saved.query,
        owner=SavedSearchOwner(
            type="person" if saved.person_id is not None else "organization",
            organization_id=saved.organization_id,
        ),
        hits=hits,
        search_url=_search_url(saved.query),
        created_at=saved.created_at,
        last_digest_at=saved.last_digest_at,
    )


async def create_saved_search(
    session: AsyncSession, *, principal: Principal, body: SavedSearchCreate, now: datetime
) -> SavedSearchRead:
    """Save a search for the caller or an organization they act for. The filters are checked
    as ``GET /v1/listings`` checks them (unknown kommune, fylke or category: 422)."""
    person_id, organization_id = await acting_as(
        session, principal, body.organization_id, OrgAction.WRITE_LISTINGS
    )
    query = body.query
    bbox = tuple(query.bbox) if query.bbox is not None else None
    filters = await listing_service.search_filters(
        session,
        listing_service.SearchRequest(
            kind=query.kind.value if query.kind else None,
            mode=query.mode.value if query.mode else None,
            category=query.category,
            kommune=query.kommune,
            fylke=query.fylke,
            q=query.q,
            lat=query.lat,
            lon=query.lon,
            radius_m=query.radius_m,
            bbox=bbox,  # type: ignore[arg-type]
        ),
    )
    if query.q is not None and not filters.terms:
        raise InvalidInputError.for_field(
            "q has only stop words or punctuation: nothing would ever fit.",
            field="query.q",
            message="no words to search for",
        )
    repo = SavedSearchRepository(session)
    area = await repo.area(
        Place(
            lat=query.lat,
            lon=query.lon,
            radius_m=query.radius_m,
            bbox=bbox,  # type: ignore[arg-type]
            kommunenummer=query.kommune,
            fylkesnummer=query.fylke,
        )
    )
    if area is None:
        raise EmptySearchAreaError(
            "The circle and the box do not overlap: nothing would ever fit.",
            errors=[
                FieldError(
                    location="body",
                    field="query.bbox",
                    message="outside the circle",
                    type="value_error",
                )
            ],
        )
    saved = await repo.add(
        SavedSearch(
            person_id=person_id,
            organization_id=organization_id,
            name=body.name.strip(),
            frequency=body.frequency.value,
            query=query.model_dump(mode="json", exclude_none=True),
            kind=filters.kind,
            mode=filters.mode,
            category_slug=filters.category,
            kommunenummer=filters.kommunenummer,
            fylkesnummer=filters.fylkesnummer,
            terms=list(filters.terms),
            area=area,
            created_at=now,
            updated_at=now,
        )
    )
    return _read(saved, hits=0)


async def _owned(
    session: AsyncSession, principal: Principal, saved_search_id: uuid.UUID
) -> SavedSearch:
    """The saved search if the caller owns it or acts for its organization; else 404 (a
    saved search is nobody else's business, not even that it exists)."""
    saved = await SavedSearchRepository(session).get(saved_search_id)
    if saved is not None:
        if saved.person_id is not None and saved.person_id == principal.person_id:
            return saved
        if saved.organization_id is not None:
            try:
                await authorize_org(
                    session, principal, saved.organization_id, OrgAction.WRITE_LISTINGS
                )
            except (ForbiddenError, UnauthorizedError):  # a refusal reads as "not found"
                pass
            else:
                return saved
    raise SavedSearchNotFoundError(f"You have no saved search with the id {saved_search_id}.")


async def get_saved_search(
    session: AsyncSession, *, principal: Principal, saved_search_id: uuid.UUID
) -> SavedSearchRead:
    saved = await _owned(session, principal, saved_search_id)
    return _read(saved, hits=await SavedSearchRepository(session).hit_count(saved.id))


async def delete_saved_search(
    session: AsyncSession, *, principal: Principal, saved_search_id: uuid.UUID
) -> None:
    saved = await _owned(session, principal, saved_search_id)
    await SavedSearchRepository(session).delete(saved.id)


async def list_saved_searches(
    session: AsyncSession,
    *,
    principal: Principal,
    organization_id: uuid.UUID | None,
    cursor: str | None,
    limit: int,
) -> Page[SavedSearchRead]:
    """The caller's saved searches (or an organization's), oldest first."""
    person_id, org_id = await acting_as(
        session, principal, organization_id, OrgAction.WRITE_LISTINGS
    )
    after = None
    if cursor is not None:
        key = decode_cursor(cursor, required=("c", "id"))
        try:
            after = (datetime.fromisoformat(str(key["c"])), uuid.UUID(str(key["id"])))
        except (TypeError, ValueError):
            raise invalid_cursor() from None
    repo = SavedSearchRepository(session)
    rows = await repo.list_for_owner(
        person_id=person_id, organization_id=org_id, after=after, limit=limit + 1
    )
    page = rows[:limit]
    items = [_read(s, hits=await repo.hit_count(s.id)) for s in page]
    next_cursor = (
        encode_cursor({"c": page[-1].created_at.isoformat(), "id": str(page[-1].id)})
        if len(rows) > limit
        else None
    )
    return Page[SavedSearchRead](items=items, next_cursor=next_cursor)


async def organization_matches(
    session: AsyncSession,
    *,
    principal: Principal,
    organization_id: uuid.UUID,
    since: datetime | None,
    cursor: str | None,
    limit: int,
) -> bytes:
    """The pairs the organization's listings are in, oldest first, as JSON."""
    await acting_as(session, principal, organization_id, OrgAction.WRITE_LISTINGS)
    after = None
    if cursor is not None:
        key = decode_cursor(cursor, required=("t", "w", "o"))
        try:
            after = (
                datetime.fromisoformat(str(key["t"])),
                uuid.UUID(str(key["w"])),
                uuid.UUID(str(key["o"])),
            )
        except (TypeError, ValueError):
            raise invalid_cursor() from None
    rows = await SavedSearchRepository(session).organization_matches(
        organization_id, since=since, after=after, limit=limit
    )
    page = rows[:limit]
    next_cursor = None
    if len(rows) > limit:
        last = page[-1]
        next_cursor = encode_cursor(
            {
                "t": last.found_at.isoformat(),
                "w": str(last.wanted_listing_id),
                "o": str(last.offer_listing_id),
            }
        )
    items = [
        (
            r.doc,
            {
                "found_at": r.found_at.isoformat(),
                "score": float(r.score),
                "wanted_listing_id": str(r.wanted_listing_id),
                "offer_listing_id": str(r.offer_listing_id),
                "own_listing_id": str(r.own_listing_id),
            },
        )
        for r in page
    ]
    return sql_json.match_page(items, next_cursor=next_cursor)
