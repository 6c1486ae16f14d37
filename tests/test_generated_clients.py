"""Clients generated from /openapi.json, as an integrator would make them: a Python client
with openapi-python-client (pinned dev dependency) and TypeScript types with
openapi-typescript, type-checked by tsc (pinned in web/package-lock.json).

What the generators cannot express is known and listed: binary responses other than
application/octet-stream (tiles, glyphs, photos) and CSV request bodies (the two imports),
which integrators send with plain HTTP. Anything else they stumble on fails here.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import re
import sys
from pathlib import Path

import httpx
from fastapi import FastAPI

from app.config import PROJECT_ROOT

VENV_BIN = Path(sys.executable).parent
NODE_BIN = PROJECT_ROOT / "web" / "node_modules" / ".bin"
# Operations a generator skips in part or whole, and why (see the module's docstring).
KNOWN_GAPS = {
    "POST /v1/organizations/{organization_id}/catalogue": "Unsupported content type text/csv",
    "POST /v1/repairs/import": "Unsupported content type text/csv",
    "GET /v1/photos/{photo_id}/{size}.webp": "Unsupported content_type image/webp",
    "GET /v1/tiles/listings/{z}/{x}/{y}.mvt": "application/vnd.mapbox-vector-tile",
    "GET /v1/tiles/kommuner/{z}/{x}/{y}.mvt": "application/vnd.mapbox-vector-tile",
    "GET /embed/glyphs/{fontstack}/{range}.pbf": "application/x-protobuf",
    "GET /v1/impact/report/{year}.pdf": "Unsupported content_type application/pdf",
    "GET /v1/impact/datapackage/{year}.zip": "Unsupported content_type application/zip",
}
_WARNING = re.compile(r"^WARNING parsing (\w+) (\S+) within", re.M)


async def _run(*args: str, cwd: Path) -> str:
    env = {**os.environ, "PATH": f"{VENV_BIN}:{NODE_BIN}:{os.environ.get('PATH', '')}"}
    process = await asyncio.create_subprocess_exec(
        *args,
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), timeout=300)
    text = out.decode(errors="replace")
    assert process.returncode == 0, text
    return text


def _spec(app: FastAPI, tmp_path: Path) -> Path:
    path = tmp_path / "openapi.json"
    path.write_text(json.dumps(app.openapi()), encoding="utf-8")
    return path


async def test_a_generated_python_client_calls_sirkel(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    spec = _spec(app, tmp_path)
    out = tmp_path / "sirkel_client"
    log = await _run(
        str(VENV_BIN / "openapi-python-client"),
        "generate",
        "--path",
        str(spec),
        "--output-path",
        str(out),
        "--meta",
        "none",
        cwd=tmp_path,
    )
    assert "Unable to" not in log, log
    skipped = {f"{method} {path}" for method, path in _WARNING.findall(log)}
    assert skipped == set(KNOWN_GAPS), log
    for operation, reason in KNOWN_GAPS.items():
        block = log[log.index(f"WARNING parsing {operation}") :]
        assert reason in block.split("WARNING parsing", 2)[1], operation

    # The generated package, imported and called: the kommuner list and a kommune by number.
    sys.path.insert(0, str(tmp_path))
    try:
        generated = importlib.import_module("sirkel_client")
        kommuner_api = importlib.import_module(
            "sirkel_client.api.geography.geography_list_kommuner"
        )
        kommune_api = importlib.import_module("sirkel_client.api.geography.geography_get_kommune")
        api = generated.Client(base_url="http://testserver")
        api.set_async_httpx_client(client)
        page = await kommuner_api.asyncio(client=api, fylke="03")
        assert [k.kommunenummer for k in page.items] == ["0301"]
        oslo = await kommune_api.asyncio_detailed(kommunenummer="0301", client=api)
        assert oslo.status_code == 200
        assert oslo.parsed is not None
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m.startswith("sirkel_client")]:
            del sys.modules[name]


async def test_generated_typescript_types_compile(app: FastAPI, tmp_path: Path) -> None:
    spec = _spec(app, tmp_path)
    await _run(str(NODE_BIN / "openapi-typescript"), str(spec), "-o", "sirkel.d.ts", cwd=tmp_path)
    types = (tmp_path / "sirkel.d.ts").read_text("utf-8")
    assert '"listings-search": {' in types
    # A program using the types as a client would: a search page's items and a problem's code.
    (tmp_path / "use.ts").write_text(
        'import type { components, operations } from "./sirkel";\n'
        'type Search = operations["listings-search"];\n'
        "type Page = Search['responses'][200]['content']['application/json'];\n"
        "const page: Page = { items: [], next_cursor: null } as unknown as Page;\n"
        "const problem: components['schemas']['Problem'] = {\n"
        "  type: '/problems/not_found', title: 'Not found', status: 404,\n"
        "  code: 'not_found', request_id: 'x',\n"
        "} as components['schemas']['Problem'];\n"
        "export const seen: [Page, string] = [page, problem.code];\n",
        encoding="utf-8",
    )
    await _run(
        str(NODE_BIN / "tsc"),
        "--noEmit",
        "--strict",
        "--skipLibCheck",
        "false",
        "--target",
        "es2022",
        "--module",
        "es2022",
        "--moduleResolution",
        "bundler",
        "use.ts",
        cwd=tmp_path,
    )
