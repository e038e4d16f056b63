"""CPU and SQL per request, two builds side by side (issue 12: "ratios within noise of the last run").

On a shared machine the wall-clock rate is noise; what a request costs is not. For each build given
(`--avm LABEL=PATH`, e.g. the `avm` of a worktree of an older commit and of this one), this starts
`avm serve` in a temp directory with its own embedded PostgreSQL (pg_stat_statements preloaded),
creates the suite's users and pools over HTTP, then alternates the builds, scenario by scenario, for
`--rounds` rounds: each measured run is `-n` requests (flows: iterations) of bench/scenarios.py's
factory through bench/loadgen.py, and around it:

- CPU seconds of the server's process tree and of every PostgreSQL process (/proc), per request;
- statements the service sent (pg_stat_statements, top level, all users but the harness's own
  queries), per request, and the busiest statements;
- with `--trace` instead: each kind of request (create, update, queue, claim, complete) sent alone,
  20 times over one connection, and the statements it sent (BEGIN counts its read transactions).

Idle cost (the maintenance thread, projectors) is measured over `--idle` seconds and reported apart.

Usage: .venv/bin/python bench/bench_percall.py --avm old=/work/wt/x-old/.venv/bin/avm --avm new=.venv/bin/avm
           [--rounds 3] [-n 300] [-c 16] [--scenarios update_project,...] [--trace] [--out bench/results/x/percall.json]
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

from procfs import cpu_seconds, free_port, process_tree  # noqa: E402
from suite_processes import ServerProc, pg_conninfo, postmaster_info  # noqa: E402
from suite_scenarios import make_story  # noqa: E402

LOADGEN = BENCH_DIR / "loadgen.py"
SCENARIOS = {  # key: (factory or flow, requests per iteration)
    "create_project": ("factory", 1), "create_project_tenants": ("factory", 1),
    "update_project": ("factory", 1), "job_cycle": ("flow", 3), "get_project": ("factory", 1),
    "set_story": ("factory", 1), "list_projects": ("factory", 1), "audit_events": ("factory", 1),
    "project_at_version": ("factory", 1)}
FLOWS = {"job_cycle": "job_flow"}
HARNESS_MARK = "/* percall */"
TRACE_N = 20  # requests of each kind in --trace


class Build:
    """One `avm serve` of one build, its data, tokens and pools."""

    def __init__(self, label: str, avm: str, out_dir: Path) -> None:
        self.label, self.avm_path = label, avm
        self.workdir = Path(tempfile.mkdtemp(prefix=f"avm-percall-{label}-"))
        self.data_dir = self.workdir / ".data"
        self.spec_path = self.workdir / "spec.json"
        self.spec: dict[str, Any] = {"tokens": {}, "pools": {}, "story": make_story()}
        self.log_path = out_dir / f"percall.{label}.log"
        self.next_n: dict[str, int] = {}
        self.server: ServerProc | None = None

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.pop("DATABASE_URL", None)
        env.update(AVM_DATA_DIR=str(self.data_dir), AVM_HOST="127.0.0.1", PYTHONUNBUFFERED="1",
                   AVM_RATE_LIMIT="1000000", AVM_RATE_LIMIT_PREMIUM="1000000")
        return env

    def start(self) -> None:
        self.port = free_port()
        self.server = ServerProc("avm", [self.avm_path, "serve", "--port", str(self.port)], self.workdir,
                                 self.env(), self.port, "/api/health", self.log_path)
        self.server.wait_ready(180)

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop(30)
            pm = self.data_dir / "pg" / "postmaster.pid"
            for _ in range(100):
                if not pm.exists():
                    break
                time.sleep(0.1)

    def sql(self, query: str, params: tuple[Any, ...] = (), db: str = "avm") -> list[Any]:
        import psycopg

        pm = postmaster_info(self.data_dir)
        assert pm is not None, "PostgreSQL is not running"
        with psycopg.connect(pg_conninfo(pm, db), autocommit=True) as conn:
            cur = conn.execute(HARNESS_MARK + query, params)  # type: ignore[arg-type]
            return cur.fetchall() if cur.description else []

    def prepare(self, args: argparse.Namespace) -> None:
        """Start, turn pg_stat_statements on (a restart), create users and pools."""
        self.start()
        self.sql("ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'")
        self.sql("ALTER SYSTEM SET pg_stat_statements.track_utility = on")
        self.sql("ALTER SYSTEM SET pg_stat_statements.track = 'all'")  # the trigger's own statements too
        self.stop()
        self.start()
        self.sql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        for key, role in (("admin", "admin"), ("worker", "worker"), ("create", "admin"),
                          *((f"tenants16_{i}", "admin") for i in range(16))):
            self.new_user(key, role)
        runs = args.rounds * args.n + args.warmup
        self.spec["pools"]["update"] = self.spec["pools"]["read"] = self.make_projects(256, story=False)
        if "job_cycle" in args.scenarios:
            self.spec["pools"]["jobs"] = self.make_projects(runs + 2 * args.connections + 16, story=True)
            self.trace_jobs = self.make_projects(TRACE_N, story=True)
        if "project_at_version" in args.scenarios:  # the long stream, made in-process by the build's own Python
            pm = postmaster_info(self.data_dir)
            proc = subprocess.run([str(Path(self.avm_path).parent / "python"), str(BENCH_DIR / "percall_stream.py"),
                                   "--url", pg_conninfo(pm, "avm"), "--data-dir", str(self.data_dir),
                                   "--events", str(args.stream_events)],
                                  cwd=self.workdir, env=self.env(), capture_output=True, text=True, timeout=600, check=False)
            assert proc.returncode == 0, proc.stderr[-2000:]
            stream = json.loads(proc.stdout.strip().splitlines()[-1])
            self.spec["tokens"]["stream"] = stream.pop("token")
            self.server.secrets.append(self.spec["tokens"]["stream"])  # type: ignore[union-attr]
            self.spec["stream"] = stream
        if "set_story" in args.scenarios:
            self.spec["pools"]["story"] = self.make_projects(runs + args.connections + 16, story=False)
        self.write_spec()

    def new_user(self, key: str, role: str) -> None:
        proc = subprocess.run([self.avm_path, "users", "create", "--email", f"pc-{key}-{uuid.uuid4().hex[:6]}@example.com",
                               "--role", role], cwd=self.workdir, env=self.env(), capture_output=True, text=True,
                              timeout=120, check=True)
        token = proc.stdout.strip().splitlines()[-1].strip()
        assert token.startswith("avm_"), proc.stdout[:200]
        self.spec["tokens"][key] = token
        self.server.secrets.append(token)  # type: ignore[union-attr]

    def request(self, conn: http.client.HTTPConnection, method: str, path: str, body: Any) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.spec['tokens']['admin']}", "Content-Type": "application/json"}
        conn.request(method, path, body=json.dumps(body).encode(), headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        if resp.status >= 300:
            raise RuntimeError(f"{method} {path}: {resp.status} {data[:300]!r}")
        return json.loads(data) if data else {}

    def make_projects(self, count: int, story: bool) -> list[str]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        ids = []
        for i in range(count):
            pid = self.request(conn, "POST", "/api/v1/projects", {"title": f"pool {i}"})["id"]
            if story:
                self.request(conn, "PUT", f"/api/v1/projects/{pid}/story", {"text": self.spec["story"]})
            ids.append(pid)
        conn.close()
        return ids

    def write_spec(self) -> None:
        self.spec_path.write_text(json.dumps(self.spec))
        self.spec_path.chmod(0o600)

    def runq_wait(self) -> float:
        """Seconds the server's threads spent runnable but not running (/proc/*/task/*/schedstat, field 2):
        how much of a request's wall time is the machine's other load, not this build."""
        pm = postmaster_info(self.data_dir)
        pg = set(process_tree(pm["pid"]) if pm else [])
        total = 0
        for pid in process_tree(self.server.pid):  # type: ignore[union-attr]
            if pid in pg:
                continue
            try:
                tids = os.listdir(f"/proc/{pid}/task")
            except OSError:
                continue
            for tid in tids:
                try:
                    with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                        total += int(f.read().split()[1])
                except (OSError, IndexError, ValueError):
                    pass
        return total / 1e9

    def cpu(self) -> tuple[float, float]:
        pm = postmaster_info(self.data_dir)
        pg = process_tree(pm["pid"]) if pm else []
        srv = [p for p in process_tree(self.server.pid) if p not in set(pg)]  # type: ignore[union-attr]
        return cpu_seconds(srv), cpu_seconds(pg)

    def statements(self) -> list[tuple[str, int]]:
        rows = self.sql("SELECT query, calls FROM pg_stat_statements WHERE query NOT LIKE %s AND toplevel",
                        (HARNESS_MARK + "%",))
        return [(q, int(c)) for q, c in rows]

    def statement_times(self) -> list[tuple[str, bool, float]]:
        rows = self.sql("SELECT query, toplevel, total_exec_time + total_plan_time FROM pg_stat_statements"
                        " WHERE query NOT LIKE %s", (HARNESS_MARK + "%",))
        return [(q, bool(t), float(ms)) for q, t, ms in rows]

    def loadgen(self, key: str, count: int, connections: int) -> dict[str, Any]:
        kind, _ = SCENARIOS[key]
        start_n = self.next_n.get(key, 0)
        cmd = [sys.executable, str(LOADGEN), "--json", "--port", str(self.port), "-c", str(connections),
               "-n", str(count), "--start-n", str(start_n)]
        cmd += ["--flow", f"scenarios:{FLOWS[key]}"] if kind == "flow" else ["--factory", f"scenarios:{key}"]
        env = dict(os.environ, AVM_BENCH_SPEC=str(self.spec_path), PYTHONPATH=str(BENCH_DIR))
        proc = subprocess.run(cmd, env=env, cwd=BENCH_DIR, capture_output=True, text=True, timeout=600)
        result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
        self.next_n[key] = start_n + count + connections + 1
        return result

    def measure(self, key: str, args: argparse.Namespace) -> dict[str, Any]:
        if args.warmup:
            self.loadgen(key, args.warmup, args.connections)
        self.sql("SELECT pg_stat_statements_reset()")
        before, waited = self.cpu(), self.runq_wait()
        res = self.loadgen(key, args.n, args.connections)
        after, waited = self.cpu(), self.runq_wait() - waited
        stmts = self.statements()
        timed = self.statement_times()
        requests = res["requests"]
        return {"requests": requests, "errors": res["errors"], "req_per_s": res["requests_per_s"],
                "app_runq_wait_ms_per_req": round(1000 * waited / requests, 3),
                "p99_ms": res.get("latency_ms", {}).get("p99"),
                "app_ms_per_req": round(1000 * (after[0] - before[0]) / requests, 3),
                "pg_ms_per_req": round(1000 * (after[1] - before[1]) / requests, 3),
                "statements_per_req": round(sum(c for _, c in stmts) / requests, 2),
                "top_statements": [(q[:160], round(c / requests, 2))
                                   for q, c in sorted(stmts, key=lambda s: -s[1])[:40]],
                # execution time in PostgreSQL per request (ms), nested statements (the chain
                # trigger's, a function's) marked: where the PostgreSQL CPU goes
                "statement_ms": [(("nested: " if not top else "") + q[:160], round(ms / requests, 4))
                                 for q, top, ms in sorted(timed, key=lambda s: -s[2])[:30]]}

    def trace(self) -> dict[str, Any]:
        """The statements of each kind of request, one connection, TRACE_N requests each: create (one
        tenant, 16 tenants), update, and the job cycle's queue, claim and complete on their own."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        tokens, pool = self.spec["tokens"], self.spec["pools"]["update"]
        job_ids: list[str] = []

        def call(method: str, path: str, body: Any, token: str) -> Any:
            conn.request(method, path, body=json.dumps(body).encode() if body is not None else b"",
                         headers={"Authorization": f"Bearer {tokens[token]}", "Content-Type": "application/json"})
            resp = conn.getresponse()
            data = resp.read()
            assert resp.status < 300, (method, path, resp.status, data[:200])
            return json.loads(data) if data else None

        steps = {
            "create": lambda i: call("POST", "/api/v1/projects", {"title": f"t {i}"}, "create"),
            "create16": lambda i: call("POST", "/api/v1/projects", {"title": f"t {i}"}, f"tenants16_{i % 16}"),
            "update": lambda i: call("PATCH", f"/api/v1/projects/{pool[i]}", {"title": f"r {i}"}, "admin"),
            "queue": lambda i: call("POST", f"/api/v1/projects/{self.trace_jobs[i]}/jobs", {}, "admin"),
            "claim": lambda i: job_ids.append(call("POST", "/api/v1/jobs/claim", None, "worker")["id"]),
            "complete": lambda i: call("POST", f"/api/v1/jobs/{job_ids[i]}/complete", {"cost_actual": 0.5}, "worker"),
        }
        out = {}
        for name, step in steps.items():
            if name == "queue" and not getattr(self, "trace_jobs", None):
                break
            self.sql("SELECT pg_stat_statements_reset()")
            before = self.cpu()
            for i in range(TRACE_N):
                step(i)
            after = self.cpu()
            stmts = self.statements()
            out[name] = {"app_ms": round(1000 * (after[0] - before[0]) / TRACE_N, 2),
                         "statements": round(sum(c for _, c in stmts) / TRACE_N, 2),
                         "each": [(q[:200], round(c / TRACE_N, 2)) for q, c in sorted(stmts, key=lambda s: -s[1])]}
        conn.close()
        return out

    def idle(self, seconds: float) -> dict[str, float]:
        self.sql("SELECT pg_stat_statements_reset()")
        before = self.cpu()
        time.sleep(seconds)
        after = self.cpu()
        stmts = self.statements()
        return {"app_cpu_per_s": round((after[0] - before[0]) / seconds, 4),
                "pg_cpu_per_s": round((after[1] - before[1]) / seconds, 4),
                "statements_per_s": round(sum(c for _, c in stmts) / seconds, 2)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--avm", action="append", required=True, help="LABEL=PATH of an avm executable (repeat)")
    ap.add_argument("--scenarios", default="update_project,create_project_tenants,create_project,job_cycle")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("-n", type=int, default=300, help="requests (flows: iterations) per measured run")
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("-c", "--connections", type=int, default=16)
    ap.add_argument("--idle", type=float, default=10.0, help="seconds of idle measurement per build")
    ap.add_argument("--stream-events", type=int, default=10_000, help="events of project_at_version's stream")
    ap.add_argument("--trace", action="store_true", help="only the statements of each kind of request")
    ap.add_argument("--out", default=str(BENCH_DIR / "results" / "percall.json"))
    args = ap.parse_args(argv)
    args.scenarios = [s for s in args.scenarios.split(",") if s]
    out = Path(args.out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    builds = [Build(*spec.split("=", 1), out.parent) for spec in args.avm]
    report: dict[str, Any] = {"config": {k: v for k, v in vars(args).items()}, "date": time.strftime("%FT%TZ", time.gmtime()),
                              "loadavg_start": os.getloadavg(), "runs": {b.label: {} for b in builds}}
    try:
        for b in builds:
            print(f"preparing {b.label} ...", flush=True)
            b.prepare(args)
        if args.trace:
            args.rounds = 0
            report["trace"] = {b.label: b.trace() for b in builds}
            for name in report["trace"][builds[0].label]:
                print(name, "  ".join(f"{b.label}: {report['trace'][b.label][name]['statements']} statements"
                                      f" {report['trace'][b.label][name]['app_ms']} ms" for b in builds))
        for b in builds:
            report.setdefault("idle", {})[b.label] = b.idle(args.idle)
        for r in range(args.rounds):
            for key in args.scenarios:
                for b in builds if r % 2 == 0 else builds[::-1]:
                    m = b.measure(key, args)
                    m["loadavg"] = os.getloadavg()[0]
                    report["runs"][b.label].setdefault(key, []).append(m)
                    print(f"round {r} {key:24} {b.label:6} app {m['app_ms_per_req']:.3f} ms/req  pg"
                          f" {m['pg_ms_per_req']:.3f}  stmts {m['statements_per_req']:.2f}  {m['req_per_s']} req/s"
                          f"  errors {m['errors']}  load {m['loadavg']:.1f}  runq {m['app_runq_wait_ms_per_req']:.3f} ms/req",
                          flush=True)
        summary: dict[str, Any] = {}
        for key in args.scenarios if args.rounds else ():
            for b in builds:
                runs = report["runs"][b.label][key]
                summary.setdefault(key, {})[b.label] = {
                    f: round(statistics.median(m[f] for m in runs), 3)
                    for f in ("app_ms_per_req", "pg_ms_per_req", "statements_per_req", "req_per_s")}
        report["median"] = summary
        print(json.dumps(summary, indent=1))
    finally:
        for b in builds:
            b.stop()
            shutil.rmtree(b.workdir, ignore_errors=True)
        out.write_text(json.dumps(report, indent=1, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
