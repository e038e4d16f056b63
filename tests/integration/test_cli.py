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
    assert avm(env, "db", "reset", "--yes").returncode == 0
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM events").fetchone() == (0,)


@pytest.mark.parametrize("args", [["--help"], ["db", "--help"], ["users", "create", "--help"],
                                  ["projections", "rebuild", "--help"], ["serve", "--help"]])
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
