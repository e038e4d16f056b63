"""`avm db backup` / `avm db restore` with the real pg_dump and pg_restore against the embedded server."""
from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner

from domain.application import CommandContext
from eventstore import backup as b
from tests import support


@dataclass
class Source:
    url: str
    env: dict[str, str]
    alice: Any
    bob: Any
    tmp: Path


def avm(env: dict[str, str], *args: str) -> Any:
    from api.cli import main

    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def app_on(url: str) -> Any:
    from api.services import Services
    from eventstore.database import Database

    return Services(Database(url=url, embedded=False), pool_size=2)


@pytest.fixture
def source(tmp_path: Path) -> Iterator[Source]:
    name, url = support.fresh_database("avm_bk")
    services = app_on(url)
    try:
        users = []
        for email in ("alice@example.com", "bob@example.com"):
            user, _token = services.app.register_user(CommandContext.system("tests"), email=email, name=None, role="user")
            ctx = CommandContext(tenant_id=str(user.id), actor_id=str(user.id))
            services.app.create_project(ctx, title=f"{email}'s first")
            users.append(user)
    finally:
        services.close()
    env = {"DATABASE_URL": url, "AVM_DATA_DIR": str(tmp_path / ".data"),
           "AVM_ERASURE_LEDGER": str(tmp_path / "outside" / "erasure-ledger.jsonl")}
    yield Source(url, env, users[0], users[1], tmp_path)
    support.drop_database(name)


@pytest.fixture
def target() -> Iterator[str]:
    """A new database on the same server with nothing in it (not even the schema)."""
    name = f"avm_rs_{support.uuid.uuid4().hex[:10]}"
    url = support.create_database(name)
    yield url
    support.drop_database(name)


def titles(url: str, tenant: Any) -> list[str]:
    with psycopg.connect(url) as conn:
        return [r[0] for r in conn.execute("SELECT title FROM projects WHERE tenant_id = %s ORDER BY title",
                                           (tenant.id,))]


def test_backup_then_writes_then_an_erasure_then_restore_brings_back_the_snapshot_and_reapplies_the_erasure(
        source: Source, target: str) -> None:
    out = source.tmp / "backup"
    made = avm(source.env, "db", "backup", "--out", str(out))
    assert made.exit_code == 0, made.output
    manifest = json.loads((out / b.MANIFEST_NAME).read_text())
    assert (out / b.DUMP_NAME).stat().st_size == manifest["dump"]["bytes"]
    assert {t["tenant_id"] for t in manifest["tenants"]} == {str(source.alice.id), str(source.bob.id)}
    assert manifest["log_position"] > 0 and manifest["revision"]

    # After the backup: more writes, then bob is erased (the ledger lives outside the backup).
    services = app_on(source.url)
    try:
        ctx = CommandContext(tenant_id=str(source.alice.id), actor_id=str(source.alice.id))
        services.app.create_project(ctx, title="written after the backup")
    finally:
        services.close()
    ledger = Path(source.env["AVM_ERASURE_LEDGER"])
    ledger.parent.mkdir(parents=True)
    ledger.write_text(json.dumps({"tenant_id": str(source.bob.id),
                                  "erased_at": datetime.now(timezone.utc).isoformat().replace("+00:00", "Z"),
                                  "by": "system:tests"}) + "\n")

    restored = avm({**source.env, "DATABASE_URL": target}, "db", "restore", str(out / b.MANIFEST_NAME))

    assert restored.exit_code == 0, restored.output
    assert f"erasure to re-apply: tenant {source.bob.id} (erased after this backup)" in restored.output
    assert "1 tenant(s) to erase again" in restored.output
    assert f"erased again: 1 tenant(s): {source.bob.id}" in restored.output  # the data key destroyed again
    assert "2 match the manifest" in restored.output and "identical to a rebuild" in restored.output
    assert titles(target, source.alice) == ["alice@example.com's first"]  # the backup's snapshot, no later write
    # The restored store works: the service writes on, continuing each chain and the positions.
    services = app_on(target)
    try:
        ctx = CommandContext(tenant_id=str(source.alice.id), actor_id=str(source.alice.id))
        services.app.create_project(ctx, title="after the restore")
    finally:
        services.close()
    assert avm({**source.env, "DATABASE_URL": target}, "audit", "verify").exit_code == 0


