"""Operational read models: the render queue's shape, the database's size, and the sweeps' last runs.

Cross-tenant by design (monitoring and the admin's stats): call them in the `system` or `admin`
scope. None of them is a projection of events; they read the jobs read model, the catalogue and
the `sweep_runs` table that api/maintenance.py writes.
"""
from __future__ import annotations

from typing import Any

JOB_STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")


def queue_stats(conn: Any) -> dict[str, Any]:
    """Jobs per status and priority (every status present, zeros included), the age of the oldest
    queued job, the running work and the failed jobs by error code."""
    rows = conn.execute("SELECT status, priority, count(*) AS n FROM jobs GROUP BY status, priority"
                        " ORDER BY status, priority").fetchall()
    by_status = dict.fromkeys(JOB_STATUSES, 0)
    for r in rows:
        by_status[r["status"]] = by_status.get(r["status"], 0) + int(r["n"])
    oldest = conn.execute(
        "SELECT extract(epoch FROM now() - min(queued_at))::float8 AS age FROM jobs WHERE status = 'queued'"
    ).fetchone()["age"]
    failures = conn.execute(
        "SELECT coalesce(error->>'code', 'UNKNOWN') AS code, count(*) AS n FROM jobs WHERE status = 'failed'"
        " GROUP BY 1 ORDER BY 1").fetchall()
    return {
        "depth": [{"status": r["status"], "priority": int(r["priority"]), "count": int(r["n"])} for r in rows],
        "by_status": by_status,
        "oldest_queued_age_seconds": max(0.0, float(oldest)) if oldest is not None else None,
        **running_work(conn, by_status["running"]),
        "failed_by_code": {r["code"]: int(r["n"]) for r in failures},
    }


def running_work(conn: Any, running_jobs: int) -> dict[str, Any]:
    """What is being rendered now. Today: the running jobs. The hook for job leases: when a claim
    carries a lease, count the live and the expired leases here (e.g. `leases_active`,
    `leases_expired`) and every consumer (admin stats, /metrics) shows them."""
    return {"running": running_jobs}


def database_stats(conn: Any) -> dict[str, int]:
    """The database's size on disk and the event log's (table, indexes and TOAST), in bytes."""
    row = conn.execute("SELECT pg_database_size(current_database()) AS database_bytes,"
                       " pg_total_relation_size('events') AS event_log_bytes").fetchone()
    return {k: int(v) for k, v in row.items()}


SWEEP_RUN_COLUMNS = ("name", "interval_seconds", "last_started_at", "last_finished_at", "last_duration_seconds",
                     "last_items", "last_failures", "last_error", "last_success_at", "runs", "failed_runs",
                     "items_total", "failures_total", "runner")


def list_sweep_runs(conn: Any) -> list[dict[str, Any]]:
    """Every sweep that has run (by any process), by name: its last run and its totals."""
    return conn.execute(f"SELECT {', '.join(SWEEP_RUN_COLUMNS)} FROM sweep_runs ORDER BY name").fetchall()


def get_sweep_run(conn: Any, name: str) -> dict[str, Any] | None:
    return conn.execute(f"SELECT {', '.join(SWEEP_RUN_COLUMNS)} FROM sweep_runs WHERE name = %s",
                        (name,)).fetchone()


def oldest_queued(conn: Any) -> dict[str, Any] | None:
    """The job that has waited longest in the queue (any tenant): what the queue page names."""
    return conn.execute("SELECT tenant_id, id, project_id, priority, queued_at, attempts FROM jobs"
                        " WHERE status = 'queued' ORDER BY queued_at, id LIMIT 1").fetchone()


def running_leases(conn: Any, limit: int = 50) -> list[dict[str, Any]]:
    """The running jobs' leases (any tenant), the soonest to expire first: who holds what until when."""
    return conn.execute("SELECT tenant_id, id, worker_id, lease_id, lease_expires_at, heartbeat_at, started_at,"
                        " attempts, max_attempts, lease_expires_at < now() AS expired FROM jobs"
                        " WHERE status = 'running' ORDER BY lease_expires_at NULLS LAST, id LIMIT %s",
                        (limit,)).fetchall()
