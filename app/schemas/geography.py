"""Request and response shapes for fylker, kommuner and point lookups."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class KommuneSummary(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "example": {
                "kommunenummer": "5001",
                "name": "Trondheim - Tråante",
                "short_name": "Trondheim",
                "fylkesnummer": "50",
                "fylke_name": "Trøndelag - Trööndelage",
                "population": 212660,
                "population_year": 2024,
                "area_km2": 502.63,
            }
        },
    )

    kommunenummer: str = Field(description="Four-digit kommune number (2024 structure)")
    name: str = Field(description="Official name, with Sami/Kven parallel names after ' - '")
    short_name: str = Field(description="The Norwegian name: the part before the first ' - '")
    fylkesnummer: str
    fylke_name: str
    population: int | None = Field(description="Registered residents on 1 January of the year")
    population_year: int | None
    area_km2: float


class KommuneRead(KommuneSummary):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                **KommuneSummary.model_config["json_schema_extra"]["example"],  # type: ignore[index, dict-item]
                "bbox": [10.0042, 63.2488, 10.7292, 63.4769],
                "label_point": [10.3897, 63.3708],
            }
        },
    )

    bbox: tuple[float, float, float, float] = Field(
        description="min lon, min lat, max lon, max lat of the boundary"
    )
    label_point: tuple[float, float] = Field(
        description="[lon, lat] of a point guaranteed to lie inside the kommune"
    )


class FylkeRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "fylkesnummer": "03",
                "name": "Oslo",
                "short_name": "Oslo",
                "kommune_count": 1,
                "population": 717710,
                "population_year": 2024,
                "area_km2": 454.1,
            }
        }
    )

    fylkesnummer: str = Field(description="Two-digit fylke number (2024 structure)")
    name: str
    short_name: str
    kommune_count: int
    population: int | None = Field(
        description="Sum over the fylke's kommuner; null if any kommune's population is unknown"
    )
    population_year: int | None
    area_km2: float


class PlaceRef(BaseModel):
    number: str
    name: str
    short_name: str


class GeoLookupRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "lat": 63.4305,
                "lon": 10.3951,
                "kommune": {
                    "number": "5001",
                    "name": "Trondheim - Tråante",
                    "short_name": "Trondheim",
                },
                "fylke": {
                    "number": "50",
                    "name": "Trøndelag - Trööndelage",
                    "short_name": "Trøndelag",
                },
                "match": "inside",
                "distance_m": 0.0,
            }
        }
    )

    lat: float
    lon: float
    kommune: PlaceRef
    fylke: PlaceRef
    match: Literal["inside", "nearest"] = Field(
        description="`inside` the kommune's boundary, or the `nearest` kommune within 5 km "
        "(quays and islets just off the generalised coastline)"
    )
    distance_m: float = Field(description="Metres from the point to the kommune (0 inside)")
