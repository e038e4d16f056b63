"""Job routes: queue and manage renders (tenants), claim and report on them (workers)."""
from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.openapi import ResponseSpec
from litestar.params import Parameter

from api.auth import tenant_roles, worker_only
from api.http import HISTORY_PAGE, HistoryAfter, HistoryLimit, aggregate_at, history_of, COMMAND_ERRORS, READ_ERRORS, decode_cursor, encode_cursor, errors, etag
from api.schemas import (
    CompleteJob, FailJob, History, JobList, JobOut, QueueJob, ReportProgress, RetryJob, WorkerJobOut, plain,
)
from api.responses import from_row
from api.services import Services
from domain.application import CommandContext
from domain.errors import NotFound
from domain.jobs import Job
from projections import jobs as q

WORKER_ERRORS = {**COMMAND_ERRORS, **errors(403)}
def job_out(source: dict[str, Any] | Job, cls: type[JobOut] = JobOut) -> JobOut:
    if isinstance(source, Job):
        return from_row(cls, q.job_row(source), convert=True)
    return from_row(cls, source)  # a worker's view (WorkerJobOut) includes the tenant


class ProjectJobsController(Controller):
    path = "/api/v1/projects/{project_id:uuid}/jobs"
    tags = ["jobs"]
    guards = [tenant_roles]

    @post("/", status_code=201, sync_to_thread=True, responses={**COMMAND_ERRORS, **errors(429)})
    def queue_job(self, project_id: UUID, services: Services,
                  ctx: CommandContext, data: QueueJob | None = None) -> Response[JobOut]:
        """Queue a render of a ready project, with its cost estimate (quotas: images, TTS minutes)."""
        job = services.app.queue_job(ctx, str(project_id), plain(data.config) if data else None)
        return Response(job_out(job), status_code=201,
                        headers={**etag(job.version), "Location": f"/api/v1/jobs/{job.id}"})


class JobController(Controller):
    path = "/api/v1/jobs"
    tags = ["jobs"]

    @get("/", sync_to_thread=True, guards=[tenant_roles], responses=READ_ERRORS, resource="jobs")
    def list_jobs(self, services: Services,
                  limit: Annotated[int, Parameter(ge=1, le=100)] = 20,
                  cursor: Annotated[str | None, Parameter(max_length=200)] = None,
                  status: Annotated[str | None, Parameter(pattern="^(queued|running|succeeded|failed|cancelled)$")] = None,
                  project_id: UUID | None = None, *, tenant: UUID) -> JobList:
        """The tenant's jobs, newest first."""
        with services.read(tenant) as conn:
            rows = q.list_jobs(conn, tenant, limit=limit + 1, after=decode_cursor(cursor), status=status,
                               project_id=project_id)
        more, rows = len(rows) > limit, rows[:limit]
        return JobList(items=[job_out(r) for r in rows],
                       next_cursor=encode_cursor(rows[-1]["created_at"], rows[-1]["id"]) if more else None)

    @get("/{job_id:uuid}", sync_to_thread=True, guards=[tenant_roles], responses=READ_ERRORS, resource="job")
    def get_job(self, job_id: UUID, services: Services, *, tenant: UUID,
                at: Annotated[str | None, Parameter(max_length=64, description="A version or an RFC 3339 time")] = None,
                ) -> Response[JobOut]:
        """Read one job; `?at=` returns it as it was at a version or time."""
        if at is not None:
            job = aggregate_at(services, Job, tenant, job_id, at)
            return Response(job_out(job), headers=etag(job.version))
        with services.read(tenant) as conn:
            row = q.get_job(conn, tenant, job_id)
        if row is None:
            raise NotFound("job not found")
        return Response(job_out(row), headers=etag(row["version"]))

    @get("/{job_id:uuid}/history", sync_to_thread=True, guards=[tenant_roles], responses=READ_ERRORS)
    def job_history(self, request: Request[Any, Any, Any], job_id: UUID, services: Services,
                    after: HistoryAfter = None, limit: HistoryLimit = HISTORY_PAGE) -> History:
        """The job's events, oldest first, a page at a time (`after`: the last `next_cursor`)."""
        return history_of(services, request.user.tenant_id, job_id, "jobs", "job", after, limit)

    @post("/{job_id:uuid}/cancel", status_code=200, sync_to_thread=True, guards=[tenant_roles],
          responses=COMMAND_ERRORS)
    def cancel_job(self, job_id: UUID, services: Services, ctx: CommandContext) -> JobOut:
        """Cancel a queued or running job."""
        return job_out(services.app.cancel_job(ctx, str(job_id)))

    @post("/{job_id:uuid}/retry", status_code=200, sync_to_thread=True, guards=[tenant_roles],
          responses=COMMAND_ERRORS)
    def retry_job(self, job_id: UUID, services: Services,
                  ctx: CommandContext, data: RetryJob | None = None) -> JobOut:
        """Queue a failed or cancelled job again, from the start or from a named step."""
        return job_out(services.app.retry_job(ctx, str(job_id),
                                              data.from_step if data else None))

    @post("/claim", status_code=200, sync_to_thread=True, guards=[worker_only],
          responses={204: ResponseSpec(data_container=None, description="No job is waiting"), **WORKER_ERRORS})
    def claim_job(self, services: Services, ctx: CommandContext) -> Response[WorkerJobOut | None]:
        """Claim the next job (premium first, then oldest); 204 when none is waiting."""
        for _ in range(20):
            with services.read(scope="worker") as conn:
                candidates = q.claim_candidates(conn)
            job = services.app.claim_job(ctx, candidates)  # a repeat of a claim: the job it claimed
            if job is not None:
                return Response(job_out(job, WorkerJobOut), status_code=200)  # type: ignore[arg-type]
            if not candidates:
                break
        return Response(None, status_code=204)

    @post("/{job_id:uuid}/progress", status_code=200, sync_to_thread=True, guards=[worker_only],
          responses=WORKER_ERRORS)
    def report_progress(self, job_id: UUID, data: ReportProgress,
                        services: Services, ctx: CommandContext) -> WorkerJobOut:
        """Report the running job's current step and percentage (also its heartbeat)."""
        return job_out(services.app.report_progress(ctx, str(job_id), data.step,
                                                    data.percentage), WorkerJobOut)  # type: ignore[return-value]

    @post("/{job_id:uuid}/complete", status_code=200, sync_to_thread=True, guards=[worker_only],
          responses=WORKER_ERRORS)
    def complete_job(self, job_id: UUID, services: Services,
                     ctx: CommandContext, data: CompleteJob | None = None) -> WorkerJobOut:
        """Report success with the actual cost; the project becomes completed."""
        return job_out(services.app.complete_job(ctx, str(job_id),
                                                 data.cost_actual if data else None), WorkerJobOut)  # type: ignore[return-value]

    @post("/{job_id:uuid}/fail", status_code=200, sync_to_thread=True, guards=[worker_only],
          responses=WORKER_ERRORS)
    def fail_job(self, job_id: UUID, data: FailJob,
                 services: Services, ctx: CommandContext) -> WorkerJobOut:
        """Report failure; retryable errors are retried with backoff until attempts run out."""
        e = data.error
        return job_out(services.app.fail_job(ctx, str(job_id), code=e.code, message=e.message,
                                             retryable=e.retryable, details=e.details), WorkerJobOut)  # type: ignore[return-value]
