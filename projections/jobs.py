"""The jobs read model (and render queue), and the queries over it."""
from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg.types.json import Jsonb

from domain.jobs import Job
from projections.base import InlineProjection, newest_first


def _ts(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


class JobsProjection(InlineProjection):
    name = "jobs"
    handles = (Job,)
    tables = {
        "jobs": (("tenant_id", "id", "project_id", "status", "priority", "config", "estimate", "cost_actual",
                  "attempts", "max_attempts", "from_step", "progress", "error", "worker_id", "timeout_seconds",
                  "queued_at", "available_at", "started_at", "heartbeat_at", "finished_at", "version",
                  "created_at", "updated_at"), ("tenant_id", "id")),
    }

    def rows(self, j: Any) -> dict[str, list[tuple[Any, ...]]]:
        return {"jobs": [(
            UUID(j.tenant_id), j.id, UUID(j.project_id), j.status, j.priority, Jsonb(j.config), Jsonb(j.estimate),
            j.cost_actual, j.attempts, j.max_attempts, j.from_step, Jsonb(j.progress),
            Jsonb(j.error) if j.error else None, j.worker_id, j.timeout_seconds, _ts(j.queued_at),
            _ts(j.available_at), _ts(j.started_at), _ts(j.heartbeat_at), _ts(j.finished_at), j.version,
            j.created_on, j.modified_on,
        )]}


JOB_COLUMNS = ("id, tenant_id, project_id, status, priority, config, estimate, cost_actual, attempts, max_attempts,"
               " from_step, progress, error, worker_id, timeout_seconds, queued_at, available_at, started_at,"
               " heartbeat_at, finished_at, version, created_at, updated_at")


def get_job(conn: Any, tenant_id: UUID, job_id: UUID) -> dict[str, Any] | None:
    return conn.execute(f"SELECT {JOB_COLUMNS} FROM jobs WHERE tenant_id = %s AND id = %s",
                        (tenant_id, job_id), prepare=True).fetchone()


def list_jobs(conn: Any, tenant_id: UUID, *, limit: int, after: tuple[datetime, UUID] | None,
              status: str | None, project_id: UUID | None) -> list[dict[str, Any]]:
    filters = [f for f in (("status = %s", [status]) if status else None,
                           ("project_id = %s", [project_id]) if project_id else None) if f]
    return newest_first(conn, "jobs", JOB_COLUMNS, tenant_id, limit=limit, after=after, filters=filters)


def claim_candidates(conn: Any, limit: int = 8) -> list[UUID]:
    """The next claimable jobs across tenants: priority first, then oldest."""
    return [r["id"] for r in conn.execute(
        "SELECT id FROM jobs WHERE status = 'queued' AND available_at <= now()"
        " ORDER BY priority DESC, queued_at, id LIMIT %s", (limit,), prepare=True)]


def stalled_jobs(conn: Any, limit: int = 500) -> list[UUID]:
    """Running jobs whose last report is older than their timeout."""
    return [r["id"] for r in conn.execute(
        "SELECT id FROM jobs WHERE status = 'running'"
        " AND heartbeat_at < now() - make_interval(secs => timeout_seconds) ORDER BY heartbeat_at LIMIT %s",
        (limit,))]
