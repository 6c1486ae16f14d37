"""The response examples OpenAPI shows are responses the models accept: a changed model with a
stale example fails here, not in a client generated from the document."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from app.schemas.hold import HoldPage, HoldRead
from app.schemas.library_member import LibraryMemberPage, LibraryMemberRead
from app.schemas.organization import CatalogueImportResult, LendingStats
from app.schemas.transaction import (
    LoanPage,
    LoanRead,
    TransactionPage,
    TransactionRead,
    UnitList,
    UnitRead,
)


@pytest.mark.parametrize(
    "model",
    [
        TransactionRead,
        TransactionPage,
        LoanRead,
        LoanPage,
        HoldRead,
        HoldPage,
        UnitRead,
        UnitList,
        LibraryMemberRead,
        LibraryMemberPage,
        CatalogueImportResult,
        LendingStats,
    ],
)
def test_the_example_is_a_valid_response(model: type[BaseModel]) -> None:
    extra = model.model_config.get("json_schema_extra")
    assert isinstance(extra, dict)
    example = extra["example"]
    model.model_validate(example)
    schema = model.model_json_schema()
    assert schema["example"] == example
