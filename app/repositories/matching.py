"""The statements behind ``GET /v1/listings/{id}/matches``: for one listing (the anchor), the
active, visible listings on the other side — offers for a wanted listing, wanted listings for an
offer — that could serve it or that it could serve, each scored in SQL.

One statement per kind. Every statement has the same shape:

* ``a``: the anchor, one row, with its public point as geography;
* the candidates: active, visible, unexpired listings of the same kind on the other side, not
  the anchor's owner's, not the caller's, not a person blocked by or blocking the anchor's owner,
  within the distance limit — the smaller of the two listings' ``details.max_distance_km``, a
  listing that states none taking its kind's default (``MatchingSettings``). The limit is never
  more than the anchor's own, so ``ST_DWithin`` with the anchor's radius bounds the index scan
  (a bitmap scan of the kind's ``ix_listings_match_<kind>`` on (key, mode, point), one probe
  per candidate key: the EWC codes, categories, energy or space type that can score at all,
  looked up first by ``MatchRepository.candidate_keys``);
* ``x``: the kind's components (a ``LATERAL`` row), which the hard rules filter on, the score
  sums with weights, and the service turns into reasons (``app.services.matching``);
* the page: ``(score, id)`` descending, keyset-paged, and the listing JSON built only for it.

Inside the kind's SQL ``{o}`` is the offer and ``{w}`` the wanted listing: ``a`` or ``l`` (the
candidate), whichever side the anchor is on. Distances are between public points (a person's
listing is blurred, as everywhere), on the sphere as search measures them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import Float, Numeric, Text, Uuid

from app.repositories.listing import (
    LISTING_JOINS,
    PUBLIC_POINT,
    SEARCHABLE,
    Caller,
    listing_json_sql,
    with_caller,
)


@dataclass(frozen=True, slots=True)
class KindRules:
    """What a kind's matching adds to the common statement: the components (SQL expressions
    over ``{o}``, ``{w}``, ``a``, ``l`` and ``d``, the distance in metres, and ``lim``, the
    limit in metres), the hard rules over them (``x.<name>``), and the score (weights summing
    to 1, over ``x.<name>``)."""

    components: tuple[tuple[str, str], ...]
    rules: tuple[str, ...]
    score: str
    # Extra joins for the candidate (``l``) before the components.
    joins: str = ""
    # What the candidate's value must be among the anchor's candidate keys
    # (``MatchRepository.candidate_keys``: the EWC codes or categories that can score at all,
    # the energy or space type), an expression over ``l``: the leading column of the kind's
    # GiST index ``ix_listings_match_<kind>`` on (key, mode, public point), read with a bitmap
    # scan per key.
    key: str = ""
    # Compute the components once per candidate behind an optimisation fence (``OFFSET 0``
    # keeps PostgreSQL from pulling the LATERAL row up into the statement, where every use in
    # the rules, the score and the reasons would evaluate it again). Worth it where
    # components are subqueries (energy's shared months, items' words); elsewhere pulling up
    # lets the cheap distance filter into the index scan (measured in bench/matching.py).
    fence: bool = False
    # The weight of nearness in the score. Every other part of a score is at most 1 and the
    # weights sum to 1, so a candidate farther than r from the anchor scores below
    # 1 - distance_weight * r / radius (its distance score is 1 - d / limit, and its limit is
    # never more than the anchor's radius): what lets ``MatchRepository.matches`` look
    # nearer first and stop there.
    distance_weight: Decimal = Decimal(0)
    # The parts of the radius ``MatchRepository.matches`` looks within, in turn (the last is
    # all of it). Only where the first ring usually settles the page: with a small distance
    # weight, or words that can outweigh nearness (items), a failed ring is wasted work.
    rings: tuple[float, ...] = (1.0,)


def _detail(side: str, key: str, cast: str) -> str:
    return f"NULLIF({side}.details ->> '{key}', '')::{cast}"


def _share(part: str, whole: str) -> str:
    """``part / whole`` capped at 1, NULL when either is unknown. Not ``least(1, part / whole)``
    alone: PostgreSQL's LEAST and GREATEST skip NULL arguments, so an unknown share would
    count as a whole one."""
    return (
        f"(CASE WHEN ({part}) IS NOT NULL AND ({whole}) > 0 "
        f"THEN least(1, ({part}) / ({whole})) END)"
    )


_DISTANCE_SCORE = "greatest(0, 1 - x.distance_m / x.limit_m)"
_MONTHS = "coalesce({s}.details -> 'months_available', '[1,2,3,4,5,6,7,8,9,10,11,12]'::jsonb)"

# The same material from another origin: packaging, construction, sorting plants and municipal
# collection give the same paper, wood, plastic, glass or metal under codes of different
# chapters. A buyer of the one takes the other, so a family counts as a sub-chapter does.
MATERIAL_FAMILIES: dict[str, tuple[str, ...]] = {
    "paper": ("030308", "150101", "191201", "200101"),
    "wood": ("150103", "170201", "191207", "200138"),
    "plastic": ("150102", "170203", "191204", "200139"),
    "glass": ("150107", "170202", "191205", "200102"),
    "metal": ("150104", "170405", "170407", "191202", "191203", "200140"),
}
_FAMILY_OF = {code: name for name, codes in MATERIAL_FAMILIES.items() for code in codes}


def _family_sql(code: str) -> str:
    """The material family of an EWC code column, as SQL (NULL when it has none)."""
    whens = " ".join(
        f"WHEN {code} IN ({', '.join(repr(c) for c in codes)}) THEN '{name}'"
        for name, codes in MATERIAL_FAMILIES.items()
    )
    return f"(CASE {whens} END)"


def family_codes(code: str | None) -> list[str]:
    """The codes of the same material family as ``code`` (none when it has no family)."""
    family = _FAMILY_OF.get(code or "")
    return list(MATERIAL_FAMILIES[family]) if family is not None else []


# The factor of a material of the same chapter only: its score cannot exceed it, so a minimum
# score above it leaves the chapter out of the candidates (``MatchRepository.candidate_keys``).
CHAPTER_ONLY = Decimal("0.2")

MATERIAL = KindRules(
    distance_weight=Decimal("0.50"),
    rings=(0.125, 0.5, 1.0),
    # A lateral lookup, not a join: with a join the planner, expecting one candidate, scans
    # ewc_codes once per candidate.
    joins=(
        "CROSS JOIN LATERAL (SELECT ec.hazardous FROM ewc_codes AS ec "
        "WHERE ec.code = l.ewc_code) AS lc "
        "LEFT JOIN organizations AS lo ON lo.id = l.owner_organization_id"
    ),
    key="l.ewc_code",
    components=(
        (
            # 3: the same code; 2: the same sub-chapter, unless the two are known to be
            # different materials (15 01 is packaging of paper, wood, plastic…); 2 also for
            # the same material family (``family``); 1: the same chapter only.
            "code_level",
            "CASE WHEN {o}.ewc_code = {w}.ewc_code THEN 3 "
            "WHEN l.ewc_code = ANY(:family_codes) THEN 2 "
            "WHEN left({o}.ewc_code, 4) = left({w}.ewc_code, 4) AND NOT coalesce("
            + _family_sql("{o}.ewc_code")
            + " <> "
            + _family_sql("{w}.ewc_code")
            + ", false) THEN 2 ELSE 1 END",
        ),
        (
            "family",
            "{o}.ewc_code <> {w}.ewc_code AND left({o}.ewc_code, 4) <> left({w}.ewc_code, 4) "
            "AND l.ewc_code = ANY(:family_codes)",
        ),
        ("offer_code", "{o}.ewc_code"),
        ("wanted_code", "{w}.ewc_code"),
        ("hazardous", "{oc}.hazardous"),
        ("permit", "{wo}.waste_permit_verified_at IS NOT NULL"),
        ("offered", "trim_scale({o}.quantity - {o}.quantity_committed)"),
        ("offered_unit", "{o}.unit"),
        (
            "offered_in_wanted_unit",
            "round(sirkel_quantity_in({o}.quantity - {o}.quantity_committed, {o}.unit, {w}.unit, "
            f"coalesce({_detail('{o}', 'density_kg_per_m3', 'numeric')}, "
            f"{_detail('{w}', 'density_kg_per_m3', 'numeric')})), 3)",
        ),
        ("needed", "trim_scale({w}.quantity)"),
        ("needed_unit", "{w}.unit"),
        (
            "offer_recurrence",
            "coalesce({o}.details ->> 'recurrence', 'one_off')",
        ),
        (
            "wanted_recurrence",
            "coalesce({w}.details ->> 'recurrence', 'one_off')",
        ),
    ),
    # Hazardous waste may only go to an approved receiver (avfallsforskriften kap. 11).
    rules=("(NOT x.hazardous OR x.permit)",),
    # What the material is gates the rest: a neighbour in the chapter (soil for concrete) never
    # outranks the right material, however near or plentiful.
    score=(
        f"CASE x.code_level WHEN 3 THEN 1 WHEN 2 THEN 0.7 ELSE {CHAPTER_ONLY} END * ("
        f"0.35 * coalesce({_share('x.offered_in_wanted_unit', 'x.needed')}, 0) "
        "+ 0.15 * CASE WHEN x.offer_recurrence = x.wanted_recurrence THEN 1 ELSE 0.5 END "
        f"+ 0.50 * {_DISTANCE_SCORE})"
    ),
)

# Heat and steam must come at least as hot as needed; cooling at least as cold.
_TEMPERATURE_FITS = (
    "CASE WHEN {o}.details ->> 'energy_type' IN ('heat', 'steam') "
    f"THEN {_detail('{o}', 'temperature_c', 'float8')} >= "
    f"{_detail('{w}', 'temperature_c', 'float8')} "
    "WHEN {o}.details ->> 'energy_type' = 'cooling' "
    f"THEN {_detail('{o}', 'temperature_c', 'float8')} <= "
    f"{_detail('{w}', 'temperature_c', 'float8')} END"
)

ENERGY = KindRules(
    distance_weight=Decimal("0.25"),
    fence=True,
    key="(l.details ->> 'energy_type')",
    components=(
        ("energy_type", "{o}.details ->> 'energy_type'"),
        ("offer_temperature_c", _detail("{o}", "temperature_c", "float8")),
        ("wanted_temperature_c", _detail("{w}", "temperature_c", "float8")),
        ("temperature_fits", _TEMPERATURE_FITS),
        (
            "months_shared",
            "(SELECT count(*) FROM jsonb_array_elements("
            + _MONTHS.format(s="{o}")
            + ") AS om(m) WHERE "
            + _MONTHS.format(s="{w}")
            + " @> jsonb_build_array(om.m))",
        ),
        ("months_wanted", "jsonb_array_length(" + _MONTHS.format(s="{w}") + ")"),
        ("offer_kw", _detail("{o}", "capacity_kw", "float8")),
        ("wanted_kw", _detail("{w}", "capacity_kw", "float8")),
        ("offer_mwh", _detail("{o}", "mwh_per_year", "float8")),
        ("wanted_mwh", _detail("{w}", "mwh_per_year", "float8")),
        (
            # The share of the need covered: by capacity, or by yearly energy when both say.
            "coverage",
            # GREATEST skips the NULL of an unknown MWh share.
            "greatest("
            + _share(
                _detail("{o}", "capacity_kw", "float8"), _detail("{w}", "capacity_kw", "float8")
            )
            + ", "
            + _share(
                _detail("{o}", "mwh_per_year", "float8"), _detail("{w}", "mwh_per_year", "float8")
            )
            + ")",
        ),
        ("min_share", _detail("{w}", "min_share", "float8")),
    ),
    rules=(
        "x.temperature_fits IS NOT FALSE",
        "x.months_shared > 0",
        "coalesce(x.coverage, 0) >= coalesce(x.min_share, 0)",
    ),
    score=(
        "0.25 * CASE WHEN x.temperature_fits THEN 1 ELSE 0.5 END "
        "+ 0.20 * x.months_shared::float8 / greatest(x.months_wanted, 1) "
        "+ 0.30 * coalesce(x.coverage, 0) "
        f"+ 0.25 * {_DISTANCE_SCORE}"
    ),
)

# A space's period; a missing end is open (``daterange`` takes NULL as unbounded).
_PERIOD = (
    "daterange("
    + _detail("{s}", "available_from", "date")
    + ", "
    + _detail("{s}", "available_to", "date")
    + ", '[]')"
)

SPACE = KindRules(
    distance_weight=Decimal("0.40"),
    key="(l.details ->> 'space_type')",
    components=(
        ("space_type", "{o}.details ->> 'space_type'"),
        ("offer_area_m2", _detail("{o}", "area_m2", "float8")),
        ("wanted_area_m2", _detail("{w}", "area_m2", "float8")),
        (
            "wanted_min_m2",
            f"coalesce({_detail('{w}', 'area_min_m2', 'float8')}, "
            f"0.8 * {_detail('{w}', 'area_m2', 'float8')})",
        ),
        (
            "wanted_max_m2",
            f"coalesce({_detail('{w}', 'area_max_m2', 'float8')}, "
            f"1.5 * {_detail('{w}', 'area_m2', 'float8')})",
        ),
        ("periods_overlap", _PERIOD.format(s="{o}") + " && " + _PERIOD.format(s="{w}")),
        ("period_covered", _PERIOD.format(s="{o}") + " @> " + _PERIOD.format(s="{w}")),
    ),
    rules=(
        "x.offer_area_m2 BETWEEN x.wanted_min_m2 AND x.wanted_max_m2",
        "x.periods_overlap",
    ),
    score=(
        "0.40 * greatest(0, 1 - abs(x.offer_area_m2 - x.wanted_area_m2) "
        "/ nullif(x.wanted_area_m2, 0)) "
        "+ 0.20 * CASE WHEN x.period_covered THEN 1 ELSE 0.5 END "
        f"+ 0.40 * {_DISTANCE_SCORE}"
    ),
)

_CONDITION_RANK = (
    "CASE {s}.details ->> 'condition' WHEN 'new' THEN 5 WHEN 'as_new' THEN 4 WHEN 'good' THEN 3 "
    "WHEN 'fair' THEN 2 WHEN 'for_parts' THEN 1 END"
)

ITEM = KindRules(
    distance_weight=Decimal("0.40"),
    fence=True,
    joins="JOIN categories AS lcat ON lcat.slug = l.category_slug",
    key="l.category_slug",
    components=(
        ("offer_category", "{o}.category_slug"),
        ("wanted_category", "{w}.category_slug"),
        (
            # 3: the same category; 2: the offer's is under the wanted one; 1: above it.
            "category_level",
            "CASE WHEN {o}.category_slug = {w}.category_slug THEN 3 "
            "WHEN {ocat}.path @> ARRAY[{w}.category_slug] THEN 2 ELSE 1 END",
        ),
        (
            # The share of the wanted title's words (normalised as search does: plurals,
            # definite forms, compounds) found in the offer's title and description; the
            # titles' trigram similarity when the wanted title has no words to search for.
            "text_similarity",
            "round(coalesce((SELECT avg(CASE WHEN EXISTS ("
            "SELECT 1 FROM unnest(string_to_array(t.term, ' ')) AS st(stem) "
            "WHERE {o}.search_text LIKE '%' || st.stem || ' %') THEN 1 ELSE 0 END) "
            "FROM unnest({wterms}) AS t(term)), "
            "similarity(sirkel_search_text({o}.title, ''), "
            "sirkel_search_text({w}.title, '')))::numeric, 3)",
        ),
        ("offer_condition", "{o}.details ->> 'condition'"),
        ("wanted_condition", "{w}.details ->> 'condition'"),
        (
            "condition_fits",
            _CONDITION_RANK.format(s="{o}") + " >= " + _CONDITION_RANK.format(s="{w}"),
        ),
        ("offer_mode", "{o}.mode"),
    ),
    rules=(),
    score=(
        "CASE x.category_level WHEN 3 THEN 1 WHEN 2 THEN 0.8 ELSE 0.4 END * ("
        "0.45 * x.text_similarity "
        "+ 0.15 * CASE WHEN x.condition_fits THEN 1 WHEN x.condition_fits IS NULL THEN 0.5 "
        "ELSE 0 END "
        f"+ 0.40 * {_DISTANCE_SCORE})"
    ),
)

RULES: dict[str, KindRules] = {
    "material": MATERIAL,
    "energy": ENERGY,
    "space": SPACE,
    "item": ITEM,
}

# What the anchor needs from its own side (``a``), by the names the kinds' SQL uses.
_ANCHOR_JOINS = (
    "LEFT JOIN ewc_codes AS ac ON ac.code = a0.ewc_code "
    "LEFT JOIN organizations AS ao ON ao.id = a0.owner_organization_id "
    "LEFT JOIN categories AS acat ON acat.slug = a0.category_slug"
)

_MANAGES = "(l.owner_person_id = :caller_person OR l.owner_organization_id = ANY(:caller_orgs))"


@dataclass(frozen=True, slots=True)
class Anchor:
    """The listing matches are found for."""

    id: uuid.UUID
    kind: str
    wanted: bool
    # The anchor's own limit in metres (its max_distance_km or the kind's default) and the
    # kind's default for candidates that state none.
    radius_m: float
    default_m: float
    ewc_code: str | None = None
    category_slug: str | None = None
    # The energy type of an energy listing, the space type of a space.
    detail_type: str | None = None


def _sides(*, anchor_wanted: bool) -> dict[str, str]:
    """The placeholders for the offer (``o``) and the wanted side (``w``), and for what each
    needs from its joins: the offer's EWC code (``oc``) and category (``ocat``), the wanted
    side's organization (``wo``) and title's search terms (``wterms``: the anchor's are
    computed once, in ``a``). The anchor carries its own in ``a``."""
    if anchor_wanted:
        return {"o": "l", "w": "a", "oc": "lc", "wo": "a", "ocat": "lcat", "wterms": "a.terms"}
    return {
        "o": "a",
        "w": "l",
        "oc": "a",
        "wo": "lo",
        "ocat": "a",
        "wterms": "sirkel_search_terms(l.title)",
    }


def match_statement(
    anchor: Anchor,
    *,
    now: datetime,
    caller: Caller,
    after: tuple[Decimal, uuid.UUID] | None,
    limit: int,
    documents: bool = True,
    min_score: Decimal = Decimal(0),
    keys: list[str] | None,
    scan_m: float | None = None,
) -> Any:
    """Scored candidates for ``anchor``, best first; ``limit + 1`` rows (to tell whether more
    follow), each ``doc`` (the listing JSON at its public point), ``k_id``, ``k_score``,
    ``k_distance`` and ``k_components`` (JSON text). ``keys``: the candidates' EWC codes or
    categories for the kinds that have them (``MatchRepository.candidate_keys``). ``scan_m``:
    only candidates this near (the anchor's radius by default; ``MatchRepository.matches``
    looks nearer first).

    The kind is written into the statement, not bound: the kinds' partial indexes apply only
    when the planner can prove ``l.kind = '<kind>'`` (a generic plan for a bound kind
    could not)."""
    rules = RULES[anchor.kind]
    if keys is None:
        raise ValueError(f"matching {anchor.kind} needs the candidate keys")
    sides = _sides(anchor_wanted=anchor.wanted)
    components = ", ".join(f"{expr.format(**sides)} AS {name}" for name, expr in rules.components)
    component_json = ", ".join(f"'{name}', x.{name}" for name, _ in rules.components)
    modes = "l.mode = 'wanted'" if not anchor.wanted else "l.mode <> 'wanted'"
    candidate = [
        SEARCHABLE,
        f"l.kind = '{anchor.kind}'",
        modes,
        "l.id <> a.id",
        "l.owner_person_id IS DISTINCT FROM a.owner_person_id OR l.owner_person_id IS NULL",
        "l.owner_organization_id IS DISTINCT FROM a.owner_organization_id "
        "OR l.owner_organization_id IS NULL",
        f"NOT coalesce({_MANAGES}, false)",
        "NOT EXISTS (SELECT 1 FROM blocks AS b WHERE "
        "(b.blocker_person_id = a.owner_person_id AND b.blocked_person_id = l.owner_person_id) "
        "OR (b.blocker_person_id = l.owner_person_id AND b.blocked_person_id = a.owner_person_id))",
        "ST_DWithin(l.public_geom::geography, a.g, :scan_m, false)",
        f"{rules.key} = ANY(:keys)",
    ]
    where_page = ["x.distance_m <= x.limit_m", *rules.rules]
    scored = (
        "SELECT l.id AS k_id, x.distance_m AS k_distance, "
        f"round(({rules.score})::numeric, 4) AS k_score, "
        f"json_build_object({component_json}, 'limit_m', x.limit_m)::text AS k_components "
        f"FROM a JOIN listings AS l ON {' AND '.join(f'({c})' for c in candidate)} "
        f"{rules.joins} "
        "CROSS JOIN LATERAL (SELECT "
        "ST_Distance(l.public_geom::geography, a.g, false) AS distance_m, "
        "least(:radius_m, coalesce(1000 * "
        + _detail("l", "max_distance_km", "float8")
        + ", :default_m)) AS limit_m, "
        f"{components}{' OFFSET 0' if rules.fence else ''}) AS x "
        f"WHERE {' AND '.join(where_page)}"
    )
    scored = f"SELECT * FROM ({scored}) AS c WHERE c.k_score >= :min_score"
    after_clause = ""
    params: dict[str, Any] = {
        "anchor": anchor.id,
        "now": now,
        "radius_m": anchor.radius_m,
        "scan_m": anchor.radius_m if scan_m is None else scan_m,
        "default_m": anchor.default_m,
        "limit": limit + 1,
        "min_score": min_score,
    }
    if anchor.kind == "material":
        params["family_codes"] = family_codes(anchor.ewc_code)
    params["keys"] = keys
    if after is not None:
        after_clause = "WHERE (s.k_score, s.k_id) < (:after_score, :after_id)"
        params.update(after_score=after[0], after_id=after[1])
    # Alerts need the pairs only, not the documents.
    doc = listing_json_sql(PUBLIC_POINT) if documents else "NULL::json"
    sql = (
        "WITH a AS (SELECT a0.*, a0.public_geom::geography AS g, ac.hazardous, "
        "ao.waste_permit_verified_at, acat.path, sirkel_search_terms(a0.title) AS terms "
        f"FROM listings AS a0 {_ANCHOR_JOINS} WHERE a0.id = :anchor), "
        f"scored AS ({scored}), "
        f"page AS (SELECT * FROM scored AS s {after_clause} "
        "ORDER BY s.k_score DESC, s.k_id DESC LIMIT :limit) "
        f"SELECT {doc}::text AS doc, page.k_id, page.k_score, page.k_distance, page.k_components "
        f"FROM page JOIN listings AS l ON l.id = page.k_id {LISTING_JOINS} "
        "ORDER BY page.k_score DESC, page.k_id DESC"
    )
    stmt = text(sql).bindparams(
        bindparam("radius_m", type_=Float),
        bindparam("scan_m", type_=Float),
        bindparam("default_m", type_=Float),
        bindparam("min_score", type_=Numeric),
        *([bindparam("family_codes", type_=ARRAY(Text))] if anchor.kind == "material" else []),
        bindparam("keys", type_=ARRAY(Text)),
        *([bindparam("after_score", type_=Numeric)] if after is not None else []),
    )
    stmt = stmt.bindparams(**params)
    if documents:
        return with_caller(stmt, caller)
    # Without the documents only the candidate filter reads the caller.
    return stmt.bindparams(
        bindparam("caller_person", caller.person_id, type_=Uuid),
        bindparam("caller_orgs", list(caller.organization_ids), type_=ARRAY(Uuid)),
    )


@dataclass(frozen=True, slots=True)
class MatchRow:
    doc: bytes
    id: uuid.UUID
    score: Decimal
    distance_m: float
    components: str


class MatchRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def candidate_keys(self, anchor: Anchor, *, min_score: Decimal) -> list[str]:
        """What a candidate of ``anchor`` must have (``KindRules.key``) to score
        ``min_score``: for a material an EWC code of its sub-chapter or material family, or
        of the rest of its chapter when the minimum allows a chapter-only match; for an item
        its category, a category under it or one above it; for energy and space the same
        energy or space type."""
        if anchor.kind == "material":
            rows = await self.session.execute(
                text(
                    "SELECT code FROM ewc_codes WHERE left(code, 4) = left(:code, 4) "
                    "OR code = ANY(:family) OR (:chapter AND left(code, 2) = left(:code, 2))"
                ).bindparams(bindparam("family", type_=ARRAY(Text))),
                {
                    "code": anchor.ewc_code or "",
                    "family": family_codes(anchor.ewc_code),
                    "chapter": min_score <= CHAPTER_ONLY,
                },
            )
            return list(rows.scalars())
        if anchor.kind == "item":
            rows = await self.session.execute(
                text(
                    "SELECT c.slug FROM categories AS c, categories AS ac WHERE ac.slug = :slug "
                    "AND (c.path @> ARRAY[ac.slug] OR c.slug = ANY(ac.path))"
                ),
                {"slug": anchor.category_slug or ""},
            )
            return list(rows.scalars())
        return [anchor.detail_type] if anchor.detail_type is not None else []

    async def matches(
        self,
        anchor: Anchor,
        *,
        now: datetime,
        caller: Caller,
        after: tuple[Decimal, uuid.UUID] | None,
        limit: int,
        documents: bool = True,
        min_score: Decimal = Decimal(0),
    ) -> list[MatchRow]:
        """The page: ``limit + 1`` rows at most, best first, exactly as one statement over the
        anchor's whole radius would give them.

        Nearer first: the statement runs over the kind's ``rings`` of the radius in turn and stops
        at the first ring whose page is full and whose last score is above what any candidate
        beyond the ring can reach (``KindRules.distance_weight``). Where offers are dense —
        hundreds of wood offers within 150 km of Oslo — the page is settled within the first
        ring, an eighth of the radius and a sixty-fourth of its area; where they are sparse,
        every ring is cheap."""
        rules = RULES[anchor.kind]
        keys = await self.candidate_keys(anchor, min_score=min_score)
        radius = anchor.radius_m
        for fraction in rules.rings:
            scan_m = radius * fraction
            stmt = match_statement(
                anchor,
                now=now,
                caller=caller,
                after=after,
                limit=limit,
                documents=documents,
                min_score=min_score,
                keys=keys,
                scan_m=scan_m,
            )
            rows = (await self.session.execute(stmt)).all()
            if fraction >= 1:
                break
            # Beyond the ring a score stays below this; rounded to 4 places it may reach it.
            beyond = 1 - rules.distance_weight * Decimal(str(fraction)) + Decimal("0.0001")
            if len(rows) > limit and rows[-1].k_score > beyond:
                break
        return [
            MatchRow(
                doc=row.doc.encode() if row.doc is not None else b"null",
                id=row.k_id,
                score=row.k_score,
                distance_m=row.k_distance,
                components=row.k_components,
            )
            for row in rows
        ]
