"""ORDS imports as jobs: ``POST /v1/repairs/import`` stores the file and answers ``202``; the
worker validates it, stages it and applies it in short batches (``GET /v1/imports/{id}``).

**Upload.** Members who may write the organization's listings (or its API keys with
``listings:write``) send an ORDS v0.3 CSV file, plain or gzip (``Content-Encoding: gzip``, a
gzip media type, or simply gzip bytes), up to ``SIRKEL_IMPORTS__MAX_BYTES`` (100 MiB). The
header is checked at once (``422 invalid_ords_file``); the body is written to a PostgreSQL
large object in chunks as it arrives, and the job is queued. An organization has one
unfinished import at a time (``409 import_in_progress``): releases apply in order.

**Validating.** The worker reads the whole file once, row by row in constant memory (but for
the ids seen), with every check of the synchronous import: ORDS's, the table's, ids unique
within the file. Every row error is counted (the first 100 kept, by line). A file with any
error fails and nothing is written; otherwise each row is staged (``repair_import_rows``) with
the impact it will count.

**Writing.** Batches of ``SIRKEL_IMPORTS__BATCH_ROWS`` rows, each in its own transaction that
locks the job row, writes the repairs, moves the job's progress, and appends the evidence
last — the ledger's lock is held for one batch, so a repair logged meanwhile waits at most one
batch, never fails. A row is:

* **new**: stored and counted (``imported``);
* already stored by **another organization**: ``skipped`` (a provider's id is one record);
* already stored by this organization — with ``mode=append`` left as it is (``unchanged``);
  with ``mode=release``, compared: changed in what counts (outcome, category, day, country,
  kg, CO2e, factor revision) ``restated`` (the counted record taken back on its own day, the
  record counted again on its new day), changed in nothing that counts ``updated`` (no
  evidence), back after a withdrawal ``reinstated`` (counted again), else ``unchanged``.

With ``mode=release`` the file is the providers' complete current data: afterwards, every
record of the file's providers that this organization imported earlier and the release no
longer has is **withdrawn** (its evidence taken back on its day; the repair stays, with
``withdrawn_at``, out of the ORDS export). So importing release N and then N+1 leaves the
ledger's figures — by year and month too — as importing N+1 alone.

**All or nothing?** Validation and staging come before the first record, so a file is never
half-imported for a reason in the file. Once writing has begun, the ledger is append-only: a
worker that dies resumes after the last committed batch (``applied_through``, written with
each batch), and another worker takes over a job whose heartbeat is older than
``SIRKEL_IMPORTS__STALE_AFTER_S``. Readers may see a file partly applied for the seconds or
minutes the batches take; that is the price of never holding the ledger for minutes.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import gzip
import io
import itertools
import logging
import tempfile
import uuid
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import ImportSettings
from app.errors import ImportNotFoundError, PayloadTooLargeError
from app.models import RepairImport
from app.models.evidence import EvidenceEvent
from app.models.repair import IMPORTED_PROBLEM_MAX_LENGTH
from app.pagination import decode_time_id_cursor, next_cursor
from app.repositories.repair import ImportRow, RepairRepository
from app.repositories.repair_import import (
    COUNTED,
    DESCRIBED,
    RepairImportRepository,
    StagedRow,
    Writing,
    differs,
)
from app.schemas.repair import ImportCounts, ImportJobPage, ImportJobRead, ImportRowError
from app.services.impact import factors as impact
from app.services.ords import (
    MAX_ROW_ERRORS,
    OrdsFileError,
    OrdsRecord,
    RepairStatus,
    _read_header,
    iter_ords_rows,
)
from app.services.policy import Principal
from app.services.repair import _authorize_read, _authorize_write, _organization

log = logging.getLogger("sirkel.imports")

Mode = Literal["append", "release"]
CHUNK = 1_048_576  # bytes written to or read from the large object at a time
HEADER_WINDOW = 65_536  # the header must be within the file's first 64 KiB (unpacked)
STAGE_ROWS = 5_000  # rows validated in the thread, then staged, at a time
GZIP_MAGIC = b"\x1f\x8b"

# What the repairs table can hold beyond what ORDS itself checks (migration 0007).
MIN_YEAR, MAX_YEAR = 1850, 2100
MAX_AGE = Decimal(200)
MAX_KEY_LENGTH = 200


# --- reading ----------------------------------------------------------------------------------


def _job_read(job: RepairImport) -> ImportJobRead:
    return ImportJobRead(
        id=job.id,
        organization_id=job.organization_id,
        mode=job.mode,  # type: ignore[arg-type]
        release=job.release,
        state=job.state,  # type: ignore[arg-type]
        file_bytes=job.file_bytes,
        gzip=job.gzip,
        counts=ImportCounts(
            rows=job.rows_total,
            written=job.rows_written,
            inserted=job.inserted,
            restated=job.restated,
            updated=job.updated,
            reinstated=job.reinstated,
            unchanged=job.unchanged,
            withdrawn=job.withdrawn,
            skipped=job.skipped,
        ),
        error_count=job.error_count,
        errors=[ImportRowError.model_validate(e) for e in job.errors],
        failure=job.failure,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
    )


async def get_import(
    session: AsyncSession, *, principal: Principal, import_id: uuid.UUID
) -> ImportJobRead:
    job = await RepairImportRepository(session).get(import_id)
    if job is None:
        raise ImportNotFoundError(f"No import has the id {import_id}.")
    await _authorize_read(session, principal, job.organization_id)
    return _job_read(job)


async def list_imports(
    session: AsyncSession,
    *,
    principal: Principal,
    organization_id: uuid.UUID,
    cursor: str | None,
    limit: int,
) -> ImportJobPage:
    await _organization(session, organization_id)
    await _authorize_read(session, principal, organization_id)
    before = decode_time_id_cursor(cursor, time="t", id="id", aware=True) if cursor else None
    jobs = await RepairImportRepository(session).page(
        organization_id, before=before, limit=limit + 1
    )
    return ImportJobPage(
        items=[_job_read(j) for j in jobs[:limit]],
        next_cursor=next_cursor(
            jobs, limit, lambda j: {"t": j.created_at.isoformat(), "id": str(j.id)}
        ),
    )


# --- uploading --------------------------------------------------------------------------------


class _HeaderCheck:
    """Reads the beginning of the upload (unpacked when gzip) until the first line is
    complete, and checks it is the ORDS header; the rest is the worker's."""

    def __init__(self, gzipped: bool) -> None:
        self.inflate = zlib.decompressobj(wbits=31) if gzipped else None
        self.seen = bytearray()
        self.done = False

    def feed(self, data: bytes) -> None:
        if self.done:
            return
        try:
            room = HEADER_WINDOW + 1 - len(self.seen)
            self.seen += self.inflate.decompress(data, room) if self.inflate else data[:room]
        except zlib.error:
            raise OrdsFileError("The file is not valid gzip.") from None
        if b"\n" in self.seen or len(self.seen) > HEADER_WINDOW:
            self.finish()

    def finish(self) -> None:
        if self.done:
            return
        self.done = True
        first, newline, _ = bytes(self.seen).partition(b"\n")
        if not newline and len(first) > HEADER_WINDOW:
            raise OrdsFileError("The first line is not an ORDS header (it is far too long).")
        try:
            line = first.decode("utf-8-sig").rstrip("\r")
        except UnicodeDecodeError:
            raise OrdsFileError("The file is not UTF-8 text (in its first line).") from None
        try:
            cells = next(csv.reader([line]), None)
        except csv.Error as exc:
            raise OrdsFileError(f"Line 1: the CSV cannot be read ({exc}).") from exc
        _read_header(cells)


