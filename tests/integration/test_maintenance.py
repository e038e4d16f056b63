"""Maintenance that runs itself (issue 14, item 6): `avm serve` runs the sweeps on intervals, one runner
at a time per sweep (advisory lock), `avm maintenance run` does one pass for cron, and every run is
recorded in sweep_runs for /metrics and health."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from psycopg.rows import dict_row

from domain.application import CommandContext
from domain.assets import Asset
from tests import support

STORY = support.STORY
NAMES = ("job_leases", "asset_expiry", "idempotency_keys", "orphan_bytes")


@dataclass
class Db:
    """A fresh database with the application's services on it."""

    url: str
    services: Any

    def tenant(self, role: str = "premium") -> CommandContext:
        user, _ = self.services.app.register_user(CommandContext.system("tests"),
                                                  email=f"m-{uuid.uuid4().hex[:12]}@example.com", name="M", role=role)
        return CommandContext(tenant_id=str(user.id), actor_id=str(user.id), role=role)

    def sql(self, query: str, params: Any = ()) -> list[dict[str, Any]]:
        """As the owner (what a test seeds or checks beside the service)."""
        with psycopg.connect(self.url, row_factory=dict_row) as conn:
            cur = conn.execute(query, params)
            return cur.fetchall() if cur.description else []


def open_db(url: str) -> Db:
    """Services on `url` with a media store of their own: the orphan-bytes sweep of this fresh
    database must never list the default directory (.data/media), whose bytes it does not know."""
    from api.media import MediaStore, local_location
    from api.services import Services
    from eventstore.database import Database

    services = Services(Database(url=url, embedded=False), pool_size=3)
    services.media = MediaStore(local_location(Path(tempfile.mkdtemp(prefix="avm-media-"))))
    return Db(url, services)


@pytest.fixture
def db() -> Iterator[Db]:
    name, url = support.fresh_database("avm_maint")
    d = open_db(url)
    try:
        yield d
    finally:
        d.services.close()
        support.drop_database(name)


def stalled_job(db: Db, ctx: CommandContext, minutes_ago: int = 30) -> str:
    return support.stalled_job(db.services.app, ctx, minutes_ago)


def due_asset(db: Db, ctx: CommandContext, seconds_ago: int = 60) -> str:
    """An asset whose expiry (accepted while in the future) has passed."""
    expires = (datetime.now(timezone.utc) - timedelta(seconds=seconds_ago)).isoformat()
    asset = Asset(tenant_id=ctx.tenant_id, type="image", uri="s3://bucket/a.png", size_bytes=10, metadata={},
                  project_id=None, job_id=None, scene_index=None, expires_at=expires)
    db.services.app._save(ctx, asset)
    return str(asset.id)


def keys(db: Db, ctx: CommandContext) -> tuple[str, str]:
    """An Idempotency-Key recorded two days ago and one recorded now (the retention is 24 h)."""
    old, fresh = f"old-{uuid.uuid4().hex[:8]}", f"new-{uuid.uuid4().hex[:8]}"
    db.sql("INSERT INTO idempotency_keys (tenant_id, key, fingerprint, created_at) VALUES"
           " (%s, %s, '\\x00', now() - interval '2 days'), (%s, %s, '\\x00', now())",
           (ctx.tenant_id, old, ctx.tenant_id, fresh))
    return old, fresh


def orphan_bytes(media: Path, ctx: CommandContext) -> Path:
    """Bytes in the store (the local directory `media`) that no asset names, two hours old."""
    path = media / ctx.tenant_id / str(uuid.uuid4()) / str(uuid.uuid4())
    path.parent.mkdir(parents=True)
    path.write_bytes(b"nobody's")
    os.utime(path, (time.time() - 7200, time.time() - 7200))
    return path


def seed_all(db: Db, media: Path | None = None) -> dict[str, Any]:
    ctx = db.tenant()
    return {"job": stalled_job(db, ctx), "asset": due_asset(db, ctx), "keys": keys(db, ctx),
            "orphan": orphan_bytes(media, ctx) if media is not None else None}


def assert_swept(db: Db, seeded: dict[str, Any]) -> None:
    job = db.sql("SELECT status, error->>'code' AS code FROM jobs WHERE id = %s", (seeded["job"],))[0]
    assert job["code"] == "TIMEOUT" and job["status"] != "running", job
    assert db.sql("SELECT expired_at FROM assets WHERE id = %s", (seeded["asset"],))[0]["expired_at"] is not None
    old, fresh = seeded["keys"]
    assert [r["key"] for r in db.sql("SELECT key FROM idempotency_keys WHERE key = ANY(%s)", ([old, fresh],))] == [
        fresh]
    assert seeded["orphan"] is None or not seeded["orphan"].exists()


