"""The `avm` command line against a real database (DATABASE_URL pointing at a fresh one)."""
from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests import support

AVM = [sys.executable, "-m", "api.cli"]


@pytest.fixture
def cli_db(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    name = f"avm_cli_{os.getpid()}_{tmp_path.name[-8:]}".replace("-", "_")
    url = support.create_database(name)
    env = {**os.environ, "DATABASE_URL": url, "AVM_DATA_DIR": str(tmp_path / ".data")}
    yield url, env
    support.drop_database(name)


def avm(env: dict[str, str], *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*AVM, *args], env=env, capture_output=True, text=True, timeout=120, input=input,
                          cwd=support.ROOT)


def test_db_init_migrates_and_seeds_the_demo_data(cli_db: tuple[str, dict[str, str]]) -> None:
    url, env = cli_db
    result = avm(env, "db", "init")
    assert result.returncode == 0, result.stderr
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT email FROM users").fetchall() == [("demo@example.com",)]
        (project_id,) = conn.execute("SELECT id FROM projects").fetchone()
        assert conn.execute("SELECT count(*) FROM scenes WHERE project_id = %s", (project_id,)).fetchone() == (3,)
    again = avm(env, "db", "init")
    assert again.returncode == 0 and "not seeded" in again.stdout
    status = avm(env, "db", "status")
    from eventstore.migrate import status as revision_status

    current, head = revision_status(url)
    assert current == head and f"revision: {head} (head {head})" in status.stdout and "events:   " in status.stdout
    assert avm(env, "db", "verify").returncode == 0


def test_users_create_prints_a_working_token_alone_on_the_last_line(cli_db: tuple[str, dict[str, str]]) -> None:
    url, env = cli_db
    result = avm(env, "users", "create", "--email", "Boss@Example.com", "--role", "admin", "--name", "Boss")
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip().splitlines()[-1]
    assert token.startswith("avm_") and " " not in token
    from domain.application import hash_token

    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT u.role, u.email FROM api_tokens t JOIN users u ON u.id = t.tenant_id"
                           " WHERE t.token_hash = %s", (hash_token(token),)).fetchone()
        actor = conn.execute("SELECT DISTINCT actor_id FROM events").fetchall()
    assert row == ("admin", "Boss@Example.com")
    assert actor == [("system:avm users create",)]
    duplicate = avm(env, "users", "create", "--email", "boss@example.com", "--role", "user")
    assert duplicate.returncode != 0
    assert duplicate.stderr.strip().count("\n") == 0 and "EmailTaken" in duplicate.stderr


def test_projections_rebuild_and_reset_from_the_command_line(cli_db: tuple[str, dict[str, str]]) -> None:
    url, env = cli_db
    assert avm(env, "db", "init").returncode == 0
    rebuilt = avm(env, "projections", "rebuild")
    assert rebuilt.returncode == 0 and "rebuilt users, projects, scenes" in rebuilt.stdout
    unknown = avm(env, "projections", "rebuild", "nope")
    assert unknown.returncode != 0 and "unknown projection" in unknown.stderr
    refused = avm(env, "db", "reset", input="n\n")
    assert refused.returncode != 0
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM users").fetchone() == (1,)
    reset = avm(env, "db", "reset", "--yes", "--no-seed")
    assert reset.returncode == 0 and "not seeded" in reset.stdout, reset.stderr
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM events").fetchone() == (0,)


def test_db_reset_seeds_the_demo_data_again_unless_told_not_to(cli_db: tuple[str, dict[str, str]]) -> None:
    url, env = cli_db
    assert avm(env, "db", "init").returncode == 0
    assert avm(env, "users", "create", "--email", "gone@example.com", "--role", "user").returncode == 0
    reset = avm(env, "db", "reset", "--yes")
    assert reset.returncode == 0, reset.stderr
    token = reset.stdout.strip().splitlines()[-1].removeprefix("demo token: ")
    from domain.application import hash_token

    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT email FROM users").fetchall() == [("demo@example.com",)]
        assert conn.execute("SELECT title FROM projects").fetchall() == [("The Lighthouse Keeper",)]
        assert conn.execute("SELECT count(*) FROM api_tokens WHERE token_hash = %s",
                            (hash_token(token),)).fetchone() == (1,)
    bare = avm(env, "db", "reset", "--yes", "--no-seed")
    assert bare.returncode == 0, bare.stderr
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM events").fetchone() == (0,)