async def upload(
    session: AsyncSession,
    *,
    principal: Principal,
    organization_id: uuid.UUID,
    mode: Mode,
    release: str | None,
    gzipped: bool | None,
    body: AsyncIterator[bytes],
    settings: ImportSettings,
    now: datetime,
) -> ImportJobRead:
    """Stores the file and queues the job (``gzipped`` None: decided by the first bytes)."""
    await _organization(session, organization_id)
    await _authorize_write(session, principal, organization_id)
    repo = RepairImportRepository(session)
    job = await repo.add(
        RepairImport(
            id=uuid.uuid4(),
            organization_id=organization_id,
            requested_by=principal.person_id,
            mode=mode,
            release=release,
            state="queued",
            file_bytes=0,
            gzip=bool(gzipped),
            created_at=now,
        )
    )
    oid = await repo.new_file()
    check: _HeaderCheck | None = None
    pending = bytearray()
    size = 0
    async for chunk in body:
        if not chunk:
            continue
        if check is None:
            if gzipped is None:
                gzipped = chunk[:2] == GZIP_MAGIC
            check = _HeaderCheck(gzipped)
        check.feed(chunk)
        size += len(chunk)
        if size > settings.max_bytes:
            raise PayloadTooLargeError(
                f"An import file is limited to {settings.max_bytes} bytes (compress it with "
                "gzip, or split it by provider and import with mode=append)."
            )
        pending += chunk
        if len(pending) >= CHUNK:
            await repo.write_file(oid, size - len(pending), bytes(pending))
            pending.clear()
    if check is None:
        raise OrdsFileError("The file is empty: its first line must be the ORDS header.")
    check.finish()
    if pending:
        await repo.write_file(oid, size - len(pending), bytes(pending))
    job.file = oid
    job.file_bytes = size
    job.gzip = bool(gzipped)
    await session.flush()
    return _job_read(job)


