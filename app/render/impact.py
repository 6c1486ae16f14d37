"""``GET /v1/impact`` and its catalogue as they leave the house: the JSON bodies (the Pydantic
models of ``app.schemas.impact``, serialised by the route's ``response_model``) and the CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from decimal import Decimal

from app.render.csv import escape_formula
from app.schemas.common import json_number
from app.schemas.impact import (
    FrameworkCatalogue,
    FrameworkIndicatorRead,
    FrameworkLink,
    FrameworkRead,
    ImpactResponse,
    ImpactRowRead,
    IndicatorCatalogue,
    IndicatorName,
    IndicatorRead,
    InformedBy,
)
from app.services.impact.catalogue import Indicator
from app.services.impact.frameworks import RELATIONS, Frameworks
from app.services.impact.query import Change, ImpactResult

CSV_CHANGE_COLUMNS = (
    "previous_period",
    "previous_value",
    "change",
    "change_relative",
    "baseline_period",
    "baseline_value",
    "baseline_change",
    "baseline_change_relative",
)


def catalogue(
    indicators: Iterable[Indicator],
    *,
    min_records: int,
    min_households: int,
    frameworks: Frameworks,
) -> IndicatorCatalogue:
    """The indicator catalogue and the suppression rule applied to every cell."""
    return IndicatorCatalogue(
        indicators=[
            IndicatorRead(
                id=i.id,
                subgoal=i.subgoal,
                name=IndicatorName(nb=i.name_nb, en=i.name_en),
                unit=i.unit,
                definition=i.definition,
                counting_rule=i.counting_rule,
                data_source=i.data_source,
                factor_source=i.factor_source,
                group_by=sorted(i.dims),
                frameworks=[
                    FrameworkLink(
                        framework=m.framework,
                        indicator=m.indicator,
                        name=other.name,
                        relation=m.relation,
                        note=m.note,
                        url=other.url,
                    )
                    for m, other in frameworks.for_indicator(i.id)
                ],
            )
            for i in indicators
        ],
        suppression=(
            f"A cell built from 1-{min_records - 1} records, or counting 1-{min_households - 1} "
            "distinct households, is suppressed (value and records null), and so is the "
            "smallest other cell of any line (same keys but one dimension; kommune within its "
            "fylke, month within its quarter and year) that would otherwise hold exactly one "
            "suppressed cell."
        ),
        coverage=(
            "Norway: every indicator counts the ledger's records whose country is NOR. Records "
            "imported from repair networks abroad keep their country in the evidence ledger "
            "and are not counted, nationally or by place."
        ),
    )


def framework_catalogue(frameworks: Frameworks) -> FrameworkCatalogue:
    """Every framework with its indicators, each with the Sirkel indicators that inform it."""
    return FrameworkCatalogue(
        frameworks=[
            FrameworkRead(
                id=f.id,
                name=f.name,
                publisher=f.publisher,
                version=f.version,
                url=f.url,
                terms=f.licence_or_terms,
                indicators=[
                    FrameworkIndicatorRead(
                        id=i.id,
                        name=i.name,
                        unit=i.unit,
                        url=i.url,
                        informed_by=[
                            InformedBy(indicator=m.sirkel, relation=m.relation, note=m.note)
                            for m in frameworks.mappings
                            if (m.framework, m.indicator) == (f.id, i.id)
                        ],
                    )
                    for i in frameworks.indicators
                    if i.framework == f.id
                ],
            )
            for f in frameworks.frameworks
        ],
        relations={str(k): v for k, v in RELATIONS.items()},
    )


def impact_response(result: ImpactResult) -> ImpactResponse:
    query = result.query
    return ImpactResponse(
        indicators=[i.id for i in query.indicators],
        group_by=list(query.group_by),
        from_=f"{query.month_from:%Y-%m}",
        to=f"{query.month_to:%Y-%m}",
        evidence=query.evidence,
        population_year=result.population_year,
        # Row and Change carry the fields of ImpactRowRead and ChangeRead under their names.
        rows=[ImpactRowRead.model_validate(r, from_attributes=True) for r in result.rows],
    )


def _cell(value: Decimal | str | int | bool | None) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return str(json_number(value))  # a figure we computed; a negative one is no formula
    if isinstance(value, int):
        return str(value)
    # Keys are codes, but a CSV opened in a spreadsheet must never run a formula.
    return escape_formula(value)


def _change_cells(change: Change | None) -> list[Decimal | str | None]:
    if change is None:
        return [None, None, None, None]
    return [change.period, change.value, change.absolute, change.relative]


def impact_csv(result: ImpactResult) -> str:
    """The same rows as the JSON body, one line each (RFC 4180, CRLF)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    dims = list(result.query.group_by)
    head = ["indicator", *dims, "value", "unit", "records", "suppressed", "suppression"]
    writer.writerow([*head, *CSV_CHANGE_COLUMNS])
    for row in result.rows:
        cells = (
            row.indicator,
            *(row.keys.get(d) for d in dims),
            row.value,
            row.unit,
            row.records,
            row.suppressed,
            row.suppression,
            *_change_cells(row.previous),
            *_change_cells(row.baseline),
        )
        writer.writerow(_cell(v) for v in cells)
    return buffer.getvalue()
