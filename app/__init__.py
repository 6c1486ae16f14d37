"""Sirkel: the backend of a sharing, reuse and repair marketplace for Norway."""

__version__ = "0.1.0"
