"""A blue/green rebuild builds beside the live tables while the service serves, and swaps atomically."""
from __future__ import annotations

import threading
import time
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest

from domain.application import CommandContext
from domain.errors import EmailTaken
from domain.projects import Project
from projections.inline import INLINE_PROJECTIONS
from projections.rebuild import RebuildRunning, advisory_key, blue_green, verify
from tests.rebuild_support import table_checksums
from tests.integration.test_rebuild import STORY, fresh_services, register, seed_mixed_history

TABLES = [t for p in INLINE_PROJECTIONS for t in p.tables]


def bulk_projects(services: Any, ctx: CommandContext, n: int) -> list[str]:
    """n projects with stories and scene edits, saved 50 aggregates per transaction (inline rows included)."""
    ids = []
    for start in range(0, n, 50):
        batch = []
        for i in range(start, min(n, start + 50)):
            p = Project.create(tenant_id=ctx.tenant_id, title=f"Bulk {i}", config={"aspect_ratio": "16:9"})
            p.set_story(STORY)
            p.update_scene(0, prompt=f"prompt {i}")
            p.rename(f"Bulk {i}, renamed")
            batch.append(p)
        services.app._save(ctx, *batch)  # one save of 50 projects: their events and inline rows
        ids += [str(p.id) for p in batch]
    return ids


def structure(url: str) -> dict[str, Any]:
    """Everything about the live tables a swap must keep: names of indexes and constraints, grants,
    row-level security and policies, triggers."""
    with psycopg.connect(url) as conn:
        return {
            "indexes": sorted(conn.execute(
                "SELECT indrelid::regclass::text, indexrelid::regclass::text, pg_get_indexdef(indexrelid)"
                " FROM pg_index WHERE indrelid = ANY(%s::regclass[])", (TABLES,)).fetchall()),
            "constraints": sorted(conn.execute(
                "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint"
                " WHERE conrelid = ANY(%s::regclass[])", (TABLES,)).fetchall()),
            "grants": sorted(conn.execute(
                "SELECT table_name, grantee, privilege_type FROM information_schema.role_table_grants"
                " WHERE table_name = ANY(%s)", (TABLES,)).fetchall()),
            "rls": sorted(conn.execute(
                "SELECT relname, relrowsecurity, relforcerowsecurity, relowner::regrole::text, reloptions"
                " FROM pg_class WHERE relname = ANY(%s) AND relkind = 'r'", (TABLES,)).fetchall()),
            "policies": sorted(conn.execute(
                "SELECT tablename, policyname, permissive, roles::text, cmd, qual, with_check FROM pg_policies"
                " WHERE tablename = ANY(%s)", (TABLES,)).fetchall()),
            "triggers": sorted(conn.execute(
                "SELECT tgrelid::regclass::text, tgname FROM pg_trigger WHERE tgrelid = ANY(%s::regclass[])"
                " AND NOT tgisinternal", (TABLES,)).fetchall()),
        }


