"""Every SQL statement of ORDS imports as jobs (``app.services.repair_import``).

The file lives in a PostgreSQL large object (``lo_create``/``lo_put``/``lo_get``/
``lo_unlink``): written in chunks as the upload arrives, read in chunks by the worker, in the
same database, backups and transactions as the job that names it.

The evidence of a batch is written set-based, the ledger's triggers numbering, hashing and
rolling up each record in the order given:

* ``count`` appends one record (+1, graded ``imported``) per repair, on the repair's day in
  Norwegian time, exactly as ``app.services.repair._repair_evidence`` builds it one by one;
* ``take_back`` appends, for each repair's counted record (positive, not yet taken back), a
  copy with every count and quantity negated **on the original's own day**, so a release
  that restates a 2023 repair changes 2023's figures, not this year's.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ARRAY, Integer, Text, Uuid, bindparam, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import ImportInProgressError
from app.models import RepairImport
from app.models.evidence import EvidenceEvent
from app.models.repair_import import UNFINISHED
from app.repositories.db_errors import constraint_name
from app.repositories.evidence import COPIED_COLUMNS as _COPIED
from app.repositories.evidence import SIGNED_COLUMNS as _SIGNED
from app.repositories.repair import _ARRAYS, _COLUMN_NAMES, _IMPORT_COLUMNS, ImportRow

# What a release compares: the columns that change what the ledger counts, and the others.
COUNTED = (
    "country",
    "ords_category_id",
    "category_slug",
    "repair_status",
    "event_date",
    "factor_revision",
    "kg_diverted",
    "co2e_kg",
)
DESCRIBED = (
    "partner_product_category",
    "brand",
    "year_of_manufacture",
    "product_age",
    "repair_barrier",
    "group_identifier",
    "problem",
)


@dataclass(frozen=True, slots=True)
class Writing:
    """Who writes a batch, from which release, when."""

    import_id: uuid.UUID
    organization_id: uuid.UUID
    release: str | None
    now: datetime

    def params(self, lines: Sequence[int]) -> dict[str, Any]:
        return {
            "import_id": self.import_id,
            "organization_id": self.organization_id,
            "release": self.release,
            "now": self.now,
            "lines": list(lines),
        }


@dataclass(frozen=True, slots=True)
class StagedRow:
    """A staged row and the repair already stored under its provider's id, if any."""

    line: int
    row: ImportRow
    repair_id: uuid.UUID | None
    organization_id: uuid.UUID | None
    withdrawn: bool
    stored: dict[str, Any]  # the stored repair's COUNTED and DESCRIBED columns


_STAGE = text(
    f"""
    INSERT INTO repair_import_rows (import_id, line, {_COLUMN_NAMES})
    SELECT :import_id, r.line, {", ".join(f"r.{name}" for name, _, _ in _IMPORT_COLUMNS)}
    FROM unnest(CAST(:line AS integer[]), {_ARRAYS}) AS r(line, {_COLUMN_NAMES})
    """
).bindparams(
    bindparam("line", type_=ARRAY(Integer)),
    *(bindparam(name, type_=ARRAY(element)) for name, element, _ in _IMPORT_COLUMNS),
)

# The next staged rows, each with the repair stored under its provider's id: the batch first
# (materialized: a primary-key range), then one unique-index lookup per row (LATERAL), so the
# plan stays the same whatever the statistics of a freshly filled staging table say.
_BATCH = text(
    f"""
    WITH s AS MATERIALIZED (
        SELECT * FROM repair_import_rows
        WHERE import_id = :import_id AND line > :after
        ORDER BY line
        LIMIT :limit
    )
    SELECT s.line, {", ".join(f"s.{name}" for name, _, _ in _IMPORT_COLUMNS)},
           r.id AS repair_id, r.organization_id AS repair_organization_id,
           r.withdrawn_at IS NOT NULL AS withdrawn,
           {", ".join(f"r.{name} AS stored_{name}" for name in (*COUNTED, *DESCRIBED))}
    FROM s
    LEFT JOIN LATERAL (
        SELECT * FROM repairs
        WHERE data_provider = s.data_provider AND provider_record_id = s.provider_record_id
    ) r ON true
    ORDER BY s.line
    """
)

