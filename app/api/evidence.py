"""/v1/evidence — the evidence ledger for analysts: an incremental feed and its verification."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import AwareDatetime

from app.api.deps import ClockDep, PrincipalDep
from app.api.media import JSON
from app.api.params import AUTH_PROBLEMS
from app.db import SessionDep
from app.errors import (
    InvalidCursorError,
    PersonRequiredError,
    RoleRequiredError,
    problem_responses,
)
from app.render.evidence import feed_json
from app.schemas.evidence import FEED_EXAMPLE, EvidenceFeed, EvidenceVerification
from app.services import evidence as service

router = APIRouter(prefix="/v1/evidence", tags=["evidence"])

_AUTH = (*AUTH_PROBLEMS, PersonRequiredError)


@router.get(
    "",
    response_model=EvidenceFeed,
    summary="Pull the evidence ledger (analysts)",
    description="Analysts only. The ledger's records in `seq` order — every completion, "
    "confirmation, dispute, resolution and correction of a transaction and every logged or "
    "imported repair, as signed deltas (`count` +1 or -1, quantities with the same sign), so "
    "that any sum of records is the current truth. Parties appear only as pseudonyms and "
    "sectors.\n\n"
    "**Pulling incrementally.** Start with no cursor (or with `since`, an RFC 3339 time with "
    "its offset, to skip what was recorded before it), then always continue with "
    "`next_cursor`: it points after the last record you received — also when the page was "
    "not full, so you can poll with it later. A page shorter than `limit` means you are up to "
    "date. Records become visible strictly in `seq` order (the ledger's lock is held until "
    "commit), so paging by cursor never skips a record; `since` is for the first pull only, "
    "because a time says nothing about records still being committed.\n\n"
    "**Verifying.** `hash` is SHA-256 of `prev_hash` (genesis: 32 zero bytes) followed by the "
    "UTF-8 canonical form of the record's other fields: a JSON object with keys sorted, no "
    "whitespace, quantities as strings with three decimals, times as UTC "
    "`YYYY-MM-DDTHH:MM:SS.ffffffZ`, integers as numbers, absent values as `null`. Parse the "
    "quantities as decimals (they are sent with exactly the stored digits). The README's "
    "section *The evidence ledger* has a short verifier in Python; `GET /v1/evidence/verify` runs "
    "the same check in the database.",
    responses={
        200: {"content": {JSON: {"example": FEED_EXAMPLE}}},
        **problem_responses(*_AUTH, RoleRequiredError, InvalidCursorError, 422),
    },
)
async def read_evidence_feed(
    session: SessionDep,
    principal: PrincipalDep,
    cursor: Annotated[
        str | None, Query(max_length=512, description="`next_cursor` of the previous page")
    ] = None,
    since: Annotated[
        AwareDatetime | None,
        Query(
            description="Only records recorded at or after this time (RFC 3339 with offset); "
            "for the first pull",
            examples=["2026-11-01T00:00:00Z"],
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="Page size")] = 100,
) -> Response:
    page = await service.read_feed(
        session, principal=principal, cursor=cursor, since=since, limit=limit
    )
    return Response(content=feed_json(page), media_type=JSON)


@router.get(
    "/verify",
    response_model=EvidenceVerification,
    summary="Verify the evidence ledger's chain (analysts, moderators)",
    description="Analysts and moderators. Recomputes every record's hash from its stored "
    "fields and checks that records are numbered 1, 2, 3 … and each links to the previous "
    "one's hash. `valid: false` names the first record that does not check out and why: "
    "`hash` (its content was changed), `link` (the previous record was changed and rehashed, "
    "or replaced) or `sequence` (a record is missing). An empty ledger is valid. Removing the "
    "newest records leaves a valid, shorter chain: keep the `head_hash` you saw and check "
    "that it is still in the feed.",
    responses=problem_responses(*_AUTH, RoleRequiredError),
)
async def verify_evidence(
    session: SessionDep, principal: PrincipalDep, now: ClockDep
) -> EvidenceVerification:
    return await service.verify_ledger(session, principal=principal, now=now)
