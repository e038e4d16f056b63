"""Tampering with the stored log (as a superuser bypassing the triggers) is caught by the endpoint, the CLI,
offline verification of exports and signed checkpoints. Each test owns a fresh database: the shared one's
chains must stay intact for the other tests."""
from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import pytest
from click.testing import CliRunner
from psycopg.rows import dict_row

from domain.application import CommandContext
from eventstore.chain import link_hash
from tests import support
from tests.support import Caller


@dataclass
class World:
    """A fresh database with two tenants that have a few events each, the app on it, and CLI settings."""

    url: str
    services: Any
    client: Any
    alice: Caller
    bob: Caller
    admin: Caller
    env: dict[str, str]
    tmp: Path

    def rows(self, who: Caller) -> list[dict[str, Any]]:
        with psycopg.connect(self.url, row_factory=dict_row) as conn:
            return conn.execute("SELECT * FROM events WHERE tenant_id = %s ORDER BY tenant_seq",
                                (who.id,)).fetchall()

    def tamper(self, *statements: tuple[str, tuple[Any, ...]]) -> None:
        """Run statements as the superuser with the append-only triggers bypassed, in one transaction."""
        with psycopg.connect(self.url) as conn:
            conn.execute("SET session_replication_role = replica")
            for sql, params in statements:
                conn.execute(sql, params)

    def verify(self, who: Caller, as_: Caller | None = None) -> dict[str, Any]:
        params = {"tenant_id": who.id} if as_ is not None else {}
        r = self.client.get("/api/v1/audit/verify", params=params, headers=(as_ or who).headers)
        assert r.status_code == 200, r.text
        return r.json()

    def export(self, who: Caller) -> bytes:
        r = self.client.get("/api/v1/audit/export", headers=who.headers)
        assert r.status_code == 200, r.text
        return r.content

    def avm(self, *args: str) -> Any:
        from api.cli import main

        return CliRunner().invoke(main, list(args), env=self.env, catch_exceptions=False)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    from litestar.testing import TestClient

    from api.app import create_app
    from api.services import Services
    from eventstore.database import Database

    name, url = support.fresh_database("avm_audit")
    services = Services(Database(url=url, embedded=False), pool_size=3)
    try:
        users = []
        for email, role in (("alice@example.com", "user"), ("bob@example.com", "user"), ("root@example.com", "admin")):
            user, token = services.app.register_user(CommandContext.system("tests"), email=email, name=None, role=role)
            users.append(Caller(str(user.id), token))
        alice, bob, admin = users
        for who in (alice, bob):
            ctx = CommandContext(tenant_id=who.id, actor_id=who.id)
            for title in ("hello world", "second", "third"):
                project = services.app.create_project(ctx, title=title)
            services.app.update_project(ctx, str(project.id), None, title="renamed")
        env = {"DATABASE_URL": url, "AVM_DATA_DIR": str(tmp_path / ".data"),
               "AVM_CHECKPOINT_KEY": str(tmp_path / "keys" / "checkpoint.pem")}
        with TestClient(create_app(services), raise_server_exceptions=False) as client:
            yield World(url, services, client, alice, bob, admin, env, tmp_path)
    finally:
        services.close()
        support.drop_database(name)


def _flip_byte(state: bytes, needle: bytes) -> bytes:
    i = state.index(needle)
    return state[:i] + bytes([state[i] ^ 0x01]) + state[i + 1:]


# -- the endpoint and the CLI over the database ---------------------------------------------------------
HASHED_COLUMN_CHANGES = {
    "state": ("UPDATE events SET state = %s WHERE notification_id = %s", "state"),
    "topic": ("UPDATE events SET topic = topic || 'x' WHERE notification_id = %s", None),
    "actor_id": ("UPDATE events SET actor_id = 'mallory' WHERE notification_id = %s", None),
    "command_id": ("UPDATE events SET command_id = 'forged' WHERE notification_id = %s", None),
    "correlation_id": ("UPDATE events SET correlation_id = 'forged' WHERE notification_id = %s", None),
    "recorded_at": ("UPDATE events SET recorded_at = recorded_at + interval '1 microsecond'"
                    " WHERE notification_id = %s", None),
    "originator_version": ("UPDATE events SET originator_version = originator_version + 1000"
                           " WHERE notification_id = %s", None),
    "hash": ("UPDATE events SET hash = sha256(hash) WHERE notification_id = %s", None),
}


