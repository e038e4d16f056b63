"""The reference render worker's loop: claim a job, walk the seven steps, upload, complete.

Each job runs in its own directory under the work dir, removed when the job ends however it ends.
A heartbeat thread repeats the current report every quarter of the lease (so two missed beats
still leave the lease alive); a report answered `409` (the owner cancelled, or the lease is lost)
stops the job at once: ffmpeg is killed, nothing more is uploaded, nothing is reported. A failure
of our own is reported with `fail` (retryable or not, by its kind). SIGTERM/SIGINT stop the loop:
the job in hand is abandoned with a retryable failure, so it goes back to the queue at once.
"""
from __future__ import annotations

import logging
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from api.worker import render
from api.worker.client import ContractError, JobStopped, ServiceClient, ServiceUnavailable, WorkerRejected

log = logging.getLogger("avm.worker")
# The pipeline (domain-reference.md, Jobs); the worker reports them in this order and never goes back.
STEPS = ("ingest", "segment", "prompt", "image_generation", "text_to_speech", "video_render", "publish")


class Abandon(Exception):
    """Stop the job without another report (cancelled, lease lost, or the worker is stopping)."""


class InvalidJob(Exception):
    """The manifest cannot be rendered (no scenes, an unknown aspect ratio): not worth a retry."""


@dataclass
class WorkerOptions:
    url: str
    token: str
    work_dir: Path | None = None
    poll_seconds: float = 2.0
    once: bool = False
    step_pause: float = 0.0      # a pause after each step: to watch a demo, or to test faults mid-render
    tone: bool = True


@dataclass
class JobRun:
    """One attempt at one job: its lease, where it is in the steps, how to stop it."""

    manifest: dict[str, Any]
    client: ServiceClient
    stopping: threading.Event
    step: str = "ingest"
    percentage: float = 0.0
    stopped: JobStopped | None = None
    process: subprocess.Popen[str] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    done: threading.Event = field(default_factory=threading.Event)

    @property
    def job_id(self) -> str:
        return str(self.manifest["id"])

    @property
    def lease_id(self) -> str:
        return str(self.manifest["lease"]["id"])

    def heartbeat_period(self) -> float:
        return max(0.5, min(30.0, float(self.manifest["lease"]["seconds"]) / 4))

    def report(self, step: str | None = None, fraction: float = 0.0) -> None:
        """Move to `step` (or stay) at `fraction` of it and tell the service; overall percentage."""
        with self.lock:
            self.check()
            if step is not None:
                index = STEPS.index(step)
                percentage = round(100 * (index + min(1.0, max(0.0, fraction))) / len(STEPS), 2)
                self.step, self.percentage = step, max(self.percentage, percentage)
            try:
                self.client.progress(self.job_id, self.lease_id, self.step, self.percentage)
            except JobStopped as exc:
                self.stop(exc)
                raise Abandon(str(exc)) from None

    def stop(self, reason: JobStopped) -> None:
        if self.stopped is None:
            self.stopped = reason
        if self.process is not None and self.process.poll() is None:
            self.process.kill()

    def check(self) -> None:
        if self.stopped is not None:
            raise Abandon(str(self.stopped))
        if self.stopping.is_set():
            raise Abandon("the worker is stopping")

    def beat(self) -> None:
        """The heartbeat thread: the current report again, every period, until the job ends; it
        also kills ffmpeg as soon as the worker is told to stop."""
        next_beat = time.monotonic() + self.heartbeat_period()
        while not self.done.wait(0.2):
            if self.stopping.is_set() and self.process is not None and self.process.poll() is None:
                self.process.kill()
            if time.monotonic() < next_beat:
                continue
            next_beat = time.monotonic() + self.heartbeat_period()
            try:
                self.report()
            except Abandon:
                log.warning("job %s: %s", self.job_id, self.stopped or "stopping")
                return
            except (ServiceUnavailable, ContractError) as exc:  # the next beat may get through
                log.warning("job %s: heartbeat not delivered: %s", self.job_id, exc)


