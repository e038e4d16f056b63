"""The event store's own promises: tenant, gap-free per-tenant sequence, metadata, hash chain, append-only."""
from __future__ import annotations

import threading
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
import pytest

from domain.application import CommandContext
from eventstore.chain import GENESIS, link_hash


def tenant_rows(services: Any, tenant_id: str) -> list[dict[str, Any]]:
    with services.read(scope="system") as conn:
        return conn.execute(
            "SELECT * FROM events WHERE tenant_id = %s ORDER BY tenant_seq", (UUID(tenant_id),)).fetchall()


def database_time(services: Any) -> datetime:
    with services.read(scope="system") as conn:
        return conn.execute("SELECT clock_timestamp() AS t").fetchone()["t"]  # type: ignore[no-any-return]


def ctx_for(tenant: Any, **kw: Any) -> CommandContext:
    # admin: these tests are about the store, not about the daily quotas
    return CommandContext(tenant_id=tenant.id, actor_id=tenant.id, role="admin", **kw)


def test_every_event_row_carries_its_tenant_sequence_and_metadata(services: Any, tenant: Any) -> None:
    ctx = ctx_for(tenant, command_id="cmd-1", correlation_id="corr-1", causation_id="cause-1")
    before = database_time(services)
    project = services.app.create_project(ctx, title="Metadata")
    after = database_time(services)
    rows = [r for r in tenant_rows(services, tenant.id) if r["originator_id"] == project.id]
    assert len(rows) == 1
    row = rows[0]
    assert row["tenant_id"] == UUID(tenant.id)
    assert (row["actor_id"], row["command_id"], row["correlation_id"], row["causation_id"]) == (
        tenant.id, "cmd-1", "corr-1", "cause-1")
    assert before <= row["recorded_at"] <= after  # the database's time of the command


def test_the_per_tenant_sequence_is_gap_free_under_concurrent_commands(services: Any, make_tenant: Any) -> None:
    a, b = make_tenant(), make_tenant()
    errors: list[BaseException] = []

    def work(t: Any) -> None:
        try:
            for i in range(10):
                services.app.create_project(ctx_for(t), title=f"p{i}")
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=work, args=(t,)) for t in (a, b, a, b)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    for t in (a, b):
        rows = tenant_rows(services, t.id)
        seqs = [r["tenant_seq"] for r in rows]
        assert seqs == list(range(1, len(seqs) + 1))
        assert sum(r["topic"].endswith("Project.Created") for r in rows) == 20


def test_the_hash_chain_computed_in_python_matches_the_database(services: Any, tenant: Any) -> None:
    ctx = ctx_for(tenant, command_id="k-ü-1")
    project = services.app.create_project(ctx, title="Chained ✓", description="naïve")
    services.app.update_project(ctx, str(project.id), None, title="Renamed")
    prev = GENESIS
    rows = tenant_rows(services, tenant.id)
    assert len(rows) >= 4
    for row in rows:
        assert bytes(row["prev_hash"]) == prev
        expected = link_hash(
            prev, tenant_id=row["tenant_id"], tenant_seq=row["tenant_seq"], originator_id=row["originator_id"],
            originator_version=row["originator_version"], topic=row["topic"], state=bytes(row["state"]),
            recorded_at=row["recorded_at"], actor_id=row["actor_id"], command_id=row["command_id"],
            correlation_id=row["correlation_id"], causation_id=row["causation_id"])
        assert bytes(row["hash"]) == expected
        prev = expected


def test_changing_a_stored_byte_breaks_the_recomputed_hash(services: Any, tenant: Any) -> None:
    row = tenant_rows(services, tenant.id)[0]
    fields = dict(tenant_id=row["tenant_id"], tenant_seq=row["tenant_seq"], originator_id=row["originator_id"],
                  originator_version=row["originator_version"], topic=row["topic"], recorded_at=row["recorded_at"],
                  actor_id=row["actor_id"], command_id=row["command_id"], correlation_id=row["correlation_id"],
                  causation_id=row["causation_id"])
    state = bytes(row["state"])
    assert link_hash(GENESIS, state=state, **fields) == bytes(row["hash"])
    tampered = state.replace(b"user", b"usex")  # the role: the name is sealed (issue 15)
    assert tampered != state
    assert link_hash(GENESIS, state=tampered, **fields) != bytes(row["hash"])