def test_restore_refuses_a_database_that_holds_events_and_changes_nothing(source: Source) -> None:
    out = source.tmp / "backup"
    assert avm(source.env, "db", "backup", "--out", str(out)).exit_code == 0
    before = titles(source.url, source.alice)

    refused = avm(source.env, "db", "restore", str(out))

    assert refused.exit_code != 0
    assert "refusing to restore into a database that is not empty" in refused.output
    assert titles(source.url, source.alice) == before


def test_restore_refuses_a_database_holding_tables_of_something_else(source: Source, target: str) -> None:
    out = source.tmp / "backup"
    assert avm(source.env, "db", "backup", "--out", str(out)).exit_code == 0
    with psycopg.connect(target) as conn:
        conn.execute("CREATE TABLE invoices (id int PRIMARY KEY)")
        conn.execute("INSERT INTO invoices VALUES (1)")

    refused = avm({**source.env, "DATABASE_URL": target}, "db", "restore", str(out))

    assert refused.exit_code != 0 and "no avm log" in refused.output
    with psycopg.connect(target) as conn:
        assert conn.execute("SELECT id FROM invoices").fetchall() == [(1,)]


def test_a_restore_whose_chains_do_not_hold_the_manifests_heads_fails(source: Source, target: str) -> None:
    out = source.tmp / "backup"
    assert avm(source.env, "db", "backup", "--out", str(out)).exit_code == 0
    path = out / b.MANIFEST_NAME
    manifest = json.loads(path.read_text())
    manifest["tenants"][0]["head_hash"] = "00" * 32  # the dump is not the one this manifest describes
    path.write_text(json.dumps(manifest))

    restored = avm({**source.env, "DATABASE_URL": target}, "db", "restore", str(out))

    assert restored.exit_code != 0
    assert f"BAD  {manifest['tenants'][0]['tenant_id']}" in restored.output and "without the manifest's head" in restored.output
    assert "does not verify: 1 problem(s)" in restored.output


def test_a_damaged_dump_is_refused_before_anything_is_touched(source: Source, target: str) -> None:
    out = source.tmp / "backup"
    assert avm(source.env, "db", "backup", "--out", str(out)).exit_code == 0
    dump = out / b.DUMP_NAME
    data = bytearray(dump.read_bytes())
    data[len(data) // 2] ^= 0xFF
    dump.write_bytes(bytes(data))

    refused = avm({**source.env, "DATABASE_URL": target}, "db", "restore", str(out))

    assert refused.exit_code != 0 and "does not match the checksum" in refused.output
    with psycopg.connect(target) as conn:
        assert conn.execute("SELECT to_regclass('public.events')").fetchone() == (None,)


def test_the_database_password_appears_neither_in_the_output_nor_in_the_backup(source: Source) -> None:
    from psycopg.conninfo import make_conninfo

    secret = "hunter2-never-shown"
    env = {**source.env, "DATABASE_URL": make_conninfo(source.url, password=secret)}  # trusted: accepted, unused
    out = source.tmp / "backup"
    made = avm(env, "db", "backup", "--out", str(out))
    assert made.exit_code == 0, made.output
    assert secret not in made.output
    assert secret.encode() not in (out / b.MANIFEST_NAME).read_bytes()
    assert secret.encode() not in (out / b.DUMP_NAME).read_bytes()


def test_backup_refuses_a_directory_that_is_not_empty(source: Source) -> None:
    out = source.tmp / "full"
    out.mkdir()
    (out / "something").write_text("x")
    refused = avm(source.env, "db", "backup", "--out", str(out))
    assert refused.exit_code != 0 and "not a new or empty directory" in refused.output


def test_the_embedded_server_is_backed_up_and_restored_with_its_own_binaries(tmp_path: Path) -> None:
    """No DATABASE_URL: `avm db backup` / `restore` start the embedded server under ./.data and use its pg_dump."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "TEST_DATABASE_URL", "AVM_DATA_DIR")}

    def run(*args: str, db: str = "avm") -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "api.cli", *args], cwd=tmp_path, env={**env, "AVM_DB_NAME": db},
                              capture_output=True, text=True, timeout=180)

    assert run("db", "init").returncode == 0
    made = run("db", "backup", "--out", "bk")
    assert made.returncode == 0, made.stderr
    manifest = json.loads((tmp_path / "bk" / b.MANIFEST_NAME).read_text())
    assert manifest["tools_major"] == int(manifest["server_version"].split(".")[0])
    restored = run("db", "restore", "bk", db="avm_restored")
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert "restore complete" in restored.stdout
    refused = run("db", "restore", "bk")  # the original holds events
    assert refused.returncode != 0 and "refusing to restore" in refused.stderr
