"""The rounds' table: rate (req/s; job_cycle: jobs/s), p99 ms and app+PostgreSQL CPU ms per request of
each scenario, the reference's rate and the load average of each run (from rounds.log).
Usage: python3 bench/results/i17-multi/table.py > bench/results/i17-multi/rounds.md"""
import json
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
SC = ["update_project", "job_cycle", "create_project_tenants", "get_project"]
loads = {}
for line in (HERE / "rounds.log").read_text().splitlines():
    m = re.match(r"(\S+) (start|end)\s+\S+/suite-(\S+) load (\S+) (\S+) (\S+)", line)
    if m:
        loads.setdefault(m.group(3), {})[m.group(2)] = f"{m.group(1)} {m.group(4)}"

print("| run | " + " | ".join(SC) + " | reference_append | load avg (1 min) at start → end |")
print("|---" * (len(SC) + 3) + "|")
for d in sorted(HERE.glob("suite-*/suite.json"), key=lambda p: loads.get(p.parent.name[6:], {}).get("start", "")):
    run = d.parent.name[6:]
    s = json.loads(d.read_text())["scenarios"]
    cells = []
    for k in SC:
        v = s.get(k)
        if not v:
            cells.append("–")
            continue
        rate = v.get("jobs_per_s") if k == "job_cycle" else v.get("requests_per_s")
        cpu = v.get("server_cpu", {}).get("total_ms_per_request")
        cells.append(f"{rate:.1f} / p99 {v['latency_ms']['p99']:.0f} / {cpu:.2f} ms")
    ref = s.get("reference_append", {}).get("requests_per_s")
    ld = loads.get(run, {})
    print(f"| {run} | " + " | ".join(cells) + f" | {ref} | {ld.get('start', '?')} → {ld.get('end', '?')} |")
