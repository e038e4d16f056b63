"""Rebuild inline read models from the event log: fold every aggregate, bulk-write its rows."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Mapper, StoredEvent
from psycopg import sql

from projections.base import InlineProjection
from projections.inline import select

PAGE = 5_000


def fold_events(conn: Any, mapper: Mapper[Any], *, tenant_id: UUID | None = None, upto: int | None = None,
                progress: Callable[[int], None] | None = None) -> dict[UUID, Any]:
    """Every aggregate's current state, folded from the log in notification order."""
    aggregates: dict[UUID, Any] = {}
    where, params = ["notification_id > %s"], [0]
    if tenant_id is not None:
        where.append("tenant_id = %s")
        params.append(tenant_id)  # type: ignore[arg-type]
    if upto is not None:
        where.append("notification_id <= %s")
        params.append(upto)
    query = (f"SELECT notification_id, originator_id, originator_version, topic, state FROM events"
             f" WHERE {' AND '.join(where)} ORDER BY notification_id LIMIT {PAGE}")
    done = 0
    while True:
        rows = conn.execute(query, params).fetchall()
        if not rows:
            break
        for row in rows:
            event = mapper.to_domain_event(StoredEvent(
                originator_id=row["originator_id"], originator_version=row["originator_version"],
                topic=row["topic"], state=bytes(row["state"])))
            mutate = getattr(event, "mutate", None)
            if mutate is None:
                continue
            aggregates[row["originator_id"]] = mutate(aggregates.get(row["originator_id"]))
        params[0] = rows[-1]["notification_id"]
        done += len(rows)
        if progress:
            progress(done)
    return aggregates


def rebuild(conn: Any, mapper: Mapper[Any], names: Sequence[str] | None = None, *,
            tenant_id: UUID | None = None, progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Drop and replay the named projections (all when none) in one transaction.

    Writers are held off by a SHARE lock on the events table (the recorder's
    EXCLUSIVE lock conflicts with it), so the rebuilt rows and the tracking
    position describe exactly the same prefix of the log.
    """
    projections: list[InlineProjection] = select(names)
    with conn.transaction():
        conn.execute("SELECT avm_lock_events('SHARE')")
        head = conn.execute("SELECT coalesce(max(notification_id), 0) AS n FROM events").fetchone()["n"]
        for projection in projections:
            for table in projection.tables:
                if tenant_id is None:
                    conn.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(table)))
                else:
                    conn.execute(sql.SQL("DELETE FROM {} WHERE tenant_id = %s").format(sql.Identifier(table)),
                                 (tenant_id,))
        aggregates = fold_events(conn, mapper, tenant_id=tenant_id, upto=head, progress=progress)
        rows = 0
        with conn.cursor() as curs:
            for projection in projections:
                mine = [a for a in aggregates.values() if isinstance(a, projection.handles)]
                rows += projection.copy_rows(curs, mine)
        conn.execute(
            "INSERT INTO tracking (application_name, notification_id) SELECT unnest(%s::text[]), %s"
            " ON CONFLICT (application_name) DO UPDATE SET notification_id = EXCLUDED.notification_id",
            ([p.name for p in projections], head))
    return {"projections": [p.name for p in projections], "events": head, "aggregates": len(aggregates),
            "rows": rows}


def table_checksums(conn: Any, tables: Sequence[str]) -> dict[str, str]:
    """An order-independent digest of each table's full contents."""
    out = {}
    for table in tables:
        row = conn.execute(sql.SQL(
            "SELECT count(*) AS n, coalesce(md5(string_agg(md5(t::text), '' ORDER BY md5(t::text))), '') AS h"
            " FROM {} t").format(sql.Identifier(table))).fetchone()
        out[table] = f"{row['n']}:{row['h']}"
    return out
