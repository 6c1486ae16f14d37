"""Norwegian administrative geography (2024 structure): fylker, kommuner and the subdivided
kommune polygons that point lookups run against."""

from __future__ import annotations

from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Computed,
    Double,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.geo import SRID
from app.models.base import Base


class Fylke(Base):
    __tablename__ = "fylker"
    __table_args__ = (
        CheckConstraint("fylkesnummer ~ '^[0-9]{2}$'", name="fylkesnummer_format"),
        Index("ix_fylker_geom", "geom", postgresql_using="gist"),
    )

    fylkesnummer: Mapped[str] = mapped_column(String(2), primary_key=True)
    # Official name, with Sami/Kven parallel names after " - " (e.g. "Troms - Romsa - Tromssa").
    name: Mapped[str] = mapped_column(Text)
    short_name: Mapped[str] = mapped_column(
        Text, Computed("split_part(name, ' - ', 1)", persisted=True)
    )
    area_km2: Mapped[float] = mapped_column(Double)
    geom: Mapped[Any] = mapped_column(
        Geometry("MULTIPOLYGON", srid=SRID, spatial_index=False), nullable=False
    )


class Kommune(Base):
    __tablename__ = "kommuner"
    __table_args__ = (
        CheckConstraint("kommunenummer ~ '^[0-9]{4}$'", name="kommunenummer_format"),
        CheckConstraint("left(kommunenummer, 2) = fylkesnummer", name="in_own_fylke"),
        CheckConstraint("population IS NULL OR population >= 0", name="population_non_negative"),
        CheckConstraint(
            "(population IS NULL) = (population_year IS NULL)", name="population_has_year"
        ),
        Index("ix_kommuner_geom", "geom", postgresql_using="gist"),
    )

    kommunenummer: Mapped[str] = mapped_column(String(4), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    short_name: Mapped[str] = mapped_column(
        Text, Computed("split_part(name, ' - ', 1)", persisted=True)
    )
    fylkesnummer: Mapped[str] = mapped_column(
        String(2), ForeignKey("fylker.fylkesnummer", ondelete="RESTRICT"), index=True
    )
    population: Mapped[int | None] = mapped_column(Integer)
    population_year: Mapped[int | None] = mapped_column(SmallInteger)
    area_km2: Mapped[float] = mapped_column(Double)
    geom: Mapped[Any] = mapped_column(
        Geometry("MULTIPOLYGON", srid=SRID, spatial_index=False), nullable=False
    )


class KommunePart(Base):
    """A kommune polygon cut by ``ST_Subdivide`` into pieces of at most 255 vertices.

    Point-in-polygon and nearest-polygon tests on a whole kommune walk tens of thousands of
    vertices; on these pieces the GiST index narrows the candidates to one or two small
    polygons, which makes ``geo.lookup`` a sub-millisecond query.
    """

    __tablename__ = "kommune_parts"
    __table_args__ = (Index("ix_kommune_parts_geom", "geom", postgresql_using="gist"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    kommunenummer: Mapped[str] = mapped_column(
        String(4), ForeignKey("kommuner.kommunenummer", ondelete="CASCADE"), index=True
    )
    geom: Mapped[Any] = mapped_column(
        Geometry("POLYGON", srid=SRID, spatial_index=False), nullable=False
    )
