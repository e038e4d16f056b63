"""The bench_percall medians as markdown: app ms, PostgreSQL ms and statements per request, per build.
Usage: python3 bench/results/i17-multi/percall_table.py percall-w1.json [...]"""
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
for name in sys.argv[1:]:
    d = json.loads((HERE / name).read_text())
    print(f"\n`{name}` (load average at start {', '.join(f'{x:.1f}' for x in d['loadavg_start'])}):\n")
    builds = list(next(iter(d["median"].values())))
    print("| scenario | " + " | ".join(f"{b}: app / pg ms, statements" for b in builds) + " |")
    print("|---" * (len(builds) + 1) + "|")
    for k, v in d["median"].items():
        print(f"| {k} | " + " | ".join(f"{v[b]['app_ms_per_req']:.2f} / {v[b]['pg_ms_per_req']:.2f}, {v[b]['statements_per_req']:.1f}"
                                       for b in builds) + " |")
