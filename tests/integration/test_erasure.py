"""Per-tenant data keys and erasure (issue 15 items 1, 2, 6), on a fresh database of their own (erasure
and rebuilds must not disturb the shared one): personal fields are stored sealed, an erased tenant's
data is unreadable everywhere (API, export, rebuild, a raw scan of every table), other tenants are
untouched, every chain and checkpoint signed before the erasure still verifies, and no key material
shows in events, exports or logs."""
from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import pytest
from click.testing import CliRunner
from psycopg.rows import dict_row

from domain.application import CommandContext
from tests import support
from tests.support import Caller
from tests.http.helpers import ENGLISH_STORY, PROJECTS, assert_problem, edit_scenes

V1 = "/api/v1"


@dataclass
class World:
    url: str
    services: Any
    client: Any
    env: dict[str, str]
    tmp: Path

    def user(self, role: str = "user", name: str | None = None) -> Caller:
        email = f"u-{secrets.token_hex(6)}@example.com"
        user, token = self.services.app.register_user(CommandContext.system("tests"), email=email, name=name,
                                                      role=role)
        return Caller(str(user.id), token)

    def avm(self, *args: str) -> Any:
        from api.cli import main

        return CliRunner().invoke(main, list(args), env=self.env, catch_exceptions=False)

    def owner(self) -> psycopg.Connection[Any]:
        return psycopg.connect(self.url, row_factory=dict_row)


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    from litestar.testing import TestClient

    from api.app import create_app
    from api.services import Services
    from eventstore.database import Database

    data = tmp_path / ".data"
    monkeypatch.setenv("AVM_DATA_DIR", str(data))  # the master key, the ledger and checkpoints: this test's
    monkeypatch.delenv("AVM_SECRETS_DIR", raising=False)
    monkeypatch.delenv("AVM_ERASURE_LEDGER", raising=False)
    monkeypatch.delenv("AVM_DATA_MASTER_KEY", raising=False)  # made on first use, in the data dir
    monkeypatch.setenv("AVM_CHECKPOINT_KEY", str(tmp_path / "keys" / "checkpoint.pem"))
    name, url = support.fresh_database("avm_erase")
    services = Services(Database(url=url, embedded=False), pool_size=3)
    env = {"DATABASE_URL": url, "AVM_DATA_DIR": str(data), "AVM_CHECKPOINT_KEY": str(tmp_path / "keys" / "checkpoint.pem")}
    try:
        with TestClient(create_app(services), raise_server_exceptions=False) as client:
            yield World(url, services, client, env, tmp_path)
    finally:
        services.close()
        support.drop_database(name)


def secret_words(n: int = 10) -> list[str]:
    return [f"zq{secrets.token_hex(8)}" for _ in range(n)]


def fill(world: World, who: Caller, words: list[str]) -> dict[str, str]:
    """A tenant with a profile, a project with a story and scenes, a job, an asset and a session, each
    carrying one of `words` in a personal field."""
    from domain.commands.signin import Identity

    c = world.client
    assert c.patch(f"{V1}/me", json={"name": words[0], "image": f"https://img.example/{words[1]}.png"},
                   headers=who.headers).status_code == 200
    r = c.post(PROJECTS, json={"title": words[2], "description": words[3]},
               headers={**who.headers, "Idempotency-Key": f"key-{secrets.token_hex(6)}"})
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    story = ENGLISH_STORY.replace("Ming", words[4])
    assert c.put(f"{PROJECTS}/{pid}/story", json={"text": story}, headers=who.headers).status_code == 200
    r = edit_scenes(c, who, pid, {"op": "update", "index": 1, "text": f"The {words[5]} climbed the peak.",
                                  "prompt": f"mountain {words[6]}"})
    assert r.status_code == 200, r.text
    r = c.post(f"{PROJECTS}/{pid}/jobs", json={}, headers=who.headers)
    assert r.status_code == 201, r.text
    job = r.json()["id"]
    r = c.post(f"{V1}/assets", json={"type": "image", "uri": "s3://b/x.png", "project_id": pid, "scene_index": 0,
                                    "metadata": {"caption": words[7]}}, headers=who.headers)
    assert r.status_code == 201, r.text
    asset = r.json()["id"]
    ctx = CommandContext(tenant_id=who.id, actor_id=who.id)
    identity = Identity(provider="test", subject=words[8], email=f"{words[9]}@example.com", name=None,
                        id_token_hash=secrets.token_bytes(32))
    world.services.app.link_identity(ctx, identity)
    _, session, session_token = world.services.app.sign_in(ctx, identity, user_id=who.id,
                                                           user_agent=f"Browser/{words[9]}")
    assert session.tenant_id == who.id
    return {"project": pid, "job": job, "asset": asset, "session_token": session_token}


