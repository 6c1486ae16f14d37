"""The app as it runs, for the benchmarks that measure it through HTTP: one uvicorn worker
(and optionally outbox workers) on a database of the benchmark cluster, with a clean
environment (no SIRKEL_* of the caller's), its output in ``bench/results/<log>``."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


@contextmanager
def running_api(
    *, port: int, env: dict[str, str], log_name: str, workers: int = 0
) -> Iterator[tuple[str, int]]:
    """(base URL, the API's pid) once ``/readyz`` answers 200; everything stopped after."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SIRKEL_")}
    clean |= {"SIRKEL_LOG_LEVEL": "WARNING", **env}
    RESULTS.mkdir(exist_ok=True)
    log = (RESULTS / log_name).open("wb")
    uvicorn = [
        sys.executable,
        "-m",
        "uvicorn",
        "app.main:create_app",
        "--factory",
        "--port",
        str(port),
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    api = subprocess.Popen(uvicorn, cwd=ROOT, env=clean, stdout=log, stderr=subprocess.STDOUT)
    helpers = [
        subprocess.Popen(
            [sys.executable, "-m", "app.cli", "worker"],
            cwd=ROOT,
            env=clean,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        for _ in range(workers)
    ]
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or api.poll() is not None:
                raise SystemExit(f"the API did not come up; see bench/results/{log_name}")
            time.sleep(0.3)
        yield base, api.pid
    finally:
        for process in [api, *helpers]:
            process.terminate()
        for process in [api, *helpers]:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        log.close()
