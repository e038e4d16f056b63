"""Job claims have an owner: only the worker holding the claim reports on the job (issue 11, item 6)."""
from __future__ import annotations

import time
from typing import Any

import pytest

from tests.http.helpers import assert_problem, count_aggregate_events
from tests.http.test_domain_api import claim, drain, ready_project

REPORTS = [
    ("progress", {"step": "image_generation", "percentage": 40}),
    ("complete", {"cost_actual": 0.1}),
    ("fail", {"error": {"code": "SERVICE_ERROR", "message": "boom", "retryable": True}}),
]


def running_job(client: Any, make_tenant: Any, worker: Any) -> str:
    tenant = make_tenant("premium")
    drain(client, worker)
    project = ready_project(client, tenant)
    job = client.post(f"/api/v1/projects/{project['id']}/jobs", json={}, headers=tenant.headers).json()
    # The queue is shared with the other tests: a job of theirs whose retry backoff ends after the drain
    # may come first (it is older); this worker then holds it, and claims again.
    for _ in range(20):
        claimed = claim(client, worker)
        assert claimed.status_code == 200, claimed.text
        if claimed.json()["id"] == job["id"]:
            return str(job["id"])
    raise AssertionError("the job was never claimed")


@pytest.mark.parametrize(("report", "body"), REPORTS, ids=[r for r, _ in REPORTS])
def test_another_worker_cannot_report_on_a_claimed_job(client: Any, services: Any, make_tenant: Any,
                                                       report: str, body: dict[str, Any]) -> None:
    holder, intruder = make_tenant("worker"), make_tenant("worker")
    job_id = running_job(client, make_tenant, holder)
    before = count_aggregate_events(services, job_id)
    r = client.post(f"/api/v1/jobs/{job_id}/{report}", json=body, headers=intruder.headers)
    problem = assert_problem(r, 409)
    assert problem["detail"] == "job is claimed by another worker"
    assert count_aggregate_events(services, job_id) == before
    assert client.post(f"/api/v1/jobs/{job_id}/{report}", json=body, headers=holder.headers).status_code == 200


@pytest.mark.parametrize(("report", "body"), REPORTS, ids=[r for r, _ in REPORTS])
def test_an_admin_does_not_override_a_workers_claim(client: Any, services: Any, make_tenant: Any,
                                                    report: str, body: dict[str, Any]) -> None:
    holder, admin = make_tenant("worker"), make_tenant("admin")
    job_id = running_job(client, make_tenant, holder)
    before = count_aggregate_events(services, job_id)
    assert_problem(client.post(f"/api/v1/jobs/{job_id}/{report}", json=body, headers=admin.headers), 409)
    assert count_aggregate_events(services, job_id) == before


def test_an_admin_that_claimed_a_job_reports_on_it_like_a_worker(client: Any, make_tenant: Any) -> None:
    admin, worker = make_tenant("admin"), make_tenant("worker")
    job_id = running_job(client, make_tenant, admin)
    assert_problem(client.post(f"/api/v1/jobs/{job_id}/complete", json={}, headers=worker.headers), 409)
    r = client.post(f"/api/v1/jobs/{job_id}/complete", json={}, headers=admin.headers)
    assert r.status_code == 200 and r.json()["status"] == "succeeded"


def test_the_claim_is_recorded_and_a_requeued_job_belongs_to_its_next_claimant(client: Any, make_tenant: Any) -> None:
    first, second = make_tenant("worker"), make_tenant("worker")
    job_id = running_job(client, make_tenant, first)
    r = client.post(f"/api/v1/jobs/{job_id}/fail",
                    json={"error": {"code": "SERVICE_ERROR", "message": "x", "retryable": True}}, headers=first.headers)
    assert r.status_code == 200 and r.json()["status"] == "queued"
    # after the backoff the job is claimable again; the second worker's claim makes it theirs
    # (jobs other tests left to retry may come first: the second worker takes those too)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        r = claim(client, second)
        if r.status_code == 200 and r.json()["id"] == job_id:
            break
        if r.status_code == 204:
            time.sleep(0.2)
    assert r.status_code == 200 and r.json()["id"] == job_id
    assert_problem(client.post(f"/api/v1/jobs/{job_id}/progress", json={"step": "prompt", "percentage": 1},
                               headers=first.headers), 409)
    assert client.post(f"/api/v1/jobs/{job_id}/progress", json={"step": "prompt", "percentage": 1},
                       headers=second.headers).status_code == 200


def test_a_report_on_a_job_nobody_holds_is_409(client: Any, make_tenant: Any) -> None:
    worker = make_tenant("worker")
    job_id = running_job(client, make_tenant, worker)
    assert client.post(f"/api/v1/jobs/{job_id}/complete", json={}, headers=worker.headers).status_code == 200
    assert_problem(client.post(f"/api/v1/jobs/{job_id}/complete", json={}, headers=worker.headers), 409)