def run_worker(options: WorkerOptions, stopping: threading.Event | None = None) -> int:
    """Claim and render jobs until stopped (or one job, with `once`); the number of jobs completed."""
    stopping = stopping or threading.Event()
    client = ServiceClient(options.url, options.token)
    root = options.work_dir or Path(tempfile.mkdtemp(prefix="avm-worker-"))
    root.mkdir(parents=True, exist_ok=True)
    completed = 0
    try:
        while not stopping.is_set():
            try:
                manifest = client.claim()
            except ServiceUnavailable as exc:  # a restart of the service: keep knocking (not with --once)
                if options.once:
                    raise
                log.warning("claim: %s", exc)
                stopping.wait(max(options.poll_seconds, 5.0))
                continue
            if manifest is None:
                if options.once:
                    log.info("no job is waiting")
                    break
                stopping.wait(options.poll_seconds)
                continue
            completed += render_job(manifest, client, root, options, stopping)
            if options.once:
                break
    finally:
        client.close()
        if options.work_dir is None:
            shutil.rmtree(root, ignore_errors=True)
    return completed


def render_job(manifest: dict[str, Any], client: ServiceClient, root: Path, options: WorkerOptions,
               stopping: threading.Event) -> int:
    """One claimed job, start to end; 1 when it completed."""
    job = JobRun(manifest, client, stopping, step=str(manifest.get("start_step") or "ingest"))
    work = root / f"job-{job.job_id}-{manifest.get('attempt', 0)}"
    work.mkdir(parents=True, exist_ok=True)
    log.info("claimed job %s (attempt %s, from %s, lease %s s)", job.job_id, manifest.get("attempt"),
             manifest.get("start_step"), manifest["lease"]["seconds"])
    beat = threading.Thread(target=job.beat, name=f"heartbeat-{job.job_id}", daemon=True)
    beat.start()
    try:
        video_id = walk(job, work, options)
        job.check()
        client.complete(job.job_id, job.lease_id, video_id)
        log.info("completed job %s: video asset %s", job.job_id, video_id)
        return 1
    except WorkerRejected:
        raise  # the service refuses this worker: nothing to report with, the worker stops
    except Exception as exc:  # noqa: BLE001 - every way a job ends is sorted below
        if isinstance(exc, JobStopped):
            job.stop(exc)
        if isinstance(exc, (Abandon, JobStopped)) or job.stopped is not None or stopping.is_set():
            # cancelled or lease lost (nothing more to report), or stopping: give the job back now
            # rather than at the lease's expiry (an ffmpeg killed for it ends here too)
            if job.stopped is None:
                _fail(job, "SERVICE_ERROR", "the worker was stopped during the render", True)
            log.warning("abandoned job %s: %s", job.job_id, job.stopped or "the worker is stopping")
        elif isinstance(exc, InvalidJob):
            _fail(job, "VALIDATION", str(exc), False)
        elif isinstance(exc, (render.RenderError, OSError, ServiceUnavailable)):
            _fail(job, "SERVICE_ERROR", f"{type(exc).__name__}: {exc}", True)
        else:  # a bug of ours: said once, not retried
            log.exception("job %s", job.job_id)
            _fail(job, "INTERNAL", f"{type(exc).__name__}: {exc}", False)
    finally:
        job.done.set()
        if job.process is not None and job.process.poll() is None:
            job.process.kill()
            job.process.wait()
        beat.join(timeout=35)
        shutil.rmtree(work, ignore_errors=True)
    return 0


def _fail(job: JobRun, code: str, message: str, retryable: bool) -> None:
    log.warning("job %s failed (%s, %s): %s", job.job_id, code, "retryable" if retryable else "final", message)
    if job.stopped is not None:
        return
    try:
        job.client.fail(job.job_id, job.lease_id, code, message, retryable)
    except (JobStopped, ServiceUnavailable, ContractError) as exc:  # the lease expiry will tell the service
        log.warning("job %s: the failure was not recorded: %s", job.job_id, exc)


