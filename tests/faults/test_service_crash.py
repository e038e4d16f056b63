"""Issue 6 item 7 (b): `kill -9` of `avm serve` under a command load, then a restart in the same
working directory.

Nothing acknowledged may be lost and nothing half-applied may be visible: every acknowledged
command's events are in the log exactly once with its read-model rows, every project row has its
Created event, every aggregate of the log is in the read models at its last version, the inline
projections' positions are the log head, a rebuild changes nothing, and the hash chains verify.
Unacknowledged commands retried with their Idempotency-Key apply at most once.

Two crashes: the service alone (the embedded PostgreSQL keeps running and the new service
attaches to it), and the service together with every PostgreSQL process (a host crash: the new
service must start PostgreSQL again, which recovers from its WAL).
"""
from __future__ import annotations

import time

import pytest

from tests.faults.checks import check_commands, check_read_models_match_log, checksums, conflicted_keys_were_applied
from tests.faults.harness import FaultRig, conclude, create_project, log, now, unhandled_exceptions, wait_for
from tests.faults.load import (
    Attempt, CommandLoad, judge_retries, judge_replays, retry_unacknowledged, status_table,
)

pytestmark = pytest.mark.faults

TENANTS = 8
BURST_S = 0.5           # unpaced load right before the kill: many commands in flight
AFTER_KILL_S = 1.0      # the load keeps knocking on the dead port
BUDGET_S = 90.0


@pytest.mark.parametrize("postgres_too", [False, True], ids=["service-only", "service-and-postgres"])
def test_kill_9_of_the_service_loses_nothing_acknowledged_and_shows_nothing_half_applied(
        rig: FaultRig, postgres_too: bool) -> None:
    began = now()
    failures: list[str] = []
    first = rig.start_serve()
    tenants = rig.make_tenants(first, TENANTS)
    load = CommandLoad(first.port, tenants, threads_per_tenant=2, cap=24, pace=0.2).start()
    wait_for(lambda: load.count_ok() >= load.n_threads, 15, "the load to get going")
    load.pace = 0.0
    time.sleep(BURST_S)

    t_kill = now()
    first.kill9()
    killed_pg = rig.pg.kill9() if postgres_too else []
    load.pace = 0.1
    log(f"kill -9 avm serve pid {first.pid}" + (f" and PostgreSQL pids {killed_pg}" if postgres_too else "")
        + f" after {load.count_ok()} acknowledged commands")
    time.sleep(AFTER_KILL_S)
    attempts = load.stop()
    log(f"load: {len(attempts)} commands ({status_table(attempts)})")
    acked_before_kill = [a for a in attempts if a.reply.ok]
    assert all(a.reply.t1 <= t_kill + 0.5 for a in acked_before_kill)
    bad = [a.reply.describe() for a in attempts if a.reply.status not in (201, None)]
    failures += [f"answer other than 201 before the kill: {b}" for b in bad]

    pg_alive = rig.pg.running()
    log(f"PostgreSQL after the crash: {'still running' if pg_alive else 'down'}")
    assert pg_alive != postgres_too
    t_restart = now()
    second = rig.start_serve(port=first.port)
    log(f"restarted in {now() - t_restart:.1f}s on the same port, PostgreSQL "
        + ("attached" if pg_alive else "started again (crash recovery)"))
    assert rig.pg.running()

    # -- the restarted service works: unacknowledged commands retried with their key, new ones
    retries = retry_unacknowledged(second.port, attempts)
    log(f"retried {len(retries)} unacknowledged commands: {status_table(retries)}")
    failures += judge_retries(rig, attempts, retries)
    failures += judge_replays(second.port, attempts)
    fresh = []
    for i, tenant in enumerate(tenants):
        key, title = f"after-crash-{load.run}-{i}", f"after crash {load.run} {i}"
        fresh.append(Attempt(tenant, key, title, "fresh", create_project(second.port, tenant.token, key, title)))
    failures += [f"new command after the restart answered {a.reply.describe()}" for a in fresh if a.reply.status != 201]

    with rig.db() as conn:
        # every acknowledged command is there, exactly once, with its rows; no key applied twice
        failures += check_commands(conn, tenants, attempts + retries + fresh)
        # nothing half-applied: rows and log agree aggregate by aggregate; positions at the head
        failures += check_read_models_match_log(conn, tenants)
        failures += conflicted_keys_were_applied(conn, retries, rig)
        rows_without_created = conn.execute(
            "SELECT p.id FROM projects p WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.originator_id = p.id"
            " AND e.topic = 'domain.projects:Project.Created')").fetchall()
        failures += [f"project row {r['id']} has no Created event" for r in rows_without_created]
        projects_without_row = conn.execute(
            "SELECT DISTINCT e.originator_id FROM events e WHERE e.topic LIKE 'domain.projects:Project.%%'"
            " AND NOT EXISTS (SELECT 1 FROM projects p WHERE p.id = e.originator_id)").fetchall()
        failures += [f"project {r['originator_id']} has events but no row" for r in projects_without_row]
        acked = {a.key for a in acked_before_kill}
        kept = conn.execute("SELECT count(DISTINCT command_id) AS n FROM events WHERE command_id = ANY(%s)",
                            (sorted(acked),)).fetchone()["n"]
        log(f"{kept} of {len(acked)} commands acknowledged before the kill are in the log")
        if kept != len(acked):
            failures.append(f"only {kept} of {len(acked)} acknowledged commands survived the crash")
        counts = {r["table"]: r["n"] for r in conn.execute(
            "SELECT 'projects' AS table, count(*) AS n FROM projects UNION ALL"
            " SELECT 'events', count(*) FROM events")}
        before = checksums(conn)

    # -- counts and contents match a rebuild; the hash chains verify
    out = rig.cli("projections", "rebuild")
    with rig.db() as conn:
        rebuilt = checksums(conn)
    log(f"rebuild: {out.strip()} ({counts})")
    if rebuilt != before:
        failures.append(f"`avm projections rebuild` changed the read models:\n  before {before}\n  after  {rebuilt}")
    rig.cli("audit", "verify")

    failures += unhandled_exceptions(second.log(), " in the restarted service's log")

    conclude(rig, failures, began, BUDGET_S)


def test_sigusr1_prints_every_thread_stack_of_a_running_service(rig: FaultRig) -> None:
    """What a stuck `avm serve` waits on can be read without stopping it: SIGUSR1 writes every thread's
    stack to its log (and the service goes on serving)."""
    serve = rig.start_serve()
    stacks = serve.stacks()
    assert "most recent call first" in stacks and "uvicorn" in stacks, stacks[-2000:]
    assert stacks.count("Thread 0x") >= 2, stacks[-2000:]  # every thread, not only the main one
    assert create_project(serve.port, serve.demo_token or "", "usr1", "after the dump").status == 201
