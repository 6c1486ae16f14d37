"""Counts of searchable listings per map cell, for low-zoom vector tiles.

A tile at zoom ``z`` shows its listings as a grid of 32 by 32 counted cells; those cells are
the cells of level ``z + 5`` of one global Web Mercator grid. ``listing_tile_cells`` keeps, for
the levels of zoom 0 to ``ROLLUP_MAX_ZOOM``, how many searchable (active, not hidden)
listings of each kind, mode and category every cell holds, and in all (the row with kind,
mode and category ``'*'``, which an unfiltered map reads), with the sums of their Mercator
coordinates (the cell's point is their mean). The trigger ``listings_tile_cells_sync``
updates it in the same transaction as every write to ``listings``, so a tile read from it
never disagrees with the table; ``python -m app.cli maintain`` rebuilds it whole after bulk
loads. A z5 tile over southern Norway then sums a few thousand rows instead of aggregating
hundreds of thousands of listings.

Listings past their expiry that the periodic tick has not yet marked are still counted
here; the tile query subtracts them (a handful, through ``ix_listings_expiring``).
"""

from __future__ import annotations

from sqlalchemy import CheckConstraint, Double, Integer, SmallInteger, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base

# Zoom levels below the point tiles that read the rollup; tiles of zoom 9 to 11 cover at most
# a region and aggregate the listings themselves.
ROLLUP_MAX_ZOOM = 8
# 2^5 = 32 cells per tile side.
GRID_LEVELS = 5


class ListingTileCell(Base):
    __tablename__ = "listing_tile_cells"
    __table_args__ = (
        CheckConstraint(
            f"level BETWEEN {GRID_LEVELS} AND {ROLLUP_MAX_ZOOM + GRID_LEVELS}", name="level_range"
        ),
        CheckConstraint("n >= 0", name="count_not_negative"),
    )

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    cx: Mapped[int] = mapped_column(Integer, primary_key=True)
    cy: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(Text, primary_key=True)
    # '' stands for "none" (a repair service has no mode; not every listing has a category).
    mode: Mapped[str] = mapped_column(Text, primary_key=True)
    category: Mapped[str] = mapped_column(Text, primary_key=True)
    n: Mapped[int] = mapped_column(Integer)
    sum_mx: Mapped[float] = mapped_column(Double)
    sum_my: Mapped[float] = mapped_column(Double)
