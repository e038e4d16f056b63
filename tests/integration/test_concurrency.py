"""Concurrency properties of the render queue, quotas and expiry, with real threads on real PostgreSQL."""
from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from typing import Any
from uuid import UUID

import pytest

from api.controllers.assets import expire_due
from domain.application import CommandContext
from domain.errors import QuotaExceeded
from projections.jobs import claim_candidates

STORY = "The fox crossed the frozen river at dawn, looking for the lighthouse keeper's lost compass. " * 4


def ctx(tenant: Any, role: str = "user") -> CommandContext:
    return CommandContext(tenant_id=tenant.id, actor_id=tenant.id, role=role)


def ready_project(services: Any, tenant: Any, role: str = "user") -> str:
    project = services.app.create_project(ctx(tenant, role), title="render me")
    services.app.set_story(ctx(tenant, role), str(project.id), None, STORY)
    return str(project.id)


def claim_until_empty(services: Any, worker: CommandContext) -> list[UUID]:
    claimed = []
    while True:
        with services.read(scope="system") as conn:
            candidates = claim_candidates(conn)
        if not candidates:
            return claimed
        job = services.app.claim_job(worker, candidates)
        if job is not None:
            claimed.append(job.id)


@pytest.mark.parametrize("run", range(20))
def test_concurrent_workers_claim_every_job_exactly_once(services: Any, make_tenant: Any, run: int) -> None:
    # Drain anything other tests left claimable so the count below is ours.
    claim_until_empty(services, CommandContext(tenant_id="w", actor_id="drain", role="worker"))
    tenants = [make_tenant("premium") for _ in range(3)]
    jobs = []
    for t in tenants:
        for _ in range(4):
            jobs.append(services.app.queue_job(ctx(t, "premium"), ready_project(services, t, "premium")).id)
    workers = [CommandContext(tenant_id="w", actor_id=f"worker-{i}", role="worker") for i in range(6)]
    barrier = threading.Barrier(len(workers))

    def work(worker: CommandContext) -> list[UUID]:
        barrier.wait()
        return claim_until_empty(services, worker)

    with ThreadPoolExecutor(len(workers)) as pool:
        results = list(pool.map(work, workers))
    claimed = Counter(job_id for result in results for job_id in result)
    assert set(claimed) == set(jobs)
    assert all(n == 1 for n in claimed.values())
    with services.read(scope="system") as conn:
        claims = conn.execute(
            "SELECT originator_id, count(*) AS n FROM events WHERE originator_id = ANY(%s)"
            " AND topic LIKE '%%Job.Claimed' GROUP BY originator_id", (jobs,)).fetchall()
    assert {r["originator_id"]: r["n"] for r in claims} == {j: 1 for j in jobs}


def test_premium_jobs_are_claimed_before_free_ones_then_oldest_first(services: Any, make_tenant: Any) -> None:
    worker = CommandContext(tenant_id="w", actor_id="ordered", role="worker")
    claim_until_empty(services, worker)
    free, premium = make_tenant("user"), make_tenant("premium")
    first_free = services.app.queue_job(ctx(free), ready_project(services, free)).id
    first_premium = services.app.queue_job(ctx(premium, "premium"), ready_project(services, premium, "premium")).id
    second_premium = services.app.queue_job(ctx(premium, "premium"), ready_project(services, premium, "premium")).id
    order = claim_until_empty(services, worker)
    assert order == [first_premium, second_premium, first_free]


@pytest.mark.parametrize("run", range(20))
def test_at_quota_minus_one_only_one_of_twenty_concurrent_creates_succeeds(
        services: Any, make_tenant: Any, run: int) -> None:
    tenant = make_tenant("user")
    for i in range(2):  # the free quota is 3 projects a day
        services.app.create_project(ctx(tenant), title=f"before {i}")
    barrier = threading.Barrier(20)

    def create(i: int) -> str:
        barrier.wait()
        try:
            services.app.create_project(ctx(tenant), title=f"race {i}")
            return "created"
        except QuotaExceeded as e:
            assert e.extra["quota"] == "projects" and e.extra["limit"] == 3
            return "refused"

    with ThreadPoolExecutor(20) as pool:
        outcomes = Counter(pool.map(create, range(20)))
    assert outcomes == {"created": 1, "refused": 19}
    with services.read(scope="system") as conn:
        n = conn.execute("SELECT count(*) AS n FROM projects WHERE tenant_id = %s", (UUID(tenant.id),)).fetchone()
    assert n["n"] == 3


@pytest.mark.parametrize("run", range(20))
def test_two_concurrent_expiry_sweeps_expire_each_asset_exactly_once(
        services: Any, make_tenant: Any, run: int) -> None:
    tenant = make_tenant()
    project_id = ready_project(services, tenant)
    now = datetime.now(timezone.utc)
    assets = [services.app.register_asset(
        ctx(tenant), type="image", uri=f"r2://bucket/{run}/{i}.png", project_id=project_id, scene_index=0,
        expires_at=now + timedelta(milliseconds=200), now=now).id for i in range(10)]
    import time

    time.sleep(0.3)
    sweepers = [CommandContext.system("avm assets expire") for _ in range(2)]
    barrier = threading.Barrier(2)

    def sweep(c: CommandContext) -> int:
        barrier.wait()
        return expire_due(services, c)

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(sweep, sweepers))
    with services.read(scope="system") as conn:
        rows = conn.execute(
            "SELECT originator_id, count(*) AS n FROM events WHERE originator_id = ANY(%s)"
            " AND topic LIKE '%%Asset.Expired' GROUP BY originator_id", (assets,)).fetchall()
        scene = conn.execute("SELECT image_asset_id FROM scenes WHERE tenant_id = %s AND project_id = %s"
                             " AND idx = 0", (UUID(tenant.id), UUID(project_id))).fetchone()
    assert {r["originator_id"]: r["n"] for r in rows} == {a: 1 for a in assets}
    assert scene["image_asset_id"] == assets[-1]  # the event log keeps the reference ...
    from projections.projects import list_scenes

    with services.read(scope="system") as conn:
        assert list_scenes(conn, UUID(tenant.id), UUID(project_id))[0]["image_asset_id"] is None  # ... the read does not


@pytest.mark.parametrize("run", range(5))
def test_two_concurrent_job_sweeps_time_out_each_stalled_job_exactly_once(
        services: Any, make_tenant: Any, run: int) -> None:
    worker = CommandContext(tenant_id="w", actor_id="sweep-worker", role="worker")
    claim_until_empty(services, worker)
    tenant = make_tenant("premium")
    jobs = [services.app.queue_job(ctx(tenant, "premium"), ready_project(services, tenant, "premium")).id
            for _ in range(4)]
    claimed = claim_until_empty(services, worker)
    assert set(jobs) <= set(claimed)
    later = datetime.now(timezone.utc) + timedelta(seconds=301)
    barrier = threading.Barrier(2)

    def sweep(_: int) -> int:
        barrier.wait()
        return services.app.sweep_expired_leases(CommandContext.system("avm jobs sweep"), jobs, now=later)

    with ThreadPoolExecutor(2) as pool:
        swept = sum(pool.map(sweep, range(2)))
    assert swept == len(jobs)
    with services.read(scope="system") as conn:
        rows = conn.execute(
            "SELECT originator_id, count(*) AS n FROM events WHERE originator_id = ANY(%s)"
            " AND topic LIKE '%%Job.Failed' GROUP BY originator_id", (jobs,)).fetchall()
    assert {r["originator_id"]: r["n"] for r in rows} == {j: 1 for j in jobs}
