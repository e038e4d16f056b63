"""Benchmark: POST /api/v1/projects (a command: one event appended + inline projection) against
GET /api/health (a cheap read), on one freshly started `avm serve`.

What it does, in order:
  1. makes a temp working directory and starts `avm serve --port P` there as a user would
     (AVM_DATA_DIR=<tmp>/.data, so a fresh embedded PostgreSQL; or DATABASE_URL=--database-url);
  2. waits for GET /api/health to answer 200 (and for the "demo token: ..." line), then creates an
     admin with `avm users create --role admin` (the demo user's quota allows 3 projects a day) and
     loads with its token; AVM_RATE_LIMIT / AVM_RATE_LIMIT_PREMIUM are set to 1,000,000;
  3. runs bench/loadgen.py in a separate process, three phases, each a warm-up (--warmup,
     3 s) then a measured run (--connections, --duration): GET /api/health on the fresh
     database, POST /api/v1/projects {"title": "bench <n>"}, and GET /api/health again (it
     counts rows on every call, so its cost grows with the database);
  4. around each measured run, reads /proc/<pid>/stat of the server's process tree (and of the
     embedded PostgreSQL's tree, which pg_ctl daemonises, so it is not a child of avm) for CPU
     seconds, and samples memory (VmRSS, and PSS for PostgreSQL) every 0.2 s for the peaks;
  5. stops the server with SIGINT (SIGKILL only after --stop-timeout), checks the embedded
     PostgreSQL is gone, and writes the results as JSON (default bench/results/create_projects.json).

Usage:  .venv/bin/python bench/bench_create_projects.py [--duration 20] [--connections 16]
            [--port P] [--database-url URL] [--out FILE] [--warmup 3] [--keep]
"""
from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
LOADGEN = BENCH_DIR / "loadgen.py"
sys.path.insert(0, str(BENCH_DIR))
from procfs import (  # noqa: E402 - /proc helpers (suite.py uses them too)
    CLK_TCK, ODD, _children_map, _read, _signal, _wait_gone, cpu_seconds, find_avm, free_port,
    leftovers, machine_cpu, machine_facts, process_tree, pss_kb, status_kb,
)


# ---------------------------------------------------------------- the server under test

class Server:
    def __init__(self, avm: str, port: int, workdir: Path, database_url: str | None, log_path: Path) -> None:
        self.port = port
        self.workdir = workdir
        self.data_dir = workdir / ".data"
        env = dict(os.environ)
        env.pop("DATABASE_URL", None)
        if database_url:
            env["DATABASE_URL"] = database_url
            env["AVM_SEED_DEMO"] = "1"  # a server database is seeded (and its token printed) only when asked
        # Per-token rate limits would turn the load into 429s: set them out of reach.
        env.update(AVM_DATA_DIR=str(self.data_dir), AVM_HOST="127.0.0.1", PYTHONUNBUFFERED="1",
                   AVM_RATE_LIMIT="1000000", AVM_RATE_LIMIT_PREMIUM="1000000")
        self.env = env
        self.avm = avm
        self.cmd = [avm, "serve", "--port", str(port)]
        self.lines: list[tuple[float, str]] = []
        self.token: str | None = None
        self._log = open(log_path, "w")
        self.t0 = time.perf_counter()
        self.proc = subprocess.Popen(self.cmd, cwd=workdir, env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, bufsize=1, start_new_session=True)
        self._reader = threading.Thread(target=self._read_output, daemon=True)
        self._reader.start()

    def _read_output(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            line = line.rstrip("\n")
            m = re.search(r"demo token:\s*(\S+)", line)
            if m:
                self.token = m.group(1)
            if self.token:  # the saved log may be shared: keep the token out of it
                line = line.replace(self.token, "<redacted>")
            self.lines.append((round(time.perf_counter() - self.t0, 3), line))
            self._log.write(line + "\n")
            self._log.flush()

    def admin_token(self) -> str:
        """A token of a new admin (admins have no daily quota; the demo user may create 3 projects a day),
        created with `avm users create` in the server's directory, as a user would."""
        proc = subprocess.run([self.avm, "users", "create", "--email", "bench-admin@example.com", "--role", "admin"],
                              cwd=self.workdir, env=self.env, capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            raise RuntimeError(f"avm users create failed: {proc.stderr.strip()[-500:]}")
        return proc.stdout.strip().splitlines()[-1].strip()

    def get(self, path: str, timeout: float = 5.0) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def wait_ready(self, timeout: float) -> float:
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"avm serve exited with code {self.proc.returncode} before it was ready")
            try:
                status, _ = self.get("/api/health", timeout=2.0)
                if status == 200 and self.token:
                    return time.perf_counter() - self.t0
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"avm serve was not healthy (with a demo token printed) within {timeout} s")

    def postmaster_pid(self) -> int | None:
        text = _read(str(self.data_dir / "pg" / "postmaster.pid"))
        if not text:
            return None
        pid = int(text.split()[0])
        return pid if os.path.exists(f"/proc/{pid}") else None

    def stop(self, timeout: float) -> dict[str, Any]:
        """SIGINT, wait; SIGKILL only after `timeout`. Then make sure the embedded PostgreSQL is down."""
        pg = self.postmaster_pid()
        out: dict[str, Any] = {"signal": "SIGINT", "killed": False}
        started = time.perf_counter()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                out["killed"] = True
        out["exit_code"] = self.proc.returncode
        out["seconds"] = round(time.perf_counter() - started, 2)
        self._reader.join(5)
        self._log.close()
        if pg is not None:
            out["postgres_stopped_by_server"] = _wait_gone(pg, timeout)
            if not out["postgres_stopped_by_server"]:  # e.g. after SIGKILL: fast shutdown ourselves
                _signal(pg, signal.SIGINT)
                if not _wait_gone(pg, timeout):
                    _signal(pg, signal.SIGKILL)
                    _wait_gone(pg, 5)
            out["postgres_running_after"] = not _wait_gone(pg, 0.5)  # a zombie awaiting its reaper counts as gone
        return out


