"""One bad item never stops work for others (issue 11, item 3).

The expiry sweep, the timeout sweep and the async daily-usage view each visit every tenant's
items. Here one item among good ones is made unreadable on purpose (its stored event no longer
decodes, as after a bad upgrade or a damaged disk): the good ones are processed, the bad one is
logged with its id, counted on /metrics (avm_item_failures_total) and left for the next run,
and the command exits 0 saying how many it skipped.
"""
from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from uuid import uuid4

import msgspec
import psycopg
import pytest

from domain.application import CommandContext
from domain.assets import Asset
from tests import support

STORY = support.STORY


class World:
    def __init__(self, services: Any, url: str, client: Any, tmp: Path) -> None:
        self.services, self.url, self.client, self.tmp = services, url, client, tmp

    def tenant(self) -> CommandContext:
        user, _ = self.services.app.register_user(CommandContext.system("tests"),
                                                  email=f"p-{uuid4().hex[:12]}@example.com", name="P", role="premium")
        return CommandContext(tenant_id=str(user.id), actor_id=str(user.id), role="premium")

    def avm(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "DATABASE_URL": self.url, "AVM_DATA_DIR": str(self.tmp / ".data")}
        return subprocess.run([sys.executable, "-m", "api.cli", *args], env=env, capture_output=True, text=True,
                              timeout=120, cwd=support.ROOT)

    def spoil(self, aggregate_id: Any, version: int = 1, state: bytes = b"\x00not json") -> None:
        """Replace one stored event's state (as the superuser, the append-only triggers bypassed)."""
        with psycopg.connect(self.url) as conn:
            conn.execute("SET session_replication_role = replica")
            conn.execute("UPDATE events SET state = %s WHERE originator_id = %s AND originator_version = %s",
                         (state, aggregate_id, version))
        self.services.app.forget_cached()

    def failures(self, work: str) -> float:
        text = self.client.get("/metrics").text
        for line in text.splitlines():
            if line.startswith("avm_item_failures_total{") and f'work="{work}"' in line:
                return float(line.rsplit(" ", 1)[1])
        return 0.0


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    from litestar.testing import TestClient

    from api.app import create_app
    from api.services import Services
    from eventstore.database import Database

    name, url = support.fresh_database("avm_poison")
    services = Services(Database(url=url, embedded=False), pool_size=3)
    try:
        with TestClient(create_app(services), raise_server_exceptions=False) as client:
            yield World(services, url, client, tmp_path)
    finally:
        services.close()
        support.drop_database(name)


def due_asset(world: World, ctx: CommandContext, seconds_ago: int) -> str:
    """An asset whose expiry (accepted while in the future) has passed."""
    expires = (datetime.now(timezone.utc) - timedelta(seconds=seconds_ago)).isoformat()
    asset = Asset(tenant_id=ctx.tenant_id, type="image", uri="s3://bucket/a.png", size_bytes=10, metadata={},
                  project_id=None, job_id=None, scene_index=None, expires_at=expires)
    world.services.app._save(ctx, asset)
    return str(asset.id)


def expired_ids(world: World) -> set[str]:
    with psycopg.connect(world.url) as conn:
        return {str(r[0]) for r in conn.execute("SELECT id FROM assets WHERE expired_at IS NOT NULL")}


def test_an_unreadable_asset_first_in_line_does_not_stop_the_expiry_sweep_of_the_others(world: World) -> None:
    from api.controllers.assets import expire_due

    poison = due_asset(world, world.tenant(), seconds_ago=3600)  # the oldest expiry: swept first
    good = [due_asset(world, world.tenant(), seconds_ago=60 - i) for i in range(3)]
    world.spoil(poison)

    result = world.avm("assets", "expire")
    assert result.returncode == 0, result.stderr
    assert "expired 3 assets; 1 failed and were skipped" in result.stdout, result.stdout
    assert poison in result.stderr and "not json" not in result.stderr  # its id is logged, never its data
    assert expired_ids(world) == set(good)

    # In the service: the skip is counted on /metrics, the rest proceed, the bad one is tried again.
    later = due_asset(world, world.tenant(), seconds_ago=5)
    before = world.failures("asset expiry sweep")
    skipped: set[Any] = set()
    assert expire_due(world.services, CommandContext.system("tests"), skipped) == 1
    assert {str(s) for s in skipped} == {poison}
    assert world.failures("asset expiry sweep") == before + 1
    assert expired_ids(world) == {*good, later}


