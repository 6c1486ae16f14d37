"""Loading the shipped reference data: idempotent, validated, all or nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import PROJECT_ROOT
from app.models import Kommune, KommunePart, ReferenceDataset
from app.services.reference_data import (
    CATEGORIES_DATASET,
    EWC_DATASET,
    GEOGRAPHY_DATASET,
    IMPACT_FACTORS,
    ORDS_CATEGORIES_DATASET,
    POPULATION_DATASET,
    REUSE_FACTORS_DATASET,
    ReferenceDataError,
    load_reference_data,
)

DATA = PROJECT_ROOT / "data"


async def test_second_load_is_skipped(session: AsyncSession) -> None:
    # The test database was loaded by `python -m app.cli load-reference` at session start.
    report = await load_reference_data(session, data_dir=DATA)
    assert report.loaded == {}
    assert sorted(report.skipped) == sorted(
        [
            GEOGRAPHY_DATASET,
            POPULATION_DATASET,
            REUSE_FACTORS_DATASET,
            ORDS_CATEGORIES_DATASET,
            CATEGORIES_DATASET,
            EWC_DATASET,
            IMPACT_FACTORS,
        ]
    )


async def test_forced_reload_keeps_the_same_rows(session: AsyncSession) -> None:
    report = await load_reference_data(session, data_dir=DATA, force=True)
    assert report.loaded["kommuner"] == 357
    assert report.loaded["fylker"] == 15
    assert report.loaded["population"] == 357
    assert await session.scalar(select(func.count()).select_from(Kommune)) == 357
    parts = await session.scalar(select(func.count()).select_from(KommunePart))
    assert parts == report.loaded["kommune_parts"]
    assert parts is not None
    assert parts > 357
    # No piece has more than 255 vertices.
    assert await session.scalar(select(func.max(func.ST_NPoints(KommunePart.geom)))) <= 255


async def test_population_for_unknown_kommune_is_refused(
    session: AsyncSession, tmp_path: Path
) -> None:
    for name in ("kommuner_2024.geojson", "fylker_2024.geojson"):
        shutil.copy(DATA / name, tmp_path / name)
    (tmp_path / "kommune_population.csv").write_text(
        "kommunenummer,kommunenavn,population,year\n0301,Oslo,1,2024\n9999,Atlantis,5,2024\n"
    )
    with pytest.raises(ReferenceDataError, match="9999"):
        await load_reference_data(session, data_dir=tmp_path)


async def test_missing_file_is_a_clear_error(session: AsyncSession, tmp_path: Path) -> None:
    with pytest.raises(ReferenceDataError, match="reference file missing"):
        await load_reference_data(session, data_dir=tmp_path)
    recorded = await session.scalar(
        select(ReferenceDataset.sha256).where(ReferenceDataset.name == GEOGRAPHY_DATASET)
    )
    assert recorded is not None  # the earlier load is untouched
