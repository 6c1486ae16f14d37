"""The organisasjonsnummer: the nine-digit number Brønnøysundregistrene gives every Norwegian
legal entity. The ninth digit is a MOD11 check digit over the first eight, with the weights
3, 2, 7, 6, 5, 4, 3, 2: ``r = 11 - (sum mod 11)``; ``r = 11`` gives 0 and ``r = 10`` is never
issued, so such a number is invalid."""

from __future__ import annotations

ORGNR_LENGTH = 9
_WEIGHTS = (3, 2, 7, 6, 5, 4, 3, 2)


def orgnr_check_digit(first_eight: str) -> int | None:
    """The check digit for eight digits, or ``None`` when no valid number starts with them."""
    if len(first_eight) != len(_WEIGHTS) or not first_eight.isascii() or not first_eight.isdigit():
        raise ValueError("expected eight ASCII digits")
    remainder = 11 - sum(w * int(d) for w, d in zip(_WEIGHTS, first_eight, strict=True)) % 11
    if remainder == 11:
        return 0
    if remainder == 10:
        return None
    return remainder


def is_valid_orgnr(value: str) -> bool:
    """True for nine ASCII digits whose last one is the MOD11 check digit of the others."""
    if len(value) != ORGNR_LENGTH or not value.isascii() or not value.isdigit():
        return False
    return orgnr_check_digit(value[:8]) == int(value[8])
