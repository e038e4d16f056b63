"""Job routes: queue and manage renders (tenants), claim, report on and register the outputs of them
(workers, under a lease); the expired-lease sweep."""
from __future__ import annotations

import os
import re
from datetime import datetime, timezone
from typing import Annotated, Any, Literal
from uuid import UUID, uuid4

import anyio
import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.openapi import ResponseSpec
from litestar.params import Parameter

from api.auth import requires_role, tenant_roles, worker_only
from api.http import HISTORY_PAGE, HistoryAfter, HistoryLimit, aggregate_at, history_of, COMMAND_ERRORS, READ_ERRORS, decode_cursor, encode_cursor, errors, etag
from api.schemas import (
    AssetOut, CompleteJob, FailJob, History, JobList, JobOut, QueueJob, ReportProgress, RetryJob, WorkerJobOut, plain,
)
from api.controllers.assets import asset_out
from api.media import media_key, output_limits
from api.manifest import JobManifest, build_manifest, manifest_or_none, worker_view
from api.responses import from_row
from api.services import Services
from domain.application import CommandContext
from domain.errors import NotFound, ValidationProblem
from domain.jobs import MAX_LEASE_SECONDS, MIN_LEASE_SECONDS, Job
from projections import jobs as q

WORKER_ERRORS = {**COMMAND_ERRORS, **errors(403)}
job_readers = requires_role("user", "premium", "admin", "worker")


def configured_lease_seconds() -> int | None:
    """AVM_JOB_LEASE_SECONDS: how long a claim's lease lasts without a heartbeat (unset: the job's
    `generation.timeout_seconds`, 60–600 s, from its project's config)."""
    raw = os.environ.get("AVM_JOB_LEASE_SECONDS")
    if not raw:
        return None
    value = int(raw)
    if not MIN_LEASE_SECONDS <= value <= MAX_LEASE_SECONDS:
        raise ValueError(f"AVM_JOB_LEASE_SECONDS must be {MIN_LEASE_SECONDS} to {MAX_LEASE_SECONDS}")
    return value


LEASE_SECONDS = configured_lease_seconds()


def job_out(source: dict[str, Any] | Job, cls: type[JobOut] = JobOut) -> JobOut:
    if isinstance(source, Job):
        return from_row(cls, q.job_row(source), convert=True)
    return from_row(cls, source)


def expire_leases(services: Services, ctx: CommandContext, skipped: set[UUID] | None = None,
                  now: datetime | None = None) -> int:
    """One expired-lease sweep (what `avm jobs sweep` and the maintenance runner call): every running
    job whose lease ended goes back to the queue as a TIMEOUT failure of its attempt, or fails after
    its last attempt, exactly once even with concurrent sweeps. A job that fails is logged, counted,
    added to `skipped`, not tried again in this run, and left for the next."""
    total = 0
    skipped = set() if skipped is None else skipped
    while True:
        with services.read(scope="system") as conn:
            due = q.expired_leases(conn, exclude=skipped, now=now)
        if not due:
            return total
        failed_before = len(skipped)
        done = services.app.sweep_expired_leases(ctx, due, now=now, skipped=skipped)
        total += done
        if done == 0 and len(skipped) == failed_before:  # all swept (or re-leased) by someone else meanwhile
            with services.read(scope="system") as conn:
                if set(q.expired_leases(conn, exclude=skipped, now=now)) >= set(due):
                    return total


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

    @get("/{job_id:uuid}", sync_to_thread=True, guards=[job_readers], responses={**READ_ERRORS, **errors(403)},
         resource="job", any_of=True)
    def get_job(self, request: Request[Any, Any, Any], job_id: UUID, services: Services, *, tenant: UUID,
                at: Annotated[str | None, Parameter(max_length=64, description="A version or an RFC 3339 time")] = None,
                ) -> Response[JobOut | JobManifest]:
        """Read one job; `?at=` returns it as it was at a version or time. A worker reads the manifest of
        a job whose live lease it holds (any other job: 404)."""
        if request.user.role == "worker":
            manifest = None if at is not None else manifest_or_none(services, job_id, str(request.user.user_id),
                                                                    datetime.now(timezone.utc))
            if manifest is None:
                raise NotFound("job not found")
            return Response(manifest, headers=etag(manifest.version))
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
    def claim_job(self, request: Request[Any, Any, Any], services: Services,
                  ctx: CommandContext) -> Response[JobManifest | None]:
        """Claim the next job (premium first, then oldest) under a new lease: the answer is the job's
        manifest, everything needed to render it; 204 when none is waiting."""
        for _ in range(20):
            with services.read(scope="worker") as conn:
                candidates = q.claim_candidates(conn, versions=True)
            # a repeat of a claim answers the job it claimed, even when the queue is empty now
            job = services.app.claim_job(ctx, candidates, lease_seconds=LEASE_SECONDS)
            if job is not None:
                return Response(build_manifest(services, job), status_code=200)
            if not candidates:
                break
        return Response(None, status_code=204)

    @post("/{job_id:uuid}/progress", status_code=200, sync_to_thread=True, guards=[worker_only],
          responses=WORKER_ERRORS)
    def report_progress(self, job_id: UUID, data: ReportProgress,
                        services: Services, ctx: CommandContext) -> WorkerJobOut:
        """Report the running job's current step and percentage; also the heartbeat that extends the
        lease. Only the lease holder reports (409), and steps only move forward within an attempt (409)."""
        return worker_view(services.app.report_progress(ctx, str(job_id), data.step, data.percentage,
                                                        lease_id=_lease(data.lease_id)))

    @post("/{job_id:uuid}/complete", status_code=200, sync_to_thread=True, guards=[worker_only],
          responses=WORKER_ERRORS)
    def complete_job(self, job_id: UUID, services: Services,
                     ctx: CommandContext, data: CompleteJob | None = None) -> WorkerJobOut:
        """Report success with the actual cost and the video produced; the project becomes completed
        and shows that video as its output. Only the lease holder completes (409)."""
        return worker_view(services.app.complete_job(
            ctx, str(job_id), data.cost_actual if data else None, lease_id=_lease(data.lease_id if data else None),
            video_asset_id=str(data.video_asset_id) if data and data.video_asset_id else None))

    @post("/{job_id:uuid}/fail", status_code=200, sync_to_thread=True, guards=[worker_only],
          responses=WORKER_ERRORS)
    def fail_job(self, job_id: UUID, data: FailJob,
                 services: Services, ctx: CommandContext) -> WorkerJobOut:
        """Report failure; retryable errors are retried with backoff until attempts run out. Only the
        lease holder fails a job (409)."""
        e = data.error
        return worker_view(services.app.fail_job(ctx, str(job_id), code=e.code, message=e.message,
                                                 retryable=e.retryable, details=e.details,
                                                 lease_id=_lease(data.lease_id)))


