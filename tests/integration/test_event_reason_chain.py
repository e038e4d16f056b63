"""Migration 0010 (events.reason): rows written before it still verify, rows after it are
chained with their reason, and the database and eventstore/chain.py agree on both forms."""
from __future__ import annotations

import uuid
from typing import Any

import psycopg
from psycopg.rows import dict_row

from eventstore import migrate
from eventstore.chain import event_bytes
from eventstore.verify import verify_rows
from projections.audit import CHAIN_COLUMNS
from tests import support

INSERT = ("INSERT INTO events (originator_id, originator_version, topic, state, tenant_id, actor_id)"
          " VALUES (%s, %s, %s, %s, %s, %s)")


def chain_rows(conn: Any, tenant: uuid.UUID) -> list[dict[str, Any]]:
    return conn.execute(f"SELECT {CHAIN_COLUMNS} FROM events WHERE tenant_id = %s ORDER BY tenant_seq",
                        (tenant,)).fetchall()


def test_rows_written_before_migration_0010_still_verify_and_later_ones_chain_their_reason() -> None:
    name = f"avm_reason_{uuid.uuid4().hex[:12]}"
    url = support.create_database(name)
    try:
        migrate.upgrade(url, "0009")
        tenant, project = uuid.uuid4(), uuid.uuid4()
        with psycopg.connect(url, autocommit=True, row_factory=dict_row) as conn:
            for version, topic in ((1, "domain.projects:Project.Created"),
                                   (2, "domain.shared:TenantAggregate.Deleted"),
                                   (3, "domain.shared:TenantAggregate.Restored")):
                conn.execute(INSERT, (project, version, topic, b'{"v":%d}' % version, tenant, str(tenant)))
            before = [(r["tenant_seq"], bytes(r["hash"])) for r in conn.execute(
                "SELECT tenant_seq, hash FROM events ORDER BY tenant_seq")]

        migrate.upgrade(url)

        with psycopg.connect(url, autocommit=True, row_factory=dict_row) as conn:
            conn.execute(INSERT.replace("actor_id)", "actor_id, reason)").replace("%s)", "%s, %s)"),
                         (project, 4, "domain.projects:Project.Deleted", b"{}", tenant, str(tenant), "customer asked"))
            conn.execute(INSERT, (project, 5, "domain.projects:Project.Restored", b"{}", tenant, str(tenant)))
            rows = chain_rows(conn, tenant)
            # The old rows' stored hashes are what they were, and they still recompute.
            assert [(r["tenant_seq"], bytes(r["hash"])) for r in rows[:3]] == before
            report = verify_rows(rows, tenant)
            assert report.ok and report.checked == 5, report
            assert [r["reason"] for r in rows] == [None, None, None, "customer asked", None]
            # The database's bytes and Python's agree with and without a reason; a reason changes them.
            for r in rows:
                fields = {k: r[k] for k in ("tenant_id", "tenant_seq", "originator_id", "originator_version",
                                            "topic", "recorded_at", "actor_id", "command_id",
                                            "correlation_id", "causation_id")}
                fields["state"] = bytes(r["state"])
                db = conn.execute(
                    "SELECT avm_event_bytes(e.tenant_id, e.tenant_seq, e.originator_id, e.originator_version, e.topic,"
                    " e.state, e.recorded_at, e.actor_id, e.command_id, e.correlation_id, e.causation_id, e.reason) AS b,"
                    " avm_event_bytes(e.tenant_id, e.tenant_seq, e.originator_id, e.originator_version, e.topic,"
                    " e.state, e.recorded_at, e.actor_id, e.command_id, e.correlation_id, e.causation_id) AS old"
                    " FROM events e WHERE e.notification_id = %s", (r["notification_id"],)).fetchone()
                assert bytes(db["b"]) == event_bytes(**fields, reason=r["reason"])
                assert (bytes(db["b"]) == bytes(db["old"])) == (r["reason"] is None)
            # A changed reason breaks the link (a superuser session can bypass the append-only trigger).
            conn.execute("SET session_replication_role = replica")
            conn.execute("UPDATE events SET reason = 'nothing to see' WHERE tenant_id = %s AND tenant_seq = 4", (tenant,))
            conn.execute("SET session_replication_role = origin")
            broken = verify_rows(chain_rows(conn, tenant), tenant)
            assert not broken.ok and broken.first_bad_seq == 4
    finally:
        support.drop_database(name)
