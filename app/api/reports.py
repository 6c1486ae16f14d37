"""/v1/reports — anyone signed in reports a listing, a photo, a message, a review or a person;
/v1/moderation/reports — moderators work through the queue and decide."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Path, Query, status

from app.api.deps import ClockDep, PrincipalDep
from app.api.params import AUTH_PROBLEMS as _AUTH
from app.api.params import CursorQuery, LimitQuery
from app.db import SessionDep
from app.errors import (
    ActionNotForTargetError,
    AlreadyReportedError,
    InvalidCursorError,
    OwnReportTargetError,
    PersonRequiredError,
    ReportDecidedError,
    ReportNotFoundError,
    RoleRequiredError,
    UnknownReportTargetError,
    problem_responses,
)
from app.models.report import ReportReason, ReportStatus, ReportTarget
from app.schemas.report import (
    ModerationReportPage,
    ModerationReportRead,
    ReportCreate,
    ReportDecision,
    ReportPage,
    ReportRead,
)
from app.services import report as service

router = APIRouter()

ReportIdPath = Annotated[uuid.UUID, Path(description="The report's id")]
_MODERATORS = (*_AUTH, PersonRequiredError, RoleRequiredError)

_CREATE_EXAMPLES = {
    "listing": {
        "summary": "A listing that looks like a scam",
        "value": {
            "target_type": "listing",
            "target_id": "0b9a3a4e-8f43-4f7e-9a53-2f1d3c5b7e10",
            "reason": "scam",
            "note": "Asks for payment by gift card before pickup",
        },
    },
    "person": {
        "summary": "A person who harasses",
        "value": {
            "target_type": "person",
            "target_id": "5d0c7f8e-1a2b-4c3d-8e9f-0a1b2c3d4e5f",
            "reason": "harassment",
        },
    },
}
_DECISION_EXAMPLES = {
    "hide": {
        "summary": "Action the report and hide the listing",
        "value": {
            "outcome": "actioned",
            "note": "Gift-card payment demanded: a known scam pattern",
            "action": "hide_listing",
        },
    },
    "dismiss": {
        "summary": "Nothing wrong",
        "value": {"outcome": "dismissed", "note": "An ordinary give-away; nothing to do"},
    },
}


@router.post(
    "/v1/reports",
    tags=["reports"],
    status_code=status.HTTP_201_CREATED,
    response_model=ReportRead,
    summary="Report a listing, a photo, a message, a review or a person to the moderators",
    description="Signed-in persons (API keys cannot report). The target must exist and be "
    "visible to you (`422 unknown_report_target` otherwise, also for a hidden listing); you "
    "cannot report yourself or what you manage (`422 own_report_target`). One open report per "
    "target and reporter: a second is `409 already_reported` until a moderator decided the "
    "first. `other` needs a `note`.",
    responses=problem_responses(
        *_AUTH,
        PersonRequiredError,
        UnknownReportTargetError,
        OwnReportTargetError,
        AlreadyReportedError,
        422,
    ),
)
async def create_report(
    session: SessionDep,
    principal: PrincipalDep,
    now: ClockDep,
    body: Annotated[ReportCreate, Body(openapi_examples=_CREATE_EXAMPLES)],
) -> ReportRead:
    return await service.create_report(session, principal=principal, body=body, now=now)


@router.get(
    "/v1/reports",
    tags=["reports"],
    response_model=ReportPage,
    summary="Your reports",
    description="The reports you made, newest first, with where each stands (`open`, "
    "`actioned`, `dismissed`).",
    responses=problem_responses(*_AUTH, PersonRequiredError, InvalidCursorError, 422),
)
async def list_my_reports(
    session: SessionDep,
    principal: PrincipalDep,
    cursor: CursorQuery = None,
    limit: LimitQuery = 20,
) -> ReportPage:
    return await service.list_my_reports(session, principal=principal, cursor=cursor, limit=limit)


@router.get(
    "/v1/reports/{report_id}",
    tags=["reports"],
    response_model=ReportRead,
    summary="One of your reports",
    description="Only its reporter reads a report here (moderators use "
    "`/v1/moderation/reports/{report_id}`); for anyone else it does not exist (404).",
    responses=problem_responses(*_AUTH, PersonRequiredError, ReportNotFoundError, 422),
)
async def get_report(
    session: SessionDep, principal: PrincipalDep, report_id: ReportIdPath
) -> ReportRead:
    return await service.get_report(session, principal=principal, report_id=report_id)


@router.get(
    "/v1/moderation/reports",
    tags=["moderation"],
    response_model=ModerationReportPage,
    summary="The moderation queue (moderators)",
    description="Reports oldest first, so the longest waiting comes first; by default the "
    "open ones. Each carries its reporter, the target's title or name, and how many open "
    "reports the same target has.",
    responses=problem_responses(*_MODERATORS, InvalidCursorError, 422),
)
async def moderation_queue(
    session: SessionDep,
    principal: PrincipalDep,
    status_: Annotated[
        ReportStatus | None,
        Query(alias="status", description="Only reports in this state (default: open)"),
    ] = ReportStatus.OPEN,
    target_type: Annotated[ReportTarget | None, Query(description="Only this target type")] = None,
    reason: Annotated[ReportReason | None, Query(description="Only this reason")] = None,
    cursor: CursorQuery = None,
    limit: LimitQuery = 20,
) -> ModerationReportPage:
    return await service.moderation_queue(
        session,
        principal=principal,
        status=status_,
        target_type=target_type,
        reason=reason.value if reason else None,
        cursor=cursor,
        limit=limit,
    )


@router.get(
    "/v1/moderation/reports/{report_id}",
    tags=["moderation"],
    response_model=ModerationReportRead,
    summary="One report with its audit trail (moderators)",
    description="The report with its reporter, the target's title, name or text, the "
    "decision, and every line of its audit trail (who moved it where, when, why).",
    responses=problem_responses(*_MODERATORS, ReportNotFoundError, 422),
)
async def moderation_report(
    session: SessionDep, principal: PrincipalDep, report_id: ReportIdPath
) -> ModerationReportRead:
    return await service.moderation_report(session, principal=principal, report_id=report_id)


@router.post(
    "/v1/moderation/reports/{report_id}/decision",
    tags=["moderation"],
    response_model=ModerationReportRead,
    summary="Action or dismiss a report (moderators)",
    description="Decides the report and every other open report on the same target "
    "(`also_decided`), each with a line in the audit trail. With `actioned`, `action` does "
    "something to the target in the same step: `hide_listing` hides a reported listing, "
    "`remove_photo` removes a reported photo, with `note` as the reason its owner sees "
    "(`422 action_not_for_target` for another target). A "
    "decided report is final: `409 report_already_decided`.",
    responses=problem_responses(
        *_MODERATORS, ReportNotFoundError, ReportDecidedError, ActionNotForTargetError, 422
    ),
)
async def decide_report(
    session: SessionDep,
    principal: PrincipalDep,
    now: ClockDep,
    report_id: ReportIdPath,
    body: Annotated[ReportDecision, Body(openapi_examples=_DECISION_EXAMPLES)],
) -> ModerationReportRead:
    return await service.decide_report(
        session, principal=principal, report_id=report_id, decision=body, now=now
    )
