"""Declarative base with a naming convention, so constraint and index names are predictable
in migrations and in the errors that repositories translate."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import MetaData, Uuid, func
from sqlalchemy.orm import DeclarativeBase, MappedColumn, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def sql_in(column: str, values: Iterable[object]) -> str:
    """``column IN ('a', 'b')`` for a CHECK constraint over a fixed set of values (enum members
    are written as their values), in the order given."""
    return f"{column} IN ({', '.join(repr(str(v)) for v in values)})"


def uuid_pk() -> MappedColumn[uuid.UUID]:
    """A UUID primary key the database draws (``DEFAULT gen_random_uuid()``)."""
    return mapped_column(Uuid, primary_key=True, server_default=func.gen_random_uuid())


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
