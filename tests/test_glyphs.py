"""Label glyphs (app/render/glyphs.py): the protobuf decodes as MapLibre reads it, the
distance transform is exact, and an SDF thresholded at its edge value gives back the glyph."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import ImageFont

from app.config import EmbedSettings
from app.render import glyphs

ASSETS = EmbedSettings().assets_dir
EDGE = 192  # 255 - 255 * CUTOFF: the glyph's outline in the field


def _varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, at


def decode(data: bytes) -> list[tuple[int, Any]]:
    """A protobuf message's (field number, value) pairs: varints as ints, length-delimited
    fields as bytes. Independent of the encoder under test."""
    fields: list[tuple[int, Any]] = []
    at = 0
    while at < len(data):
        key, at = _varint(data, at)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, at = _varint(data, at)
            fields.append((number, value))
        elif wire == 2:
            length, at = _varint(data, at)
            fields.append((number, data[at : at + length]))
            at += length
        else:
            raise AssertionError(f"unexpected wire type {wire}")
    return fields


def _unzigzag(value: int) -> int:
    return (value >> 1) ^ -(value & 1)


def read_glyphs(pbf: bytes) -> tuple[str, str, dict[int, dict[str, Any]]]:
    (outer,) = decode(pbf)
    assert outer[0] == 1
    stack = decode(outer[1])
    name = next(v for n, v in stack if n == 1).decode()
    span = next(v for n, v in stack if n == 2).decode()
    out: dict[int, dict[str, Any]] = {}
    for number, value in stack:
        if number != 3:
            continue
        fields = dict(decode(value))
        out[fields[1]] = {
            "bitmap": fields.get(2, b""),
            "width": fields[3],
            "height": fields[4],
            "left": _unzigzag(fields[5]),
            "top": _unzigzag(fields[6]),
            "advance": fields[7],
        }
    return name, span, out


@pytest.fixture(autouse=True, scope="module")
def _installed() -> None:
    assert (ASSETS / glyphs.FONT_PACKAGE).exists(), "run scripts/dev.sh web (npm ci in web/)"


def test_the_latin_range_has_what_norwegian_labels_need() -> None:
    name, span, found = read_glyphs(glyphs.glyph_range(ASSETS, "Noto Sans Bold", 0))
    assert (name, span) == ("Noto Sans Bold", "0-255")
    for char in "0123456789 ÆØÅæøåabcXYZ-().":
        assert ord(char) in found, char
    assert 0x0A not in found  # a control character is no glyph
    for _code_point, glyph in found.items():
        if glyph["width"]:
            assert len(glyph["bitmap"]) == (glyph["width"] + 6) * (glyph["height"] + 6)
        else:
            assert glyph["bitmap"] == b""
    space = found[0x20]
    assert space["width"] == 0
    assert space["advance"] > 0
    # Digits of one font share an advance (cluster counts line up); bold is wider.
    digits = {found[ord(d)]["advance"] for d in "0123456789"}
    assert len(digits) == 1
    _, _, regular = read_glyphs(glyphs.glyph_range(ASSETS, "Noto Sans Regular", 0))
    assert found[ord("W")]["advance"] >= regular[ord("W")]["advance"]
    # A capital sits higher above the baseline than a lower-case x.
    assert found[ord("H")]["top"] > found[ord("x")]["top"]


def test_sami_letters_come_from_latin_ext_and_empty_ranges_are_valid() -> None:
    _, span, found = read_glyphs(glyphs.glyph_range(ASSETS, "Noto Sans Regular", 256))
    assert span == "256-511"
    for char in "ŋŧšžčđŊ":  # Porsáŋgu, Unjárga's neighbours
        assert ord(char) in found, char
    name, span, none = read_glyphs(glyphs.glyph_range(ASSETS, "Noto Sans Regular", 0xE000))
    assert (name, span, none) == ("Noto Sans Regular", "57344-57599", {})


def test_the_distance_transform_is_exact() -> None:
    rng = np.random.default_rng(7)
    for _ in range(20):
        grid = np.where(rng.random((9, 11)) < 0.15, 0.0, 1e20)
        grid[rng.integers(0, 9), rng.integers(0, 11)] = 0.0
        sources = np.argwhere(grid == 0)
        expected = np.array(
            [
                [min((y - sy) ** 2 + (x - sx) ** 2 for sy, sx in sources) for x in range(11)]
                for y in range(9)
            ]
        )
        assert np.array_equal(glyphs._edt(grid), expected)


@pytest.mark.parametrize("char", ["8", "Ø", "å", "ŋ"])
def test_the_field_thresholded_at_its_edge_gives_back_the_glyph(char: str) -> None:
    subsets = glyphs._subsets(Path(ASSETS), 400)
    font: ImageFont.FreeTypeFont = next(s.font for s in subsets if s.covers(ord(char)))
    mask, _ = font.getmask2(char, mode="L", anchor="ls")
    width, height = mask.size
    alpha = np.frombuffer(bytes(mask), dtype=np.uint8).reshape(height, width) / 255.0
    field = glyphs.signed_distance_field(alpha)
    assert field.shape == (height + 6, width + 6)
    inside = field[3 : 3 + height, 3 : 3 + width] >= EDGE
    truth = alpha >= 0.5
    agreement = (inside == truth).mean()
    assert agreement > 0.97, agreement
    # The border is outside the glyph, and falls off with the distance from it.
    # The corner is at least 3 px from the glyph: 255 - 255 * (3 / 8 + 0.25) = 95.6 or less.
    assert field[0, 0] <= 96
