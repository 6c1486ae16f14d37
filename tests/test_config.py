"""Settings: environment variables, nested groups, refusal of placeholder secrets."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from app.config import Environment, Settings


def test_nested_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIRKEL_DATABASE__URL", "postgresql+asyncpg://u:p@db:5432/x")
    monkeypatch.setenv("SIRKEL_HTTP__MAX_BODY_BYTES", "2048")
    monkeypatch.setenv("SIRKEL_HTTP__CORS_ORIGINS", "https://kommune.no, https://app.sirkel.no")
    settings = Settings()
    assert settings.database.url.get_secret_value() == "postgresql+asyncpg://u:p@db:5432/x"
    assert settings.http.max_body_bytes == 2048
    assert settings.http.cors_origins == ["https://kommune.no", "https://app.sirkel.no"]
    assert "u:p" not in repr(settings)


@pytest.mark.parametrize("environment", ["production", "staging"])
@pytest.mark.parametrize("secret", [None, "change-me", "secret", "too-short-but-not-placeholder"])
def test_placeholder_secrets_refused_outside_development(
    monkeypatch: pytest.MonkeyPatch, environment: str, secret: str | None
) -> None:
    monkeypatch.setenv("SIRKEL_ENVIRONMENT", environment)
    if secret is not None:
        monkeypatch.setenv("SIRKEL_AUTH__JWT_SECRET", secret)
    with pytest.raises(ValidationError, match="JWT_SECRET"):
        Settings()


def test_real_secret_accepted_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIRKEL_ENVIRONMENT", "production")
    monkeypatch.setenv("SIRKEL_AUTH__JWT_SECRET", "k" * 48)
    assert Settings().environment is Environment.PRODUCTION


def test_development_runs_with_the_default_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SIRKEL_AUTH__JWT_SECRET", raising=False)
    monkeypatch.setenv("SIRKEL_ENVIRONMENT", "development")
    assert Settings().auth.jwt_secret.get_secret_value() == "dev-secret-change-me"
