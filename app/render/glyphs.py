"""Glyphs for map labels: signed distance fields in MapLibre's protobuf, made from Noto Sans.

MapLibre GL draws text from pre-rendered glyphs fetched in ranges of 256 code points
(``{fontstack}/{start}-{end}.pbf``). Sirkel makes them itself, from the Noto Sans files of
the pinned ``@fontsource/noto-sans`` npm package (SIL OFL 1.1) in ``web/node_modules``, so
a map labels its clusters and kommuner without any font server.

How a glyph is made, as MapLibre's own TinySDF and Mapbox's fontnik make them:

- FreeType (inside Pillow, which reads the package's WOFF2) draws the glyph at 24 px.
- A 3-pixel border is added, and each pixel gets its distance to the glyph's edge: the
  exact squared Euclidean distance transform, started from the anti-aliased coverage as
  TinySDF does (Felzenszwalb and Huttenlocher's transform is separable; on a bitmap of about
  30 x 30 pixels the two one-dimensional passes are small numpy broadcasts).
- The distance maps to a byte: 255 - 255 * (d / 8 + 0.25), so the edge is at 192.

The protobuf (``glyphs.proto`` of the Mapbox glyph format) is written by hand: three small
messages, no protobuf library needed.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from PIL import ImageFont

SIZE = 24  # px: MapLibre's glyph size
BUFFER = 3  # px of border around each glyph
RADIUS = 8.0
CUTOFF = 0.25
# MapLibre puts a glyph's "top" relative to an origin above the em box. For its own locally
# drawn glyphs it uses ascent - 27.5 (glyph_manager.ts, "topAdjustment"); servers' glyphs
# are within a pixel of that. Integer here: the format's field is an sint32.
TOP_ADJUSTMENT = 27
RANGE = 256
MAX_CODE_POINT = 0xFFFF

FONT_PACKAGE = "@fontsource/noto-sans"
# The font stacks a style may name, and the weight of each.
FONT_STACKS = {"Noto Sans Regular": 400, "Noto Sans Bold": 700}
# The package's subsets that hold the scripts a Norwegian map writes (Sámi names need
# latin-ext: Unjárga, Porsáŋgu), in the order a code point is looked for.
SUBSETS = ("latin", "latin-ext", "greek", "cyrillic", "cyrillic-ext")
# Code points that are no glyph: controls, format characters, surrogates, private use,
# unassigned, line and paragraph separators.
_NO_GLYPH = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
_INF = 1e20


class AssetsMissingError(RuntimeError):
    """The npm packages in ``web/`` are not installed (``scripts/dev.sh web``)."""


@dataclass(frozen=True, slots=True)
class Glyph:
    id: int
    bitmap: bytes
    width: int
    height: int
    left: int
    top: int
    advance: int


def _ranges(spec: str) -> list[tuple[int, int]]:
    """'U+0000-00FF,U+0131' as [(0, 255), (305, 305)]."""
    out: list[tuple[int, int]] = []
    for part in spec.split(","):
        first, _, last = part.strip().removeprefix("U+").partition("-")
        out.append((int(first, 16), int(last or first, 16)))
    return out


@dataclass(frozen=True, slots=True)
class _Subset:
    ranges: tuple[tuple[int, int], ...]
    font: ImageFont.FreeTypeFont

    def covers(self, code_point: int) -> bool:
        return any(first <= code_point <= last for first, last in self.ranges)


@cache
def _subsets(assets_dir: Path, weight: int) -> tuple[_Subset, ...]:
    package = assets_dir / FONT_PACKAGE
    try:
        coverage: dict[str, str] = json.loads((package / "unicode.json").read_text("utf-8"))
    except FileNotFoundError:
        raise AssetsMissingError(f"{package} is missing; run: scripts/dev.sh web") from None
    subsets = []
    for name in SUBSETS:
        path = package / "files" / f"noto-sans-{name}-{weight}-normal.woff2"
        if name in coverage and path.exists():
            font = ImageFont.truetype(str(path), SIZE)
            subsets.append(_Subset(tuple(_ranges(coverage[name])), font))
    if not subsets:
        raise AssetsMissingError(f"no Noto Sans {weight} files in {package}")
    return tuple(subsets)


def _edt(grid: np.ndarray) -> np.ndarray:
    """Exact squared Euclidean distance transform of ``grid`` (0 at the sources, other
    values as starting costs), one dimension after the other."""
    rows, cols = grid.shape
    dy = (np.arange(rows)[:, None] - np.arange(rows)[None, :]) ** 2
    # Down the columns: out[y, x] = min_j grid[j, x] + (y - j)^2
    step = (grid[None, :, :] + dy[:, :, None]).min(axis=1)
    dx = (np.arange(cols)[:, None] - np.arange(cols)[None, :]) ** 2
    # Along the rows: out[y, x] = min_i step[y, i] + (x - i)^2
    out: np.ndarray = (step[:, None, :] + dx[None, :, :]).min(axis=2)
    return out


def signed_distance_field(alpha: np.ndarray) -> np.ndarray:
    """Bytes of the SDF of a coverage bitmap (0..1 floats) with a ``BUFFER`` border."""
    height, width = alpha.shape
    a = np.zeros((height + 2 * BUFFER, width + 2 * BUFFER))
    a[BUFFER : BUFFER + height, BUFFER : BUFFER + width] = alpha
    half = 0.5 - a
    outer = np.where(a >= 1, 0.0, np.where(a <= 0, _INF, np.maximum(half, 0) ** 2))
    inner = np.where(a >= 1, _INF, np.where(a <= 0, 0.0, np.minimum(half, 0) ** 2))
    distance = np.sqrt(_edt(outer)) - np.sqrt(_edt(inner))
    values = np.rint(255 - 255 * (distance / RADIUS + CUTOFF))
    field: np.ndarray = np.clip(values, 0, 255).astype(np.uint8)
    return field


def _glyph(code_point: int, font: ImageFont.FreeTypeFont) -> Glyph:
    char = chr(code_point)
    advance = round(font.getlength(char))
    mask, (left, offset_y) = font.getmask2(char, mode="L", anchor="ls")
    width, height = mask.size
    if width == 0 or height == 0:
        return Glyph(code_point, b"", 0, 0, 0, 0, advance)
    alpha = np.frombuffer(bytes(mask), dtype=np.uint8).reshape(height, width) / 255.0
    return Glyph(
        id=code_point,
        bitmap=signed_distance_field(alpha).tobytes(),
        width=width,
        height=height,
        left=left,
        top=-offset_y - TOP_ADJUSTMENT,
        advance=advance,
    )


def glyphs(assets_dir: Path, weight: int, start: int) -> Iterator[Glyph]:
    subsets = _subsets(assets_dir, weight)
    for code_point in range(start, start + RANGE):
        if code_point != 0x20 and unicodedata.category(chr(code_point)) in _NO_GLYPH:
            continue
        for subset in subsets:
            if subset.covers(code_point):
                yield _glyph(code_point, subset.font)
                break


# --- protobuf wire format -------------------------------------------------------------------


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _zigzag(value: int) -> int:
    return (value << 1) ^ (value >> 63)


def _field_varint(number: int, value: int) -> bytes:
    return _varint(number << 3) + _varint(value)


def _field_bytes(number: int, value: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(value)) + value


def encode_glyph(glyph: Glyph) -> bytes:
    out = _field_varint(1, glyph.id)
    if glyph.bitmap:
        out += _field_bytes(2, glyph.bitmap)
    return (
        out
        + _field_varint(3, glyph.width)
        + _field_varint(4, glyph.height)
        + _field_varint(5, _zigzag(glyph.left))
        + _field_varint(6, _zigzag(glyph.top))
        + _field_varint(7, glyph.advance)
    )


@cache
def glyph_range(assets_dir: Path, font_stack: str, start: int) -> bytes:
    """The protobuf of one 256-code-point range of a known font stack (cached: a range is
    made once per process, in about 0.1 s)."""
    weight = FONT_STACKS[font_stack]
    stack = _field_bytes(1, font_stack.encode()) + _field_bytes(
        2, f"{start}-{start + RANGE - 1}".encode()
    )
    for glyph in glyphs(assets_dir, weight, start):
        stack += _field_bytes(3, encode_glyph(glyph))
    return _field_bytes(1, stack)
