"""python -m app.cli grant-role / revoke-role: the only way to platform roles."""

from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import run_project_command


async def test_grant_and_revoke_role_from_the_command_line(
    committed_engine: AsyncEngine, committed_database_url: str
) -> None:
    email = f"moderator-{uuid.uuid4().hex[:8]}@example.no"
    async with committed_engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO persons (email, display_name, password_hash) "
                "VALUES (:e, 'Moderator', 'x')"
            ),
            {"e": email},
        )

    granted = run_project_command(
        ["app.cli", "grant-role", email.upper(), "moderator"], committed_database_url
    )
    assert granted.returncode == 0, granted.stderr
    assert "moderator" in granted.stdout
    analyst = run_project_command(
        ["app.cli", "grant-role", email, "analyst"], committed_database_url
    )
    assert analyst.returncode == 0, analyst.stderr

    async with committed_engine.connect() as conn:
        roles = await conn.scalar(text("SELECT roles FROM persons WHERE email = :e"), {"e": email})
    assert roles == ["analyst", "moderator"]

    revoked = run_project_command(
        ["app.cli", "revoke-role", email, "moderator"], committed_database_url
    )
    assert revoked.returncode == 0, revoked.stderr
    async with committed_engine.connect() as conn:
        roles = await conn.scalar(text("SELECT roles FROM persons WHERE email = :e"), {"e": email})
    assert roles == ["analyst"]


def test_grant_role_to_unknown_person_fails(committed_database_url: str) -> None:
    result = run_project_command(
        ["app.cli", "grant-role", "nobody@example.no", "analyst"], committed_database_url
    )
    assert result.returncode == 1
    assert "no active person" in result.stderr


def test_unknown_role_is_refused(committed_database_url: str) -> None:
    result = run_project_command(
        ["app.cli", "grant-role", "a@example.no", "superuser"], committed_database_url
    )
    assert result.returncode == 2
    assert "invalid choice" in result.stderr


def test_tick_and_maintain_run_against_a_database(committed_database_url: str) -> None:
    tick = run_project_command(["app.cli", "tick"], committed_database_url)
    assert tick.returncode == 0, tick.stderr
    assert "listings expired:" in tick.stdout
    maintain = run_project_command(["app.cli", "maintain"], committed_database_url)
    assert maintain.returncode == 0, maintain.stderr
    assert "tile rollup rebuilt" in maintain.stdout


def test_rebuild_impact_recomputes_the_rollups(committed_database_url: str) -> None:
    rebuilt = run_project_command(["app.cli", "rebuild-impact"], committed_database_url)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "impact rollups rebuilt" in rebuilt.stdout


def test_the_worker_runs_a_pass_without_smtp(committed_database_url: str) -> None:
    """With no SMTP host e-mail is off: a pass plans and sends nothing, and says so."""
    result = run_project_command(["app.cli", "worker", "--once"], committed_database_url)
    assert result.returncode == 0, result.stderr
    assert "planned 0, sent 0, failed 0" in result.stdout