@pytest.mark.parametrize("column", list(HASHED_COLUMN_CHANGES))
def test_a_changed_hashed_column_is_reported_at_its_position_by_the_endpoint_and_the_cli(world, column):
    rows = world.rows(world.alice)
    victim = next(r for r in rows if r["topic"].endswith("Project.Created"))
    sql, kind = HASHED_COLUMN_CHANGES[column]
    # (the title is sealed with the tenant's data key: a byte of the clear part is flipped)
    params = (_flip_byte(bytes(victim["state"]), b"timestamp"), victim["notification_id"]) if kind == "state" \
        else (victim["notification_id"],)
    world.tamper((sql, params))

    check = world.verify(world.alice)
    assert check["ok"] is False
    assert check["first_bad_position"] == victim["notification_id"]
    assert check["checked"] == victim["tenant_seq"] - 1
    assert check["head_hash"] == bytes(rows[victim["tenant_seq"] - 2]["hash"]).hex()
    assert "hash" in check["reason"]
    assert world.verify(world.bob)["ok"] is True

    result = world.avm("audit", "verify")
    assert result.exit_code == 1
    assert f"BAD  {world.alice.id}  position {victim['notification_id']} " in result.output
    assert f"ok   {world.bob.id}" in result.output
    only_bob = world.avm("audit", "verify", "--tenant", world.bob.id)
    assert only_bob.exit_code == 0 and world.alice.id not in only_bob.output


def test_a_deleted_row_is_reported_at_the_position_of_the_row_after_the_gap(world):
    rows = world.rows(world.alice)
    gone, after = rows[3], rows[4]
    world.tamper(("DELETE FROM events WHERE notification_id = %s", (gone["notification_id"],)))

    check = world.verify(world.alice)

    assert check["ok"] is False and check["first_bad_position"] == after["notification_id"]
    assert check["checked"] == 3
    assert f"tenant_seq {gone['tenant_seq']} missing" in check["reason"]
    result = world.avm("audit", "verify", "--tenant", world.alice.id)
    assert result.exit_code == 1
    assert f"position {after['notification_id']} (tenant_seq {after['tenant_seq']})" in result.output
    assert "missing" in result.output


def test_a_deleted_first_row_is_reported_at_the_new_first_row(world):
    rows = world.rows(world.alice)
    world.tamper(("DELETE FROM events WHERE notification_id = %s", (rows[0]["notification_id"],)))

    check = world.verify(world.alice, as_=world.admin)

    assert check["ok"] is False and check["first_bad_position"] == rows[1]["notification_id"]
    assert check["checked"] == 0


def test_two_swapped_rows_are_reported_at_the_first_row_out_of_place(world):
    rows = world.rows(world.alice)
    early, late = rows[1], rows[4]
    world.tamper(
        ("UPDATE events SET tenant_seq = -1 WHERE notification_id = %s", (early["notification_id"],)),
        ("UPDATE events SET tenant_seq = %s WHERE notification_id = %s", (early["tenant_seq"], late["notification_id"])),
        ("UPDATE events SET tenant_seq = %s WHERE notification_id = %s", (late["tenant_seq"], early["notification_id"])),
    )

    check = world.verify(world.alice)

    # In chain order the row now holding the earlier seq is the first that does not link.
    assert check["ok"] is False and check["first_bad_position"] == late["notification_id"]
    assert check["checked"] == early["tenant_seq"] - 1
    result = world.avm("audit", "verify")
    assert result.exit_code == 1 and f"position {late['notification_id']} " in result.output


def test_an_intact_database_verifies_from_the_cli_for_every_tenant(world):
    result = world.avm("audit", "verify")

    assert result.exit_code == 0, result.output
    for who in (world.alice, world.bob, world.admin):
        assert f"ok   {who.id}  " in result.output