@pytest.mark.parametrize("statement", [
    "UPDATE events SET topic = 'x' WHERE tenant_id = %s",
    "DELETE FROM events WHERE tenant_id = %s",
])
def test_event_rows_cannot_be_updated_or_deleted_even_by_the_owner(services: Any, tenant: Any, statement: str) -> None:
    with psycopg.connect(services.db.url) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
            conn.execute(statement, (UUID(tenant.id),))
    assert len(tenant_rows(services, tenant.id)) == 2


def test_the_event_table_cannot_be_truncated(services: Any) -> None:
    with psycopg.connect(services.db.url) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
            conn.execute("TRUNCATE events")


def test_inline_projections_advance_their_tracking_in_the_command_transaction(services: Any, tenant: Any) -> None:
    services.app.create_project(ctx_for(tenant), title="Tracked")
    with services.read(scope="system") as conn:
        head = conn.execute("SELECT max(notification_id) AS n FROM events").fetchone()["n"]
        tracked = {r["application_name"]: r["notification_id"] for r in conn.execute("SELECT * FROM tracking")}
    # Other tests may append concurrently only through this process; the head is ours.
    for name in ("users", "projects", "scenes"):
        assert tracked[name] == head


def test_a_failed_projection_write_rolls_back_the_events(services: Any, tenant: Any, make_tenant: Any) -> None:
    from domain.errors import EmailTaken

    with services.read(scope="system") as conn:
        before = conn.execute("SELECT count(*) AS n FROM events").fetchone()["n"]
    with pytest.raises(EmailTaken):
        services.app.register_user(CommandContext.system("tests"), email=tenant.email.upper(), name=None, role="user")
    with services.read(scope="system") as conn:
        n = conn.execute("SELECT count(*) AS n FROM users WHERE lower(email) = lower(%s)", (tenant.email,)).fetchone()
        after = conn.execute("SELECT count(*) AS n FROM events").fetchone()["n"]
    assert n["n"] == 1
    assert after == before


def test_the_service_connects_as_the_unprivileged_app_role(services: Any) -> None:
    with services.read(scope="system") as conn:
        # session_user: the login (the system scope's transaction acts as avm_system, migration 0009)
        row = conn.execute("SELECT session_user AS u, r.rolsuper, r.rolbypassrls FROM pg_roles r"
                           " WHERE r.rolname = session_user").fetchone()
    assert (row["u"], row["rolsuper"], row["rolbypassrls"]) == ("avm_app", False, False)


@pytest.mark.parametrize("statement", [
    "UPDATE events SET topic = 'x' WHERE tenant_id = %s",
    "DELETE FROM events WHERE tenant_id = %s",
    "TRUNCATE events",
    "LOCK TABLE events IN EXCLUSIVE MODE",
])
def test_the_app_role_has_no_privilege_to_rewrite_events(services: Any, tenant: Any, statement: str) -> None:
    with psycopg.connect(services.db.url) as conn:
        conn.execute("SET ROLE avm_app")
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"):
            conn.execute(statement, (UUID(tenant.id),) if "%s" in statement else None)
    assert len(tenant_rows(services, tenant.id)) == 2


def test_a_command_of_more_than_a_megabyte_is_stored(services: Any, tenant: Any) -> None:
    """Pipelined inserts must not deadlock on parameters larger than the socket buffers."""
    access = services.app.record_access(ctx_for(tenant), tenant.id, action="read", resource="big",
                                        details={"blob": "x" * 1_500_000})
    with services.read(scope="system") as conn:
        stored = conn.execute("SELECT length(state) AS n FROM events WHERE originator_id = %s",
                              (access.id,)).fetchone()
    assert stored["n"] > 1_500_000
