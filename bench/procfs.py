"""/proc readers shared by the benchmarks (bench_create_projects.py, suite.py): process trees, their
CPU seconds, RSS and PSS, the machine's CPU counters and facts, signals, free ports, leftovers."""
from __future__ import annotations

import os
import platform
import re
import shutil
import socket
import sys
import time
from pathlib import Path
from typing import Any

CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024
ODD = re.compile(r"warn|error|exception|traceback|fatal|critical|fail", re.IGNORECASE)


def _read(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read()
    except OSError:  # the process is gone, or not readable
        return None


def _stat_fields(pid: int) -> list[str] | None:
    text = _read(f"/proc/{pid}/stat")
    if text is None:
        return None
    # the command name (field 2) may contain spaces: split after its closing parenthesis
    return text[text.rfind(")") + 2:].split()  # index 0 is field 3 (state)


def _children_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            f = _stat_fields(int(entry))
            if f:
                kids.setdefault(int(f[1]), []).append(int(entry))
    return kids


def process_tree(root: int | None, kids: dict[int, list[int]] | None = None) -> list[int]:
    if root is None or not os.path.exists(f"/proc/{root}"):
        return []
    kids = _children_map() if kids is None else kids
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(kids.get(pid, []))
    return out


def cpu_seconds(pids: list[int]) -> float:
    """utime+stime of each process, plus cutime+cstime (children it has already reaped)."""
    ticks = 0
    for pid in pids:
        f = _stat_fields(pid)
        if f:
            ticks += sum(int(x) for x in f[11:15])  # fields 14..17
    return ticks / CLK_TCK


def status_kb(pid: int, key: str) -> int:
    text = _read(f"/proc/{pid}/status") or ""
    m = re.search(rf"^{key}:\s+(\d+) kB", text, re.MULTILINE)
    return int(m.group(1)) if m else 0


def pss_kb(pid: int) -> int:
    text = _read(f"/proc/{pid}/smaps_rollup") or ""
    m = re.search(r"^Pss:\s+(\d+) kB", text, re.MULTILINE)
    return int(m.group(1)) if m else 0


def machine_cpu() -> tuple[int, int, int]:
    """(busy, total, steal) jiffies over all CPUs, from /proc/stat."""
    v = [int(x) for x in (_read("/proc/stat") or "cpu 0").splitlines()[0].split()[1:]]
    v += [0] * (8 - len(v))
    total = sum(v[:8])  # user nice system idle iowait irq softirq steal (guest is inside user)
    return total - v[3] - v[4], total, v[7]


def machine_facts() -> dict[str, Any]:
    cpuinfo = _read("/proc/cpuinfo") or ""
    m = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    mem = re.search(r"^MemTotal:\s+(\d+) kB", _read("/proc/meminfo") or "", re.MULTILINE)
    return {
        "nproc": os.cpu_count(),
        "nproc_available": len(os.sched_getaffinity(0)),
        "cpu_model": m.group(1).strip() if m else None,
        "mem_total_mb": round(int(mem.group(1)) / 1024) if mem else None,
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "kernel": platform.release(),
        "loadavg_at_start": (_read("/proc/loadavg") or "").split()[:3],
    }


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        f = _stat_fields(pid)
        if f is None or f[0] == "Z":
            return True
        time.sleep(0.1)
    return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def find_avm() -> str:
    here = Path(sys.executable).parent / "avm"
    return str(here) if here.exists() else (shutil.which("avm") or "avm")


def leftovers(marker: str) -> list[str]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid():
            cmd = (_read(f"/proc/{entry}/cmdline") or "").replace("\0", " ").strip()
            if marker in cmd:
                found.append(f"{entry} {cmd}")
    return found

