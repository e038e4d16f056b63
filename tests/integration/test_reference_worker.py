"""Issue 14 item 5: the reference worker end to end — a real `avm serve`, a real `avm worker run`
process, a story rendered into an MP4 that ffmpeg reads back (duration, resolution, streams).

imageio-ffmpeg ships ffmpeg but no ffprobe: the video is probed with `ffmpeg -i` (api.worker.render.probe).
"""
from __future__ import annotations

import hashlib
import signal
from pathlib import Path

import httpx
import pytest

from api.worker import render
from tests.live import live_server
from tests.reference_worker import SHORT_STORY, TWO_SCENES, WorkerProcess, job_in, new_owner, wait_for

LEASE = "20"  # not under test here: long enough that a busy machine never loses one


def test_a_story_becomes_an_mp4_that_only_its_owner_downloads(tmp_path: Path) -> None:
    with live_server(tmp_path, AVM_JOB_LEASE_SECONDS=LEASE) as server:
        owner = new_owner(server, "owner@example.com", role="user")
        stranger = new_owner(server, "stranger@example.com", role="user")
        project = owner.project_with_story(TWO_SCENES, config={"aspect_ratio": "16:9"})
        scenes = owner.call("GET", f"/projects/{project['id']}/scenes")["items"]
        assert len(scenes) == 2
        job_id = owner.queue(project["id"])
        worker = WorkerProcess(server, server.new_token("worker", "worker@example.com"), tmp_path / "worker.log",
                               "--once")
        assert worker.proc.wait(timeout=180) == 0, worker.text()
        assert f"completed job {job_id}" in worker.text()

        job = owner.job(job_id)
        assert (job["status"], job["attempts"], job["progress"]["completed_steps"]) == (
            "succeeded", 1, ["ingest", "segment", "prompt", "image_generation", "text_to_speech", "video_render",
                             "publish"])
        done = owner.call("GET", f"/projects/{project['id']}")
        assert done["status"] == "completed"
        video_id = job["video_asset_id"]
        assert done["output_asset_id"] == video_id

        # every step reported in order, the lease kept by heartbeats
        steps = [e for e in owner.events("jobs", job_id)]
        assert steps[:2] == ["Job.Queued", "Job.Claimed"] and steps[-1] == "Job.Succeeded", steps

        # a title card per scene (the scene's image now), one narration, one video
        images = owner.assets(project["id"], "image")
        assert sorted(a["scene_index"] for a in images) == [0, 1]
        assert all(a["metadata"]["width"] == 1920 and a["metadata"]["height"] == 1080 for a in images), images
        assert len(owner.assets(project["id"], "audio")) == 1
        assert [a["id"] for a in owner.assets(project["id"], "video")] == [video_id]
        linked = owner.call("GET", f"/projects/{project['id']}/scenes")["items"]
        assert {s["image_asset_id"] for s in linked} == {a["id"] for a in images}

        r = httpx.get(f"{server.url}/api/v1/assets/{video_id}/content", headers=owner.headers, timeout=30)
        assert r.status_code == 200 and r.headers["content-type"] == "video/mp4"
        asset = owner.call("GET", f"/assets/{video_id}")
        assert asset["checksum"] == "sha256:" + hashlib.sha256(r.content).hexdigest()
        mp4 = tmp_path / "downloaded.mp4"
        mp4.write_bytes(r.content)
        facts = render.probe(mp4)
        expected = sum(render.scene_seconds(s["text"]) for s in scenes)
        assert (facts.width, facts.height, facts.streams) == (1920, 1080, 2), facts
        assert (facts.video_codec, facts.pixel_format, facts.audio_codec) == ("h264", "yuv420p", "aac"), facts
        assert abs(facts.duration_seconds - expected) < 0.25, (facts, expected)
        assert abs(asset["metadata"]["duration_seconds"] - facts.duration_seconds) < 0.1, asset

        # another tenant: as if it did not exist
        assert httpx.get(f"{server.url}/api/v1/assets/{video_id}/content", headers=stranger.headers,
                         timeout=30).status_code == 404
        assert not list(worker.work_dir.iterdir())  # the job's directory is gone


def test_sigterm_gives_the_job_back_and_another_worker_renders_it(tmp_path: Path) -> None:
    with live_server(tmp_path, AVM_JOB_LEASE_SECONDS="60", AVM_SWEEP_JOB_LEASES_SECONDS="1") as server:
        owner = new_owner(server, "owner@example.com")
        project = owner.project_with_story(SHORT_STORY)
        job_id = owner.queue(project["id"])
        token = server.new_token("worker", "worker@example.com")
        first = WorkerProcess(server, token, tmp_path / "first.log", "--step-pause", "2")
        wait_for(lambda: owner.job(job_id)["status"] == "running", 60, "the claim", first.log)
        assert first.stop(signal.SIGTERM) == 0, first.text()
        job = owner.job(job_id)
        # given back at once (not at the end of its 60 s lease), as a retryable failure of attempt 1
        assert job["status"] == "queued" and job["error"]["code"] == "SERVICE_ERROR", job
        assert "abandoned job" in first.text() and not list(first.work_dir.iterdir())
        with WorkerProcess(server, token, tmp_path / "second.log") as second:  # claims it after the backoff
            job = wait_for(lambda: job_in(owner, job_id, ("succeeded",)), 180, "the second worker", second.log)
        assert job["attempts"] == 2, job
        assert owner.events("jobs", job_id).count("Job.Claimed") == 2


@pytest.mark.parametrize("missing", ["PIL"])
def test_without_the_extra_the_worker_says_what_to_install(tmp_path: Path, missing: str) -> None:
    import subprocess
    import sys

    code = ("import sys, importlib.util as u; real = u.find_spec;"
            f" u.find_spec = lambda n, *a: None if n == {missing!r} else real(n, *a);"
            " from api.cli import main; sys.argv = ['avm', 'worker', 'run', '--token', 't'];"
            " main()")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "pip install 'avm[worker]'" in done.stderr and missing in done.stderr
