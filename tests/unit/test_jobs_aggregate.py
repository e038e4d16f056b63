"""Specifications of the Job aggregate: given events, when a command, then events (or an error).

Time and jitter are arguments of the job's commands, so every spec names its own instants.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from domain.errors import Conflict, ValidationProblem
from domain.jobs import Job, backoff_seconds
from tests.unit.gwt import Recorded, given, history, then, then_raises, then_replays, when, when_new

TENANT = "4f7d2c1e-0000-4000-8000-000000000001"
PROJECT = "4f7d2c1e-0000-4000-8000-0000000000a1"
T0 = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
# Copied from the domain reference rather than imported from the code.
STEPS = ("ingest", "segment", "prompt", "image_generation", "text_to_speech", "video_render", "publish")
RETRYABLE = ("TIMEOUT", "RATE_LIMIT", "SERVICE_ERROR", "QUOTA")
NEVER_RETRIED = ("VALIDATION", "CONTENT_POLICY", "INTERNAL")

Command = Callable[[Job], Any]


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def iso(seconds: float) -> str:
    return at(seconds).isoformat()


def new_job(max_attempts: int = 3, timeout_seconds: int = 60, priority: int = 0) -> Job:
    return Job(tenant_id=TENANT, project_id=PROJECT, config={"generation": {"retry_attempts": max_attempts - 1}},
               estimate={"expected": 1.5}, priority=priority, max_attempts=max_attempts,
               timeout_seconds=timeout_seconds, queued_at=T0.isoformat())


def queued(*commands: Command, **fields: Any) -> list[Any]:
    return history(new_job(**fields), *commands)


def claim(seconds: float = 1, worker: str = "worker-a") -> Command:
    return lambda j: j.claim(worker_id=worker, now=at(seconds))


def progress(step: str, percentage: float, seconds: float) -> Command:
    return lambda j: j.report_progress(step, percentage, at(seconds))


def fail(code: str = "SERVICE_ERROR", seconds: float = 10, retryable: bool = True, jitter: float = 1.0) -> Command:
    return lambda j: j.fail(code, "boom", retryable, at(seconds), jitter)


def state(job: Job) -> tuple[Any, ...]:
    return (job.status, job.attempts, job.from_step, job.progress, job.error, job.worker_id, job.cost_actual,
            job.available_at, job.started_at, job.heartbeat_at, job.finished_at, job.deleted)


# -- queue ------------------------------------------------------------------------------------
def test_queuing_a_job_records_queued_and_the_job_waits_at_the_first_step() -> None:
    events = when_new(new_job)

    then(events, Recorded("Queued", tenant_id=TENANT, project_id=PROJECT, max_attempts=3, timeout_seconds=60,
                          priority=0, estimate={"expected": 1.5}, queued_at=T0.isoformat()))
    job = given(*events)
    assert (job.status, job.attempts, job.from_step, job.worker_id, job.error) == ("queued", 0, "ingest", None, None)
    assert job.progress == {"step": None, "completed_steps": [], "percentage": 0}
    assert job.claimable(T0)


# -- claim ------------------------------------------------------------------------------------
def test_claiming_a_queued_job_records_the_worker_and_starts_the_first_attempt_at_its_first_step() -> None:
    job = given(*queued())

    then(when(job, claim(5, "worker-a")), Recorded("Claimed", worker_id="worker-a", at=iso(5)))
    assert (job.status, job.attempts, job.worker_id, job.started_at, job.heartbeat_at) == (
        "running", 1, "worker-a", iso(5), iso(5))
    assert job.progress == {"step": "ingest", "completed_steps": [], "percentage": 0}


def test_a_running_job_is_claimed_by_one_worker_at_a_time() -> None:
    job = given(*queued(claim(1, "worker-a")))

    with then_raises(Conflict):
        when(job, claim(2, "worker-b"))
    assert job.worker_id == "worker-a"


@pytest.mark.parametrize("commands", [
    (claim(1), lambda j: j.complete(None, at(2))),
    (claim(1), lambda j: j.cancel(at(2))),
    (claim(1), fail("VALIDATION", 2)),
], ids=["succeeded", "cancelled", "failed"])
def test_a_job_that_is_finished_or_cancelled_is_not_claimable(commands: tuple[Command, ...]) -> None:
    job = given(*queued(*commands))

    assert not job.claimable(at(3600))
    with then_raises(Conflict):
        when(job, claim(3600))


# -- progress ---------------------------------------------------------------------------------
def test_progress_on_a_step_marks_the_steps_before_it_completed_and_is_a_heartbeat() -> None:
    job = given(*queued(claim(1)))

    then(when(job, progress("image_generation", 40, 7)),
         Recorded("Progressed", step="image_generation", percentage=40.0, at=iso(7)))
    assert job.progress == {"step": "image_generation", "completed_steps": ["ingest", "segment", "prompt"],
                            "percentage": 40.0}
    assert job.heartbeat_at == iso(7)


@pytest.mark.parametrize("percentage", [0, 100])
def test_a_percentage_from_0_to_100_is_accepted(percentage: float) -> None:
    then(when(given(*queued(claim(1))), progress("ingest", percentage, 2)),
         Recorded("Progressed", percentage=float(percentage)))


@pytest.mark.parametrize(("step", "percentage", "field"), [
    ("rendering", 10, "step"), ("ingest", -1, "percentage"), ("ingest", 100.5, "percentage")])
def test_progress_on_an_unknown_step_or_outside_0_to_100_is_refused_naming_the_field(
        step: str, percentage: float, field: str) -> None:
    with then_raises(ValidationProblem, field=field):
        when(given(*queued(claim(1))), progress(step, percentage, 2))


def test_only_a_running_job_reports_progress() -> None:
    with then_raises(Conflict):
        when(given(*queued()), progress("ingest", 10, 2))


# -- complete ---------------------------------------------------------------------------------
def test_completing_a_running_job_records_succeeded_with_its_cost_and_every_step_done() -> None:
    job = given(*queued(claim(1), progress("video_render", 90, 5)))

    then(when(job, lambda j: j.complete(2.25, at(9))), Recorded("Succeeded", cost_actual=2.25, at=iso(9)))
    assert (job.status, job.cost_actual, job.finished_at) == ("succeeded", 2.25, iso(9))
    assert job.progress == {"step": None, "completed_steps": list(STEPS), "percentage": 100}


@pytest.mark.parametrize("cost", [None, 0, 1_000_000])
def test_a_cost_of_none_or_0_to_a_million_is_accepted(cost: float | None) -> None:
    then(when(given(*queued(claim(1))), lambda j: j.complete(cost, at(2))), Recorded("Succeeded", cost_actual=cost))


@pytest.mark.parametrize("cost", [-0.01, 1_000_000.01])
def test_a_cost_outside_0_to_a_million_is_refused(cost: float) -> None:
    with then_raises(ValidationProblem, field="cost_actual"):
        when(given(*queued(claim(1))), lambda j: j.complete(cost, at(2)))


def test_a_succeeded_job_cannot_complete_again() -> None:
    with then_raises(Conflict):
        when(given(*queued(claim(1), lambda j: j.complete(None, at(2)))), lambda j: j.complete(None, at(3)))


# -- fail and retry automatically -------------------------------------------------------------
@pytest.mark.parametrize("code", RETRYABLE)
def test_a_retryable_failure_with_attempts_left_requeues_the_job_after_its_backoff(code: str) -> None:
    job = given(*queued(claim(1, "worker-a")))

    then(when(job, fail(code, 10, jitter=1.0)),
         Recorded("Failed", will_retry=True, available_at=iso(11),
                  error={"code": code, "message": "boom", "details": None, "retryable": True, "at": iso(10)}))
    assert (job.status, job.worker_id, job.attempts, job.finished_at) == ("queued", None, 1, None)
    assert not job.claimable(at(10.999)) and job.claimable(at(11))


@pytest.mark.parametrize("code", NEVER_RETRIED)
def test_a_failure_with_a_code_that_is_never_retried_fails_the_job_for_good(code: str) -> None:
    job = given(*queued(claim(1)))

    then(when(job, fail(code, 10, retryable=True)),
         Recorded("Failed", will_retry=False, available_at=None))
    assert (job.status, job.finished_at, job.error["code"], job.error["retryable"]) == ("failed", iso(10), code, False)
    assert not job.claimable(at(3600))


def test_a_failure_the_worker_calls_not_retryable_fails_for_good_whatever_its_code() -> None:
    job = given(*queued(claim(1)))

    then(when(job, fail("RATE_LIMIT", 10, retryable=False)), Recorded("Failed", will_retry=False))
    assert job.status == "failed"


def test_the_attempts_run_out_at_one_plus_the_configured_retries() -> None:
    # max_attempts 3: two automatic retries, then the third failure is final.
    job = given(*queued(claim(1), fail(seconds=2), claim(10), fail(seconds=11), claim(20), max_attempts=3))
    assert (job.status, job.attempts) == ("running", 3)

    then(when(job, fail(seconds=21)), Recorded("Failed", will_retry=False))
    assert (job.status, job.attempts) == ("failed", 3)
    with then_raises(Conflict):
        when(job, claim(3600))


def test_an_unknown_error_code_is_refused_naming_the_field() -> None:
    with then_raises(ValidationProblem, field="error.code"):
        when(given(*queued(claim(1))), fail("OOPS"))


def test_only_a_running_job_can_fail() -> None:
    with then_raises(Conflict):
        when(given(*queued()), fail())


# -- backoff ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("attempt", "seconds"), [(1, 1), (2, 2), (3, 4), (4, 8), (5, 16), (6, 30), (20, 30)])
def test_the_backoff_doubles_from_one_second_per_attempt_and_stops_at_thirty(attempt: int, seconds: float) -> None:
    assert backoff_seconds(attempt, jitter=1.0) == seconds


@pytest.mark.parametrize("jitter", [0.5, 0.75, 1.0])
def test_jitter_scales_the_backoff_to_between_half_and_all_of_it(jitter: float) -> None:
    assert backoff_seconds(4, jitter) == 8 * jitter
    assert 4 <= backoff_seconds(4, jitter) <= 8


@pytest.mark.parametrize("jitter", [0.49, 1.01])
def test_a_jitter_outside_half_to_one_is_refused(jitter: float) -> None:
    with pytest.raises(ValueError, match="jitter"):
        backoff_seconds(1, jitter)


def test_a_job_backs_off_longer_after_each_failed_attempt() -> None:
    job = given(*queued(claim(0), fail(seconds=100), claim(101), max_attempts=5))
    assert job.available_at == iso(101)  # 1 s after the first failure

    then(when(job, fail(seconds=200, jitter=0.5)), Recorded("Failed", will_retry=True, available_at=iso(201)))
    job = given(*queued(claim(0), fail(seconds=100), claim(101), fail(seconds=200), claim(202), max_attempts=5))
    then(when(job, fail(seconds=300)), Recorded("Failed", will_retry=True, available_at=iso(304)))


# -- timeout ----------------------------------------------------------------------------------
def test_a_running_job_silent_for_longer_than_its_timeout_fails_with_timeout_and_is_retried() -> None:
    job = given(*queued(claim(0), timeout_seconds=60))

    then(when(job, lambda j: j.expire_lease(at(61), jitter=1.0)),
         Recorded("Failed", will_retry=True, available_at=iso(62)))
    assert (job.status, job.error["code"], job.error["retryable"]) == ("queued", "TIMEOUT", True)


def test_a_job_silent_for_exactly_its_timeout_is_still_reporting() -> None:
    with then_raises(Conflict):
        when(given(*queued(claim(0), timeout_seconds=60)), lambda j: j.expire_lease(at(60), jitter=1.0))


def test_progress_restarts_the_silence_a_timeout_is_measured_from() -> None:
    job = given(*queued(claim(0), progress("segment", 10, 50), timeout_seconds=60))

    with then_raises(Conflict):
        when(job, lambda j: j.expire_lease(at(100), jitter=1.0))
    then(when(job, lambda j: j.expire_lease(at(111), jitter=1.0)), Recorded("Failed"))


def test_a_timeout_on_the_last_attempt_fails_the_job_for_good() -> None:
    job = given(*queued(claim(0), timeout_seconds=60, max_attempts=1))

    then(when(job, lambda j: j.expire_lease(at(61), jitter=1.0)), Recorded("Failed", will_retry=False))
    assert (job.status, job.error["code"]) == ("failed", "TIMEOUT")


def test_a_job_that_is_not_running_cannot_time_out() -> None:
    with then_raises(Conflict):
        when(given(*queued()), lambda j: j.expire_lease(at(3600), jitter=1.0))


# -- cancel -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("commands", "previous"), [((), "queued"), ((claim(1),), "running")])
def test_a_queued_or_running_job_can_be_cancelled(commands: tuple[Command, ...], previous: str) -> None:
    job = given(*queued(*commands))

    then(when(job, lambda j: j.cancel(at(5))), Recorded("Cancelled", previous=previous, at=iso(5)))
    assert (job.status, job.worker_id, job.finished_at) == ("cancelled", None, iso(5))


@pytest.mark.parametrize("end", [lambda j: j.complete(None, at(2)), fail("VALIDATION", 2), lambda j: j.cancel(at(2))],
                         ids=["succeeded", "failed", "cancelled"])
def test_a_finished_job_cannot_be_cancelled(end: Command) -> None:
    with then_raises(Conflict):
        when(given(*queued(claim(1), end)), lambda j: j.cancel(at(3)))


# -- retry by hand ----------------------------------------------------------------------------
def test_retrying_a_failed_job_from_a_step_requeues_it_with_fresh_attempts_and_resumes_at_that_step() -> None:
    job = given(*queued(claim(1), fail("CONTENT_POLICY", 2), max_attempts=2))

    then(when(job, lambda j: j.retry("text_to_speech", at(30))), Recorded("Requeued", from_step="text_to_speech"))
    assert (job.status, job.attempts, job.error, job.finished_at, job.available_at) == (
        "queued", 0, None, None, iso(30))

    when(job, claim(31))
    assert job.progress == {"step": "text_to_speech",
                            "completed_steps": ["ingest", "segment", "prompt", "image_generation"], "percentage": 0}


def test_retrying_a_cancelled_job_without_a_step_starts_from_ingest() -> None:
    job = given(*queued(lambda j: j.cancel(at(1))))

    then(when(job, lambda j: j.retry(None, at(2))), Recorded("Requeued", from_step="ingest"))


def test_retrying_from_an_unknown_step_is_refused_naming_the_field() -> None:
    with then_raises(ValidationProblem, field="from_step"):
        when(given(*queued(lambda j: j.cancel(at(1)))), lambda j: j.retry("mastering", at(2)))


@pytest.mark.parametrize("commands", [(), (claim(1),), (claim(1), lambda j: j.complete(None, at(2)))],
                         ids=["queued", "running", "succeeded"])
def test_only_a_failed_or_cancelled_job_can_be_retried(commands: tuple[Command, ...]) -> None:
    with then_raises(Conflict):
        when(given(*queued(*commands)), lambda j: j.retry(None, at(5)))


# -- replay -----------------------------------------------------------------------------------
def test_a_job_with_retries_timeouts_and_a_manual_retry_is_rebuilt_from_its_events() -> None:
    job = new_job(max_attempts=2, timeout_seconds=30)
    events = history(job, claim(0), progress("prompt", 50, 10), lambda j: j.expire_lease(at(41), 0.5), claim(45),
                     fail("SERVICE_ERROR", 50), lambda j: j.retry("prompt", at(60)), claim(61),
                     lambda j: j.complete(3.5, at(90)))

    assert (job.status, job.attempts, job.cost_actual) == ("succeeded", 1, 3.5)
    then_replays(job, events, state)


# -- leases and forward steps (issue 14, item 2) --------------------------------------------
def leased(seconds: float = 1, worker: str = "worker-a", lease: str = "lease-1", lease_seconds: int = 30) -> Command:
    return lambda j: j.claim(worker_id=worker, now=at(seconds), lease_id=lease, lease_seconds=lease_seconds)


def test_a_claim_records_its_lease_and_the_lease_ends_its_duration_after_the_claim() -> None:
    job = given(*queued())

    then(when(job, leased(5, lease_seconds=30)), Recorded("Claimed", lease_id="lease-1", lease_seconds=30))
    assert job.lease_expires_at == at(35)
    assert not job.lease_expired(at(35)) and job.lease_expired(at(35.001))


def test_a_heartbeat_extends_the_lease_by_its_duration() -> None:
    job = given(*queued(leased(0, lease_seconds=30), progress("segment", 10, 20)))

    assert job.lease_expires_at == at(50)
    job.check_claimed_by("worker-a", "lease-1", at(45))  # would have expired at 30 without the heartbeat


def test_a_claim_stored_before_leases_reads_with_the_job_timeout_as_its_lease() -> None:
    job = given(*queued(claim(0), timeout_seconds=60))

    assert (job.lease_id, job.lease_seconds, job.lease_expires_at) == (None, None, at(60))


@pytest.mark.parametrize(("worker", "lease", "now"), [("worker-b", "lease-1", 5), ("worker-a", "lease-0", 5),
                                                      ("worker-a", "lease-1", 31)],
                         ids=["another worker", "a stale lease", "an expired lease"])
def test_only_the_holder_of_a_live_lease_may_report(worker: str, lease: str, now: float) -> None:
    job = given(*queued(leased(0, lease_seconds=30)))

    with then_raises(Conflict):
        when(job, lambda j: j.check_claimed_by(worker, lease, at(now)))


def test_a_step_before_the_current_one_is_refused_within_an_attempt() -> None:
    job = given(*queued(claim(0), progress("image_generation", 10, 5)))

    with then_raises(Conflict, field="step"):
        when(job, progress("prompt", 90, 6))
    with then_raises(Conflict, field="percentage"):
        when(job, progress("image_generation", 5, 6))
    then(when(job, progress("image_generation", 10, 7)), Recorded("Progressed"))  # a plain heartbeat


def test_a_step_before_the_resume_step_is_refused_and_a_new_attempt_starts_again() -> None:
    job = given(*queued(claim(1), fail("CONTENT_POLICY", 2), lambda j: j.retry("text_to_speech", at(3)), claim(4)))

    with then_raises(Conflict, field="step"):
        when(job, progress("prompt", 0, 5))
    job = given(*queued(claim(0), progress("video_render", 50, 5), fail(seconds=6), claim(8)))
    then(when(job, progress("segment", 5, 9)), Recorded("Progressed"))  # the retry's attempt starts at ingest


def test_an_expired_lease_requeues_the_job_as_a_timeout_naming_the_lease() -> None:
    job = given(*queued(leased(0, lease_seconds=30)))

    with then_raises(Conflict):
        when(job, lambda j: j.expire_lease(at(30), jitter=1.0))
    then(when(job, lambda j: j.expire_lease(at(31), jitter=1.0)), Recorded("Failed", will_retry=True))
    assert (job.status, job.error["code"], job.error["details"], job.lease_id) == (
        "queued", "TIMEOUT", {"lease_id": "lease-1"}, None)
