"""What the events table lock costs: sample pg_stat_activity of a running avm's embedded PostgreSQL.

Run it next to a `bench/suite.py` run (it finds the newest suite temp directory, or give
`--data-dir <tmp>/.data`; `--suite-pid` counts only while its load runs): every `--interval` seconds for `--seconds` it counts the client backends of the
avm database that are active, and those waiting, by wait event (`Lock/relation` is a committer waiting
for the events table's EXCLUSIVE lock; `Lock/advisory` an advisory lock; `Lock/transactionid` a row or
unique-key wait behind another transaction). Only samples with at least one active backend count (the
load is on). By Little's law the mean number of waiters L over the load's commands per second λ is the
mean wait per command W = L / λ (give `--rate` to have it computed).

    .venv/bin/python bench/lock_waits.py --seconds 8 --out bench/results/i17-multi/lockwaits-w2.json
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from suite_processes import pg_conninfo, postmaster_info

SQL = ("SELECT state, wait_event_type, wait_event FROM pg_stat_activity"
       " WHERE datname = %s AND backend_type = 'client backend' AND pid <> pg_backend_pid()")


def loadgen_running(parent: int) -> bool:
    """Whether a bench/loadgen.py child of `parent` (the suite) runs: a scenario's warm-up or measured run."""
    try:
        children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
    except OSError:
        return False
    for pid in children:
        try:
            if b"loadgen.py" in Path(f"/proc/{pid}/cmdline").read_bytes():
                return True
        except OSError:
            pass
    return False


def newest_data_dir() -> Path:
    dirs = sorted(glob.glob("/tmp/avm-suite-*/.data"), key=os.path.getmtime)
    if not dirs:
        raise SystemExit("no /tmp/avm-suite-*/.data: is a suite running?")
    return Path(dirs[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", type=Path)
    ap.add_argument("--dbname", default="avm")
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--interval", type=float, default=0.005)
    ap.add_argument("--rate", type=float, help="commands per second of the load, for W = L / rate")
    ap.add_argument("--out", type=Path)
    ap.add_argument("--suite-pid", type=int,
                    help="count only samples taken while this suite's bench/loadgen.py runs (checked every 0.2 s)")
    args = ap.parse_args()

    import psycopg

    data_dir = args.data_dir or newest_data_dir()
    pm = postmaster_info(data_dir)
    if pm is None:
        raise SystemExit(f"no running PostgreSQL in {data_dir}")
    waits: Counter[str] = Counter()
    loaded = active_sum = 0
    with psycopg.connect(pg_conninfo(pm, args.dbname), autocommit=True) as conn:
        end = time.monotonic() + args.seconds
        on, checked = True, 0.0
        while time.monotonic() < end:
            if args.suite_pid and time.monotonic() - checked > 0.2:
                if not os.path.exists(f"/proc/{args.suite_pid}"):
                    break  # the suite ended
                on, checked = loadgen_running(args.suite_pid), time.monotonic()
            if not on:
                time.sleep(0.05)
                continue
            rows = conn.execute(SQL, (args.dbname,)).fetchall()
            active = [r for r in rows if r[0] == "active"]
            if active:
                loaded += 1
                active_sum += len(active)
                for _state, kind, event in active:
                    if kind:
                        waits[f"{kind}/{event}"] += 1
            time.sleep(args.interval)
    out = {"data_dir": str(data_dir), "samples_under_load": loaded,
           "mean_active_backends": round(active_sum / loaded, 3) if loaded else None,
           "mean_waiting_by_event": {k: round(v / loaded, 3) for k, v in waits.most_common()} if loaded else {},
           "loadavg": os.getloadavg()}
    if args.rate and loaded:
        out["wait_ms_per_command_events_lock"] = round(1000 * waits["Lock/relation"] / loaded / args.rate, 3)
    print(json.dumps(out, indent=2))
    if args.out:
        args.out.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
