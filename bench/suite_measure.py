"""Measuring a scenario: settle, warm up, run bench/loadgen.py in its own process, read the CPU of
the server and PostgreSQL trees from /proc around it, keep the memory peaks; and the soak."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from procfs import CLK_TCK, _children_map, cpu_seconds, machine_cpu, process_tree
from suite_processes import ServerProc, SuiteFailure, pg_conninfo
from suite_sampling import least_squares_slope
from suite_scenarios import SCENARIOS, SOAK, Scenario

BENCH_DIR = Path(__file__).resolve().parent
LOADGEN = BENCH_DIR / "loadgen.py"
MB = 1024.0


class Measuring:
    """Suite methods: settle, measure each scenario, and the soak."""

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
