"""Replaying exported chains into an empty event store, byte for byte (`avm audit import`).

An export line carries every column the hash covers (the stored state as base64 among them), its
position and its links. Importing writes those very values: the chain trigger, which would assign
new sequence numbers, times and hashes, is disabled for the importing transaction only (DDL is
transactional: no other session ever sees it off, and they wait for the events table meanwhile).
So an encrypted payload stays exactly the ciphertext it was, and every hash recomputes.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import IO, Any
from uuid import UUID

import psycopg
from psycopg import sql

from eventstore import jsontext
from eventstore.verify import ChainReport, row_of_line, verify_pages

COLUMNS = ("notification_id", "tenant_id", "tenant_seq", "originator_id", "originator_version", "topic", "state",
           "recorded_at", "actor_id", "command_id", "correlation_id", "causation_id", "reason", "prev_hash", "hash")
PAGE = 1000


class ImportRefused(RuntimeError):
    """The store cannot take this import (not empty, a tenant already present, a chain that breaks)."""


def event_rows(lines: IO[bytes]) -> Iterator[dict[str, Any]]:
    """The database rows of an export file's event lines, one at a time (the manifest line is skipped).

    Only for a file that verify_export has passed: a malformed line here is an error, not a report.
    """
    for raw in lines:
        if not raw.strip():
            continue
        record = jsontext.loads(raw)
        if "manifest" in record:
            return
        yield row_of_line(record)


def store_is_empty(conn: psycopg.Connection[Any]) -> bool:
    return conn.execute("SELECT 1 FROM events LIMIT 1").fetchone() is None


def _pages(conn: psycopg.Connection[Any], tenant_id: UUID) -> Iterator[list[dict[str, Any]]]:
    last = 0
    with conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        while True:
            rows = cur.execute(f"SELECT {', '.join(COLUMNS)} FROM events WHERE tenant_id = %s AND tenant_seq > %s"
                               " ORDER BY tenant_seq LIMIT %s", (tenant_id, last, PAGE)).fetchall()
            if not rows:
                return
            yield rows
            last = rows[-1]["tenant_seq"]


def import_chain(conn: psycopg.Connection[Any], tenant_id: UUID, rows: Iterable[Mapping[str, Any]]) -> ChainReport:
    """Write one tenant's chain as exported, then recompute it from the stored rows (in the caller's
    transaction, which must be on the table owner's connection): a chain that does not verify raises."""
    if conn.execute("SELECT 1 FROM events WHERE tenant_id = %s LIMIT 1", (tenant_id,)).fetchone():
        raise ImportRefused(f"tenant {tenant_id} already has events in this store")
    conn.execute("LOCK TABLE events IN EXCLUSIVE MODE")
    conn.execute("ALTER TABLE events DISABLE TRIGGER events_chain")
    copy_sql = sql.SQL("COPY events ({}) FROM STDIN").format(sql.SQL(", ").join(map(sql.Identifier, COLUMNS)))
    with conn.cursor() as cur, cur.copy(copy_sql) as copy:
        for row in rows:
            if row["tenant_id"] != tenant_id:
                raise ImportRefused(f"an event of tenant {row['tenant_id']} in the export of tenant {tenant_id}")
            copy.write_row(tuple(row.get(c) for c in COLUMNS))
    conn.execute("ALTER TABLE events ENABLE TRIGGER events_chain")
    report = verify_pages(_pages(conn, tenant_id), tenant_id)
    if not report.ok:
        raise ImportRefused(f"tenant {tenant_id}: the imported chain does not verify at position"
                            f" {report.first_bad_position}: {report.reason}")
    return report


def advance_positions(conn: psycopg.Connection[Any]) -> int:
    """Move the position sequence past the highest imported position (new events come after the old ones)."""
    sequence = conn.execute("SELECT pg_get_serial_sequence('events', 'notification_id')").fetchone()[0]  # type: ignore[index]
    last = conn.execute(sql.SQL("SELECT last_value FROM {}").format(sql.SQL(sequence))).fetchone()[0]  # type: ignore[index]
    top = conn.execute("SELECT coalesce(max(notification_id), 0) FROM events").fetchone()[0]  # type: ignore[index]
    if top > last:
        conn.execute("SELECT setval(%s, %s)", (sequence, top))
    return max(int(top), int(last))
