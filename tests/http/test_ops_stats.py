"""Queue and database visibility (issue 14, item 8): the render queue in GET /api/v1/admin/stats and on
/metrics, the pool, sizes and probe latency on /metrics and /api/health, and the sweeps' last runs
(item 6) on both; checked against data seeded into a database of its own."""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from domain.application import CommandContext
from tests import support
from tests.http.test_metrics import scrape, value
from tests.integration.test_maintenance import STORY, due_asset, open_db

STATS = "/api/v1/admin/stats"


@dataclass
class World:
    db: Any
    client: Any

    def user(self, role: str) -> tuple[CommandContext, dict[str, str]]:
        user, token = self.db.services.app.register_user(
            CommandContext.system("tests"), email=f"o-{uuid.uuid4().hex[:12]}@example.com", name="O", role=role)
        return (CommandContext(tenant_id=str(user.id), actor_id=str(user.id), role=role),
                {"Authorization": f"Bearer {token}"})

    def job(self, ctx: CommandContext, queued_at: datetime | None = None) -> str:
        app = self.db.services.app
        project = app.create_project(ctx, title="render me")
        app.set_story(ctx, str(project.id), None, STORY)
        return str(app.queue_job(ctx, str(project.id), now=queued_at).id)


@pytest.fixture
def world() -> Iterator[World]:
    from litestar.testing import TestClient

    from api.app import create_app

    name, url = support.fresh_database("avm_ops")
    db = open_db(url)
    try:
        with TestClient(create_app(db.services), raise_server_exceptions=False) as client:
            yield World(db, client)
    finally:
        db.services.close()
        support.drop_database(name)


def seed_queue(w: World) -> None:
    """Free: two queued (one since two minutes). Premium: one queued, one running, one failed on
    CONTENT_POLICY, one succeeded, one cancelled."""
    app = w.db.services.app
    free, _ = w.user("user")
    premium, _ = w.user("premium")
    worker = CommandContext(tenant_id=premium.tenant_id, actor_id="worker-1", role="worker")
    w.job(free, queued_at=datetime.now(timezone.utc) - timedelta(seconds=120))
    w.job(free)
    w.job(premium)
    assert app.claim_job(worker, [uuid.UUID(w.job(premium))]) is not None
    failed = w.job(premium)
    assert app.claim_job(worker, [uuid.UUID(failed)]) is not None
    app.fail_job(worker, failed, code="CONTENT_POLICY", message="refused", retryable=False)
    succeeded = w.job(premium)
    assert app.claim_job(worker, [uuid.UUID(succeeded)]) is not None
    app.complete_job(worker, succeeded, 0.5)
    app.cancel_job(premium, w.job(premium))


def test_admin_stats_show_the_render_queue_as_seeded(world: World) -> None:
    seed_queue(world)
    _, admin = world.user("admin")

    r = world.client.get(STATS, params={"days": 1}, headers=admin)

    assert r.status_code == 200, r.text
    body = r.json()
    assert {"since", "until", "currency", "items", "view"} <= body.keys()  # as before
    queue = body["queue"]
    assert queue["depth"] == [
        {"status": "cancelled", "priority": 1, "count": 1}, {"status": "failed", "priority": 1, "count": 1},
        {"status": "queued", "priority": 0, "count": 2}, {"status": "queued", "priority": 1, "count": 1},
        {"status": "running", "priority": 1, "count": 1}, {"status": "succeeded", "priority": 1, "count": 1}]
    assert queue["by_status"] == {"queued": 3, "running": 1, "succeeded": 1, "failed": 1, "cancelled": 1}
    assert 120 <= queue["oldest_queued_age_seconds"] < 180
    assert queue["running"] == 1
    assert queue["failed_by_code"] == {"CONTENT_POLICY": 1}


def test_admin_stats_of_an_empty_queue_say_so(world: World) -> None:
    _, admin = world.user("admin")
    queue = world.client.get(STATS, headers=admin).json()["queue"]
    assert queue == {"depth": [], "by_status": dict.fromkeys(("queued", "running", "succeeded", "failed",
                                                                "cancelled"), 0),
                     "oldest_queued_age_seconds": None, "running": 0, "failed_by_code": {}}


def test_admin_stats_and_their_queue_are_refused_to_everyone_else(world: World) -> None:
    seed_queue(world)
    assert world.client.get(STATS).status_code == 401
    for role in ("user", "premium", "worker"):
        r = world.client.get(STATS, headers=world.user(role)[1])
        assert r.status_code == 403, (role, r.text)
        assert "queue" not in r.text


