"""Small pieces of SQL the repositories share."""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

from sqlalchemy import inspect, select
from sqlalchemy.dialects.postgresql import Insert, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from app.models.base import Base

_Row = TypeVar("_Row", bound=Base)
_Value = TypeVar("_Value")


def escape_like(value: str) -> str:
    """``value`` matched literally inside a ``LIKE``/``ILIKE`` pattern (with ``ESCAPE '\\'``)."""
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def fresh_row(
    session: AsyncSession, model: type[_Row], row_id: uuid.UUID, *, for_update: bool = False
) -> _Row | None:
    """The row of ``model`` with primary key ``row_id``, read from the database even when the
    session already holds it (``populate_existing``); ``for_update`` locks it."""
    (key,) = inspect(model).primary_key
    stmt = select(model).where(key == row_id).execution_options(populate_existing=True)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def all_values(session: AsyncSession, column: InstrumentedAttribute[_Value]) -> set[_Value]:
    """Every value of ``column`` (a reference table's keys, for checking input against)."""
    return set((await session.execute(select(column))).scalars())


def upsert(model: type[Base], key: InstrumentedAttribute[Any], columns: tuple[str, ...]) -> Insert:
    """``INSERT … ON CONFLICT (key) DO UPDATE`` that overwrites ``columns`` with the incoming
    row's values; executed with a list of rows (reference data loading)."""
    stmt = insert(model)
    return stmt.on_conflict_do_update(
        index_elements=[key], set_={column: stmt.excluded[column] for column in columns}
    )
