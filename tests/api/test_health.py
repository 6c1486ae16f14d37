"""Liveness, readiness, and the OpenAPI document."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from app.config import DatabaseSettings, Settings
from app.main import create_app
from tests.conftest import alembic
from tests.pg_cluster import Cluster


async def _client_for(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


def _with_database(settings: Settings, url: str) -> Settings:
    database = DatabaseSettings(url=url, pool_size=1, connect_timeout_s=3)  # type: ignore[arg-type]
    return settings.model_copy(update={"database": database})


async def test_liveness(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_ready_when_migrated_and_loaded(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "checks": {"database": "ok", "migrations": "ok", "reference_data": "ok"},
    }


async def test_not_ready_when_database_unreachable(settings: Settings) -> None:
    # Port 9 (discard) on loopback: nothing listens there, the connection is refused at once.
    unreachable = _with_database(settings, "postgresql+asyncpg://sirkel:pw@127.0.0.1:9/sirkel")
    async for c in _client_for(unreachable):
        response = await c.get("/readyz")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "not_ready"
    assert body["checks"] == {"database": "unreachable"}
    assert "pw" not in response.text
    assert "127.0.0.1" not in response.text


@pytest.fixture
def empty_database(pg_cluster: Cluster) -> str:
    pg_cluster.create_database("sirkel_unmigrated")
    return pg_cluster.url("sirkel_unmigrated")


async def test_not_ready_when_migrations_are_behind(
    settings: Settings, empty_database: str
) -> None:
    async for c in _client_for(_with_database(settings, empty_database)):
        response = await c.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["code"] == "not_ready"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["migrations"].startswith("at nothing, head is")
    assert body["checks"]["reference_data"] == "not loaded"


async def test_not_ready_until_reference_data_is_loaded(
    settings: Settings, empty_database: str
) -> None:
    upgraded = alembic(empty_database, "upgrade", "head")
    assert upgraded.returncode == 0, upgraded.stderr
    async for c in _client_for(_with_database(settings, empty_database)):
        response = await c.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"] == {
        "database": "ok",
        "migrations": "ok",
        "reference_data": "not loaded",
    }


async def test_openapi_documents_every_route(client: httpx.AsyncClient) -> None:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["info"]["title"] == "Sirkel API"
    assert schema["info"]["version"] == "0.1.0"
    assert "RFC 9457" in schema["info"]["description"]
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            assert operation.get("summary"), f"{method.upper()} {path} has no summary"
            assert operation.get("description"), f"{method.upper()} {path} has no description"
            for status, documented in operation["responses"].items():
                if int(status) >= 400:
                    # Errors are documented as problems, and only as problems.
                    assert list(documented["content"]) == ["application/problem+json"]
                    problem = documented["content"]["application/problem+json"]
                    assert problem["schema"] == {"$ref": "#/components/schemas/Problem"}
            assert "500" in operation["responses"]
    lookup = schema["paths"]["/v1/geo/lookup"]["get"]
    assert (
        "outside_norway"
        in lookup["responses"]["404"]["content"]["application/problem+json"]["examples"]
    )
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    schemes = schema["components"]["securitySchemes"]
    assert schemes["bearer"]["type"] == "oauth2"
    assert schemes["bearer"]["flows"]["password"]["tokenUrl"] == "/v1/auth/token"
    assert schemes["apiKey"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": schemes["apiKey"]["description"],
    }
    me = schema["paths"]["/v1/me"]["get"]
    assert {"bearer": []} in me["security"]
    assert {"apiKey": []} in me["security"]
    assert "401" in me["responses"]
    docs = await client.get("/docs")
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()


async def test_cors_from_settings(settings: Settings) -> None:
    with_cors = settings.model_copy(
        update={
            "http": settings.http.model_copy(update={"cors_origins": ["https://kart.kommune.no"]})
        }
    )
    async for c in _client_for(with_cors):
        allowed = await c.options(
            "/v1/me",
            headers={
                "Origin": "https://kart.kommune.no",
                "Access-Control-Request-Method": "PATCH",
                "Access-Control-Request-Headers": "authorization, content-type",
            },
        )
        simple = await c.get("/healthz", headers={"Origin": "https://kart.kommune.no"})
        write = await c.options(
            "/v1/me",
            headers={
                "Origin": "https://evil.example",
                "Access-Control-Request-Method": "PATCH",
                "Access-Control-Request-Headers": "authorization",
            },
        )
        credentialed_read = await c.options(
            "/v1/me",
            headers={
                "Origin": "https://evil.example",
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "authorization",
            },
        )
        public = await c.get("/healthz", headers={"Origin": "https://evil.example"})
        public_preflight = await c.options(
            "/v1/kommuner",
            headers={
                "Origin": "https://evil.example",
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "if-none-match",
            },
        )
    # The configured origin may write with credentials.
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://kart.kommune.no"
    assert "PATCH" in allowed.headers["access-control-allow-methods"]
    assert simple.headers["access-control-allow-origin"] == "https://kart.kommune.no"
    for name in ("x-request-id", "idempotency-replayed", "etag", "location", "retry-after"):
        assert name in simple.headers["access-control-expose-headers"].lower()
    # Any other origin reads what an anonymous caller reads, and nothing more.
    assert public.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in public.headers
    assert "idempotency-replayed" in public.headers["access-control-expose-headers"].lower()
    assert public_preflight.status_code == 204
    assert public_preflight.headers["access-control-allow-origin"] == "*"
    assert public_preflight.headers["access-control-allow-methods"] == "GET, HEAD"
    for refused in (write, credentialed_read):
        assert "access-control-allow-origin" not in refused.headers


async def test_the_root_points_to_the_docs_the_ogc_api_and_the_embed_builder(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "Sirkel"
    links = {link["href"]: link for link in body["links"]}
    for href in ("/openapi.json", "/docs", "/redoc", "/ogc", "/embed", "/readyz"):
        assert href in links
        followed = await client.get(href)
        assert followed.status_code == 200, href
        assert followed.headers["content-type"].split(";")[0] in links[href]["type"], href
