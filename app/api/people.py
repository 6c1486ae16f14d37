"""/v1/people/{id} — a person as others see them."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path

from app.db import SessionDep
from app.errors import PersonNotFoundError, problem_responses
from app.schemas.person import PersonProfile
from app.services import person as service

router = APIRouter(tags=["people"])


@router.get(
    "/v1/people/{person_id}",
    response_model=PersonProfile,
    summary="A person's public profile",
    description='For anyone: the name they show (or "Nabo i {kommune}" when they hide it — '
    "`PATCH /v1/me` with `public_name` and `show_name`), the month they joined, their home "
    "kommune and how many handovers they completed on each side. Never an e-mail or an "
    "address. An unknown or erased person: `404 person_not_found`.",
    responses=problem_responses(PersonNotFoundError, 422),
)
async def get_person(
    session: SessionDep,
    person_id: Annotated[uuid.UUID, Path(description="The person's id")],
) -> PersonProfile:
    return await service.get_profile(session, person_id=person_id)