def _lease(lease_id: UUID | None) -> str | None:
    return str(lease_id) if lease_id is not None else None


OUTPUT_LIMITS = output_limits()
CONTENT_TYPE = re.compile(r"^(image|audio|video)/[a-z0-9.+-]{1,100}$")  # kept, and served back on download
OutputType = Literal["image", "audio", "video"]


class JobOutputController(Controller):
    """The bytes a worker produced for the job it holds, stored (api/media.py) and registered as assets."""

    path = "/api/v1/jobs/{job_id:uuid}/outputs"
    tags = ["jobs"]
    guards = [worker_only]

    @post("/", status_code=201, responses={**WORKER_ERRORS, **errors(413)}, raw_body=True,
          request_max_body_size=max(OUTPUT_LIMITS.values()))
    async def register_output(
            self, request: Request[Any, Any, Any], job_id: UUID, services: Services, ctx: CommandContext,
            type: Annotated[OutputType, Parameter(description="What the bytes are")],  # noqa: A002
            checksum: Annotated[str, Parameter(pattern=r"^sha256:[0-9a-f]{64}$",
                                               description="sha256:<hex> of the body; 422 when the bytes differ")],
            scene_index: Annotated[int | None, Parameter(ge=0, le=999, description="The scene it belongs to "
                                                         "(required for an image)")] = None,
            width: Annotated[int | None, Parameter(ge=1, le=16_384)] = None,
            height: Annotated[int | None, Parameter(ge=1, le=16_384)] = None,
            duration_seconds: Annotated[float | None, Parameter(gt=0, le=86_400)] = None,
            lease_id: Annotated[UUID | None, Parameter(description="The claim's lease.id")] = None,
    ) -> Response[AssetOut]:
        """Store the request body (the raw bytes of an image, narration audio or the final video) and
        register it as an asset of the job's tenant linked to the job, its project and scene; only the
        lease holder may (409). Generated media have their own size limits (422 naming size_bytes)."""
        now = datetime.now(timezone.utc)
        limit = OUTPUT_LIMITS[type]
        announced = request.headers.get("content-length")
        if announced is not None and announced.isdigit() and int(announced) > limit:
            raise ValidationProblem(f"size_bytes must be between 1 and {limit} for a generated {type}",
                                    field="size_bytes")
        job = await anyio.to_thread.run_sync(services.app.load, Job, job_id, None)
        job.check_claimed_by(ctx.actor_id, _lease(lease_id), now)  # before any byte is stored
        upload_id = uuid4()  # the bytes' key; the asset names it by its uri
        media = services.media
        writer = await anyio.to_thread.run_sync(media.writer, media_key(job.tenant_id, job_id, upload_id))
        try:
            async for chunk in request.stream():
                if writer.size + len(chunk) > limit:  # type: ignore[attr-defined]
                    raise ValidationProblem(f"size_bytes must be between 1 and {limit} for a generated {type}",
                                            field="size_bytes")
                if chunk:
                    await anyio.to_thread.run_sync(writer.write, chunk)
            stored = await anyio.to_thread.run_sync(writer.commit)
        except BaseException:
            writer.abort()
            raise
        try:
            if stored.checksum != checksum:
                raise ValidationProblem("checksum does not match the bytes received", field="checksum")
            content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
            metadata = {k: v for k, v in (("width", width), ("height", height), ("duration_seconds", duration_seconds),
                                          ("content_type", content_type if CONTENT_TYPE.match(content_type) else None))
                        if v is not None}
            asset = await anyio.to_thread.run_sync(lambda: services.app.register_output(
                ctx, str(job_id), type=type, uri=stored.uri, size_bytes=stored.size_bytes,
                checksum=stored.checksum, metadata=metadata, scene_index=scene_index, max_bytes=limit,
                lease_id=_lease(lease_id), now=now))
        except BaseException:
            media.delete(media_key(job.tenant_id, job_id, upload_id))
            raise
        return Response(asset_out(asset), status_code=201,
                        headers={**etag(asset.version), "Location": f"/api/v1/assets/{asset.id}"})