def test_db_seed_on_a_seeded_database_is_a_no_op_that_says_so(cli_db: tuple[str, dict[str, str]]) -> None:
    url, env = cli_db
    first = avm(env, "db", "seed")
    assert first.returncode == 0, first.stderr
    token = first.stdout.strip().splitlines()[-1]
    assert token.startswith("avm_")
    with psycopg.connect(url) as conn:
        before = conn.execute("SELECT count(*) FROM events").fetchone()
    second = avm(env, "db", "seed")
    assert second.returncode == 0, second.stderr
    assert "already seeded" in second.stdout and "nothing added" in second.stdout
    assert second.stdout.strip().splitlines()[-1] == f"demo token: {token}"
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM events").fetchone() == before
        assert conn.execute("SELECT count(*) FROM users WHERE email = 'demo@example.com'").fetchone() == (1,)
        assert conn.execute("SELECT count(*) FROM projects").fetchone() == (1,)


@pytest.mark.parametrize("args", [["--help"], ["db", "--help"], ["users", "create", "--help"],
                                  ["projections", "rebuild", "--help"], ["serve", "--help"], ["bench", "--help"],
                                  ["db", "reset", "--help"], ["db", "seed", "--help"], ["audit", "export", "--help"]])
def test_every_command_has_help(args: list[str]) -> None:
    result = subprocess.run([*AVM, *args], capture_output=True, text=True, timeout=60, cwd=support.ROOT)
    assert result.returncode == 0 and "Usage:" in result.stdout


def test_the_sweeps_run_from_the_command_line(cli_db: tuple[str, dict[str, str]]) -> None:
    url, env = cli_db
    assert avm(env, "db", "init").returncode == 0
    expired = avm(env, "assets", "expire")
    swept = avm(env, "jobs", "sweep")
    assert expired.returncode == 0 and expired.stdout.strip() == "expired 0 assets", expired.stderr
    assert swept.returncode == 0 and swept.stdout.strip() == "timed out 0 jobs", swept.stderr


def test_audit_export_without_tenant_writes_every_tenant_and_each_part_verifies(
        cli_db: tuple[str, dict[str, str]], tmp_path: Path) -> None:
    url, env = cli_db
    assert avm(env, "db", "init").returncode == 0
    for email in ("one@example.com", "two@example.com"):
        assert avm(env, "users", "create", "--email", email, "--role", "user").returncode == 0
    with psycopg.connect(url) as conn:
        tenants = {str(t) for (t,) in conn.execute("SELECT DISTINCT tenant_id FROM events")}
        counts = dict(conn.execute("SELECT tenant_id::text, count(*) FROM events GROUP BY tenant_id").fetchall())
    assert len(tenants) == 3
    out = tmp_path / "export"
    exported = avm(env, "audit", "export", "--out", str(out))
    assert exported.returncode == 0, exported.stderr
    files = sorted(out.glob("*.ndjson"))
    assert {f.stem for f in files} == tenants
    import json

    for f in files:
        lines = f.read_text().splitlines()
        manifest = json.loads(lines[-1])["manifest"]
        assert manifest["tenant_id"] == f.stem and manifest["count"] == len(lines) - 1 == counts[f.stem]
        one = avm(env, "audit", "verify", "--file", str(f))
        assert one.returncode == 0 and one.stdout.startswith(f"ok   {f.stem}  {counts[f.stem]} events"), one.stdout
    index = json.loads((out / "index.json").read_text())
    assert {t["tenant_id"] for t in index["tenants"]} == tenants
    whole = avm(env, "audit", "verify", "--file", str(out))
    assert whole.returncode == 0, whole.stdout + whole.stderr
    assert whole.stdout.count("ok ") == 3 and "BAD" not in whole.stdout
    with psycopg.connect(url) as conn:  # the operator's read is on every tenant's trail
        assert conn.execute("SELECT count(DISTINCT tenant_id) FROM events"
                            " WHERE actor_id = 'system:avm audit export'").fetchone() == (3,)
    again = avm(env, "audit", "export", "--out", str(out))
    assert again.returncode != 0 and "not a new or empty directory" in again.stderr
    files[0].unlink()
    missing = avm(env, "audit", "verify", "--file", str(out))
    assert missing.returncode == 1 and f"BAD  {files[0].stem}" in missing.stdout and "missing" in missing.stdout