def stalled_job(world: World, ctx: CommandContext, minutes_ago: int) -> str:
    return support.stalled_job(world.services.app, ctx, minutes_ago)


def job_statuses(world: World, ids: list[str]) -> dict[str, str]:
    with psycopg.connect(world.url) as conn:
        return {str(r[0]): r[1] for r in conn.execute("SELECT id, status FROM jobs WHERE id = ANY(%s::uuid[])",
                                                      (ids,))}


def test_an_unreadable_job_does_not_stop_the_timeout_sweep_of_the_others(world: World) -> None:
    poison = stalled_job(world, world.tenant(), minutes_ago=120)  # the oldest heartbeat: swept first
    good = [stalled_job(world, world.tenant(), minutes_ago=60) for _ in range(2)]
    world.spoil(poison)

    result = world.avm("jobs", "sweep")
    assert result.returncode == 0, result.stderr
    assert "timed out 2 jobs; 1 failed and were skipped" in result.stdout, result.stdout
    assert poison in result.stderr
    statuses = job_statuses(world, [poison, *good])
    assert statuses.pop(poison) == "running"  # left for the next run
    assert set(statuses.values()) == {"queued"}  # timed out, queued again for their retry

    # The job queue is every tenant's too: a worker claiming is not stopped by an unreadable job.
    ctx = world.tenant()
    project = world.services.app.create_project(ctx, title="queued")
    world.services.app.set_story(ctx, str(project.id), None, STORY)
    bad = world.services.app.queue_job(ctx, str(project.id))
    project2 = world.services.app.create_project(ctx, title="queued too")
    world.services.app.set_story(ctx, str(project2.id), None, STORY)
    fine = world.services.app.queue_job(ctx, str(project2.id))
    world.spoil(bad.id)
    before = world.failures("job claim")
    worker = CommandContext(tenant_id=ctx.tenant_id, actor_id="worker-2", role="worker")
    claimed = world.services.app.claim_job(worker, [bad.id, fine.id])
    assert claimed is not None and claimed.id == fine.id
    assert world.failures("job claim") == before + 1


def test_an_unprocessable_event_does_not_stop_the_daily_usage_view(world: World) -> None:
    from tests.integration.test_views_daily_usage import run_view, wait_caught_up

    app = world.services.app
    ctxs = [world.tenant() for _ in range(3)]
    projects = [app.create_project(ctx, title="counted") for ctx in ctxs]
    for ctx, project in zip(ctxs, projects):
        app.set_story(ctx, str(project.id), None, STORY)
    # One project's StorySet no longer holds a list of scenes; another's Created is not JSON at all.
    with psycopg.connect(world.url) as conn:
        (state,) = conn.execute("SELECT state FROM events WHERE originator_id = %s AND originator_version = 2",
                                (projects[0].id,)).fetchone()
    data = msgspec.json.decode(bytes(state))
    data["scenes"] = 7
    world.spoil(projects[0].id, 2, msgspec.json.encode(data))
    world.spoil(projects[1].id, 1)

    before = world.failures("view daily_usage")
    stop = run_view(world.url)
    try:
        wait_caught_up(world.url, timeout=60)
    finally:
        stop()
    with psycopg.connect(world.url) as conn:
        rows = dict(conn.execute("SELECT tenant_id::text, sum(projects_created) + sum(scenes_created) * 1000"
                                 " FROM daily_usage GROUP BY tenant_id").fetchall())
    third = ctxs[2].tenant_id
    assert rows[third] >= 1001  # the good tenant's project and its scenes were counted
    assert rows[ctxs[0].tenant_id] == 1  # its project counted; its spoiled StorySet skipped
    assert world.failures("view daily_usage") == before + 2