def sweep_runs(db: Db) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in db.sql("SELECT * FROM sweep_runs")}


# -- avm serve runs them by itself -----------------------------------------------------------------
def test_serve_runs_the_sweeps_by_itself_on_their_intervals(tmp_path: Path) -> None:
    from tests.live import live_server

    intervals = {f"AVM_SWEEP_{n.upper()}_SECONDS": "0.5" for n in NAMES}
    with live_server(tmp_path, AVM_PROJECTORS="0", **intervals) as live:
        d = open_db(live.database_url)
        try:
            seeded = seed_all(d, tmp_path / "media")
            deadline = time.monotonic() + 60
            while True:
                runs = sweep_runs(d)
                if all(runs.get(n, {}).get("items_total", 0) >= 1 for n in NAMES):
                    break
                assert time.monotonic() < deadline, (runs, (tmp_path / "serve.log").read_text()[-2000:])
                time.sleep(0.2)
            assert_swept(d, seeded)
            health = httpx.get(f"{live.url}/api/health", timeout=10).json()
            metrics = httpx.get(f"{live.url}/metrics", timeout=10).text
            time.sleep(1.5)
            later = sweep_runs(d)  # and it keeps running them, each interval
        finally:
            d.services.close()
    for name in NAMES:
        run = runs[name]
        assert run["interval_seconds"] == 0.5 and run["last_error"] is None and run["runs"] >= 1, run
        assert re.fullmatch(r".+:[0-9]+", run["runner"]) and run["last_success_at"]
        assert health["checks"]["sweeps"][name]["runs"] >= run["runs"]
        assert f'avm_sweep_runs_total{{sweep="{name}"}}' in metrics
    assert all(later[n]["runs"] > runs[n]["runs"] for n in NAMES), (runs, later)


def test_serve_with_maintenance_off_runs_no_sweep(tmp_path: Path) -> None:
    from tests.live import live_server

    with live_server(tmp_path, AVM_PROJECTORS="0", AVM_MAINTENANCE="off",
                     AVM_SWEEP_ASSET_EXPIRY_SECONDS="0.2") as live:
        d = open_db(live.database_url)
        try:
            asset = due_asset(d, d.tenant())
            time.sleep(1.5)
            assert sweep_runs(d) == {}
            assert d.sql("SELECT expired_at FROM assets WHERE id = %s", (asset,))[0]["expired_at"] is None
        finally:
            d.services.close()


def test_a_bad_interval_stops_serve_before_it_serves(tmp_path: Path) -> None:
    name, url = support.fresh_database("avm_maint")
    try:
        env = {**os.environ, "DATABASE_URL": url, "AVM_DATA_DIR": str(tmp_path), "AVM_PORT": "1",
               "AVM_SWEEP_JOB_LEASES_SECONDS": "soon"}
        env.pop("TEST_DATABASE_URL", None)
        done = subprocess.run([sys.executable, "-m", "api.cli", "serve"], env=env, capture_output=True, text=True,
                              timeout=120, cwd=support.ROOT)
    finally:
        support.drop_database(name)
    assert done.returncode != 0
    assert "AVM_SWEEP_JOB_LEASES_SECONDS" in done.stderr and "avm serving" not in done.stdout


# -- one runner at a time --------------------------------------------------------------------------
def test_two_runners_at_once_one_runs_the_sweep_the_other_skips_it(db: Db) -> None:
    from api.maintenance import Sweep, run_pass

    entered, release = threading.Event(), threading.Event()
    calls: list[int] = []

    def slow(_services: Any, _ctx: Any, _skipped: set[Any]) -> int:
        calls.append(1)
        entered.set()
        assert release.wait(30)
        return 7

    sweep = Sweep("slow_test", slow, 60.0, "a sweep that takes its time")
    outcomes: list[Any] = []
    first = threading.Thread(target=lambda: outcomes.extend(run_pass(db.services, [sweep])))
    first.start()
    assert entered.wait(30)
    second = run_pass(db.services, [sweep])  # while the first holds the lock
    release.set()
    first.join(30)

    assert [o.state for o in second] == ["skipped"]
    assert [(o.state, o.items) for o in outcomes] == [("ran", 7)]
    assert len(calls) == 1
    assert sweep_runs(db)["slow_test"]["runs"] == 1
    # The lock was given back: the next pass runs it.
    assert [o.state for o in run_pass(db.services, [sweep])] == ["ran"]
    assert sweep_runs(db)["slow_test"]["runs"] == 2 and len(calls) == 2


