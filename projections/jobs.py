"""The jobs read model (and render queue), and the queries over it."""
from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from operator import attrgetter
from typing import Any
from uuid import UUID

from domain.jobs import Job
from projections.base import InlineProjection, RowMapping, map_row, newest_first, select_list


def _ts(name: str) -> Any:
    get = attrgetter(name)
    return lambda j: datetime.fromisoformat(value) if (value := get(j)) else None


JOB_ROW: RowMapping = {
    "tenant_id": lambda j: UUID(j.tenant_id),
    "id": attrgetter("id"),
    "project_id": lambda j: UUID(j.project_id),
    "status": attrgetter("status"),
    "priority": attrgetter("priority"),
    "config": attrgetter("config"),
    "estimate": attrgetter("estimate"),
    "cost_actual": attrgetter("cost_actual"),
    "attempts": attrgetter("attempts"),
    "max_attempts": attrgetter("max_attempts"),
    "from_step": attrgetter("from_step"),
    "progress": attrgetter("progress"),
    "error": lambda j: j.error or None,
    "worker_id": attrgetter("worker_id"),
    "timeout_seconds": attrgetter("timeout_seconds"),
    "queued_at": _ts("queued_at"),
    "available_at": _ts("available_at"),
    "started_at": _ts("started_at"),
    "heartbeat_at": _ts("heartbeat_at"),
    "finished_at": _ts("finished_at"),
    "version": attrgetter("version"),
    "created_at": attrgetter("created_on"),
    "updated_at": attrgetter("modified_on"),
    # Added with the worker contract (migration 0015), last so the columns before keep their places.
    "lease_id": lambda j: UUID(j.lease_id) if j.lease_id else None,
    "lease_expires_at": attrgetter("lease_expires_at"),
    "video_asset_id": lambda j: UUID(j.video_asset_id) if j.video_asset_id else None,
}


def job_row(j: Job) -> dict[str, Any]:
    """The job's row of the jobs table (also what the API answers for a job it holds)."""
    return map_row(JOB_ROW, j)


class JobsProjection(InlineProjection):
    name = "jobs"
    handles = (Job,)
    tables = {"jobs": (tuple(JOB_ROW), ("tenant_id", "id"))}
    json_columns = frozenset({"config", "estimate", "progress", "error"})

    def rows(self, j: Any) -> dict[str, list[tuple[Any, ...]]]:
        return {"jobs": [self.as_tuple("jobs", job_row(j))]}


JOB_COLUMNS = select_list(JOB_ROW, without=())


def get_job(conn: Any, tenant_id: UUID, job_id: UUID) -> dict[str, Any] | None:
    return conn.execute(f"SELECT {JOB_COLUMNS} FROM jobs WHERE tenant_id = %s AND id = %s",
                        (tenant_id, job_id), prepare=True).fetchone()


def list_jobs(conn: Any, tenant_id: UUID, *, limit: int, after: tuple[datetime, UUID] | None,
              status: str | None, project_id: UUID | None) -> list[dict[str, Any]]:
    filters = [f for f in (("status = %s", [status]) if status else None,
                           ("project_id = %s", [project_id]) if project_id else None) if f]
    return newest_first(conn, "jobs", JOB_COLUMNS, tenant_id, limit=limit, after=after, filters=filters)


def claim_candidates(conn: Any, limit: int = 8, *, versions: bool = False) -> list[Any]:
    """The next claimable jobs across tenants: priority first, then oldest; with `versions`, each as
    (id, the version the read model shows it queued at)."""
    rows = conn.execute(
        "SELECT id, version FROM jobs WHERE status = 'queued' AND available_at <= now()"
        " ORDER BY priority DESC, queued_at, id LIMIT %s", (limit,), prepare=True).fetchall()
    return [(r["id"], r["version"]) if versions else r["id"] for r in rows]


def expired_leases(conn: Any, limit: int = 500, exclude: Collection[UUID] = (),
                   now: datetime | None = None) -> list[UUID]:
    """Running jobs whose lease ended (across tenants: the sweep), but those in `exclude` (this run
    already failed on them); `now`: the sweep's clock (the database's by default)."""
    return [r["id"] for r in conn.execute(
        "SELECT id FROM jobs WHERE status = 'running' AND lease_expires_at < coalesce(%s, now())"
        " AND id <> ALL(%s) ORDER BY lease_expires_at LIMIT %s", (now, list(exclude), limit))]
