"""The frameworks Sirkel's indicators are read beside: GET /v1/impact/frameworks, the
``frameworks`` of every catalogue indicator, and the checks on the mapping file."""

from __future__ import annotations

import copy
import html
import json
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from app.services.impact.catalogue import BY_ID
from app.services.impact.frameworks import FRAMEWORKS_FILE, Frameworks


def _raw() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(FRAMEWORKS_FILE.read_text(encoding="utf-8"))
    return data


async def test_the_frameworks_and_what_informs_them(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/impact/frameworks")
    assert response.status_code == 200, response.text
    body = response.json()
    assert [f["id"] for f in body["frameworks"]] == ["sdg", "eu_cemf", "eu_reuse_2021_19", "ssb"]
    assert set(body["relations"]) == {"direct", "partial", "context"}
    by_id = {f["id"]: {i["id"]: i for i in f["indicators"]} for f in body["frameworks"]}
    assert by_id["sdg"]["12.5.1"]["name"] == "National recycling rate, tons of material recycled"
    assert by_id["eu_cemf"]["cei_srm030"]["name"] == "Circular material use rate"
    # Reuse is not recycling: read beside 12.5.1, never part of it.
    informed = {(i["indicator"], i["relation"]) for i in by_id["sdg"]["12.5.1"]["informed_by"]}
    assert ("sg1.reuse.kg", "context") in informed
    textiles = by_id["eu_reuse_2021_19"]["reuse.textiles"]
    assert textiles["unit"] == "tonnes"
    assert [(i["indicator"], i["relation"]) for i in textiles["informed_by"]] == [
        ("sg1.reuse.kg", "partial")
    ]
    for framework in body["frameworks"]:
        assert framework["url"].startswith("https://")
        assert framework["terms"]
        for indicator in framework["indicators"]:
            for link in indicator["informed_by"]:
                assert link["indicator"] in BY_ID
                assert link["note"]


async def test_every_catalogue_indicator_names_what_it_informs(client: httpx.AsyncClient) -> None:
    catalogue = (await client.get("/v1/impact/indicators")).json()["indicators"]
    frameworks = (await client.get("/v1/impact/frameworks")).json()["frameworks"]
    # The catalogue's links and the frameworks' informed_by are the same relation, both ways.
    from_catalogue = {
        (i["id"], link["framework"], link["indicator"], link["relation"])
        for i in catalogue
        for link in i["frameworks"]
    }
    from_frameworks = {
        (link["indicator"], f["id"], i["id"], link["relation"])
        for f in frameworks
        for i in f["indicators"]
        for link in i["informed_by"]
    }
    assert from_catalogue == from_frameworks
    assert len(from_catalogue) == len(_raw()["mappings"])
    reuse_kg = next(i for i in catalogue if i["id"] == "sg1.reuse.kg")
    partial = {
        link["indicator"] for link in reuse_kg["frameworks"] if link["relation"] == "partial"
    }
    assert partial == {
        "reuse.textiles",
        "reuse.eee",
        "reuse.furniture",
        "reuse.construction",
        "reuse.other",
    }
    # An indicator nothing honest maps to says so with an empty list.
    assert next(i for i in catalogue if i["id"] == "sg3.space.m2_days")["frameworks"] == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["mappings"][0].update(sirkel="sg9.made.up"), "not in the indicator catalogue"),
        (lambda d: d["mappings"][0].update(indicator="12.9.9"), "is not listed in indicators"),
        (lambda d: d["indicators"][0].update(framework="iso"), "unknown framework"),
        (lambda d: d["indicators"].append(d["indicators"][0]), "listed twice"),
        (lambda d: d["mappings"][0].update(relation="maybe"), "relation"),
        (lambda d: d["frameworks"][0].update(extra="x"), "extra"),
    ],
)
def test_a_mapping_that_does_not_hold_together_is_refused(change: Any, message: str) -> None:
    data = copy.deepcopy(_raw())
    Frameworks.model_validate(data)  # the shipped file holds
    change(data)
    with pytest.raises(ValidationError, match=message):
        Frameworks.model_validate(data)


async def test_the_reports_method_names_the_frameworks(client: httpx.AsyncClient) -> None:
    page = (await client.get("/v1/impact/report/2025")).text
    method = page[page.index('<section id="metode"') :]
    assert 'lang="en">SDG 12.5.1</span> (kontekst)' in method
    assert 'lang="en">EU 2021/19 reuse.textiles</span> (delvis)' in method
    # The note is there for the reader who hovers, escaped.
    note = next(m["note"] for m in _raw()["mappings"] if m["indicator"] == "reuse.textiles")
    assert f'title="{html.escape(note, quote=True)}"' in method
