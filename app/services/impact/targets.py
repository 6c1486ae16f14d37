"""The mission's targets (måltall) and the progress toward them.

**Targets** are made and changed by analysts and read by everyone. A change never edits: it
adds the next version (the database refuses any other write, ``app.models.target``), so every
version stays readable with who made it and the reference it rests on.

**Progress** puts the indicator's yearly values (``app.services.impact.query.aggregate``, the
same figures and the same small-count suppression as ``GET /v1/impact``) beside the path from
the baseline year's value to the target:

* ``linear``: expected(y) = B + (T - B) · (y - b) / (t - b);
* ``annual_growth``: expected(y) = B · (T / B)^((y - b) / (t - b)) (B and T above zero);

where B is the baseline year b's value and T the target (the absolute value, or B changed by
the percentage) for the target year t. The status compares the last complete year with a
value to the path: within ±5 % ``on_track``, better ``ahead``, worse ``behind`` (better is
higher for a target above the baseline, lower for one below). The growth still needed is
(T / A)^(1 / (t - y)) - 1 from that year's value A. A suppressed year is null, and nothing
shown is computed from it — no gap, no growth, no total — so it cannot be worked out.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import (
    InvalidTargetError,
    TargetNotFoundError,
    UnknownFylkeError,
    UnknownIndicatorError,
    UnknownKommuneError,
)
from app.models import ImpactTarget
from app.models.person import PlatformRole
from app.models.target import TargetPath, TargetScope, TargetStatus
from app.pagination import decode_cursor, encode_cursor, invalid_cursor
from app.repositories.geography import GeographyRepository
from app.repositories.initiative import InitiativeRepository
from app.repositories.target import TargetFilters, TargetRepository
from app.schemas.target import (
    PathYear,
    ProgressRead,
    ProgressYear,
    TargetCreate,
    TargetPage,
    TargetRead,
    TargetUpdate,
    TargetVersions,
)
from app.services.impact.catalogue import BY_ID
from app.services.impact.periods import NORWAY
from app.services.impact.query import ImpactQuery, aggregate
from app.services.policy import Principal, require_platform_role

# Within this share of the path's value a year is on track.
TOLERANCE = Decimal("0.05")
_PLACES = Decimal("0.0001")


def _read(target: ImpactTarget, *, latest: bool) -> TargetRead:
    return TargetRead(
        id=target.target_id,
        version=target.version,
        indicator=target.indicator,
        scope=TargetScope(target.scope),
        scope_code=target.scope_code,
        initiative_id=target.initiative_id,
        baseline_year=target.baseline_year,
        target_year=target.target_year,
        target_value=_q(target.target_value),
        target_change_pct=_q(target.target_change_pct),
        path=TargetPath(target.path),
        status=TargetStatus(target.status),
        decided_by=target.decided_by,
        reference_title=target.reference_title,
        reference_url=target.reference_url,
        reference_date=target.reference_date,
        note=target.note,
        created_at=target.created_at,
        latest=latest,
    )


def target_read(target: ImpactTarget) -> TargetRead:
    """A target's current version as the API shows it."""
    return _read(target, latest=True)


# --- checks -----------------------------------------------------------------------------------


def _invalid(field: str, message: str) -> InvalidTargetError:
    return InvalidTargetError.for_field(message, field=field, message=message, type="invalid")


