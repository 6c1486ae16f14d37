"""/v1/categories: the shipped taxonomy, language negotiation, one category, sub-trees."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.categories import negotiate_language
from app.config import PROJECT_ROOT
from app.models import Category
from app.repositories.category import subtree_slugs_query
from app.schemas.category import Language
from app.services.category import descendant_slugs

DATA = PROJECT_ROOT / "data"
# The unpowered product categories of The Restart Project's reuse factors; every other one is
# electrical or electronic (EEE) and belongs in Open Repair Data exports.
NON_EEE_REUSE_FACTORS = {
    "Bicycle",
    "Clothing/textile",
    "Furniture",
    "Jewellery",
    "Misc (non-EEE)",
    "Tool (non-EEE)",
}
# Powered, but no reuse-factor category fits better than the unpowered one.
POWERED_WITH_UNPOWERED_FACTOR = {"e-bikes"}


def _csv(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _walk(nodes: list[dict[str, Any]], parent: str | None = None) -> Iterator[dict[str, Any]]:
    for node in nodes:
        assert node["parent_slug"] == parent
        yield node
        yield from _walk(node["children"], node["slug"])


@pytest.fixture(scope="module")
def shipped() -> dict[str, dict[str, str]]:
    return {row["slug"]: row for row in _csv("categories.csv")}


async def _tree(client: httpx.AsyncClient, **headers: str) -> httpx.Response:
    response = await client.get("/v1/categories", headers=headers)
    assert response.status_code == 200, response.text
    return response


# --- the tree ------------------------------------------------------------------------------


async def test_tree_holds_every_shipped_category_once_under_its_parent(
    client: httpx.AsyncClient, shipped: dict[str, dict[str, str]]
) -> None:
    body = (await _tree(client)).json()
    nodes = list(_walk(body["items"]))
    slugs = [n["slug"] for n in nodes]
    # Reachable from the roots, each once: every parent exists and there is no cycle.
    assert len(slugs) == len(set(slugs)) == len(shipped)
    assert set(slugs) == set(shipped)
    assert 80 <= len(slugs) <= 140
    assert {n["slug"] for n in body["items"]} >= {
        "furniture",
        "clothing-and-textiles",
        "electronics",
        "household-appliances",
        "bikes",
        "sports-and-outdoors",
        "children",
        "books-and-media",
        "building-materials",
        "musical-instruments",
        "other",
    }
    for node in nodes:
        row = shipped[node["slug"]]
        assert node["parent_slug"] == (row["parent_slug"] or None)
        assert node["names"] == {"nb": row["name_nb"], "en": row["name_en"]}
        assert node["name"] == row["name_nb"]


async def test_siblings_are_in_sort_order(
    client: httpx.AsyncClient, shipped: dict[str, dict[str, str]]
) -> None:
    body = (await _tree(client)).json()

    def check(siblings: list[dict[str, Any]]) -> None:
        keys = [(int(shipped[n["slug"]]["sort_order"]), n["slug"]) for n in siblings]
        assert keys == sorted(keys)
        for n in siblings:
            check(n["children"])

    check(body["items"])
    assert [n["slug"] for n in body["items"]][:3] == [
        "furniture",
        "clothing-and-textiles",
        "electronics",
    ]


async def test_every_category_resolves_to_a_reuse_factor_and_electricals_to_ords(
    client: httpx.AsyncClient,
) -> None:
    reuse_factors = {row["category"] for row in _csv("reuse_factors.csv")}
    ords = {int(row["id"]): row["name"] for row in _csv("ords_product_categories.csv")}
    nodes = list(_walk((await _tree(client)).json()["items"]))
    leaves = [n for n in nodes if not n["children"]]
    assert len(leaves) > 80
    for node in nodes:
        reuse, ords_ref = node["reuse_factor_category"], node["ords_category"]
        assert reuse in reuse_factors, node["slug"]
        if reuse not in NON_EEE_REUSE_FACTORS:
            assert ords_ref is not None, f"{node['slug']} is electrical but has no ORDS category"
        if ords_ref is not None:
            assert ords[ords_ref["id"]] == ords_ref["name"]
            assert (
                reuse not in NON_EEE_REUSE_FACTORS or node["slug"] in POWERED_WITH_UNPOWERED_FACTOR
            ), f"{node['slug']} is not electrical but has an ORDS category"


async def test_mappings_of_familiar_items(client: httpx.AsyncClient) -> None:
    by_slug = {n["slug"]: n for n in _walk((await _tree(client)).json()["items"])}
    expected = {
        "laptops": ("Laptop medium", 16, "Laptop"),
        "mobile-phones": ("Mobile", 19, "Mobile"),
        "coffee-makers": ("Coffee Maker", 36, "Coffee maker"),
        "e-bikes": ("Bicycle", 18, "Misc"),
        "power-tools": ("Power tool", 24, "Power tool"),
        # Inherited from the nearest ancestor with a mapping.
        "fridges-and-freezers": ("Large home electrical", 17, "Large home electrical"),
    }
    for slug, (reuse, ords_id, ords_name) in expected.items():
        assert by_slug[slug]["reuse_factor_category"] == reuse
        assert by_slug[slug]["ords_category"] == {"id": ords_id, "name": ords_name}
    for slug, reuse in {
        "sofas-and-armchairs": "Furniture",
        "childrens-bikes": "Bicycle",
        "shoes": "Clothing/textile",
        "toys": "Misc (non-EEE)",
        "hand-tools": "Tool (non-EEE)",
        "bike-parts-and-accessories": "Misc (non-EEE)",
    }.items():
        assert by_slug[slug]["reuse_factor_category"] == reuse
        assert by_slug[slug]["ords_category"] is None


async def test_tree_headers(client: httpx.AsyncClient) -> None:
    response = await _tree(client)
    assert response.headers["content-type"] == "application/json"
    assert response.headers["content-language"] == "nb"
    assert response.headers["vary"] == "Accept-Language"
    assert response.headers["cache-control"] == "public, max-age=3600"


# --- language negotiation ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "language"),
    [
        (None, Language.NB),
        ("", Language.NB),
        ("nb", Language.NB),
        ("nb-NO", Language.NB),
        ("no", Language.NB),
        ("nn-NO", Language.NB),
        ("en", Language.EN),
        ("EN-gb", Language.EN),
        ("en-US,en;q=0.9", Language.EN),
        ("en;q=0.5, nb;q=0.8", Language.NB),
        ("nb;q=0.5, en", Language.EN),
        ("en, nb", Language.EN),
        ("nb, en", Language.NB),
        ("de, en;q=0.3", Language.EN),
        ("de", Language.NB),
        ("sv-SE, da;q=0.9", Language.NB),
        ("*", Language.NB),
        ("nb;q=0, *;q=0.5", Language.EN),
        ("en;q=0, nb;q=0", Language.NB),
        ("en;q=abc, nb;q=0.1", Language.NB),
        ("en;q=2", Language.EN),
        ("en-GB;q=0.9, nb-NO;q=0.9", Language.EN),
        ("!!!, en", Language.EN),
    ],
)
def test_accept_language_negotiation(header: str | None, language: Language) -> None:
    assert negotiate_language(header) is language


@pytest.mark.parametrize(
    ("header", "language", "laptops"),
    [
        ({}, "nb", "Bærbare PC-er"),
        ({"Accept-Language": "en-GB,en;q=0.9"}, "en", "Laptops"),
        ({"Accept-Language": "de-DE, en;q=0.5, nb;q=0.4"}, "en", "Laptops"),
        ({"Accept-Language": "fr"}, "nb", "Bærbare PC-er"),
        ({"Accept-Language": "nn"}, "nb", "Bærbare PC-er"),
    ],
)
async def test_names_follow_accept_language(
    client: httpx.AsyncClient, header: dict[str, str], language: str, laptops: str
) -> None:
    response = await _tree(client, **header)
    assert response.headers["content-language"] == language
    by_slug = {n["slug"]: n for n in _walk(response.json()["items"])}
    assert by_slug["laptops"]["name"] == laptops
    assert by_slug["laptops"]["names"] == {"nb": "Bærbare PC-er", "en": "Laptops"}


# --- one category --------------------------------------------------------------------------


async def test_leaf_with_its_breadcrumb(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/categories/laptops", headers={"Accept-Language": "en"})
    assert response.status_code == 200, response.text
    assert response.headers["content-language"] == "en"
    assert response.headers["vary"] == "Accept-Language"
    assert response.headers["cache-control"] == "public, max-age=3600"
    assert response.json() == {
        "slug": "laptops",
        "name": "Laptops",
        "names": {"nb": "Bærbare PC-er", "en": "Laptops"},
        "parent_slug": "computers",
        "reuse_factor_category": "Laptop medium",
        "ords_category": {"id": 16, "name": "Laptop"},
        "ancestors": [
            {"slug": "electronics", "name": "Electronics"},
            {"slug": "computers", "name": "Computers"},
        ],
        "children": [],
    }


async def test_category_with_its_subtree_and_inherited_mapping(
    client: httpx.AsyncClient,
) -> None:
    body = (await client.get("/v1/categories/household-appliances")).json()
    assert body["ancestors"] == []
    assert body["parent_slug"] is None
    children = [c["slug"] for c in body["children"]]
    assert children[:2] == ["large-appliances", "small-kitchen-appliances"]
    large = body["children"][0]
    assert [c["slug"] for c in large["children"]] == [
        "fridges-and-freezers",
        "washing-machines-and-dryers",
        "dishwashers",
        "cookers-and-ovens",
    ]
    assert all(c["reuse_factor_category"] == "Large home electrical" for c in large["children"])

    computers = (await client.get("/v1/categories/computers")).json()
    assert computers["ancestors"] == [{"slug": "electronics", "name": "Elektronikk"}]
    assert computers["reuse_factor_category"] == "Small home electrical"  # from electronics
    assert computers["ords_category"] == {"id": 28, "name": "Small home electrical"}


async def test_subtree_matches_the_tree(client: httpx.AsyncClient) -> None:
    tree = {n["slug"]: n for n in _walk((await _tree(client)).json()["items"])}
    body = (await client.get("/v1/categories/sports-and-outdoors")).json()
    assert body["children"] == tree["sports-and-outdoors"]["children"]


async def test_unknown_category_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/categories/flying-carpets")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body == {
        "type": "/problems/category_not_found",
        "title": "Category not found",
        "status": 404,
        "code": "category_not_found",
        "detail": "No category has the slug 'flying-carpets'.",
        "instance": "/v1/categories/flying-carpets",
        "request_id": response.headers["x-request-id"],
    }


@pytest.mark.parametrize(
    "slug", ["Laptops", "bad_slug", "-laptops", "laptops-", "lap--tops", "s%C3%B8fa", "a" * 65]
)
async def test_malformed_slug_is_422(client: httpx.AsyncClient, slug: str) -> None:
    response = await client.get(f"/v1/categories/{slug}")
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_failed"
    assert [(e["location"], e["field"]) for e in body["errors"]] == [("path", "slug")]


async def test_categories_are_documented(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    tree, one = paths["/v1/categories"]["get"], paths["/v1/categories/{slug}"]["get"]
    for operation in (tree, one):
        assert operation["tags"] == ["categories"]
        assert operation["summary"]
        assert operation["description"]
        assert "Content-Language" in operation["responses"]["200"]["headers"]
        assert any(p["name"] == "accept-language" for p in operation["parameters"])
    assert "category_not_found" in one["responses"]["404"]["description"]
    assert "422" in one["responses"]


# --- "this category including its sub-categories" ------------------------------------------


async def test_descendant_slugs_include_the_category_and_everything_below(
    session: AsyncSession,
) -> None:
    assert await descendant_slugs(session, slug="computers") == [
        "computers",
        "computer-accessories",
        "computer-monitors",
        "desktop-computers",
        "laptops",
        "paper-shredders",
        "printers-and-scanners",
    ]
    electronics = await descendant_slugs(session, slug="electronics")
    assert {"electronics", "computers", "laptops", "headphones", "games-consoles"} <= set(
        electronics
    )
    assert "coffee-makers" not in electronics
    assert await descendant_slugs(session, slug="laptops") == ["laptops"]
    assert await descendant_slugs(session, slug="flying-carpets") == []


async def test_subtree_query_composes_into_one_statement(session: AsyncSession) -> None:
    # As the listing search will use it: a sub-select inside another statement.
    count = await session.scalar(
        select(func.count())
        .select_from(Category)
        .where(Category.slug.in_(subtree_slugs_query("household-appliances")))
    )
    assert count == len(await descendant_slugs(session, slug="household-appliances")) == 19
