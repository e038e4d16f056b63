"""The asynchronous daily usage view: given events, then rows, written with their tracking position."""
from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent, Tracking
from eventsourcing.tests.persistence import TrackingRecorderTestCase
from psycopg.rows import dict_row

from domain.application import CommandContext
from domain.shared import event_type
from projections.views import DailyUsageView
from tests import support

STORY = "The fox crossed the frozen river at dawn, looking for the lighthouse keeper's lost compass. " * 4
COUNTERS = DailyUsageView.COUNTERS


# -- helpers shared by the view tests ---------------------------------------------------------------
@dataclass
class Store:
    """A fresh database with the application's services on it."""

    name: str
    url: str
    services: Any

    def ctx(self, tenant_id: str, role: str = "premium") -> CommandContext:
        return CommandContext(tenant_id=tenant_id, actor_id=tenant_id, role=role)

    def tenant(self, role: str = "premium") -> str:
        user, _ = self.services.app.register_user(CommandContext.system("tests"),
                                                  email=f"v-{uuid.uuid4().hex[:12]}@example.com", name="V", role=role)
        return str(user.id)


@pytest.fixture
def store() -> Iterator[Store]:
    yield from fresh_store()


def fresh_store() -> Iterator[Store]:
    from api.services import Services
    from eventstore.database import Database

    name, url = support.fresh_database("avm_view")
    services = Services(Database(url=url, embedded=False), pool_size=4)
    try:
        yield Store(name, url, services)
    finally:
        services.close()
        support.drop_database(name)


def head_and_position(url: str) -> tuple[int, int]:
    with psycopg.connect(url) as conn:
        head = conn.execute("SELECT coalesce(max(notification_id), 0) FROM events").fetchone()[0]
        row = conn.execute("SELECT notification_id FROM tracking WHERE application_name = 'daily_usage'").fetchone()
    return head, row[0] if row else 0


def wait_caught_up(url: str, timeout: float = 30) -> int:
    """Wait until the view's tracking position reaches the head of the log; returns it."""
    deadline = time.monotonic() + timeout
    while True:
        head, position = head_and_position(url)
        if position >= head:
            return position
        if time.monotonic() > deadline:
            raise AssertionError(f"daily_usage stuck at {position} of {head}")
        time.sleep(0.1)


def view_rows(url: str) -> dict[tuple[Any, date], dict[str, Any]]:
    with psycopg.connect(url, row_factory=dict_row) as conn:
        rows = conn.execute("SELECT * FROM daily_usage").fetchall()
    out = {}
    for r in rows:
        values = {c: r[c] for c in COUNTERS}
        if any(values.values()):
            out[(r["tenant_id"], r["day"])] = values
    return out


def from_scratch(url: str, mapper: Any) -> dict[tuple[Any, date], dict[str, Any]]:
    """The daily usage computed directly from the whole event log, independently of the view's code."""
    usage: dict[tuple[Any, date], dict[str, Any]] = defaultdict(lambda: {c: 0 for c in COUNTERS})
    assets: dict[Any, dict[str, Any]] = {}
    with psycopg.connect(url, row_factory=dict_row) as conn:
        rows = conn.execute("SELECT tenant_id, originator_id, originator_version, topic, state FROM events"
                            " ORDER BY notification_id").fetchall()
    for r in rows:
        e = mapper.to_domain_event(StoredEvent(originator_id=r["originator_id"],
                                               originator_version=r["originator_version"],
                                               topic=r["topic"], state=bytes(r["state"])))
        kind = event_type(r["topic"])
        u = usage[(r["tenant_id"], e.timestamp.astimezone(timezone.utc).date())]
        if kind == "Project.Created":
            u["projects_created"] += 1
        elif kind == "Project.StorySet":
            u["scenes_created"] += len(e.scenes)
        elif kind == "Job.Queued":
            u["cost_estimated"] += Decimal(str(e.estimate["expected"]))
        elif kind == "Job.Succeeded":
            u["renders_succeeded"] += 1
            u["cost_actual"] += Decimal(str(e.cost_actual or 0))
        elif kind == "Job.Failed" and not e.will_retry:
            u["renders_failed"] += 1
        elif kind == "Asset.Registered" and e.size_bytes:
            assets[r["originator_id"]] = {"size": e.size_bytes, "deleted": False, "expired": False}
            u["storage_bytes_added"] += e.size_bytes
        elif r["originator_id"] in assets and kind in ("Asset.Deleted", "Asset.Restored", "TenantAggregate.Deleted",
                                                       "TenantAggregate.Restored",
                                                       "Asset.Expired"):
            a = assets[r["originator_id"]]
            counted = not a["deleted"] and not a["expired"]
            if kind == "Asset.Expired":
                a["expired"] = True
            else:
                a["deleted"] = kind.endswith("Deleted")
            now_counted = not a["deleted"] and not a["expired"]
            if counted and not now_counted:
                u["storage_bytes_removed"] += a["size"]
            elif now_counted and not counted:
                u["storage_bytes_added"] += a["size"]
    return {k: v for k, v in usage.items() if any(v.values())}


