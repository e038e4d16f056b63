"""The reference worker's parts on their own (issue 14 item 5): sizes, timings, line breaking, the WAV,
the title card, the probe, how answers are sorted, and the reports (forward only, overall percentage)."""
from __future__ import annotations

import threading
import wave
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.worker import render
from api.worker.client import ContractError, JobStopped, ServiceClient, WorkerRejected
from api.worker.runner import Abandon, JobRun


def test_the_resolution_follows_the_aspect_ratio_of_the_domain_reference() -> None:
    assert render.resolution({}) == (1080, 1920)
    assert render.resolution({"aspect_ratio": "16:9"}) == (1920, 1080)
    assert render.resolution({"aspect_ratio": "1:1"}) == (1080, 1080)
    with pytest.raises(ValueError, match="aspect_ratio"):
        render.resolution({"aspect_ratio": "4:3"})


def test_a_scene_lasts_as_long_as_its_text_is_read_within_bounds() -> None:
    assert render.scene_seconds("x" * 150) == 10.0
    assert render.scene_seconds("x" * 150, speed=2.0) == 5.0
    assert render.scene_seconds("short") == render.MIN_SCENE_SECONDS
    assert render.scene_seconds("x" * 5000) == render.MAX_SCENE_SECONDS
    assert render.scene_seconds("狐" * 20) > render.scene_seconds("x" * 20)  # CJK is read slower per character


def test_wrapping_fits_every_line_and_keeps_every_character() -> None:
    fits = lambda s: len(s) <= 12  # noqa: E731
    lines = render.wrap("the fox counted the ships, an extraordinarily long word", fits)
    assert all(fits(line) for line in lines)
    assert "".join(lines).replace(" ", "") == "thefoxcountedtheships,anextraordinarilylongword"
    cjk = render.wrap("狐狸住在燈塔旁邊每天晚上數船", lambda s: len(s) <= 5)
    assert cjk == ["狐狸住在燈", "塔旁邊每天", "晚上數船"]


def test_the_narration_is_a_wav_as_long_as_the_scenes(tmp_path: Path) -> None:
    seconds = render.narration(tmp_path / "n.wav", [2.0, 3.5])
    with wave.open(str(tmp_path / "n.wav")) as w:
        assert (w.getnchannels(), w.getsampwidth()) == (1, 2)
        assert w.getnframes() / w.getframerate() == pytest.approx(5.5) == seconds


def test_a_title_card_is_a_png_at_the_projects_resolution(tmp_path: Path) -> None:
    from PIL import Image

    render.title_card(tmp_path / "c.png", "A fox " * 200, "Title", "1 / 1", (1080, 1080), "vivid")
    with Image.open(tmp_path / "c.png") as image:
        assert (image.format, image.size) == ("PNG", (1080, 1080))


def test_the_probe_reads_what_ffmpeg_made(tmp_path: Path) -> None:
    render.title_card(tmp_path / "a.png", "one", "t", "1 / 1", (320, 240))
    render.narration(tmp_path / "n.wav", [2.0])
    out = tmp_path / "v.mp4"
    fractions: list[float] = []
    render.encode(render.encode_command([(tmp_path / "a.png", 2.0)], tmp_path / "n.wav", out, (320, 240)), 2.0,
                  fractions.append)
    facts = render.probe(out)
    assert (facts.width, facts.height, facts.streams, facts.video_codec, facts.audio_codec, facts.pixel_format) == (
        320, 240, 2, "h264", "aac", "yuv420p")
    assert facts.duration_seconds == pytest.approx(2.0, abs=0.1)
    assert fractions and fractions == sorted(fractions)
    with pytest.raises(render.RenderError):
        render.probe(tmp_path / "n.missing")


def _answer(status: int, detail: str) -> httpx.Response:
    return httpx.Response(status, json={"status": status, "detail": detail},
                          request=httpx.Request("POST", "http://x/api/v1/jobs/1/progress"))


def test_answers_are_sorted_into_what_the_worker_does_next() -> None:
    with pytest.raises(JobStopped) as stopped:
        ServiceClient._judge(_answer(409, "job is cancelled, not running"))
    assert stopped.value.reason == "cancelled"
    with pytest.raises(JobStopped) as lost:
        ServiceClient._judge(_answer(409, "the lease expired at 2026-01-01T00:00:00+00:00"))
    assert lost.value.reason == "lease lost"
    with pytest.raises(WorkerRejected):
        ServiceClient._judge(_answer(403, "workers only"))
    with pytest.raises(ContractError, match="422"):
        ServiceClient._judge(_answer(422, "width: is required"))
    assert ServiceClient._judge(_answer(200, "")).status_code == 200


