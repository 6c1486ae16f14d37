"""Request and response shapes of /v1/auth."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints, field_validator

from app.models.person import Language
from app.schemas.common import KOMMUNENUMMER_PATTERN, StrictModel

Password = Annotated[str, Field(min_length=10, max_length=256, description="10 to 256 characters")]
DisplayName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
]
KommunenummerField = Annotated[str, StringConstraints(pattern=KOMMUNENUMMER_PATTERN)]


class RegisterRequest(StrictModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "email": "kari.nordmann@example.no",
                "password": "lang-og-hemmelig-passord",
                "display_name": "Kari",
                "language": "nb",
                "home_kommune": "5001",
            }
        },
    )

    email: EmailStr = Field(max_length=254)
    password: Password

    @field_validator("email")
    @classmethod
    def _one_alphabet_per_part(cls, value: str) -> str:
        # Imported here: the schema module stays free of services at import time.
        from app.services.auth import mixed_scripts, normalise_email

        if mixed_scripts(normalise_email(value)):
            raise ValueError(
                "mixes letters of different alphabets in one part (a look-alike address)"
            )
        return value

    display_name: DisplayName
    language: Language = Language.NB
    home_kommune: KommunenummerField | None = None


class TokenRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "access_token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9…",
                "token_type": "bearer",
                "expires_in": 900,
                "refresh_token": "srt_Zx3…",
                "refresh_expires_in": 2592000,
            }
        }
    )

    access_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="Seconds until the access token expires")
    refresh_token: str = Field(description="Opaque; single use — each refresh returns a new one")
    refresh_expires_in: int


class RefreshRequest(StrictModel):
    refresh_token: str = Field(min_length=1, max_length=512)


class LogoutRequest(StrictModel):
    refresh_token: str | None = Field(default=None, min_length=1, max_length=512)
