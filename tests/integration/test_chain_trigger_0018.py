"""Migration 0018 (the chain trigger builds its hashed bytes inline): every hash is what the
`avm_event_bytes` trigger of 0010 gave, rows of both triggers verify as one chain, and an insert no
longer runs the SQL functions (issue 17, docs/decisions/i17-write.md)."""
from __future__ import annotations

import hashlib
import uuid
from typing import Any

import psycopg
from psycopg.rows import dict_row

from eventstore import migrate
from eventstore.chain import link_hash
from eventstore.verify import verify_rows
from projections.audit import CHAIN_COLUMNS
from tests import support

INSERT = ("INSERT INTO events (originator_id, originator_version, topic, state, tenant_id, actor_id, command_id,"
          " correlation_id, causation_id, reason) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)")
# NULL and not, empty, multi-byte and astral text in every metadata field; an empty and a large state.
METAS = [
    (None, None, None, None, None),
    ("actor", "cmd-1", "corr-1", "cause-1", None),
    ("", "", "", "", ""),
    ("ünïcødé ✓", None, "相關", None, "customer asked \U0001F600"),
    (None, "k" * 300, None, "c", "why"),
]
STATES = [b"", b'{"v":1}', b"\x00\xff" * 3000]
OLD_BYTES = ("SELECT e.prev_hash, avm_event_bytes(e.tenant_id, e.tenant_seq, e.originator_id, e.originator_version,"
             " e.topic, e.state, e.recorded_at, e.actor_id, e.command_id, e.correlation_id, e.causation_id,"
             " e.reason) AS b, e.hash FROM events e WHERE e.tenant_id = %s ORDER BY e.tenant_seq")
FUNCTION_CALLS = ("SELECT coalesce(sum(pg_stat_get_xact_function_calls(p.oid)), 0) AS n FROM pg_proc p"
                  " WHERE p.proname IN ('avm_event_bytes', 'avm_lp')")


def write(conn: Any, tenant: uuid.UUID, project: uuid.UUID, first_version: int) -> int:
    """Insert one event per (metadata, state) in one transaction; the SQL functions' calls meanwhile."""
    version = first_version
    with conn.transaction():
        conn.execute("SET LOCAL track_functions = 'all'")
        for meta in METAS:
            for state in STATES:
                conn.execute(INSERT, (project, version, "domain.projects:Project.Renamed", state, tenant, *meta))
                version += 1
        calls = conn.execute(FUNCTION_CALLS).fetchone()["n"]
    return int(calls)


def test_the_inline_trigger_hashes_exactly_as_the_function_trigger_and_old_rows_still_verify() -> None:
    name = f"avm_chain18_{uuid.uuid4().hex[:12]}"
    url = support.create_database(name)
    try:
        migrate.upgrade(url, "0017")
        tenant, project = uuid.uuid4(), uuid.uuid4()
        n = len(METAS) * len(STATES)
        with psycopg.connect(url, autocommit=True, row_factory=dict_row) as conn:
            calls_before = write(conn, tenant, project, 1)

        migrate.upgrade(url)

        with psycopg.connect(url, autocommit=True, row_factory=dict_row) as conn:
            calls_after = write(conn, tenant, project, n + 1)
            rows = conn.execute(f"SELECT {CHAIN_COLUMNS} FROM events WHERE tenant_id = %s ORDER BY tenant_seq",
                                (tenant,)).fetchall()
            # one chain across both triggers, verified as `avm audit verify` does
            report = verify_rows(rows, tenant)
            assert report.ok and report.checked == 2 * n, report
            # each row's hash is sha256(prev_hash || avm_event_bytes(...)) of the old functions ...
            for r in conn.execute(OLD_BYTES, (tenant,)).fetchall():
                assert bytes(r["hash"]) == hashlib.sha256(bytes(r["prev_hash"]) + bytes(r["b"])).digest()
            # ... and eventstore/chain.py's, row by row, old and new rows alike
            for r in rows:
                fields = {k: r[k] for k in ("tenant_id", "tenant_seq", "originator_id", "originator_version", "topic",
                                            "recorded_at", "actor_id", "command_id", "correlation_id",
                                            "causation_id", "reason")}
                assert bytes(r["hash"]) == link_hash(bytes(r["prev_hash"]), **fields, state=bytes(r["state"]))
        # The cost: 0010's trigger ran these SQL functions for every event (99 calls for 15 events); 0018's none.
        assert calls_before >= 5 * n and calls_after == 0, (calls_before, calls_after)

        migrate.downgrade(url, "0017")  # back to the function trigger: the chain goes on
        with psycopg.connect(url, autocommit=True, row_factory=dict_row) as conn:
            write(conn, tenant, project, 2 * n + 1)
            rows = conn.execute(f"SELECT {CHAIN_COLUMNS} FROM events WHERE tenant_id = %s ORDER BY tenant_seq",
                                (tenant,)).fetchall()
            assert verify_rows(rows, tenant).ok and len(rows) == 3 * n
    finally:
        support.drop_database(name)
