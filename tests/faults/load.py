"""Fault-test load: threads that create projects and record every answer, and the retries of
the commands whose answer was lost."""
from __future__ import annotations

import threading
import uuid
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from tests.faults.harness import FaultRig, Reply, Tenant, create_project, now


@dataclass
class Attempt:
    tenant: Tenant
    key: str
    title: str
    phase: str
    reply: Reply
    thread: int = 0


class CommandLoad:
    """Threads that each create projects for one tenant, one request at a time, each with a new
    Idempotency-Key and a unique title, and record every answer.

    `cap` bounds the commands per thread so that threads_per_tenant * cap stays under the
    premium daily quota of projects (50).
    """

    def __init__(self, port: int, tenants: Sequence[Tenant], *, threads_per_tenant: int = 2, cap: int = 24,
                 pace: float = 0.25, timeout: float = 20.0) -> None:
        assert threads_per_tenant * cap <= 50, "would run into the premium daily project quota"
        self.port = port
        self.tenants = list(tenants)
        self.threads_per_tenant = threads_per_tenant
        self.cap = cap
        self.pace = pace
        self.timeout = timeout
        self.run = uuid.uuid4().hex[:8]
        self.attempts: list[Attempt] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def n_threads(self) -> int:
        return len(self._threads)

    def start(self) -> CommandLoad:
        for t, tenant in enumerate(self.tenants):
            for w in range(self.threads_per_tenant):
                n = t * self.threads_per_tenant + w
                thread = threading.Thread(target=self._work, args=(tenant, t, n), name=f"load-{n}", daemon=True)
                self._threads.append(thread)
        for thread in self._threads:
            thread.start()
        return self

    def _work(self, tenant: Tenant, t: int, n: int) -> None:
        for i in range(self.cap):
            if self._stop.is_set():
                return
            key = f"flt-{self.run}-{n}-{i}"
            title = f"fault {self.run} tenant {t} thread {n} #{i}"
            reply = create_project(self.port, tenant.token, key, title, timeout=self.timeout)
            with self._lock:
                self.attempts.append(Attempt(tenant, key, title, "load", reply, n))
            self._stop.wait(self.pace)

    def stop(self) -> list[Attempt]:
        self._stop.set()
        for thread in self._threads:
            thread.join(self.timeout + 5)
        assert not any(t.is_alive() for t in self._threads), "load threads did not stop"
        return self.snapshot()

    def snapshot(self) -> list[Attempt]:
        with self._lock:
            return list(self.attempts)

    def count_ok(self) -> int:
        return sum(1 for a in self.snapshot() if a.reply.ok)

    def settled_since(self, t: float, quiet: float) -> bool:
        """True once, among requests started after `t`, the last failure is `quiet` seconds old and
        every thread still running has succeeded since."""
        post = [a for a in self.snapshot() if a.reply.t0 >= t]
        last_bad = max((a.reply.t1 for a in post if not a.reply.ok), default=t)
        good_threads = {a.thread for a in post if a.reply.ok and a.reply.t0 > last_bad}
        running = {n for n, th in enumerate(self._threads) if th.is_alive()}
        return now() - last_bad >= quiet and bool(good_threads) and running <= good_threads


def retry_unacknowledged(port: int, attempts: Sequence[Attempt]) -> list[Attempt]:
    """Send every unacknowledged command again: same tenant, same Idempotency-Key, same body.

    Each load thread retries its own commands in order, as its client would, so a tenant sees no
    more concurrent commands than during the load."""
    from concurrent.futures import ThreadPoolExecutor

    by_thread: dict[int, list[Attempt]] = defaultdict(list)
    for a in attempts:
        if not a.reply.ok:
            by_thread[a.thread].append(a)

    def again(todo: list[Attempt]) -> list[Attempt]:
        return [Attempt(a.tenant, a.key, a.title, "retry",
                        create_project(port, a.tenant.token, a.key, a.title, timeout=30), a.thread) for a in todo]

    if not by_thread:
        return []
    with ThreadPoolExecutor(len(by_thread)) as pool:
        return [r for done in pool.map(again, by_thread.values()) for r in done]


def judge_retries(rig: FaultRig, attempts: Sequence[Attempt], retries: Sequence[Attempt]) -> list[str]:
    """Retries must succeed (201, fresh or replayed): a key is recorded with its command's result in
    the command's transaction, so a command applied but never acknowledged is answered on retry with
    its original result (architecture invariant 6). The 409 "applied but its response is not
    available" is left for keys recorded before migration 0012, which a fault run never has."""
    first = {a.key: a for a in attempts}
    failures = []
    for a in retries:
        if a.reply.status == 201:
            continue
        failures.append(f"retry of {a.key} (first answer: {first[a.key].reply.describe()[:90]}) answered "
                        f"{a.reply.describe()}")
    return failures


def replay_acknowledged(port: int, attempts: Sequence[Attempt], n: int = 6) -> list[tuple[Attempt, Reply]]:
    """Send a few acknowledged commands again: they must be replayed, not applied again."""
    acked = [a for a in attempts if a.reply.ok]
    step = max(1, len(acked) // n)
    return [(a, create_project(port, a.tenant.token, a.key, a.title)) for a in acked[::step][:n]]


def status_table(attempts: Sequence[Attempt]) -> str:
    counts = Counter(a.reply.status if a.reply.status is not None else (a.reply.error or "?").split(":")[0]
                     for a in attempts)
    return ", ".join(f"{k}: {v}" for k, v in sorted(counts.items(), key=str))


def judge_replays(port: int, attempts: Sequence[Attempt]) -> list[str]:
    """A few acknowledged commands sent again must be replayed (201, Idempotent-Replayed, the same
    id), not applied again."""
    return [f"repeat of acknowledged {original.key} answered {again.describe()}"
            for original, again in replay_acknowledged(port, attempts)
            if not (again.status == 201 and again.headers.get("idempotent-replayed") == "true"
                    and (again.json() or {}).get("id") == original.reply.json()["id"])]
