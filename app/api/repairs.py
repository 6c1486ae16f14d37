"""/v1/repair-events, /v1/repairs and /v1/exports/ords.csv — repair cafés' events, repairs
logged by repair shops and cafés, ORDS v0.3 imports, and the open ORDS export."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Query, Request, Response, status
from fastapi.responses import StreamingResponse
from pydantic import AwareDatetime

from app.api.deps import ClockDep, PrincipalDep, SettingsDep
from app.api.params import AUTH_PROBLEMS as _AUTH
from app.api.params import CursorQuery, KommuneQuery, LimitQuery
from app.db import SessionDep
from app.errors import (
    ForbiddenError,
    ForeignRepairEventError,
    ImportInProgressError,
    ImportNotFoundError,
    InsufficientScopeError,
    InvalidCursorError,
    InvalidInputError,
    NotAMemberError,
    OrganizationNotFoundError,
    PointOutsideNorwayError,
    RepairEventNotFoundError,
    RepairNotEditableError,
    RepairNotFoundError,
    UnknownCategoryError,
    UnknownKommuneError,
    UnknownRepairEventError,
    UnsupportedMediaTypeError,
    WrongOrganizationError,
    problem_responses,
)
from app.models.repair import RepairStatusCode
from app.render.ords import ords_csv_stream
from app.schemas.repair import (
    ORDS_CSV_EXAMPLE,
    REPAIR_CREATE_EXAMPLES,
    REPAIR_EVENT_CREATE_EXAMPLES,
    REPAIR_EVENT_UPDATE_EXAMPLES,
    REPAIR_UPDATE_EXAMPLES,
    ImportJobPage,
    ImportJobRead,
    RepairCreate,
    RepairEventCreate,
    RepairEventPage,
    RepairEventRead,
    RepairEventUpdate,
    RepairPage,
    RepairRead,
    RepairUpdate,
)
from app.services import repair as service
from app.services import repair_import as import_service
from app.services.ords import ORDS_CSV_MEDIA_TYPE, OrdsFileError

router = APIRouter(tags=["repairs"])

EventIdPath = Annotated[uuid.UUID, Path(description="The repair event's id")]
RepairIdPath = Annotated[uuid.UUID, Path(description="The repair's id")]

# WRITE_LISTINGS needs no more than membership, so insufficient_role never arises.
_ORG = (NotAMemberError, InsufficientScopeError, WrongOrganizationError)
CSV_MEDIA_TYPES = frozenset({"text/csv", "application/csv"})
EXPORT_FILENAME = "sirkel-ords-v0.3.csv"
EXPORT_LICENSE = "https://creativecommons.org/licenses/by-sa/4.0/"
EXPORT_ATTRIBUTION = (
    "Repair data by Sirkel and the data providers named in each record, in the Open Repair "
    "Data Standard v0.3 (Open Repair Alliance); CC BY-SA 4.0"
)
_EXPORT_HEADERS = {
    "Content-Disposition": f'attachment; filename="{EXPORT_FILENAME}"',
    "Link": f'<{EXPORT_LICENSE}>; rel="license"',
    "X-Data-Attribution": EXPORT_ATTRIBUTION,
}


# --- repair events ----------------------------------------------------------------------------


@router.post(
    "/v1/repair-events",
    status_code=status.HTTP_201_CREATED,
    response_model=RepairEventRead,
    summary="Announce a repair event",
    description="A repair café evening or a repair day, organised by `organization_id` "
    "(members of it, or its API keys with `listings:write`). `starts_at` and `ends_at` carry "
    "a time zone; the event ends after it starts and lasts at most 7 days. Place it by "
    "`location` (a GeoJSON Point; its kommune is looked up, a point outside Norway is `422 "
    "outside_norway`) or by `kommunenummer`; when both are given they must agree. Participants "
    "and volunteers are usually filled in afterwards with `PATCH`.",
    responses=problem_responses(
        *_AUTH,
        *_ORG,
        OrganizationNotFoundError,
        UnknownKommuneError,
        PointOutsideNorwayError,
        InvalidInputError,
        422,
    ),
)
async def create_repair_event(
    body: Annotated[RepairEventCreate, Body(openapi_examples=REPAIR_EVENT_CREATE_EXAMPLES)],
    session: SessionDep,
    principal: PrincipalDep,
    now: ClockDep,
    response: Response,
) -> RepairEventRead:
    event = await service.create_event(session, principal=principal, data=body, now=now)
    response.headers["Location"] = f"/v1/repair-events/{event.id}"
    return event


@router.get(
    "/v1/repair-events",
    response_model=RepairEventPage,
    summary="Find repair events",
    description="Public: every announced repair event, the earliest first, optionally only "
    "one organization's, one kommune's, or those starting at or after `from` and before "
    "`to` (times with a time zone, e.g. `2026-12-01T00:00:00Z`). Keyset-paginated by "
    "`cursor`.",
    responses=problem_responses(UnknownKommuneError, InvalidCursorError, 422),
)
async def list_repair_events(
    session: SessionDep,
    organization_id: Annotated[
        uuid.UUID | None, Query(description="Only this organization's events")
    ] = None,
    kommune: KommuneQuery = None,
    from_: Annotated[
        AwareDatetime | None,
        Query(
            alias="from",
            description="Only events starting at or after this time",
            examples=["2026-12-01T00:00:00Z"],
        ),
    ] = None,
    to: Annotated[
        AwareDatetime | None,
        Query(
            description="Only events starting before this time", examples=["2027-01-01T00:00:00Z"]
        ),
    ] = None,
    limit: LimitQuery = 20,
    cursor: CursorQuery = None,
) -> RepairEventPage:
    return await service.list_events(
        session,
        organization_id=organization_id,
        kommunenummer=kommune,
        starts_from=from_,
        starts_to=to,
        cursor=cursor,
        limit=limit,
    )


@router.get(
    "/v1/repair-events/{event_id}",
    response_model=RepairEventRead,
    summary="Get one repair event",
    description="Public: an announced repair event.",
    responses=problem_responses(RepairEventNotFoundError, 422),
)
async def get_repair_event(session: SessionDep, event_id: EventIdPath) -> RepairEventRead:
    return await service.get_event(session, event_id=event_id)


@router.patch(
    "/v1/repair-events/{event_id}",
    response_model=RepairEventRead,
    summary="Change a repair event",
    description="The organiser (its members, or its API keys with `listings:write`) changes "
    "the fields sent — typically `participants` and `volunteers` after the event; `null` "
    "clears an optional field. The result must still be a valid event. With a location, the "
    "kommune always follows from it. Repairs already logged at the event keep their kommune.",
    responses=problem_responses(
        *_AUTH,
        *_ORG,
        RepairEventNotFoundError,
        UnknownKommuneError,
        PointOutsideNorwayError,
        InvalidInputError,
        422,
    ),
)
async def update_repair_event(
    body: Annotated[RepairEventUpdate, Body(openapi_examples=REPAIR_EVENT_UPDATE_EXAMPLES)],
    session: SessionDep,
    principal: PrincipalDep,
    now: ClockDep,
    event_id: EventIdPath,
) -> RepairEventRead:
    return await service.update_event(
        session, principal=principal, event_id=event_id, changes=body, now=now
    )


# --- repairs ----------------------------------------------------------------------------------


@router.post(
    "/v1/repairs",
    status_code=status.HTTP_201_CREATED,
    response_model=RepairRead,
    summary="Log a repair",
    description="A repair shop or café logs one repaired (or not) item for `organization_id` "
    "(members, or API keys with `listings:write`), optionally at one of the organization's "
    "own repair events (`event_id`; another organization's event is `422 "
    "event_of_another_organization`). Give our `category` (the ORDS product category is "
    "that of the category or its nearest ancestor with one, else 18 Misc) or an ORDS "
    "`product_category_id`. `repair_barrier` only goes with `End of life`. `event_date` "
    "defaults to the event's day, else today (Norwegian time), and cannot be in the future; "
    "the kommune is the event's, else the organization's.\n\n"
    "A Fixed repair of a category with a reuse factor avoids half the CO2e of a new product "
    "and diverts its weight (The Restart Project's method): a laptop is 132.66 kg CO2e and "
    "1.834 kg. The figures, with the factor revision used, are stored and counted in the "
    "evidence ledger.",
    responses=problem_responses(
        *_AUTH,
        *_ORG,
        OrganizationNotFoundError,
        UnknownCategoryError,
        UnknownRepairEventError,
        ForeignRepairEventError,
        InvalidInputError,
        422,
    ),
)
async def create_repair(
    body: Annotated[RepairCreate, Body(openapi_examples=REPAIR_CREATE_EXAMPLES)],
    session: SessionDep,
    principal: PrincipalDep,
    now: ClockDep,
    response: Response,
) -> RepairRead:
    repair = await service.create_repair(session, principal=principal, data=body, now=now)
    response.headers["Location"] = f"/v1/repairs/{repair.id}"
    return repair


@router.get(
    "/v1/repairs",
    response_model=RepairPage,
    summary="An organization's repairs",
    description="The repairs an organization logged, imported or reported through "
    "transactions, the latest day first: for its members and its API keys with "
    "`listings:write`, and for moderators and analysts. Filter by `event_id` and `status`; "
    "keyset-paginated by `cursor`.",
    responses=problem_responses(*_AUTH, *_ORG, OrganizationNotFoundError, InvalidCursorError, 422),
)
async def list_repairs(
    session: SessionDep,
    principal: PrincipalDep,
    organization_id: Annotated[uuid.UUID, Query(description="Whose repairs")],
    event_id: Annotated[uuid.UUID | None, Query(description="Only those at this event")] = None,
    status_: Annotated[
        RepairStatusCode | None,
        Query(alias="status", description="Only this outcome", examples=["Fixed"]),
    ] = None,
    limit: LimitQuery = 20,
    cursor: CursorQuery = None,
) -> RepairPage:
    return await service.list_repairs(
        session,
        principal=principal,
        organization_id=organization_id,
        event_id=event_id,
        status=status_,
        cursor=cursor,
        limit=limit,
    )


_IMPORT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "An ORDS v0.3 CSV file (UTF-8, header line first), plain or gzip "
        "(`Content-Encoding: gzip`, `Content-Type: application/gzip`, or gzip bytes), up to "
        "100 MiB as sent",
        "content": {
            "text/csv": {"schema": {"type": "string"}, "example": ORDS_CSV_EXAMPLE},
            "application/gzip": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}
GZIP_MEDIA_TYPES = frozenset({"application/gzip", "application/x-gzip"})
ImportIdPath = Annotated[uuid.UUID, Path(description="The import's id")]


@router.post(
    "/v1/repairs/import",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ImportJobRead,
    summary="Import an ORDS v0.3 file (a job)",
    description="Upload repair records in the Open Repair Data Standard v0.3 for "
    "`organization_id` (members, or API keys with `listings:write`). Answers `202` with the "
    "import job at once (`Location: /v1/imports/{id}`); the worker validates and applies it "
    "(`GET /v1/imports/{id}`: state, progress, counts, errors).\n\n"
    "**The file.** CSV, or gzip (`Content-Encoding: gzip`, `Content-Type: application/gzip`, "
    "or simply gzip bytes), up to 100 MiB as sent (`413`) and 2,000,000 rows. The header is "
    "checked now (`422 invalid_ords_file`); the rows by the worker, every one in a single "
    "pass: a file with any invalid row is `failed` with `error_count` and the first 100 "
    "errors by line and column, and nothing is written.\n\n"
    "**Modes.** `mode=append` (default): new records (by `data_provider` and `id`) are "
    "added, stored ones left as they are. `mode=release`: the file is its providers' "
    "complete current data — new records are added, changed ones restated (the counted "
    "record taken back on its day and counted again as the release has it), records this "
    "organization imported earlier from those providers and the release no longer has are "
    "withdrawn (taken back), and withdrawn ones that return are counted again. Importing "
    "release N and then N+1 leaves the figures as N+1 alone. `release` names the "
    "provider's release (kept on each record it writes).\n\n"
    "**Never blocking.** Rows are applied in short batches, each holding the evidence "
    "ledger for one batch only, so repairs logged meanwhile are never refused. One "
    "unfinished import per organization (`409 import_in_progress`): releases apply in order. "
    "Records another organization imported are left to it (`skipped`). Records keep their "
    "country; only Norway's are counted in the figures.",
    openapi_extra=_IMPORT_BODY,
    responses={
        202: {"headers": {"Location": {"description": "The job", "schema": {"type": "string"}}}},
        **problem_responses(
            *_AUTH,
            *_ORG,
            OrganizationNotFoundError,
            OrdsFileError,
            ImportInProgressError,
            UnsupportedMediaTypeError,
            413,
            422,
        ),
    },
)
async def import_repairs(
    request: Request,
    response: Response,
    session: SessionDep,
    principal: PrincipalDep,
    now: ClockDep,
    settings: SettingsDep,
    organization_id: Annotated[uuid.UUID, Query(description="Who imports")],
    mode: Annotated[
        Literal["append", "release"],
        Query(description="`append` (add new records) or `release` (the complete current data)"),
    ] = "append",
    release: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=100,
            description="The provider's name of the release (e.g. `2025-07`)",
            examples=["2025-07"],
        ),
    ] = None,
) -> ImportJobRead:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if media_type not in CSV_MEDIA_TYPES | GZIP_MEDIA_TYPES or encoding not in (
        "identity",
        "gzip",
    ):
        raise UnsupportedMediaTypeError(
            "Send the ORDS file as text/csv (optionally with Content-Encoding: gzip), or as "
            "application/gzip."
        )
    gzipped = True if media_type in GZIP_MEDIA_TYPES or encoding == "gzip" else None
    job = await import_service.upload(
        session,
        principal=principal,
        organization_id=organization_id,
        mode=mode,
        release=release,
        gzipped=gzipped,
        body=request.stream(),
        settings=settings.imports,
        now=now,
    )
    response.headers["Location"] = f"/v1/imports/{job.id}"
    return job


@router.get(
    "/v1/imports/{import_id}",
    response_model=ImportJobRead,
    summary="One import job",
    description="State (`queued`, `validating`, `writing`, `done`, `failed`), progress "
    "(`counts.written` of `counts.rows`), what it did (inserted, restated, updated, "
    "reinstated, unchanged, withdrawn, skipped) and, for a file with invalid rows, "
    "`error_count` and the first 100 errors. For the importing organization's members (and "
    "its API keys with `listings:write`), moderators and analysts.",
    responses=problem_responses(*_AUTH, *_ORG, ForbiddenError, ImportNotFoundError, 422),
)
async def get_import(
    session: SessionDep, principal: PrincipalDep, import_id: ImportIdPath
) -> ImportJobRead:
    return await import_service.get_import(session, principal=principal, import_id=import_id)


@router.get(
    "/v1/imports",
    response_model=ImportJobPage,
    summary="An organization's imports",
    description="The organization's ORDS imports, newest first, cursor-paged. For its members "
    "(and its API keys with `listings:write`), moderators and analysts.",
    responses=problem_responses(
        *_AUTH, *_ORG, ForbiddenError, OrganizationNotFoundError, InvalidCursorError, 422
    ),
)
async def list_imports(
    session: SessionDep,
    principal: PrincipalDep,
    organization_id: Annotated[uuid.UUID, Query(description="Whose imports")],
    cursor: CursorQuery = None,
    limit: LimitQuery = 20,
) -> ImportJobPage:
    return await import_service.list_imports(
        session, principal=principal, organization_id=organization_id, cursor=cursor, limit=limit
    )


@router.get(
    "/v1/repairs/{repair_id}",
    response_model=RepairRead,
    summary="Get one repair",
    description="For members of the repair's organization (and its API keys with "
    "`listings:write`), moderators and analysts. Everyone else gets `403`; the open, "
    "anonymised view of every repair is the ORDS export.",
    responses=problem_responses(*_AUTH, *_ORG, ForbiddenError, RepairNotFoundError, 422),
)
async def get_repair(
    session: SessionDep, principal: PrincipalDep, repair_id: RepairIdPath
) -> RepairRead:
    return await service.get_repair(session, principal=principal, repair_id=repair_id)


@router.patch(
    "/v1/repairs/{repair_id}",
    response_model=RepairRead,
    summary="Correct a repair",
    description="Members of the repair's organization (or its API keys with "
    "`listings:write`) correct a repair they logged: the fields sent change, `null` clears "
    "an optional one, a new outcome other than End of life clears the barrier. The impact is "
    "computed again; when what counts changes (outcome, category, kg, CO2e, factor "
    "revision), the evidence ledger takes the counted record back and counts the repair again "
    "(`corrected`). `updated_at` moves, so the repair is in the ORDS export's "
    "`updated_since`. Repairs from transactions are corrected through the transaction and "
    "imported ones not at all (`409 repair_not_editable`).",
    responses=problem_responses(
        *_AUTH,
        *_ORG,
        ForbiddenError,
        RepairNotFoundError,
        RepairNotEditableError,
        UnknownCategoryError,
        InvalidInputError,
        422,
    ),
)
async def update_repair(
    body: Annotated[RepairUpdate, Body(openapi_examples=REPAIR_UPDATE_EXAMPLES)],
    session: SessionDep,
    principal: PrincipalDep,
    now: ClockDep,
    repair_id: RepairIdPath,
) -> RepairRead:
    return await service.update_repair(
        session, principal=principal, repair_id=repair_id, changes=body, now=now
    )


# --- the open ORDS export -----------------------------------------------------------------------


@router.get(
    "/v1/exports/ords.csv",
    response_class=StreamingResponse,
    summary="Every repair as ORDS v0.3 (open data)",
    description="Public open data: every repair in Sirkel — logged by repair shops and cafés, "
    "reported through repair transactions, and imported — as an Open Repair Data Standard "
    "v0.3 CSV file: the 14 ORDS columns in the standard's order, one line per repair, UTF-8, "
    "ids `sirkel_<n>` that never change, `data_provider` as each record came (Sirkel, or the "
    "original provider of an imported record). No person is named: the problem text is "
    "stripped of e-mail addresses, telephone numbers, links and long numbers, and cells a "
    "spreadsheet would run as a formula start with `'`. An imported record that its "
    "provider's later release withdrew (`POST /v1/repairs/import?mode=release`) is left "
    "out.\n\n"
    "`updated_since` (a time with a time zone) returns only repairs logged or changed since "
    "then, for incremental updates.\n\n"
    f"**Licence:** CC BY-SA 4.0 ({EXPORT_LICENSE}), like the Open Repair Alliance's own "
    "data. Attribute *Sirkel and the data providers named in the data*; the `Link` "
    '(`rel="license"`) and `X-Data-Attribution` headers say the same.',
    responses={
        200: {
            "description": "The ORDS file, streamed",
            "content": {"text/csv": {"schema": {"type": "string"}, "example": ORDS_CSV_EXAMPLE}},
            "headers": {
                name: {"schema": {"type": "string"}, "example": value}
                for name, value in _EXPORT_HEADERS.items()
            },
        },
        **problem_responses(422),
    },
)
async def export_ords(
    request: Request,
    updated_since: Annotated[
        AwareDatetime | None,
        Query(
            description="Only repairs logged or changed at or after this time",
            examples=["2026-11-01T00:00:00Z"],
        ),
    ] = None,
) -> StreamingResponse:
    return StreamingResponse(
        ords_csv_stream(
            service.ords_export(request.app.state.read_sessionmaker, updated_since=updated_since)
        ),
        media_type=ORDS_CSV_MEDIA_TYPE,
        headers=_EXPORT_HEADERS,
    )
