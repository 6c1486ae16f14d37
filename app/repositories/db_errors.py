"""Reading PostgreSQL's diagnostics out of SQLAlchemy's wrapped asyncpg errors, so that a
repository can translate a constraint violation into a domain error (a 409, not a 500)."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError


def constraint_name(exc: DBAPIError) -> str | None:
    """The name of the violated constraint (or the ``CONSTRAINT`` a trigger raised with)."""
    cause: BaseException | None = exc.orig
    while cause is not None:
        name = getattr(cause, "constraint_name", None)
        if name:
            return str(name)
        cause = cause.__cause__
    return None


def sqlstate(exc: DBAPIError) -> str | None:
    """The SQLSTATE of the PostgreSQL error behind ``exc``, e.g. ``23505``."""
    cause: BaseException | None = exc.orig
    while cause is not None:
        state = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
        if state:
            return str(state)
        cause = cause.__cause__
    return None
