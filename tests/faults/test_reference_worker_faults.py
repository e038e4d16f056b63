"""Issue 14 item 5, faults: the reference worker (`avm worker run` processes) against a real `avm serve`
with short leases — a worker killed mid-render, two workers sharing one queue, a cancel during the render."""
from __future__ import annotations

import os
import re
from collections import Counter
from pathlib import Path

import pytest

from tests.live import live_server
from tests.reference_worker import SHORT_STORY, WorkerProcess, job_in, new_owner, wait_for

pytestmark = pytest.mark.faults
LEASE_SECONDS = 6
SWEEP = {"AVM_JOB_LEASE_SECONDS": str(LEASE_SECONDS), "AVM_SWEEP_JOB_LEASES_SECONDS": "1"}


def ids(pattern: str, *logs: str) -> list[str]:
    return [m for text in logs for m in re.findall(pattern + r" ([0-9a-f-]{36})", text)]


def group_members(pgid: int) -> list[int]:
    """Live processes of a process group (the worker's ffmpeg runs in the worker's)."""
    members = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                members.append(int(entry))
    return members


def test_a_worker_killed_mid_render_loses_its_lease_and_another_finishes_the_job(tmp_path: Path) -> None:
    with live_server(tmp_path, **SWEEP) as server:
        owner = new_owner(server, "owner@example.com")
        project = owner.project_with_story(SHORT_STORY)
        job_id = owner.queue(project["id"])
        token = server.new_token("worker", "worker@example.com")
        first = WorkerProcess(server, token, tmp_path / "first.log", "--step-pause", "1")
        wait_for(lambda: job_in(owner, job_id, ("running",), step="text_to_speech"), 120, "the render to start",
                 first.log)
        first.kill9()
        assert owner.assets(project["id"], "image"), "the first attempt had uploaded its title card"
        with WorkerProcess(server, token, tmp_path / "second.log") as second:
            job = wait_for(lambda: job_in(owner, job_id, ("succeeded",)), 180, "another worker to finish",
                           first.log, second.log, tmp_path / "serve.log")
        assert ids("completed job", first.text()) == [] and ids("completed job", second.text()) == [job_id]
        # one attempt per claim: the expiry failed attempt 1 (TIMEOUT), it was not counted again
        assert job["attempts"] == 2, job
        events = owner.events("jobs", job_id)
        assert Counter(events)["Job.Claimed"] == 2 and Counter(events)["Job.Failed"] == 1, events
        assert events[-1] == "Job.Succeeded", events
        videos = owner.assets(project["id"], "video")
        assert [v["id"] for v in videos] == [job["video_asset_id"]]
        assert owner.call("GET", f"/projects/{project['id']}")["status"] == "completed"


def test_two_workers_render_twelve_jobs_each_exactly_once(tmp_path: Path) -> None:
    # leases long enough that a busy machine never loses one: "once" is about the claims, not expiry
    with live_server(tmp_path, **{**SWEEP, "AVM_JOB_LEASE_SECONDS": "30"}) as server:
        owners = [new_owner(server, f"owner{i}@example.com") for i in range(2)]
        queued: dict[str, tuple[object, str]] = {}
        for n in range(12):
            owner = owners[n % 2]
            project = owner.project_with_story(SHORT_STORY, title=f"fox {n}")
            queued[owner.queue(project["id"])] = (owner, project["id"])
        token = server.new_token("worker", "worker@example.com")  # one account, two processes: told apart by lease
        with WorkerProcess(server, token, tmp_path / "a.log") as a, WorkerProcess(server, token, tmp_path / "b.log") as b:
            wait_for(lambda: all(job_in(o, j, ("succeeded", "failed", "cancelled")) for j, (o, _) in queued.items()),
                     400, "twelve jobs to end", a.log, b.log)
        logs = (a.text(), b.text())
        claimed, completed = ids("claimed job", *logs), ids("completed job", *logs)
        assert sorted(claimed) == sorted(completed) == sorted(queued), logs
        for job_id, (owner, project_id) in queued.items():
            job = owner.job(job_id)  # type: ignore[attr-defined]
            assert (job["status"], job["attempts"]) == ("succeeded", 1), job
            for kind in ("image", "audio", "video"):
                assert len(owner.assets(project_id, kind)) == 1, (job_id, kind)  # type: ignore[attr-defined]
            assert owner.assets(project_id, "video")[0]["id"] == job["video_asset_id"]  # type: ignore[attr-defined]


def test_a_cancel_during_the_render_stops_the_worker_s_job_and_the_worker_goes_on(tmp_path: Path) -> None:
    with live_server(tmp_path, **SWEEP) as server:
        owner = new_owner(server, "owner@example.com")
        project = owner.project_with_story(SHORT_STORY)
        job_id = owner.queue(project["id"])
        with WorkerProcess(server, server.new_token("worker", "worker@example.com"), tmp_path / "worker.log",
                           "--step-pause", "1.5") as worker:
            wait_for(lambda: job_in(owner, job_id, ("running",), step="video_render"), 120, "the encoding",
                     worker.log)
            assert owner.call("POST", f"/jobs/{job_id}/cancel")["status"] == "cancelled"
            wait_for(lambda: f"abandoned job {job_id}" in worker.text(), 60, "the worker to stop", worker.log)
            assert "cancelled" in worker.text()
            assert worker.proc.poll() is None, worker.text()  # it goes on claiming
            assert group_members(worker.proc.pid) == [worker.proc.pid]  # its ffmpeg is gone
            assert not list(worker.work_dir.iterdir())
            events = owner.events("jobs", job_id)
            assert events[-1] == "Job.Cancelled", events  # nothing reported after the cancel
            assert owner.job(job_id)["status"] == "cancelled"
            assert owner.assets(project["id"], "video") == []

            later = owner.project_with_story(SHORT_STORY, title="the next one")
            next_job = owner.queue(later["id"])
            wait_for(lambda: job_in(owner, next_job, ("succeeded",)), 180, "the next job", worker.log)
        assert ids("completed job", worker.text()) == [next_job]