def _usage_rows(url: str) -> list[tuple[object, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT * FROM daily_usage ORDER BY tenant_id, day").fetchall() + \
            conn.execute("SELECT * FROM daily_usage_assets ORDER BY tenant_id, asset_id").fetchall()


def _position_and_head(url: str) -> tuple[int, int]:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT notification_id FROM tracking WHERE application_name = 'daily_usage'").fetchone()
        head = conn.execute("SELECT max(notification_id) FROM events").fetchone()[0]
    return (row[0] if row else 0), head


def _wait_caught_up(url: str) -> None:
    import time

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        position, head = _position_and_head(url)
        if position >= head:
            return
        time.sleep(0.1)
    raise AssertionError("the daily_usage runner did not catch up")


def _spoil_usage(url: str) -> None:
    with psycopg.connect(url) as conn:
        conn.execute("UPDATE daily_usage SET projects_created = projects_created + 7, scenes_created = 0")
        conn.execute("INSERT INTO daily_usage (tenant_id, day) VALUES (gen_random_uuid(), '2001-01-01')")


def test_projections_rebuild_replays_the_async_view_with_or_without_its_runner(
        cli_db: tuple[str, dict[str, str]]) -> None:
    from projections.runtime import start_projectors
    from api.services import Services
    from domain.application import CommandContext
    from eventstore.database import Database

    url, env = cli_db
    assert avm(env, "db", "init").returncode == 0
    services = Services(Database(url=url, embedded=False), pool_size=2)
    try:
        user, _ = services.app.register_user(CommandContext.system("tests"), email="u@example.com", name="U",
                                                  role="premium")
        ctx = CommandContext(tenant_id=str(user.id), actor_id=str(user.id), role="premium")
        for title in ("one", "two"):
            services.app.create_project(ctx, title=title)
        stop = start_projectors(url)
        try:
            _wait_caught_up(url)
            expected = _usage_rows(url)
            assert len(expected) == 2 and {r[2] for r in expected} == {1, 2}  # projects_created per tenant
            _spoil_usage(url)
            assert _usage_rows(url) != expected
            # A runner is active (this process holds its lock): replayed up to its position, it carries on.
            rebuilt = avm(env, "projections", "rebuild", "daily_usage")
            assert rebuilt.returncode == 0, rebuilt.stderr
            assert "rebuilt daily_usage (async)" in rebuilt.stdout and "active runner" in rebuilt.stdout
            assert "rebuilt users" not in rebuilt.stdout
            assert _usage_rows(url) == expected
            services.app.create_project(ctx, title="three")
            _wait_caught_up(url)
            after = _usage_rows(url)
        finally:
            stop()
    finally:
        services.close()
    assert sorted(r[2] for r in after if r[0] == user.id) == [3]
    # No runner, and a view that lost its rows and position: rebuilt up to the head, with the inline views.
    _spoil_usage(url)
    with psycopg.connect(url) as conn:
        conn.execute("DELETE FROM tracking WHERE application_name = 'daily_usage'")
    everything = avm(env, "projections", "rebuild")
    assert everything.returncode == 0, everything.stderr
    assert "rebuilt users, projects, scenes" in everything.stdout and "rebuilt daily_usage (async)" in everything.stdout
    assert _usage_rows(url) == after
    position, head = _position_and_head(url)
    assert position == head
    one_tenant = avm(env, "projections", "rebuild", "daily_usage", "--tenant", str(user.id))
    assert one_tenant.returncode == 0 and f"for tenant {user.id}" in one_tenant.stdout, one_tenant.stderr
    assert _usage_rows(url) == after


def test_serve_banner_shows_the_real_data_directory(tmp_path: Path) -> None:
    import signal
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    import shutil
    import uuid

    # Not under tmp_path: a concurrent pytest session resets /tmp/pytest-of-<user> to 0700, which the
    # embedded server's own OS user (when we run as root) then cannot traverse.
    scratch = support.ROOT / ".data" / f"banner-{uuid.uuid4().hex[:8]}"
    data = scratch / "elsewhere" / "avmdata"
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "TEST_DATABASE_URL")}
    env["AVM_DATA_DIR"] = str(data)
    proc = subprocess.Popen([*AVM, "serve", "--port", str(port)], cwd=cwd, env={**env, "PYTHONPATH": str(support.ROOT)},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    try:
        while True:
            line = proc.stdout.readline()  # type: ignore[union-attr]
            if not line or line.startswith("avm serving on"):
                lines.append(line)
                break
            lines.append(line)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)
        shutil.rmtree(scratch, ignore_errors=True)
    assert f"(database: embedded PostgreSQL ({data}))" in lines[-1], "".join(lines)
    assert not (cwd / ".data").exists()


