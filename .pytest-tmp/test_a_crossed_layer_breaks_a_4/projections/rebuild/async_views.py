"""Rebuild of the asynchronous views (daily usage) from the event log, safe while their runner runs.

An asynchronous view is its tables plus its tracking position, written together by the one runner
that holds the view's advisory lock (projections.views.lock_key). A rebuild is one transaction on
an owner connection:

1. take the same advisory lock for the transaction, if free: then no runner works on the view now,
   and none can start until the rebuild commits (a waiting runner retries and resumes from the
   new position);
2. lock the view's tables (EXCLUSIVE: readers go on reading the old rows, a runner's next commit
   waits) and its tracking row; read the position P the view has reached;
3. delete the rows and replay the log into them with the view's own projection code, up to the
   log's head when the lock was free (and record the head as the new position), or up to P when a
   runner is active (its position stays P: the runner goes on after P, with its pending batch, on
   the rebuilt rows). Resetting the position to 0 under a live runner would not work: the runner
   keeps its place in memory and its next commit would move the position past the missing rows.

For one tenant, only that tenant's rows are deleted and its events up to P replayed; the position
does not move (the other tenants' rows stay where they were).
"""
from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Mapper, StoredEvent, Tracking
from psycopg import sql
from psycopg.rows import tuple_row

from eventstore.replay import log_head
from projections.rebuild.builder import set_tracking
from projections.rebuild.catalog import owner_connection
from projections.rebuild.status import lock_projections
from projections.views import ASYNC_PROJECTIONS, UPSTREAM, lock_key

PAGE = 2_000  # events replayed between two executions of the collected statements


@dataclass
class AsyncRebuildResult:
    name: str
    events: int  # events replayed
    rows: int  # rows in the view's tables afterwards
    position: int  # the view's position afterwards
    runner_active: bool  # a runner held the view's lock: replayed up to its position
    seconds: float


def async_names() -> tuple[str, ...]:
    return tuple(p.name for p, _ in ASYNC_PROJECTIONS)


def _collecting(view_class: type[Any]) -> Any:
    """The view with its writes collected instead of committed (no datastore, no flusher thread)."""

    class Collecting(view_class):  # type: ignore[valid-type,misc]
        def __init__(self) -> None:  # noqa: D107 - deliberately not the recorder's: no connection
            self.statements: list[Any] = []

        def write(self, tracking: Tracking, statements: Sequence[Any]) -> None:
            self.statements.extend(statements)

        def skip(self, tracking: Tracking) -> None:
            pass

    return Collecting()


def rebuild_async(url: str, mapper: Mapper[Any], names: Sequence[str] | None = None, *,
                  tenant_id: UUID | None = None) -> list[AsyncRebuildResult]:
    """Rebuild the named asynchronous views (all when none); see the module's docstring."""
    chosen = [(p, v) for p, v in ASYNC_PROJECTIONS if not names or p.name in names]
    return [_rebuild_one(url, mapper, p, v, tenant_id) for p, v in chosen]


def _rebuild_one(url: str, mapper: Mapper[Any], projection_class: Any, view_class: Any,
                 tenant_id: UUID | None) -> AsyncRebuildResult:
    started = time.monotonic()
    name: str = projection_class.name
    tables: tuple[str, ...] = view_class.tables
    conn = owner_connection(url)
    try:
        with conn.transaction():
            lock_projections(conn, [name])  # one rebuild of a view at a time (inline rebuilds' lock)
            with conn.cursor(row_factory=tuple_row) as cur:
                free = bool(cur.execute("SELECT pg_try_advisory_xact_lock(%s)", (lock_key(name),)).fetchone()[0])  # type: ignore[index]
                cur.execute(sql.SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(
                    sql.SQL(", ").join(sql.Identifier(t) for t in tables)))
                row = cur.execute("SELECT notification_id FROM tracking WHERE application_name = %s FOR UPDATE",
                                  (name,)).fetchone()
                tracked = int(row[0] or 0) if row else 0
                move = free and tenant_id is None
                upto = log_head(conn) if move else tracked
                for table in tables:
                    if tenant_id is None:
                        cur.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(table)))
                    else:
                        cur.execute(sql.SQL("DELETE FROM {} WHERE tenant_id = %s").format(sql.Identifier(table)),
                                    (tenant_id,))
            events = _replay(conn, mapper, projection_class, view_class, upto, tenant_id)
            if move:
                set_tracking(conn, [name], upto)
            with conn.cursor(row_factory=tuple_row) as cur:
                rows = sum(int(cur.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(t)))
                               .fetchone()[0]) for t in tables)  # type: ignore[index]
        return AsyncRebuildResult(name=name, events=events, rows=rows, position=upto if move else tracked,
                                  runner_active=not free, seconds=time.monotonic() - started)
    finally:
        conn.close()


def _replay(conn: Any, mapper: Mapper[Any], projection_class: Any, view_class: Any, upto: int,
            tenant_id: UUID | None) -> int:
    """Feed the log up to `upto` (one tenant's events when given) to the view's projection, in log order."""
    view = _collecting(view_class)
    projection = projection_class(view=view)
    query = ("SELECT notification_id, originator_id, originator_version, topic, state FROM events"
             " WHERE notification_id <= %s" + (" AND tenant_id = %s" if tenant_id else "") + " ORDER BY notification_id")
    params = (upto, tenant_id) if tenant_id else (upto,)
    events = 0
    with conn.cursor(name=f"avm_async_rebuild_{id(conn):x}", row_factory=tuple_row) as scan, \
            conn.cursor(row_factory=tuple_row) as write:
        scan.itersize = PAGE
        scan.execute(query, params)
        while True:
            page = scan.fetchmany(PAGE)
            if not page:
                break
            for position, originator_id, version, topic, state in page:
                stored = StoredEvent(originator_id=originator_id, originator_version=version, topic=topic,
                                     state=bytes(state))
                projection.process_event(mapper.to_domain_event(stored), Tracking(UPSTREAM, position))
            events += len(page)
            statements, view.statements = view.statements, []
            with conn.pipeline():  # one round trip per page, not per statement
                for statement, values in statements:
                    write.execute(statement, values, prepare=True)
    return events
