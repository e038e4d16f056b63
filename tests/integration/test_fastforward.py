"""Issue 17, two workers not slower than one (docs/decisions/i17-multi.md): with several processes on
one database, each caching aggregates the others write, AGGREGATE_CACHE_FASTFORWARD=y (what `avm serve
--workers N` sets for its processes) brings a cached aggregate up to date before a command uses it.

Two applications with caches of their own on one database stand for two processes here. Without the
fast-forward, every command through the process whose copy is stale failed its first save on the version
and was retried (counted: `avm_conflict_retries`), and a check on a stale copy answered wrongly (a job
claimed through the other process could not be completed through this one: "job is queued").
"""
from __future__ import annotations

import os
import re
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from domain.application import CommandContext
from domain.errors import QuotaExceeded, StaleVersion
from domain.jobs import Job
from domain.projects import Project
from tests import support
from tests.live import AVM, _free_port, live_server, stop_group

STORY = ("The fox crossed the frozen river at dawn, looking for the lighthouse keeper's lost compass. "
         "Snow fell on the old pier while the gulls argued about bread. ") * 3


class Process:
    """One 'process': its own Services (pool, aggregate cache), and the conflict retries it counted."""

    def __init__(self, database_url: str) -> None:
        from api.services import Services
        from eventstore.database import Database

        self.services = Services(Database(url=database_url, embedded=False), pool_size=2)
        self.retries = 0
        self.mode = ""
        self.services.app.conflict_retried = self._count

    def _count(self) -> None:
        self.retries += 1

    @property
    def app(self) -> Any:
        return self.services.app


MODES = {"always": {"AGGREGATE_CACHE_FASTFORWARD": "y"},  # a read before every use of a cached copy
         "on-failure": {"AVM_CACHE_REFRESH_ON_FAILURE": "1"}}  # `avm serve --workers N`: only when it failed


@pytest.fixture(params=list(MODES))
def two(request: pytest.FixtureRequest, database_url: str,
        monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Process, Process]]:
    for name, value in MODES[request.param].items():
        monkeypatch.setenv(name, value)
    a, b = Process(database_url), Process(database_url)
    a.mode = b.mode = request.param
    try:
        for p in (a, b):
            assert (p.app.repository.fastforward, p.app.repository.refresh_on_failure) == (
                request.param == "always", request.param == "on-failure")
        yield a, b
    finally:
        a.services.close()
        b.services.close()


def admin_ctx(p: Process) -> CommandContext:
    user, _ = p.app.register_user(CommandContext.system("tests"), email=f"ff-{uuid.uuid4().hex[:8]}@example.com",
                                  name="F", role="admin")  # no daily quota
    return CommandContext(tenant_id=str(user.id), actor_id=str(user.id), role="admin")


def worker_ctx(p: Process) -> CommandContext:
    user, _ = p.app.register_user(CommandContext.system("tests"), email=f"fw-{uuid.uuid4().hex[:8]}@example.com",
                                  name="W", role="worker")
    return CommandContext(tenant_id=str(user.id), actor_id=str(user.id), role="worker")


def test_writes_alternating_between_two_processes_are_retried_at_most_once(two: tuple[Process, Process]) -> None:
    a, b = two
    ctx = admin_ctx(a)
    project = a.app.create_project(ctx, title="t0")
    b.app.load(Project, project.id, ctx.tenant_id)  # cached by both
    for i in range(1, 11):
        p = (a, b)[i % 2]  # each write goes through the process whose copy the other made stale
        renamed = p.app.update_project(ctx, str(project.id), None, title=f"t{i}")
        assert (renamed.title, renamed.version) == (f"t{i}", 1 + i)
    if a.mode == "always":
        assert (a.retries, b.retries) == (0, 0)
    else:  # each write but b's first met the other's version once, and its second save (fresh, at once) did not
        assert (a.retries, b.retries) == (5, 4)
    assert a.app.repository.cache.get(project.id).version == 11  # a saved the last one and cached it
    with b.app.repository.fast_forwarding(True):  # b's copy fast-forwarded ('always': on every load)
        assert b.app.load(Project, project.id, ctx.tenant_id).version == 11


