"""Reads over the event log itself: an aggregate's history, and the version it had at a time."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

from domain.shared import event_type, jsonable

EVENT_COLUMNS = ("notification_id, tenant_seq, originator_id, originator_version, topic, state,"
                 " recorded_at, actor_id, command_id, correlation_id, causation_id, hash, prev_hash")


def event_view(row: dict[str, Any], decode: Callable[[bytes], dict[str, Any]]) -> dict[str, Any]:
    kind = event_type(row["topic"])
    data = decode(bytes(row["state"]))
    data.pop("originator_topic", None)
    return {
        "position": row["notification_id"], "tenant_seq": row["tenant_seq"],
        "aggregate_id": row["originator_id"], "aggregate_type": kind.split(".")[0],
        "version": row["originator_version"], "type": kind, "recorded_at": row["recorded_at"],
        "actor_id": row["actor_id"], "command_id": row["command_id"],
        "correlation_id": row["correlation_id"], "causation_id": row["causation_id"],
        "data": jsonable(data), "hash": bytes(row["hash"]).hex(), "prev_hash": bytes(row["prev_hash"]).hex(),
    }


def aggregate_history(conn: Any, tenant_id: UUID, aggregate_id: UUID, limit: int = 10_000) -> list[dict[str, Any]]:
    return conn.execute(
        f"SELECT {EVENT_COLUMNS} FROM events WHERE originator_id = %s AND tenant_id = %s"
        " ORDER BY originator_version LIMIT %s", (aggregate_id, tenant_id, limit), prepare=True).fetchall()


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
