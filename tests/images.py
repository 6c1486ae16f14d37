"""Images built for the photo tests: plain ones, a phone's JPEG with GPS, HEIC, an animation,
and a PNG header that promises more pixels than any limit (a decompression bomb)."""

from __future__ import annotations

import io
import struct
import zlib

import pillow_heif
from PIL import Image, ImageCms

GPS_IFD = 0x8825
ORIENTATION = 0x0112


def photo(
    fmt: str,
    size: tuple[int, int] = (400, 200),
    colour: tuple[int, int, int] = (200, 30, 30),
    **save: object,
) -> bytes:
    """A two-colour picture: ``colour`` on the right, blue on the left half."""
    image = Image.new("RGB", size, colour)
    image.paste((20, 20, 220), (0, 0, size[0] // 2, size[1]))
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **save)
    return buffer.getvalue()


def gps_jpeg(size: tuple[int, int] = (400, 200)) -> bytes:
    """What a phone writes: EXIF with a GPS position (central Oslo) and an orientation,
    an ICC profile and an XMP packet."""
    exif = Image.Exif()
    exif[ORIENTATION] = 6  # rotate 90° clockwise to view
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (59.0, 54.0, 42.0), 3: "E", 4: (10.0, 44.0, 12.0)})
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF/></x:xmpmeta>'
    return photo("JPEG", size=size, exif=exif.tobytes(), icc_profile=icc, xmp=xmp)


def heic(size: tuple[int, int] = (640, 480)) -> bytes:
    image = Image.new("RGB", size, (10, 120, 10))
    buffer = io.BytesIO()
    pillow_heif.from_pillow(image).save(buffer, quality=80)
    return buffer.getvalue()


def animated_webp() -> bytes:
    frames = [Image.new("RGB", (40, 40), colour) for colour in ((255, 0, 0), (0, 255, 0))]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="WEBP", save_all=True, append_images=frames[1:], duration=100)
    return buffer.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")
