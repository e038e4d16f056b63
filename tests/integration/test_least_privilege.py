"""Least privilege in PostgreSQL: what the app and projector roles can and cannot do, connected as them,
and which roles `avm serve` holds connections as while it serves."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import dict_row

from tests import support
from tests.integration.test_serve import free_port


def login(url: str, role: str, autocommit: bool = False) -> psycopg.Connection[Any]:
    return psycopg.connect(make_conninfo(url, user=role, password=""), row_factory=dict_row, autocommit=autocommit)


def owner_of(url: str) -> str:
    return str(conninfo_to_dict(url).get("user") or "postgres")


@pytest.fixture
def two_tenants_with_projects(services: Any, make_tenant: Any) -> tuple[Any, Any]:
    from domain.application import CommandContext

    a, b = make_tenant(), make_tenant()
    for t in (a, b):
        services.app.create_project(CommandContext(tenant_id=t.id, actor_id=t.id, role="user"), title=f"of {t.id}")
    return a, b


# -- the app role ----------------------------------------------------------------------------------
def test_the_app_role_cannot_grant_itself_the_system_scope_with_set_config(
        database_url: str, services: Any, two_tenants_with_projects: tuple[Any, Any]) -> None:
    a, b = two_tenants_with_projects
    ids = [UUID(a.id), UUID(b.id)]
    with login(database_url, "avm_app") as conn, conn.transaction():
        conn.execute("SELECT set_config('app.scope', 'system', true)")
        seen = conn.execute("SELECT count(*) AS n FROM projects WHERE tenant_id = ANY(%s)", (ids,)).fetchone()["n"]
        events = conn.execute("SELECT count(*) AS n FROM daily_usage").fetchone()["n"]
        updated = conn.execute("UPDATE projects SET title = 'forged' WHERE tenant_id = ANY(%s)", (ids,)).rowcount
        assert (seen, events, updated) == (0, 0, 0)
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
            conn.execute("INSERT INTO presets (tenant_id, id, name, config, version, created_at, updated_at)"
                         " VALUES (%s, gen_random_uuid(), 'x', '{}', 1, now(), now())", (ids[0],))
    # The legitimate path (the service's system scope is the role avm_system) does see both.
    with services.read(scope="system") as conn:
        n = conn.execute("SELECT count(*) AS n FROM projects WHERE tenant_id = ANY(%s)", (ids,)).fetchone()["n"]
    assert n == 2


def test_no_policy_trusts_the_system_setting_and_only_avm_system_holds_the_system_scope(database_url: str) -> None:
    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        trusting = conn.execute(
            "SELECT tablename, policyname FROM pg_policies WHERE schemaname = 'public'"
            " AND (qual LIKE '%%''system''%%' OR with_check LIKE '%%''system''%%')").fetchall()
        system = conn.execute("SELECT DISTINCT roles::text AS r FROM pg_policies WHERE policyname = 'system_rows'"
                              ).fetchall()
        # PostgreSQL 16+ keeps INHERIT per membership; 15 only as the member's attribute
        inherit = ("g.inherit_option" if conn.info.server_version >= 160000 else "m.rolinherit")
        members = conn.execute(
            f"SELECT m.rolname AS member, {inherit} AS inherit FROM pg_auth_members g"
            " JOIN pg_roles m ON m.oid = g.member WHERE g.roleid = 'avm_system'::regrole"
            " AND m.rolname IN ('avm_app', 'avm_projector')").fetchall()
    assert trusting == []
    assert [r["r"] for r in system] == ["{avm_system}"]
    # the app role may switch to it for a transaction but never holds it implicitly; the projector never
    assert members == [{"member": "avm_app", "inherit": False}]


@pytest.mark.parametrize("statement", [
    "UPDATE events SET topic = 'x'",
    "DELETE FROM events",
    "TRUNCATE events",
    "TRUNCATE projects",
    "CREATE TABLE mine (x int)",
    "ALTER TABLE projects DISABLE ROW LEVEL SECURITY",
    "ALTER TABLE projects NO FORCE ROW LEVEL SECURITY",
    "DROP POLICY tenant_rows ON projects",
    "CREATE POLICY everything ON projects USING (true)",
    "ALTER FUNCTION avm_current_scope() RENAME TO x",
    "DROP TRIGGER events_chain ON events",
    "SET ROLE avm_projector",
    "GRANT avm_system TO avm_projector",
])
@pytest.mark.parametrize("as_system", [False, True], ids=["app", "app-as-system"])
def test_the_app_role_cannot_rewrite_events_change_the_schema_or_take_other_roles(
        database_url: str, statement: str, as_system: bool) -> None:
    with login(database_url, "avm_app") as conn:
        if as_system:
            conn.execute("SET ROLE avm_system")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(statement)


def test_the_app_role_cannot_become_the_owner(database_url: str) -> None:
    with login(database_url, "avm_app", autocommit=True) as conn:
        owner = conn.execute("SELECT tableowner AS o FROM pg_tables WHERE tablename = 'events'").fetchone()["o"]
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(psycopg.sql.SQL("SET ROLE {}").format(psycopg.sql.Identifier(owner)))
        for role in (owner, "postgres", "avm_projector"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("SELECT set_config('role', %s, false)", (role,))


# -- the projector role ----------------------------------------------------------------------------
def test_the_projector_role_reads_the_log_and_writes_its_views_for_every_tenant(
        database_url: str, two_tenants_with_projects: tuple[Any, Any]) -> None:
    a, b = two_tenants_with_projects
    with login(database_url, "avm_projector") as conn, conn.transaction(force_rollback=True):
        tenants = {r["tenant_id"] for r in conn.execute(
            "SELECT DISTINCT tenant_id FROM events WHERE tenant_id = ANY(%s)", ([UUID(a.id), UUID(b.id)],))}
        for t in (a, b):
            conn.execute("INSERT INTO daily_usage (tenant_id, day, projects_created) VALUES (%s, '2001-01-01', 1)",
                         (UUID(t.id),))
        conn.execute("UPDATE daily_usage SET projects_created = 2 WHERE day = '2001-01-01'")
        conn.execute("INSERT INTO tracking VALUES ('daily_usage_probe', 1)"
                     " ON CONFLICT (application_name) DO UPDATE SET notification_id = 1")
        n = conn.execute("SELECT count(*) AS n FROM daily_usage WHERE day = '2001-01-01'").fetchone()["n"]
    assert tenants == {UUID(a.id), UUID(b.id)}
    assert n == 2


@pytest.mark.parametrize("statement", [
    "SELECT * FROM users",
    "SELECT * FROM api_tokens",
    "SELECT * FROM projects",
    "SELECT * FROM jobs",
    "SELECT * FROM idempotency_keys",
    "UPDATE events SET topic = 'x'",
    "DELETE FROM events",
    "TRUNCATE daily_usage",
    "CREATE TABLE mine (x int)",
    "SELECT avm_lock_events('EXCLUSIVE')",
    "SET ROLE avm_system",
    "SET ROLE avm_app",
])
def test_the_projector_role_can_do_nothing_else(database_url: str, statement: str) -> None:
    with login(database_url, "avm_projector") as conn:
        conn.execute("SELECT set_config('app.scope', 'system', false)")  # grants nothing either
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(statement)


def test_the_projector_role_cannot_append_events(database_url: str, tenant: Any) -> None:
    with login(database_url, "avm_projector") as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("INSERT INTO events (originator_id, originator_version, topic, state, tenant_id, tenant_seq,"
                         " recorded_at, prev_hash, hash) VALUES (gen_random_uuid(), 1, 't', '', %s, 0, now(), '', '')",
                         (UUID(tenant.id),))


# -- avm serve's connections -----------------------------------------------------------------------
def _serve(tmp_path: Path, url: str, *args: str, **env: str) -> tuple[subprocess.Popen[str], int]:
    port = free_port()
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("AVM_", "TEST_DATABASE_URL"))}
    environ.update({"DATABASE_URL": url, "AVM_DATA_DIR": str(tmp_path / "data"), **env})
    proc = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--port", str(port), *args],
                            cwd=support.ROOT, env=environ, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for _ in range(300):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=5):
                return proc, port
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.1)
    proc.kill()
    raise AssertionError(proc.communicate()[0])


def _stop(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    return out


def test_avm_serve_holds_no_owner_or_superuser_connection_not_even_for_its_projectors(tmp_path: Path) -> None:
    name, url = support.fresh_database("avm_lp")
    try:
        proc, port = _serve(tmp_path, url, AVM_PROJECTORS="1")
        try:
            with psycopg.connect(url, row_factory=dict_row) as watcher:
                me = watcher.execute("SELECT pg_backend_pid() AS pid").fetchone()["pid"]
                query = ("SELECT a.usename, a.application_name, r.rolsuper FROM pg_stat_activity a"
                         " JOIN pg_roles r ON r.oid = a.usesysid WHERE a.datname = %s AND a.pid <> %s")
                for _ in range(200):  # until the in-process projectors are connected
                    sessions = watcher.execute(query, (name, me)).fetchall()
                    if any(s["application_name"].startswith("avm projector") for s in sessions) and \
                            any(s["usename"] == "avm_projector" and not s["application_name"] for s in sessions):
                        break
                    time.sleep(0.1)
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=5).read()
                sessions += watcher.execute(query, (name, me)).fetchall()
        finally:
            _stop(proc)
    finally:
        support.drop_database(name)
    users = {s["usename"] for s in sessions}
    assert users == {"avm_app", "avm_projector"}, sessions
    assert not any(s["rolsuper"] for s in sessions)
    assert owner_of(url) not in users
    assert {s["usename"] for s in sessions if s["application_name"].startswith("avm projector")} == {"avm_projector"}


def test_with_database_url_serve_neither_seeds_nor_prints_a_token_unless_asked(tmp_path: Path) -> None:
    name, url = support.fresh_database("avm_lp")
    try:
        proc, _ = _serve(tmp_path, url, AVM_PROJECTORS="0")
        out = _stop(proc)
        with psycopg.connect(url) as conn:
            events = conn.execute("SELECT count(*) FROM events").fetchone()[0]
        assert "demo token" not in out and "avm_" not in out.replace("avm serving", "").replace("avm stopped", "")
        assert events == 0
        assert not (tmp_path / "data" / "demo_token").exists()

        proc, _ = _serve(tmp_path, url, "--seed", AVM_PROJECTORS="0")
        out = _stop(proc)
        assert "demo token: avm_" in out
        proc, _ = _serve(tmp_path, url, AVM_PROJECTORS="0", AVM_SEED_DEMO="1")
        assert "demo token: avm_" in _stop(proc)
    finally:
        support.drop_database(name)


# -- the embedded server's socket ------------------------------------------------------------------
def test_the_embedded_servers_socket_directory_is_private_to_its_os_user(tmp_path: Path) -> None:
    """A data directory too long for a unix socket makes the library put the socket in a runtime
    directory of its own (created 0755, or 0777 under root): it must end up 0700 like the data dir."""
    from eventstore.database import _stop_if_last_handle, start_embedded

    pgdata = tmp_path / ("d" * 90) / "pg"
    server: Any = start_embedded(pgdata, stop_on_exit=False)
    try:
        socket_dir = server.get_postmaster_info().socket_dir
        assert socket_dir != pgdata  # the fallback is what this test is about
        with psycopg.connect(server.get_uri("postgres")) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
        mode, uid = socket_dir.stat().st_mode & 0o777, socket_dir.stat().st_uid
    finally:
        _stop_if_last_handle(pgdata, server)
    assert mode == 0o700, oct(mode)
    assert uid == pgdata.stat().st_uid  # the server's OS user: ours, or `embedded_postgres` under root


def test_with_only_the_service_roles_credentials_serve_and_the_projector_run_without_migrating(
        tmp_path: Path) -> None:
    """docker-compose.yml's api and projector: DATABASE_URL logs in as avm_app / avm_projector."""
    name, url = support.fresh_database("avm_lp")
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("AVM_", "TEST_DATABASE_URL"))}
    projector = subprocess.Popen([sys.executable, "-m", "api.cli", "projections", "run"], cwd=support.ROOT,
                                 env={**environ, "DATABASE_URL": make_conninfo(url, user="avm_projector", password="")},
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        proc, port = _serve(tmp_path, make_conninfo(url, user="avm_app", password=""), AVM_PROJECTORS="0")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=5) as resp:
                assert resp.status == 200
            with psycopg.connect(url) as watcher:
                for _ in range(200):
                    users = {r[0] for r in watcher.execute(
                        "SELECT usename FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                        (name,))}
                    if "avm_projector" in users:
                        break
                    time.sleep(0.1)
        finally:
            out = _stop(proc)
    finally:
        projector.send_signal(signal.SIGTERM)
        projector_out = projector.communicate(timeout=60)[0]
        support.drop_database(name)
    assert users == {"avm_app", "avm_projector"}, (users, out, projector_out)
    assert "daily_usage: active" in projector_out, projector_out
    assert projector.returncode == 0, projector_out
