"""Geometry conventions shared by every resource.

Coordinates are WGS 84 (EPSG:4326) ``[lon, lat]`` at the API boundary. Distances are metres
on ``geography`` (or a metric projection), never degrees.
"""

from __future__ import annotations

from geoalchemy2 import WKTElement

SRID = 4326


def point_element(lon: float, lat: float) -> WKTElement:
    """A WGS 84 point to assign to a geometry column; never assign a bare EWKT string."""
    return WKTElement(f"POINT({lon!r} {lat!r})", srid=SRID)


# Norway's mainland, islands and territorial waters lie well inside this box; points outside
# it cannot be in a kommune and are refused before any query runs.
NORWAY_BBOX = (4.0, 57.5, 31.5, 71.5)  # min lon, min lat, max lon, max lat

# How far off the generalised coastline a point may be and still be placed in the nearest
# kommune (quays, piers and islets that the simplified polygons cut off).
COAST_FALLBACK_M = 5_000.0
