"""Real Norwegian places with known kommuner (from ../shared/data/README.md, "Verified points")."""

from __future__ import annotations

import math
from typing import NamedTuple


class Place(NamedTuple):
    lat: float
    lon: float
    kommunenummer: str
    fylkesnummer: str


PLACES: dict[str, Place] = {
    "trondheim_torvet": Place(63.4305, 10.3951, "5001", "50"),
    "oslo_city_hall": Place(59.9119, 10.7336, "0301", "03"),
    "bergen_bryggen": Place(60.3973, 5.3240, "4601", "46"),
    "tromso": Place(69.6492, 18.9553, "5501", "55"),
    "stavanger": Place(58.9700, 5.7331, "1103", "11"),
    "kristiansand": Place(58.1467, 7.9956, "4204", "42"),
    "bodo": Place(67.2804, 14.4049, "1804", "18"),
    "alta": Place(69.9689, 23.2716, "5601", "56"),
    "lillehammer": Place(61.1153, 10.4662, "3405", "34"),
    "drammen": Place(59.7441, 10.2045, "3301", "33"),
    "fredrikstad": Place(59.2181, 10.9298, "3107", "31"),
    "alesund": Place(62.4722, 6.1495, "1508", "15"),
}

# Just off Træna's generalised coastline (about 40 m): outside every polygon, within 5 km.
TRAENA_OFFSHORE = Place(66.50766, 12.01653, "1835", "18")
# In the North Sea, about 40 km west of the coast at Stad: inside the rough box, not Norway.
OPEN_SEA = (62.0, 4.2)
# Stockholm: inside the rough box around Norway, far from any Norwegian kommune.
STOCKHOLM = (59.3293, 18.0686)


def haversine_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance on PostGIS's sphere (mean radius), (lat, lon) in degrees."""
    r = 6371008.7714
    (lat1, lon1), (lat2, lon2) = (tuple(map(math.radians, p)) for p in (a, b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * r * math.asin(math.sqrt(h))
