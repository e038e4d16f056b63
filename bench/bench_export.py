"""Benchmark: the audit export's streaming path on 100,000 events of one tenant — throughput and peak memory.

What it does, in order:
  1. makes a fresh database: a new embedded PostgreSQL in a temp dir, or a new database on the
     server of --database-url / DATABASE_URL; migrates it;
  2. registers one user (the tenant) and appends --events events for it (Project.Created, then
     Renamed / Described with a ~400-character description, 1,000 events per project) straight
     through the recorder in batches of --batch (one transaction each; the trigger computes
     tenant_seq, recorded_at and the hash chain as for any command). Batches stay near 300 KB:
     AvmRecorder.insert_events hangs when one call's parameters pass ~500 KB (Pipeline.sync()
     in psycopg 3.3 does not flush a large pending message; fetching instead of sync() does);
  3. in a fresh child process (so its memory is the export's alone), runs the export exactly as
     GET /api/v1/audit/export does — projections.audit.seq_bounds + export_lines over the
     service's connection pool, keyset pages of 1,000 rows — writing every chunk to /dev/null,
     and samples VmRSS / VmHWM (peak RSS) from /proc/self/status and the elapsed time when
     10k, 50k and 100k events have been written;
  4. in the same child, times the online chain check (GET /api/v1/audit/verify's code path) and,
     after exporting once more to a temp file, the offline file check (`avm audit verify --file`);
  5. writes the results as JSON (default bench/results/export.json) and stops what it started.

Usage:  .venv/bin/python bench/bench_export.py [--events 100000] [--batch 500] [--page-size 1000]
            [--database-url URL] [--out FILE] [--keep]
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DESCRIPTION = ("A long description of the project, as users paste them: the story of a carpenter crossing the "
               "mountains in winter, the white fox that shows him the way, and the village that waits for him. ") * 2


def status_kb(key: str) -> int:
    text = Path("/proc/self/status").read_text()
    m = re.search(rf"^{key}:\s+(\d+) kB", text, re.MULTILINE)
    return int(m.group(1)) if m else 0


def memory() -> dict[str, float]:
    return {"rss_mb": round(status_kb("VmRSS") / 1024, 1), "peak_rss_mb": round(status_kb("VmHWM") / 1024, 1)}


def machine() -> dict[str, Any]:
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    m = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    return {"nproc": os.cpu_count(), "cpu_model": m.group(1).strip() if m else None,
            "python": platform.python_version(), "kernel": platform.release(),
            "loadavg_at_start": Path("/proc/loadavg").read_text().split()[:3]}


# ---------------------------------------------------------------- set-up: a fresh database with N events

def fresh_database(database_url: str | None, workdir: Path) -> tuple[str, Any, str | None]:
    """(url, embedded server or None, database name to drop afterwards)."""
    import psycopg
    from psycopg import sql
    from psycopg.conninfo import make_conninfo

    from eventstore.database import start_embedded

    if database_url:
        name = f"avm_bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(make_conninfo(database_url, dbname="postgres"), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return make_conninfo(database_url, dbname=name), None, name
    server = start_embedded(workdir / "pg")
    url = server.get_uri("avm")  # type: ignore[attr-defined]
    from eventstore.database import ensure_database

    ensure_database(url)
    return url, server, None


def append_events(url: str, total: int, batch: int) -> dict[str, Any]:
    from api.services import Services
    from domain.application import CommandContext
    from domain.projects import Project
    from eventstore.database import Database
    from eventstore.migrate import upgrade

    upgrade(url)
    services = Services(Database(url=url, embedded=False), pool_size=2)
    try:
        user, _ = services.app.register_user(CommandContext.system("bench"), email="bench@example.com",
                                             name="Bench", role="user")
        tenant = user.id
        ctx = CommandContext(tenant_id=str(tenant), actor_id=str(tenant))
        mapper, recorder = services.app.mapper, services.app.recorder
        appended, started, pending, tenants = 2, time.perf_counter(), [], {}
        project = None
        while appended < total:
            if project is None or project.version >= 1000:
                project = Project.create(tenant_id=str(tenant), title="bench project")
            elif project.version % 2:
                project.rename(f"title {appended}")
            else:
                project.describe(f"{DESCRIPTION} ({appended})")
            tenants[project.id] = tenant
            pending += project.collect_events()
            appended += 1
            if len(pending) >= batch or appended >= total:
                recorder.insert_events([mapper.to_stored_event(e) for e in pending], meta=ctx, tenants=tenants)
                pending, tenants = [], {}
        seconds = time.perf_counter() - started
        with services.read(scope="system") as conn:
            size = conn.execute("SELECT pg_total_relation_size('events') AS b,"
                                " avg(octet_length(state))::int AS s FROM events").fetchone()
        return {"tenant_id": str(tenant), "events": appended, "seconds": round(seconds, 2),
                "events_per_s": round((appended - 2) / seconds), "events_table_mb": round(size["b"] / 2**20, 1),
                "avg_state_bytes": size["s"]}
    finally:
        services.close()


# ---------------------------------------------------------------- the measured child process

def child(url: str, tenant: str, page_size: int, samples: list[int], scratch: Path) -> dict[str, Any]:
    from functools import partial
    from uuid import UUID

    from api.services import Services
    from eventstore.database import Database
    from eventstore.verify import verify_export, verify_pages
    from projections import audit as a
    from projections.audit import offline_decoder

    services = Services(Database(url=url, embedded=False), pool_size=2)
    tenant_id = UUID(tenant)
    connect = partial(services.read, tenant_id)  # what the endpoint passes: reads scoped to the tenant
    try:
        with connect() as conn:  # warm the pool and the prepared statements out of the measurement
            conn.execute("SELECT 1")
        baseline = memory()

        def run(sink: Any, record: list[dict[str, Any]] | None) -> tuple[int, float]:
            with connect() as conn:
                after_seq, upto_seq = a.seq_bounds(conn, tenant_id)
            started, lines, pending = time.perf_counter(), 0, list(samples)
            for chunk in a.export_lines(connect, services.decode_event_state, tenant_id,
                                        after_seq=after_seq, upto_seq=upto_seq, page_size=page_size):
                sink.write(chunk)
                lines += chunk.count(b"\n")
                while record is not None and pending and lines >= pending[0]:
                    elapsed = time.perf_counter() - started
                    record.append({"events": pending.pop(0), "seconds": round(elapsed, 3),
                                   "events_per_s": round(lines / elapsed), **memory()})
            return lines - 1, time.perf_counter() - started

        marks: list[dict[str, Any]] = []
        with open(os.devnull, "wb") as devnull:
            count, seconds = run(devnull, marks)
        export = {"events": count, "seconds": round(seconds, 2), "events_per_s": round(count / seconds),
                  "mb_per_s": None, "samples": marks, "baseline": baseline, "after": memory()}

        started = time.perf_counter()
        report = verify_pages(a.iter_chain(connect, tenant_id, page_size=page_size), tenant_id)
        seconds = time.perf_counter() - started
        online = {"ok": report.ok, "checked": report.checked, "seconds": round(seconds, 2),
                  "events_per_s": round(report.checked / seconds), **memory()}

        path = scratch / "export.ndjson"
        with path.open("wb") as f:
            run(f, None)
        export["mb_per_s"] = round(path.stat().st_size / 2**20 / export["seconds"], 1)
        export["file_mb"] = round(path.stat().st_size / 2**20, 1)
        decode = offline_decoder()
        started = time.perf_counter()
        with path.open("rb") as f:
            offline_report = verify_export(f, lambda row: a.shown_fields(row, decode))
        seconds = time.perf_counter() - started
        offline = {"ok": offline_report.ok, "checked": offline_report.checked, "seconds": round(seconds, 2),
                   "events_per_s": round(offline_report.checked / seconds), **memory()}
        return {"export": export, "verify_online": online, "verify_offline_file": offline}
    finally:
        services.close()


# ---------------------------------------------------------------- main

def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--events", type=int, default=100_000)
    p.add_argument("--batch", type=int, default=500)
    p.add_argument("--page-size", type=int, default=1_000)
    p.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "export.json")
    p.add_argument("--keep", action="store_true", help="keep the temp dir / bench database")
    p.add_argument("--child", nargs=3, metavar=("URL", "TENANT", "SCRATCH"), help=argparse.SUPPRESS)
    args = p.parse_args()
    samples = [s for s in (10_000, 50_000, 100_000) if s <= args.events] or [args.events]

    if args.child:
        url, tenant, scratch = args.child
        print(json.dumps(child(url, tenant, args.page_size, samples, Path(scratch))))
        return 0

    import logging
    import signal

    logging.basicConfig(level=logging.WARNING)
    # SIGTERM/SIGINT become a normal exit, so the finally below stops the embedded server we started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    workdir = Path(tempfile.mkdtemp(prefix="avm-bench-export-"))
    started_at = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    facts = machine()
    url, server, dbname = fresh_database(args.database_url, workdir)
    try:
        print(f"appending {args.events} events ...", file=sys.stderr)
        setup = append_events(url, args.events, args.batch)
        print(f"  {setup['events']} events in {setup['seconds']} s; exporting in a child process ...",
              file=sys.stderr)
        proc = subprocess.run([sys.executable, __file__, "--page-size", str(args.page_size), "--events",
                               str(args.events), "--child", url, setup["tenant_id"], str(workdir)],
                              capture_output=True, text=True, cwd=ROOT, timeout=3600)
        if proc.returncode != 0:
            print(proc.stderr, file=sys.stderr)
            return 1
        measured = json.loads(proc.stdout.strip().splitlines()[-1])
    finally:
        if dbname and not args.keep:
            import psycopg
            from psycopg import sql
            from psycopg.conninfo import make_conninfo

            with psycopg.connect(make_conninfo(url, dbname="postgres"), autocommit=True) as conn:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname)))
        if server is not None:
            try:
                server.cleanup()  # type: ignore[attr-defined]
            except Exception:  # noqa: BLE001 - atexit stops it anyway
                pass
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)

    result = {
        "benchmark": "audit_export",
        "date": started_at,
        "machine": facts,
        "config": {"events": args.events, "insert_batch": args.batch, "page_size": args.page_size,
                   "database": "DATABASE_URL (fresh database)" if dbname else "embedded (fresh, temp dir)",
                   "sink": "/dev/null", "code_path": "projections.audit.seq_bounds + export_lines "
                                                     "(what GET /api/v1/audit/export streams)"},
        "setup": setup,
        **measured,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    e = measured["export"]
    print(f"export: {e['events']} events in {e['seconds']} s = {e['events_per_s']} events/s, "
          f"{e['mb_per_s']} MB/s; peak RSS {e['baseline']['peak_rss_mb']} MB at start -> "
          + ", ".join(f"{s['events']//1000}k: {s['peak_rss_mb']} MB" for s in e["samples"]))
    print(f"results written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
