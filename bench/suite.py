"""The avm benchmark suite (issue 7): every scenario, the stock-eventsourcing reference and a
Litestar hello-world, side by side in ONE run against ONE embedded PostgreSQL.

What it does, in order (details in bench/README.md):
  1. makes a temp working directory and starts avm there as a user would: `avm serve --workers N`
     (N uvicorn worker processes; the supervising process runs the async projectors);
     AVM_DATA_DIR=<tmp>/.data gives a fresh embedded PostgreSQL; rate limits are set to 1,000,000;
  2. creates an admin and a worker with `avm users create` (their tokens authenticate the load);
  3. on the same PostgreSQL server (found through <data>/pg/postmaster.pid) creates the database
     `reference`, and serves bench/reference_app.py (stock eventsourcing Application + stock
     PostgreSQL recorder, one event per POST) and bench/hello_app.py with uvicorn, same worker count;
  4. runs each scenario: CHECKPOINT, a warm-up, then a measured run of bench/loadgen.py in a
     separate process (closed loop, --connections keep-alive connections); around the measured run it
     reads /proc for CPU seconds of the server's process tree and of PostgreSQL's (pg_ctl
     daemonises PostgreSQL, so it is not a child of avm), and samples RSS / PSS every 0.2 s;
  5. optionally (--big-store) appends 1,000,000 events of 1,000 tenants through
     AvmRecorder.insert_events, then re-measures create-project and the tenant audit page;
  6. optionally (--soak S) runs S seconds of mixed creates and reads, sampling server RSS every 5 s;
  7. stops everything (SIGINT; SIGKILL only after --stop-timeout), checks PostgreSQL is gone, and
     writes <out-dir>/suite.json and <out-dir>/summary.md.

Exit status: 0 when every request got its expected 2xx and no server died; 1 otherwise (also when
the suite could not run). Targets (speed) never change the exit status.

Usage:  .venv/bin/python bench/suite.py [--duration 15] [--warmup 3] [--connections 16] [--workers 1]
            [--scenarios a,b,...] [--big-store] [--soak SECONDS] [--out-dir bench/results] [--keep]
"""
from __future__ import annotations

import argparse
import datetime as dt
import functools
import http.client
import json
import os
import queue
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))
sys.path.insert(1, str(ROOT))

from bench_create_projects import (  # noqa: E402 - shared /proc helpers of the first benchmark
    CLK_TCK, ODD, _children_map, _read, _signal, _stat_fields, _wait_gone, cpu_seconds, find_avm, free_port,
    leftovers, machine_cpu, machine_facts, process_tree, pss_kb, status_kb,
)

LOADGEN = BENCH_DIR / "loadgen.py"
RATE_LIMIT = "1000000"
MB = 1024.0

# ~4,000 characters of story in paragraphs: segmented (100-280 characters a scene) into ~20 scenes.
STORY_SENTENCES = [
    "The lighthouse keeper of Keelung had not seen a ship in forty days, and the harbour was silent.",
    "Every evening she climbed the hundred and twelve steps, trimmed the wick, and watched the grey water.",
    "On the forty-first night a small boat drifted into the harbour with no one aboard and no lamp lit.",
    "Inside it lay a wooden box, a compass that pointed east instead of north, and a letter with her name.",
    "She read the letter twice by the lamp's light, folded it into her coat, and sat until the tide turned.",
    "At dawn she packed bread, the strange compass and her father's coat, and rowed out past the breakwater.",
    "The needle never wavered; it led her through fog banks and past islands that were on no chart she knew.",
    "On the third day a kite of red paper circled above the boat, trailing a string that vanished into cloud.",
    "She followed it to a village of stilt houses, where children ran along the walkways shouting her name.",
    "An old carpenter met her at the jetty and said the village had kept a lantern burning for her for years.",
]


def make_story(target_chars: int = 4000) -> str:
    paragraphs, para, total, i = [], [], 0, 0
    while total < target_chars:
        sentence = STORY_SENTENCES[i % len(STORY_SENTENCES)]
        para.append(sentence)
        total += len(sentence) + 1
        i += 1
        if len(para) == 4:
            paragraphs.append(" ".join(para))
            para = []
    if para:
        paragraphs.append(" ".join(para))
    return "\n\n".join(paragraphs)[:target_chars].rsplit(" ", 1)[0] + "."


# ------------------------------------------------------------------------------------------ scenarios

@dataclass(frozen=True)
class Scenario:
    key: str
    label: str
    server: str            # "avm", "reference" or "hello"
    kind: str              # "write", "read" or "baseline"
    factory: str | None = None  # a function of bench/scenarios.py used as loadgen --factory
    flow: str | None = None     # ... or as loadgen --flow


TENANTS16 = 16  # tenants of create_project_tenants (bench/scenarios.py walks them round-robin)

SCENARIOS = [
    Scenario("hello", "GET /hello (Litestar hello-world)", "hello", "baseline", factory="hello"),
    Scenario("get_project", "GET /api/v1/projects/{id}", "avm", "read", factory="get_project"),
    Scenario("reference_append", "POST /events (reference: stock eventsourcing, 1 event)", "reference", "baseline",
             factory="reference_append"),
    Scenario("create_project", "POST /api/v1/projects", "avm", "write", factory="create_project"),
    Scenario("create_project_tenants", "POST /api/v1/projects, 16 tenants", "avm", "write",
             factory="create_project_tenants"),
    Scenario("update_project", "PATCH /api/v1/projects/{id} {title}", "avm", "write", factory="update_project"),
    Scenario("set_story", "PUT /api/v1/projects/{id}/story (~4,000 chars, ~20 scenes)", "avm", "write",
             factory="set_story"),
    Scenario("job_cycle", "queue + claim + complete a job (3 commands)", "avm", "write", flow="job_flow"),
    Scenario("list_projects", "GET /api/v1/projects (first page, 20)", "avm", "read", factory="list_projects"),
    Scenario("audit_events", "GET /api/v1/audit/events?limit=50", "avm", "read", factory="audit_events"),
    Scenario("project_at_version", "GET /api/v1/projects/{id}?at=<v> (10,000-event stream)", "avm", "read",
             factory="project_at_version"),
]
BY_KEY = {s.key: s for s in SCENARIOS}
BIG_STORE_SCENARIOS = [
    BY_KEY["create_project"], BY_KEY["audit_events"],
    Scenario("audit_events_preloaded_tenant", "GET /api/v1/audit/events?limit=50 as a preloaded tenant", "avm",
             "read", factory="audit_events_preloaded_tenant"),
]
SOAK = Scenario("soak", "mixed: POST project, GET it, GET list", "avm", "write", flow="soak_flow")


# ------------------------------------------------------------------------------------------ processes

