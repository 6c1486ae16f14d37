"""The indicator frameworks Sirkel's indicators are read beside: ``GET /v1/impact/frameworks``.

The national partnership's mandate asks for Sirkel's indicators to be seen together with the
national follow-up of the Sustainable Development Goals and other indicator frameworks. The
mapping lives in ``data/indicator_frameworks.json`` (researched from the frameworks' own
pages; see ``data/README.md``), with four frameworks — the UN SDG indicators (Goal 12), the
EU circular economy monitoring framework (2023 revision, Eurostat's ``cei_*`` datasets), the
reuse reporting of Implementing Decision (EU) 2021/19, and Statistics Norway's tables — their
indicators, and which of Sirkel's indicators inform which of theirs:

* ``direct``: Sirkel's figure is a component of theirs (none is, today);
* ``partial``: it informs a part of theirs (the note says which part, and what is missing);
* ``context``: it is not part of theirs, but should be read beside it.

The file is read and checked once per process: every Sirkel id must be in the catalogue and
every mapped indicator listed under its framework, or the process does not start answering.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, model_validator

from app.config import PROJECT_ROOT
from app.services.impact.catalogue import BY_ID

FRAMEWORKS_FILE = PROJECT_ROOT / "data" / "indicator_frameworks.json"

Relation = Literal["direct", "partial", "context"]

RELATIONS: dict[Relation, str] = {
    "direct": "Sirkel's figure is a component of the framework's indicator (same unit, or "
    "convertible).",
    "partial": "Sirkel's figure informs a part of the framework's indicator; the note says "
    "which part and what is missing.",
    "context": "Sirkel's figure is not part of the framework's indicator but should be read "
    "beside it; the note says why.",
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Framework(_Strict):
    id: str
    name: str
    publisher: str
    version: str
    url: str
    licence_or_terms: str


class FrameworkIndicator(_Strict):
    id: str
    framework: str
    name: str
    url: str
    unit: str


class Mapping(_Strict):
    sirkel: str
    framework: str
    indicator: str
    relation: Relation
    note: str


class Frameworks(_Strict):
    frameworks: tuple[Framework, ...]
    indicators: tuple[FrameworkIndicator, ...]
    mappings: tuple[Mapping, ...]

    @model_validator(mode="after")
    def _consistent(self) -> Frameworks:
        known = {f.id for f in self.frameworks}
        listed = {(i.framework, i.id) for i in self.indicators}
        if len(listed) != len(self.indicators):
            raise ValueError("an indicator is listed twice under one framework")
        for indicator in self.indicators:
            if indicator.framework not in known:
                raise ValueError(f"{indicator.id}: unknown framework {indicator.framework!r}")
        for m in self.mappings:
            if m.sirkel not in BY_ID:
                raise ValueError(f"{m.sirkel!r} is not in the indicator catalogue")
            if (m.framework, m.indicator) not in listed:
                raise ValueError(f"{m.framework}/{m.indicator} is not listed in indicators")
        return self

    def for_indicator(self, sirkel: str) -> list[tuple[Mapping, FrameworkIndicator]]:
        """What one catalogue indicator informs, in the file's order."""
        by_key = {(i.framework, i.id): i for i in self.indicators}
        return [
            (m, by_key[(m.framework, m.indicator)]) for m in self.mappings if m.sirkel == sirkel
        ]


@cache
def frameworks() -> Frameworks:
    """The mapping of ``data/indicator_frameworks.json``, read and checked once."""
    return Frameworks.model_validate(json.loads(FRAMEWORKS_FILE.read_text(encoding="utf-8")))
