"""Verify: rebuild into scratch tables in one snapshot and compare every row with the live tables."""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.persistence import Mapper
from psycopg import sql
from psycopg.rows import tuple_row

from eventstore.replay import log_head
from projections.inline import select
from projections.rebuild.builder import Builder
from projections.rebuild.catalog import Target, create_targets, owner_connection
from projections.rebuild.status import RebuildProgress

@dataclass(frozen=True)
class Difference:
    table: str
    kind: str  # missing (rebuild has it, live does not), extra (live only), changed
    key: dict[str, str]
    changes: dict[str, tuple[str | None, str | None]]  # column -> (expected, live), for `changed`

    def describe(self) -> str:
        key = ", ".join(f"{k}={v}" for k, v in self.key.items())
        line = f"{self.table}: {self.kind} ({key})"
        if self.changes:
            line += "; " + "; ".join(f"{c}: expected {_short(e)}, live {_short(a)}" for c, (e, a) in self.changes.items())
        return line


def _short(value: str | None, n: int = 80) -> str:
    if value is None:
        return "NULL"
    return repr(value if len(value) <= n else value[: n - 1] + "…")


@dataclass(frozen=True)
class VerifyResult:
    projections: list[str]
    tenant_id: UUID | None
    head: int
    rows: int  # rows of the scratch build
    differences: list[Difference]
    counts: dict[str, dict[str, int]]  # table -> kind -> number of differences (all, even past the limit)
    tracking: dict[str, int | None]
    seconds: float

    @property
    def ok(self) -> bool:
        return not self.differences


def verify(url: str, mapper: Mapper[Any], names: Sequence[str] | None = None, *, tenant_id: UUID | None = None,
           progress: Callable[[RebuildProgress], None] | None = None, limit: int = 1_000) -> VerifyResult:
    """Rebuild the named projections into scratch tables and compare every row with the live tables.

    Everything happens in one REPEATABLE READ transaction: the log and the live tables are read in
    the same snapshot (inline rows are committed with their events, so the snapshot's live rows are
    exactly what its events say they must be). Nothing is locked and nothing live is written; the
    scratch tables are temporary and vanish when the transaction is rolled back.
    """
    projections = list(dict.fromkeys(select(names)))  # each once, in registry order of the names
    state = RebuildProgress(names=tuple(p.name for p in projections), tenant_id=tenant_id, operation="verify",
                            callback=progress)
    started = time.monotonic()
    conn = owner_connection(url)
    try:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        head = log_head(conn)  # the first statement takes the snapshot
        targets = create_targets(conn, projections, scratch=True)
        builder = Builder(conn, mapper, projections, targets, tenant_id, state)
        builder.build(head)
        state.update("compare")
        differences: list[Difference] = []
        counts: dict[str, dict[str, int]] = {}
        for t in targets:
            found, count = _compare(conn, t, tenant_id, limit - len(differences))
            differences += found
            if count:
                counts[t.live] = count
        with conn.cursor(row_factory=tuple_row) as cur:
            tracked = dict(cur.execute("SELECT application_name, notification_id FROM tracking"
                                       " WHERE application_name = ANY(%s)", (list(state.names),)).fetchall())
        conn.rollback()
    finally:
        conn.close()
    state.update("done")
    return VerifyResult(projections=list(state.names), tenant_id=tenant_id, head=head, rows=builder.rows,
                        differences=differences, counts=counts,
                        tracking={n: tracked.get(n) for n in state.names}, seconds=time.monotonic() - started)


def _compare(conn: psycopg.Connection[Any], t: Target, tenant_id: UUID | None,
             limit: int) -> tuple[list[Difference], dict[str, int]]:
    """Rows that differ between the scratch build and the live table, compared as text (byte for byte)."""
    cols = [sql.Identifier(c) for c in t.columns]
    key = [sql.Identifier(c) for c in t.row_key]
    where, params = sql.SQL(""), []
    if tenant_id is not None:
        where, params = sql.SQL(" WHERE tenant_id = %s"), [tenant_id]

    def as_text(alias: str) -> sql.Composable:
        return sql.SQL("ARRAY[{}]").format(sql.SQL(", ").join(
            sql.SQL("{}.{}::text").format(sql.Identifier(alias), c) for c in cols))

    query = sql.SQL(
        "SELECT CASE WHEN l.present__ IS NULL THEN 'missing' WHEN s.present__ IS NULL THEN 'extra'"
        " ELSE 'changed' END, {s_text}, {l_text}"
        " FROM (SELECT *, true AS present__ FROM {scratch}) s"
        " FULL JOIN (SELECT *, true AS present__ FROM {live}{where}) l ON {on}"
        " WHERE l.present__ IS NULL OR s.present__ IS NULL OR {s_text} IS DISTINCT FROM {l_text}").format(
        s_text=as_text("s"), l_text=as_text("l"), scratch=t.ident, live=sql.Identifier(t.live), where=where,
        on=sql.SQL(" AND ").join(sql.SQL("s.{0} = l.{0}").format(c) for c in key))
    found: list[Difference] = []
    counts: dict[str, int] = {}
    with conn.cursor(row_factory=tuple_row) as cur:
        cur.execute(query, params)
        for kind, expected, actual in cur:
            counts[kind] = counts.get(kind, 0) + 1
            if len(found) >= limit:
                continue
            row = actual if kind == "extra" else expected
            keys = {c: row[t.columns.index(c)] for c in t.row_key}
            changes = {}
            if kind == "changed":
                changes = {c: (e, a) for c, e, a in zip(t.columns, expected, actual) if e != a}
            found.append(Difference(table=t.live, kind=kind, key=keys, changes=changes))
    return found, counts
