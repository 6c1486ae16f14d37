"""Response shapes of the category taxonomy."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Language(StrEnum):
    """Languages category names exist in (BCP 47 tags, as sent in ``Content-Language``)."""

    NB = "nb"
    EN = "en"


class CategoryNames(BaseModel):
    nb: str = Field(description="Norwegian bokmål")
    en: str = Field(description="English")


class OrdsCategoryRef(BaseModel):
    id: int = Field(ge=1, le=40, description="ORDS v0.3 product category id")
    name: str = Field(description="ORDS product category name, e.g. `Laptop`")


class CategoryRef(BaseModel):
    """A category in a breadcrumb."""

    slug: str
    name: str = Field(description="In the negotiated language (see `Content-Language`)")


class _CategoryFields(BaseModel):
    slug: str = Field(description="Stable identifier (lowercase ASCII kebab-case); store this")
    name: str = Field(description="In the negotiated language (see `Content-Language`)")
    names: CategoryNames
    parent_slug: str | None = Field(description="null for a top-level category")
    reuse_factor_category: str | None = Field(
        description="Product category of The Restart Project's reuse factors (average weight "
        "and CO2e of a new item) used for impact figures: the category's own, or that of its "
        "nearest ancestor that has one"
    )
    ords_category: OrdsCategoryRef | None = Field(
        description="Open Repair Data Standard product category, for electrical and electronic "
        "items only; taken together with `reuse_factor_category` (same category or ancestor)"
    )


class CategoryNode(_CategoryFields):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "slug": "laptops",
                "name": "Bærbare PC-er",
                "names": {"nb": "Bærbare PC-er", "en": "Laptops"},
                "parent_slug": "computers",
                "reuse_factor_category": "Laptop medium",
                "ords_category": {"id": 16, "name": "Laptop"},
                "children": [],
            }
        }
    )

    children: list[CategoryNode] = Field(description="Sub-categories, ordered for display")


class CategoryTree(BaseModel):
    items: list[CategoryNode] = Field(description="Top-level categories, ordered for display")


class CategoryRead(_CategoryFields):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "slug": "computers",
                "name": "Datamaskiner",
                "names": {"nb": "Datamaskiner", "en": "Computers"},
                "parent_slug": "electronics",
                "reuse_factor_category": "Small home electrical",
                "ords_category": {"id": 28, "name": "Small home electrical"},
                "ancestors": [{"slug": "electronics", "name": "Elektronikk"}],
                "children": [
                    {
                        "slug": "laptops",
                        "name": "Bærbare PC-er",
                        "names": {"nb": "Bærbare PC-er", "en": "Laptops"},
                        "parent_slug": "computers",
                        "reuse_factor_category": "Laptop medium",
                        "ords_category": {"id": 16, "name": "Laptop"},
                        "children": [],
                    }
                ],
            }
        }
    )

    ancestors: list[CategoryRef] = Field(
        description="The breadcrumb: from the top-level category down to the parent"
    )
    children: list[CategoryNode] = Field(description="The whole sub-tree, ordered for display")
