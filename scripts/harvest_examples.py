"""Collect response examples for the OpenAPI document from a running Sirkel with demo data.

    make run & make demo-data
    .venv/bin/python scripts/harvest_examples.py http://127.0.0.1:8000 > /tmp/harvested.json

For every GET operation it can call as a demo account (ids found by listing first), it keeps
one response per response schema, lists trimmed to their first item. The output is a
starting point for ``app/schemas/examples.json``: review it (no e-mail addresses of real
people, nothing long), then ``tests/test_openapi_examples.py`` checks every example against
its schema.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

import httpx

PASSWORD = "sirkel-demo-passord"  # the demo accounts' published password
ACCOUNTS = ("kari@demo.sirkel.no", "moderator@demo.sirkel.no", "analytiker@demo.sirkel.no")


def trim(value: Any, depth: int = 0) -> Any:
    """Lists of objects to their first; lists of numbers (coordinates, bounds) kept whole."""
    if isinstance(value, list):
        if any(isinstance(v, dict | list) for v in value):
            return [trim(v, depth + 1) for v in value[:1]]
        return value
    if isinstance(value, dict):
        return {k: trim(v, depth + 1) for k, v in value.items()}
    if isinstance(value, str) and len(value) > 300:
        return value[:300]
    return value


def token(client: httpx.Client, email: str) -> dict[str, str]:
    response = client.post("/v1/auth/token", data={"username": email, "password": PASSWORD})
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def main(base: str) -> None:
    client = httpx.Client(base_url=base, timeout=30)
    doc = client.get("/openapi.json").json()
    headers = [token(client, email) for email in ACCOUNTS]
    ids: dict[str, str] = {}
    found: dict[str, Any] = {}

    def remember(path: str, body: Any) -> None:
        items = body.get("items") if isinstance(body, dict) else None
        # A list's items are what its last segment names: /v1/reports → report_id.
        segment = path.rstrip("/").rsplit("/", 1)[-1]
        if items and isinstance(items[0], dict) and isinstance(items[0].get("id"), str):
            ids.setdefault(segment.removesuffix("s").replace("-", "_") + "_id", items[0]["id"])
        for item in items or ([body] if isinstance(body, dict) else []):
            if not isinstance(item, dict):
                continue
            for key, value in item.items():
                if key.endswith("_id") and isinstance(value, str):
                    ids.setdefault(key, value)
            if "id" in item and isinstance(item["id"], str):
                ids.setdefault("_last_id", item["id"])

    # Two passes: the second can fill path parameters the first found.
    for _ in range(2):
        for path, operations in doc["paths"].items():
            op = operations.get("get")
            if op is None or path.startswith(("/embed", "/static", "/docs", "/redoc")):
                continue
            response_doc = op["responses"].get("200", {}).get("content", {})
            schema = response_doc.get("application/json", {}).get("schema", {})
            name = schema.get("$ref", "").split("/")[-1] or f"GET {path}"
            if name in found:
                continue
            names = re.findall(r"{(\w+)}", path)
            if any(n not in ids for n in names):
                continue
            url = path
            for n in names:
                url = url.replace("{" + n + "}", ids[n])
            for auth in headers:
                response = client.get(url, headers=auth)
                if response.status_code == 200 and response.headers.get(
                    "content-type", ""
                ).startswith("application/json"):
                    body = response.json()
                    remember(path, body)
                    found[name] = trim(body)
                    break
    json.dump(found, sys.stdout, ensure_ascii=False, indent=2, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000")