async def _check(session: AsyncSession, values: dict[str, Any]) -> None:
    indicator = BY_ID.get(values["indicator"])
    if indicator is None:
        raise UnknownIndicatorError(
            f"Unknown indicator {values['indicator']!r}; see GET /v1/impact/indicators."
        )
    if "year" not in indicator.dims:
        raise _invalid("indicator", f"{indicator.id} has no yearly values to follow.")
    scope, code = values["scope"], values["scope_code"]
    if scope == TargetScope.NORWAY.value and code is not None:
        raise _invalid("scope_code", "A target for Norway has no scope_code.")
    geography = GeographyRepository(session)
    if scope == TargetScope.FYLKE.value:
        if code is None or len(code) != 2:
            raise _invalid("scope_code", "A fylke's target names its two-digit fylkesnummer.")
        if not await geography.fylke_exists(code):
            raise UnknownFylkeError(f"No fylke has the number '{code}'.")
    if scope == TargetScope.KOMMUNE.value:
        if code is None or len(code) != 4:
            raise _invalid("scope_code", "A kommune's target names its four-digit kommunenummer.")
        if not await geography.kommune_exists(code):
            raise UnknownKommuneError(f"No kommune has the number '{code}'.")
    if values["target_year"] <= values["baseline_year"]:
        raise _invalid("target_year", "The target year comes after the baseline year.")
    if (values["target_value"] is None) == (values["target_change_pct"] is None):
        raise _invalid("target_value", "Give exactly one of target_value and target_change_pct.")
    if (
        values["path"] == TargetPath.ANNUAL_GROWTH.value
        and values["target_value"] is not None
        and values["target_value"] <= 0
    ):
        raise _invalid("target_value", "Annual growth needs a target above zero.")
    initiative = values["initiative_id"]
    if initiative is not None and await InitiativeRepository(session).get(initiative) is None:
        raise _invalid("initiative_id", f"No initiative has the id {initiative}.")


# --- targets ----------------------------------------------------------------------------------


async def create_target(
    session: AsyncSession, *, principal: Principal, body: TargetCreate, now: datetime
) -> TargetRead:
    analyst = require_platform_role(principal, PlatformRole.ANALYST)
    values = body.model_dump()
    values["scope"] = body.scope.value
    values["path"] = body.path.value
    values["status"] = body.status.value
    await _check(session, values)
    target = await TargetRepository(session).add(
        ImpactTarget(
            target_id=uuid.uuid4(), version=1, created_by=analyst, created_at=now, **values
        )
    )
    return _read(target, latest=True)


_CARRIED = (
    "indicator",
    "scope",
    "scope_code",
    "initiative_id",
    "baseline_year",
    "target_year",
    "target_value",
    "target_change_pct",
    "path",
    "status",
    "decided_by",
    "reference_title",
    "reference_url",
    "reference_date",
    "note",
)


async def update_target(
    session: AsyncSession,
    *,
    principal: Principal,
    target_id: uuid.UUID,
    body: TargetUpdate,
    now: datetime,
) -> TargetRead:
    """The next version: the latest with the changes given."""
    analyst = require_platform_role(principal, PlatformRole.ANALYST)
    repo = TargetRepository(session)
    latest = await repo.latest(target_id)
    if latest is None:
        raise TargetNotFoundError(f"No target has the id {target_id}.")
    values = {name: getattr(latest, name) for name in _CARRIED}
    changes = body.model_dump(exclude_unset=True)
    if "target_value" in changes and "target_change_pct" in changes:
        if (changes["target_value"] is None) == (changes["target_change_pct"] is None):
            raise _invalid(
                "target_value", "Give exactly one of target_value and target_change_pct."
            )
    elif changes.get("target_value") is not None:
        values["target_change_pct"] = None
    elif changes.get("target_change_pct") is not None:
        values["target_value"] = None
    for name, value in changes.items():
        values[name] = value.value if hasattr(value, "value") else value
    if not changes:
        raise _invalid("", "Name at least one thing to change.")
    await _check(session, values)
    target = await repo.add(
        ImpactTarget(
            target_id=target_id,
            version=latest.version + 1,
            created_by=analyst,
            created_at=now,
            **values,
        )
    )
    return _read(target, latest=True)


async def get_target(
    session: AsyncSession, *, target_id: uuid.UUID, version: int | None
) -> TargetRead:
    repo = TargetRepository(session)
    latest = await repo.latest(target_id)
    if latest is None:
        raise TargetNotFoundError(f"No target has the id {target_id}.")
    if version is None or version == latest.version:
        return _read(latest, latest=True)
    found = await repo.version(target_id, version)
    if found is None:
        raise TargetNotFoundError(f"Target {target_id} has no version {version}.")
    return _read(found, latest=False)


