"""Issue 11 item 9: the embedded PostgreSQL heals.

The postmaster of `avm serve`'s embedded server is killed with SIGKILL under a write and read
load. `avm serve` (its watchdog) must start it again by itself, on the same socket, and the API
must recover without a restart of the service; meanwhile every answer is a 2xx or a 503 problem
with Retry-After (never a 500, never a hang). Afterwards every acknowledged write is there and
the hash chains verify. A second kill after a healthy period heals again, with the backoff
started over; a server that cannot start is retried with a growing delay (no busy loop) until it
can. SIGTERM still stops the service and its server, and the watchdog does not bring it back.
"""
from __future__ import annotations

import os
import re
import signal
import threading
import time

import psutil
import pytest

from eventstore.watchdog import HEALTHY_RESET_S  # the backoff starts over after this long up
from tests.faults.checks import check_commands, check_read_models_match_log
from tests.faults.harness import FaultRig, Reply, Tenant, http_request, log, now, unhandled_exceptions, wait_for
from tests.faults.load import CommandLoad, status_table

pytestmark = pytest.mark.faults

TENANTS = 4
POOL_SIZE = 4
HANG_LIMIT_S = 8.0       # no request may take longer (connect timeout 2 s in the rig)
BACK_LIMIT_S = 30.0      # the watchdog has the server running again within this
RECOVERY_LIMIT_S = 20.0  # ... and the API answers every request again within this after that


class ReadLoad:
    """Threads reading what the load wrote: the project list and single projects, recording answers."""

    def __init__(self, port: int, load: CommandLoad, threads: int = 2, pace: float = 0.05) -> None:
        self.port, self.load, self.pace = port, load, pace
        self.replies: list[Reply] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._work, args=(n,), daemon=True) for n in range(threads)]

    def start(self) -> ReadLoad:
        for t in self._threads:
            t.start()
        return self

    def _work(self, n: int) -> None:
        i = 0
        while not self._stop.is_set():
            acked = [a for a in self.load.snapshot() if a.reply.ok]
            tenant = self.load.tenants[i % len(self.load.tenants)]
            if acked and i % 2:
                a = acked[(i * 7 + n) % len(acked)]
                reply = http_request(self.port, "GET", f"/api/v1/projects/{a.reply.json()['id']}",
                                     token=a.tenant.token)
            else:
                reply = http_request(self.port, "GET", "/api/v1/projects?limit=5", token=tenant.token)
            self.replies.append(reply)
            i += 1
            self._stop.wait(self.pace)

    def stop(self) -> list[Reply]:
        self._stop.set()
        for t in self._threads:
            t.join(30)
        return list(self.replies)


def kill_postmaster(rig: FaultRig) -> int:
    """SIGKILL the postmaster alone (its backends are left to notice), as the OOM killer would."""
    pid = rig.pg.postmaster_pid()
    assert pid, "PostgreSQL is not running"
    os.kill(pid, signal.SIGKILL)
    return pid


def wait_restarted(rig: FaultRig, old_pid: int, limit: float = BACK_LIMIT_S) -> float:
    t0 = now()
    wait_for(lambda: (pid := rig.pg.postmaster_pid()) and pid != old_pid, limit,
             "the watchdog to start PostgreSQL again", interval=0.1)
    return now() - t0


def refusal_problems(replies: list[Reply], ok: tuple[int, ...], what: str) -> list[str]:
    """Every answer a success or a 503 problem with a Retry-After; none slow beyond the bound."""
    failures = []
    for r in replies:
        if r.status == 503:
            problem = r.json()
            if not r.headers.get("retry-after", "").isdigit():
                failures.append(f"{what}: 503 without a usable Retry-After: {r.headers}")
            if not (r.headers.get("content-type", "").startswith("application/problem+json")
                    and isinstance(problem, dict) and problem.get("status") == 503):
                failures.append(f"{what}: 503 that is not problem JSON: {r.body[:200]!r}")
        elif r.status not in ok:
            failures.append(f"{what}: {r.describe()}")
        if r.elapsed > HANG_LIMIT_S:
            failures.append(f"{what}: hung {r.elapsed:.1f}s: {r.describe()[:100]}")
    return failures


def metric(port: int, name: str) -> float | None:
    text = http_request(port, "GET", "/metrics").body.decode()
    m = re.search(rf"^{re.escape(name)} (\S+)$", text, re.M)
    return float(m.group(1)) if m else None


