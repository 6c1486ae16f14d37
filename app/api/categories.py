"""/v1/categories — the taxonomy of what is offered, in bokmål or English."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Response

from app.api.media import JSON
from app.db import SessionDep
from app.errors import CategoryNotFoundError, problem_responses
from app.models.category import SLUG_MAX_LENGTH, SLUG_PATTERN
from app.schemas.category import CategoryRead, CategoryTree, Language
from app.services import category as service

router = APIRouter(prefix="/v1/categories", tags=["categories"])

# The taxonomy changes with a deployment at most; an hour keeps clients and CDNs fresh enough.
CATEGORY_CACHE_CONTROL = "public, max-age=3600"
DEFAULT_LANGUAGE = Language.NB
# Primary language subtags and the names they get: Norwegian in any written form reads bokmål
# (there are no nynorsk names yet).
_LANGUAGE_OF_SUBTAG = {
    "nb": Language.NB,
    "no": Language.NB,
    "nn": Language.NB,
    "en": Language.EN,
}
_LANGUAGE_RANGE = re.compile(r"^(\*|[a-z]{1,8}(-[a-z0-9]{1,8})*)$")
_MAX_RANGES = 32

_RESPONSE_HEADERS: dict[str, Any] = {
    "Content-Language": {
        "description": "The language of `name`: `nb` (bokmål) or `en`",
        "schema": {"type": "string", "enum": [lang.value for lang in Language]},
    },
    "Vary": {"description": "`Accept-Language`", "schema": {"type": "string"}},
    "Cache-Control": {"description": CATEGORY_CACHE_CONTROL, "schema": {"type": "string"}},
}

AcceptLanguageHeader = Annotated[
    str | None,
    Header(
        description="Language of `name` (RFC 9110 §12.5.4, q-values honoured): `nb`, `no` and "
        "`nn` give bokmål, `en` English; anything else, or nothing, gives bokmål. `names` "
        "always carries both.",
        examples=["en-GB,en;q=0.9,nb;q=0.5"],
    ),
]
SlugPath = Annotated[
    str,
    Path(
        pattern=SLUG_PATTERN,
        max_length=SLUG_MAX_LENGTH,
        description="Category slug (lowercase ASCII kebab-case)",
        examples=["laptops"],
    ),
]


def _parse_q(params: list[str]) -> float:
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                q = float(value)
            except ValueError:
                return 0.0
            return max(0.0, min(1.0, q)) if q == q else 0.0  # NaN is not a weight
    return 1.0


def negotiate_language(header: str | None) -> Language:
    """The supported language the client prefers, by ``Accept-Language``.

    Each language takes the q of the most specific range that names it (its primary subtag:
    ``en-GB`` counts for English) or else of ``*``; the highest q above 0 wins, then the range
    listed first, then bokmål. When the client accepts neither, bokmål — never a 406: a name
    in the wrong language beats no answer.
    """
    if not header:
        return DEFAULT_LANGUAGE
    ranges: list[tuple[str, float]] = []
    for part in header.split(",")[:_MAX_RANGES]:
        tag, *params = (p.strip() for p in part.split(";"))
        tag = tag.lower()
        if _LANGUAGE_RANGE.match(tag):
            ranges.append((tag, _parse_q(params)))
    best: tuple[float, int, int] | None = None
    choice = DEFAULT_LANGUAGE
    for rank, language in enumerate(Language):
        matches = [
            (2 if tag != "*" else 1, q, -index)
            for index, (tag, q) in enumerate(ranges)
            if tag == "*" or _LANGUAGE_OF_SUBTAG.get(tag.split("-", 1)[0]) is language
        ]
        if not matches:
            continue
        _, q, position = max(matches)
        if q <= 0:
            continue
        key = (q, position, -rank)
        if best is None or key > best:
            best, choice = key, language
    return choice


def _headers(language: Language) -> dict[str, str]:
    return {
        "Cache-Control": CATEGORY_CACHE_CONTROL,
        "Content-Language": language.value,
        "Vary": "Accept-Language",
    }


@router.get(
    "",
    summary="The category tree",
    response_model=CategoryTree,
    description="Every category, nested under `children` and ordered for display, with its "
    "name in the negotiated language (`Accept-Language`; bokmål by default), both names, and "
    "the impact mapping: the reuse-factor product category (kg and CO2e) and, for electrical "
    "items, the Open Repair Data Standard product category. Slugs are stable: store them.",
    responses={200: {"headers": _RESPONSE_HEADERS}, **problem_responses(500)},
)
async def list_categories(
    session: SessionDep, accept_language: AcceptLanguageHeader = None
) -> Response:
    language = negotiate_language(accept_language)
    tree = await service.get_tree(session, language=language)
    return Response(content=tree.model_dump_json(), media_type=JSON, headers=_headers(language))


@router.get(
    "/{slug}",
    summary="One category with its breadcrumb and sub-tree",
    response_model=CategoryRead,
    description="The category, its `ancestors` from the top level down (the breadcrumb) and "
    "all its sub-categories under `children`. Names as in the tree.",
    responses={
        200: {"headers": _RESPONSE_HEADERS},
        **problem_responses(CategoryNotFoundError, 422),
    },
)
async def get_category(
    session: SessionDep, slug: SlugPath, accept_language: AcceptLanguageHeader = None
) -> Response:
    language = negotiate_language(accept_language)
    category = await service.get_category(session, slug=slug, language=language)
    return Response(content=category.model_dump_json(), media_type=JSON, headers=_headers(language))