async def target_versions(session: AsyncSession, *, target_id: uuid.UUID) -> TargetVersions:
    versions = await TargetRepository(session).versions(target_id)
    if not versions:
        raise TargetNotFoundError(f"No target has the id {target_id}.")
    last = versions[-1].version
    return TargetVersions(items=[_read(v, latest=v.version == last) for v in versions])


async def list_targets(
    session: AsyncSession,
    *,
    indicator: str | None,
    scope: TargetScope | None,
    scope_code: str | None,
    status: TargetStatus | None,
    cursor: str | None,
    limit: int,
) -> TargetPage:
    after = None
    if cursor is not None:
        key = decode_cursor(cursor, required=("i", "t"))
        try:
            after = (str(key["i"]), uuid.UUID(str(key["t"])))
        except ValueError:
            raise invalid_cursor() from None
    rows = await TargetRepository(session).latest_page(
        TargetFilters(
            indicator=indicator,
            scope=scope.value if scope else None,
            scope_code=scope_code,
            status=status.value if status else None,
        ),
        after=after,
        limit=limit + 1,
    )
    page = rows[:limit]
    next_cursor = None
    if len(rows) > limit:
        last = page[-1]
        next_cursor = encode_cursor({"i": last.indicator, "t": str(last.target_id)})
    return TargetPage(items=[_read(t, latest=True) for t in page], next_cursor=next_cursor)


# --- progress ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Scope:
    kind: TargetScope
    code: str | None

    @classmethod
    def parse(cls, raw: str) -> Scope:
        """``norway``, ``fylke:46`` or ``kommune:4601``."""
        kind, _, code = raw.partition(":")
        try:
            scope = TargetScope(kind)
        except ValueError:
            raise _invalid("scope", "The scope is norway, fylke:NN or kommune:NNNN.") from None
        expected = {TargetScope.NORWAY: 0, TargetScope.FYLKE: 2, TargetScope.KOMMUNE: 4}[scope]
        if len(code) != expected or (not code.isdigit() and expected):
            raise _invalid("scope", "The scope is norway, fylke:NN or kommune:NNNN.")
        return cls(scope, code or None)


def expected_value(
    path: TargetPath, *, base: Decimal, target: Decimal, base_year: int, target_year: int, year: int
) -> Decimal | None:
    """The path's value in ``year`` (None where annual growth cannot start from ``base``)."""
    share = Decimal(year - base_year) / Decimal(target_year - base_year)
    if path is TargetPath.LINEAR:
        return base + (target - base) * share
    if base <= 0 or target <= 0:
        return None
    return base * (target / base) ** share


def _q(value: Decimal | None) -> Decimal | None:
    """Four decimals at most, no trailing zeros, never an exponent (10, not 1E+1)."""
    if value is None:
        return None
    short = value.quantize(_PLACES).normalize()
    exponent = short.as_tuple().exponent
    return short.quantize(Decimal(1)) if isinstance(exponent, int) and exponent > 0 else short


def status_of(*, actual: Decimal, expected: Decimal, increasing: bool) -> str:
    """``on_track`` within ±5 % of the path's value, else ``ahead`` or ``behind``."""
    margin = abs(expected) * TOLERANCE
    if abs(actual - expected) <= margin:
        return "on_track"
    better = actual > expected if increasing else actual < expected
    return "ahead" if better else "behind"


async def progress(
    session: AsyncSession,
    *,
    target_id: uuid.UUID | None,
    indicator: str | None,
    scope: str | None,
    now: datetime,
) -> ProgressRead:
    """``GET /v1/impact/progress``: a target's progress, or an indicator's yearly values in a
    scope for the last ten years."""
    if target_id is not None:
        target = await TargetRepository(session).latest(target_id)
        if target is None:
            raise TargetNotFoundError(f"No target has the id {target_id}.")
        return await target_progress(session, target, now=now)
    if indicator is None or scope is None:
        raise _invalid("target", "Name a target, or an indicator and a scope.")
    return await _progress(session, None, indicator, Scope.parse(scope), now=now, through=None)