# --- the rows -------------------------------------------------------------------------------


def _row_error(line: int, column: str | None, message: str) -> dict[str, Any]:
    return {
        "location": "body",
        "field": column or "",
        "line": line,
        "column": column,
        "message": message,
        "type": "invalid_ords_row",
    }


def _storable(record: OrdsRecord) -> list[tuple[str, str]]:
    """(column, message) for values ORDS allows but the repairs table cannot hold."""
    problems: list[tuple[str, str]] = []
    year = record.year_of_manufacture
    if year is not None and not MIN_YEAR <= year <= MAX_YEAR:
        problems.append(("year_of_manufacture", f"must be between {MIN_YEAR} and {MAX_YEAR}"))
    if record.product_age is not None and Decimal(str(record.product_age)) > MAX_AGE:
        problems.append(("product_age", f"must be at most {MAX_AGE} years"))
    if record.problem is not None and len(record.problem) > IMPORTED_PROBLEM_MAX_LENGTH:
        problems.append(("problem", f"must be at most {IMPORTED_PROBLEM_MAX_LENGTH:,} characters"))
    if len(record.id) > MAX_KEY_LENGTH:
        problems.append(("id", f"must be at most {MAX_KEY_LENGTH} characters"))
    if len(record.data_provider) > MAX_KEY_LENGTH:
        problems.append(("data_provider", f"must be at most {MAX_KEY_LENGTH} characters"))
    return problems


# --- the worker -------------------------------------------------------------------------------


class _Capped(io.RawIOBase):
    """A binary stream that stops with ``OrdsFileError`` after ``limit`` bytes."""

    def __init__(self, inner: io.BufferedIOBase, limit: int) -> None:
        self.inner = inner
        self.limit = limit
        self.read_so_far = 0

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self.inner.close()
        super().close()

    def readinto(self, buffer: Any) -> int:
        data = self.inner.read(len(buffer))
        self.read_so_far += len(data)
        if self.read_so_far > self.limit:
            raise OrdsFileError(f"The file unpacks to more than {self.limit:,} bytes.")
        buffer[: len(data)] = data
        return len(data)