def test_a_job_claimed_through_one_process_is_completed_through_the_other(two: tuple[Process, Process]) -> None:
    a, b = two
    ctx = admin_ctx(a)
    project = a.app.create_project(ctx, title="to render")
    a.app.set_story(ctx, str(project.id), None, STORY)
    job = a.app.queue_job(ctx, str(project.id))  # cached by a as queued
    worker = worker_ctx(a)
    claimed = b.app.claim_job(worker, [job.id])
    assert claimed is not None and claimed.status == "running"
    # a's copy says queued: without the fast-forward, 'job is queued, not running' (409)
    done = a.app.complete_job(worker, str(job.id), 0.5)
    assert done.status == "succeeded"
    assert a.app.load(Project, project.id, ctx.tenant_id).status == "completed"
    with b.app.repository.fast_forwarding(True):  # b's cached copy says running until a command of b uses it
        assert b.app.load(Job, job.id, None).status == "succeeded"
    assert (a.retries, b.retries) == (0, 0)  # on failure: the check failed and was run again, fresh


def test_an_if_match_is_checked_against_the_newest_version_and_the_cache_is_kept(two: tuple[Process, Process]) -> None:
    a, b = two
    ctx = admin_ctx(a)
    project = a.app.create_project(ctx, title="v1")  # cached by a at version 1
    b.app.update_project(ctx, str(project.id), 1, title="v2")
    other = a.app.create_project(ctx, title="kept")
    # a's copy is at 1: without the fast-forward, If-Match 2 looked stale, the whole cache was emptied
    # and the command run again; now it reads version 2 first and succeeds at once
    assert a.app.update_project(ctx, str(project.id), 2, title="v3").version == 3
    assert other.id in a.app.repository.cache.cache
    with pytest.raises(StaleVersion):
        a.app.update_project(ctx, str(project.id), 2, title="late")
    assert (a.retries, b.retries) == (0, 0)


def test_two_claimers_of_one_process_take_different_jobs(two: tuple[Process, Process]) -> None:
    """Claimers reading the same candidates at once: the second leaves the first job to the first."""
    a, _ = two
    ctx = admin_ctx(a)
    jobs = []
    for _ in range(2):
        project = a.app.create_project(ctx, title="to render")
        a.app.set_story(ctx, str(project.id), None, STORY)
        jobs.append(a.app.queue_job(ctx, str(project.id)))
    worker = worker_ctx(a)
    with a.app._stripe(jobs[0].id):  # another thread of this process is claiming it (i17-write's spreading)
        claimed = a.app.claim_job(worker, [j.id for j in jobs])
    assert claimed is not None and claimed.id == jobs[1].id
    assert a.app.load(Job, jobs[0].id, None).status == "queued"
    assert a.retries == 0