class Reports:
    def __init__(self, cancel_after: int | None = None) -> None:
        self.sent: list[tuple[str, float]] = []
        self.cancel_after = cancel_after

    def progress(self, job_id: str, lease_id: str, step: str, percentage: float) -> dict[str, Any]:
        if self.cancel_after is not None and len(self.sent) >= self.cancel_after:
            raise JobStopped("cancelled", "job is cancelled, not running")
        self.sent.append((step, percentage))
        return {}


def _run(client: Reports, start: str = "ingest") -> JobRun:
    manifest = {"id": "j", "lease": {"id": "l", "seconds": 8}, "start_step": start}
    return JobRun(manifest, client, threading.Event(), step=start)  # type: ignore[arg-type]


def test_reports_move_forward_with_an_overall_percentage_and_a_heartbeat_repeats_the_last() -> None:
    client = Reports()
    job = _run(client, start="prompt")
    assert job.heartbeat_period() == 2.0  # a quarter of the lease
    job.report()  # a heartbeat before any step: the start step, not ingest (which would go back)
    job.report("image_generation", 0.5)
    job.report()
    job.report("video_render", 1.0)
    assert client.sent == [("prompt", 0.0), ("image_generation", 50.0), ("image_generation", 50.0),
                           ("video_render", 85.71)]


def test_a_report_answered_cancelled_stops_the_job() -> None:
    job = _run(Reports(cancel_after=1))
    job.report("ingest")
    with pytest.raises(Abandon):
        job.report("segment")
    assert job.stopped is not None and job.stopped.reason == "cancelled"
    with pytest.raises(Abandon):
        job.check()


class Contract(Reports):
    """The service's side of one claimed job, as the runner sees it (no service here: the routes are
    exercised for real by tests/integration/test_reference_worker.py)."""

    def __init__(self) -> None:
        super().__init__()
        self.uploads: list[tuple[str, dict[str, Any]]] = []
        self.failed: list[tuple[str, bool]] = []
        self.completed: list[str] = []

    def upload(self, job_id: str, lease_id: str, path: Path, kind: str, content_type: str, **params: Any) -> dict[str, Any]:
        self.uploads.append((kind, params))
        return {"id": f"{kind}-{len(self.uploads)}"}

    def complete(self, job_id: str, lease_id: str, video_asset_id: str, cost_actual: float | None = None) -> None:
        self.completed.append(video_asset_id)

    def fail(self, job_id: str, lease_id: str, code: str, message: str, retryable: bool, details: Any = None) -> None:
        self.failed.append((code, retryable))


def _manifest(**config: Any) -> dict[str, Any]:
    return {"id": "j", "attempt": 1, "start_step": "ingest", "lease": {"id": "l", "seconds": 60},
            "config": {"aspect_ratio": "1:1", **config}, "voice": {"speed": 2.0}, "project": {"title": "t"},
            "scenes": [{"index": 0, "text": "A fox.", "prompt": None, "image_asset": None}]}


def _render(tmp_path: Path, manifest: dict[str, Any]) -> Contract:
    from api.worker.runner import WorkerOptions, render_job

    client = Contract()
    render_job(manifest, client, tmp_path, WorkerOptions(url="http://x", token="t"), threading.Event())  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []  # the job's directory is removed however it ends
    return client


def test_a_job_is_rendered_uploaded_and_completed(tmp_path: Path) -> None:
    client = _render(tmp_path, _manifest())
    assert [k for k, _ in client.uploads] == ["image", "audio", "video"]
    assert client.uploads[0][1] == {"scene_index": 0, "width": 1080, "height": 1080}
    assert client.uploads[2][1]["width"] == 1080 and client.completed == ["video-3"] and client.failed == []
    assert [s for s, _ in client.sent][0] == "ingest" and client.sent[-1] == ("publish", 100.0)


def test_a_failure_is_reported_retryable_or_not_by_its_kind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _render(tmp_path, _manifest(aspect_ratio="4:3")).failed == [("VALIDATION", False)]
    assert _render(tmp_path, {**_manifest(), "scenes": []}).failed == [("VALIDATION", False)]

    def broken(*args: Any, **kwargs: Any) -> None:
        raise render.RenderError("ffmpeg exited with 1")

    monkeypatch.setattr(render, "encode", broken)
    client = _render(tmp_path, _manifest())
    assert client.failed == [("SERVICE_ERROR", True)] and client.completed == []


def test_a_claim_whose_answer_was_lost_is_sent_again_with_the_same_idempotency_key(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from api.worker import client as client_module

    monkeypatch.setattr(client_module, "BACKOFF_SECONDS", 0.0)
    keys: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        keys.append(request.headers["Idempotency-Key"])
        if len(keys) == 1:
            raise httpx.ReadError("connection reset", request=request)
        return httpx.Response(204)

    service = ServiceClient("http://service", "t", transport=httpx.MockTransport(answer))
    assert service.claim() is None
    assert service.claim() is None
    assert len(keys) == 3 and keys[0] == keys[1] != keys[2]  # one key per claim, kept by its retries
