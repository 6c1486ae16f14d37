"""Abuse reports: what a reporter sends and sees, and what moderators see and decide."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, model_validator

from app.models.report import ReportAction, ReportReason, ReportStatus, ReportTarget
from app.schemas.common import Page, StrictModel

Note = Annotated[str, Field(max_length=1000)]


class ReportCreate(StrictModel):
    target_type: ReportTarget = Field(description="What is reported", examples=["listing"])
    target_id: uuid.UUID = Field(
        description="The listing's, message's, person's, review's or photo's id",
        examples=["0b9a3a4e-8f43-4f7e-9a53-2f1d3c5b7e10"],
    )
    reason: ReportReason = Field(
        description="`spam`, `scam` (fraud, fake listing), `prohibited` (not allowed on "
        "Sirkel), `hazardous` (dangerous goods or hazardous waste not declared as such), "
        "`offensive`, `harassment`, `personal_data` (reveals someone's address, face or "
        "number), `misleading` (wrong category, kind or description) or `other` (say what in "
        "`note`)",
        examples=["scam"],
    )
    note: Note = Field(
        default="",
        description="What the moderators should know; required with `other`. Up to 1,000 "
        "characters; only moderators read it",
        examples=["Asks for payment by gift card before pickup"],
    )

    @model_validator(mode="after")
    def _other_needs_a_note(self) -> ReportCreate:
        if self.reason is ReportReason.OTHER and not self.note.strip():
            raise ValueError("a report with the reason `other` needs a note")
        return self


class ReportTargetRef(BaseModel):
    type: ReportTarget
    id: uuid.UUID


class ReportRead(BaseModel):
    """A report as its reporter sees it: what they reported, why, and where it stands."""

    id: uuid.UUID
    target: ReportTargetRef
    reason: ReportReason
    note: str
    status: ReportStatus
    created_at: datetime
    decided_at: datetime | None = Field(description="When a moderator actioned or dismissed it")


class ReportPage(Page[ReportRead]):
    pass


class ReportEventRead(BaseModel):
    """One line of the audit trail."""

    status: ReportStatus
    actor_id: uuid.UUID | None = Field(
        description="The reporter (`open`) or the moderator who decided"
    )
    note: str | None
    action: ReportAction | None
    at: datetime


class ModerationReportRead(ReportRead):
    """A report as moderators see it: with its reporter, the decision and the target's state."""

    reporter_id: uuid.UUID
    target_label: str | None = Field(
        description="The listing's title, the person's name or the message's text, while they "
        "have one"
    )
    open_reports_on_target: int = Field(
        description="Open reports on the same target (this one included)"
    )
    decided_by: uuid.UUID | None
    decision_note: str | None
    action: ReportAction | None
    events: list[ReportEventRead] | None = Field(
        default=None, description="The audit trail, oldest first (one report's read only)"
    )
    also_decided: list[uuid.UUID] | None = Field(
        default=None,
        description="Other open reports on the same target that the decision closed with it "
        "(a decision's response only)",
    )


class ModerationReportPage(Page[ModerationReportRead]):
    pass


class ReportDecision(StrictModel):
    outcome: Literal["actioned", "dismissed"] = Field(
        description="`actioned`: the report was right and something was done; `dismissed`: "
        "nothing to do",
        examples=["actioned"],
    )
    note: Annotated[str, Field(min_length=1, max_length=1000)] = Field(
        description="Why (kept in the audit trail)",
        examples=["Gift-card payment demanded: a known scam pattern"],
    )
    action: ReportAction | None = Field(
        default=None,
        description="With `actioned`: what to do to the target in the same step "
        "(`hide_listing` hides a reported listing, `remove_photo` removes a reported photo, "
        "each with the note as the owner's reason)",
        examples=["hide_listing"],
    )

    @model_validator(mode="after")
    def _action_only_when_actioned(self) -> ReportDecision:
        if self.action is not None and self.outcome != "actioned":
            raise ValueError("an action goes only with the outcome `actioned`")
        return self
