"""Pictures for the demo listings, drawn here (no stock photos to license, nothing fetched):
a soft studio backdrop and a simple drawing of the thing, saved as a camera would — a JPEG of
1600 x 1200 — so the demo's photos go through the real upload pipeline."""

from __future__ import annotations

import io
from collections.abc import Callable

from PIL import Image, ImageDraw

Draw = ImageDraw.ImageDraw
SIZE = (1600, 1200)
INK = (38, 50, 56)


def _backdrop(top: tuple[int, int, int], bottom: tuple[int, int, int]) -> Image.Image:
    width, height = SIZE
    image = Image.new("RGB", SIZE)
    pixels = ImageDraw.Draw(image)
    for y in range(height):
        t = y / (height - 1)
        colour = tuple(round(a + (b - a) * t) for a, b in zip(top, bottom, strict=True))
        pixels.line([(0, y), (width, y)], fill=colour)
    # The floor's shadow under the object.
    pixels.ellipse((300, 930, 1300, 1030), fill=tuple(max(0, c - 28) for c in bottom))
    return image


def _bike(d: Draw) -> None:
    for cx in (520, 1080):
        d.ellipse((cx - 190, 760 - 190, cx + 190, 760 + 190), outline=INK, width=22)
        d.ellipse((cx - 22, 760 - 22, cx + 22, 760 + 22), fill=INK)
    frame = (208, 52, 44)
    d.line([(520, 760), (760, 760), (1000, 520), (700, 520), (520, 760)], fill=frame, width=30)
    d.line([(760, 760), (660, 440)], fill=frame, width=30)  # seat tube
    d.line([(1000, 520), (1080, 760)], fill=frame, width=26)  # fork
    d.rounded_rectangle((590, 410, 740, 450), radius=18, fill=INK)  # saddle
    d.line([(980, 520), (950, 400), (1060, 380)], fill=INK, width=20)  # handlebar


def _tent(d: Draw) -> None:
    d.polygon([(400, 950), (800, 330), (1200, 950)], fill=(46, 125, 50))
    d.polygon([(800, 330), (1200, 950), (1330, 900), (960, 360)], fill=(27, 94, 32))
    d.polygon([(700, 950), (800, 640), (900, 950)], fill=(255, 236, 179))
    d.line([(800, 330), (800, 270)], fill=INK, width=12)


def _skis(d: Draw) -> None:
    for x, colour in ((640, (21, 101, 192)), (860, (198, 40, 40))):
        d.rounded_rectangle((x, 140, x + 110, 1000), radius=55, fill=colour)
        d.rounded_rectangle((x + 20, 520, x + 90, 640), radius=12, fill=INK)  # binding
    d.line([(560, 180), (540, 1000)], fill=INK, width=14)  # poles
    d.line([(1060, 180), (1080, 1000)], fill=INK, width=14)


def _books(d: Draw) -> None:
    colours = [(121, 85, 72), (0, 121, 107), (255, 160, 0), (94, 53, 177), (194, 24, 91)]
    y = 960
    for i, colour in enumerate(colours * 2):
        height = 62 + (i % 3) * 10
        offset = (i % 4) * 24 - 36
        d.rounded_rectangle((500 + offset, y - height, 1100 + offset, y), radius=8, fill=colour)
        d.line([(530 + offset, y - height // 2), (1070 + offset, y - height // 2)], fill=INK)
        y -= height + 4


def _sewing_machine(d: Draw) -> None:
    body = (236, 239, 241)
    d.rounded_rectangle((380, 820, 1240, 940), radius=30, fill=body, outline=INK, width=8)
    d.rounded_rectangle((420, 420, 620, 860), radius=40, fill=body, outline=INK, width=8)
    d.rounded_rectangle((420, 420, 1200, 560), radius=50, fill=body, outline=INK, width=8)
    d.rounded_rectangle((1080, 540, 1160, 760), radius=20, fill=body, outline=INK, width=8)
    d.line([(1120, 760), (1120, 830)], fill=INK, width=8)  # needle
    d.ellipse((470, 470, 570, 570), fill=(211, 47, 47))  # wheel


# Which drawing each demo listing gets, by title; the backdrop's two colours.
PICTURES: dict[str, tuple[Callable[[Draw], None], tuple[int, int, int], tuple[int, int, int]]] = {
    "Barnesykkel 20 tommer": (_bike, (227, 242, 253), (187, 222, 251)),
    "Telt for fire personer": (_tent, (232, 245, 233), (200, 230, 201)),
    "Langrennsski 190 cm": (_skis, (236, 239, 241), (207, 216, 220)),
    "Kokebøker, 12 stk": (_books, (255, 248, 225), (255, 236, 179)),
    "Symaskin Husqvarna": (_sewing_machine, (243, 229, 245), (225, 190, 231)),
}


def picture(title: str) -> bytes | None:
    """The demo picture of the listing with this title, as JPEG bytes (None: it has none)."""
    found = PICTURES.get(title)
    if found is None:
        return None
    draw, top, bottom = found
    image = _backdrop(top, bottom)
    draw(ImageDraw.Draw(image))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=88)
    return buffer.getvalue()
