"""A throw-away PostgreSQL + PostGIS cluster for the test session.

Why not pytest-postgresql: its executor runs ``pg_ctl`` as the current user, and these
machines (and CI) run as root, where ``initdb`` and ``pg_ctl`` refuse to start. This harness
runs the Debian server binaries through ``runuser -u postgres`` when it is root and directly
otherwise, in a temporary directory, on a free loopback port, with durability switched off
(fsync, synchronous_commit, full_page_writes) because the data is thrown away.

Set ``TEST_DATABASE_URL`` (``postgresql+asyncpg://user:pw@host:port/anydb``, a role that may
create databases and the postgis extension) to use a server you run instead.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

PG_MIN_MAJOR = 15


def find_pg_bindir() -> Path:
    root = Path("/usr/lib/postgresql")
    majors = sorted(
        (int(p.name) for p in root.iterdir() if p.name.isdigit()) if root.exists() else [],
        reverse=True,
    )
    for major in majors:
        bindir = root / str(major) / "bin"
        postgis = Path(f"/usr/share/postgresql/{major}/extension/postgis.control")
        if major >= PG_MIN_MAJOR and (bindir / "pg_ctl").exists() and postgis.exists():
            return bindir
    raise RuntimeError(
        "No PostgreSQL >= 15 with PostGIS 3 found under /usr/lib/postgresql. Run "
        "`make test` (it installs them as root) or set TEST_DATABASE_URL."
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@dataclass
class Cluster:
    host: str
    port: int
    user: str
    password: str | None
    _workdir: Path | None = None
    _bindir: Path | None = None

    def url(self, database: str, driver: str = "postgresql+asyncpg") -> str:
        auth = self.user if self.password is None else f"{self.user}:{self.password}"
        return f"{driver}://{auth}@{self.host}:{self.port}/{database}"

    def psql(self, sql: str, database: str = "postgres") -> str:
        psql = str(self._bindir / "psql") if self._bindir else "psql"
        result = subprocess.run(
            [
                psql,
                "-X",
                "-v",
                "ON_ERROR_STOP=1",
                "-Atq",
                "-c",
                sql,
                self.url(database, "postgresql"),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        return result.stdout

    def create_database(self, name: str) -> None:
        self.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.psql(f'CREATE DATABASE "{name}"')

    def stop(self) -> None:
        if self._workdir is None or self._bindir is None:
            return
        subprocess.run(
            _as_postgres(
                [
                    str(self._bindir / "pg_ctl"),
                    "-D",
                    str(self._workdir / "data"),
                    "-m",
                    "immediate",
                    "-w",
                    "stop",
                ]
            ),
            check=False,
            capture_output=True,
        )
        shutil.rmtree(self._workdir, ignore_errors=True)


def start_cluster() -> Cluster:
    bindir = find_pg_bindir()
    workdir = Path(tempfile.mkdtemp(prefix="sirkel-test-pg-"))
    workdir.chmod(0o755)
    data = workdir / "data"
    data.mkdir()
    if os.geteuid() == 0:
        shutil.chown(data, "postgres", "postgres")
        shutil.chown(workdir, "postgres", "postgres")
    port = _free_port()
    subprocess.run(
        _as_postgres(
            [
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ]
        ),
        check=True,
        capture_output=True,
    )
    options = " ".join(
        [
            f"-p {port}",
            f"-k {workdir}",
            "-c listen_addresses=127.0.0.1",
            "-c fsync=off",
            "-c synchronous_commit=off",
            "-c full_page_writes=off",
            "-c max_connections=200",
            "-c shared_buffers=128MB",
        ]
    )
    started = subprocess.run(
        _as_postgres(
            [
                str(bindir / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(workdir / "server.log"),
                "-o",
                options,
                "-w",
                "-t",
                "60",
                "start",
            ]
        ),
        capture_output=True,
        text=True,
    )
    if started.returncode != 0:
        log = (workdir / "server.log").read_text() if (workdir / "server.log").exists() else ""
        shutil.rmtree(workdir, ignore_errors=True)
        raise RuntimeError(f"test PostgreSQL did not start:\n{started.stderr}\n{log}")
    return Cluster("127.0.0.1", port, "postgres", None, workdir, bindir)


def cluster_from_url(url: str) -> Cluster:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    return Cluster(
        host=parsed.host or "127.0.0.1",
        port=parsed.port or 5432,
        user=parsed.username or "postgres",
        password=parsed.password,
    )
