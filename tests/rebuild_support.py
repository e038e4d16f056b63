"""Test-only helpers over the read models: an in-place rebuild (the reference the blue/green one is
checked against), a plain fold of the log, and a digest of a table's contents."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import closing
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Mapper
from psycopg import sql
from psycopg.rows import tuple_row

from eventstore.replay import Folder, log_head, scan_events
from projections.base import InlineProjection
from projections.inline import INLINE_PROJECTIONS, select
from projections.rebuild.builder import handled_types, rows_by_table, set_tracking

def fold_events(conn: Any, mapper: Mapper[Any], *, tenant_id: UUID | None = None, upto: int | None = None,
                progress: Callable[[int], None] | None = None,
                handles: tuple[type, ...] | None = None) -> dict[UUID, Any]:
    """Every aggregate's current state (of the handled types; all the inline projections handle by
    default), folded from the log in order."""
    folder = Folder(mapper, handles or handled_types(INLINE_PROJECTIONS))
    if upto is None:
        upto = log_head(conn)
    done = 0
    with closing(scan_events(conn, upto=upto, tenant_id=tenant_id)) as pages:
        for page in pages:
            folder.fold(page)
            done += len(page)
            if progress:
                progress(done)
    return {a.id: a for a in folder.aggregates.values()}


def rebuild(conn: Any, mapper: Mapper[Any], names: Sequence[str] | None = None, *,
            tenant_id: UUID | None = None, progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Drop and replay the named projections (all when none) in place, in one transaction.

    Writers are held off by a SHARE lock on the events table (the recorder's EXCLUSIVE lock
    conflicts with it) for the whole rebuild, so the rebuilt rows and the tracking position
    describe exactly the same prefix of the log. Works on the application role's connection.
    Prefer `blue_green`, which holds writers off only for the final swap.
    """
    projections: list[InlineProjection] = select(names)
    with conn.transaction():
        conn.execute("SELECT avm_lock_events('SHARE')")
        head = log_head(conn)
        for projection in projections:
            for table in projection.tables:
                if tenant_id is None:
                    conn.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(table)))
                else:
                    conn.execute(sql.SQL("DELETE FROM {} WHERE tenant_id = %s").format(sql.Identifier(table)),
                                 (tenant_id,))
        aggregates = fold_events(conn, mapper, tenant_id=tenant_id, upto=head, progress=progress,
                                 handles=handled_types(projections))
        rows = 0
        columns_of = {t: columns for p in projections for t, (columns, _) in p.tables.items()}
        with conn.cursor() as curs:
            for table, table_rows in rows_by_table(projections, aggregates.values()).items():
                # INSERT, not COPY: row-level security (the app role's lot) refuses COPY FROM.
                columns = columns_of[table]
                if table_rows:
                    curs.executemany(sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
                        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns)),
                        sql.SQL(", ").join(sql.Placeholder() * len(columns))), table_rows)
                rows += len(table_rows)
        set_tracking(conn, [p.name for p in projections], head)
    return {"projections": [p.name for p in projections], "events": head, "aggregates": len(aggregates),
            "rows": rows}


def table_checksums(conn: Any, tables: Sequence[str], *, where: str = "", params: Sequence[Any] = ()) -> dict[str, str]:
    """An order-independent digest of each table's full contents (or of the rows `where` selects)."""
    out = {}
    for table in tables:
        with conn.cursor(row_factory=tuple_row) as cur:
            n, h = cur.execute(sql.SQL(
                "SELECT count(*), coalesce(md5(string_agg(md5(t::text), '' ORDER BY md5(t::text))), '')"
                " FROM {} t " + where).format(sql.Identifier(table)), params).fetchone()  # type: ignore[misc]
        out[table] = f"{n}:{h}"
    return out
