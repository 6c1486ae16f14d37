"""Matching: for one listing, the listings on the other side that could serve it or that it could
serve, ranked by a score in 0-1 with reasons a person can judge without opening them.

The database finds and scores the candidates (``app.repositories.matching``: one statement per
kind, the hard rules and the score over the same components); this module decides who may ask,
which distances apply, pages, and turns each candidate's components into reasons in bokmål and
English. What each kind weighs, and how well the ranking does on a labelled set of real-world
cases, is in ``docs/matching.md``.

Hazardous waste (an EWC code with an asterisk) is only ever matched between an offer and a
wanted listing of an organization with a recorded waste permit (``organizations.waste_permit_*``,
``PUT /v1/organizations/{id}/waste-permit``): it is a hard rule of the statement, so it holds for
every caller and every page.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import MatchingSettings
from app.errors import ListingNotMatchableError, NotListingOwnerError
from app.models.listing import ListingKind, ListingStatus
from app.models.person import PlatformRole
from app.pagination import decode_cursor, encode_cursor, invalid_cursor
from app.render import sql_json
from app.repositories.matching import RULES, MatchRepository, MatchRow
from app.services import listing as listing_service
from app.services.alerts import anchor_for
from app.services.policy import Principal

Reason = dict[str, Any]

# Below this a match is noise more often than not (a neighbouring material of the same EWC
# chapter, an item of a broader category that shares no word); ``min_score=0`` shows all.
DEFAULT_MIN_SCORE = Decimal("0.25")

# Listings that can still find a match (a closed one has nothing left to match).
_OPEN = frozenset(
    {
        ListingStatus.DRAFT,
        ListingStatus.PENDING_REVIEW,
        ListingStatus.ACTIVE,
        ListingStatus.RESERVED,
        ListingStatus.EXPIRED,
    }
)


async def find_matches(
    session: AsyncSession,
    *,
    settings: MatchingSettings,
    principal: Principal,
    listing_id: uuid.UUID,
    cursor: str | None,
    limit: int,
    now: datetime,
    min_score: Decimal = DEFAULT_MIN_SCORE,
) -> bytes:
    """A page of matches for a listing its managers (or a moderator) ask about, as JSON."""
    listing = await listing_service.visible_listing(
        session, principal=principal, listing_id=listing_id
    )
    manages = await listing_service.manages_listing(session, principal=principal, listing=listing)
    if not (manages or principal.has_role(PlatformRole.MODERATOR)):
        raise NotListingOwnerError(
            "Only the listing's owner (or its organization) sees its matches."
        )
    if listing.kind not in RULES:
        raise ListingNotMatchableError(
            "Repair services are found by search, not matched; matches exist for items, "
            "materials, energy and space."
        )
    if ListingStatus(listing.status) not in _OPEN:
        raise ListingNotMatchableError(
            f"The listing is {listing.status}: only an open listing has matches."
        )
    after = _decode(cursor) if cursor is not None else None
    rows = await MatchRepository(session).matches(
        anchor_for(listing, settings),
        now=now,
        caller=await listing_service.caller_of(session, principal),
        after=after,
        limit=limit,
        min_score=min_score,
    )
    page = rows[:limit]
    next_cursor = (
        encode_cursor({"s": str(page[-1].score), "id": str(page[-1].id)})
        if len(rows) > limit
        else None
    )
    return sql_json.match_page(
        [(row.doc, _head(row, listing.kind)) for row in page], next_cursor=next_cursor
    )


def _decode(cursor: str) -> tuple[Decimal, uuid.UUID]:
    key = decode_cursor(cursor, required=("s", "id"))
    try:
        score = Decimal(str(key["s"]))
        if not score.is_finite():
            raise ValueError("score")
        return score, uuid.UUID(str(key["id"]))
    except (InvalidOperation, TypeError, ValueError):
        raise invalid_cursor() from None


def _head(row: MatchRow, kind: str) -> dict[str, Any]:
    components: dict[str, Any] = orjson.loads(row.components)
    return {
        "score": float(row.score),
        "distance_m": round(row.distance_m, 1),
        "reasons": [*_REASONS[kind](components), _distance(row.distance_m, components)],
    }


# --- reasons -----------------------------------------------------------------------------------


def _reason(code: str, fits: bool, nb: str, en: str) -> Reason:
    return {"code": code, "fits": fits, "text": {"nb": nb, "en": en}}


def _number(value: float | Decimal, *, nb: bool) -> str:
    """At most three decimals, trailing zeros dropped; a decimal comma in bokmål."""
    text = f"{float(value):,.3f}".rstrip("0").rstrip(".")
    if nb:
        return text.replace(",", " ").replace(".", ",")
    return text


def _ewc(code: str) -> str:
    return f"{code[:2]} {code[2:4]} {code[4:]}"


def _percent(share: float) -> str:
    return f"{round(100 * share)} %"


def _distance(distance_m: float, c: dict[str, Any]) -> Reason:
    km, limit = distance_m / 1000, float(c["limit_m"]) / 1000
    return _reason(
        "distance",
        True,
        f"{_number(round(km, 1), nb=True)} km unna (grense {_number(limit, nb=True)} km)",
        f"{_number(round(km, 1), nb=False)} km away (limit {_number(limit, nb=False)} km)",
    )


def _material(c: dict[str, Any]) -> list[Reason]:
    offer, wanted = c["offer_code"], c["wanted_code"]
    level = c["code_level"]
    if level == 3:
        reasons = [
            _reason(
                "ewc_exact",
                True,
                f"Samme avfallskode ({_ewc(offer)})",
                f"The same waste code ({_ewc(offer)})",
            )
        ]
    elif level == 2 and c["family"]:
        reasons = [
            _reason(
                "ewc_same_material",
                True,
                f"Samme materiale fra en annen kilde ({_ewc(offer)} mot {_ewc(wanted)})",
                f"The same material from another source ({_ewc(offer)} and {_ewc(wanted)})",
            )
        ]
    elif level == 2:
        reasons = [
            _reason(
                "ewc_subchapter",
                True,
                f"Samme underkapittel ({_ewc(offer)} mot {_ewc(wanted)})",
                f"The same sub-chapter ({_ewc(offer)} and {_ewc(wanted)})",
            )
        ]
    else:
        reasons = [
            _reason(
                "ewc_chapter",
                False,
                f"Bare samme kapittel ({_ewc(offer)} mot {_ewc(wanted)})",
                f"Only the same chapter ({_ewc(offer)} and {_ewc(wanted)})",
            )
        ]
    if c["hazardous"]:
        reasons.append(
            _reason(
                "hazardous_permit",
                True,
                "Farlig avfall: mottakeren har registrert tillatelse",
                "Hazardous waste: the receiver has a recorded permit",
            )
        )
    reasons.append(_quantity(c))
    same = c["offer_recurrence"] == c["wanted_recurrence"]
    reasons.append(
        _reason(
            "recurrence_same" if same else "recurrence_differs",
            same,
            "Begge er " + ("faste" if c["offer_recurrence"] == "recurring" else "engangs")
            if same
            else "Den ene er fast, den andre engangs",
            "Both are " + ("recurring" if c["offer_recurrence"] == "recurring" else "one-off")
            if same
            else "One is recurring, the other one-off",
        )
    )
    return reasons


def _quantity(c: dict[str, Any]) -> Reason:
    converted, needed, unit = c["offered_in_wanted_unit"], c["needed"], c["needed_unit"]
    offered, offered_unit = c["offered"], c["offered_unit"]
    if converted is None:
        return _reason(
            "quantity_incomparable",
            False,
            f"Mengdene kan ikke sammenlignes ({_number(offered, nb=True)} {offered_unit} mot "
            f"{_number(needed, nb=True)} {unit}; oppgi tetthet for å regne mellom vekt og volum)",
            f"The quantities do not compare ({_number(offered, nb=False)} {offered_unit} and "
            f"{_number(needed, nb=False)} {unit}; a density converts between mass and volume)",
        )
    share = min(1.0, float(converted) / float(needed)) if float(needed) > 0 else 1.0
    amount_nb = (
        f"{_number(converted, nb=True)} {unit} tilbys, {_number(needed, nb=True)} {unit} trengs"
    )
    amount_en = (
        f"{_number(converted, nb=False)} {unit} offered, {_number(needed, nb=False)} {unit} needed"
    )
    if share >= 1:
        return _reason(
            "quantity_covers",
            True,
            f"Dekker hele behovet ({amount_nb})",
            f"Covers the whole need ({amount_en})",
        )
    return _reason(
        "quantity_partial",
        share >= 0.25,
        f"Dekker {_percent(share)} av behovet ({amount_nb})",
        f"Covers {_percent(share)} of the need ({amount_en})",
    )


def _energy(c: dict[str, Any]) -> list[Reason]:
    reasons: list[Reason] = []
    offered_t, wanted_t = c["offer_temperature_c"], c["wanted_temperature_c"]
    if c["temperature_fits"] is None:
        if c["energy_type"] != "electricity":
            reasons.append(
                _reason(
                    "temperature_unknown",
                    False,
                    "Temperaturen er ikke oppgitt på begge sider",
                    "The temperature is not given on both sides",
                )
            )
    else:
        reasons.append(
            _reason(
                "temperature_fits",
                True,
                f"Leverer {_number(offered_t, nb=True)} °C, behovet er "
                f"{_number(wanted_t, nb=True)} °C",
                f"Supplies {_number(offered_t, nb=False)} °C for a need of "
                f"{_number(wanted_t, nb=False)} °C",
            )
        )
    shared, wanted_months = c["months_shared"], c["months_wanted"]
    reasons.append(
        _reason(
            "months_overlap",
            shared == wanted_months,
            f"Tilgjengelig {shared} av {wanted_months} måneder med behov",
            f"Available in {shared} of the {wanted_months} months needed",
        )
    )
    coverage = c["coverage"]
    if coverage is not None and coverage >= 1:
        reasons.append(
            _reason(
                "capacity_covers",
                True,
                f"Kapasiteten dekker behovet ({_number(c['offer_kw'], nb=True)} kW mot "
                f"{_number(c['wanted_kw'], nb=True)} kW)",
                f"The capacity covers the need ({_number(c['offer_kw'], nb=False)} kW for "
                f"{_number(c['wanted_kw'], nb=False)} kW)",
            )
        )
    else:
        share = float(coverage or 0)
        reasons.append(
            _reason(
                "capacity_partial",
                share >= 0.25,
                f"Dekker {_percent(share)} av behovet ({_number(c['offer_kw'], nb=True)} kW mot "
                f"{_number(c['wanted_kw'], nb=True)} kW)",
                f"Covers {_percent(share)} of the need ({_number(c['offer_kw'], nb=False)} kW "
                f"for {_number(c['wanted_kw'], nb=False)} kW)",
            )
        )
    return reasons


def _space(c: dict[str, Any]) -> list[Reason]:
    area, wanted = c["offer_area_m2"], c["wanted_area_m2"]
    low, high = c["wanted_min_m2"], c["wanted_max_m2"]
    covered = bool(c["period_covered"])
    return [
        _reason("space_type", True, "Samme type lokale", "The same type of space"),
        _reason(
            "area_fits",
            True,
            f"{_number(area, nb=True)} m² (ønsket {_number(wanted, nb=True)} m², "
            f"{_number(low, nb=True)}-{_number(high, nb=True)} m²)",
            f"{_number(area, nb=False)} m² (wanted {_number(wanted, nb=False)} m², "
            f"{_number(low, nb=False)}-{_number(high, nb=False)} m²)",
        ),
        _reason(
            "period_covers" if covered else "period_overlaps",
            covered,
            "Ledig i hele den ønskede perioden" if covered else "Ledig i bare deler av perioden",
            "Free for the whole period wanted" if covered else "Free for part of the period only",
        ),
    ]


def _item(c: dict[str, Any]) -> list[Reason]:
    level = c["category_level"]
    reasons = [
        {
            3: _reason("category_same", True, "Samme kategori", "The same category"),
            2: _reason(
                "category_narrower",
                True,
                "I en underkategori av det som ønskes",
                "In a sub-category of what is wanted",
            ),
            1: _reason(
                "category_broader",
                False,
                "I en bredere kategori enn det som ønskes",
                "In a broader category than what is wanted",
            ),
        }[level]
    ]
    similarity = float(c["text_similarity"])
    similar = similarity >= 0.3
    reasons.append(
        _reason(
            "text_similar" if similar else "text_different",
            similar,
            "Tittelen ligner på det som ønskes" if similar else "Tittelen ligner lite",
            "The title resembles what is wanted" if similar else "The titles differ",
        )
    )
    fits = c["condition_fits"]
    if fits is None:
        reasons.append(
            _reason(
                "condition_unknown",
                False,
                "Tilstanden er ikke oppgitt på begge sider",
                "The condition is not given on both sides",
            )
        )
    else:
        reasons.append(
            _reason(
                "condition_fits" if fits else "condition_worse",
                bool(fits),
                "Tilstanden er minst som ønsket" if fits else "Dårligere tilstand enn ønsket",
                "In at least the condition wanted" if fits else "In worse condition than wanted",
            )
        )
    return reasons


_REASONS: dict[str, Callable[[dict[str, Any]], list[Reason]]] = {
    ListingKind.MATERIAL: _material,
    ListingKind.ENERGY: _energy,
    ListingKind.SPACE: _space,
    ListingKind.ITEM: _item,
}