def test_bench_runs_a_short_benchmark_and_prints_its_figures(cli_db: tuple[str, dict[str, str]]) -> None:
    url, env = cli_db
    result = avm(env, "bench", "--seconds", "2", "--connections", "2")
    assert result.returncode == 0, result.stdout + result.stderr
    rows = {line[:16].strip(): line[16:].split() for line in result.stdout.splitlines()[2:]}
    assert set(rows) == {"create project", "read project"}, result.stdout
    for requests, per_second, p50, p99, failed in rows.values():
        assert int(requests) > 0 and float(per_second) > 0 and 0 < float(p50) <= float(p99) and failed == "0"
    with psycopg.connect(url) as conn:
        created = conn.execute("SELECT count(*) FROM projects").fetchone()[0]
    assert created == int(rows["create project"][0])


def test_async_rebuild_while_its_runner_projects_new_events_loses_and_doubles_nothing(
        cli_db: tuple[str, dict[str, str]]) -> None:
    import threading

    from projections.runtime import start_projectors
    from api.services import Services
    from domain.application import CommandContext
    from eventstore.database import Database

    url, env = cli_db
    assert avm(env, "db", "init").returncode == 0
    services = Services(Database(url=url, embedded=False), pool_size=2)
    done = threading.Event()
    try:
        user, _ = services.app.register_user(CommandContext.system("tests"), email="w@example.com", name="W",
                                             role="admin")
        ctx = CommandContext(tenant_id=str(user.id), actor_id=str(user.id), role="admin")

        def write() -> None:
            n = 0
            while not done.is_set() or n < 20:
                services.app.create_project(ctx, title=f"p{n}")
                n += 1

        stop = start_projectors(url)
        writer = threading.Thread(target=write)
        try:
            writer.start()
            for _ in range(2):
                rebuilt = avm(env, "projections", "rebuild", "daily_usage")
                assert rebuilt.returncode == 0, rebuilt.stderr
            done.set()
            writer.join()
            _wait_caught_up(url)
            live = _usage_rows(url)
        finally:
            done.set()
            stop()
    finally:
        services.close()
    with psycopg.connect(url) as conn:
        created = conn.execute("SELECT count(*) FROM projects WHERE tenant_id = %s", (user.id,)).fetchone()[0]
    assert sum(r[2] for r in live if r[0] == user.id) == created
    clean = avm(env, "projections", "rebuild", "daily_usage")  # no runner now: a replay from scratch
    assert clean.returncode == 0 and "active runner" not in clean.stdout, clean.stderr
    assert _usage_rows(url) == live