def test_a_runner_leaves_a_sweep_another_runner_started_less_than_an_interval_ago(db: Db) -> None:
    from api.maintenance import LockSession, Sweep, run_sweep

    calls: list[int] = []
    sweep = Sweep("interval_test", lambda *_: calls.append(1) or 1, 60.0, "counts its runs")
    locks = LockSession(db.services.app_url)
    try:
        assert run_sweep(db.services, sweep, locks, interval=60.0, only_if_due=True).state == "ran"
        again = run_sweep(db.services, sweep, locks, interval=60.0, only_if_due=True)
        assert again.state == "not_due" and 0 < again.due_in <= 60
        assert run_sweep(db.services, sweep, locks, interval=0.001, only_if_due=True).state == "ran"
    finally:
        locks.close()
    assert len(calls) == 2


# -- avm maintenance run ---------------------------------------------------------------------------
def avm(db: Db, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": db.url, "AVM_DATA_DIR": str(tmp_path / ".data")}
    env.pop("TEST_DATABASE_URL", None)
    return subprocess.run([sys.executable, "-m", "api.cli", *args], env=env, capture_output=True, text=True,
                          timeout=120, cwd=support.ROOT)


def test_maintenance_run_does_one_pass_of_every_sweep_and_records_it(db: Db, tmp_path: Path) -> None:
    seeded = seed_all(db, tmp_path / ".data" / "media")

    done = avm(db, tmp_path, "maintenance", "run")

    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert [line.split(":")[0] for line in lines] == list(NAMES)
    assert all(" 1 items in " in line for line in lines), lines
    assert_swept(db, seeded)
    runs = sweep_runs(db)
    assert {n: (r["runs"], r["last_items"], r["last_failures"], r["failed_runs"]) for n, r in runs.items()} == {
        n: (1, 1, 0, 0) for n in NAMES}
    assert all(r["interval_seconds"] is None and r["last_error"] is None for r in runs.values())

    again = avm(db, tmp_path, "maintenance", "run", "--only", "asset_expiry")
    assert again.returncode == 0 and again.stdout.strip().startswith("asset_expiry: 0 items in "), again.stdout
    assert {n: r["runs"] for n, r in sweep_runs(db).items()} == {"job_leases": 1, "asset_expiry": 2,
                                                                 "idempotency_keys": 1, "orphan_bytes": 1}


def test_maintenance_run_refuses_an_unknown_sweep_naming_the_known_ones(db: Db, tmp_path: Path) -> None:
    done = avm(db, tmp_path, "maintenance", "run", "--only", "nope")
    assert done.returncode != 0
    assert "--only" in done.stderr and "unknown sweep nope" in done.stderr and "asset_expiry" in done.stderr
    assert sweep_runs(db) == {}


def test_maintenance_run_skips_a_sweep_whose_lock_another_runner_holds(db: Db, tmp_path: Path) -> None:
    from api.maintenance import SWEEPS

    asset = due_asset(db, db.tenant())
    key = next(s.lock_key for s in SWEEPS if s.name == "asset_expiry")
    with psycopg.connect(db.url, autocommit=True) as other_runner:
        assert other_runner.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone() == (True,)
        done = avm(db, tmp_path, "maintenance", "run", "--only", "asset_expiry")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "asset_expiry: skipped (another runner holds its lock)"
    assert sweep_runs(db) == {}
    assert db.sql("SELECT expired_at FROM assets WHERE id = %s", (asset,))[0]["expired_at"] is None


def test_maintenance_run_exits_non_zero_when_a_sweep_fails_and_records_the_failure(db: Db, tmp_path: Path) -> None:
    db.sql("ALTER TABLE idempotency_keys RENAME TO idempotency_keys_away")
    try:
        done = avm(db, tmp_path, "maintenance", "run")
    finally:
        db.sql("ALTER TABLE idempotency_keys_away RENAME TO idempotency_keys")
    assert done.returncode != 0
    assert 'idempotency_keys: failed: ProgrammingError: relation "idempotency_keys" does not exist' in done.stdout, \
        done.stdout
    assert "1 sweep(s) failed: idempotency_keys" in done.stderr
    runs = sweep_runs(db)
    assert runs["idempotency_keys"]["failed_runs"] == 1 and "does not exist" in runs["idempotency_keys"]["last_error"]
    assert runs["idempotency_keys"]["last_success_at"] is None
    assert runs["asset_expiry"]["failed_runs"] == 0 and runs["asset_expiry"]["last_success_at"] is not None


def test_the_old_sweep_commands_still_work(db: Db, tmp_path: Path) -> None:
    seeded = seed_all(db)
    assert avm(db, tmp_path, "jobs", "sweep").stdout.strip() == "timed out 1 jobs"
    assert avm(db, tmp_path, "assets", "expire").stdout.strip() == "expired 1 assets"
    job = db.sql("SELECT error->>'code' AS code FROM jobs WHERE id = %s", (seeded["job"],))[0]
    assert job["code"] == "TIMEOUT"
