"""Bodies of /v1/impact: the indicator catalogue and aggregate rows."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.schemas.common import DecimalNumber

INDICATOR_EXAMPLE: dict[str, Any] = {
    "id": "sg2.loans.per_1000",
    "subgoal": "SG2",
    "name": {"nb": "Utlån og utleie per 1 000 innbyggere", "en": "Loans and rentals per 1,000"},
    "unit": "per 1,000 inhabitants",
    "definition": "Completed loans and rentals of items per 1,000 inhabitants of the area.",
    "counting_rule": "Loans + rentals / population x 1,000",
    "data_source": "Sirkel evidence ledger; Statistics Norway population (table 07459)",
    "factor_source": None,
    "group_by": ["fylke", "kommune", "month", "quarter", "year"],
}

ROW_EXAMPLE: dict[str, Any] = {
    "indicator": "sg1.repairs.count",
    "keys": {"year": "2026", "kommune": "0301"},
    "value": 412,
    "unit": "count",
    "records": 412,
    "suppressed": False,
    "suppression": None,
    "previous": {"period": "2025", "value": 380, "absolute": 32, "relative": 0.0842},
    "baseline": {"period": "2024", "value": 300, "absolute": 112, "relative": 0.3733},
}


# A figure of the aggregates: Decimal inside, a JSON number outside.
Figure = DecimalNumber


class IndicatorName(BaseModel):
    nb: str = Field(description="Norwegian bokmål")
    en: str = Field(description="English")


Relation = Literal["direct", "partial", "context"]


class FrameworkLink(BaseModel):
    """An indicator of another framework that a catalogue indicator informs."""

    framework: str = Field(description="`sdg`, `eu_cemf`, `eu_reuse_2021_19` or `ssb`")
    indicator: str = Field(description="The framework's own id (`12.5.1`, `cei_srm030`, `10513`)")
    name: str
    relation: Relation = Field(
        description="`direct` (a component of it), `partial` (informs a part of it), "
        "`context` (read beside it, not part of it)"
    )
    note: str = Field(description="What is partial, or why it is context only")
    url: str


class IndicatorRead(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": INDICATOR_EXAMPLE})

    id: str
    subgoal: str = Field(description="SG1 reuse and repair, SG2 sharing, SG3 business sharing")
    name: IndicatorName
    unit: str
    definition: str
    counting_rule: str
    data_source: str
    factor_source: str | None = Field(description="Where the impact factors come from")
    group_by: list[str] = Field(description="The groupings this indicator supports")
    frameworks: list[FrameworkLink] = Field(
        default_factory=list,
        description="The indicators of the SDG, EU and Statistics Norway frameworks it informs "
        "(see GET /v1/impact/frameworks)",
    )


class IndicatorCatalogue(BaseModel):
    indicators: list[IndicatorRead]
    suppression: str = Field(description="The rule applied to every aggregate cell")
    coverage: str = Field(
        default="",
        description="What the figures count: Norway's records (imported records from abroad "
        "are kept in the ledger but not counted)",
    )


class ChangeRead(BaseModel):
    period: str | None = Field(description="The period compared with")
    value: Figure | None = Field(description="Its value (null: suppressed or nothing)")
    absolute: Figure | None = Field(description="This row's value minus it")
    relative: Figure | None = Field(description="absolute / value (0.1 = +10 %)")


class ImpactRowRead(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": ROW_EXAMPLE})

    indicator: str
    keys: dict[str, str | None] = Field(
        description="One entry per group_by dimension: year `2026`, quarter `2026-Q1`, month "
        "`2026-01`, fylke and kommune numbers, sector, category slug (`ewc-17` for a "
        "European List of Waste chapter), initiative id, organization kind; null = none"
    )
    value: Figure | None = Field(description="null when suppressed (or a share of nothing)")
    unit: str
    records: int | None = Field(description="Evidence records behind the value (null: hidden)")
    suppressed: bool
    suppression: str | None = Field(
        description="`primary` (too few records or households) or `complementary` (hidden so "
        "that a primary cell cannot be recovered by subtraction)"
    )
    previous: ChangeRead | None = Field(description="Against the previous period")
    baseline: ChangeRead | None = Field(description="Against the baseline year, if asked")


class ImpactResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "indicators": [ROW_EXAMPLE["indicator"]],
                "group_by": list(ROW_EXAMPLE["keys"]),
                "from": "2026-01",
                "to": "2026-12",
                "evidence": "all",
                "population_year": 2024,
                "rows": [ROW_EXAMPLE],
            }
        },
        populate_by_name=True,
    )

    indicators: list[str]
    group_by: list[str]
    from_: str = Field(alias="from", description="First month (YYYY-MM)")
    to: str = Field(description="Last month (YYYY-MM), inclusive")
    evidence: str = Field(description="`all` or `confirmed`")
    population_year: int | None = Field(description="Year of the population figures used")
    rows: list[ImpactRowRead]


class InformedBy(BaseModel):
    indicator: str = Field(description="A Sirkel catalogue indicator")
    relation: Relation
    note: str


class FrameworkIndicatorRead(BaseModel):
    id: str = Field(description="The framework's own id")
    name: str
    unit: str
    url: str
    informed_by: list[InformedBy] = Field(description="Sirkel's indicators that inform it")


class FrameworkRead(BaseModel):
    id: str
    name: str
    publisher: str
    version: str = Field(description="The edition the ids and names are taken from, with caveats")
    url: str
    terms: str = Field(description="Licence or terms of reuse of the framework's material")
    indicators: list[FrameworkIndicatorRead]


class FrameworkCatalogue(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "frameworks": [
                    {
                        "id": "sdg",
                        "name": "Global indicator framework for the Sustainable Development Goals",
                        "publisher": "United Nations Statistical Commission (IAEG-SDGs)",
                        "version": "Annex to A/RES/71/313 with annual refinements",
                        "url": "https://sustainabledevelopment.un.org/sdg12",
                        "terms": "United Nations material; indicator names are public.",
                        "indicators": [
                            {
                                "id": "12.5.1",
                                "name": "National recycling rate, tons of material recycled",
                                "unit": "% of waste generated; tonnes recycled",
                                "url": "https://worldbank.github.io/sdg-metadata/metadata/en/"
                                "12-5-1",
                                "informed_by": [
                                    {
                                        "indicator": "sg1.reuse.kg",
                                        "relation": "context",
                                        "note": "Target 12.5 names reuse, but 12.5.1 measures "
                                        "recycling of waste; reused items never become waste.",
                                    }
                                ],
                            }
                        ],
                    }
                ],
                "relations": {
                    "direct": "Sirkel's figure is a component of the framework's indicator.",
                    "partial": "It informs a part of it.",
                    "context": "It is not part of it but should be read beside it.",
                },
            }
        }
    )

    frameworks: list[FrameworkRead]
    relations: dict[str, str] = Field(description="What each relation means")
