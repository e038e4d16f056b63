"""The Job aggregate: only the claimant reports on a running job (no database, no clock)."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from domain.errors import Conflict
from domain.jobs import Job

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=timezone.utc)


def claimed_by(worker: str) -> Job:
    job = Job(tenant_id="t", project_id="p", config={}, estimate={}, priority=0, max_attempts=2,
              timeout_seconds=60, queued_at=NOW.isoformat())
    job.claim(worker_id=worker, now=NOW)
    return job


def test_the_claimant_is_recorded_in_the_claimed_event() -> None:
    job = claimed_by("worker-a")
    claimed = job.collect_events()[-1]
    assert type(claimed).__qualname__ == "Job.Claimed" and claimed.worker_id == "worker-a"


def test_only_the_claimant_passes_the_claim_check() -> None:
    job = claimed_by("worker-a")
    job.check_claimed_by("worker-a")
    with pytest.raises(Conflict, match="claimed by another worker"):
        job.check_claimed_by("worker-b")


def test_a_job_that_is_not_running_has_no_claimant() -> None:
    job = claimed_by("worker-a")
    job.complete(None, NOW)
    with pytest.raises(Conflict, match="not running"):
        job.check_claimed_by("worker-a")