_INSERT = text(
    f"""
    INSERT INTO repairs (organization_id, source, import_id, release, created_at, updated_at,
                         {_COLUMN_NAMES})
    SELECT :organization_id, 'imported', :import_id, :release, :now, :now,
           {", ".join(f"s.{name}" for name, _, _ in _IMPORT_COLUMNS)}
    FROM repair_import_rows s
    WHERE s.import_id = :import_id AND s.line = ANY(CAST(:lines AS integer[]))
    ORDER BY s.line
    ON CONFLICT (data_provider, provider_record_id) DO NOTHING
    RETURNING id
    """
).bindparams(bindparam("lines", type_=ARRAY(Integer)))

# The release's values for repairs it changes (or brings back): every column from staging,
# each repair by its primary key and its staged row by the job's (repair id, line) pairs.
_REWRITE = text(
    f"""
    WITH x AS MATERIALIZED (
        SELECT p.id, p.line
        FROM unnest(CAST(:ids AS uuid[]), CAST(:lines AS integer[])) AS p(id, line)
    )
    UPDATE repairs r
    SET {", ".join(f"{name} = s.{name}" for name, _, _ in _IMPORT_COLUMNS)},
        import_id = :import_id, release = :release, withdrawn_at = NULL, updated_at = :now
    FROM x JOIN repair_import_rows s ON s.import_id = :import_id AND s.line = x.line
    WHERE r.id = x.id AND r.organization_id = :organization_id
    RETURNING r.id
    """
).bindparams(bindparam("ids", type_=ARRAY(Uuid)), bindparam("lines", type_=ARRAY(Integer)))

_COUNT = text(
    """
    INSERT INTO evidence (occurred_at, event, grade, type, subgoal, repair_id, provider_party,
                          provider_sector, kommunenummer, fylkesnummer, category_slug,
                          ords_category_id, repair_status, record_count, kg_diverted, co2e_kg,
                          factor_revision, initiative_id, country)
    SELECT (r.event_date::timestamp AT TIME ZONE 'Europe/Oslo'), :event, 'imported', 'repair',
           'SG1', r.id, sirkel_party('organization', r.organization_id), o.sector,
           r.kommunenummer, r.fylkesnummer, r.category_slug, r.ords_category_id,
           r.repair_status, 1, r.kg_diverted, r.co2e_kg, r.factor_revision, NULL, r.country
    FROM unnest(CAST(:ids AS uuid[])) WITH ORDINALITY AS x(id, n)
    JOIN repairs r ON r.id = x.id
    JOIN organizations o ON o.id = r.organization_id
    ORDER BY x.n
    """
).bindparams(bindparam("ids", type_=ARRAY(Uuid)))

_TAKE_BACK = text(
    f"""
    INSERT INTO evidence ({", ".join(_COPIED)}, country, {", ".join(_SIGNED)}, compensates,
                          event, grade, occurred_at)
    SELECT {", ".join(f"e.{c}" for c in _COPIED)}, sirkel_evidence_country(e),
           {", ".join(f"-e.{c}" for c in _SIGNED)}, e.seq, :event, e.grade, e.occurred_at
    FROM evidence e
    WHERE e.repair_id = ANY(CAST(:ids AS uuid[])) AND e.record_count = 1
      AND NOT EXISTS (SELECT 1 FROM evidence c WHERE c.compensates = e.seq)
    ORDER BY e.seq
    """
).bindparams(bindparam("ids", type_=ARRAY(Uuid)))

# What a release left out: the organization's counted records of the file's providers that
# no staged row names.
_MISSING = text(
    """
    SELECT r.id
    FROM repairs r
    WHERE r.organization_id = :organization_id AND r.source = 'imported'
      AND r.withdrawn_at IS NULL
      AND r.data_provider = ANY(CAST(:providers AS text[]))
      AND NOT EXISTS (
        SELECT 1 FROM repair_import_rows s
        WHERE s.import_id = :import_id AND s.data_provider = r.data_provider
          AND s.provider_record_id = r.provider_record_id)
    ORDER BY r.ords_seq
    LIMIT :limit
    """
).bindparams(bindparam("providers", type_=ARRAY(Text)))


class RepairImportRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- the job and its file -------------------------------------------------------------

    async def add(self, job: RepairImport) -> RepairImport:
        """Inserts a job; an organization with an unfinished one gets ``ImportInProgressError``."""
        try:
            async with self.session.begin_nested():
                self.session.add(job)
                await self.session.flush()
        except IntegrityError as exc:
            if constraint_name(exc) == "uq_repair_imports_one_unfinished":
                raise ImportInProgressError(
                    "An import of this organization is still running; its releases are applied "
                    "in order. Wait for it (GET /v1/imports?organization_id=…) and upload again."
                ) from None
            raise
        return job

    async def new_file(self) -> int:
        return int((await self.session.execute(text("SELECT lo_create(0)"))).scalar_one())

    async def write_file(self, oid: int, offset: int, data: bytes) -> None:
        await self.session.execute(
            text("SELECT lo_put(CAST(:oid AS oid), :offset, :data)"),
            {"oid": oid, "offset": offset, "data": data},
        )

    async def read_file(self, oid: int, offset: int, length: int) -> bytes:
        found = await self.session.execute(
            text("SELECT lo_get(CAST(:oid AS oid), :offset, :length)"),
            {"oid": oid, "offset": offset, "length": length},
        )
        return bytes(found.scalar_one())

    async def drop_file(self, oid: int) -> None:
        await self.session.execute(text("SELECT lo_unlink(CAST(:oid AS oid))"), {"oid": oid})

    async def get(self, import_id: uuid.UUID, *, for_update: bool = False) -> RepairImport | None:
        stmt = select(RepairImport).where(RepairImport.id == import_id)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def page(
        self, organization_id: uuid.UUID, *, before: tuple[datetime, uuid.UUID] | None, limit: int
    ) -> list[RepairImport]:
        """The organization's imports, newest first (keyset: ``before``)."""
        stmt = select(RepairImport).where(RepairImport.organization_id == organization_id)
        if before is not None:
            stmt = stmt.where(
                (RepairImport.created_at < before[0])
                | ((RepairImport.created_at == before[0]) & (RepairImport.id < before[1]))
            )
        stmt = stmt.order_by(RepairImport.created_at.desc(), RepairImport.id.desc()).limit(limit)
        return list((await self.session.execute(stmt)).scalars())

    async def claim(self, *, now: datetime, stale_before: datetime) -> RepairImport | None:
        """The oldest queued job, or an unfinished one whose worker stopped beating; taken
        (``SKIP LOCKED``: two workers never take the same), its heartbeat set."""
        stmt = (
            select(RepairImport)
            .where(
                RepairImport.state.in_(UNFINISHED),
                (RepairImport.state == "queued") | (RepairImport.heartbeat_at < stale_before),
            )
            .order_by(RepairImport.created_at)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        job = (await self.session.execute(stmt)).scalar_one_or_none()
        if job is None:
            return None
        job.attempts += 1
        job.heartbeat_at = now
        if job.started_at is None:
            job.started_at = now
        if job.state == "queued":
            job.state = "validating"
        await self.session.flush()
        return job

    async def beat(self, import_id: uuid.UUID, now: datetime, **values: Any) -> None:
        await self.session.execute(
            update(RepairImport)
            .where(RepairImport.id == import_id)
            .values(heartbeat_at=now, **values)
        )

    # --- staging ----------------------------------------------------------------------------

    async def stage(self, import_id: uuid.UUID, rows: Sequence[tuple[int, ImportRow]]) -> None:
        params: dict[str, Any] = {
            name: [getattr(row, name) for _, row in rows] for name, _, _ in _IMPORT_COLUMNS
        }
        params["line"] = [line for line, _ in rows]
        params["import_id"] = import_id
        await self.session.execute(_STAGE, params)

    async def clear_staging(self, import_id: uuid.UUID) -> None:
        await self.session.execute(
            text("DELETE FROM repair_import_rows WHERE import_id = :id"), {"id": import_id}
        )

    async def staged_providers(self, import_id: uuid.UUID) -> list[str]:
        found = await self.session.execute(
            text(
                "SELECT DISTINCT data_provider FROM repair_import_rows WHERE import_id = :id "
                "ORDER BY 1"
            ),
            {"id": import_id},
        )
        return list(found.scalars())

    async def batch(self, import_id: uuid.UUID, *, after: int, limit: int) -> list[StagedRow]:
        found = await self.session.execute(
            _BATCH, {"import_id": import_id, "after": after, "limit": limit}
        )
        out = []
        for m in found.mappings():
            out.append(
                StagedRow(
                    line=m["line"],
                    row=ImportRow(**{name: m[name] for name, _, _ in _IMPORT_COLUMNS}),
                    repair_id=m["repair_id"],
                    organization_id=m["repair_organization_id"],
                    withdrawn=bool(m["withdrawn"]),
                    stored={name: m[f"stored_{name}"] for name in (*COUNTED, *DESCRIBED)},
                )
            )
        return out

    # --- writing ----------------------------------------------------------------------------

    async def insert(self, lines: Sequence[int], writing: Writing) -> list[uuid.UUID]:
        """New repairs from the staged ``lines``; a record stored meanwhile by another upload
        is left out (``ON CONFLICT DO NOTHING``)."""
        if not lines:
            return []
        return list((await self.session.execute(_INSERT, writing.params(lines))).scalars())

    async def rewrite(self, rows: Sequence[StagedRow], writing: Writing) -> list[uuid.UUID]:
        """The organization's stored repairs of the staged ``rows`` take the release's values
        (and are no longer withdrawn)."""
        if not rows:
            return []
        params = writing.params([r.line for r in rows])
        params["ids"] = [r.repair_id for r in rows]
        return list((await self.session.execute(_REWRITE, params)).scalars())

    async def analyze_staging(self) -> None:
        """Fresh statistics for the staging table once a file is staged."""
        await self.session.execute(text("ANALYZE repair_import_rows"))

    async def missing(
        self,
        import_id: uuid.UUID,
        *,
        organization_id: uuid.UUID,
        providers: Sequence[str],
        limit: int,
    ) -> list[uuid.UUID]:
        found = await self.session.execute(
            _MISSING,
            {
                "import_id": import_id,
                "organization_id": organization_id,
                "providers": list(providers),
                "limit": limit,
            },
        )
        return list(found.scalars())

    async def withdraw(
        self, ids: Sequence[uuid.UUID], *, import_id: uuid.UUID, now: datetime
    ) -> None:
        await self.session.execute(
            text(
                "UPDATE repairs SET withdrawn_at = :now, updated_at = :now, import_id = :import_id "
                "WHERE id = ANY(CAST(:ids AS uuid[]))"
            ).bindparams(bindparam("ids", type_=ARRAY(Uuid))),
            {"ids": list(ids), "now": now, "import_id": import_id},
        )

    # --- the ledger, last in each batch ------------------------------------------------------

    async def count(self, ids: Sequence[uuid.UUID], *, event: EvidenceEvent) -> None:
        if ids:
            await self.session.execute(_COUNT, {"ids": list(ids), "event": event.value})

    async def take_back(self, ids: Sequence[uuid.UUID], *, event: EvidenceEvent) -> None:
        if ids:
            await self.session.execute(_TAKE_BACK, {"ids": list(ids), "event": event.value})


def differs(staged: StagedRow, columns: Sequence[str]) -> bool:
    """Whether the staged row and its stored repair differ in ``columns`` (numbers compared
    as numbers: 2.50 is 2.5)."""
    for name in columns:
        new, old = getattr(staged.row, name), staged.stored[name]
        if isinstance(new, Decimal) and isinstance(old, Decimal):
            if new.compare(old) != 0:
                return True
        elif isinstance(new, date) and isinstance(old, date):
            if new != old:
                return True
        elif (new or None) != (old or None) if name == "problem" else new != old:
            return True
    return False
