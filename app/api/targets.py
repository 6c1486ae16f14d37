"""/v1/impact/targets and /v1/impact/progress — the mission's måltall and how far along."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from app.api.deps import ClockDep, PrincipalDep
from app.api.params import AUTH_PROBLEMS as _AUTH
from app.api.params import CursorQuery, LimitQuery
from app.db import SessionDep, SnapshotSessionDep
from app.errors import (
    InvalidCursorError,
    InvalidTargetError,
    PersonRequiredError,
    RoleRequiredError,
    TargetChangedError,
    TargetNotFoundError,
    UnknownFylkeError,
    UnknownIndicatorError,
    UnknownKommuneError,
    problem_responses,
)
from app.models.target import TargetScope, TargetStatus
from app.schemas.target import (
    ProgressRead,
    TargetCreate,
    TargetPage,
    TargetRead,
    TargetUpdate,
    TargetVersions,
)
from app.services.impact import targets as service

router = APIRouter(prefix="/v1/impact", tags=["impact"])

TargetIdPath = Annotated[uuid.UUID, Path(description="The target's id")]
_ANALYSTS = (*_AUTH, PersonRequiredError, RoleRequiredError)
_CHECKS = (InvalidTargetError, UnknownIndicatorError, UnknownFylkeError, UnknownKommuneError)


@router.post(
    "/targets",
    status_code=status.HTTP_201_CREATED,
    response_model=TargetRead,
    summary="Propose a target (analysts)",
    description="A måltall for one indicator and scope (Norway, a fylke or a kommune, "
    "optionally one initiative): from a baseline year to a target year up to 2035, an "
    "absolute `target_value` or a `target_change_pct` from the baseline year's value, a `path` "
    "(`linear` or `annual_growth`), a status (`proposed`, `recommended`, `adopted`, "
    "`withdrawn`) with who decided and a reference. Analysts only.",
    responses=problem_responses(*_ANALYSTS, *_CHECKS, 422),
)
async def create_target(
    body: TargetCreate,
    session: SessionDep,
    principal: PrincipalDep,
    now: ClockDep,
    response: Response,
) -> TargetRead:
    target = await service.create_target(session, principal=principal, body=body, now=now)
    response.headers["Location"] = f"/v1/impact/targets/{target.id}"
    return target


@router.get(
    "/targets",
    response_model=TargetPage,
    summary="The targets",
    description="Every target's current version, by indicator; filter by indicator, scope, "
    "scope_code and status. Public.",
    responses=problem_responses(InvalidCursorError, 422),
)
async def list_targets(
    session: SessionDep,
    indicator: Annotated[str | None, Query(max_length=100)] = None,
    scope: TargetScope | None = None,
    scope_code: Annotated[str | None, Query(pattern=r"^[0-9]{2}([0-9]{2})?$")] = None,
    target_status: Annotated[TargetStatus | None, Query(alias="status")] = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> TargetPage:
    return await service.list_targets(
        session,
        indicator=indicator,
        scope=scope,
        scope_code=scope_code,
        status=target_status,
        cursor=cursor,
        limit=limit,
    )


@router.get(
    "/targets/{target_id}",
    response_model=TargetRead,
    summary="One target",
    description="Its current version, or `?version=` an earlier one (versions never change).",
    responses=problem_responses(TargetNotFoundError, 422),
)
async def get_target(
    session: SessionDep,
    target_id: TargetIdPath,
    version: Annotated[int | None, Query(ge=1, le=32767)] = None,
) -> TargetRead:
    return await service.get_target(session, target_id=target_id, version=version)


@router.get(
    "/targets/{target_id}/versions",
    response_model=TargetVersions,
    summary="A target's history",
    description="Every version of the target, oldest first: what changed, when, and on whose "
    "decision.",
    responses=problem_responses(TargetNotFoundError, 422),
)
async def target_versions(session: SessionDep, target_id: TargetIdPath) -> TargetVersions:
    return await service.target_versions(session, target_id=target_id)


@router.patch(
    "/targets/{target_id}",
    response_model=TargetRead,
    summary="Change a target (analysts)",
    description="Makes the next version from the current one with the fields given (for "
    "example `status: adopted` with `decided_by` and `reference_date`); the earlier versions "
    "stay readable. Giving `target_value` clears `target_change_pct` and the other way round. "
    "Two changes at once: the second is `409 target_changed`.",
    responses=problem_responses(*_ANALYSTS, TargetNotFoundError, TargetChangedError, *_CHECKS, 422),
)
async def update_target(
    body: TargetUpdate,
    session: SessionDep,
    principal: PrincipalDep,
    now: ClockDep,
    target_id: TargetIdPath,
) -> TargetRead:
    return await service.update_target(
        session, principal=principal, target_id=target_id, body=body, now=now
    )


@router.get(
    "/progress",
    response_model=ProgressRead,
    summary="Progress toward a target",
    description="`?target=` follows a target: the baseline year's value, each year's actual "
    "value so far, the path's expected value, the gap, the yearly growth still needed and a "
    "status (`on_track` within ±5 %, `ahead`, `behind`, `insufficient_data`). `?indicator=` "
    "and `?scope=` (`norway`, `fylke:46`, `kommune:4601`) give the last ten years' values "
    "without a target. The same small-count suppression as `GET /v1/impact` applies, and "
    "nothing shown is computed from a hidden year.",
    responses=problem_responses(TargetNotFoundError, *_CHECKS, 422),
)
async def read_progress(
    session: SnapshotSessionDep,
    now: ClockDep,
    target: Annotated[uuid.UUID | None, Query(description="A target's id")] = None,
    indicator: Annotated[str | None, Query(max_length=100)] = None,
    scope: Annotated[str | None, Query(max_length=20, examples=["kommune:5001"])] = None,
) -> ProgressRead:
    return await service.progress(
        session, target_id=target, indicator=indicator, scope=scope, now=now
    )
