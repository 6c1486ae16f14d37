"""Every operation shows an example of what it answers, and every example shown is valid
against the schema it illustrates: a changed model with a stale example fails here, not in a
client generated from the document."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi import FastAPI
from jsonschema import Draft202012Validator

from app.openapi import EXAMPLES

# Bytes no JSON example can show: tiles, glyphs, photos.
BINARY = {
    "application/vnd.mapbox-vector-tile",
    "application/x-protobuf",
    "image/webp",
    "application/pdf",
    "application/zip",
}


def _document(app: FastAPI) -> dict[str, Any]:
    return app.openapi()


def _validator(doc: dict[str, Any], schema: dict[str, Any]) -> Draft202012Validator:
    # As tests/conformance.py does: the fragment is the root, and "#/components/…"
    # references resolve against the copy of the components placed beside it.
    return Draft202012Validator({"allOf": [schema], "components": doc["components"]})


def _example_of(doc: dict[str, Any], content: dict[str, Any]) -> Any:
    if "example" in content:
        return content["example"]
    if "examples" in content:
        return next(iter(content["examples"].values()))["value"]
    ref = content.get("schema", {}).get("$ref")
    if ref is not None:
        component = doc["components"]["schemas"][ref.rsplit("/", 1)[-1]]
        return component.get("example", ...)
    return ...


def _responses(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    out = []
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if not status.startswith("2"):
                    continue
                for media, content in response.get("content", {}).items():
                    if media.split(";")[0] not in BINARY:
                        out.append((f"{method.upper()} {path} {status}", media, content))
    return out


def test_every_operation_shows_an_example(app: FastAPI) -> None:
    doc = _document(app)
    missing = [
        f"{where} {media}"
        for where, media, content in _responses(doc)
        if _example_of(doc, content) is ...
    ]
    assert missing == []


def test_every_example_is_valid_against_its_schema(app: FastAPI) -> None:
    doc = _document(app)
    checked = 0
    for name, component in doc["components"]["schemas"].items():
        if "example" in component:
            errors = list(_validator(doc, component).iter_errors(component["example"]))
            assert errors == [], (name, [e.message for e in errors[:3]])
            checked += 1
    for where, media, content in _responses(doc):
        example = _example_of(doc, content)
        if example is ... or "schema" not in content:
            continue
        if media.startswith("text/"):
            assert isinstance(example, str), where
            continue
        errors = list(_validator(doc, content["schema"]).iter_errors(example))
        assert errors == [], (where, [e.message for e in errors[:3]])
        checked += 1
    assert checked >= 100


def test_the_examples_file_names_only_what_exists(app: FastAPI) -> None:
    doc = _document(app)
    unknown = [n for n in EXAMPLES["components"] if n not in doc["components"]["schemas"]]
    assert unknown == []
    for key, by_media in EXAMPLES["operations"].items():
        method, path = key.split(" ", 1)
        operation = doc["paths"].get(path, {}).get(method.lower())
        assert operation is not None, key
        media_types = {m for r in operation["responses"].values() for m in r.get("content", {})}
        assert set(by_media) <= media_types, key


@pytest.mark.parametrize("name", sorted(EXAMPLES["components"]))
def test_examples_hold_no_real_person(name: str) -> None:
    """Harvested from the demo data: only demo addresses and example domains."""
    text = str(EXAMPLES["components"][name])
    for address in re.findall(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", text):
        assert address.endswith(("@demo.sirkel.no", "example.no", "example.com")), address