class ServerProc:
    """A server started in its own session, its console output logged (secrets redacted)."""

    def __init__(self, name: str, cmd: list[str], cwd: Path, env: dict[str, str], port: int, health: str,
                 log_path: Path) -> None:
        self.name, self.cmd, self.port, self.health = name, cmd, port, health
        self.lines: list[str] = []
        self.secrets: list[str] = []
        self._log = open(log_path, "w")
        self.log_path = log_path
        self.t0 = time.perf_counter()
        self.proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, bufsize=1, start_new_session=True)
        self.exited_early: int | None = None
        self._reader = threading.Thread(target=self._read_output, daemon=True)
        self._reader.start()

    def _read_output(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            line = re.sub(r"(demo token:\s*)\S+", r"\1<redacted>", line.rstrip("\n"))
            for secret in self.secrets:
                line = line.replace(secret, "<redacted>")
            self.lines.append(line)
            self._log.write(line + "\n")
            self._log.flush()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def get(self, path: str, timeout: float = 5.0, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request("GET", path, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def wait_ready(self, timeout: float) -> float:
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if not self.alive():
                raise RuntimeError(f"{self.name} exited with code {self.proc.returncode} before it was ready;"
                                   f" last output: {self.lines[-5:]}")
            try:
                status, _ = self.get(self.health, timeout=2.0)
                if status == 200:
                    return time.perf_counter() - self.t0
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} was not ready within {timeout} s")

    def stop(self, timeout: float) -> dict[str, Any]:
        out: dict[str, Any] = {"signal": "SIGINT", "killed": False}
        started = time.perf_counter()
        if self.alive():
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait()
                out["killed"] = True
        else:
            out["signal"] = None
            out["already_exited"] = True
        out["exit_code"] = self.proc.returncode
        out["seconds"] = round(time.perf_counter() - started, 2)
        self._reader.join(5)
        self._log.close()
        return out


def postmaster_info(data_dir: Path) -> dict[str, Any] | None:
    """pid, port and socket directory of the embedded server, from <data>/pg/postmaster.pid."""
    text = _read(str(data_dir / "pg" / "postmaster.pid"))
    if not text:
        return None
    lines = text.splitlines()
    pid = int(lines[0])
    if not os.path.exists(f"/proc/{pid}"):
        return None
    return {"pid": pid, "port": int(lines[3]), "socket_dir": lines[4].strip()}


def pg_conninfo(pm: dict[str, Any], dbname: str) -> str:
    from psycopg.conninfo import make_conninfo

    return make_conninfo(host=pm["socket_dir"], port=str(pm["port"]), user="postgres", dbname=dbname)


# ------------------------------------------------------------------------------------------ sampling

class Sampler(threading.Thread):
    """Every `interval` s: RSS of each server's tree (sum and largest process) and PSS of PostgreSQL.
    Peaks are kept per measurement window (reset by take())."""

    def __init__(self, suite: Suite, interval: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.suite, self.interval = suite, interval
        self.stop_event = threading.Event()
        self.lock = threading.Lock()
        self.peak: dict[str, float] = {}
        self.overall: dict[str, float] = {}
        self.seen: dict[str, set[int]] = {}  # every pid seen in each server's tree (workers included)

    def sample(self) -> dict[str, float]:
        kids = _children_map()
        pg = set(process_tree(self.suite.postmaster_pid(), kids))
        now: dict[str, float] = {"postgres_pss_kb": sum(pss_kb(p) for p in pg),
                                 "postgres_rss_sum_kb": sum(status_kb(p, "VmRSS") for p in pg),
                                 "postgres_procs": len(pg)}
        for name, server in self.suite.servers.items():
            pids = [p for p in process_tree(server.pid, kids) if p not in pg]
            rss = [status_kb(p, "VmRSS") for p in pids]
            now[f"{name}_rss_kb"] = sum(rss)
            now[f"{name}_max_proc_rss_kb"] = max(rss, default=0)
            now[f"{name}_procs"] = len(pids)
            self.seen.setdefault(name, set()).update(pids)
        with self.lock:
            for k, v in now.items():
                self.peak[k] = max(self.peak.get(k, 0), v)
                self.overall[k] = max(self.overall.get(k, 0), v)
        return now

    def run(self) -> None:
        while not self.stop_event.wait(self.interval):
            try:
                self.sample()
            except Exception:  # noqa: BLE001 - a process vanished mid-read; the next sample is fine
                pass

    def take(self) -> dict[str, float]:
        self.sample()
        with self.lock:
            peak, self.peak = dict(self.peak), {}
        return peak


def least_squares_slope(points: list[tuple[float, float]]) -> float | None:
    if len(points) < 3:
        return None
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / sxx if sxx else None


# ------------------------------------------------------------------------------------------ the suite

class SuiteFailure(RuntimeError):
    pass


class Suite:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.out_dir = Path(args.out_dir).resolve()
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.workdir = Path(tempfile.mkdtemp(prefix="avm-suite-"))
        self.data_dir = self.workdir / ".data"
        self.spec_path = self.workdir / "spec.json"
        self.servers: dict[str, ServerProc] = {}
        self.spec: dict[str, Any] = {"tokens": {}, "pools": {}, "story": make_story()}
        self.services: Any = None
        self.sampler = Sampler(self)
        self.report: dict[str, Any] = {
            "suite": "avm benchmark suite (bench/suite.py)",
            "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "machine": machine_facts(),
            "config": {"duration_s": args.duration, "warmup_s": args.warmup, "connections": args.connections,
                       "workers": args.workers, "pool_size": args.pool_size, "stream_events": args.stream_events,
                       "big_store": args.big_store, "soak_s": args.soak, "workdir": str(self.workdir),
                       "loadgen": "bench/loadgen.py in a separate process (asyncio, HTTP/1.1 keep-alive, closed loop)"},
            "servers": {}, "preparation": {}, "scenarios": {}, "notes": [],
        }
        self._pm: dict[str, Any] | None = None
        self.next_n: dict[str, int] = {}
        self.admin: dict[str, str] = {}

    # -- infrastructure ------------------------------------------------------------------------
    def log(self, msg: str) -> None:
        if not self.args.quiet:
            print(msg, flush=True)

    def postmaster_pid(self) -> int | None:
        pm = postmaster_info(self.data_dir)
        return pm["pid"] if pm else None

    def pm(self) -> dict[str, Any]:
        pm = postmaster_info(self.data_dir)
        if pm is None:
            raise SuiteFailure("the embedded PostgreSQL is not running (no live postmaster.pid)")
        self._pm = pm
        return pm

    def base_env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.pop("DATABASE_URL", None)
        env.update(AVM_DATA_DIR=str(self.data_dir), AVM_HOST="127.0.0.1", PYTHONUNBUFFERED="1",
                   AVM_RATE_LIMIT=RATE_LIMIT, AVM_RATE_LIMIT_PREMIUM=RATE_LIMIT, AVM_POOL_SIZE=str(self.args.pool_size))
        return env

    def uvicorn_cmd(self, target: str, port: int, app_dir: Path | None = None) -> list[str]:
        cmd = [sys.executable, "-m", "uvicorn", target, "--factory", "--host", "127.0.0.1", "--port", str(port),
               "--workers", str(self.args.workers), "--log-level", "warning", "--no-access-log"]
        if app_dir is not None:
            cmd += ["--app-dir", str(app_dir)]
        return cmd

    def avm(self, *argv: str, timeout: float = 120) -> str:
        proc = subprocess.run([self.args.avm, *argv], cwd=self.workdir, env=self.base_env(), capture_output=True,
                              text=True, timeout=timeout)
        if proc.returncode != 0:
            raise SuiteFailure(f"avm {' '.join(argv)} failed ({proc.returncode}): {proc.stderr.strip()[-500:]}")
        return proc.stdout

    def start_servers(self) -> None:
        args = self.args
        env = self.base_env()
        port = free_port()
        # avm serves as a user runs it: `avm serve --workers N` (it also runs the async projectors)
        cmd = [args.avm, "serve", "--port", str(port), "--workers", str(args.workers)]
        self.log(f"starting avm: {' '.join(cmd)}  (cwd {self.workdir})")
        avm = self.servers["avm"] = ServerProc("avm", cmd, self.workdir, env, port, "/api/health",
                                                 self.out_dir / "suite.avm.log")
        ready = avm.wait_ready(args.startup_timeout)
        self.report["servers"]["avm"] = {"command": " ".join(cmd), "port": port, "ready_after_s": round(ready, 2),
                                         "log": str(avm.log_path)}
        pm = self.pm()
        self.report["postgres"] = {"postmaster_pid": pm["pid"], "socket_dir": pm["socket_dir"], "port": pm["port"]}

        # tokens: an admin (not quota-limited) and a worker (claims), created as a user would
        self.admin = self.new_user("admin", "admin")
        self.new_user("worker", "worker")

        import psycopg

        with psycopg.connect(pg_conninfo(pm, "postgres"), autocommit=True) as conn:
            self.report["postgres"]["server_version"] = conn.execute("SHOW server_version").fetchone()[0]
            settings = conn.execute("SELECT name, current_setting(name), NULL FROM pg_settings WHERE name IN"
                                    " ('shared_buffers', 'max_connections', 'work_mem', 'max_wal_size',"
                                    " 'synchronous_commit', 'fsync')").fetchall()
            self.report["postgres"]["settings"] = {n: f"{s}{(' ' + u) if u else ''}" for n, s, u in settings}
            conn.execute("CREATE DATABASE reference")
        ref_env = self.reference_env(pm)
        # create the reference's tables once, here (CREATE_TABLE=y), so N workers do not race to create them
        from reference_app import ReferenceApplication

        ReferenceApplication(env=ref_env).close()

        for name, target, health, extra in (("reference", "reference_app:create_app", "/health", ref_env),
                                            ("hello", "hello_app:create_app", "/hello", {})):
            port = free_port()
            cmd = self.uvicorn_cmd(target, port, BENCH_DIR)
            self.log(f"starting {name}: {' '.join(cmd)}")
            server = self.servers[name] = ServerProc(name, cmd, self.workdir, {**env, **extra}, port, health,
                                                     self.out_dir / f"suite.{name}.log")
            ready = server.wait_ready(args.startup_timeout)
            self.report["servers"][name] = {"command": " ".join(cmd), "port": port, "ready_after_s": round(ready, 2),
                                            "log": str(server.log_path)}
        self.sampler.start()

    def new_user(self, key: str, role: str) -> dict[str, str]:
        """`avm users create` (as a user would): a new user, i.e. a new tenant; its token is the
        last line of the output. The token goes into the loadgen spec under `key`."""
        out = self.avm("users", "create", "--email", f"bench-{key}-{uuid.uuid4().hex[:6]}@example.com", "--role", role)
        token = out.strip().splitlines()[-1].strip()
        m = re.search(r"\(([0-9a-f-]{36})\)", out)
        if not m or not token.startswith("avm_"):
            raise SuiteFailure(f"could not read the new user's id and token from: {out.splitlines()[:1]!r}")
        self.spec["tokens"][key] = token
        self.servers["avm"].secrets.append(token)
        self.write_spec()
        return {"id": m.group(1), "token": token}

    def reference_env(self, pm: dict[str, Any]) -> dict[str, str]:
        return {"PERSISTENCE_MODULE": "eventsourcing.postgres", "CREATE_TABLE": "y", "POSTGRES_DBNAME": "reference",
                "POSTGRES_HOST": pm["socket_dir"], "POSTGRES_PORT": str(pm["port"]), "POSTGRES_USER": "postgres",
                "POSTGRES_PASSWORD": "", "POSTGRES_POOL_SIZE": str(self.args.pool_size)}

    def app_services(self) -> Any:
        """avm's own Services, in this process, for preparation (pools, the long stream, the big store)."""
        if self.services is None:
            import domain.projects
            from api.services import Services
            from eventstore.database import Database

            # Segmenting is deterministic and the suite reuses a few texts: cache it, in this process only.
            domain.projects.segment = functools.lru_cache(maxsize=64)(domain.projects.segment)  # type: ignore[assignment]
            self.services = Services(Database(url=pg_conninfo(self.pm(), "avm"), embedded=False), pool_size=2)
        return self.services

    def admin_ctx(self, command: str, tenant: str | None = None) -> Any:
        from domain.application import CommandContext

        tenant = tenant or self.admin["id"]
        return CommandContext(tenant_id=tenant, actor_id=tenant, role="admin",
                              correlation_id=f"bench-{command}-{uuid.uuid4()}")

    def superuser_sql(self, *statements: str) -> list[Any]:
        import psycopg

        out = []
        with psycopg.connect(pg_conninfo(self.pm(), "avm"), autocommit=True) as conn:
            for st in statements:
                cur = conn.execute(st)
                out.append(cur.fetchall() if cur.description else None)
        return out

    def write_spec(self) -> None:
        tmp = self.spec_path.with_suffix(".tmp")
        with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
            json.dump(self.spec, f)
        tmp.replace(self.spec_path)

    # -- preparation -----------------------------------------------------------------------------
    def make_projects(self, count: int, prefix: str, story: bool, batch: int = 200) -> list[str]:
        """`count` projects of the admin tenant, appended in-process through the application
        (one transaction per `batch` projects; inline projections written as by a command)."""
        from domain.projects import Project

        services = self.app_services()
        ctx = self.admin_ctx(f"prepare-{prefix}")
        ids: list[str] = []
        for start in range(0, count, batch):
            projects = []
            for i in range(start, min(count, start + batch)):
                p = Project.create(tenant_id=self.admin["id"], title=f"{prefix} {i}")
                if story:
                    p.set_story(self.spec["story"])
                projects.append(p)
            services.app._save(ctx, *projects)  # noqa: SLF001 - the application's own save (tenants, projections)
            ids += [str(p.id) for p in projects]
        return ids

    def build_stream(self, events: int) -> dict[str, Any]:
        """A project with `events` events: created, then renamed events-1 times, 250 renames per
        command, through the application (so snapshots are taken every 100 versions as usual).
        It belongs to a tenant of its own (an admin created for it), so the other scenarios'
        tenant does not grow, and its reads are made with that tenant's token."""
        from domain.projects import Project

        owner = self.new_user("stream", "admin")
        services = self.app_services()
        ctx = self.admin_ctx("stream", owner["id"])
        started = time.perf_counter()
        project = Project.create(tenant_id=owner["id"], title="stream v1")
        services.app._save(ctx, project)  # noqa: SLF001
        pid = str(project.id)
        while project.version < events:
            todo = min(250, events - project.version)

            project = services.app.load(Project, pid, ctx.tenant_id)
            for _ in range(todo):
                project.rename(f"stream v{project.version + 1}")
            services.app._save(ctx, project)  # noqa: SLF001 - many renames in one save, as no command does
        with services.read(scope="system") as conn:
            snaps = conn.execute("SELECT count(*) AS n FROM snapshots WHERE originator_id = %s",
                                 (project.id,)).fetchone()["n"]
        return {"project_id": pid, "events": project.version, "snapshots": snaps,
                "seconds": round(time.perf_counter() - started, 2)}

    def prepare(self, sc: Scenario) -> None:
        prep = self.report["preparation"]
        t0 = time.perf_counter()
        if sc.key in ("get_project", "update_project") and "update" not in self.spec["pools"]:
            ids = self.make_projects(256, "pool", story=False)
            self.spec["pools"]["update"] = self.spec["pools"]["read"] = ids
            prep["read_and_update_pool"] = {"projects": len(ids), "seconds": round(time.perf_counter() - t0, 2)}
        elif sc.key == "set_story":
            ids = self.make_projects(self.initial_pool(), "story", story=False)
            self.spec["pools"]["story"] = ids
            prep["story_pool"] = {"projects": len(ids), "seconds": round(time.perf_counter() - t0, 2)}
        elif sc.key == "job_cycle":
            ids = self.make_projects(self.initial_pool(), "job", story=True)
            self.spec["pools"]["jobs"] = ids
            prep["job_pool"] = {"projects": len(ids), "seconds": round(time.perf_counter() - t0, 2)}
        elif sc.key == "create_project":
            # a fresh tenant for each create measurement (empty store, big store): both start from
            # the same tenant state, and the admin tenant of the other scenarios stays as it is
            user = self.new_user("create", "admin")
            prep.setdefault("create_tenants", []).append(user["id"])
        elif sc.key == "create_project_tenants" and "tenants16_0" not in self.spec["tokens"]:
            # one tenant's creates are serialised by its daily quota counter (decisions #27); the
            # same load spread over 16 tenants, as a multi-tenant service sees it
            for i in range(TENANTS16):
                self.new_user(f"tenants16_{i}", "admin")
        elif sc.key == "project_at_version" and "stream" not in self.spec:
            self.log(f"  building a {self.args.stream_events:,}-event stream in-process ...")
            self.spec["stream"] = self.build_stream(self.args.stream_events)
            prep["stream"] = self.spec["stream"]
        self.write_spec()

    def initial_pool(self) -> int:
        return max(100, int(self.args.warmup * 100) + 64)

    def top_up(self, sc: Scenario, warm: dict[str, Any]) -> bool:
        """Before the measured run: enough fresh projects for it, judged from the warm-up's rate (x2)."""
        pool_name = {"set_story": "story", "job_cycle": "jobs"}.get(sc.key)
        if pool_name is None:
            return False
        rate = warm.get("iterations_per_s") or warm.get("requests_per_s") or 0
        need = self.next_n[sc.key] + int(2 * rate * self.args.duration) + 64
        pool = self.spec["pools"][pool_name]
        if need > len(pool):
            t0 = time.perf_counter()
            pool += self.make_projects(need - len(pool), pool_name, story=(sc.key == "job_cycle"))
            self.report["preparation"][f"{pool_name}_pool_top_up"] = {
                "projects_total": len(pool), "seconds": round(time.perf_counter() - t0, 2)}
            self.write_spec()
            return True
        return False

    # -- measuring -------------------------------------------------------------------------------
    def run_loadgen(self, sc: Scenario, duration: float, start_n: int) -> dict[str, Any]:
        server = self.servers[sc.server]
        cmd = [sys.executable, str(LOADGEN), "--json", "--port", str(server.port), "-c", str(self.args.connections),
               "-d", str(duration), "--start-n", str(start_n)]
        cmd += ["--flow", f"scenarios:{sc.flow}"] if sc.flow else ["--factory", f"scenarios:{sc.factory}"]
        env = dict(os.environ, AVM_BENCH_SPEC=str(self.spec_path), PYTHONPATH=str(BENCH_DIR))
        proc = subprocess.run(cmd, env=env, cwd=BENCH_DIR, capture_output=True, text=True, timeout=duration + 120)
        if not proc.stdout.strip():
            raise SuiteFailure(f"loadgen failed (code {proc.returncode}): {proc.stderr.strip()[-2000:]}")
        result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
        # the sequence numbers this run used up: one per started iteration (or request attempt)
        used = (result.get("iterations", result["requests"]) + result.get("stopped_early", 0)
                + sum(result["connection_errors"].values()))
        self.next_n[sc.key] = start_n + used + self.args.connections + 1
        return result

    def cpu_snapshot(self, server: ServerProc) -> dict[str, float]:
        kids = _children_map()
        pg = process_tree(self.postmaster_pid(), kids)
        pgs = set(pg)
        roots = [server.pid]
        if server.name == "avm" and "projectors" in self.servers:
            roots.append(self.servers["projectors"].pid)
        srv = [p for r in roots for p in process_tree(r, kids) if p not in pgs]
        busy, total, steal = machine_cpu()
        return {"server": cpu_seconds(srv), "postgres": cpu_seconds(pg), "t": time.perf_counter(),
                "m_busy": busy, "m_total": total, "m_steal": steal}

    def checkpoint(self) -> None:
        self.superuser_sql("CHECKPOINT")

    def settle(self) -> dict[str, Any]:
        """Before a measurement: let avm's asynchronous projectors catch up with the log (GET
        /api/health reports every projection's lag), then CHECKPOINT, so that neither the
        projectors nor PostgreSQL are still working off earlier phases during the measured run."""
        avm = self.servers["avm"]
        t0 = time.perf_counter()
        first: int | None = None
        out: dict[str, Any] = {}
        while True:
            try:
                status, body = avm.get("/api/health", timeout=60)
                checks = json.loads(body).get("checks", {}) if status in (200, 503) else {}
            except (OSError, ValueError):
                checks = {}
            # only views some runner is working on (none run with AVM_PROJECTORS=0: nothing to wait for)
            views = {n: v for n, v in (checks.get("projections") or {}).items()
                     if v.get("kind") == "async" and v.get("runner", "active") == "active"}
            lag = sum(int(v.get("lag") or 0) for v in views.values())
            first = lag if first is None else first
            if not views or lag == 0:
                break
            if time.perf_counter() - t0 > self.args.settle_timeout:
                out["timed_out_with_lag"] = {n: v.get("lag") for n, v in views.items()}
                self.report["notes"].append(f"asynchronous projectors still lagged {lag} events after"
                                            f" {self.args.settle_timeout:.0f} s; measured anyway")
                break
            time.sleep(1.0)
        out.update(async_lag_before=first, projectors_waited_s=round(time.perf_counter() - t0, 1))
        t1 = time.perf_counter()
        self.vacuum_analyze()
        out["vacuum_analyze_s"] = round(time.perf_counter() - t1, 2)
        t1 = time.perf_counter()
        self.checkpoint()
        out["checkpoint_s"] = round(time.perf_counter() - t1, 2)
        return out

    def vacuum_analyze(self) -> None:
        """VACUUM (ANALYZE) both databases, as autovacuum would eventually: every measurement then
        runs on fresh statistics (plans under row-level security depend on them), whatever the
        phases before it wrote, and the big store is compared with the empty one on equal terms."""
        import psycopg

        for db in ("avm", "reference"):
            with psycopg.connect(pg_conninfo(self.pm(), db), autocommit=True) as conn:
                conn.execute("VACUUM (ANALYZE)")

    def measure(self, sc: Scenario, sink: dict[str, Any], duration: float | None = None,
                warmup: float | None = None) -> dict[str, Any]:
        """Warm up, then measure `sc`; the result goes into sink[sc.key] (also when a server died)."""
        args = self.args
        duration = args.duration if duration is None else duration
        warmup = args.warmup if warmup is None else warmup
        server = self.servers[sc.server]
        settle = [self.settle()]
        start_n = self.next_n.get(sc.key, 0)
        warm = None
        if warmup > 0:
            self.log(f"  warm-up {warmup} s ...")
            warm = self.run_loadgen(sc, warmup, start_n)
            if self.top_up(sc, warm):
                settle.append(self.settle())  # the new projects' events, through the projectors
        self.log(f"  measuring {duration} s x {args.connections} connections ...")
        self.sampler.take()  # reset the window's peaks
        before = self.cpu_snapshot(server)
        res = self.run_loadgen(sc, duration, self.next_n.get(sc.key, start_n))
        after = self.cpu_snapshot(server)
        peaks = self.sampler.take()
        res["label"] = sc.label
        res["server"] = sc.server
        res["settle"] = settle
        if warm is not None:
            res["warmup"] = {k: warm.get(k) for k in ("requests", "errors", "requests_per_s", "status_counts",
                                                     "connection_errors")}
        n = res["requests"] or 1
        wall = after["t"] - before["t"]
        srv = after["server"] - before["server"]
        pg = after["postgres"] - before["postgres"]
        m_total = after["m_total"] - before["m_total"] or 1
        machine_cores = (after["m_busy"] - before["m_busy"]) / CLK_TCK / wall
        res["server_cpu"] = {
            "server_s": round(srv, 2), "postgres_s": round(pg, 2),
            "server_ms_per_request": round(srv / n * 1000, 3), "postgres_ms_per_request": round(pg / n * 1000, 3),
            "total_ms_per_request": round((srv + pg) / n * 1000, 3),
            "server_cores_busy": round(srv / wall, 2), "postgres_cores_busy": round(pg / wall, 2),
            "loadgen_cores_busy": round(res["loadgen_cpu_s"] / res["elapsed_s"], 2),
            "machine_cpu_busy_pct": round(100 * (after["m_busy"] - before["m_busy"]) / m_total, 1),
            "machine_cpu_steal_pct": round(100 * (after["m_steal"] - before["m_steal"]) / m_total, 1),
            "other_processes_cores_busy": round(max(machine_cores - (srv + pg) / wall
                                                    - res["loadgen_cpu_s"] / wall, 0.0), 2),
        }
        if sc.flow == "job_flow":
            completes = res.get("by_label", {}).get("complete", {})
            jobs = sum(v for k, v in completes.get("status_counts", {}).items() if k.startswith("2"))
            res["jobs_completed"] = jobs
            res["jobs_per_s"] = round(jobs / res["elapsed_s"], 2) if res["elapsed_s"] else None
            res["server_cpu"]["total_ms_per_job"] = round((srv + pg) / max(jobs, 1) * 1000, 3)
        res["memory_peak"] = {
            "server_rss_mb": round(peaks.get(f"{sc.server}_rss_kb", 0) / MB, 1),
            "server_max_process_rss_mb": round(peaks.get(f"{sc.server}_max_proc_rss_kb", 0) / MB, 1),
            "server_processes": int(peaks.get(f"{sc.server}_procs", 0)),
            **({"projectors_rss_mb": round(peaks.get("projectors_rss_kb", 0) / MB, 1)}
               if sc.server == "avm" and "projectors" in self.servers else {}),
            "postgres_pss_mb": round(peaks.get("postgres_pss_kb", 0) / MB, 1),
            "postgres_rss_sum_mb": round(peaks.get("postgres_rss_sum_kb", 0) / MB, 1),
            "postgres_processes": int(peaks.get("postgres_procs", 0)),
        }
        sink[sc.key] = res
        for name, s in self.servers.items():
            if not s.alive():
                raise SuiteFailure(f"server {name} died (exit code {s.proc.returncode}) during {sc.key}")
        lat = res["latency_ms"]
        cpu = res["server_cpu"]
        self.log(f"  -> {res['requests_per_s']} req/s  p50 {lat['p50']} ms  p99 {lat['p99']} ms  errors "
                 f"{res['errors']}  CPU {cpu['server_ms_per_request']} + {cpu['postgres_ms_per_request']} ms/req  "
                 f"RSS {res['memory_peak']['server_rss_mb']} MB  [others: {cpu['other_processes_cores_busy']} cores]")
        return res

    def db_facts(self) -> dict[str, Any]:
        rows = self.superuser_sql(
            "SELECT (SELECT count(*) FROM events) AS events, (SELECT count(DISTINCT tenant_id) FROM users) AS tenants,"
            f" (SELECT count(*) FROM events WHERE tenant_id = '{self.admin['id']}') AS admin_tenant_events,"
            f" (SELECT count(*) FROM projects WHERE tenant_id = '{self.admin['id']}') AS admin_tenant_projects,"
            " pg_database_size('avm') AS bytes")
        events, tenants, admin_events, admin_projects, size = rows[0][0]
        return {"events": events, "tenants": tenants, "admin_tenant_events": admin_events,
                "admin_tenant_projects": admin_projects, "database_mb": round(size / 1024 / 1024, 1)}

    def run_scenarios(self) -> None:
        wanted = self.args.scenarios
        for sc in SCENARIOS:
            if wanted and sc.key not in wanted:
                continue
            self.log(f"[{sc.key}] {sc.label}")
            self.prepare(sc)
            facts = self.db_facts() if sc.server == "avm" else None
            res = self.measure(sc, self.report["scenarios"])
            if facts:
                res["database_before"] = facts
            if sc.key in ("update_project", "get_project"):
                res["pool"] = {"projects": len(self.spec["pools"]["update"]), "use": "round robin"}
            if sc.key == "set_story":
                pool = self.spec["pools"]["story"]
                res["pool"] = {"projects": len(pool), "wrapped": self.next_n[sc.key] > len(pool)}
                if res["pool"]["wrapped"]:
                    self.report["notes"].append("set_story used up its pool of draft projects and wrapped round:"
                                                " some PUTs hit projects that already had the story")
            if sc.key == "job_cycle":
                res["pool"] = {"projects": len(self.spec["pools"]["jobs"])}
                if res.get("stopped_early"):
                    self.report["notes"].append(f"job_cycle: {res['stopped_early']} connection(s) ran out of ready"
                                                " projects before the end of the measured run")

    # -- the big store ---------------------------------------------------------------------------
    def preload(self, total: int, tenants: int) -> dict[str, Any]:
        """Append `total` events of `tenants` tenants (real users with tokens, projects with stories
        and scene edits, render jobs) through AvmRecorder.insert_events: 5 tenants at a time,
        interleaved, in calls of at most --preload-batch events and --preload-batch-kb KB of
        payload; then their inline read models from the final aggregates, in calls of 50 aggregates.

        The byte cap works around an app problem: a call whose pipelined statements pass roughly
        0.6-0.9 MB never returns (psycopg pipeline deadlock, psycopg issue #685), holding the
        events table lock. 5,000 events of ~300 B already hit it."""
        from bench_rebuild import interleave, make_stories
        from eventstore.recorder import EventMeta
        from projections.inline import writes_for

        services = self.app_services()
        app, mapper, recorder = services.app, services.app.mapper, services.app.recorder
        per_tenant = total // tenants
        max_events, max_bytes = self.args.preload_batch, self.args.preload_batch_kb * 1024
        rng = random.Random(7)
        stories = make_stories(rng, 64)
        group = 5
        q: queue.Queue[Any] = queue.Queue(maxsize=4)
        errors: list[BaseException] = []
        stats = {"events": 0, "event_calls": 0, "projection_calls": 0, "insert_s": 0.0, "generate_s": 0.0}

        def writer() -> None:
            try:
                while True:
                    item = q.get()
                    if item is None:
                        return
                    kind, payload, owners = item
                    t0 = time.perf_counter()
                    meta = EventMeta(actor_id="system:bench preload", correlation_id=str(uuid.uuid4()))
                    if kind == "events":
                        recorder.insert_events(payload, tenants=owners, meta=meta)
                        stats["events"] += len(payload)
                        stats["event_calls"] += 1
                    else:
                        recorder.insert_events([], tenants=owners, meta=meta, writes=writes_for(payload))
                        stats["projection_calls"] += 1
                    stats["insert_s"] += time.perf_counter() - t0
            except BaseException as exc:  # noqa: BLE001 - re-raised by the producer
                errors.append(exc)

        def put(item: Any) -> None:
            while not errors:
                try:
                    q.put(item, timeout=1.0)
                    return
                except queue.Full:
                    if not thread.is_alive():
                        return

        thread = threading.Thread(target=writer, name="bench-preload", daemon=True)
        thread.start()
        started = time.perf_counter()
        probe_token = None
        try:
            t = 0
            while t < tenants and not errors:
                g0 = time.perf_counter()
                histories, owners, aggregates = [], {}, []
                for _ in range(min(group, tenants - t)):
                    tenant, token, aggs, events = tenant_history(app, rng, stories, per_tenant, t)
                    if t == tenants // 2:
                        probe_token = token
                    tid = uuid.UUID(tenant)
                    for a in aggs:
                        owners[a.id] = tid
                    aggregates += aggs
                    histories.append(events)
                    t += 1
                chunk: list[Any] = []
                size = 0
                chunks = []
                for e in interleave(histories, rng):
                    stored = mapper.to_stored_event(e)
                    cost = len(stored.state) + len(stored.topic) + 64
                    if chunk and (len(chunk) >= max_events or size + cost > max_bytes):
                        chunks.append(chunk)
                        chunk, size = [], 0
                    chunk.append(stored)
                    size += cost
                if chunk:
                    chunks.append(chunk)
                stats["generate_s"] += time.perf_counter() - g0
                for c in chunks:
                    put(("events", c, {s.originator_id: owners[s.originator_id] for s in c}))
                for i in range(0, len(aggregates), 50):
                    part = aggregates[i:i + 50]
                    put(("projections", part, {a.id: owners[a.id] for a in part}))
                if not self.args.quiet and t % 100 == 0:
                    el = time.perf_counter() - started
                    print(f"  preloaded {stats['events']:,} events, {t} tenants generated"
                          f" ({stats['events'] / el:,.0f} events/s)", flush=True)
        finally:
            put(None)
            thread.join()
        if errors:
            raise SuiteFailure(f"preload failed: {type(errors[0]).__name__}: {errors[0]}")
        seconds = time.perf_counter() - started
        self.spec["tokens"]["preloaded"] = probe_token
        self.servers["avm"].secrets.append(probe_token or "")
        self.write_spec()
        t0 = time.perf_counter()
        self.vacuum_analyze()
        self.checkpoint()
        return {"events": stats["events"], "tenants": tenants, "events_per_tenant": per_tenant,
                "insert_calls": stats["event_calls"], "projection_calls": stats["projection_calls"],
                "max_events_per_call": max_events, "max_kb_per_call": self.args.preload_batch_kb,
                "generate_s": round(stats["generate_s"], 1), "insert_s": round(stats["insert_s"], 1),
                "seconds": round(seconds, 1), "events_per_s": round(stats["events"] / seconds),
                "vacuum_analyze_checkpoint_s": round(time.perf_counter() - t0, 1)}

    def run_big_store(self) -> None:
        self.log(f"[big store] preloading {self.args.big_store_events:,} events of {self.args.big_store_tenants:,}"
                 " tenants ...")
        big: dict[str, Any] = {"preload": self.preload(self.args.big_store_events, self.args.big_store_tenants),
                               "scenarios": {}}
        self.log(f"  preload: {big['preload']}")
        self.report["big_store"] = big
        self.log("  waiting for the asynchronous projectors to catch up with the preload ...")
        big["projectors_catch_up"] = self.settle()
        self.log(f"  {big['projectors_catch_up']}")
        for sc in BIG_STORE_SCENARIOS:
            self.log(f"[big store: {sc.key}] {sc.label}")
            if sc.key == "create_project":
                self.prepare(sc)
            facts = self.db_facts()
            res = self.measure(sc, big["scenarios"])
            res["database_before"] = facts

    # -- soak ------------------------------------------------------------------------------------
    def run_soak(self, seconds: float) -> None:
        sc = SOAK
        self.log(f"[soak] {sc.label} for {seconds:.0f} s, RSS every 5 s")
        server = self.servers["avm"]
        settle = self.settle()
        cmd = [sys.executable, str(LOADGEN), "--json", "--port", str(server.port), "-c", str(self.args.connections),
               "-d", str(seconds), "--flow", f"scenarios:{sc.flow}"]
        env = dict(os.environ, AVM_BENCH_SPEC=str(self.spec_path), PYTHONPATH=str(BENCH_DIR))
        before = self.cpu_snapshot(server)
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, cwd=BENCH_DIR, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        series: list[dict[str, float]] = []
        while True:
            now = self.sampler.sample()
            series.append({"t_s": round(time.perf_counter() - t0, 1),
                           "server_rss_mb": round(now["avm_rss_kb"] / MB, 1),
                           "max_worker_rss_mb": round(now["avm_max_proc_rss_kb"] / MB, 1),
                           "postgres_pss_mb": round(now["postgres_pss_kb"] / MB, 1)})
            try:
                proc.wait(5.0)
                break
            except subprocess.TimeoutExpired:
                if not server.alive():
                    proc.kill()
                    raise SuiteFailure(f"avm died during the soak (exit code {server.proc.returncode})") from None
        out, err = proc.communicate()
        after = self.cpu_snapshot(server)
        if not out.strip():
            raise SuiteFailure(f"soak loadgen failed: {err.strip()[-2000:]}")
        res: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
        n = res["requests"] or 1
        res["server_cpu"] = {"server_ms_per_request": round((after["server"] - before["server"]) / n * 1000, 3),
                             "postgres_ms_per_request": round((after["postgres"] - before["postgres"]) / n * 1000, 3)}
        pts = [(p["t_s"] / 60, p["max_worker_rss_mb"]) for p in series]
        half = [p for p in pts if p[0] >= pts[-1][0] / 2] if pts else []
        slope_all, slope_half = least_squares_slope(pts), least_squares_slope(half)
        res["rss"] = {
            "samples": series,
            "max_worker_rss_mb": max((p["max_worker_rss_mb"] for p in series), default=None),
            "max_server_rss_mb": max((p["server_rss_mb"] for p in series), default=None),
            "first_worker_rss_mb": series[0]["max_worker_rss_mb"] if series else None,
            "last_worker_rss_mb": series[-1]["max_worker_rss_mb"] if series else None,
            "slope_mb_per_min": round(slope_all, 3) if slope_all is not None else None,
            "slope_second_half_mb_per_min": round(slope_half, 3) if slope_half is not None else None,
        }
        res["settle"] = settle
        self.report["soak"] = res
        self.log(f"  -> {res['requests_per_s']} req/s, errors {res['errors']}, worker RSS max "
                 f"{res['rss']['max_worker_rss_mb']} MB, slope {res['rss']['slope_mb_per_min']} MB/min "
                 f"(second half {res['rss']['slope_second_half_mb_per_min']})")

    # -- shutdown --------------------------------------------------------------------------------
    def stop_all(self) -> None:
        self.sampler.stop_event.set()
        if self.services is not None:
            try:
                self.services.close()
            except Exception:  # noqa: BLE001
                pass
        pg = self.postmaster_pid() or (self._pm or {}).get("pid")
        shutdown: dict[str, Any] = {}
        crashed = []
        for name in ("hello", "reference", "projectors", "avm"):  # avm last: it stops the embedded PostgreSQL
            server = self.servers.get(name)
            if server is None:
                continue
            if not server.alive():
                crashed.append(f"{name} exited early with code {server.proc.returncode}")
            shutdown[name] = server.stop(self.args.stop_timeout)
        if pg is not None:
            stopped = _wait_gone(pg, self.args.stop_timeout)
            shutdown["postgres_stopped_by_avm"] = stopped
            if not stopped:  # stop it ourselves: fast shutdown, then SIGKILL
                _signal(pg, signal.SIGINT)
                if not _wait_gone(pg, self.args.stop_timeout):
                    _signal(pg, signal.SIGKILL)
                    _wait_gone(pg, 5)
            shutdown["postgres_running_after"] = not _wait_gone(pg, 0.5)
        self.report["shutdown"] = shutdown
        self.report["crashes"] = crashed
        time.sleep(0.2)
        still = []
        for name, pids in self.sampler.seen.items():
            for pid in sorted(pids):
                f = _stat_fields(pid)
                if f is not None and f[0] != "Z":
                    cmd = (_read(f"/proc/{pid}/cmdline") or "").replace("\0", " ").strip()
                    still.append(f"{pid} ({name}) {cmd[:200]}")
        self.report["leftover_processes"] = leftovers(str(self.workdir)) + still
        if not self.args.keep and not self.report["leftover_processes"]:
            shutil.rmtree(self.workdir, ignore_errors=True)
        self.report["server_output"] = {name: {"log": str(s.log_path), "lines": len(s.lines),
                                               "odd_lines": [ln for ln in s.lines if ODD.search(ln)][:50]}
                                        for name, s in self.servers.items()}


# ------------------------------------------------------------------------------------------ the big store's tenants

WORDS = ("fox forest river mountain village winter lantern harbour storm bridge garden letter "
         "carpenter tea market festival moon rain temple train island kite library").split()


def tenant_history(app: Any, rng: random.Random, stories: list[str], n_events: int,
                   index: int) -> tuple[str, str, list[Any], list[Any]]:
    """Exactly `n_events` events of one tenant's life on the real aggregates: a premium user with a
    token, then projects (story, scene edits, renames) of which some are rendered (queue, claim,
    progress, complete). Returns (tenant id, its token, the aggregates, the events in order)."""
    from domain.estimate import estimate_cost
    from domain.jobs import STEPS, Job
    from domain.projects import Project
    from domain.users import User

    events: list[Any] = []

    def save(*aggregates: Any) -> None:
        for a in aggregates:
            events.extend(a.collect_events())

    user = User.register(email=f"tenant{index}-{uuid.uuid4().hex[:8]}@bench.example", name=f"Tenant {index}",
                         role="premium")
    token = app._issue(user, "bench", None, None)  # noqa: SLF001 - how register_user issues a token
    save(user)
    tenant = user.tenant_id
    aggregates: list[Any] = [user]
    project = None
    clock = dt.datetime.now(dt.timezone.utc)
    while n_events - len(events) > 30:
        project = Project.create(tenant_id=tenant, title=f"Project {len(aggregates)} {rng.choice(WORDS)}")
        project.set_story(rng.choice(stories))
        save(project)
        aggregates.append(project)
        for k in range(rng.randint(2, 8)):
            if k % 2 and project.scenes:
                project.update_scene(rng.randrange(len(project.scenes)), prompt=f"{rng.choice(WORDS)} at dusk {k}")
            else:
                project.rename(f"{project.title[:200]} {k}")
            save(project)
        if rng.random() < 0.3:
            generation = project.config["generation"]
            job = Job(tenant_id=tenant, project_id=str(project.id), config=project.config,
                      estimate=estimate_cost(len(project.story or ""), len(project.scenes),
                                             generation["images_per_scene"]),
                      priority=1, max_attempts=1 + generation["retry_attempts"],
                      timeout_seconds=generation["timeout_seconds"], queued_at=clock.isoformat())
            project.queue_job(str(job.id))
            save(job, project)
            job.claim(worker_id="bench-worker", now=clock)
            project.job_started(str(job.id))
            save(job, project)
            for step in STEPS[:2]:
                job.report_progress(step, 50.0, clock)
                save(job)
            job.complete(0.5, clock)
            project.job_ended(str(job.id), "succeeded")
            save(job, project)
            aggregates.append(job)
    target = project if project is not None else user
    while len(events) < n_events:  # top up to exactly n_events, one event each
        if isinstance(target, Project):
            target.rename(f"Project final {len(events)}")
        else:
            target.update_profile(name=f"Tenant {index} {len(events)}")
        save(target)
    return tenant, token, aggregates, events


# ------------------------------------------------------------------------------------------ report

def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


def compute_ratios_and_targets(report: dict[str, Any], args: argparse.Namespace) -> None:
    sc = report["scenarios"]
    ref, hello = sc.get("reference_append"), sc.get("hello")
    ratios: dict[str, Any] = {}
    for key, res in sc.items():
        s = BY_KEY[key]
        if s.kind == "write" and ref:
            ratios[f"{key}_over_reference"] = {
                "requests_per_s": ratio(res["requests_per_s"], ref["requests_per_s"]),
                "p50": ratio(res["latency_ms"]["p50"], ref["latency_ms"]["p50"]),
                "p99": ratio(res["latency_ms"]["p99"], ref["latency_ms"]["p99"]),
                "cpu_ms_per_request": ratio(res["server_cpu"]["total_ms_per_request"],
                                            ref["server_cpu"]["total_ms_per_request"])}
        if s.kind == "read" and hello:
            ratios[f"{key}_over_hello"] = {
                "requests_per_s": ratio(res["requests_per_s"], hello["requests_per_s"]),
                "p99": ratio(res["latency_ms"]["p99"], hello["latency_ms"]["p99"])}
    big = report.get("big_store")
    if big:
        for key in ("create_project", "audit_events", "audit_events_preloaded_tenant"):
            base = sc.get("audit_events" if key == "audit_events_preloaded_tenant" else key)
            res = big["scenarios"].get(key)
            if base and res:
                ratios[f"big_store_{key}_over_empty"] = {
                    "p99": ratio(res["latency_ms"]["p99"], base["latency_ms"]["p99"]),
                    "p50": ratio(res["latency_ms"]["p50"], base["latency_ms"]["p50"]),
                    "requests_per_s": ratio(res["requests_per_s"], base["requests_per_s"]),
                    "cpu_ms_per_request": ratio(res["server_cpu"]["total_ms_per_request"],
                                                base["server_cpu"]["total_ms_per_request"]),
                    "other_load_cores": [base["server_cpu"]["other_processes_cores_busy"],
                                         res["server_cpu"]["other_processes_cores_busy"]]}
    report["ratios"] = ratios

    targets = []

    def add(tid: str, text: str, measured: str, ok: bool | None) -> None:
        targets.append({"id": tid, "target": text, "measured": measured,
                        "result": "PASS" if ok else ("FAIL" if ok is False else "NOT RUN")})

    for key, tid, text in (
            ("create_project", "create_vs_reference", "create-project commands/s >= 3x the reference, p99 <= 20 ms"),
            ("create_project_tenants", "create_16_tenants_vs_reference", "the same, creates spread over 16 tenants")):
        c = sc.get(key)
        if c and ref:
            r = ratio(c["requests_per_s"], ref["requests_per_s"])
            p99 = c["latency_ms"]["p99"]
            add(tid, text, f"{c['requests_per_s']} vs {ref['requests_per_s']} req/s = {r}x; p99 {p99} ms",
                r is not None and p99 is not None and r >= 3 and p99 <= 20)
        else:
            add(tid, text, "-", None)
    g = sc.get("get_project")
    if g and hello:
        r = ratio(g["requests_per_s"], hello["requests_per_s"])
        add("get_vs_hello", "GET one project >= 50% of hello-world requests/s",
            f"{g['requests_per_s']} vs {hello['requests_per_s']} req/s = {r}x", r is not None and r >= 0.5)
    else:
        add("get_vs_hello", "GET one project >= 50% of hello-world requests/s", "-", None)
    a = sc.get("project_at_version")
    if a:
        p99 = a["latency_ms"]["p99"]
        stream = report["preparation"].get("stream", {})
        full = stream.get("events", 0) >= 10_000
        add("at_p99", "?at= on a 10,000-event stream p99 <= 20 ms",
            f"p99 {p99} ms (stream of {stream.get('events')} events)"
            + ("" if full else "; stream shorter than 10,000 events, so not the target's condition"),
            (p99 is not None and p99 <= 20) if full else None)
    else:
        add("at_p99", "?at= on a 10,000-event stream p99 <= 20 ms", "-", None)
    text = "with 1,000,000 events / 1,000 tenants stored: command p99 and tenant-audit-page p99 <= 1.2x empty store"
    if big and "big_store_create_project_over_empty" in ratios and "big_store_audit_events_over_empty" in ratios:
        rc = ratios["big_store_create_project_over_empty"]["p99"]
        ra = ratios["big_store_audit_events_over_empty"]["p99"]
        rp = ratios.get("big_store_audit_events_preloaded_tenant_over_empty", {}).get("p99")
        pre = big["preload"]
        full = pre["events"] >= 1_000_000 and pre["tenants"] >= 1_000
        cc = ratios["big_store_create_project_over_empty"]
        ca = ratios["big_store_audit_events_over_empty"]
        add("big_store", text,
            f"create p99 x{rc} (CPU/request x{cc['cpu_ms_per_request']}, other load {cc['other_load_cores'][0]}"
            f" -> {cc['other_load_cores'][1]} cores), audit page p99 x{ra} (CPU/request x{ca['cpu_ms_per_request']});"
            f" a preloaded tenant's page: p99 x{rp}; "
            f"{pre['events']:,} events / {pre['tenants']:,} tenants"
            + ("" if full else " - a smaller store than the target's, so not its condition"),
            (rc is not None and ra is not None and rc <= 1.2 and ra <= 1.2) if full else None)
    else:
        add("big_store", text, "- (run with --big-store)", None)
    peak_worker = max((r["memory_peak"]["server_max_process_rss_mb"] for r in sc.values() if r["server"] == "avm"),
                      default=None)
    soak = report.get("soak")
    text = "server RSS under sustained load <= 250 MB per worker, flat over a 5-minute run"
    if soak:
        rss = soak["rss"]
        worst = max(x for x in (peak_worker, rss["max_worker_rss_mb"]) if x is not None)
        slope = rss["slope_second_half_mb_per_min"]
        long_enough = args.soak >= 300
        ok = worst <= 250 and slope is not None and slope <= 1.0 and long_enough
        add("rss", text, f"max {worst} MB per worker; soak {args.soak:.0f} s, slope {rss['slope_mb_per_min']} "
            f"MB/min (second half {slope}; flat = <= 1 MB/min){'' if long_enough else ' - soak shorter than 300 s'}",
            ok if long_enough else (False if worst > 250 else None))
    else:
        add("rss", text, f"peak {peak_worker} MB per worker in the scenarios; flatness needs --soak 300",
            False if peak_worker is not None and peak_worker > 250 else None)
    report["targets"] = targets


def fmt(v: Any, nd: int = 1) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.{nd}f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def scenario_rows(results: dict[str, Any], ratios: dict[str, Any], ratio_key: Callable[[str], str | None]) -> list[str]:
    rows = ["| scenario | req/s | p50 ms | p99 ms | errors / requests | CPU ms/req app + postgres | peak RSS app MB"
            " (largest process) | postgres PSS MB | vs ref/hello: req/s, p99 | other load (cores) |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---|---:|"]
    for key, r in results.items():
        lat, cpu, mem = r["latency_ms"], r["server_cpu"], r["memory_peak"]
        rk = ratio_key(key)
        rr = ratios.get(rk) if rk else None
        vs = f"{fmt(rr['requests_per_s'], 2)}x, {fmt(rr['p99'], 2)}x" if rr else ""
        extra = f" ({fmt(r.get('jobs_per_s'))} jobs/s)" if "jobs_per_s" in r else ""
        rows.append(f"| `{key}` {r['label']} | {fmt(r['requests_per_s'])}{extra} | {fmt(lat['p50'])} | {fmt(lat['p99'])} |"
                    f" {fmt(r['errors'])} / {fmt(r['requests'])} | {fmt(cpu['server_ms_per_request'], 2)} +"
                    f" {fmt(cpu['postgres_ms_per_request'], 2)} | {fmt(mem['server_rss_mb'])}"
                    f" ({fmt(mem['server_max_process_rss_mb'])}) | {fmt(mem['postgres_pss_mb'])} | {vs} |"
                    f" {fmt(cpu['other_processes_cores_busy'], 2)} |")
    return rows


def write_summary(report: dict[str, Any], path: Path) -> None:
    m, cfg = report["machine"], report["config"]
    lines = [f"# avm benchmark suite — {report['date']}", "",
             f"Generated by `bench/suite.py` ({cfg['connections']} connections, {cfg['workers']} worker(s),"
             f" {cfg['warmup_s']} s warm-up + {cfg['duration_s']} s per scenario). Raw numbers: `suite.json`.", "",
             "## Machine", "",
             f"- {m['nproc']} CPUs ({m['nproc_available']} available), {m['cpu_model']}, {fmt(m['mem_total_mb'], 0)} MB RAM",
             f"- Python {m['python']} ({m['python_implementation']}), Linux {m['kernel']}, load average at start"
             f" {' '.join(m['loadavg_at_start'])}",
             f"- PostgreSQL {report.get('postgres', {}).get('server_version', '?')} (embedded, default settings:"
             f" {', '.join(f'{k}={v}' for k, v in report.get('postgres', {}).get('settings', {}).items())})",
             "- The server, PostgreSQL and the load generator share these CPUs; 'other load' is CPU used by"
             " unrelated processes during the measured run (a noise gauge).", ""]
    lines += ["## Targets (issue 7)", "", "| target | measured | result |", "|---|---|---|"]
    for t in report.get("targets", []):
        lines.append(f"| {t['target']} | {t['measured']} | **{t['result']}** |")
    lines += ["", "## Scenarios", ""]
    ratios = report.get("ratios", {})

    def rk(key: str) -> str | None:
        s = BY_KEY.get(key)
        if s is None:
            return None
        return f"{key}_over_reference" if s.kind == "write" else f"{key}_over_hello" if s.kind == "read" else None

    lines += scenario_rows(report["scenarios"], ratios, rk)
    lines += ["", "Write scenarios are compared with `reference_append`, reads with `hello`."
              " `job_cycle` counts HTTP commands (queue, claim, complete) as requests.", ""]
    big = report.get("big_store")
    if big:
        pre = big["preload"]
        lines += ["## Big store", "",
                  f"Preloaded {pre['events']:,} events of {pre['tenants']:,} tenants in {pre['seconds']} s"
                  f" ({pre['events_per_s']:,} events/s), then VACUUM ANALYZE + CHECKPOINT"
                  f" ({pre['vacuum_analyze_checkpoint_s']} s). avm's asynchronous projectors then took"
                  f" {big.get('projectors_catch_up', {}).get('projectors_waited_s')} s to catch up with a lag of"
                  f" {big.get('projectors_catch_up', {}).get('async_lag_before')} events; the measurements below"
                  " started after that.", ""]
        lines += scenario_rows(big["scenarios"], ratios, lambda k: f"big_store_{k}_over_empty")
        lines += ["", "The ratio column here is big store / empty store (req/s, p99); the preloaded tenant's"
                  " page is compared with the admin tenant's page on the empty store. CPU per request is the"
                  " steadier comparison on a shared machine: p99 moves with the 'other load' column.", ""]
    soak = report.get("soak")
    if soak:
        rss = soak["rss"]
        lines += ["## Soak", "",
                  f"{cfg['soak_s']:.0f} s of {SOAK.label}: {fmt(soak['requests_per_s'])} req/s,"
                  f" errors {soak['errors']} / {soak['requests']}; largest avm process RSS"
                  f" {rss['first_worker_rss_mb']} → {rss['last_worker_rss_mb']} MB (max {rss['max_worker_rss_mb']});"
                  f" slope {rss['slope_mb_per_min']} MB/min overall, {rss['slope_second_half_mb_per_min']} MB/min"
                  " over the second half.", ""]
    prep = report.get("preparation", {})
    if prep:
        lines += ["## Preparation (in-process, outside the measured runs)", ""]
        lines += [f"- `{k}`: {json.dumps(v)}" for k, v in prep.items()]
        lines.append("")
    notes = report.get("notes", [])
    errs = report.get("error_summary", {})
    lines += ["## Health of the run", "",
              f"- requests that failed: {errs.get('total', '?')}"
              f"{' — ' + json.dumps(errs.get('by_scenario')) if errs.get('total') else ''}",
              f"- servers that died: {report.get('crashes') or 'none'}",
              f"- shutdown: {json.dumps(report.get('shutdown', {}))}",
              f"- leftover processes: {report.get('leftover_processes') or 'none'}"]
    if report.get("failure"):
        lines.append(f"- **suite failure**: {report['failure']}")
    lines += [f"- {n}" for n in notes]
    path.write_text("\n".join(lines) + "\n")


def summarise_errors(report: dict[str, Any]) -> dict[str, Any]:
    by: dict[str, Any] = {}
    for prefix, results in (("", report.get("scenarios", {})),
                            ("big_store.", report.get("big_store", {}).get("scenarios", {}))):
        for key, r in results.items():
            for phase, data in (("measured", r), ("warmup", r.get("warmup") or {})):
                if data.get("errors"):
                    by[f"{prefix}{key}.{phase}"] = {"errors": data["errors"], "status_counts": data.get("status_counts"),
                                                    "connection_errors": data.get("connection_errors")}
    soak = report.get("soak")
    if soak and soak.get("errors"):
        by["soak"] = {"errors": soak["errors"], "status_counts": soak.get("status_counts")}
    return {"total": sum(v["errors"] for v in by.values()), "by_scenario": by}


# ------------------------------------------------------------------------------------------ main

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=float, default=15.0, help="measured seconds per scenario (default 15)")
    ap.add_argument("--warmup", type=float, default=3.0, help="warm-up seconds before each (default 3)")
    ap.add_argument("--connections", type=int, default=16, help="keep-alive connections (default 16)")
    ap.add_argument("--workers", type=int, default=1,
                    help="uvicorn workers for avm, the reference and hello-world (default 1 = `avm serve`)")
    ap.add_argument("--pool-size", type=int, default=int(os.environ.get("AVM_POOL_SIZE", "10")),
                    help="PostgreSQL connections per process, avm (AVM_POOL_SIZE) and reference (default 10)")
    ap.add_argument("--scenarios", default="", help=f"comma-separated subset of: {', '.join(BY_KEY)}")
    ap.add_argument("--stream-events", type=int, default=10_000, help="events of the ?at= stream (default 10,000)")
    ap.add_argument("--big-store", action="store_true", help="preload 1,000,000 events / 1,000 tenants and re-measure")
    ap.add_argument("--big-store-events", type=int, default=1_000_000)
    ap.add_argument("--big-store-tenants", type=int, default=1_000)
    ap.add_argument("--preload-batch", type=int, default=5_000, help="max events per insert_events call (5,000)")
    ap.add_argument("--preload-batch-kb", type=int, default=256,
                    help="max KB of event payload per insert_events call (256; see the psycopg pipeline hang)")
    ap.add_argument("--soak", type=float, default=0.0, metavar="SECONDS", help="mixed load for SECONDS, RSS every 5 s")
    ap.add_argument("--out-dir", default=str(BENCH_DIR / "results"), help="where suite.json, summary.md and logs go")
    ap.add_argument("--avm", default=find_avm(), help="the avm executable (default: next to this Python)")
    ap.add_argument("--settle-timeout", type=float, default=900.0,
                    help="max seconds to wait for avm's asynchronous projectors to catch up before a measurement")
    ap.add_argument("--startup-timeout", type=float, default=180.0)
    ap.add_argument("--stop-timeout", type=float, default=30.0)
    ap.add_argument("--keep", action="store_true", help="keep the temp working directory")
    ap.add_argument("--quiet", action="store_true", help="print only the final one-line summary")
    args = ap.parse_args(argv)
    args.scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = [s for s in args.scenarios if s not in BY_KEY]
    if unknown:
        ap.error(f"unknown scenario(s) {unknown}; choose from {list(BY_KEY)}")
    if args.workers < 1:
        ap.error("--workers must be >= 1")

    def on_term(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    suite = Suite(args)
    report = suite.report
    try:
        suite.start_servers()
        suite.run_scenarios()
        if args.big_store:
            suite.run_big_store()
        if args.soak > 0:
            suite.run_soak(args.soak)
    except KeyboardInterrupt:
        report["failure"] = "interrupted"
    except Exception as exc:  # noqa: BLE001 - record it, still stop everything and write the files
        report["failure"] = f"{type(exc).__name__}: {exc}"
        print(f"FAILED: {report['failure']}", file=sys.stderr, flush=True)
    finally:
        suite.stop_all()
    compute_ratios_and_targets(report, args)
    report["error_summary"] = summarise_errors(report)
    ok = not report.get("failure") and not report["error_summary"]["total"] and not report["crashes"]
    report["exit_code"] = 0 if ok else 1
    out = suite.out_dir / "suite.json"
    out.write_text(json.dumps(report, indent=2, default=str) + "\n")
    write_summary(report, suite.out_dir / "summary.md")
    n_req = sum(r["requests"] for r in report["scenarios"].values()) + sum(
        r["requests"] for r in report.get("big_store", {}).get("scenarios", {}).values()) + (
        report["soak"]["requests"] if report.get("soak") else 0)
    verdict = "OK" if ok else "FAILED"
    why = []
    if report.get("failure"):
        why.append(report["failure"])
    if report["error_summary"]["total"]:
        why.append(f"{report['error_summary']['total']} failed requests in "
                   f"{', '.join(report['error_summary']['by_scenario'])}")
    if report["crashes"]:
        why.append("; ".join(report["crashes"]))
    targets = " ".join(f"{t['id']}={t['result']}" for t in report["targets"])
    print(f"bench suite {verdict}: {len(report['scenarios'])} scenarios, {n_req:,} requests, "
          f"{report['error_summary']['total']} failed; targets (informational): {targets}"
          f"{'' if args.quiet else '; '}"
          f"{'' if args.quiet else f'results {out}'}{'; ' + ' | '.join(why) if why else ''}", flush=True)
    return report["exit_code"]


if __name__ == "__main__":
    sys.exit(main())