class Sampler(threading.Thread):
    """Samples memory of the server tree and the PostgreSQL tree; peaks are reset per phase."""

    def __init__(self, server: Server, interval: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.server, self.interval = server, interval
        self.stop_event = threading.Event()
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with getattr(self, "lock", threading.Lock()):
            self.peak = {"server_rss_kb": 0, "postgres_rss_kb": 0, "postgres_pss_kb": 0,
                         "server_procs": 0, "postgres_procs": 0}

    def trees(self) -> tuple[list[int], list[int]]:
        kids = _children_map()
        pg = process_tree(self.server.postmaster_pid(), kids)
        srv = [p for p in process_tree(self.server.proc.pid, kids) if p not in set(pg)]
        return srv, pg

    def sample(self) -> None:
        srv, pg = self.trees()
        now = {"server_rss_kb": sum(status_kb(p, "VmRSS") for p in srv),
               "postgres_rss_kb": sum(status_kb(p, "VmRSS") for p in pg),
               "postgres_pss_kb": sum(pss_kb(p) for p in pg),
               "server_procs": len(srv), "postgres_procs": len(pg)}
        with self.lock:
            for k, v in now.items():
                self.peak[k] = max(self.peak[k], v)

    def run(self) -> None:
        while not self.stop_event.wait(self.interval):
            self.sample()

    def take(self) -> dict[str, int]:
        self.sample()
        with self.lock:
            peak = dict(self.peak)
        self.reset()
        return peak


def cpu_snapshot(sampler: Sampler) -> dict[str, float]:
    srv, pg = sampler.trees()
    busy, total, steal = machine_cpu()
    return {"server": cpu_seconds(srv), "postgres": cpu_seconds(pg), "t": time.perf_counter(),
            "m_busy": busy, "m_total": total, "m_steal": steal}


# ---------------------------------------------------------------- load

def run_loadgen(port: int, connections: int, duration: float, *, method: str, path: str,
                headers: list[str], body: str | None, start_n: int, token: str | None) -> dict[str, Any]:
    cmd = [sys.executable, str(LOADGEN), "--json", "--port", str(port), "-c", str(connections),
           "-d", str(duration), "-X", method, "--start-n", str(start_n), "--expand-env"]
    for h in headers:
        cmd += ["-H", h]
    if body is not None:
        cmd += ["--body", body]
    cmd.append(path)
    env = dict(os.environ, AVM_BENCH_TOKEN=token or "")
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=duration + 120)
    if not proc.stdout.strip():
        raise RuntimeError(f"loadgen failed (code {proc.returncode}): {proc.stderr.strip()[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def measured(server: Server, sampler: Sampler, args: argparse.Namespace, token: str | None,
             **load: Any) -> dict[str, Any]:
    sampler.take()  # reset the peaks
    before = cpu_snapshot(sampler)
    result = run_loadgen(server.port, args.connections, args.duration, token=token, **load)
    after = cpu_snapshot(sampler)
    peaks = sampler.take()
    n = result["requests"] or 1
    srv = after["server"] - before["server"]
    pg = after["postgres"] - before["postgres"]
    m_total = after["m_total"] - before["m_total"] or 1
    result["server_cpu"] = {
        "server_s": round(srv, 2), "postgres_s": round(pg, 2), "total_s": round(srv + pg, 2),
        "server_ms_per_request": round(srv / n * 1000, 3),
        "postgres_ms_per_request": round(pg / n * 1000, 3) if server.postmaster_pid() else None,
        "total_ms_per_request": round((srv + pg) / n * 1000, 3),
        "server_cores_busy": round(srv / (after["t"] - before["t"]), 2),
        "postgres_cores_busy": round(pg / (after["t"] - before["t"]), 2),
        "loadgen_cores_busy": round(result["loadgen_cpu_s"] / result["elapsed_s"], 2),
        "machine_cpu_busy_pct": round(100 * (after["m_busy"] - before["m_busy"]) / m_total, 1),
        "machine_cpu_steal_pct": round(100 * (after["m_steal"] - before["m_steal"]) / m_total, 1),
    }
    # CPU the rest of the machine used meanwhile (other people's work on a shared box): a noise gauge
    wall = after["t"] - before["t"]
    machine_cores = (after["m_busy"] - before["m_busy"]) / CLK_TCK / wall
    result["server_cpu"]["other_processes_cores_busy"] = round(
        max(machine_cores - (srv + pg) / wall - result["loadgen_cpu_s"] / wall, 0.0), 2)
    result["memory_peak_during_run"] = {
        "server_rss_mb": round(peaks["server_rss_kb"] / 1024, 1),
        "postgres_rss_sum_mb": round(peaks["postgres_rss_kb"] / 1024, 1),
        "postgres_pss_mb": round(peaks["postgres_pss_kb"] / 1024, 1),
        "postgres_processes": peaks["postgres_procs"],
        "server_processes": peaks["server_procs"],
    }
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=float, default=20.0, help="seconds per measured run (default 20)")
    ap.add_argument("--connections", type=int, default=16, help="concurrent keep-alive connections (default 16)")
    ap.add_argument("--port", type=int, default=0, help="server port (default: a free one)")
    ap.add_argument("--database-url", default=None, help="use this PostgreSQL instead of a fresh embedded one")
    ap.add_argument("--out", default=str(BENCH_DIR / "results" / "create_projects.json"))
    ap.add_argument("--warmup", type=float, default=3.0, help="seconds of warm-up before each measured run")
    ap.add_argument("--avm", default=find_avm(), help="the avm executable (default: next to this Python)")
    ap.add_argument("--startup-timeout", type=float, default=180.0)
    ap.add_argument("--stop-timeout", type=float, default=30.0)
    ap.add_argument("--keep", action="store_true", help="keep the temp working directory (and its database)")
    args = ap.parse_args(argv)

    out = Path(args.out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    log_path = out.with_suffix(".server.log")
    port = args.port or free_port()
    workdir = Path(tempfile.mkdtemp(prefix="avm-bench-"))
    started_at = dt.datetime.now(dt.timezone.utc)
    report: dict[str, Any] = {
        "benchmark": "create_projects",
        "date": started_at.isoformat(timespec="seconds"),
        "machine": machine_facts(),
        "config": {"duration_s": args.duration, "warmup_s": args.warmup, "connections": args.connections,
                   "port": port, "database": "DATABASE_URL" if args.database_url else "embedded (fresh, temp dir)",
                   "server_command": f"{args.avm} serve --port {port}", "workdir": str(workdir),
                   "loadgen": "bench/loadgen.py (separate process, asyncio, HTTP/1.1 keep-alive, closed loop)"},
    }
    print(f"starting: {args.avm} serve --port {port}   (cwd {workdir})", flush=True)
    server = Server(args.avm, port, workdir, args.database_url, log_path)
    sampler = Sampler(server)
    code = 1
    try:
        ready_s = server.wait_ready(args.startup_timeout)
        report["server"] = {"ready_after_s": round(ready_s, 2), "pid": server.proc.pid,
                            "postmaster_pid": server.postmaster_pid()}
        admin = server.admin_token()
        print(f"ready after {ready_s:.1f} s; admin token from `avm users create`", flush=True)
        sampler.start()
        create = dict(method="POST", path="/api/v1/projects", body='{"title": "bench {n}"}',
                      headers=["Content-Type: application/json", "Authorization: Bearer $AVM_BENCH_TOKEN"])
        health = dict(method="GET", path="/api/health", body=None, headers=[])

        results: dict[str, Any] = {}
        # /api/health counts rows (events, projects, users) on every call, so its cost grows with
        # the database: it is measured on the fresh database and again after the create run.
        phases = [("health_before_create", "GET /api/health", health),
                  ("create_project", "POST /api/v1/projects", create),
                  ("health_after_create", "GET /api/health", health)]
        next_n = 0
        for name, label, load in phases:
            status, body = server.get("/api/health")
            db_stats = json.loads(body).get("stats") if status == 200 else None
            print(f"warm-up {label} {args.warmup} s ...", flush=True)
            warm = run_loadgen(port, args.connections, args.warmup, start_n=next_n, token=admin, **load)
            next_n += warm["requests"] + warm["errors"] + args.connections
            print(f"measuring {label} {args.duration} s x {args.connections} connections ...", flush=True)
            res = measured(server, sampler, args, admin, start_n=next_n, **load)
            next_n += res["requests"] + res["errors"] + args.connections
            res["warmup"] = {k: warm[k] for k in ("requests", "errors", "requests_per_s")}
            res["database_stats_before_warmup"] = db_stats
            results[name] = res
        report["results"] = results
        report["server"]["avm_vmhwm_mb"] = round(status_kb(server.proc.pid, "VmHWM") / 1024, 1)
        report["ratios"] = {f"{h}_over_create_project": ratios(results[h], results["create_project"])
                            for h in ("health_before_create", "health_after_create")}
        code = 0
    except Exception as exc:  # noqa: BLE001 - record it, still stop the server and write the file
        report["failure"] = f"{type(exc).__name__}: {exc}"
        print(f"FAILED: {report['failure']}", file=sys.stderr, flush=True)
    except KeyboardInterrupt:
        report["failure"] = "interrupted"
    finally:
        sampler.stop_event.set()
        print("stopping the server (SIGINT) ...", flush=True)
        report["shutdown"] = server.stop(args.stop_timeout)
        report["leftover_processes"] = leftovers(str(workdir))
        report["server_output"] = {"log_file": str(log_path), "lines": len(server.lines),
                                   "odd_lines": [line for _, line in server.lines if ODD.search(line)]}
        if not args.keep and not report["leftover_processes"]:
            shutil.rmtree(workdir, ignore_errors=True)
        tmp = out.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(report, indent=2) + "\n")
        tmp.replace(out)
    print_summary(report, out)
    return code


