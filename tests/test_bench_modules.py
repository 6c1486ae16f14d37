"""The benchmarks cannot rot silently at import: every module under bench/ imports, so their
import-time checks run — bench/impact_generate.py asserts that its hand-built canonical
records have exactly the ledger's fields, which migration 0034 broke unnoticed until a
benchmark was run (issue #17 asks for a smoke run of each workload; this is the first step)."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import bench

MODULES = sorted(m.name for m in pkgutil.iter_modules(bench.__path__) if not m.ispkg)


def test_there_are_benchmarks() -> None:
    assert {"run", "impact_generate", "imports", "photos", "outbox"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_every_benchmark_module_imports(name: str) -> None:
    importlib.import_module(f"bench.{name}")
