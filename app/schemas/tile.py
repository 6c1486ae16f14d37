"""TileJSON 3.0.0 (https://github.com/mapbox/tilejson-spec/tree/master/3.0.0)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class VectorLayer(BaseModel):
    id: str
    description: str
    fields: dict[str, str] = Field(description="Attribute names and what they hold")
    minzoom: int
    maxzoom: int


class TileJson(BaseModel):
    tilejson: str = "3.0.0"
    name: str
    description: str
    attribution: str
    scheme: str = "xyz"
    tiles: list[str]
    vector_layers: list[VectorLayer]
    bounds: tuple[float, float, float, float]
    center: tuple[float, float, int]
    minzoom: int
    maxzoom: int