def tenant_rows(conn: Any, tenant_id: str) -> dict[str, list[dict[str, Any]]]:
    """Every read-model row of the tenant, table by table (a stable order)."""
    from projections.inline import INLINE_PROJECTIONS

    out = {}
    for p in INLINE_PROJECTIONS:
        for table in p.tables:
            rows = conn.execute(f"SELECT * FROM {table} WHERE tenant_id = %s", (tenant_id,)).fetchall()
            out[table] = sorted(rows, key=lambda r: json.dumps({k: str(v) for k, v in r.items()}, sort_keys=True))
    return out


def raw_hits(conn: Any, words: list[str]) -> list[str]:
    """Every (table, word) where the word appears in any column of any row, bytes included."""
    tables = [r["tablename"] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
    hits = []
    for table in tables:
        for row in conn.execute(f'SELECT * FROM "{table}"'):
            for value in row.values():
                blob = bytes(value) if isinstance(value, (bytes, memoryview)) else str(value).encode()
                hits += [f"{table}: {w}" for w in words if w.encode() in blob]
    return hits


def test_personal_fields_are_stored_sealed_and_read_back_in_clear(world: World) -> None:
    who, words = world.user(), secret_words()
    ids = fill(world, who, words)
    with world.owner() as conn:
        events = conn.execute("SELECT state FROM events WHERE tenant_id = %s", (who.id,)).fetchall()
        blob = b"".join(bytes(r["state"]) for r in events)
        assert not [w for w in words if w.encode() in blob]
        assert b'"_type_":"avm_sealed"' in blob
    r = world.client.get(f"{PROJECTS}/{ids['project']}", headers=who.headers)
    assert r.json()["title"] == words[2]
    history = world.client.get(f"{PROJECTS}/{ids['project']}/history", headers=who.headers).json()
    assert words[2] in json.dumps(history)
    audit = world.client.get(f"{V1}/audit/events", params={"limit": 100}, headers=who.headers).json()
    assert words[0] in json.dumps(audit) and "avm_sealed" not in json.dumps(audit)


def test_erasing_a_tenant_makes_its_data_unreadable_everywhere_and_every_chain_still_verifies(
        world: World, caplog: pytest.LogCaptureFixture) -> None:
    from eventstore.keyring import secret_path
    from projections.rebuild import blue_green

    caplog.set_level(logging.DEBUG)
    admin = world.user("admin")
    alice, alice_words = world.user(name="Alice"), secret_words()
    bob, bob_words = world.user(name="Bob"), secret_words()
    alice_ids = fill(world, alice, alice_words)
    bob_ids = fill(world, bob, bob_words)
    checkpoint = world.tmp / "before.json"
    assert world.avm("audit", "checkpoint", "--out", str(checkpoint)).exit_code == 0

    # An explicit confirmation: none or no id is refused (4xx naming `confirm`), another id is a 409; nothing
    # is erased.
    for params in ({}, {"confirm": "yes"}):
        refused = world.client.delete(f"{V1}/me", params=params, headers=alice.headers)
        assert 400 <= refused.status_code < 500 and "confirm" in refused.text, refused.text
    assert_problem(world.client.delete(f"{V1}/me", params={"confirm": bob.id}, headers=alice.headers), 409, "confirm")
    assert world.client.get(f"{V1}/me", headers=alice.headers).json()["name"] == alice_words[0]

    r = world.client.delete(f"{V1}/me", params={"confirm": alice.id}, headers=alice.headers)
    assert r.status_code == 204, r.text

    # Tokens and sessions are dead.
    assert world.client.get(f"{V1}/me", headers=alice.headers).status_code == 401
    assert world.client.get(f"{V1}/me", headers={"Authorization": f"Bearer {alice_ids['session_token']}"}
                            ).status_code == 401
    # The API shows nothing personal: history and audit events are redacted, with a non-personal `User.Erased`.
    audit = world.client.get(f"{V1}/audit/events", params={"tenant_id": alice.id, "limit": 100},
                             headers=admin.headers)
    assert audit.status_code == 200
    shown = json.dumps(audit.json())
    assert not [w for w in alice_words if w in shown]
    assert "[erased]" in shown and "User.Erased" in shown and "avm_sealed" not in shown
    erased = next(e for e in audit.json()["items"] if e["type"] == "User.Erased")
    assert set(erased["data"]) == {"at", "timestamp"}
    assert [e["data"]["reason"] for e in audit.json()["items"] if e["type"] == "Session.Ended"] == ["erased"]
    # The export shows redacted events, and verifies offline (the ciphertexts are what is hashed).
    export = world.client.get(f"{V1}/audit/export", params={"tenant_id": alice.id}, headers=admin.headers)
    assert export.status_code == 200
    assert not [w for w in alice_words if w.encode() in export.content]
    (world.tmp / "alice.ndjson").write_bytes(export.content)
    offline = world.avm("audit", "verify", "--file", str(world.tmp / "alice.ndjson"), "--checkpoint", str(checkpoint))
    assert offline.exit_code == 0, offline.output
    # Online, every chain verifies, and against the checkpoint signed before the erasure.
    online = world.avm("audit", "verify", "--checkpoint", str(checkpoint))
    assert online.exit_code == 0, online.output
    assert world.client.get(f"{V1}/audit/verify", params={"tenant_id": alice.id}, headers=admin.headers
                            ).json()["ok"] is True

    with world.owner() as conn:
        # Nothing of Alice's personal data in any table, in any column, bytes included; the key row is gone.
        assert raw_hits(conn, alice_words) == []
        key = conn.execute("SELECT * FROM tenant_data_keys WHERE tenant_id = %s", (alice.id,)).fetchone()
        assert key["wrapped"] is None and key["nonce"] is None and key["erased_at"] is not None
        assert len(raw_hits(conn, bob_words)) > 0  # Bob's read models hold his data, in clear, for serving
        keyed = {r["tenant_id"]: r["n"] for r in conn.execute(
            "SELECT tenant_id, count(*) AS n FROM idempotency_keys GROUP BY tenant_id")}
        assert str(alice.id) not in {str(t) for t in keyed} and keyed  # hashes of Alice's requests are gone
        before = tenant_rows(conn, alice.id)
    user = before["users"][0]
    assert user["deleted_at"] is not None and user["name"] is None and user["email"].endswith("@erased.invalid")
    assert before["api_tokens"] == [] and before["identities"] == []
    assert [r["ended_reason"] for r in before["sessions"]] == ["erased"]
    assert before["projects"][0]["title"] == "[erased]" and before["jobs"] and before["assets"]
    assert [j["status"] for j in before["jobs"]] == ["cancelled"]  # no render of an erased tenant's data

    # A rebuild from the log gives the same erased state, and leaves Bob as he was.
    with world.owner() as conn:
        bob_before = tenant_rows(conn, bob.id)
    blue_green(world.url, world.services.app.mapper)
    with world.owner() as conn:
        assert tenant_rows(conn, alice.id) == before
        assert tenant_rows(conn, bob.id) == bob_before
        assert raw_hits(conn, alice_words) == []

    # Bob is untouched.
    r = world.client.get(f"{PROJECTS}/{bob_ids['project']}", headers=bob.headers)
    assert r.status_code == 200 and r.json()["title"] == bob_words[2]
    assert world.client.get(f"{V1}/me", headers={"Authorization": f"Bearer {bob_ids['session_token']}"}
                            ).status_code == 200

    # The ledger outside the database names the erasure, and nothing personal.
    ledger = (Path(world.env["AVM_DATA_DIR"]) / "erasure-ledger.jsonl").read_text().splitlines()
    assert [json.loads(line)["tenant_id"] for line in ledger] == [alice.id]
    assert json.loads(ledger[0])["by"] == alice.id

    # No key material in events, exports or logs: neither the master secret nor any wrapped key.
    master = (Path(world.env["AVM_DATA_DIR"]) / "data_master.secret").read_text().strip()
    assert secret_path().parent == Path(world.env["AVM_DATA_DIR"])
    with world.owner() as conn:
        wrapped = [bytes(r["wrapped"]) for r in conn.execute("SELECT wrapped FROM tenant_data_keys"
                                                             " WHERE wrapped IS NOT NULL")]
        events = b"".join(bytes(r["state"]) for r in conn.execute("SELECT state FROM events"))
    bob_export = world.client.get(f"{V1}/audit/export", headers=bob.headers).content
    logs = "\n".join(r.getMessage() for r in caplog.records)
    for blob in (events, export.content, bob_export, logs.encode()):
        assert master.encode() not in blob
        assert not [w for w in wrapped if w in blob or w.hex().encode() in blob]
    assert not [r for r in caplog.records if any(w in r.getMessage() for w in alice_words)]


def test_the_admin_erases_a_user_explicitly_once_and_the_cli_and_the_ledger_do_it_too(world: World) -> None:
    from api.privacy import append_ledger, reapply_erasures

    admin, carol, dave, erin = world.user("admin"), world.user(name="Carol"), world.user(), world.user()
    words = secret_words()
    fill(world, carol, words)
    assert world.client.delete(f"{V1}/admin/users/{carol.id}", params={"confirm": carol.id},
                               headers=dave.headers).status_code == 403
    assert_problem(world.client.delete(f"{V1}/admin/users/{carol.id}", params={"confirm": dave.id},
                                       headers=admin.headers), 409, "confirm")
    for _ in range(2):  # erasing an erased user again changes nothing
        r = world.client.delete(f"{V1}/admin/users/{carol.id}", params={"confirm": carol.id}, headers=admin.headers)
        assert r.status_code == 204, r.text
    audit = world.client.get(f"{V1}/audit/events", params={"tenant_id": carol.id, "limit": 100},
                             headers=admin.headers).json()["items"]
    erasures = [e for e in audit if e["type"] == "User.Erased"]
    assert len(erasures) == 1 and erasures[0]["actor_id"] == admin.id
    missing = world.client.delete(f"{V1}/admin/users/{dave.id[:-4]}0000", params={"confirm": f"{dave.id[:-4]}0000"},
                                  headers=admin.headers)
    assert_problem(missing, 404)

    # The command line, with its explicit --yes.
    refused = world.avm("users", "erase", "--id", dave.id)
    assert refused.exit_code != 0 and "--yes" in refused.output
    done = world.avm("users", "erase", "--id", dave.id, "--yes")
    assert done.exit_code == 0 and f"{dave.id}: erased" in done.output, done.output
    assert world.client.get(f"{V1}/me", headers=dave.headers).status_code == 401

    # A restore from a backup taken before an erasure: the ledger names it, reapply erases it again once.
    ledger = world.tmp / "restored-ledger.jsonl"
    append_ledger(UUID(erin.id), "tests", datetime.now(timezone.utc))
    append_ledger(UUID(erin.id), "tests", datetime.now(timezone.utc), ledger)
    append_ledger(UUID(carol.id), "tests", datetime.now(timezone.utc), ledger)
    assert world.client.get(f"{V1}/me", headers=erin.headers).status_code == 200
    assert reapply_erasures(world.services, ledger) == [erin.id]
    assert reapply_erasures(world.services, ledger) == []
    assert reapply_erasures(world.services, [{"tenant_id": erin.id}]) == []  # entries read already: the same
    assert world.client.get(f"{V1}/me", headers=erin.headers).status_code == 401
    # The command line re-applies the default ledger: Erin's line is there too, already applied.
    again = world.avm("users", "reapply-erasures")
    assert again.exit_code == 0 and "0 erasure(s) re-applied" in again.output, again.output


def test_another_process_stops_opening_an_erased_tenants_fields_within_its_cache_time(world: World) -> None:
    from api.privacy import erase_tenant
    from eventstore.datakeys import DataKeys
    from eventstore.sealing import REDACTED, SealedTranscoding, seal_value

    who = world.user(name="Frank")
    fill(world, who, secret_words())
    tenant = UUID(who.id)
    other = DataKeys(lambda: world.services.read(scope="system"), ttl=0.0)  # a second process's keys
    opener = SealedTranscoding(other)
    sealed = seal_value(other.for_writing(tenant), tenant, "Frank's secret")
    assert opener.decode(sealed["_data_"]) == "Frank's secret"
    erase_tenant(world.services, tenant, CommandContext.system("tests"))
    assert opener.decode(sealed["_data_"]) == REDACTED
    with pytest.raises(Exception, match="erased"):
        other.for_writing(tenant)


def test_db_verify_reports_the_personal_data_stored_in_clear_before_encryption(world: World) -> None:
    recorder = world.services.app.recorder
    old, legacy = world.user(), secret_words(1)[0]
    sealer = recorder.sealer
    recorder.sealer = None  # as the service wrote before issue 15
    try:
        world.client.post(PROJECTS, json={"title": legacy}, headers=old.headers)
    finally:
        recorder.sealer = sealer
    new = world.user()
    world.client.post(PROJECTS, json={"title": "sealed"}, headers=new.headers)
    result = world.avm("db", "verify")
    assert result.exit_code == 0, result.output
    assert f"tenant {old.id}: 1 event(s) with personal fields in clear" in result.output
    assert new.id not in result.output
    # The events the test users were registered with (email, name) are sealed: only the legacy project shows.
    assert "plaintext personal data: 1 event(s) in 1 tenant(s)" in result.output
    # Still readable, as stored.
    with world.owner() as conn:
        assert legacy.encode() in b"".join(bytes(r["state"]) for r in conn.execute(
            "SELECT state FROM events WHERE tenant_id = %s", (old.id,)))
