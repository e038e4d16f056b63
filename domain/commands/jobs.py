"""Job commands: queue, claim, progress, complete, fail, cancel, retry, and the timeout sweep."""
from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from domain.commands.usage import DailyUsage
from domain.config import merge_config
from domain.context import CommandContext
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

        return self.retry_on_conflict(ctx, build, keys=[project_id, self._usage_key(ctx.tenant_id, now)])

    def claim_job(self, ctx: CommandContext, candidates: Iterable[UUID], now: datetime | None = None) -> Job | None:
        """Claim the first candidate still claimable; a job another worker claimed first is skipped."""
        if ctx.recorded is not None:
            return self._replayed(ctx.recorded)  # type: ignore[no-any-return]  # claimed before: that job
        now = now or datetime.now(timezone.utc)

        def claim(job_id: UUID) -> tuple[list[TenantAggregate], Job | None]:
            job = self.load(Job, job_id, None)
            if not job.claimable(now):
                return [], None
            project = self.load(Project, job.project_id, job.tenant_id)
            job.claim(worker_id=ctx.actor_id, now=now)
            project.job_started(str(job.id))
            return [job, project], job

        for job_id in candidates:
            # The queue is every tenant's: one bad job is skipped; a broken constraint is no job's fault.
            job = self._sweep_item(ctx, "job claim", job_id, lambda job_id=job_id: claim(job_id), None,
                                   reraise=(IntegrityError,))
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
                        now: datetime | None = None) -> Job:
        now = now or datetime.now(timezone.utc)

        def change(job: Job, project: Project) -> None:
            job.check_claimed_by(ctx.actor_id)
            job.report_progress(step, percentage, now)

        job, _ = self._job_change(ctx, job_id, None, change)
        return job

    def complete_job(self, ctx: CommandContext, job_id: str, cost_actual: float | None,
                     now: datetime | None = None) -> Job:
        now = now or datetime.now(timezone.utc)

        def change(job: Job, project: Project) -> None:
            job.check_claimed_by(ctx.actor_id)
            job.complete(cost_actual, now)
            project.job_ended(str(job.id), "succeeded")

        job, _ = self._job_change(ctx, job_id, None, change)
        return job

    def fail_job(self, ctx: CommandContext, job_id: str, *, code: str, message: str, retryable: bool,
                 details: dict[str, Any] | None = None, now: datetime | None = None,
                 jitter: float | None = None) -> Job:
        now = now or datetime.now(timezone.utc)

        def change(job: Job, project: Project) -> None:
            job.check_claimed_by(ctx.actor_id)
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

    def sweep_timeouts(self, ctx: CommandContext, candidates: Iterable[UUID], now: datetime | None = None,
                       skipped: set[Any] | None = None) -> int:
        """Fail every candidate running job that stopped reporting; safe to run concurrently.
        A job that cannot be timed out is logged, counted, added to `skipped` and left for the next run."""
        now = now or datetime.now(timezone.utc)

        def time_out(job_id: UUID) -> tuple[list[TenantAggregate], bool]:
            job = self.load(Job, job_id, None)
            if job.status != "running" or job.heartbeat_at is None or (
                    now - datetime.fromisoformat(job.heartbeat_at)).total_seconds() <= job.timeout_seconds:
                return [], False
            project = self.load(Project, job.project_id, job.tenant_id)
            if not job.time_out(now, self._jitter(None)):
                project.job_ended(str(job.id), "failed")
            return [job, project], True

        return sum(bool(self._sweep_item(ctx, "job timeout sweep", job_id, lambda job_id=job_id: time_out(job_id),
                                         skipped)) for job_id in candidates)

    @staticmethod
    def _jitter(jitter: float | None) -> float:
        return jitter if jitter is not None else 0.5 + secrets.randbelow(501) / 1000
