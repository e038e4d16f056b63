"""Sampling /proc while the suite runs: RSS of each server's process tree and PSS of PostgreSQL
(peaks per measurement window), and the slope of a memory series."""
from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from procfs import _children_map, process_tree, pss_kb, status_kb

if TYPE_CHECKING:
    from suite import Suite


class Sampler(threading.Thread):
    """Every `interval` s: RSS of each server's tree (sum and largest process) and PSS of PostgreSQL.
    Peaks are kept per measurement window (reset by take())."""

    def __init__(self, suite: Suite, interval: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.suite, self.interval = suite, interval
        self.stop_event = threading.Event()
        self.lock = threading.Lock()
        self.peak: dict[str, float] = {}
        self.overall: dict[str, float] = {}
        self.seen: dict[str, set[int]] = {}  # every pid seen in each server's tree (workers included)

    def sample(self) -> dict[str, float]:
        kids = _children_map()
        pg = set(process_tree(self.suite.postmaster_pid(), kids))
        now: dict[str, float] = {"postgres_pss_kb": sum(pss_kb(p) for p in pg),
                                 "postgres_rss_sum_kb": sum(status_kb(p, "VmRSS") for p in pg),
                                 "postgres_procs": len(pg)}
        for name, server in self.suite.servers.items():
            pids = [p for p in process_tree(server.pid, kids) if p not in pg]
            rss = [status_kb(p, "VmRSS") for p in pids]
            now[f"{name}_rss_kb"] = sum(rss)
            now[f"{name}_max_proc_rss_kb"] = max(rss, default=0)
            now[f"{name}_procs"] = len(pids)
            self.seen.setdefault(name, set()).update(pids)
        with self.lock:
            for k, v in now.items():
                self.peak[k] = max(self.peak.get(k, 0), v)
                self.overall[k] = max(self.overall.get(k, 0), v)
        return now

    def run(self) -> None:
        while not self.stop_event.wait(self.interval):
            try:
                self.sample()
            except Exception:  # noqa: BLE001 - a process vanished mid-read; the next sample is fine
                pass

    def take(self) -> dict[str, float]:
        self.sample()
        with self.lock:
            peak, self.peak = dict(self.peak), {}
        return peak



def least_squares_slope(points: list[tuple[float, float]]) -> float | None:
    if len(points) < 3:
        return None
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / sxx if sxx else None