def test_avm_serve_with_workers_refreshes_stale_copies_in_every_process(tmp_path: Path) -> None:
    name, url = support.fresh_database("avm_ff")
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": url, "AVM_DATA_DIR": str(tmp_path), "AVM_HOST": "127.0.0.1",
           "AVM_PORT": str(port), "AVM_WORKERS": "2", "AVM_PROJECTORS": "0"}
    env.pop("TEST_DATABASE_URL", None)
    env.pop("AGGREGATE_CACHE_FASTFORWARD", None)
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen([AVM, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()[-2000:]
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2).status_code in (200, 503):
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "avm serve did not answer in time"
            time.sleep(0.2)
        workers = [int(p) for p in Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()]
        environs = [Path(f"/proc/{pid}/environ").read_bytes().split(b"\0") for pid in workers]
        serving = [e for e in environs if b"AVM_WORKERS=2" in e]
        assert len(serving) >= 2, workers  # the two workers (and the supervisor's other children)
        for environ in serving:
            assert b"AVM_CACHE_REFRESH_ON_FAILURE=1" in environ
    finally:
        stop_group(proc)
        log.close()
        support.drop_database(name)


def conflict_retries(url: str) -> float:
    text = httpx.get(f"{url}/metrics", timeout=30).text
    m = re.search(r"^avm_conflict_retries_total (\S+)$", text, re.MULTILINE)
    assert m, "avm_conflict_retries_total is not on /metrics"
    return float(m.group(1))


def test_two_serve_processes_retry_a_write_made_stale_by_the_other_once_and_check_fresh_copies(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    """Two `avm serve` on one database (as replicas, or the workers of one) with
    AVM_CACHE_REFRESH_ON_FAILURE=1: every write goes through the process whose cached copy the other made
    stale and is run again once, at once; a job claimed through one is completed through the other (its
    check failed on the stale copy, then passed on the fresh one: 409 before)."""
    database = support.fresh_database("avm_ffpair")
    try:
        with ExitStack() as stack:
            a, b = (stack.enter_context(live_server(tmp_path_factory.mktemp(f"ff-{n}"), database=database,
                                                    AVM_CACHE_REFRESH_ON_FAILURE="1")) for n in "ab")
            admin = a.new_token("admin", f"ff-admin-{uuid.uuid4().hex[:8]}@example.com")
            worker = a.new_token("worker", f"ff-worker-{uuid.uuid4().hex[:8]}@example.com")
            urls = (a.url, b.url)
            before = [conflict_retries(u) for u in urls]
            with httpx.Client(headers=auth(admin), timeout=30) as http:
                r = http.post(f"{a.url}/api/v1/projects", json={"title": "t0"})
                assert r.status_code == 201, r.text
                project = r.json()["id"]
                assert http.get(f"{b.url}/api/v1/projects/{project}").status_code == 200
                for i in range(1, 9):
                    r = http.patch(f"{urls[i % 2]}/api/v1/projects/{project}", json={"title": f"t{i}"})
                    assert (r.status_code, r.headers.get("ETag")) == (200, f'"{1 + i}"'), r.text
                r = http.put(f"{a.url}/api/v1/projects/{project}/story", json={"text": STORY})
                assert r.status_code == 200, r.text
                job = http.post(f"{a.url}/api/v1/projects/{project}/jobs")
                assert job.status_code == 201, job.text
            with httpx.Client(headers=auth(worker), timeout=30) as http:
                claimed = http.post(f"{b.url}/api/v1/jobs/claim")
                assert claimed.status_code == 200 and claimed.json()["id"] == job.json()["id"], claimed.text
                lease = claimed.json()["lease"]["id"]
                done = http.post(f"{a.url}/api/v1/jobs/{job.json()['id']}/complete",
                                 json={"cost_actual": 0.5, "lease_id": lease})
                assert done.status_code == 200, done.text  # a's copy said queued: 409 without the fast-forward
            # the first PATCH (through b) loaded the project afresh; each later one met the other's version
            # once, ran again at once on the project brought up to date, and saved: one retry each
            assert sum(conflict_retries(u) - n for u, n in zip(urls, before)) == 7
    finally:
        support.drop_database(database[0])


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_what_a_command_only_reads_is_refreshed_when_its_check_fails(two: tuple[Process, Process]) -> None:
    """The day's usage of a quota'd tenant, read through the repository (not fast-forwarded on
    AVM_CACHE_REFRESH_ON_FAILURE): b's copy is stale after a consumed; its save meets a's version and the
    command runs again with it fresh, and then the quota holds exactly."""
    a, b = two
    user, _ = a.app.register_user(CommandContext.system("tests"), email=f"fq-{uuid.uuid4().hex[:8]}@example.com",
                                  name="Q", role="user")
    ctx = CommandContext(tenant_id=str(user.id), actor_id=str(user.id), role="user")
    a.app.create_project(ctx, title="1")
    b.app.create_project(ctx, title="2")  # b caches the usage at 2 projects
    a.app.create_project(ctx, title="3")  # 3: the daily quota of a `user`; b's copy still says 2
    with pytest.raises(QuotaExceeded):
        b.app.create_project(ctx, title="4")
    assert b.retries == (0 if b.mode == "always" else 1)  # b's stale usage passed, its save did not
