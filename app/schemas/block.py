"""Blocks between persons."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field


class BlockRead(BaseModel):
    person_id: uuid.UUID = Field(description="The blocked person")
    blocked_at: datetime
