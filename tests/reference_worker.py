"""Driving the reference worker (`avm worker run`) against a real `avm serve` (tests/live.py): the
owner's side over HTTP, worker processes, and waiting on what they do."""
from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx

from tests.live import AVM, LiveServer

T = TypeVar("T")
# One scene of 100–280 characters (segmentation keeps a paragraph that fits whole): a short render.
SHORT_STORY = ("A small fox lived beside a lighthouse. Every night the beam swept the sea, "
               "and the fox counted the ships that came safely home.")
TWO_SCENES = (SHORT_STORY + "\n\n" + "When a storm put the light out, the fox ran up the stairs with a lantern "
              "in its teeth, and every ship came home that night as well.")


def wait_for(check: Callable[[], T | None], seconds: float, what: str, *logs: Path) -> T:
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            tails = "\n".join(f"--- {p.name}:\n{p.read_text()[-3000:]}" for p in logs if p.exists())
            raise AssertionError(f"timed out waiting for {what}\n{tails}")
        time.sleep(0.2)


@dataclass
class Owner:
    """A tenant, over HTTP."""

    url: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def call(self, method: str, path: str, expect: int = 200, **kwargs: Any) -> Any:
        r = httpx.request(method, f"{self.url}/api/v1{path}", headers=self.headers, timeout=30, **kwargs)
        assert r.status_code == expect, (method, path, r.status_code, r.text)
        return r.json() if r.content and r.headers.get("content-type", "").endswith("json") else r

    def project_with_story(self, story: str = SHORT_STORY, title: str = "The fox and the lighthouse",
                           config: dict[str, Any] | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"title": title, **({"config": config} if config else {})}
        project = self.call("POST", "/projects", 201, json=body)
        self.call("PUT", f"/projects/{project['id']}/story", json={"text": story})
        return dict(project)

    def queue(self, project_id: str) -> str:
        return str(self.call("POST", f"/projects/{project_id}/jobs", 201, json={})["id"])

    def job(self, job_id: str) -> dict[str, Any]:
        return dict(self.call("GET", f"/jobs/{job_id}"))

    def events(self, aggregate: str, id_: str) -> list[str]:
        return [e["type"] for e in self.call("GET", f"/{aggregate}/{id_}/history")["items"]]

    def assets(self, project_id: str, kind: str) -> list[dict[str, Any]]:
        return list(self.call("GET", "/assets", params={"project_id": project_id, "type": kind,
                                                        "limit": 100})["items"])


def new_owner(server: LiveServer, email: str, role: str = "premium") -> Owner:
    return Owner(server.url, server.new_token(role, email))


class WorkerProcess:
    """`avm worker run` in its own process group, its output in a log file."""

    def __init__(self, server: LiveServer, token: str, log: Path, *args: str) -> None:
        self.log = log
        self.work_dir = log.with_suffix(".work")
        self._out = log.open("w")
        env = {**server.env, "AVM_WORKER_TOKEN": token}
        self.proc = subprocess.Popen([AVM, "worker", "run", "--url", server.url, "--poll", "0.2",
                                      "--work-dir", str(self.work_dir), *args], env=env, stdout=self._out,
                                     stderr=subprocess.STDOUT, start_new_session=True)

    def text(self) -> str:
        return self.log.read_text()

    def kill9(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)  # the worker and its ffmpeg, as a crashed host would
        self.proc.wait(timeout=20)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._out.close()
        return int(self.proc.returncode)

    def __enter__(self) -> WorkerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def job_in(owner: Owner, job_id: str, statuses: tuple[str, ...], step: str | None = None) -> dict[str, Any] | None:
    """The job when its status is one of `statuses` (and, when given, its progress at `step` or later)."""
    from api.worker.runner import STEPS

    job = owner.job(job_id)
    if job["status"] not in statuses:
        return None
    current = job["progress"]["step"]
    if step is not None and (current is None or STEPS.index(current) < STEPS.index(step)):
        return None
    return job
