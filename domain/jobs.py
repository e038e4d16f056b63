"""The Job aggregate: one render of a project through the pipeline, with retries, backoff and timeouts."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from eventsourcing.domain import event

from domain.errors import Conflict, ValidationProblem
from domain.input_limits import as_written
from domain.shared import TenantAggregate

STEPS = ("ingest", "segment", "prompt", "image_generation", "text_to_speech", "video_render", "publish")
STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")
RETRYABLE = frozenset({"TIMEOUT", "RATE_LIMIT", "SERVICE_ERROR", "QUOTA"})
NEVER_RETRIED = frozenset({"VALIDATION", "CONTENT_POLICY"})
ERROR_CODES = RETRYABLE | NEVER_RETRIED | {"INTERNAL"}
BACKOFF_BASE = 1.0
BACKOFF_CAP = 30.0
MIN_LEASE_SECONDS = 5
MAX_LEASE_SECONDS = 3600


def backoff_seconds(attempt: int, jitter: float) -> float:
    """Exponential backoff: base 1 s doubling per attempt, capped at 30 s, scaled by jitter in [0.5, 1]."""
    if not 0.5 <= jitter <= 1.0:
        raise ValueError("jitter must be in [0.5, 1]")
    return min(BACKOFF_CAP, BACKOFF_BASE * 2 ** max(attempt - 1, 0)) * jitter


def _iso(at: datetime) -> str:
    return at.isoformat()


class Job(TenantAggregate):
    """A render job of one project.

    Lifecycle: queued → running (claimed by a worker) → succeeded | failed |
    back to queued after a retryable failure (until the attempts run out, and not
    before its backoff has passed); queued or running → cancelled; failed or
    cancelled → queued again by a retry (from the start or from a step after ingest).
    Invariants: only a running job reports progress or an outcome, and only the holder
    of its current lease (the worker and lease id recorded in Claimed, before the lease's
    expiry) reports them; each report is a heartbeat that extends the lease by its
    duration; within an attempt the step never moves backwards; a job is claimed by one
    worker at a time; attempts never exceed 1 + the configured retries; an expired lease
    fails the attempt as TIMEOUT (retried by the normal rules).
    """

    @event("Queued")
    def __init__(self, tenant_id: str, project_id: str, config: dict[str, Any], estimate: dict[str, Any],
                 priority: int, max_attempts: int, timeout_seconds: int, queued_at: str) -> None:
        self.tenant_id = tenant_id
        self.project_id = project_id
        self.config = as_written(config)  # a stored tag lookalike reads back as written
        self.estimate = estimate
        self.priority = priority
        self.max_attempts = max_attempts
        self.timeout_seconds = timeout_seconds
        self.status = "queued"
        self.attempts = 0
        self.from_step = "ingest"
        self.progress: dict[str, Any] = {"step": None, "completed_steps": [], "percentage": 0}
        self.error: dict[str, Any] | None = None
        self.worker_id: str | None = None
        self.cost_actual: float | None = None
        self.queued_at = queued_at
        self.available_at = queued_at
        self.started_at: str | None = None
        self.heartbeat_at: str | None = None
        self.finished_at: str | None = None
        self.lease_id: str | None = None
        self.lease_seconds: int | None = None
        self.video_asset_id: str | None = None

    @property
    def active(self) -> bool:
        return self.status in ("queued", "running")

    def claimable(self, now: datetime) -> bool:
        return self.status == "queued" and not self.deleted and datetime.fromisoformat(self.available_at) <= now

    @property
    def lease_expires_at(self) -> datetime | None:
        """When the running attempt's lease ends: its last heartbeat plus the lease's duration (a
        claim recorded before leases had one: the job's timeout, which is what it meant then)."""
        if self.status != "running" or self.heartbeat_at is None:
            return None
        return datetime.fromisoformat(self.heartbeat_at) + timedelta(seconds=self.lease_seconds or self.timeout_seconds)

    def lease_expired(self, now: datetime) -> bool:
        expires = self.lease_expires_at
        return expires is not None and now > expires

    # -- commands -------------------------------------------------------------------------------
    def claim(self, worker_id: str, now: datetime, lease_id: str | None = None, lease_seconds: int | None = None) -> None:
        if not self.claimable(now):
            raise Conflict(f"job is {self.status}, not claimable now")
        if lease_seconds is not None and not MIN_LEASE_SECONDS <= lease_seconds <= MAX_LEASE_SECONDS:
            raise ValidationProblem(f"a lease lasts {MIN_LEASE_SECONDS} to {MAX_LEASE_SECONDS} seconds",
                                    field="lease_seconds")
        self._claim(worker_id=worker_id, at=_iso(now), lease_id=lease_id, lease_seconds=lease_seconds)

    def report_progress(self, step: str, percentage: float, now: datetime) -> None:
        self._require_running()
        if step not in STEPS:
            raise ValidationProblem(f"step must be one of {', '.join(STEPS)}", field="step")
        if not 0 <= percentage <= 100:
            raise ValidationProblem("percentage must be between 0 and 100", field="percentage")
        current = self.progress.get("step") or self.from_step
        if STEPS.index(step) < STEPS.index(current):
            raise Conflict(f"step {step} is before the current step {current}: steps only move forward "
                           "within an attempt", field="step")
        if step == current and percentage < self.progress.get("percentage", 0):
            raise Conflict(f"percentage {percentage:g} is below the {self.progress['percentage']:g} already "
                           f"reported for step {step}", field="percentage")
        self._progress(step=step, percentage=float(percentage), at=_iso(now))

    def complete(self, cost_actual: float | None, now: datetime, video_asset_id: str | None = None) -> None:
        self._require_running()
        if cost_actual is not None and not 0 <= cost_actual <= 1_000_000:
            raise ValidationProblem("cost_actual must be between 0 and 1000000", field="cost_actual")
        self._succeed(cost_actual=cost_actual, at=_iso(now), video_asset_id=video_asset_id)

    def fail(self, code: str, message: str, retryable: bool, now: datetime, jitter: float,
             details: dict[str, Any] | None = None) -> bool:
        """Record a failure; returns True when the job was re-queued for an automatic retry."""
        self._require_running()
        if code not in ERROR_CODES:
            raise ValidationProblem(f"error code must be one of {', '.join(sorted(ERROR_CODES))}", field="error.code")
        retry = retryable and code in RETRYABLE and self.attempts < self.max_attempts
        available_at = _iso(now + timedelta(seconds=backoff_seconds(self.attempts, jitter))) if retry else None
        error = {"code": code, "message": message, "details": details, "retryable": retryable and code in RETRYABLE,
                 "at": _iso(now)}
        self._fail(error=error, will_retry=retry, available_at=available_at)
        return retry

    def expire_lease(self, now: datetime, jitter: float) -> bool:
        """Fail the attempt of a running job whose lease ended without a heartbeat, as TIMEOUT (retried
        by the normal rules); returns True when the job was re-queued."""
        expires = self.lease_expires_at
        if expires is None:
            raise Conflict("only a running job has a lease")
        if now <= expires:
            raise Conflict("the job's lease has not expired")
        silent = (now - datetime.fromisoformat(self.heartbeat_at or "")).total_seconds()
        return self.fail("TIMEOUT", f"lease expired at {_iso(expires)}: no report for {int(silent)} s", True,
                         now, jitter, {"lease_id": self.lease_id} if self.lease_id else None)

    def cancel(self, now: datetime) -> None:
        if not self.active:
            raise Conflict(f"a {self.status} job cannot be cancelled")
        self._cancel(at=_iso(now), previous=self.status)

    def retry(self, from_step: str | None, now: datetime) -> None:
        if self.status not in ("failed", "cancelled"):
            raise Conflict(f"only a failed or cancelled job can be retried (job is {self.status})")
        step = from_step or "ingest"
        if step not in STEPS:
            raise ValidationProblem(f"from_step must be one of {', '.join(STEPS)}", field="from_step")
        self._requeue(from_step=step, at=_iso(now))

    def check_claimed_by(self, worker_id: str, lease_id: str | None = None, now: datetime | None = None) -> None:
        """Only the holder of the current lease reports on a running job (admins included: an admin
        that claimed is a worker like any other, and takes over no one else's claim). The holder is
        the worker that claimed and, when the report names one, the lease it was given; a lease
        past its expiry holds nothing (the sweep returns the job to the queue)."""
        self._require_running()
        if self.worker_id != worker_id:
            raise Conflict("job is claimed by another worker")
        if lease_id is not None and lease_id != self.lease_id:
            raise Conflict("lease_id is not the job's current lease", field="lease_id")
        if now is not None and self.lease_expired(now):
            raise Conflict(f"the lease expired at {_iso(self.lease_expires_at)}", field="lease_id")  # type: ignore[arg-type]

    def _require_running(self) -> None:
        if self.status != "running":
            raise Conflict(f"job is {self.status}, not running")

    # -- events ---------------------------------------------------------------------------------
    # lease_id / lease_seconds were added with leases: a Claimed stored before them folds with None.
    @event("Claimed")
    def _claim(self, worker_id: str, at: str, lease_id: str | None = None, lease_seconds: int | None = None) -> None:
        self.status = "running"
        self.attempts += 1
        self.worker_id = worker_id
        self.lease_id = lease_id
        self.lease_seconds = lease_seconds
        self.started_at = at
        self.heartbeat_at = at
        self.error = None
        self.progress = {"step": self.from_step, "completed_steps": list(STEPS[:STEPS.index(self.from_step)]),
                         "percentage": 0}

    @event("Progressed")
    def _progress(self, step: str, percentage: float, at: str) -> None:
        self.heartbeat_at = at
        self.progress = {"step": step, "completed_steps": list(STEPS[:STEPS.index(step)]),
                         "percentage": percentage}

    @event("Succeeded")
    def _succeed(self, cost_actual: float | None, at: str, video_asset_id: str | None = None) -> None:
        self.status = "succeeded"
        self.video_asset_id = video_asset_id
        self.lease_id = None
        self.cost_actual = cost_actual
        self.finished_at = at
        self.heartbeat_at = at
        self.progress = {"step": None, "completed_steps": list(STEPS), "percentage": 100}

    @event("Failed")
    def _fail(self, error: dict[str, Any], will_retry: bool, available_at: str | None) -> None:
        self.error = as_written(error)  # a stored tag lookalike in details reads back as written
        self.worker_id = None
        self.lease_id = None
        if will_retry:
            self.status = "queued"
            self.available_at = available_at  # type: ignore[assignment]
        else:
            self.status = "failed"
            self.finished_at = error["at"]

    @event("Cancelled")
    def _cancel(self, at: str, previous: str) -> None:
        self.status = "cancelled"
        self.finished_at = at
        self.worker_id = None
        self.lease_id = None

    @event("Requeued")
    def _requeue(self, from_step: str, at: str) -> None:
        self.status = "queued"
        self.from_step = from_step
        self.available_at = at
        self.attempts = 0
        self.finished_at = None
        self.error = None
        self.video_asset_id = None