def ratios(a: dict[str, Any], b: dict[str, Any]) -> dict[str, float | None]:
    def r(x: float | None, y: float | None) -> float | None:
        return round(x / y, 3) if x is not None and y else None

    return {"requests_per_s": r(a["requests_per_s"], b["requests_per_s"]),
            "p50_latency": r(a["latency_ms"]["p50"], b["latency_ms"]["p50"]),
            "p99_latency": r(a["latency_ms"]["p99"], b["latency_ms"]["p99"]),
            "total_cpu_ms_per_request": r(a["server_cpu"]["total_ms_per_request"],
                                          b["server_cpu"]["total_ms_per_request"])}


def print_summary(report: dict[str, Any], out: Path) -> None:
    for name, r in report.get("results", {}).items():
        cpu, mem, lat = r["server_cpu"], r["memory_peak_during_run"], r["latency_ms"]
        print(f"{name:21s} {r['requests_per_s']:>8} req/s  p50 {lat['p50']} ms  p99 {lat['p99']} ms  "
              f"errors {r['errors']}  CPU {cpu['total_ms_per_request']} ms/req "
              f"(server {cpu['server_ms_per_request']}, postgres {cpu['postgres_ms_per_request']})  "
              f"peak RSS server {mem['server_rss_mb']} MB, postgres PSS {mem['postgres_pss_mb']} MB  "
              f"[other processes: {cpu['other_processes_cores_busy']} cores]")
    sd = report.get("shutdown", {})
    print(f"shutdown: {sd}")
    if report.get("leftover_processes"):
        print(f"LEFTOVER processes: {report['leftover_processes']}")
    odd = report.get("server_output", {}).get("odd_lines", [])
    if odd:
        print(f"{len(odd)} server output line(s) look like warnings/errors; see {report['server_output']['log_file']}")
    print(f"results: {out}")


if __name__ == "__main__":
    sys.exit(main())
