"""Small pieces of SQL text the repositories share."""

from __future__ import annotations


def escape_like(value: str) -> str:
    """``value`` matched literally inside a ``LIKE``/``ILIKE`` pattern (with ``ESCAPE '\\'``)."""
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