def walk(job: JobRun, work: Path, options: WorkerOptions) -> str:
    """The seven steps, from the manifest's start step; the id of the uploaded video."""
    manifest = job.manifest
    start = STEPS.index(manifest.get("start_step") or "ingest")

    def step(name: str, fraction: float = 0.0) -> None:
        if STEPS.index(name) >= start:
            job.report(name, fraction)

    def pause() -> None:
        if options.step_pause:
            job.stopping.wait(options.step_pause)
        job.check()

    # ingest: what to render, at which size
    step("ingest")
    config = manifest.get("config") or {}
    scenes = sorted(manifest.get("scenes") or [], key=lambda s: s["index"])
    if not scenes or not any(str(s.get("text") or "").strip() for s in scenes):
        raise InvalidJob("the project has no scenes to render")
    try:
        size = render.resolution(config)
    except ValueError as exc:
        raise InvalidJob(str(exc)) from None
    pause()
    # segment: the service segmented the story; each scene's narration time from its text and the voice speed
    step("segment")
    speed = float((manifest.get("voice") or {}).get("speed") or 1.0)
    durations = [render.scene_seconds(s["text"], speed) for s in scenes]
    pause()
    # prompt: a title card's caption is the scene's text (its visual prompt when it has no text)
    step("prompt")
    captions = [str(s.get("text") or s.get("prompt") or "").strip() for s in scenes]
    pause()
    # image_generation: one title card per scene, registered as the scene's image
    step("image_generation")
    template = str((config.get("template") or {}).get("name") or "classic")
    title = str((manifest.get("project") or {}).get("title") or "")
    cards: list[tuple[Path, float]] = []
    for n, (scene, caption) in enumerate(zip(scenes, captions)):
        job.check()
        path = work / f"scene-{scene['index']:03d}.png"
        render.title_card(path, caption, title, f"{n + 1} / {len(scenes)}", size, template)
        cards.append((path, durations[n]))
        if STEPS.index("image_generation") >= start:
            job.check()
            job.client.upload(job.job_id, job.lease_id, path, "image", "image/png", scene_index=scene["index"],
                              width=size[0], height=size[1])
            step("image_generation", (n + 1) / len(scenes))
    pause()
    # text_to_speech: a synthetic narration (a tone per scene, then silence), registered as audio
    step("text_to_speech")
    audio = work / "narration.wav"
    seconds = render.narration(audio, durations, tone=options.tone)
    if STEPS.index("text_to_speech") >= start:
        job.check()
        job.client.upload(job.job_id, job.lease_id, audio, "audio", "audio/wav", duration_seconds=round(seconds, 3))
    pause()
    # video_render: ffmpeg, reporting its position (the heartbeat keeps the lease meanwhile)
    step("video_render")
    video = work / "video.mp4"
    last = [0.0]

    def progressed(fraction: float) -> None:
        if fraction - last[0] >= 0.1:
            last[0] = fraction
            step("video_render", fraction)

    def started(process: subprocess.Popen[str]) -> None:
        job.process = process
        if job.stopped is not None or job.stopping.is_set():
            process.kill()

    job.check()
    render.encode(render.encode_command(cards, audio, video, size), sum(durations), progressed, started)
    job.check()
    facts = render.probe(video)
    if (facts.width, facts.height, facts.video_codec) != (size[0], size[1], "h264"):
        raise render.RenderError(f"ffmpeg made {facts}, not H.264 at {size[0]}x{size[1]}")
    pause()
    # publish: the video, registered as the job's output
    step("publish")
    job.check()
    asset = job.client.upload(job.job_id, job.lease_id, video, "video", "video/mp4", width=facts.width,
                              height=facts.height, duration_seconds=round(facts.duration_seconds, 3))
    step("publish", 1.0)
    return str(asset["id"])


def install_signal_handlers(stopping: threading.Event) -> None:
    """SIGTERM/SIGINT set `stopping` (the job in hand is given back); a second one exits at once."""
    def handler(signum: int, _frame: Any) -> None:
        if stopping.is_set():
            raise SystemExit(128 + signum)
        log.warning("signal %s: stopping", signal.Signals(signum).name)
        stopping.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, handler)