# -- offline verification of exports --------------------------------------------------------------------
def _offline(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`avm audit …` in a process that cannot reach any database."""
    cut_off = {**env, "DATABASE_URL": "postgresql://nobody:none@127.0.0.1:9/nowhere?connect_timeout=1"}
    return subprocess.run([sys.executable, "-m", "api.cli", "audit", *args], env={**os.environ, **cut_off},
                          capture_output=True, text=True, timeout=120, cwd=support.ROOT)


def test_an_offline_verify_passes_on_a_fresh_export_without_any_database(world):
    path = world.tmp / "alice.ndjson"
    path.write_bytes(world.export(world.alice))

    result = _offline(world.env, "verify", "--file", str(path))

    assert result.returncode == 0, result.stdout + result.stderr
    count = len(world.rows(world.alice))
    assert f"ok   {world.alice.id}  {count} events (tenant_seq 1..{count})" in result.stdout
    assert not (Path(world.env["AVM_DATA_DIR"]) / "pg").exists()  # no embedded server was started either


def _lines(world: World, who: Caller) -> list[bytes]:
    return world.export(who).splitlines()


def _write(world: World, lines: list[bytes]) -> Path:
    path = world.tmp / "tampered.ndjson"
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def test_an_offline_verify_fails_when_one_character_of_a_data_field_is_changed(world):
    lines = _lines(world, world.alice)
    # A non-personal field: a sealed one's clear text cannot be checked offline, without the tenant's
    # key (docs/audit.md, "Personal data"); its ciphertext is hashed like everything else.
    i = next(i for i, line in enumerate(lines) if b'"title":"hello world"' in line)
    stamp = json.loads(lines[i])["data"]["timestamp"]
    lines[i] = lines[i].replace(f'"timestamp":"{stamp}"'.encode(), f'"timestamp":"{stamp.replace("2", "3", 1)}"'.encode())
    position = json.loads(lines[i])["position"]

    result = world.avm("audit", "verify", "--file", str(_write(world, lines)))

    assert result.exit_code == 1
    assert f"BAD  {world.alice.id}  position {position}: line {i + 1}: data differs" in result.output


def test_an_offline_verify_fails_when_a_line_is_consistently_rewritten_but_its_hash_is_not(world):
    lines = _lines(world, world.alice)
    i = next(i for i, line in enumerate(lines) if b'"title":"hello world"' in line)
    record = json.loads(lines[i])
    stamp = record["data"]["timestamp"]
    later = stamp.replace("2", "3", 1)
    state = base64.b64decode(record["state_b64"]).replace(stamp.encode(), later.encode())
    record["state_b64"] = base64.b64encode(state).decode()
    record["data"]["timestamp"] = later
    lines[i] = json.dumps(record).encode()

    result = world.avm("audit", "verify", "--file", str(_write(world, lines)))

    assert result.exit_code == 1
    assert f"position {record['position']}: hash does not match" in result.output


@pytest.mark.parametrize("which, expected", [
    ("a middle event", "missing"),
    ("the last event", "manifest's count"),
    ("the manifest", "no manifest line"),
])
def test_an_offline_verify_fails_when_a_line_is_deleted(world, which, expected):
    lines = _lines(world, world.alice)
    index = {"a middle event": 3, "the last event": len(lines) - 2, "the manifest": len(lines) - 1}[which]
    after = json.loads(lines[index + 1]) if which == "a middle event" else None
    del lines[index]

    result = world.avm("audit", "verify", "--file", str(_write(world, lines)))

    assert result.exit_code == 1
    assert f"BAD  {world.alice.id}" in result.output and expected in result.output
    if after is not None:
        assert f"position {after['position']}:" in result.output


def test_an_export_of_a_tampered_database_fails_offline_verification_too(world):
    rows = world.rows(world.alice)
    world.tamper(("DELETE FROM events WHERE notification_id = %s", (rows[2]["notification_id"],)))
    path = world.tmp / "after.ndjson"
    path.write_bytes(world.export(world.alice))

    result = _offline(world.env, "verify", "--file", str(path))

    assert result.returncode == 1 and f"position {rows[3]['notification_id']}:" in result.stdout


# -- CLI export ----------------------------------------------------------------------------------------
def test_the_cli_export_matches_the_http_export_and_is_recorded_on_the_tenants_trail(world):
    http = [json.loads(line) for line in world.export(world.alice).splitlines()]
    out = world.tmp / "cli.ndjson"

    result = world.avm("audit", "export", "--tenant", world.alice.id, "--out", str(out))

    assert result.exit_code == 0, result.output
    cli = [json.loads(line) for line in out.read_bytes().splitlines()]
    assert cli[:-1] == http[:-1]
    assert {k: v for k, v in cli[-1]["manifest"].items() if k != "exported_at"} == \
        {k: v for k, v in http[-1]["manifest"].items() if k != "exported_at"}
    last = world.rows(world.alice)[-1]
    assert last["topic"].endswith("Access.Recorded") and last["actor_id"] == "system:avm audit export"
    stdout = world.avm("audit", "export", "--tenant", world.alice.id)
    assert stdout.exit_code == 0 and stdout.stdout.splitlines()[-1].startswith('{"manifest":')
    assert stdout.stderr == ""
    assert world.avm("audit", "verify", "--file", str(out)).exit_code == 0


def test_the_cli_refuses_an_unknown_tenant_and_a_malformed_one(world):
    missing = world.avm("audit", "export", "--tenant", "00000000-0000-0000-0000-0000000000aa")
    assert missing.exit_code != 0 and "has no events" in missing.output
    malformed = world.avm("audit", "verify", "--tenant", "nope")
    assert malformed.exit_code == 2 and "--tenant" in malformed.output


# -- checkpoints ---------------------------------------------------------------------------------------
def _checkpoint(world: World) -> Path:
    out = world.tmp / "cp.json"
    result = world.avm("audit", "checkpoint", "--out", str(out))
    assert result.exit_code == 0, result.output
    return out


def test_a_checkpoint_signs_every_tenants_head_with_a_key_made_private_on_first_use(world):
    path = _checkpoint(world)

    key = Path(world.env["AVM_CHECKPOINT_KEY"])
    assert key.exists() and (key.stat().st_mode & 0o777) == 0o600
    document = json.loads(path.read_text())
    heads = {t["tenant_id"]: t for t in document["statement"]["tenants"]}
    for who in (world.alice, world.bob, world.admin):
        last = world.rows(who)[-1]
        assert heads[who.id]["tenant_seq"] == last["tenant_seq"]
        assert heads[who.id]["head_hash"] == bytes(last["hash"]).hex()
    from eventstore import checkpoint as cp

    assert base64.b64decode(document["statement"]["public_key"]) == cp.trusted_public_key(key)
    default = world.avm("audit", "checkpoint")
    assert default.exit_code == 0
    assert len(list((Path(world.env["AVM_DATA_DIR"]) / "checkpoints").glob("*.json"))) == 1
    verified = world.avm("audit", "verify", "--checkpoint", str(path))
    assert verified.exit_code == 0, verified.output
    assert f"ok   {world.alice.id}  checkpoint: holds tenant_seq" in verified.output


def test_a_checkpoint_detects_a_deleted_tail_that_the_chain_alone_cannot(world):
    path = _checkpoint(world)
    rows = world.rows(world.alice)
    world.tamper(("DELETE FROM events WHERE tenant_id = %s AND tenant_seq > %s",
                  (UUID(world.alice.id), rows[-3]["tenant_seq"])))

    assert world.verify(world.alice)["ok"] is True  # a cut tail leaves a valid, shorter chain
    plain = world.avm("audit", "verify")
    assert plain.exit_code == 0

    result = world.avm("audit", "verify", "--checkpoint", str(path))

    assert result.exit_code == 1
    assert (f"BAD  {world.alice.id}  checkpoint: tenant_seq {rows[-1]['tenant_seq']} of the checkpoint is missing"
            f" (the chain now ends at tenant_seq {rows[-3]['tenant_seq']})") in result.output
    assert f"ok   {world.bob.id}  checkpoint:" in result.output


def test_a_later_export_checked_offline_against_a_checkpoint_reveals_a_deleted_tail(world):
    path = _checkpoint(world)
    rows = world.rows(world.alice)
    world.tamper(("DELETE FROM events WHERE tenant_id = %s AND tenant_seq = %s",
                  (UUID(world.alice.id), rows[-1]["tenant_seq"])))
    export = world.tmp / "later.ndjson"
    export.write_bytes(world.export(world.alice))

    assert _offline(world.env, "verify", "--file", str(export)).returncode == 0
    result = _offline(world.env, "verify", "--file", str(export), "--checkpoint", str(path))

    assert result.returncode == 1
    assert f"checkpoint holds tenant_seq {rows[-1]['tenant_seq']}" in result.stdout


def test_a_rewritten_and_rehashed_chain_passes_verify_but_not_the_checkpoint(world):
    path = _checkpoint(world)
    rows = world.rows(world.alice)
    # Someone who can bypass the triggers rewrites an event and recomputes every later link.
    statements, prev = [], bytes(rows[1]["prev_hash"])
    for i, row in enumerate(rows[1:], start=1):
        state = _flip_byte(bytes(row["state"]), b"a") if i == 1 else bytes(row["state"])
        fields = {k: row[k] for k in ("tenant_id", "tenant_seq", "originator_id", "originator_version", "topic",
                                      "recorded_at", "actor_id", "command_id", "correlation_id", "causation_id")}
        new = link_hash(prev, state=state, **fields)
        statements.append(("UPDATE events SET state = %s, prev_hash = %s, hash = %s WHERE notification_id = %s",
                           (state, prev, new, row["notification_id"])))
        prev = new
    world.tamper(*statements)

    assert world.verify(world.alice)["ok"] is True  # detection has limits: see docs/audit.md
    result = world.avm("audit", "verify", "--checkpoint", str(path))

    assert result.exit_code == 1
    assert f"BAD  {world.alice.id}  checkpoint: the hash at tenant_seq {rows[-1]['tenant_seq']} differs" \
        in result.output


def test_a_checkpoint_whose_statement_was_altered_is_refused_as_forged(world):
    path = _checkpoint(world)
    document = json.loads(path.read_text())
    document["statement"]["tenants"][0]["tenant_seq"] -= 1
    path.write_text(json.dumps(document))

    result = world.avm("audit", "verify", "--checkpoint", str(path))

    assert result.exit_code == 1 and "signature does not match the statement" in result.output


def test_a_checkpoint_signed_by_another_key_is_refused_as_forged(world):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from eventstore import checkpoint as cp

    genuine = json.loads(_checkpoint(world).read_text())
    heads = [cp.Head(**t) for t in genuine["statement"]["tenants"]]
    forged = world.tmp / "forged.json"
    cp.write(cp.build(heads, Ed25519PrivateKey.generate()), forged)

    result = world.avm("audit", "verify", "--checkpoint", str(forged))

    assert result.exit_code == 1 and "not by the trusted key" in result.output
    public = world.tmp / "trusted.pub.pem"
    public.write_bytes(cp.public_pem(cp.trusted_public_key(Path(world.env["AVM_CHECKPOINT_KEY"]))))
    offline = _offline({**world.env, "AVM_CHECKPOINT_KEY": str(world.tmp / "absent.pem")},
                       "verify", "--file", str(_write(world, _lines(world, world.bob))),
                       "--checkpoint", str(forged), "--public-key", str(public))
    assert offline.returncode == 1 and "not by the trusted key" in offline.stderr


@pytest.mark.parametrize("args", [["audit", "--help"], ["audit", "verify", "--help"], ["audit", "export", "--help"],
                                  ["audit", "checkpoint", "--help"]])
def test_every_audit_command_has_help(args):
    from api.cli import main

    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0 and "Usage:" in result.output
