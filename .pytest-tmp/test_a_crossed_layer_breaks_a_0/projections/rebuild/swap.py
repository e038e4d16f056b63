"""Blue/green rebuild: build beside the live tables while the service serves, catch up, then swap
(or, for one tenant, replace that tenant's rows) under a short lock on the events."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.persistence import Mapper
from psycopg import sql

from eventstore.replay import log_head
from eventstore.statements import set_config_sql
from projections.base import InlineProjection
from projections.inline import select
from projections.rebuild.builder import Builder, set_tracking
from projections.rebuild.catalog import (
    Target, aside_name, build_indexes, check_swappable, create_targets, owner_connection, table_extras,
)
from projections.rebuild.status import (
    RUNNING, RebuildProgress, RebuildResult, RebuildRunning, database_key, lock_projections,
)

SMALL_TAIL = 2_000  # catch up without a lock until the tail is at most this many positions


CATCH_UP_ROUNDS = 8


SWAP_LOCK_TIMEOUT = "500ms"  # for the live tables: below deadlock_timeout (1 s), we give way to readers


EVENTS_LOCK_TIMEOUT = "3s"


SWAP_DEADLINE = 120.0  # seconds of retrying the swap before giving up (live tables stay as they were)


def blue_green(url: str, mapper: Mapper[Any], names: Sequence[str] | None = None, *,
               tenant_id: UUID | None = None, progress: Callable[[RebuildProgress], None] | None = None,
               swap_deadline: float = SWAP_DEADLINE) -> RebuildResult:
    """Rebuild the named projections (all when none) while the service keeps serving.

    One transaction on an owner connection (`url`; DDL needs the tables' owner):
    1. build: new tables `<table>__rb` (same columns, constraints and defaults as the live ones),
       filled by COPY from the log up to its head H0, then indexed and analysed; no lock that
       readers or writers notice;
    2. catch up, unlocked, the events appended meanwhile (re-folding each affected aggregate from
       its full stream) until the tail is small;
    3. in a savepoint: take the events lock (EXCLUSIVE: writers wait, readers do not), catch up
       the last events, then swap: drop the live table, rename the new one and its indexes and
       constraints to the live names, re-apply grants, row-level security, policies, triggers;
       set the projections' tracking to the head. Commit: readers see the old rows, then the new.
       If a lock is not granted within SWAP_LOCK_TIMEOUT (a reader holds the table), the savepoint
       is rolled back, and the swap is retried after another unlocked catch-up.
    For one tenant, step 1 builds that tenant's rows in scratch tables, and step 3 replaces that
    tenant's live rows with them: other tenants' rows are not touched.

    Any failure or interruption (KeyboardInterrupt included) rolls everything back: the live
    tables are as they were and the half-built tables are gone with the transaction.
    """
    projections = list(dict.fromkeys(select(names)))  # each once, in registry order of the names
    state = RebuildProgress(names=tuple(p.name for p in projections), tenant_id=tenant_id, callback=progress)
    database = database_key(url)
    RUNNING.claim(database, state)
    outcome: dict[str, Any] = {"ok": False}
    try:
        result = _blue_green(url, mapper, projections, tenant_id, state, swap_deadline)
        outcome = {"ok": True, "events": result.events, "seconds": round(result.seconds, 3),
                   "locked_seconds": round(result.locked_seconds, 4)}
        return result
    except BaseException as exc:
        outcome = {"ok": False, "error": f"{type(exc).__name__}: {exc}".strip().rstrip(":")}
        raise
    finally:
        outcome["finished_at"] = datetime.now(timezone.utc)
        outcome["tenant_id"] = tenant_id
        RUNNING.release(database, state, outcome)


def _blue_green(url: str, mapper: Mapper[Any], projections: list[InlineProjection], tenant_id: UUID | None,
                state: RebuildProgress, swap_deadline: float) -> RebuildResult:
    started = time.monotonic()
    phases: dict[str, float] = {}
    tables = [t for p in projections for t in p.tables]
    conn = owner_connection(url)
    try:
        with conn.transaction():
            lock_projections(conn, state.names)
            per_tenant = tenant_id is not None
            if not per_tenant:
                check_swappable(conn, tables)
            targets = create_targets(conn, projections, scratch=per_tenant)
            index_names: dict[str, list[str]] = {}
            builder = Builder(conn, mapper, projections, targets, tenant_id, state)
            head = log_head(conn)
            mark = time.monotonic()
            scanned = builder.build(head)
            phases["build"] = time.monotonic() - mark

            mark = time.monotonic()
            if not per_tenant:
                state.update("index")
                # Indexes after the bulk load (a sorted build beats row-by-row inserts); coarse
                # statistics (a tenth of the default sample) so the planner has numbers from the
                # first query on: jsonb columns make a full ANALYZE cost seconds.
                conn.execute("SET LOCAL default_statistics_target = 10")
                for t in targets:
                    index_names[t.live] = build_indexes(conn, t)
                    conn.execute(sql.SQL("ANALYZE {}").format(t.ident))
                conn.execute("RESET default_statistics_target")
            phases["index"] = time.monotonic() - mark

            mark = time.monotonic()
            state.update("catch-up")
            caught = head
            for _ in range(CATCH_UP_ROUNDS):
                now = log_head(conn)
                if now - caught <= SMALL_TAIL:
                    break
                builder.catch_up(caught, now)
                caught = now
            phases["catch-up"] = time.monotonic() - mark

            state.update("swap")
            mark = time.monotonic()
            deadline = mark + swap_deadline
            attempt = 0
            while True:
                attempt += 1
                rows_before = builder.rows
                try:
                    with conn.transaction():
                        # Waiting on the events lock cannot deadlock (writers take it first, and wait for
                        # nothing we hold); waiting past deadlock_timeout also cancels an autovacuum of
                        # the events table that would otherwise hold us off.
                        conn.execute(f"SET LOCAL lock_timeout = '{EVENTS_LOCK_TIMEOUT}'")
                        locked = time.monotonic()
                        conn.execute("SELECT avm_lock_events('EXCLUSIVE')")
                        conn.execute(f"SET LOCAL lock_timeout = '{SWAP_LOCK_TIMEOUT}'")
                        final = log_head(conn)
                        builder.catch_up(caught, final)
                        if per_tenant:
                            _replace_tenant_rows(conn, targets, tenant_id)  # type: ignore[arg-type]
                        else:
                            _swap(conn, targets, index_names)
                        set_tracking(conn, state.names, final)
                        conn.execute("SET LOCAL lock_timeout = 0")
                    break
                except (psycopg.errors.LockNotAvailable, psycopg.errors.DeadlockDetected):
                    builder.rows = rows_before  # the savepoint took them back
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(min(0.05 * attempt, 1.0))
                    now = log_head(conn)
                    builder.catch_up(caught, now)
                    caught = now
        # Committed: the locks taken in the savepoint were held until here.
        locked_seconds = time.monotonic() - locked
        phases["swap"] = time.monotonic() - mark
        state.update("done")
    finally:
        conn.close()  # after an interruption, closing is what rolls the server side back
    return RebuildResult(projections=list(state.names), tenant_id=tenant_id, events=final, scanned=scanned,
                         caught_up=final - head, aggregates=builder.aggregates, rows=builder.rows,
                         seconds=time.monotonic() - started, locked_seconds=locked_seconds,
                         phases={k: round(v, 4) for k, v in {**phases, **builder.timings}.items()})


def _swap(conn: psycopg.Connection[Any], targets: Sequence[Target], index_names: dict[str, list[str]]) -> None:
    """Under the events lock: new tables take the live tables' place, names, rights and policies."""
    conn.execute(sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(
        sql.SQL(", ").join(sql.Identifier(t.live) for t in targets)))
    for t in targets:
        extras = table_extras(conn, t.live)
        old = sql.Identifier(t.live[:58] + "__old")
        conn.execute(sql.SQL("ALTER TABLE {} RENAME TO {}").format(sql.Identifier(t.live), old))
        conn.execute(sql.SQL("DROP TABLE {}").format(old))
        conn.execute(sql.SQL("ALTER TABLE {} RENAME TO {}").format(sql.Identifier(t.name), sql.Identifier(t.live)))
        for index in index_names[t.live]:
            conn.execute(sql.SQL("ALTER INDEX {} RENAME TO {}").format(sql.Identifier(aside_name(index)),
                                                                       sql.Identifier(index)))
        for statement in extras:
            conn.execute(statement)


_TENANT_SCOPE_SQL = set_config_sql("app.tenant_id")


def _replace_tenant_rows(conn: psycopg.Connection[Any], targets: Sequence[Target], tenant_id: UUID) -> None:
    """Under the events lock: the tenant's live rows become the rebuilt ones; nobody else's change."""
    conn.execute(_TENANT_SCOPE_SQL, (str(tenant_id),))
    for t in targets:
        columns = sql.SQL(", ").join(map(sql.Identifier, t.columns))
        conn.execute(sql.SQL("DELETE FROM {} WHERE tenant_id = %s").format(sql.Identifier(t.live)), (tenant_id,))
        conn.execute(sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {}").format(
            sql.Identifier(t.live), columns, columns, t.ident))


def start_in_background(url: str, mapper: Mapper[Any], names: Sequence[str], *, tenant_id: UUID | None = None,
                        wait: float = 30.0) -> RebuildProgress | None:
    """Start `blue_green` in a daemon thread; return once it holds its locks and builds (its progress),
    or raise RebuildRunning when the projection is already being rebuilt, here or elsewhere."""
    ready = threading.Event()
    seen: list[RebuildProgress] = []
    failed: list[BaseException] = []

    def hook(p: RebuildProgress) -> None:
        if not seen:
            seen.append(p)
        if p.phase != "starting":
            ready.set()

    def run() -> None:
        try:
            blue_green(url, mapper, names, tenant_id=tenant_id, progress=hook)
        except BaseException as exc:  # noqa: BLE001 - recorded as the rebuild's outcome (RUNNING.last)
            failed.append(exc)
        finally:
            ready.set()

    threading.Thread(target=run, name=f"avm-rebuild-{'-'.join(names)}", daemon=True).start()
    ready.wait(wait)
    if failed and isinstance(failed[0], RebuildRunning):
        raise failed[0]
    return seen[0] if seen else None
