"""A fresh `avm serve` in a subprocess (its own database and data dir), for tests that drive the API over HTTP."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests import support

AVM = str(Path(sys.executable).with_name("avm"))


@dataclass
class LiveServer:
    url: str
    database_url: str
    env: dict[str, str]

    def cli(self, *args: str) -> str:
        """Run an `avm` command against the same database; its output."""
        done = subprocess.run([AVM, *args], env=self.env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def new_token(self, role: str, email: str) -> str:
        """`avm users create`: a new user's token (alone on the last line)."""
        return self.cli("users", "create", "--email", email, "--role", role).strip().splitlines()[-1]


def stop_group(proc: subprocess.Popen[Any]) -> None:
    """Stop a server started in its own process group: SIGTERM, then SIGKILL after 20 s."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def live_server(data_dir: Path, database: tuple[str, str] | None = None, **extra_env: str) -> Iterator[LiveServer]:
    """`database`: (name, url) of a database another server shares (then neither created nor dropped here)."""
    name, database_url = database or support.fresh_database("avm_live")
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "AVM_DATA_DIR": str(data_dir), "AVM_HOST": "127.0.0.1",
           "AVM_PORT": str(port), "AVM_RATE_LIMIT": "0", **extra_env}
    env.pop("TEST_DATABASE_URL", None)
    log = (data_dir / "serve.log").open("w")
    proc = subprocess.Popen([AVM, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:  # up once /api/health answers (the banner's wording is not part of this contract)
            if proc.poll() is not None:
                raise AssertionError(f"avm serve exited: {(data_dir / 'serve.log').read_text()[-2000:]}")
            try:
                if httpx.get(f"{url}/api/health", timeout=2).status_code in (200, 503):
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("avm serve did not answer in time")
            time.sleep(0.2)
        yield LiveServer(url=url, database_url=database_url, env=env)
    finally:
        stop_group(proc)
        log.close()
        if database is None:
            support.drop_database(name)
