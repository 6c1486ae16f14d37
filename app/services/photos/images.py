"""Decode an uploaded image and re-encode it as clean WebP renditions.

Pillow with pillow-heif (``register_heif_opener``) decodes JPEG, PNG, WebP and HEIC/HEIF: one
library for every format phones and browsers send, wheels for every platform, no system libvips.

What comes in is judged by its bytes, never by its filename or Content-Type: the magic numbers
decide the type, and only that type's decoder is tried. Refused are bytes of no accepted type,
images above a pixel limit (checked on the header, before any pixel is decoded: a decompression
bomb never allocates), animated images and files that do not decode to the end. What goes out is
built from the pixels alone: the EXIF orientation is applied, colours are converted to sRGB, and
each rendition is a fresh image with no EXIF, XMP, IPTC or ICC data — a phone photo's GPS position
never leaves this module. The work is CPU-bound and synchronous; callers run it off the event loop.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

import pillow_heif
from PIL import Image, ImageCms, ImageOps

pillow_heif.register_heif_opener()

DEFAULT_MAX_PIXELS = 50_000_000
DEFAULT_SIZES: tuple[int, ...] = (320, 960, 1920)
WEBP_QUALITY = 82

_HEIF_BRANDS = frozenset({b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"})
_SRGB = ImageCms.createProfile("sRGB")


class ImageRejectedError(Exception):
    """An upload this module refuses; ``code`` is the problem code the API answers with."""

    code = "image_rejected"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class UnsupportedImageTypeError(ImageRejectedError):
    code = "unsupported_image_type"


class ImageUndecodableError(ImageRejectedError):
    code = "image_undecodable"


class ImageTooLargeError(ImageRejectedError):
    code = "image_too_large"


class ImageAnimatedError(ImageRejectedError):
    code = "image_animated"


@dataclass(frozen=True, slots=True)
class Rendition:
    """One re-encoded size: WebP bytes, their sha256 (the content-addressed key) and dimensions."""

    size: int
    width: int
    height: int
    data: bytes
    sha256: str


@dataclass(frozen=True, slots=True)
class ProcessedImage:
    source_type: str
    width: int
    height: int
    renditions: tuple[Rendition, ...]


def sniff(data: bytes) -> str | None:
    """The image type the bytes are (``JPEG``, ``PNG``, ``WEBP``, ``HEIF``), or None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if len(data) >= 12 and data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS:
        return "HEIF"
    return None


def _open(data: bytes, kind: str, max_pixels: int) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=[kind])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageTooLargeError(
            f"The image has more than {max_pixels:,} pixels; send a smaller one."
        ) from exc
    except Exception as exc:
        raise ImageUndecodableError("The file could not be read as an image.") from exc
    width, height = image.size
    if width <= 0 or height <= 0 or width * height > max_pixels:
        raise ImageTooLargeError(
            f"The image is {width} x {height} pixels; at most {max_pixels:,} pixels are accepted."
        )
    if getattr(image, "is_animated", False) or getattr(image, "n_frames", 1) > 1:
        raise ImageAnimatedError(
            "Animated images (or images with several frames) are not accepted."
        )
    return image


def _decode_reduced(image: Image.Image, largest: int) -> None:
    """Let the JPEG decoder scale down by 1/2, 1/4 or 1/8 in the DCT itself while the result
    still covers the largest rendition: a 12 MP photo for 1920 px renditions is decoded at
    2000 x 1500 — a quarter of the memory and about a third of the time."""
    width, height = image.size
    if max(width, height) <= largest:
        return
    scale = largest / max(width, height)
    image.draft("RGB", (max(1, int(width * scale)), max(1, int(height * scale))))


def _to_srgb(image: Image.Image) -> Image.Image:
    """RGB pixels in sRGB; transparency composed onto white; any embedded profile applied."""
    icc = image.info.get("icc_profile")
    if image.mode not in ("RGB", "RGBA"):
        image = image.convert(
            "RGBA" if "transparency" in image.info or "A" in image.mode else "RGB"
        )
    if icc:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            image = ImageCms.profileToProfile(image, source, _SRGB, outputMode=image.mode) or image
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass  # An unreadable profile: the pixels are taken as sRGB.
    if image.mode == "RGBA":
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(image, mask=image.getchannel("A"))
        return background
    clean = Image.new("RGB", image.size)
    clean.paste(image)
    return clean


def process(
    data: bytes,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    sizes: tuple[int, ...] = DEFAULT_SIZES,
) -> ProcessedImage:
    """Check, decode, orient, clean and re-encode ``data``; raises ``ImageRejectedError``."""
    kind = sniff(data)
    if kind is None:
        raise UnsupportedImageTypeError("Only JPEG, PNG, WebP and HEIC/HEIF images are accepted.")
    image = _open(data, kind, max_pixels)
    if kind == "JPEG" and sizes:
        _decode_reduced(image, max(sizes))
    try:
        image.load()
        # Each step rebinds ``pixels`` so the bitmap before it is freed at once: at most two
        # full-size bitmaps are alive at a time (docs/benchmarks.md measures the API's memory).
        pixels = ImageOps.exif_transpose(image) or image
        if pixels is not image:
            image.close()
        pixels = _to_srgb(pixels)
    except ImageRejectedError:
        raise
    except Exception as exc:
        raise ImageUndecodableError("The image is damaged or truncated.") from exc
    width, height = pixels.size
    renditions: list[Rendition] = []
    # Largest first, each from the one before: the smaller ones never touch the full bitmap.
    current = pixels
    for size in sorted(sizes, reverse=True):
        longest = max(current.size)
        if longest > size:
            scale = size / longest
            target = (max(1, round(current.width * scale)), max(1, round(current.height * scale)))
            current = current.resize(target, Image.Resampling.LANCZOS, reducing_gap=3.0)
        buffer = io.BytesIO()
        current.save(buffer, format="WEBP", quality=WEBP_QUALITY, method=4)
        encoded = buffer.getvalue()
        renditions.append(
            Rendition(
                size=size,
                width=current.width,
                height=current.height,
                data=encoded,
                sha256=hashlib.sha256(encoded).hexdigest(),
            )
        )
    renditions.reverse()  # smallest first: the first is the thumbnail
    return ProcessedImage(
        source_type=kind, width=width, height=height, renditions=tuple(renditions)
    )