def activity(store: Store, tenant: str, rounds: int = 1) -> None:
    """Every kind of event the view counts (and some it does not), for one tenant."""
    app, ctx = store.services.app, store.ctx(tenant)
    worker = CommandContext(tenant_id="w", actor_id=f"worker-{uuid.uuid4().hex[:6]}", role="worker")
    now = datetime.now(timezone.utc)
    for i in range(rounds):
        project = app.create_project(ctx, title=f"p{i}")
        app.set_story(ctx, str(project.id), None, STORY)
        job = app.queue_job(ctx, str(project.id))
        app.claim_job(worker, [job.id])
        app.report_progress(worker, str(job.id), "image_generation", 50.0)
        if i % 2:
            app.fail_job(worker, str(job.id), code="VALIDATION", message="bad", retryable=False)
        else:
            app.complete_job(worker, str(job.id), cost_actual=0.125 + i)
        kept = app.register_asset(ctx, type="image", uri="r2://b/a.png", size_bytes=1000 + i)
        gone = app.register_asset(ctx, type="audio", uri="r2://b/a.mp3", size_bytes=300 + i,
                                  expires_at=now + timedelta(hours=1))
        app.delete_asset(ctx, str(kept.id), None)
        app.restore_asset(ctx, str(kept.id), None)
        app.expire_assets(CommandContext.system("tests"), [gone.id], now=now + timedelta(hours=2))


AVM = [sys.executable, "-m", "api.cli"]


def start_runner(url: str, log: Path) -> subprocess.Popen[bytes]:
    """`avm projections run` against the database at `url`, its output in `log`."""
    env = {**os.environ, "DATABASE_URL": url, "AVM_DATA_DIR": str(log.parent / ".data")}
    with log.open("ab") as out:
        return subprocess.Popen([*AVM, "projections", "run"], env=env, stdout=out, stderr=subprocess.STDOUT,
                                cwd=support.ROOT)


def wait_for_line(log: Path, text: str, timeout: float = 30, after: int = 0) -> int:
    """Wait until `text` appears in the log past offset `after`; returns the offset just past it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        content = log.read_text(errors="replace")
        at = content.find(text, after)
        if at >= 0:
            return at + len(text)
        time.sleep(0.05)
    raise AssertionError(f"{text!r} not in {log.name}:\n{log.read_text(errors='replace')}")


# -- the rules ----------------------------------------------------------------------------------------
def run_view(url: str) -> Any:
    """The projectors as `avm serve` runs them: skipped events counted on this process's /metrics."""
    from api.failures import count_item_failure
    from projections.runtime import start_projectors

    return start_projectors(url, say=lambda _m: None, item_failed=count_item_failure)