def _text(path: Path, *, gzipped: bool, limit: int) -> IO[str]:
    # Both are closed with the text stream (TextIOWrapper closes what it wraps).
    raw: io.BufferedIOBase = gzip.GzipFile(path, "rb") if gzipped else path.open("rb")
    return io.TextIOWrapper(
        io.BufferedReader(_Capped(raw, limit), CHUNK), encoding="utf-8-sig", newline=""
    )


def _take(rows: Iterator[Any], n: int) -> list[Any]:
    """The next ``n`` rows (runs in a thread: reading and checking is CPU work)."""
    try:
        return list(itertools.islice(rows, n))
    except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        raise OrdsFileError(f"The file cannot be unpacked ({exc}).") from None


@dataclass(slots=True)
class _Validation:
    rows: int = 0
    error_count: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def add(self, line: int, column: str | None, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_ROW_ERRORS:
            self.errors.append(_row_error(line, column, message))


def _import_row(record: OrdsRecord, slug: str | None, result: impact.Impact) -> ImportRow:
    barrier = record.repair_barrier_if_end_of_life
    return ImportRow(
        data_provider=record.data_provider,
        provider_record_id=record.id,
        country=record.country,
        partner_product_category=record.partner_product_category,
        ords_category_id=record.product_category_id,
        category_slug=slug,
        brand=record.brand,
        year_of_manufacture=record.year_of_manufacture,
        product_age=None if record.product_age is None else Decimal(str(record.product_age)),
        repair_status=record.repair_status.value,
        repair_barrier=None if barrier is None else barrier.value,
        group_identifier=record.group_identifier,
        event_date=record.event_date,
        problem=record.problem or "",
        factor_revision=result.factor_revision,
        kg_diverted=result.kg_diverted,
        co2e_kg=result.co2e_kg,
    )


Clock = Callable[[], datetime]


async def run_next(
    sessions: async_sessionmaker[AsyncSession], settings: ImportSettings, clock: Clock
) -> uuid.UUID | None:
    """Takes the next job (or one whose worker stopped) and works it to its end; its id, or
    None when there was nothing to do. An error that is not the file's (the database went
    away) leaves the job to be taken again once its heartbeat is stale."""
    async with sessions() as session, session.begin():
        now = clock()
        repo = RepairImportRepository(session)
        job = await repo.claim(
            now=now, stale_before=now - timedelta(seconds=settings.stale_after_s)
        )
        if job is None:
            return None
        job_id, attempts = job.id, job.attempts
        if attempts > settings.max_attempts:
            await _fail(
                session,
                job,
                now,
                failure=f"The import stopped {settings.max_attempts} times on an error that was "
                "not in the file; what was written is kept. Upload the file again to finish "
                "it (records already stored are recognised), or ask the operators.",
            )
            return job_id
    try:
        if job.state == "validating" and not await _validate(sessions, job_id, settings, clock):
            return job_id
        await _write(sessions, job_id, settings, clock)
        if job.mode == "release":
            await _withdraw(sessions, job_id, settings, clock)
        await _finish(sessions, job_id, clock)
    except Exception:
        log.exception("import failed; it will be taken again", extra={"import_id": str(job_id)})
        raise
    return job_id


async def _fail(
    session: AsyncSession,
    job: RepairImport,
    now: datetime,
    *,
    failure: str | None = None,
    validation: _Validation | None = None,
) -> None:
    repo = RepairImportRepository(session)
    await repo.clear_staging(job.id)
    if job.file is not None:
        await repo.drop_file(job.file)
    job.file = None
    job.state = "failed"
    job.failure = failure
    job.finished_at = now
    job.heartbeat_at = now
    if validation is not None:
        job.rows_total = validation.rows
        job.error_count = validation.error_count
        job.errors = validation.errors
    await session.flush()


async def _download(
    sessions: async_sessionmaker[AsyncSession], job_id: uuid.UUID, target: Path
) -> None:
    async with sessions() as session, session.begin():
        repo = RepairImportRepository(session)
        job = await repo.get(job_id)
        assert job is not None
        assert job.file is not None
        with target.open("wb") as out:
            for offset in range(0, job.file_bytes, CHUNK):
                out.write(await repo.read_file(job.file, offset, CHUNK))


async def _validate(
    sessions: async_sessionmaker[AsyncSession],
    job_id: uuid.UUID,
    settings: ImportSettings,
    clock: Clock,
) -> bool:
    """Reads every row; stages the valid ones while no row has failed. False: the job failed."""
    async with sessions() as session, session.begin():
        await RepairImportRepository(session).clear_staging(job_id)  # a restart starts over
        ours = await RepairRepository(session).category_for_ords()
        gzipped = (await RepairImportRepository(session).get(job_id)).gzip  # type: ignore[union-attr]
    fixed: dict[str | None, impact.Impact] = {}
    found = _Validation()
    with tempfile.TemporaryDirectory(prefix="sirkel-import-") as workdir:
        path = Path(workdir) / "file"
        await _download(sessions, job_id, path)
        stream = await asyncio.to_thread(
            _text, path, gzipped=gzipped, limit=settings.max_unpacked_bytes
        )
        try:
            rows = iter_ords_rows(stream, max_rows=settings.max_rows)
            while True:
                chunk = await asyncio.to_thread(_take, rows, STAGE_ROWS)
                if not chunk:
                    break
                staged: list[tuple[int, ImportRow]] = []
                for row in chunk:
                    found.rows += 1
                    for error in row.errors:
                        found.add(error.line, error.column, error.message)
                    if row.record is None:
                        continue
                    problems = _storable(row.record)
                    for column, message in problems:
                        found.add(row.line, column, message)
                    if problems or found.error_count:
                        continue
                    slug = ours.get(row.record.product_category_id)
                    result = impact.Impact(impact.ImpactBasis.NONE)
                    if row.record.repair_status is RepairStatus.FIXED:
                        if slug not in fixed:
                            async with sessions() as session:
                                fixed[slug] = await impact.repair_impact(
                                    session, category_slug=slug, repair_status="Fixed"
                                )
                        result = fixed[slug]
                    staged.append((row.line, _import_row(row.record, slug, result)))
                async with sessions() as session, session.begin():
                    repo = RepairImportRepository(session)
                    if staged and not found.error_count:
                        await repo.stage(job_id, staged)
                    await repo.beat(job_id, clock(), rows_total=found.rows)
        except OrdsFileError as exc:
            async with sessions() as session, session.begin():
                job = await RepairImportRepository(session).get(job_id, for_update=True)
                assert job is not None
                await _fail(session, job, clock(), failure=exc.message, validation=found)
            return False
        finally:
            stream.close()
    async with sessions() as session, session.begin():
        job = await RepairImportRepository(session).get(job_id, for_update=True)
        assert job is not None
        if found.error_count:
            await _fail(session, job, clock(), validation=found)
            return False
        await RepairImportRepository(session).analyze_staging()
        job.state = "writing"
        job.rows_total = found.rows
        job.applied_through = 0
        job.heartbeat_at = clock()
    return True


def _classify(staged: StagedRow, *, organization_id: uuid.UUID, release: bool) -> str:
    if staged.repair_id is None:
        return "inserted"
    if staged.organization_id != organization_id:
        return "skipped"
    if not release:
        return "unchanged"
    if staged.withdrawn:
        return "reinstated"
    if differs(staged, COUNTED):
        return "restated"
    if differs(staged, DESCRIBED):
        return "updated"
    return "unchanged"


async def _write(
    sessions: async_sessionmaker[AsyncSession],
    job_id: uuid.UUID,
    settings: ImportSettings,
    clock: Clock,
) -> None:
    """The staged rows, a batch per transaction; the evidence last in each."""
    while True:
        async with sessions() as session, session.begin():
            repo = RepairImportRepository(session)
            job = await repo.get(job_id, for_update=True)
            assert job is not None
            if job.state != "writing":
                return
            batch = await repo.batch(job_id, after=job.applied_through, limit=settings.batch_rows)
            if not batch:
                return
            release = job.mode == "release"
            kinds: dict[str, list[StagedRow]] = {}
            for staged in batch:
                kind = _classify(staged, organization_id=job.organization_id, release=release)
                kinds.setdefault(kind, []).append(staged)
            now = clock()
            writing = Writing(job_id, job.organization_id, job.release, now)
            new_ids = await repo.insert([r.line for r in kinds.get("inserted", [])], writing)
            # Stored meanwhile by another upload of the same records: left to it.
            taken = len(kinds.get("inserted", [])) - len(new_ids)
            restated = await repo.rewrite(kinds.get("restated", []), writing)
            reinstated = await repo.rewrite(kinds.get("reinstated", []), writing)
            await repo.rewrite(kinds.get("updated", []), writing)
            job.applied_through = batch[-1].line
            job.rows_written += len(batch)
            job.inserted += len(new_ids)
            job.skipped += len(kinds.get("skipped", [])) + taken
            job.unchanged += len(kinds.get("unchanged", []))
            job.restated += len(restated)
            job.reinstated += len(reinstated)
            job.updated += len(kinds.get("updated", []))
            job.heartbeat_at = now
            await session.flush()
            # The ledger last: its lock is held until this batch commits.
            await repo.take_back(restated, event=EvidenceEvent.RESTATED)
            await repo.count(restated, event=EvidenceEvent.RESTATED)
            await repo.count(reinstated, event=EvidenceEvent.REINSTATED)
            await repo.count(new_ids, event=EvidenceEvent.IMPORTED)


async def _withdraw(
    sessions: async_sessionmaker[AsyncSession],
    job_id: uuid.UUID,
    settings: ImportSettings,
    clock: Clock,
) -> None:
    """What the release left out of its providers' records: taken back, a batch at a time."""
    async with sessions() as session:
        providers = await RepairImportRepository(session).staged_providers(job_id)
    while providers:
        async with sessions() as session, session.begin():
            repo = RepairImportRepository(session)
            job = await repo.get(job_id, for_update=True)
            assert job is not None
            ids = await repo.missing(
                job_id,
                organization_id=job.organization_id,
                providers=providers,
                limit=settings.batch_rows,
            )
            if not ids:
                return
            now = clock()
            await repo.withdraw(ids, import_id=job_id, now=now)
            job.withdrawn += len(ids)
            job.heartbeat_at = now
            await session.flush()
            await repo.take_back(ids, event=EvidenceEvent.WITHDRAWN)


async def _finish(
    sessions: async_sessionmaker[AsyncSession], job_id: uuid.UUID, clock: Clock
) -> None:
    async with sessions() as session, session.begin():
        repo = RepairImportRepository(session)
        job = await repo.get(job_id, for_update=True)
        assert job is not None
        await repo.clear_staging(job_id)
        if job.file is not None:
            await repo.drop_file(job.file)
        now = clock()
        job.file = None
        job.state = "done"
        job.finished_at = now
        job.heartbeat_at = now
        log.info(
            "import done",
            extra={
                "import_id": str(job_id),
                "rows": job.rows_total,
                "inserted": job.inserted,
                "restated": job.restated,
                "withdrawn": job.withdrawn,
            },
        )


async def run_until_idle(
    sessions: async_sessionmaker[AsyncSession], settings: ImportSettings, clock: Clock
) -> list[uuid.UUID]:
    """Every job there is, one after the other (the tests' and the CLI's way)."""
    done = []
    while (job_id := await run_next(sessions, settings, clock)) is not None:
        done.append(job_id)
    return done


async def loop(
    sessions: async_sessionmaker[AsyncSession],
    settings: ImportSettings,
    stop: asyncio.Event,
    *,
    poll_interval_s: float,
    clock: Clock,
) -> None:
    """The worker's import loop, beside its outbox loop: a job, else a wait."""
    while not stop.is_set():
        try:
            worked = await run_next(sessions, settings, clock)
        except Exception:  # logged by run_next; the job is taken again when stale
            worked = None
        if worked is None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=poll_interval_s)
