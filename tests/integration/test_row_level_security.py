"""Tenant isolation enforced by PostgreSQL: RLS on every tenant table, an app role that cannot bypass it."""
from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest

from domain.application import CommandContext


def tenant_tables(conn: Any) -> list[str]:
    return [r[0] for r in conn.execute(
        "SELECT c.table_name FROM information_schema.columns c JOIN information_schema.tables t"
        " ON t.table_schema = c.table_schema AND t.table_name = c.table_name"
        " WHERE c.table_schema = 'public' AND c.column_name = 'tenant_id' AND t.table_type = 'BASE TABLE'"
        " ORDER BY 1")]


def test_every_table_with_a_tenant_id_has_row_level_security_enabled_and_forced(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        tables = tenant_tables(conn)
        flags = dict(conn.execute(
            "SELECT relname, (relrowsecurity AND relforcerowsecurity) FROM pg_class"
            " WHERE relnamespace = 'public'::regnamespace AND relname = ANY(%s)", (tables,)).fetchall())
        policies = {r[0] for r in conn.execute("SELECT tablename FROM pg_policies WHERE policyname = 'tenant_rows'")}
    assert {"events", "projects", "scenes", "users", "api_tokens", "jobs", "assets", "presets", "usage",
            "idempotency_keys"} <= set(tables)
    assert flags == {t: True for t in tables}
    assert policies == set(tables)


def test_the_service_logs_in_as_a_role_that_owns_nothing_and_cannot_bypass_rls(services: Any) -> None:
    with services.read(scope="system") as conn:
        me = conn.execute("SELECT session_user AS s, current_user AS c").fetchone()
        role = conn.execute("SELECT rolcanlogin, rolsuper, rolbypassrls, rolcreaterole, rolcreatedb FROM pg_roles"
                            " WHERE rolname = 'avm_app'").fetchone()
        owned = conn.execute("SELECT count(*) AS n FROM pg_class WHERE relowner = 'avm_app'::regrole").fetchone()
    # The system scope is the role avm_system, switched to for the transaction (migration 0009).
    assert me == {"s": "avm_app", "c": "avm_system"}
    assert role == {"rolcanlogin": True, "rolsuper": False, "rolbypassrls": False, "rolcreaterole": False,
                    "rolcreatedb": False}
    assert owned["n"] == 0


def test_without_a_tenant_a_query_sees_no_row(services: Any, tenant: Any) -> None:
    services.app.create_project(CommandContext(tenant_id=tenant.id, actor_id=tenant.id), title="hidden")
    with services.app.factory.datastore.get_connection() as conn:  # an app connection, nothing set
        for table in ("projects", "users", "events", "api_tokens", "usage"):
            assert conn.execute(f"SELECT count(*) AS n FROM {table}").fetchone()["n"] == 0, table


def test_a_tenant_sees_and_writes_only_its_own_rows(services: Any, make_tenant: Any) -> None:
    a, b = make_tenant(), make_tenant()
    for t in (a, b):
        services.app.create_project(CommandContext(tenant_id=t.id, actor_id=t.id), title=f"of {t.id}")
    with services.read(a.id) as conn:
        owners = {r["tenant_id"] for r in conn.execute("SELECT tenant_id FROM projects")}
        events = {r["tenant_id"] for r in conn.execute("SELECT tenant_id FROM events")}
        assert conn.execute("UPDATE projects SET title = 'x' WHERE tenant_id = %s", (UUID(b.id),)).rowcount == 0
    assert owners == {UUID(a.id)} and events == {UUID(a.id)}
    with pytest.raises(Exception, match="violates row-level security policy") as refused:
        with services.read(a.id) as conn:
            conn.execute("INSERT INTO presets (tenant_id, id, name, config, version, created_at, updated_at)"
                         " VALUES (%s, %s, 'x', '{}', 1, now(), now())", (UUID(b.id), uuid4()))
    assert isinstance(refused.value.__cause__ or refused.value, psycopg.errors.InsufficientPrivilege)


def test_admin_scope_reads_every_tenant_but_cannot_write(services: Any, make_tenant: Any) -> None:
    a, b = make_tenant(), make_tenant()
    with services.read(scope="admin") as conn:
        owners = {r["tenant_id"] for r in conn.execute(
            "SELECT tenant_id FROM users WHERE tenant_id = ANY(%s)", ([UUID(a.id), UUID(b.id)],))}
        assert conn.execute("UPDATE users SET name = 'x' WHERE tenant_id = %s", (UUID(a.id),)).rowcount == 0
    assert owners == {UUID(a.id), UUID(b.id)}


def test_a_command_cannot_write_read_model_rows_of_another_tenant(services: Any, make_tenant: Any) -> None:
    """The recorder sets the tenant of the events it writes; a projector writing another tenant's
    row is refused by the database and the whole command rolls back."""
    from eventstore.recorder import AvmRecorder

    a, b = make_tenant(), make_tenant()
    project = services.app.create_project(CommandContext(tenant_id=a.id, actor_id=a.id), title="mine")

    def foreign_write(curs: Any) -> None:
        curs.execute("INSERT INTO presets (tenant_id, id, name, config, version, created_at, updated_at)"
                     " VALUES (%s, %s, 'smuggled', '{}', 1, now(), now())", (UUID(b.id), uuid4()))

    project.rename("renamed")
    stored = [services.app.mapper.to_stored_event(e) for e in project.collect_events()]
    recorder: AvmRecorder = services.app.recorder  # type: ignore[assignment]
    with pytest.raises(Exception, match="row-level security"):
        recorder.insert_events(stored, tenants={project.id: UUID(a.id)}, writes=[foreign_write])
    with services.read(scope="system") as conn:
        assert conn.execute("SELECT count(*) AS n FROM presets WHERE name = 'smuggled'").fetchone()["n"] == 0
        assert conn.execute("SELECT count(*) AS n FROM events WHERE originator_id = %s",
                            (project.id,)).fetchone()["n"] == 1