@pytest.mark.parametrize("workers", [1, 2], ids=["1-worker", "2-workers"])
def test_killed_postmaster_is_restarted_and_every_acknowledged_write_survives(rig: FaultRig, workers: int) -> None:
    """With --workers, the supervisor owns the server and watches it; each worker's pool recovers."""
    failures: list[str] = []
    rig.env["AVM_POOL_SIZE"] = str(POOL_SIZE)
    rig.env["AVM_WORKERS"] = str(workers)
    serve = rig.start_serve()
    tenants = rig.make_tenants(serve, TENANTS)
    health = http_request(serve.port, "GET", "/api/health").json()
    assert health["checks"]["embedded_postgres"] == {"state": "up", "restarts": 0}, health
    assert metric(serve.port, "avm_embedded_postgres_restarts_total") == 0

    load = CommandLoad(serve.port, tenants, threads_per_tenant=2, cap=24, pace=0.15).start()
    reads = ReadLoad(serve.port, load).start()
    wait_for(lambda: load.count_ok() >= 2 * load.n_threads, 20, "the load to get going")
    load.pace = 0.0  # full speed at the kill: commands in flight and committing when it hits
    time.sleep(0.3)
    before = load.count_ok()
    socket_before = {k: v for k, v in rig.pg.info().items() if k in ("socket_dir", "port")}
    old_pid = kill_postmaster(rig)
    load.pace = 0.1
    t_kill = now()
    log(f"SIGKILL postmaster pid {old_pid} after {before} acknowledged commands")
    took = wait_restarted(rig, old_pid)
    t_back = now()
    log(f"PostgreSQL running again (pid {rig.pg.postmaster_pid()}) {took:.1f}s after the kill")
    wait_for(lambda: load.settled_since(t_back, quiet=1.5), RECOVERY_LIMIT_S,
             "the load to succeed again after the restart", interval=0.2)
    attempts = load.stop()
    replies = reads.stop()
    during = [a for a in attempts if t_kill <= a.reply.t0 <= t_back]
    log(f"writes: {len(attempts)} ({status_table(attempts)}); during the outage {status_table(during)}; "
        f"reads: {len(replies)} ({', '.join(f'{s}: {sum(1 for r in replies if r.status == s)}' for s in sorted({r.status or 0 for r in replies}))})")

    # -- the service was never restarted, and said what happened
    assert serve.alive() and len(rig.serves) == 1, f"avm serve died:\n{serve.log()[-3000:]}"
    text = serve.log()
    assert "restart attempt 1 in 0.5 s" in text and "embedded PostgreSQL restarted after" in text, text[-3000:]
    # the same socket: the URLs handed out before still work (the superuser one here, the pool's above)
    socket_after = {k: v for k, v in rig.pg.info().items() if k in ("socket_dir", "port")}
    assert socket_after == socket_before, (socket_before, socket_after)

    # -- writes and reads answered 2xx or 503 + Retry-After, never a 500, never a hang
    failures += refusal_problems([a.reply for a in attempts], (201,), "write")
    failures += refusal_problems(replies, (200,), "read")
    if not any(a.reply.ok for a in attempts if a.reply.t0 > t_back):
        failures.append("no write succeeded after PostgreSQL came back")

    # -- every acknowledged write is there, exactly once, readable through the API
    acked = [a for a in attempts if a.reply.ok]
    for a in acked:
        got = http_request(serve.port, "GET", f"/api/v1/projects/{a.reply.json()['id']}", token=a.tenant.token)
        if got.status != 200 or (got.json() or {}).get("title") != a.title:
            failures.append(f"acknowledged {a.key} not readable: {got.describe()}")
    with rig.db() as conn:
        failures += check_commands(conn, tenants, attempts)
        failures += check_read_models_match_log(conn, tenants)
    log(f"{len(acked)} acknowledged writes checked")

    # -- the chains verify, by the CLI and by the endpoint
    rig.cli("audit", "verify")
    for tenant in tenants:
        check = http_request(serve.port, "GET", "/api/v1/audit/verify", token=tenant.token)
        if check.status != 200 or not (check.json() or {}).get("ok"):
            failures.append(f"audit verify of tenant {tenant.id}: {check.describe()}")

    # -- the restart is counted and the state shown
    health = http_request(serve.port, "GET", "/api/health").json()
    if health["checks"].get("embedded_postgres") != {"state": "up", "restarts": 1}:
        failures.append(f"health after the restart: {health['checks'].get('embedded_postgres')}")
    if metric(serve.port, "avm_embedded_postgres_restarts_total") != 1:
        failures.append(f"/metrics restart counter: {metric(serve.port, 'avm_embedded_postgres_restarts_total')}")

    failures += unhandled_exceptions(text)

    # -- SIGTERM stops the service and its server; the watchdog does not bring it back
    assert serve.terminate() == 0, serve.log()[-2000:]
    time.sleep(2 * 1.0 + 0.5)
    assert not rig.pg.running() and rig.pg.info() is None, "PostgreSQL runs after avm serve stopped"
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures[:30])


