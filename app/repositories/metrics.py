"""The statements behind the state gauges of ``GET /metrics`` (``app.metrics``): one round trip,
each part served by an index (the outbox's primary key and cursor, the deliveries' due-queue
index, the ledger's primary key, the photos' purge index, the unfinished imports' index)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

_STATE = text(
    """
    WITH cursor AS (
        SELECT coalesce((SELECT last_seq FROM outbox_cursors WHERE consumer = 'webhook'), 0)
            AS last_seq
    )
    SELECT
        (SELECT count(*) FROM outbox_events, cursor WHERE seq > cursor.last_seq)
            AS unplanned_events,
        (SELECT min(created_at) FROM outbox_events, cursor WHERE seq > cursor.last_seq)
            AS oldest_unplanned,
        (SELECT max(seq) FROM evidence) AS ledger_seq,
        (SELECT recorded_at FROM evidence ORDER BY seq DESC LIMIT 1) AS ledger_head_at,
        (SELECT count(*) FROM listing_photos
            WHERE removed_at IS NOT NULL AND purged_at IS NULL) AS photos_to_purge,
        (SELECT count(*) FROM repair_imports WHERE state = 'queued') AS imports_queued,
        (SELECT count(*) FROM repair_imports WHERE state IN ('validating', 'writing'))
            AS imports_running,
        (SELECT min(created_at) FROM repair_imports
            WHERE state IN ('queued', 'validating', 'writing')) AS oldest_import
    """
)
_DUE = text(
    "SELECT channel, count(*), min(created_at) FROM deliveries "
    "WHERE status = 'pending' AND next_attempt_at <= :now GROUP BY channel"
)


class MetricsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def state(self, *, now: datetime) -> dict[str, Any]:
        row = (await self.session.execute(_STATE)).one()
        due = {
            channel: (int(count), max(0.0, (now - oldest).total_seconds()))
            for channel, count, oldest in (await self.session.execute(_DUE, {"now": now})).all()
        }
        for channel in ("email", "webhook"):
            due.setdefault(channel, (0, 0.0))
        return {
            "unplanned_events": int(row.unplanned_events),
            "unplanned_age_s": (
                max(0.0, (now - row.oldest_unplanned).total_seconds())
                if row.oldest_unplanned
                else 0.0
            ),
            "due": due,
            "ledger_seq": int(row.ledger_seq or 0),
            "ledger_head_age_s": (
                max(0.0, (now - row.ledger_head_at).total_seconds()) if row.ledger_head_at else -1.0
            ),
            "photos_to_purge": int(row.photos_to_purge),
            "imports_queued": int(row.imports_queued),
            "imports_running": int(row.imports_running),
            "oldest_import_age_s": (
                max(0.0, (now - row.oldest_import).total_seconds()) if row.oldest_import else 0.0
            ),
        }
