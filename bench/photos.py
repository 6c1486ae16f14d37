"""The photo pipeline's cost on this machine: decode, orient, clean and encode three WebP
renditions of a 12-megapixel JPEG and HEIC (``app.services.photos.images.process``), one at a
time and four at once through the bounded worker threads the API uses, with the process's peak
RSS. This measures the pipeline in process, not uploads through the HTTP API (the routes are not
built yet). Run: ``python -m bench.photos``; prints JSON.
"""

from __future__ import annotations

import io
import json
import resource
import time

import anyio
import pillow_heif
from PIL import Image, ImageDraw

from app.config import PhotoSettings
from app.services.photos.images import process
from app.services.photos.processing import process_upload

WIDTH, HEIGHT = 4000, 3000  # 12 MP, a phone's default
ROUNDS = 5


def _scene() -> Image.Image:
    image = Image.radial_gradient("L").resize((WIDTH, HEIGHT)).convert("RGB")
    draw = ImageDraw.Draw(image)
    for i in range(0, WIDTH, 97):
        draw.line((i, 0, WIDTH - i, HEIGHT), fill=(i % 255, 120, 255 - i % 255), width=9)
    return image


def _encode(image: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    if fmt == "HEIC":
        pillow_heif.from_pillow(image).save(buffer, quality=85)
    else:
        image.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def _four_at_once(data: bytes, settings: PhotoSettings) -> float:
    start = time.perf_counter()
    async with anyio.create_task_group() as group:
        for _ in range(4):
            group.start_soon(process_upload, data, settings)
    return time.perf_counter() - start


def main() -> None:
    scene = _scene()
    results: dict[str, object] = {}
    settings = PhotoSettings()
    for fmt in ("JPEG", "HEIC"):
        data = _encode(scene, fmt)
        process(data)  # warm up
        start = time.perf_counter()
        for _ in range(ROUNDS):
            process(data)
        serial = (time.perf_counter() - start) / ROUNDS
        four = anyio.run(_four_at_once, data, settings)
        results[fmt] = {
            "upload_bytes": len(data),
            "seconds_per_image": round(serial, 3),
            "images_per_second_serial": round(1 / serial, 2),
            "images_per_second_4_at_once": round(4 / four, 2),
            "max_concurrent_decodes": settings.max_concurrent_decodes,
        }
    results["peak_rss_mib"] = round(_peak_rss_mib(), 1)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
