"""`avm serve` with no configuration: embedded PostgreSQL under ./.data, demo data, clean stop."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

from tests import support


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str, token: str | None = None) -> tuple[int, dict]:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return resp.status, json.loads(resp.read())


@pytest.mark.parametrize("workers", [1, 2])
def test_serve_starts_embedded_postgres_seeds_prints_token_and_stops_cleanly(tmp_path: Path, workers: int) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "TEST_DATABASE_URL", "AVM_DATA_DIR")}
    proc = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--port", str(port), "--workers", str(workers)],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    try:
        token = None
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and token is None:
            line = proc.stdout.readline()  # type: ignore[union-attr]
            if not line:
                break
            lines.append(line)
            if line.startswith("demo token: "):
                token = line.split(": ", 1)[1].strip()
        assert token, "".join(lines)
        assert any(f"http://127.0.0.1:{port}" in line for line in lines)
        for _ in range(100):
            try:
                status, health = get(f"http://127.0.0.1:{port}/api/health")
                break
            except OSError:
                time.sleep(0.1)
        assert status == 200 and health["status"] == "healthy"
        status, projects = get(f"http://127.0.0.1:{port}/api/v1/projects", token)
        assert status == 200
        assert [p["title"] for p in projects["items"]] == ["The Lighthouse Keeper"]
        assert projects["items"][0]["scene_count"] == 3
        if workers > 1:
            # N worker processes answer; a write through one is read through the others at once.
            servers = [c for c in psutil.Process(proc.pid).children() if "spawn_main" in " ".join(c.cmdline())]
            assert len(servers) == workers, [c.cmdline() for c in psutil.Process(proc.pid).children()]
            created = post(f"http://127.0.0.1:{port}/api/v1/projects", token, {"title": "across workers"})
            for _ in range(20):  # new connections: the kernel spreads them over the workers
                status, project = get(f"http://127.0.0.1:{port}/api/v1/projects/{created['id']}", token)
                assert status == 200 and project["title"] == "across workers"
        assert (tmp_path / ".data" / "pg" / "PG_VERSION").exists()
        pid_file = tmp_path / ".data" / "pg" / "postmaster.pid"
        assert pid_file.exists()
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
        lines.append(out)
    assert proc.returncode == 0, "".join(lines)
    assert "Traceback" not in "".join(lines)
    assert not pid_file.exists(), "the embedded PostgreSQL was left running"


def post(url: str, token: str, body: dict) -> dict:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 201
        return json.loads(resp.read())  # type: ignore[no-any-return]


def test_the_test_suite_uses_a_real_postgresql_server() -> None:
    import psycopg

    with psycopg.connect(support.server_url()) as conn:
        assert conn.execute("SELECT version()").fetchone()[0].startswith("PostgreSQL")
