"""/v1/organizations/{id}/catalogue — a library imports its items from CSV
(``app.services.catalogue``)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request

from app.api.deps import ClockDep, PrincipalDep, SettingsDep
from app.api.params import AUTH_PROBLEMS
from app.api.repairs import CSV_MEDIA_TYPES
from app.db import SessionDep
from app.errors import (
    CatalogueFileError,
    CatalogueRefTakenError,
    InsufficientRoleError,
    InsufficientScopeError,
    InvalidCatalogueRowsError,
    NotAMemberError,
    OrganizationNotFoundError,
    UnsupportedMediaTypeError,
    WrongOrganizationError,
    problem_responses,
)
from app.schemas.organization import CatalogueImportResult
from app.services import catalogue as service

router = APIRouter(tags=["listings"])

CATALOGUE_EXAMPLE = (
    "ref,title,category,description,units,lat,lon,mode,condition\n"
    "BUA-0042,Slagdrill,power-tools,Bosch 18 V med to batterier,2,59.9127,10.7461,lend,good\n"
    "BUA-0043,Telt for fire,tents,Tunneltelt,1,59.9127,10.7461,lend,as_new\n"
)

_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The catalogue: UTF-8 CSV, a header line naming the columns (any order), "
        "one item per row; at most 2,000 rows.",
        "content": {"text/csv": {"schema": {"type": "string"}, "example": CATALOGUE_EXAMPLE}},
    }
}


@router.post(
    "/v1/organizations/{organization_id}/catalogue",
    response_model=CatalogueImportResult,
    summary="Import a library's catalogue",
    description="Upload the organization's items as CSV (`Content-Type: text/csv`): columns "
    "`title`, `category` (a slug), `lat`, `lon` (required), `description`, `units` (identical "
    "items, default 1), `mode` (`lend`, the default, or `rent` with `price_nok` and "
    "`price_period`), `condition`, `brand` and `ref` (your own number, kept as "
    "`details.catalogue_ref`). Members who may write listings, or API keys with "
    "`listings:write`.\n\n"
    "**All or nothing.** A file that cannot be read is `422 invalid_catalogue_file`; with "
    "invalid rows it is `422 invalid_catalogue_rows`, whose `errors` name each row's `line`, "
    "`column` and `message` (the first 100; `error_count` says how many in all). Then "
    "nothing is stored.\n\n"
    "**Run it again.** Rows whose `ref` the organization already has are skipped and counted "
    "as `duplicates`; refs are unique per organization in the database, and an import racing "
    "another with the same refs is `409 catalogue_ref_taken` (run it again). Items are drafts "
    "unless `publish=true`. Answers `200` with what was created.",
    openapi_extra=_BODY,
    responses=problem_responses(
        *AUTH_PROBLEMS,
        NotAMemberError,
        InsufficientRoleError,
        InsufficientScopeError,
        WrongOrganizationError,
        OrganizationNotFoundError,
        CatalogueFileError,
        InvalidCatalogueRowsError,
        CatalogueRefTakenError,
        UnsupportedMediaTypeError,
        413,
        422,
    ),
)
async def import_catalogue(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    now: ClockDep,
    settings: SettingsDep,
    organization_id: Annotated[uuid.UUID, Path(description="The library's id")],
    publish: Annotated[
        bool, Query(description="Create the items active (true) or as drafts")
    ] = False,
) -> CatalogueImportResult:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in CSV_MEDIA_TYPES:
        raise UnsupportedMediaTypeError("Send the catalogue as text/csv.")
    raw = await request.body()
    return await service.import_catalogue(
        session,
        principal=principal,
        organization_id=organization_id,
        raw=raw,
        publish=publish,
        now=now,
        settings=settings,
    )