def leftovers(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        return [r[0] for r in conn.execute(
            "SELECT relname FROM pg_class WHERE relname LIKE '%%\\_\\_rb' OR relname LIKE '%%\\_\\_old'")]


def oids(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        return dict(conn.execute("SELECT relname, oid::int FROM pg_class WHERE relname = ANY(%s) AND relkind = 'r'",
                                 (TABLES,)).fetchall())


def checksums(url: str, where: str = "", params: tuple[Any, ...] = ()) -> dict[str, str]:
    with psycopg.connect(url) as conn:
        return table_checksums(conn, TABLES, where=where, params=params)


def test_commands_and_reads_never_fail_while_a_blue_green_rebuild_builds_and_swaps() -> None:
    from projections.projects import get_project, list_projects, list_scenes

    with fresh_services(pool_size=8) as (services, url):
        for _ in range(30):  # volume, spread over tenants (each tenant's chain grows on its own)
            bulk_projects(services, register(services, "admin")[0], 50)
        tenants = [register(services, "admin") for _ in range(3)]
        mine = {ctx.tenant_id: bulk_projects(services, ctx, 5) for ctx, _ in tenants}
        stop = threading.Event()
        failures: list[str] = []
        counts = {"commands": 0, "reads": 0, "commands_during_rebuild": 0}
        rebuilding = threading.Event()

        def write(ctx: CommandContext, token: str) -> None:
            i = 0
            while not stop.is_set():
                i += 1
                try:
                    p = services.app.create_project(ctx, title=f"live {i}")
                    services.app.update_project(ctx, str(p.id), None, title=f"live {i}, renamed")
                    services.app.set_story(ctx, str(p.id), None, STORY)
                    counts["commands"] += 3
                    if rebuilding.is_set():
                        counts["commands_during_rebuild"] += 3
                except Exception as exc:  # noqa: BLE001 - counted
                    failures.append(f"command: {type(exc).__name__}: {exc}")

        def read(ctx: CommandContext, token: str) -> None:
            tenant = UUID(ctx.tenant_id)
            while not stop.is_set():
                try:
                    assert services.authenticate(token) is not None
                    with services.read(tenant) as conn:
                        rows = list_projects(conn, tenant, limit=20, after=None, status=None, q=None,
                                             include_deleted=False)
                        assert len(rows) >= 5
                        for pid in mine[ctx.tenant_id][:2]:
                            assert get_project(conn, tenant, UUID(pid)) is not None
                            assert len(list_scenes(conn, tenant, UUID(pid))) > 0
                    counts["reads"] += 1
                except Exception as exc:  # noqa: BLE001 - counted
                    failures.append(f"read: {type(exc).__name__}: {exc}")

        threads = [threading.Thread(target=f, args=t) for t in tenants for f in (write, read)]
        for t in threads:
            t.start()
        try:
            time.sleep(0.3)
            rebuilding.set()
            results = [blue_green(url, services.app.mapper) for _ in range(3)]  # three swaps under load
            rebuilding.clear()
            time.sleep(0.3)
        finally:
            stop.set()
            for t in threads:
                t.join()
        assert failures == []
        assert counts["commands_during_rebuild"] > 0 and counts["reads"] > 0
        assert any(r.caught_up > 0 for r in results)  # events appended while it built were caught up
        assert all(r.locked_seconds < 2.0 for r in results)
        after = checksums(url)
        assert verify(url, services.app.mapper).differences == []
        blue_green(url, services.app.mapper)  # from scratch, with nothing appended meanwhile
        assert checksums(url) == after
        assert leftovers(url) == []


def test_the_swap_keeps_names_grants_policies_and_triggers_and_the_email_constraint_still_maps_to_409() -> None:
    with fresh_services() as (services, url):
        seed_mixed_history(services, tenants=3)
        with psycopg.connect(url) as conn:  # as the owner: extras a swap must carry over
            conn.execute("CREATE FUNCTION avm_test_noop() RETURNS trigger LANGUAGE plpgsql AS"
                         " $$ BEGIN RETURN NEW; END $$")
            conn.execute("CREATE TRIGGER projects_noop BEFORE UPDATE ON projects FOR EACH ROW"
                         " EXECUTE FUNCTION avm_test_noop()")
            conn.execute("ALTER TABLE scenes SET (fillfactor = 90)")
            conn.execute("COMMENT ON TABLE presets IS 'a tenant''s presets {not a placeholder} 100%'")
        before, data, old_oids = structure(url), checksums(url), oids(url)
        result = blue_green(url, services.app.mapper)
        assert result.projections == [p.name for p in INLINE_PROJECTIONS]
        assert structure(url) == before
        assert checksums(url) == data
        assert all(oids(url)[t] != old_oids[t] for t in TABLES)  # new tables, under the old names
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT obj_description('presets'::regclass, 'pg_class')").fetchone()[0] == \
                "a tenant's presets {not a placeholder} 100%"
        email = services.app.register_user(CommandContext.system("tests"), email=f"x-{uuid4().hex[:8]}@example.com",
                                           name=None, role="user")[0].email
        with pytest.raises(EmailTaken):
            services.app.register_user(CommandContext.system("tests"), email=email.upper(), name=None, role="user")
        assert leftovers(url) == []


def test_a_tenant_rebuild_repairs_that_tenant_and_leaves_every_other_row_byte_identical() -> None:
    with fresh_services() as (services, url):
        contexts = seed_mixed_history(services, tenants=6)
        a, b = UUID(contexts[0].tenant_id), UUID(contexts[1].tenant_id)
        with psycopg.connect(url) as conn:
            for t in (a, b):
                conn.execute("UPDATE projects SET title = 'damaged' WHERE tenant_id = %s", (t,))
                conn.execute("DELETE FROM scenes WHERE tenant_id = %s AND idx = 0", (t,))
                conn.execute("UPDATE users SET name = 'damaged' WHERE tenant_id = %s", (t,))
        others = checksums(url, "WHERE tenant_id <> %s", (a,))
        damaged = verify(url, services.app.mapper, tenant_id=a)
        assert {d.table for d in damaged.differences} == {"projects", "scenes", "users"}
        old_oids = oids(url)
        result = blue_green(url, services.app.mapper, tenant_id=a)
        assert result.tenant_id == a and result.rows > 0
        assert checksums(url, "WHERE tenant_id <> %s", (a,)) == others  # b's damage included
        assert verify(url, services.app.mapper, tenant_id=a).differences == []
        assert len(verify(url, services.app.mapper, tenant_id=b).differences) > 0
        assert oids(url) == old_oids  # rows replaced in place, no table swapped
        assert leftovers(url) == []


@pytest.mark.parametrize("phase", ["build", "index", "catch-up", "swap"])
def test_ctrl_c_at_any_phase_leaves_the_live_tables_untouched_and_nothing_behind(phase: str) -> None:
    with fresh_services() as (services, url):
        seed_mixed_history(services, tenants=4)
        with psycopg.connect(url) as conn:
            conn.execute("UPDATE projects SET title = 'damaged by hand'")  # a rebuild would repair it
        data, old_oids, shape = checksums(url), oids(url), structure(url)

        def interrupt(p: Any) -> None:
            if p.phase == phase and (phase != "build" or p.done > 0):
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            blue_green(url, services.app.mapper, progress=interrupt)
        assert checksums(url) == data
        assert oids(url) == old_oids and structure(url) == shape
        assert leftovers(url) == []
        with psycopg.connect(url) as conn:  # no session still holds the rebuild's locks
            assert conn.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database ="
                                " (SELECT oid FROM pg_database WHERE datname = current_database())").fetchone()[0] == 0
        services.app.create_project(CommandContext(tenant_id=register(services)[0].tenant_id,
                                                   actor_id="tests"), title="still works")
        blue_green(url, services.app.mapper)  # and a rebuild can run again
        assert verify(url, services.app.mapper).differences == []


def test_a_second_rebuild_of_the_same_projection_is_refused_while_one_runs() -> None:
    with fresh_services() as (services, url):
        seed_mixed_history(services, tenants=2)
        # Another process's rebuild of `projects` holds its advisory lock.
        with psycopg.connect(url) as other:
            other.execute("SELECT pg_advisory_lock(%s, %s)", advisory_key("projects"))
            with pytest.raises(RebuildRunning):
                blue_green(url, services.app.mapper, ["scenes", "projects"])
            blue_green(url, services.app.mapper, ["users"])  # other projections are free
        # In this process: a rebuild waiting to swap (writers' SHARE lock holds it) blocks a second.
        with psycopg.connect(url) as holder:
            holder.execute("SELECT avm_lock_events('SHARE')")
            errors: list[BaseException] = []
            first = threading.Thread(target=lambda: _capture(errors, blue_green, url, services.app.mapper, ["jobs"]))
            first.start()
            time.sleep(0.5)
            with pytest.raises(RebuildRunning):
                blue_green(url, services.app.mapper, ["jobs"])
            holder.rollback()
        first.join()
        assert errors == []


def _capture(errors: list[BaseException], fn: Any, *args: Any) -> None:
    try:
        fn(*args)
    except BaseException as exc:  # noqa: BLE001 - asserted by the test
        errors.append(exc)
