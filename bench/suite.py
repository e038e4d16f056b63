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
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))
sys.path.insert(1, str(ROOT))

from procfs import find_avm, free_port, machine_facts  # noqa: E402
from suite_bigstore import BigStore  # noqa: E402
from suite_measure import Measuring  # noqa: E402
from suite_processes import ServerProc, Shutdown, SuiteFailure, pg_conninfo, postmaster_info  # noqa: E402
from suite_report import compute_ratios_and_targets, summarise_errors, write_summary  # noqa: E402
from suite_sampling import Sampler  # noqa: E402
from suite_scenarios import BY_KEY, Preparation, make_story  # noqa: E402

RATE_LIMIT = "1000000"


class Suite(Preparation, Measuring, BigStore, Shutdown):
    """One run of the suite: its servers, its spec for the load generator, and its report. The
    methods live with what they do: suite_scenarios (preparation), suite_measure (measuring, the
    soak), suite_bigstore (the big store), suite_processes (shutdown); here, the infrastructure."""

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
        # the read yardstick's table (issue 17), in the reference's database, also made once here
        from read_row_app import prepare as prepare_read_rows

        self.spec["pools"]["read_row"] = prepare_read_rows(pg_conninfo(pm, "reference"))
        self.write_spec()
        row_env = {"READ_ROW_CONNINFO": pg_conninfo(pm, "reference"), "READ_ROW_POOL_SIZE": str(self.args.pool_size)}

        for name, target, health, extra in (("reference", "reference_app:create_app", "/health", ref_env),
                                            ("hello", "hello_app:create_app", "/hello", {}),
                                            ("read_row", "read_row_app:create_app", "/health", row_env)):
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
            # The servers' data dir holds the master key that seals personal fields (issue 15): this process
            # must open the same one, not ./.data of wherever the suite was started.
            os.environ["AVM_DATA_DIR"] = str(self.data_dir)
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
