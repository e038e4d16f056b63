"""Job commands: queue, claim (with a lease), progress (a heartbeat), outputs, complete, fail, cancel, retry,
and the expired-lease sweep."""
from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from domain.assets import Asset
from domain.commands.usage import DailyUsage
from domain.config import merge_config
from domain.context import CommandContext
from domain.errors import NotFound, ValidationProblem
from domain.estimate import estimate_cost
from domain.jobs import Job
from domain.projects import Project
from domain.quotas import tts_minutes
from domain.shared import TenantAggregate

R = TypeVar("R")


class JobCommands(DailyUsage):
    def queue_job(self, ctx: CommandContext, project_id: str, config: dict[str, Any] | None = None,
                  now: datetime | None = None) -> Job:
        now = now or datetime.now(timezone.utc)

        def build() -> tuple[list[TenantAggregate], Job]:
            project = self.load(Project, project_id, ctx.tenant_id)
            job_config = merge_config(project.config, config) if config else project.config
            generation, voice = job_config["generation"], job_config["voice"]
            chars, scenes = len(project.story or ""), len(project.scenes)
            job = Job(tenant_id=ctx.tenant_id, project_id=str(project.id), config=job_config,
                      estimate=estimate_cost(chars, scenes, generation["images_per_scene"]),
                      priority=1 if ctx.role in ("premium", "admin") else 0,
                      max_attempts=1 + generation["retry_attempts"],
                      timeout_seconds=generation["timeout_seconds"], queued_at=now.isoformat())
            project.queue_job(str(job.id))
            usage = self._usage(ctx.tenant_id, now)
            usage.consume(ctx.role, {"images": scenes * generation["images_per_scene"],
                                     "tts_minutes": tts_minutes(chars, voice["language"], voice["speed"])})
            return [job, project, usage], job

        keys = [project_id, *self._usage_keys(ctx.tenant_id, ctx.role, now)]
        return self.retry_on_conflict(ctx, build, keys=keys)

    def claim_job(self, ctx: CommandContext, candidates: Iterable[UUID | tuple[UUID, int]],
                  now: datetime | None = None, lease_seconds: int | None = None) -> Job | None:
        """Claim the first candidate still claimable, under a new lease of `lease_seconds` (the job's
        timeout when not given); a job another worker claimed first is skipped. A candidate may come
        with the version the queue (the read model) showed it queued at."""
        if ctx.recorded is not None:
            return self._replayed(ctx.recorded)  # type: ignore[no-any-return]  # claimed before: that job
        now = now or datetime.now(timezone.utc)

        def claim(job_id: UUID, queued_at: int | None) -> tuple[list[TenantAggregate], Job | None]:
            job = self.load(Job, job_id, None)
            if not job.claimable(now) and queued_at is not None and job.version > queued_at:
                # The cached copy is newer than the queue's row: changed since it was queued (another
                # worker of this process claimed it), so no reload from the store to learn the same.
                return [], None
            fresh = self.repository.fastforward  # `load` fast-forwarded it
            if not job.claimable(now) and not fresh:  # the cached copy may be older than the queue: read it afresh
                self.evict(job)
                job = self.load(Job, job_id, None)
            if not job.claimable(now):
                return [], None
            project = self.load(Project, job.project_id, job.tenant_id)
            job.claim(worker_id=ctx.actor_id, now=now, lease_id=str(uuid.uuid4()),
                      lease_seconds=lease_seconds or job.timeout_seconds)
            project.job_started(str(job.id))
            return [job, project], job

        def attempt(candidate: UUID | tuple[UUID, int]) -> Job | None:
            job_id, queued_at = candidate if isinstance(candidate, tuple) else (candidate, None)
            # The queue is every tenant's: one bad job is skipped; a broken constraint is no job's fault.
            return self._sweep_item(ctx, "job claim", job_id, lambda: claim(job_id, queued_at), None,
                                    reraise=(IntegrityError,))

        # Workers of this process asking at once see the same candidates. A candidate another of them
        # is claiming right now (its stripe is held until that claim commits) is passed over for the
        # next one, instead of racing it to a version conflict (a failed command in the group commit,
        # a backoff, a reload from the store) and skipping it anyway; only when every candidate is
        # busy does a claim wait for each in turn, in queue order (issue 17, decisions/i17-write.md).
        busy = []
        for candidate in candidates:
            stripe = self._stripe(candidate[0] if isinstance(candidate, tuple) else candidate)
            if not stripe.acquire(blocking=False):
                busy.append(candidate)
                continue
            try:
                job = attempt(candidate)
            finally:
                stripe.release()
            if job is not None:
                return job
        for candidate in busy:
            with self._serialised([candidate[0] if isinstance(candidate, tuple) else candidate]):
                job = attempt(candidate)
            if job is not None:
                return job
        return None

    def _job_change(self, ctx: CommandContext, job_id: str, tenant_id: str | None,
                    change: Callable[[Job, Project], R]) -> tuple[Job, R]:
        def build() -> tuple[list[TenantAggregate], tuple[Job, R]]:
            job = self.load(Job, job_id, tenant_id)
            project = self.load(Project, job.project_id, job.tenant_id)
            return [job, project], (job, change(job, project))

        return self.retry_on_conflict(ctx, build, keys=[job_id])

    def report_progress(self, ctx: CommandContext, job_id: str, step: str, percentage: float,
                        now: datetime | None = None, lease_id: str | None = None) -> Job:
        """The lease holder's progress: also its heartbeat, which extends the lease."""
        now = now or datetime.now(timezone.utc)

        def change(job: Job, project: Project) -> None:
            job.check_claimed_by(ctx.actor_id, lease_id, now)
            job.report_progress(step, percentage, now)

        job, _ = self._job_change(ctx, job_id, None, change)
        return job

    def complete_job(self, ctx: CommandContext, job_id: str, cost_actual: float | None,
                     now: datetime | None = None, lease_id: str | None = None,
                     video_asset_id: str | None = None) -> Job:
        """Succeed; the project becomes completed and, when the job names its video, shows it."""
        now = now or datetime.now(timezone.utc)

        def change(job: Job, project: Project) -> None:
            job.check_claimed_by(ctx.actor_id, lease_id, now)
            if video_asset_id is not None:
                self._check_video(job, video_asset_id)
            job.complete(cost_actual, now, video_asset_id)
            project.job_ended(str(job.id), "succeeded", video_asset_id)

        job, _ = self._job_change(ctx, job_id, None, change)
        return job

    def _check_video(self, job: Job, asset_id: str) -> None:
        try:
            video = self.load(Asset, asset_id, job.tenant_id)
        except NotFound:
            video = None
        if video is None or video.job_id != str(job.id) or video.type != "video" or video.deleted or video.expired:
            raise ValidationProblem("video_asset_id must name a video this job registered", field="video_asset_id")

    def register_output(self, ctx: CommandContext, job_id: str, *, type: str, uri: str,  # noqa: A002
                        size_bytes: int, checksum: str, metadata: dict[str, Any], scene_index: int | None,
                        max_bytes: int, lease_id: str | None = None, now: datetime | None = None) -> Asset:
        """Register what the lease holder produced (stored bytes at `uri`) as an asset of the job's
        tenant, linked to the job, its project and a scene; an image becomes its scene's image."""
        now = now or datetime.now(timezone.utc)

        def build() -> tuple[list[TenantAggregate], Asset]:
            job = self.load(Job, job_id, None)
            job.check_claimed_by(ctx.actor_id, lease_id, now)
            project = self.load(Project, job.project_id, job.tenant_id)
            asset = Asset.register_output(tenant_id=job.tenant_id, type=type, uri=uri, size_bytes=size_bytes,
                                          checksum=checksum, metadata=metadata, project_id=job.project_id,
                                          job_id=str(job.id), scene_index=scene_index,
                                          scene_count=len(project.scenes), max_bytes=max_bytes, now=now)
            if type == "image" and scene_index is not None:
                project.attach_scene_image(scene_index, str(asset.id))
            return [asset, project], asset

        return self.retry_on_conflict(ctx, build, keys=[job_id])

    def fail_job(self, ctx: CommandContext, job_id: str, *, code: str, message: str, retryable: bool,
                 details: dict[str, Any] | None = None, now: datetime | None = None,
                 jitter: float | None = None, lease_id: str | None = None) -> Job:
        now = now or datetime.now(timezone.utc)

        def change(job: Job, project: Project) -> None:
            job.check_claimed_by(ctx.actor_id, lease_id, now)
            requeued = job.fail(code, message, retryable, now, self._jitter(jitter), details)
            if not requeued:
                project.job_ended(str(job.id), "failed")

        job, _ = self._job_change(ctx, job_id, None, change)
        return job

    def cancel_job(self, ctx: CommandContext, job_id: str, now: datetime | None = None) -> Job:
        now = now or datetime.now(timezone.utc)

        def change(job: Job, project: Project) -> None:
            job.cancel(now)
            project.job_ended(str(job.id), "cancelled")

        job, _ = self._job_change(ctx, job_id, ctx.tenant_id, change)
        return job

    def retry_job(self, ctx: CommandContext, job_id: str, from_step: str | None = None,
                  now: datetime | None = None) -> Job:
        now = now or datetime.now(timezone.utc)

        def change(job: Job, project: Project) -> None:
            job.retry(from_step, now)
            project.queue_job(str(job.id))

        job, _ = self._job_change(ctx, job_id, ctx.tenant_id, change)
        return job

    def sweep_expired_leases(self, ctx: CommandContext, candidates: Iterable[UUID], now: datetime | None = None,
                             skipped: set[Any] | None = None) -> int:
        """Return every candidate whose lease ended to the queue (a TIMEOUT failure of its attempt,
        retried with backoff) or fail it when its attempts are spent; exactly once even under
        concurrent sweeps (a job re-claimed or reported on meanwhile is left alone). A job that
        cannot be swept is logged, counted, added to `skipped` and left for the next run."""
        now = now or datetime.now(timezone.utc)

        def expire(job_id: UUID) -> tuple[list[TenantAggregate], bool]:
            job = self._fresh_unless(Job, job_id, lambda j: j.lease_expired(now))
            if not job.lease_expired(now):
                return [], False
            project = self.load(Project, job.project_id, job.tenant_id)
            if not job.expire_lease(now, self._jitter(None)):
                project.job_ended(str(job.id), "failed")
            return [job, project], True

        return sum(bool(self._sweep_item(ctx, "job lease sweep", job_id, lambda job_id=job_id: expire(job_id),
                                         skipped)) for job_id in candidates)

    def _fresh_unless(self, cls: type[Job], job_id: UUID, due: Callable[[Job], bool]) -> Job:
        """The job, read again from the store when the cached copy says it is not `due`. The queue
        and the sweep pick their candidates from the read model; a cached copy older than a change
        another process made (the lease sweep runs in `avm serve`'s maintenance thread with its own
        application, replicas each have one) would otherwise make the claim skip a requeued job, or
        the sweep a re-claimed one, silently and for as long as it stays cached (no save, so no
        version conflict to evict it)."""
        job = self.load(cls, job_id, None)
        if due(job) or self.repository.fastforward:  # `load` fast-forwarded it
            return job
        self.evict(job)
        return self.load(cls, job_id, None)

    @staticmethod
    def _jitter(jitter: float | None) -> float:
        return jitter if jitter is not None else 0.5 + secrets.randbelow(501) / 1000
