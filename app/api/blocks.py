"""/v1/people/{id}/block — a person blocks another; /v1/me/blocks — whom the caller blocked."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from app.api.deps import ClockDep, PrincipalDep
from app.api.params import AUTH_PROBLEMS as _AUTH
from app.db import SessionDep
from app.errors import PersonNotFoundError, PersonRequiredError, problem_responses
from app.schemas.block import BlockRead
from app.services import block as service

router = APIRouter()

PersonIdPath = Annotated[uuid.UUID, Path(description="The person's id")]


@router.post(
    "/v1/people/{person_id}/block",
    tags=["people"],
    response_model=BlockRead,
    summary="Block a person",
    description="From then on neither of you can ask for the other's listings (`403 blocked`) "
    "nor write to the other in a conversation; transactions already under way keep their "
    "moves. Idempotent. The blocked person is not told. Yourself: `422 invalid_input`.",
    responses=problem_responses(*_AUTH, PersonRequiredError, PersonNotFoundError, 422),
)
async def block_person(
    session: SessionDep, principal: PrincipalDep, now: ClockDep, person_id: PersonIdPath
) -> BlockRead:
    return await service.block_person(session, principal=principal, person_id=person_id, now=now)


@router.delete(
    "/v1/people/{person_id}/block",
    tags=["people"],
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Unblock a person",
    description="Idempotent.",
    responses=problem_responses(*_AUTH, PersonRequiredError, 422),
)
async def unblock_person(
    session: SessionDep, principal: PrincipalDep, person_id: PersonIdPath
) -> Response:
    await service.unblock_person(session, principal=principal, person_id=person_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/v1/me/blocks",
    tags=["me"],
    response_model=list[BlockRead],
    summary="Whom I blocked",
    description="Newest first.",
    responses=problem_responses(*_AUTH, PersonRequiredError),
)
async def my_blocks(session: SessionDep, principal: PrincipalDep) -> list[BlockRead]:
    return await service.my_blocks(session, principal=principal)
