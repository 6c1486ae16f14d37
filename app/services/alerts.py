"""Alerts: what a listing that became searchable sets off, in the transaction that opened it.

* **Saved searches** that fit it get a hit, and the ``instant`` ones a ``saved_search.matched``
  event (one statement in the database: ``SavedSearchRepository.fan_out``); ``daily`` ones
  collect hits until the clock's ``tick`` sends a ``saved_search.digest``.
* **Matches**: the listing's best matches (``app.repositories.matching``, the rules of ``GET
  /v1/listings/{id}/matches``) at ``MIN_SCORE`` or above are recorded as pairs; when the new
  listing is an offer, each wanted listing it could serve hears of it (``listing.match_found``).
  A wanted listing's own owner sees its matches on the route.

A listing is opened when it is published, approved, renewed or unhidden; a hit and a pair are
recorded once, so opening it again tells nobody twice. Both obey the hazardous-waste rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.config import MatchingSettings
from app.models import Listing
from app.models.listing import ListingKind, ListingMode
from app.models.outbox import EventType
from app.repositories.listing import ANONYMOUS
from app.repositories.matching import RULES, Anchor, MatchRepository
from app.repositories.saved_search import SavedSearchRepository
from app.services import outbox

MIN_SCORE = Decimal("0.5")
TOP_MATCHES = 20


@dataclass(frozen=True, slots=True)
class Opened:
    hits: int
    notified: int
    pairs: int


def default_distance_km(settings: MatchingSettings, kind: str, details: dict[str, Any]) -> float:
    """How far a match may be when a listing does not say (``details.max_distance_km``)."""
    if kind == ListingKind.ENERGY:
        energy_type = str(details.get("energy_type", "heat"))
        km: float = getattr(settings, f"{energy_type}_km", settings.heat_km)
        return km
    return {
        ListingKind.MATERIAL: settings.material_km,
        ListingKind.SPACE: settings.space_km,
        ListingKind.ITEM: settings.item_km,
    }[ListingKind(kind)]


def anchor_for(listing: Listing, settings: MatchingSettings) -> Anchor:
    """The listing as the match statement's anchor: its own limit (its ``max_distance_km`` or
    its kind's default) and the default for candidates that state none."""
    default_km = default_distance_km(settings, listing.kind, listing.details)
    stated = listing.details.get("max_distance_km")
    return Anchor(
        id=listing.id,
        kind=listing.kind,
        wanted=listing.mode == ListingMode.WANTED,
        radius_m=1000 * (float(stated) if stated is not None else default_km),
        default_m=1000 * default_km,
        ewc_code=listing.ewc_code,
        category_slug=listing.category_slug,
        detail_type=listing.details.get(f"{listing.kind}_type"),
    )


async def listing_opened(
    session: AsyncSession, listing: Listing, *, settings: MatchingSettings, now: datetime
) -> Opened:
    """Fan out a listing that just became searchable (nothing when it is not)."""
    repo = SavedSearchRepository(session)
    hits, notified = await repo.fan_out(listing.id, now=now)
    pairs = 0
    if listing.kind in RULES:
        rows = await MatchRepository(session).matches(
            anchor_for(listing, settings),
            now=now,
            caller=ANONYMOUS,
            after=None,
            limit=TOP_MATCHES,
            documents=False,
            min_score=MIN_SCORE,
        )
        wanted = listing.mode == ListingMode.WANTED
        found = [
            (listing.id, row.id, row.score) if wanted else (row.id, listing.id, row.score)
            for row in rows[:TOP_MATCHES]
        ]
        new = await repo.record_matches(found, now=now)
        pairs = len(new)
        if not wanted:
            for pair in new:
                notified += await outbox.emit(
                    session,
                    EventType.LISTING_MATCH_FOUND,
                    to=[outbox.Recipient(pair["wanted_person_id"], pair["wanted_organization_id"])],
                    payload={
                        "listing_id": str(listing.id),
                        "wanted_listing_id": str(pair["wanted_listing_id"]),
                        "score": float(pair["score"]),
                    },
                    now=now,
                )
    return Opened(hits=hits, notified=notified, pairs=pairs)


async def send_digests(session: AsyncSession, *, now: datetime) -> int:
    """The daily digests that are due (the clock's ``tick``): how many were sent."""
    return await SavedSearchRepository(session).send_digests(now=now)
