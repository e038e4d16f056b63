"""Reads over the event log itself: an aggregate's history, and the version it had at a time."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

from domain.shared import event_type, jsonable

EVENT_COLUMNS = ("notification_id, tenant_seq, originator_id, originator_version, topic, state,"
                 " recorded_at, actor_id, command_id, correlation_id, causation_id, reason, hash, prev_hash")


def event_data(row: dict[str, Any], decode: Callable[[bytes], dict[str, Any]]) -> Any:
    """An event row's payload as the API shows it (`data`)."""
    data = decode(bytes(row["state"]))
    data.pop("originator_topic", None)
    return jsonable(data)


def event_view(row: dict[str, Any], decode: Callable[[bytes], dict[str, Any]], data: Any = None) -> dict[str, Any]:
    """The API's view of an event row; `data` when its payload is known already (api/reads.py PayloadCache)."""
    kind = event_type(row["topic"])
    if data is None:
        data = event_data(row, decode)
    return {
        "position": row["notification_id"], "tenant_seq": row["tenant_seq"],
        "aggregate_id": row["originator_id"], "aggregate_type": kind.split(".")[0],
        "version": row["originator_version"], "type": kind, "recorded_at": row["recorded_at"],
        "actor_id": row["actor_id"], "command_id": row["command_id"],
        "correlation_id": row["correlation_id"], "causation_id": row["causation_id"],
        "reason": row.get("reason"),
        "data": data, "hash": bytes(row["hash"]).hex(), "prev_hash": bytes(row["prev_hash"]).hex(),
    }


def aggregate_history(conn: Any, tenant_id: UUID, aggregate_id: UUID, limit: int,
                      after_version: int = 0) -> list[dict[str, Any]]:
    """One page of the aggregate's events after `after_version`, in version order (keyset on the
    primary key)."""
    return conn.execute(
        f"SELECT {EVENT_COLUMNS} FROM events WHERE originator_id = %s AND originator_version > %s"
        " AND tenant_id = %s ORDER BY originator_version LIMIT %s",
        (aggregate_id, after_version, tenant_id, limit), prepare=True).fetchall()


def first_topic(conn: Any, tenant_id: UUID, aggregate_id: UUID) -> str | None:
    """The topic of the tenant's aggregate's first event (its kind), or None when it has none."""
    row = conn.execute("SELECT topic FROM events WHERE originator_id = %s AND originator_version = 1"
                       " AND tenant_id = %s", (aggregate_id, tenant_id), prepare=True).fetchone()
    return row["topic"] if row else None


def version_at_position(conn: Any, tenant_id: UUID, aggregate_id: UUID, position: int) -> int:
    """The aggregate's last version recorded at or before a (global) position; 0 before its first event.
    Any position is a bound, like the audit events' `after`: a foreign one reveals nothing."""
    row = conn.execute("SELECT coalesce(max(originator_version), 0) AS v FROM events WHERE originator_id = %s"
                       " AND tenant_id = %s AND notification_id <= %s", (aggregate_id, tenant_id, position),
                       prepare=True).fetchone()
    return int(row["v"])


def version_at(conn: Any, tenant_id: UUID, aggregate_id: UUID, at: datetime) -> int | None:
    """The aggregate's version as recorded at time `at` (None if it did not exist yet)."""
    row = conn.execute(
        "SELECT max(originator_version) AS v FROM events"
        " WHERE originator_id = %s AND tenant_id = %s AND recorded_at <= %s",
        (aggregate_id, tenant_id, at), prepare=True).fetchone()
    return row["v"] if row else None


def owns(conn: Any, tenant_id: UUID, aggregate_id: UUID) -> bool:
    return conn.execute(
        "SELECT 1 FROM events WHERE originator_id = %s AND originator_version = 1 AND tenant_id = %s",
        (aggregate_id, tenant_id), prepare=True).fetchone() is not None
