"""What every CSV that Sirkel writes shares."""

from __future__ import annotations

from typing import Final

_FORMULA_PREFIXES: Final = ("=", "+", "-", "@", "\t", "\r")


def escape_formula(value: str) -> str:
    """``value`` with a leading ``'`` if a spreadsheet would read it as a formula (it starts
    with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return); OWASP's defence against CSV
    injection. Spreadsheets show the text without the quote."""
    return "'" + value if value.startswith(_FORMULA_PREFIXES) else value
