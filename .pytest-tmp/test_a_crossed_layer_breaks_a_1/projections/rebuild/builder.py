"""The builder of a rebuild: folds the log (eventstore.replay) and COPYs the projectors' rows into the targets."""
from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from contextlib import closing
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.persistence import Mapper
from psycopg import sql

from eventstore.replay import Folder, Prefetch, changed_between, count_events, gc_paused, scan_events, scan_streams
from eventstore.statements import tracking_upsert_sql
from projections.base import InlineProjection
from projections.rebuild.catalog import Target
from projections.rebuild.status import RebuildProgress


def handled_types(projections: Sequence[InlineProjection]) -> tuple[type, ...]:
    return tuple({t for p in projections for t in p.handles})


def rows_by_table(projections: Sequence[InlineProjection], aggregates: Iterable[Any]) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows for these aggregates: each projection's own row mapping (`rows`), the very
    function the inline path runs."""
    aggregates = list(aggregates)
    out: dict[str, list[tuple[Any, ...]]] = {}
    for projection in projections:
        buffers: dict[str, list[tuple[Any, ...]]] = {t: [] for t in projection.tables}
        for agg in aggregates:
            if isinstance(agg, projection.handles):
                for table, rows in projection.rows(agg).items():
                    buffers[table].extend(rows)
        out.update(buffers)
    return out


def copy_rows(conn: psycopg.Connection[Any], target: Target, rows: Sequence[tuple[Any, ...]]) -> None:
    """COPY in binary, typed by the table's columns (the server parses nothing: a third less CPU
    here); in text, as the inline path's parameters are sent, if a value has no binary dumper
    for its column's type (the savepoint takes the binary attempt back)."""
    columns = sql.SQL(", ").join(map(sql.Identifier, target.columns))
    for binary in (True, False):
        statement = sql.SQL("COPY {} ({}) FROM STDIN" + (" (FORMAT BINARY)" if binary else "")).format(
            target.ident, columns)
        try:
            with conn.transaction(), conn.cursor() as cur, cur.copy(statement) as copy:
                if binary:
                    copy.set_types(list(target.type_oids))
                for row in rows:
                    copy.write_row(row)
            return
        except Exception:  # noqa: BLE001 - any dumper's complaint; a real error recurs in text
            if not binary:
                raise


def set_tracking(conn: psycopg.Connection[Any], names: Sequence[str], head: int) -> None:
    conn.execute(tracking_upsert_sql(), (list(names), head))


class Builder:
    """Folds the log into aggregates and writes their rows into the targets."""

    def __init__(self, conn: psycopg.Connection[Any], mapper: Mapper[Any], projections: Sequence[InlineProjection],
                 targets: Sequence[Target], tenant_id: UUID | None, progress: RebuildProgress) -> None:
        self.conn = conn
        self.mapper = mapper
        self.projections = list(projections)
        self.targets = {t.live: t for t in targets}
        self.tenant_id = tenant_id
        self.progress = progress
        self.handles = handled_types(projections)
        self.rows = 0
        self.aggregates = 0
        self.timings: dict[str, float] = {}

    def build(self, upto: int) -> int:
        """Fold every event up to `upto`, COPY every row. Returns the events read."""
        total = count_events(self.conn, upto=upto, tenant_id=self.tenant_id)
        self.progress.update("build", 0, total)
        folder = Folder(self.mapper, self.handles)
        done = 0
        with gc_paused():
            mark, cpu = time.monotonic(), time.process_time()
            # closing(): an interruption closes the server-side cursor while the transaction still stands.
            with closing(Prefetch(scan_events(self.conn, upto=upto, tenant_id=self.tenant_id))) as pages:
                for page in pages:
                    folder.fold(page)
                    done += len(page)
                    self.progress.update(done=done)
            self.timings["fold"] = time.monotonic() - mark
            self.timings["fold_cpu"] = time.process_time() - cpu
            self.aggregates = len(folder.aggregates)
            mark, cpu = time.monotonic(), time.process_time()
            self.rows += self._copy(folder.aggregates.values())
            self.timings["copy"] = time.monotonic() - mark
            self.timings["copy_cpu"] = time.process_time() - cpu
        return done

    def catch_up(self, after: int, upto: int) -> int:
        """Re-fold, from their full streams, the aggregates with events in (after, upto]; replace their rows."""
        if upto <= after:
            return 0
        ids = changed_between(self.conn, after, upto, tenant_id=self.tenant_id)
        if not ids:
            return 0
        folder = Folder(self.mapper, self.handles)
        for page in scan_streams(self.conn, ids, upto=upto):
            folder.fold(page)
        self._delete(folder.aggregates.values())
        self.rows += self._copy(folder.aggregates.values())
        return len(ids)

    def _delete(self, aggregates: Any) -> None:
        aggregates = list(aggregates)
        for projection in self.projections:
            mine = [a for a in aggregates if isinstance(a, projection.handles)]
            if not mine:
                continue
            for table in projection.tables:
                t = self.targets[table]
                n = len(t.key_columns)
                keys = list(zip(*[projection.key(a, n) for a in mine]))
                self.conn.execute(sql.SQL("DELETE FROM {} t USING (SELECT {}) k WHERE {}").format(
                    t.ident,
                    sql.SQL(", ").join(sql.SQL("unnest({}::" + t.key_types[c] + "[]) AS {}").format(
                        sql.Placeholder(), sql.Identifier(c)) for c in t.key_columns),
                    sql.SQL(" AND ").join(sql.SQL("t.{0} = k.{0}").format(sql.Identifier(c)) for c in t.key_columns)),
                    [list(k) for k in keys])

    def _copy(self, aggregates: Any) -> int:
        count = 0
        for table, rows in rows_by_table(self.projections, aggregates).items():
            copy_rows(self.conn, self.targets[table], rows)
            count += len(rows)
        return count