def test_a_second_kill_heals_again_and_a_crash_loop_backs_off(rig: FaultRig) -> None:
    serve = rig.start_serve()
    tenant = rig.make_tenants(serve, 1)[0]

    # -- first kill: healed
    old = kill_postmaster(rig)
    log(f"first kill: back after {wait_restarted(rig, old):.1f}s")
    wait_for(lambda: post(serve, tenant, "a").status == 201, RECOVERY_LIMIT_S, "a write to succeed", interval=0.5)

    # -- a healthy period, then a second kill while PostgreSQL cannot start: it is tried again and
    #    again, further and further apart, without spinning, until it can
    time.sleep(HEALTHY_RESET_S + 1)
    auto_conf = rig.pg.pgdata / "postgresql.auto.conf"
    good = auto_conf.read_text()
    auto_conf.write_text(good + "\nshared_buffers = 'not a size'\n")
    proc = psutil.Process(serve.pid)
    cpu0, t0 = sum(proc.cpu_times()[:2]), now()
    old = kill_postmaster(rig)
    wait_for(lambda: serve.log().count("restart attempt 4 in 4.0 s") >= 1, 30,
             "four failed attempts of the second outage")
    cpu = sum(proc.cpu_times()[:2]) - cpu0
    span = now() - t0
    assert not rig.pg.running()
    reply = http_request(serve.port, "GET", "/api/v1/projects", token=tenant.token)
    assert reply.status == 503 and reply.headers.get("retry-after", "").isdigit(), reply.describe()
    health = http_request(serve.port, "GET", "/api/health")
    assert health.status == 503 and health.json()["checks"]["embedded_postgres"]["state"] == "restarting"
    auto_conf.write_text(good)
    log(f"second kill: 3 failed attempts in {span:.1f}s using {cpu:.2f}s of CPU; configuration repaired")
    assert cpu < 0.3 * span, f"the watchdog used {cpu:.1f}s of CPU in {span:.1f}s of failed restarts"
    log(f"second kill: back {wait_restarted(rig, old):.1f}s after the repair")
    t_back = now()
    wait_for(lambda: post(serve, tenant, "b").status == 201, RECOVERY_LIMIT_S, "a write to succeed", interval=0.5)
    log(f"second kill: the first write succeeded {now() - t_back:.1f}s after the restart")

    text = serve.log()
    # the second outage's attempts were numbered (and spaced) from the start again: the backoff reset
    second_outage = text.split("embedded PostgreSQL restarted after", 1)[1]
    delays = [(int(n), float(d)) for n, d in re.findall(r"restart attempt (\d+) in (\S+) s", second_outage)]
    assert delays[:4] == [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0)], delays
    assert "pg_ctl start failed" in text
    assert text.count("embedded PostgreSQL restarted after") == 2
    assert metric(serve.port, "avm_embedded_postgres_restarts_total") == 2
    assert serve.alive() and len(rig.serves) == 1
    rig.cli("audit", "verify")


_posts = iter(range(10**6))


def post(serve: object, tenant: Tenant, tag: str) -> Reply:
    n = next(_posts)
    return http_request(serve.port, "POST", "/api/v1/projects", token=tenant.token,  # type: ignore[attr-defined]
                        headers={"Idempotency-Key": f"heal-{tag}-{n}"}, body={"title": f"heal {tag} {n}"})


def test_a_server_stopped_on_purpose_stays_stopped(rig: FaultRig) -> None:
    """`pg_ctl stop` removes postmaster.pid: a deliberate stop, not a crash; the watchdog leaves it."""
    serve = rig.start_serve()
    rig.pg.stop("fast")
    time.sleep(3.0)
    assert not rig.pg.running(), "the watchdog started a server that was stopped on purpose"
    health = http_request(serve.port, "GET", "/api/health")
    assert health.status == 503 and health.json()["checks"]["embedded_postgres"] == {"state": "stopped",
                                                                                      "restarts": 0}
    rig.pg.start()
    wait_for(lambda: http_request(serve.port, "GET", "/api/health").status == 200, RECOVERY_LIMIT_S, "health")
    wait_for(lambda: http_request(serve.port, "GET", "/api/health").json()["checks"]["embedded_postgres"]
             == {"state": "up", "restarts": 0}, 5, "the watchdog to see the server up again")
    assert "not restarting a server stopped on purpose" in serve.log()


def test_the_watchdog_can_be_turned_off(rig: FaultRig) -> None:
    rig.env["AVM_DB_WATCHDOG"] = "0"
    serve = rig.start_serve()
    assert "embedded_postgres" not in http_request(serve.port, "GET", "/api/health").json()["checks"]
    kill_postmaster(rig)
    time.sleep(4.0)
    assert not rig.pg.running(), "PostgreSQL was restarted with AVM_DB_WATCHDOG=0"
    assert "restart attempt" not in serve.log()
    assert metric(serve.port, "avm_embedded_postgres_restarts_total") is None
