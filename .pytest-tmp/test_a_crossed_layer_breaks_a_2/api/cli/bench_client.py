"""A short benchmark of the installed service (`avm bench`): the HTTP app in a server process of its
own against the configured database, driven over keep-alive connections by client threads.

Two scenarios, each for half the time: create projects (POST /api/v1/projects), then read them
(GET /api/v1/projects/{id}). For each: requests, requests per second, p50 and p99 latency, and
the requests that did not succeed. The full suite with its method is bench/ (not installed).
"""
from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

API = "/api/v1"


@dataclass
class Figures:
    """One scenario's outcome."""

    name: str
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)  # of the successful requests, seconds
    failures: Counter[str] = field(default_factory=Counter)  # status or error -> count

    @property
    def ok(self) -> int:
        return len(self.latencies)

    @property
    def per_second(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float | None:
        """The latency (ms) below which p % of the successful requests finished (nearest rank)."""
        if not self.latencies:
            return None
        ordered = sorted(self.latencies)
        rank = max(1, -(-len(ordered) * p // 100))
        return ordered[int(rank) - 1] * 1000


Request = Callable[[int], tuple[str, str, bytes | None]]  # n -> (method, path, body)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """The app under uvicorn in a child process (one worker), on a free local port."""

    def __init__(self, database_url: str) -> None:
        self.port = free_port()
        self.log = tempfile.TemporaryFile(mode="w+")
        env = {**os.environ, "DATABASE_URL": database_url, "AVM_RATE_LIMIT": "0", "AVM_RATE_LIMIT_PREMIUM": "0"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "api.app:create_app", "--host", "127.0.0.1",
             "--port", str(self.port), "--log-level", "warning", "--no-access-log"],
            env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited with status {self.proc.returncode}: {self.last_log_line()}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/api/health", timeout=2) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"the server did not answer /api/health within {timeout:.0f} s")

    def last_log_line(self) -> str:
        self.log.seek(0)
        lines = [line.strip() for line in self.log.read().splitlines() if line.strip()]
        return lines[-1] if lines else "no output"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def run_scenario(name: str, port: int, token: str, request: Request, seconds: float, connections: int,
                 on_success: Callable[[bytes], None] | None = None) -> Figures:
    """`connections` threads, each on its own keep-alive connection, send requests until the time is up."""
    figures = Figures(name)
    lock = threading.Lock()
    counter = iter(range(10**12))
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    started = time.perf_counter()
    deadline = started + seconds

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        latencies: list[float] = []
        failures: Counter[str] = Counter()
        try:
            while time.perf_counter() < deadline:
                with lock:
                    n = next(counter)
                method, path, body = request(n)
                t0 = time.perf_counter()
                try:
                    conn.request(method, path, body=body, headers=headers)
                    resp = conn.getresponse()
                    data = resp.read()
                except (OSError, http.client.HTTPException) as exc:
                    failures[type(exc).__name__] += 1
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                    continue
                elapsed = time.perf_counter() - t0
                if 200 <= resp.status < 300:
                    latencies.append(elapsed)
                    if on_success is not None:
                        on_success(data)
                else:
                    failures[str(resp.status)] += 1
        finally:
            conn.close()
            with lock:
                figures.latencies.extend(latencies)
                figures.failures.update(failures)

    threads = [threading.Thread(target=worker, name=f"avm-bench-{i}", daemon=True) for i in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    figures.seconds = time.perf_counter() - started
    return figures


def run(database_url: str, token: str, *, seconds: float, connections: int) -> list[Figures]:
    """Start the server, run both scenarios (half the time each), stop the server."""
    server = Server(database_url)
    try:
        server.wait_ready()
        created: list[str] = []

        def remember(body: bytes) -> None:
            created.append(json.loads(body)["id"])

        def create(n: int) -> tuple[str, str, bytes | None]:
            return "POST", f"{API}/projects", json.dumps({"title": f"bench {n}"}).encode()

        results = [run_scenario("create project", server.port, token, create, seconds / 2, connections, remember)]
        ids = list(created)
        if not ids:
            return results

        def read(n: int) -> tuple[str, str, bytes | None]:
            return "GET", f"{API}/projects/{ids[n % len(ids)]}", None

        results.append(run_scenario("read project", server.port, token, read, seconds / 2, connections))
        return results
    finally:
        server.stop()


def table(results: list[Figures]) -> list[str]:
    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value:.1f}"

    lines = [f"{'scenario':<16}{'requests':>10}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'failed':>8}"]
    for f in results:
        lines.append(f"{f.name:<16}{f.ok:>10}{f.per_second:>10.1f}{ms(f.percentile(50)):>10}"
                     f"{ms(f.percentile(99)):>10}{sum(f.failures.values()):>8}")
    return lines


def describe_failures(results: list[Figures]) -> Any:
    return {f.name: dict(f.failures) for f in results if f.failures}
