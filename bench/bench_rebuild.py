"""Benchmark: a blue/green rebuild of every inline read model from 1,000,000 events, side by side
with the raw read rate of the same events.

What it does, in order:
  1. makes a fresh database: an embedded PostgreSQL in a temp directory, or, with DATABASE_URL
     (or --database-url), a new database `avm_bench_<hex>` on that server (dropped afterwards
     unless --keep); migrates it;
  2. generates --events events (default 1,000,000) of the real aggregates, as the application
     would have recorded them: thousands of tenants (users with tokens, settings, presets and
     defaults), projects with stories and scene edits, renames, deletes and restores, render
     jobs with claims, progress, retryable failures, completions and cancels, scene images and
     other assets with expiries, and the per-day usage counters. The domain methods record the
     events, the application's mapper encodes them, and AvmRecorder.insert_events appends them
     in batches of 5,000 (so the chain trigger, sequence and indexes do their real work);
     tenants are interleaved, as concurrent users would be;
  3. runs two measurements, each in a fresh child process (so each has its own peak RSS):
       read     SELECT the events the rebuild reads (same columns, same pages, same cursor),
                decoding nothing: the floor a rebuild cannot beat;
       rebuild  `projections.rebuild.blue_green` of every inline projection: read, decode, fold,
                COPY into new tables, index, catch up, swap;
     and, with --compare N, N pairs of rebuilds alternating (ABBA) the replay as shipped ("direct")
     and as it was before issue 12's fix ("library": every event through the library's
     Mapper.to_domain_event, every tag checked by its full round trip), on the same data;
  4. checks the rebuilt tables are a faithful build (verify: zero differences, unless --no-verify)
     and writes bench/results/rebuild.json: events, seconds and events/s of both, their ratio,
     the rebuild's phases, each child's peak RSS and CPU seconds, the embedded server's CPU, and
     how many cores other processes kept busy meanwhile (the machine may be shared: compare the
     ratio, and read `other_processes_cores_busy` before trusting an absolute number).

Usage:  .venv/bin/python bench/bench_rebuild.py [--events 1000000] [--database-url URL]
            [--out bench/results/rebuild.json] [--profile] [--keep] [--no-verify] [--compare ROUNDS]
        .venv/bin/python bench/bench_rebuild.py --existing URL [--pgdata DIR]   # re-measure a kept database
A full run takes about 3½ minutes (2½ of them generating).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(ROOT / "bench"))

from fresh_database import bench_database  # noqa: E402
from rebuild_history import generate  # noqa: E402


# ------------------------------------------------------------------------------ the measurements

def measure_read(url: str) -> dict[str, Any]:
    """Read every event the rebuild reads, the way it reads them, decoding nothing."""
    import psycopg

    from eventstore.replay import scan_events

    started = time.perf_counter()
    n = 0
    with psycopg.connect(url) as conn:
        head = conn.execute("SELECT coalesce(max(notification_id), 0) FROM events").fetchone()[0]
        with conn.transaction():
            for page in scan_events(conn, upto=head):
                n += len(page)
    seconds = time.perf_counter() - started
    return {"events": n, "seconds": round(seconds, 3), "events_per_s": round(n / seconds)}


VARIANTS = {
    "direct": "the replay as shipped: events of classes at version 1 decoded directly, the event timestamp's"
              " tag taken by its UTC shape",
    "library": "as before issue 12's fix: every event through the library's Mapper.to_domain_event, every tag"
               " checked by the full round trip (decode, then encode and compare)",
}


def use_variant(variant: str) -> None:
    """Switch this process's replay to the variant (the bench compares them on the same data)."""
    if variant == "library":
        import eventstore.transcoder
        from eventstore.replay import Folder

        Folder.direct = False
        eventstore.transcoder._UTC_ISO = lambda text: None  # type: ignore[assignment] # noqa: SLF001


def measure_rebuild(url: str, profile: bool, variant: str = "direct") -> dict[str, Any]:
    """A blue/green rebuild of every inline projection, timed end to end."""
    from api.services import Services
    from eventstore.database import Database
    from projections.rebuild import blue_green

    use_variant(variant)
    services = Services(Database(url=url, embedded=False), pool_size=2)
    try:
        profiler = None
        if profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        started = time.perf_counter()
        result = blue_green(url, services.app.mapper)
        seconds = time.perf_counter() - started
        if profiler:
            profiler.disable()
            import pstats

            pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(25)
    finally:
        services.close()
    return {"variant": variant, "events": result.events, "seconds": round(seconds, 3),
            "events_per_s": round(result.events / seconds),
            "aggregates": result.aggregates, "rows": result.rows, "phases": result.phases}