def test_the_view_counts_projects_scenes_renders_storage_and_cost_per_tenant_and_utc_day(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    import eventsourcing.domain

    app = store.services.app
    a, b = store.tenant(), store.tenant()
    worker = CommandContext(tenant_id="w", actor_id="worker-1", role="worker")
    real_now = datetime.now(timezone.utc)
    today = real_now.date()

    def on(days_ago: int) -> None:
        at = real_now - timedelta(days=days_ago)
        monkeypatch.setattr(eventsourcing.domain, "datetime_now_with_tzinfo", lambda: at)

    # Two days ago: two projects with stories; three sized assets and one without a size.
    on(2)
    p1 = app.create_project(store.ctx(a), title="first")
    p2 = app.create_project(store.ctx(a), title="second")
    scenes = len(app.set_story(store.ctx(a), str(p1.id), None, STORY).scenes)
    scenes += len(app.set_story(store.ctx(a), str(p2.id), None, STORY + STORY).scenes)
    big = app.register_asset(store.ctx(a), type="video", uri="r2://b/big.mp4", size_bytes=1000)
    small = app.register_asset(store.ctx(a), type="audio", uri="r2://b/s.mp3", size_bytes=500,
                               expires_at=real_now + timedelta(days=1))
    other = app.register_asset(store.ctx(a), type="image", uri="r2://b/o.png", size_bytes=200,
                               expires_at=real_now + timedelta(days=1))
    app.register_asset(store.ctx(a), type="json", uri="r2://b/x.json")
    # Yesterday: big and other deleted; a render succeeds; a deleted project touches no storage.
    on(1)
    app.delete_asset(store.ctx(a), str(big.id), None)
    app.delete_asset(store.ctx(a), str(other.id), None)
    job = app.queue_job(store.ctx(a), str(p1.id))
    app.claim_job(worker, [job.id])
    app.complete_job(worker, str(job.id), cost_actual=0.25)
    doomed = app.create_project(store.ctx(a), title="doomed")
    app.delete_project(store.ctx(a), str(doomed.id), None)
    # Today: big restored, small and (deleted) other expire, other restored while expired; a render
    # fails once with a retry (not counted) and then for good; tenant b creates a project.
    on(0)
    app.restore_asset(store.ctx(a), str(big.id), None)
    app.expire_assets(CommandContext.system("tests"), [small.id, other.id], now=real_now + timedelta(days=2))
    app.restore_asset(store.ctx(a), str(other.id), None)
    job2 = app.queue_job(store.ctx(a), str(p2.id))
    app.claim_job(worker, [job2.id])
    assert app.fail_job(worker, str(job2.id), code="RATE_LIMIT", message="slow", retryable=True,
                        jitter=0.5).status == "queued"
    app.claim_job(worker, [job2.id], now=real_now + timedelta(minutes=5))
    app.fail_job(worker, str(job2.id), code="VALIDATION", message="bad", retryable=False)
    app.create_project(store.ctx(b), title="b's")
    estimate = Decimal(str(job.estimate["expected"])).quantize(Decimal("0.000001"))
    estimate2 = Decimal(str(job2.estimate["expected"])).quantize(Decimal("0.000001"))

    stop = run_view(store.url)
    try:
        wait_caught_up(store.url)
    finally:
        stop()

    zero = {c: 0 for c in COUNTERS}
    ta, tb = uuid.UUID(a), uuid.UUID(b)
    assert view_rows(store.url) == {
        (ta, today - timedelta(days=2)): {**zero, "projects_created": 2, "scenes_created": scenes,
                                          "storage_bytes_added": 1700},
        (ta, today - timedelta(days=1)): {**zero, "projects_created": 1, "renders_succeeded": 1,
                                          "storage_bytes_removed": 1200, "cost_estimated": estimate,
                                          "cost_actual": Decimal("0.25")},
        (ta, today): {**zero, "renders_failed": 1, "storage_bytes_added": 1000, "storage_bytes_removed": 500,
                      "cost_estimated": estimate2},
        (tb, today): {**zero, "projects_created": 1},
    }
    assert view_rows(store.url) == from_scratch(store.url, app.mapper)

    from projections.views import list_daily_usage

    with store.services.read(ta) as conn:
        days = list_daily_usage(conn, ta, today - timedelta(days=3), today)
    assert [d["storage_bytes"] for d in days] == [0, 1700, 500, 1000]
    assert [d["projects_created"] for d in days] == [0, 2, 1, 0]


def test_a_runner_started_later_resumes_from_its_tracking_position(store: Store) -> None:
    tenant = store.tenant()
    activity(store, tenant)
    stop = run_view(store.url)
    try:
        first = wait_caught_up(store.url)
    finally:
        stop()
    activity(store, tenant, rounds=2)
    assert head_and_position(store.url)[1] == first
    stop = run_view(store.url)
    try:
        assert wait_caught_up(store.url) > first
    finally:
        stop()

    assert view_rows(store.url) == from_scratch(store.url, store.services.app.mapper)


def test_an_event_the_view_already_counted_is_refused_and_its_rows_roll_back(store: Store) -> None:
    from eventstore.recorder import Factory, env_for
    from eventsourcing.utils import Environment

    tenant = store.tenant()
    store.services.app.create_project(store.ctx(tenant), title="once")
    stop = run_view(store.url)
    try:
        position = wait_caught_up(store.url)
    finally:
        stop()
    before = view_rows(store.url)
    view = Factory(Environment("daily_usage", env_for(store.url))).tracking_recorder(DailyUsageView)
    try:
        view.add(Tracking("avm", position), datetime.now(timezone.utc).date(), projects_created=1)
        with pytest.raises(IntegrityError):
            view.flush()  # the batch's commit is refused
        # The failure is sticky: an event after the lost batch is never counted on its own.
        with pytest.raises(IntegrityError):
            view.add(Tracking("avm", position + 1), datetime.now(timezone.utc).date(), projects_created=1)
    finally:
        with contextlib.suppress(IntegrityError):
            view.close()  # stops the flusher; its last flush reports the failure again
        view.datastore.close()

    assert view_rows(store.url) == before


def test_events_are_committed_in_batches_with_the_last_position(store: Store) -> None:
    """Many events, one transaction: rows and the batch's last position appear together, when the
    batch is flushed (here by flush(); the flusher waits), never a row without its position."""
    from eventstore.recorder import Factory, env_for
    from eventsourcing.utils import Environment

    tenant = store.tenant()
    for i in range(30):
        store.services.app.create_project(store.ctx(tenant), title=f"p{i}")
    with psycopg.connect(store.url) as conn:
        positions = [r[0] for r in conn.execute(
            "SELECT notification_id FROM events WHERE tenant_id = %s ORDER BY notification_id", (tenant,))]
    view = Factory(Environment("daily_usage", env_for(store.url))).tracking_recorder(DailyUsageView)
    view.FLUSH_SECONDS = 30.0  # the flusher waits: nothing is committed until flush()
    today = datetime.now(timezone.utc).date()
    start = view.max_tracking_id("avm") or 0
    taken = [p for p in positions if p > start]
    assert len(taken) >= 30

    def seen() -> tuple[int, int]:
        with psycopg.connect(store.url) as conn:
            row = conn.execute("SELECT notification_id FROM tracking WHERE application_name = 'daily_usage'"
                               ).fetchone()
            count = conn.execute("SELECT coalesce(sum(projects_created), 0) FROM daily_usage"
                                 " WHERE tenant_id = %s", (tenant,)).fetchone()[0]
        return (row[0] if row else 0), int(count)

    try:
        for position in taken:
            view.add(Tracking("avm", position), today, projects_created=1)
        assert seen() == (start, 0), "rows or a position committed before the batch was flushed"
        view.flush()
        assert seen() == (taken[-1], len(taken))
    finally:
        view.close()
        view.datastore.close()


def test_the_flusher_commits_a_batch_without_being_asked(store: Store) -> None:
    from eventstore.recorder import Factory, env_for
    from eventsourcing.utils import Environment

    tenant = store.tenant()
    store.services.app.create_project(store.ctx(tenant), title="flushed")
    with psycopg.connect(store.url) as conn:
        position = conn.execute("SELECT max(notification_id) FROM events WHERE tenant_id = %s",
                                (tenant,)).fetchone()[0]
    view = Factory(Environment("daily_usage", env_for(store.url))).tracking_recorder(DailyUsageView)
    try:
        view.add(Tracking("avm", position), datetime.now(timezone.utc).date(), projects_created=1)
        deadline = time.monotonic() + 5
        got = None
        while time.monotonic() < deadline:
            with psycopg.connect(store.url) as conn:
                row = conn.execute("SELECT notification_id FROM tracking WHERE application_name = 'daily_usage'"
                                   ).fetchone()
            got = row[0] if row else None
            if got == position:
                break
            time.sleep(0.02)
        assert got == position
    finally:
        view.close()
        view.datastore.close()


class TestTheViewIsATrackingRecorderByTheLibrarysRules(TrackingRecorderTestCase):
    """The library's own tracking recorder suite, run against the view on a fresh database."""

    def setUp(self) -> None:
        from eventstore.recorder import Factory, env_for
        from eventsourcing.utils import Environment

        self.dbname, url = support.fresh_database("avm_view_rec")
        self.view = Factory(Environment("daily_usage", env_for(url))).tracking_recorder(DailyUsageView)
        super().setUp()

    def tearDown(self) -> None:
        super().tearDown()
        self.view.datastore.close()
        support.drop_database(self.dbname)

    def create_recorder(self) -> DailyUsageView:
        return self.view