async def target_progress(
    session: AsyncSession, target: ImpactTarget, *, now: datetime, through: int | None = None
) -> ProgressRead:
    """The progress of ``target`` (a version read from the database). With ``through``, the
    years after it are left out and the status and the growth needed are those of the years
    up to it (the yearly report of a past year); every value is the one ``progress`` shows."""
    where = Scope(TargetScope(target.scope), target.scope_code)
    return await _progress(session, target, target.indicator, where, now=now, through=through)


async def _progress(
    session: AsyncSession,
    target: ImpactTarget | None,
    indicator_id: str,
    where: Scope,
    *,
    now: datetime,
    through: int | None,
) -> ProgressRead:
    found = BY_ID.get(indicator_id)
    if found is None:
        raise UnknownIndicatorError(
            f"Unknown indicator {indicator_id!r}; see GET /v1/impact/indicators."
        )
    this_year = now.astimezone(NORWAY).year
    first = target.baseline_year if target is not None else this_year - 9
    last = min(this_year, target.target_year) if target is not None else this_year
    month_now = now.astimezone(NORWAY).month
    query = ImpactQuery(
        indicators=(found,),
        group_by=("year",),
        month_from=date(first, 1, 1),
        month_to=date(last, month_now if last == this_year else 12, 1),
        fylke=where.code if where.kind is TargetScope.FYLKE else None,
        kommune=where.code if where.kind is TargetScope.KOMMUNE else None,
        initiative=str(target.initiative_id) if target and target.initiative_id else None,
    )
    result = await aggregate(session, query)
    by_year = {int(str(r.keys["year"])): r for r in result.rows}

    def actual(year: int) -> tuple[Decimal | None, bool]:
        row = by_year.get(year)
        if row is None:
            return None, False
        return (None, True) if row.suppressed else (row.value, False)

    base_value: Decimal | None = None
    goal: Decimal | None = None
    if target is not None:
        base_value, _ = actual(target.baseline_year)
        if target.target_value is not None:
            goal = target.target_value
        elif base_value is not None and target.target_change_pct is not None:
            goal = base_value * (1 + target.target_change_pct / 100)
    path: dict[int, Decimal | None] = {}
    if target is not None and base_value is not None and goal is not None:
        path = {
            year: expected_value(
                TargetPath(target.path),
                base=base_value,
                target=goal,
                base_year=target.baseline_year,
                target_year=target.target_year,
                year=year,
            )
            for year in range(target.baseline_year, target.target_year + 1)
        }
    years: list[ProgressYear] = []
    for year in range(first, last + 1):
        value, hidden = actual(year)
        expected = path.get(year)
        gap = value - expected if value is not None and expected is not None else None
        years.append(
            ProgressYear(
                year=year,
                complete=year < this_year,
                actual=_q(value),
                suppressed=hidden,
                expected=_q(expected),
                gap=_q(gap),
            )
        )
    if through is not None:
        # Cut after the aggregate: the same suppression as GET /v1/impact/progress shows.
        years = [y for y in years if y.year <= through]
    status: str | None = None
    growth: Decimal | None = None
    if target is not None:
        status = "insufficient_data"
        measured = [
            y
            for y in years
            if y.complete and y.year > target.baseline_year and y.actual is not None
        ]
        if measured and goal is not None and base_value is not None:
            latest = measured[-1]
            assert latest.actual is not None
            if latest.expected is not None:
                status = status_of(
                    actual=latest.actual, expected=latest.expected, increasing=goal >= base_value
                )
            left = target.target_year - latest.year
            if left > 0 and latest.actual > 0 and goal > 0:
                growth = ((goal / latest.actual) ** (Decimal(1) / left) - 1) * 100
    return ProgressRead(
        indicator=found.id,
        unit=found.unit,
        scope=where.kind,
        scope_code=where.code,
        target=_read(target, latest=True) if target is not None else None,
        baseline=(
            {"year": target.baseline_year, "value": _q(base_value)} if target is not None else None
        ),
        target_value=_q(goal),
        path=[PathYear(year=y, expected=_q(v)) for y, v in path.items()],
        years=years,
        required_annual_growth_pct=_q(growth.quantize(Decimal("0.01"))) if growth else growth,
        status=status,  # type: ignore[arg-type]
    )