def test_the_openapi_document_describes_the_queue_in_admin_stats(world: World) -> None:
    doc = world.client.get("/schema/openapi.json").json()
    ok = doc["paths"][STATS]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    report = doc["components"]["schemas"][ok["$ref"].rsplit("/", 1)[1]]
    assert "queue" in report["required"]
    queue = doc["components"]["schemas"][report["properties"]["queue"]["$ref"].rsplit("/", 1)[1]]
    assert set(queue["properties"]) == {"depth", "by_status", "oldest_queued_age_seconds", "running",
                                        "failed_by_code"}


def test_metrics_show_the_queue_the_database_and_the_pool(world: World) -> None:
    seed_queue(world)
    before = scrape(world.client)
    m = scrape(world.client)

    assert value(m, "avm_queue_jobs", status="queued", priority="0") == 2
    assert value(m, "avm_queue_jobs", status="queued", priority="1") == 1
    assert value(m, "avm_queue_jobs", status="failed", priority="1") == 1
    assert 120 <= value(m, "avm_queue_oldest_queued_age_seconds") < 180
    assert value(m, "avm_jobs_running") == 1
    assert value(m, "avm_jobs_failed", code="CONTENT_POLICY") == 1
    assert m["avm_jobs_failed"].keys() == {(("code", "CONTENT_POLICY"),)}
    with world.db.services.read(scope="system") as conn:
        event_log = conn.execute("SELECT pg_total_relation_size('events') AS n").fetchone()["n"]
    assert value(m, "avm_event_log_size_bytes") == event_log > 0
    assert value(m, "avm_database_size_bytes") > event_log
    assert value(m, "avm_db_pool_connections_max") == 3  # the world's pool size
    assert 1 <= value(m, "avm_db_pool_connections_size") <= 3
    assert value(m, "avm_db_pool_requests_total") > value(before, "avm_db_pool_requests_total")
    assert "avm_db_pool_wait_seconds_total" in m and "avm_db_pool_requests_waiting" in m
    # Each scrape times its probe once (process-wide histogram).
    assert value(m, "avm_db_probe_seconds_count") == value(before, "avm_db_probe_seconds_count") + 1
    assert world.client.get("/api/health").status_code == 200
    assert value(scrape(world.client), "avm_db_probe_seconds_count") == value(m, "avm_db_probe_seconds_count") + 2


def test_metrics_and_health_show_each_sweeps_last_run_as_recorded(world: World) -> None:
    from api.maintenance import run_pass

    assert "avm_sweep_runs_total" not in scrape(world.client) or not scrape(world.client)["avm_sweep_runs_total"]
    ctx, _ = world.user("premium")
    due_asset(world.db, ctx)
    outcomes = {o.sweep: o for o in run_pass(world.db.services)}
    assert {n: o.state for n, o in outcomes.items()} == dict.fromkeys(("job_leases", "asset_expiry",
                                                                       "idempotency_keys", "orphan_bytes"), "ran")

    m = scrape(world.client)
    health = world.client.get("/api/health").json()

    with world.db.services.read(scope="system") as conn:
        rows = {r["name"]: r for r in conn.execute("SELECT * FROM sweep_runs")}
    asset = rows["asset_expiry"]
    assert value(m, "avm_sweep_last_items", sweep="asset_expiry") == 1 == asset["last_items"]
    assert value(m, "avm_sweep_items_total", sweep="asset_expiry") == 1
    assert value(m, "avm_sweep_last_items", sweep="job_leases") == 0
    assert value(m, "avm_sweep_runs_total", sweep="asset_expiry") == 1
    assert value(m, "avm_sweep_failed_runs_total", sweep="asset_expiry") == 0
    assert value(m, "avm_sweep_last_failures", sweep="asset_expiry") == 0
    assert value(m, "avm_sweep_last_run_failed", sweep="asset_expiry") == 0
    assert value(m, "avm_sweep_last_duration_seconds", sweep="asset_expiry") == pytest.approx(
        asset["last_duration_seconds"]) == pytest.approx(outcomes["asset_expiry"].seconds)
    assert value(m, "avm_sweep_last_run_timestamp_seconds", sweep="asset_expiry") == pytest.approx(
        asset["last_started_at"].timestamp())
    assert value(m, "avm_sweep_last_success_timestamp_seconds", sweep="asset_expiry") == pytest.approx(
        asset["last_started_at"].timestamp())
    sweeps = health["checks"]["sweeps"]
    assert set(sweeps) == {"job_leases", "asset_expiry", "idempotency_keys", "orphan_bytes"}
    assert (sweeps["asset_expiry"]["last_items"], sweeps["asset_expiry"]["runs"],
            sweeps["asset_expiry"]["last_error"]) == (1, 1, None)
    database = health["checks"]["database"]
    assert database["size_bytes"] > database["event_log_bytes"] > 0
    assert database["pool"]["max"] == 3 and 0 <= database["pool"]["in_use"] <= database["pool"]["size"] <= 3
    assert {"idle", "waiting", "requests", "wait_ms", "errors"} <= database["pool"].keys()