def measure_verify(url: str) -> dict[str, Any]:
    from api.services import Services
    from eventstore.database import Database
    from projections.rebuild import verify

    services = Services(Database(url=url, embedded=False), pool_size=2)
    try:
        started = time.perf_counter()
        result = verify(url, services.app.mapper)
        return {"differences": len(result.differences), "seconds": round(time.perf_counter() - started, 3)}
    finally:
        services.close()


CLK_TCK = os.sysconf("SC_CLK_TCK")


def machine_busy_jiffies() -> tuple[int, int]:
    """(busy, total) jiffies of every core, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return sum(fields) - idle, sum(fields)


def postgres_cpu(pgdata: Path | None) -> float | None:
    """CPU seconds of the embedded server: the postmaster (with the backends it reaped) and its live children."""
    if pgdata is None:
        return None
    try:
        pid = int((pgdata / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    total = 0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text()
        except OSError:
            continue
        f = stat[stat.rindex(")") + 2:].split()
        ppid, utime, stime, cutime, cstime = int(f[1]), int(f[11]), int(f[12]), int(f[13]), int(f[14])
        if int(proc.name) == pid:
            total += utime + stime + cutime + cstime
        elif ppid == pid:
            total += utime + stime
    return total / CLK_TCK


def child(kind: str, url: str, pgdata: Path | None = None, profile: bool = False,
          variant: str = "direct") -> dict[str, Any]:
    """Run one measurement in a fresh process: its result, its peak RSS and CPU, and who else used the cores."""
    cmd = [sys.executable, __file__, "--child", kind, "--url", url, "--variant", variant] + (
        ["--profile"] if profile else [])
    busy0, total0 = machine_busy_jiffies()
    pg0, wall0 = postgres_cpu(pgdata), time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - wall0
    busy1, total1 = machine_busy_jiffies()
    pg1 = postgres_cpu(pgdata)
    sys.stderr.write(proc.stderr)
    if proc.returncode != 0:
        raise SystemExit(f"{kind} failed ({proc.returncode})")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    cores = os.cpu_count() or 1
    machine_cores_busy = (busy1 - busy0) / max(total1 - total0, 1) * cores
    pg_cores = (pg1 - pg0) / wall if pg0 is not None and pg1 is not None else None
    result["cpu"] = {
        "process_cpu_s": result.pop("cpu_s"),
        "process_cores_busy": round(result["cpu_s_total"] / wall, 2) if "cpu_s_total" in result else None,
        "postgres_cpu_s": round(pg1 - pg0, 2) if pg_cores is not None else None,  # type: ignore[operator]
        "machine_cores_busy": round(machine_cores_busy, 2),
        "other_processes_cores_busy": round(max(machine_cores_busy - result["cpu_s_total"] / wall
                                                - (pg_cores or 0.0), 0.0), 2),
        "wall_s": round(wall, 2),
    }
    result.pop("cpu_s_total", None)
    return result


def compare(url: str, pgdata: Path | None, rounds: int) -> dict[str, Any]:
    """The old and the new replay side by side: `rounds` pairs of rebuilds of the same database, each in
    a fresh process, alternating which goes first (ABBA), so that the machine's load hits both alike."""
    runs: dict[str, list[dict[str, Any]]] = {v: [] for v in VARIANTS}
    for r in range(rounds):
        for variant in (("library", "direct") if r % 2 == 0 else ("direct", "library")):
            result = child("rebuild", url, pgdata, variant=variant)
            runs[variant].append(result)
            print(f"compare round {r + 1} {variant:>7}: {result['events_per_s']:,} events/s, fold CPU"
                  f" {result['phases']['fold_cpu']:.2f} s, others {result['cpu']['other_processes_cores_busy']}"
                  " cores", file=sys.stderr, flush=True)

    def median(values: list[float]) -> float:
        v = sorted(values)
        return v[len(v) // 2] if len(v) % 2 else (v[len(v) // 2 - 1] + v[len(v) // 2]) / 2

    summary = {v: {"events_per_s": [r["events_per_s"] for r in rs],
                   "median_events_per_s": round(median([r["events_per_s"] for r in rs])),
                   "fold_cpu_s": [r["phases"]["fold_cpu"] for r in rs],
                   "median_fold_cpu_s": round(median([r["phases"]["fold_cpu"] for r in rs]), 3),
                   "process_cpu_s": [r["cpu"]["process_cpu_s"] for r in rs],
                   "other_processes_cores_busy": [r["cpu"]["other_processes_cores_busy"] for r in rs]}
               for v, rs in runs.items()}
    return {"rounds": rounds, "variants": VARIANTS, **summary,
            "speedup_events_per_s": round(summary["direct"]["median_events_per_s"]
                                          / summary["library"]["median_events_per_s"], 3),
            "fold_cpu_ratio_library_to_direct": round(summary["library"]["median_fold_cpu_s"]
                                                      / summary["direct"]["median_fold_cpu_s"], 3),
            "runs": runs}


def machine() -> dict[str, Any]:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem = next((int(line.split()[1]) // 1024 for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal")), None)
    return {"nproc": os.cpu_count(), "cpu": cpu, "mem_mb": mem, "python": platform.python_version(),
            "kernel": platform.release(), "loadavg": os.getloadavg()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "rebuild.json"))
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the rebuild child")
    parser.add_argument("--keep", action="store_true", help="keep the database (and temp dir)")
    parser.add_argument("--no-verify", action="store_true")
    parser.add_argument("--existing", metavar="URL", help="measure an already generated database (skips 1-2)")
    parser.add_argument("--pgdata", help="with --existing: the embedded server's data directory (for its CPU)")
    parser.add_argument("--compare", type=int, default=0, metavar="ROUNDS",
                        help="then ROUNDS x (old, new) rebuilds alternating, on the same data (see VARIANTS)")
    parser.add_argument("--child", choices=("read", "rebuild", "verify"), help=argparse.SUPPRESS)
    parser.add_argument("--variant", choices=tuple(VARIANTS), default="direct", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        result = {"read": lambda: measure_read(args.url), "rebuild": lambda: measure_rebuild(args.url, args.profile, args.variant),
                  "verify": lambda: measure_verify(args.url)}[args.child]()
        usage = resource.getrusage(resource.RUSAGE_SELF)
        result["peak_rss_mb"] = round(usage.ru_maxrss / 1024, 1)
        result["cpu_s_total"] = usage.ru_utime + usage.ru_stime  # the whole child, start-up included
        result["cpu_s"] = round(result["cpu_s_total"], 2)
        print(json.dumps(result))
        return

    if args.existing:
        @contextmanager
        def existing() -> Iterator[tuple[str, Path | None]]:
            yield args.existing, Path(args.pgdata) if args.pgdata else None
        database = existing()
    else:
        print(f"generating {args.events:,} events ...", file=sys.stderr)
        database = bench_database(args.database_url, args.keep)
    with database as (url, pgdata):
        if args.existing:
            import psycopg

            from eventstore import migrate

            migrate.upgrade(url)
            with psycopg.connect(url) as conn:
                generated = {"events": conn.execute("SELECT count(*) FROM events").fetchone()[0],
                             "tenants": conn.execute("SELECT count(DISTINCT tenant_id) FROM events").fetchone()[0],
                             "seconds": None, "existing": True}
        else:
            generated = generate(url, args.events)
        print(f"generated: {generated}", file=sys.stderr)
        read = child("read", url, pgdata)
        print(f"read:      {read}", file=sys.stderr)
        rebuild = child("rebuild", url, pgdata, args.profile)
        print(f"rebuild:   {rebuild}", file=sys.stderr)
        compared = compare(url, pgdata, args.compare) if args.compare else None
        verified = None if args.no_verify else child("verify", url, pgdata)
        if verified is not None:
            print(f"verify:    {verified}", file=sys.stderr)
    report = {
        "benchmark": "rebuild",
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "database": ("existing database" if args.existing else
                     "DATABASE_URL" if args.database_url else "embedded PostgreSQL (temp dir)"),
        "generated": generated,
        "read": read,
        "rebuild": rebuild,
        "verify": verified,
        "compare": compared,
        "ratio_rebuild_to_read": round(rebuild["events_per_s"] / read["events_per_s"], 3),
        "target_events_per_s": 50_000,
        "machine": machine(),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({k: report[k] for k in ("read", "rebuild", "ratio_rebuild_to_read")}, indent=2))
    if compared:
        print(json.dumps({k: v for k, v in compared.items() if k not in ("runs", "variants")}, indent=2))


if __name__ == "__main__":
    main()
