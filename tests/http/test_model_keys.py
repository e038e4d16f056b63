"""Bring-your-own model keys (issue 13 item 5): premium and admin users store keys sealed outside the log,
see only the last four characters and a fingerprint, replace and delete them; a worker holding a job of
theirs gets them in clear; nobody else gets anything, and the clear key appears nowhere."""
from __future__ import annotations

import logging
import secrets
import uuid
from typing import Any

import pytest

from api.model_keys import model_keys_for_job
from domain.errors import Conflict, NotFound
from eventstore.keyring import Keyring, KeyringProblem, Unsealable
from tests.http.helpers import PROJECTS, assert_problem, count_events, project_with_story

KEYS = "/api/v1/me/model-keys"


def a_key(prefix: str = "sk-") -> str:
    return prefix + secrets.token_urlsafe(36)


def put_key(client: Any, who: Any, provider: str, key: str, status: int = 201, **headers: str) -> dict[str, Any]:
    r = client.put(f"{KEYS}/{provider}", json={"key": key}, headers={**who.headers, **headers})
    assert r.status_code == status, r.text
    return r.json()


def stored_rows(services: Any, tenant_id: str) -> list[dict[str, Any]]:
    with services.read(scope="system") as conn:
        return conn.execute("SELECT * FROM model_keys WHERE tenant_id = %s ORDER BY provider", (tenant_id,)).fetchall()


def running_job(client: Any, services: Any, owner: Any, worker: Any) -> str:
    project = project_with_story(client, owner)
    r = client.post(f"{PROJECTS}/{project['id']}/jobs", json={}, headers=owner.headers)
    assert r.status_code == 201, r.text
    job_id = r.json()["id"]
    with pytest.raises(Conflict):  # queued: no worker holds it yet
        model_keys_for_job(services, job_id)
    for _ in range(200):  # the queue is shared by every tenant: claim until this job comes up
        claimed = client.post("/api/v1/jobs/claim", headers=worker.headers)
        assert claimed.status_code == 200, claimed.text
        if claimed.json()["id"] == job_id:
            return str(job_id)
    pytest.fail("the worker never got the job")


def test_a_premium_user_stores_replaces_lists_and_deletes_a_key_never_seeing_it_again(client, services, make_tenant):
    premium = make_tenant("premium")
    key, other = a_key(), a_key()

    created = put_key(client, premium, "openai", key)
    assert created["provider"] == "openai" and created["last4"] == key[-4:] and len(created["fingerprint"]) == 32
    assert key not in str(created)
    assert put_key(client, premium, "openai", key, 200) == created  # the same key again changes nothing
    replaced = put_key(client, premium, "openai", other, 200)
    assert replaced["last4"] == other[-4:] and replaced["fingerprint"] != created["fingerprint"]
    put_key(client, premium, "gemini", a_key("AIza"))

    listed = client.get(KEYS, headers=premium.headers)
    assert listed.status_code == 200
    assert [(k["provider"], k["last4"], k["fingerprint"]) for k in listed.json()["items"]] == [
        ("gemini", listed.json()["items"][0]["last4"], listed.json()["items"][0]["fingerprint"]),
        ("openai", other[-4:], replaced["fingerprint"])]
    assert other not in listed.text and key not in listed.text
    rows = stored_rows(services, premium.id)
    assert [r["provider"] for r in rows] == ["gemini", "openai"]
    assert rows[1]["fingerprint"] == replaced["fingerprint"] and other.encode() not in bytes(rows[1]["ciphertext"])

    assert client.delete(f"{KEYS}/openai", headers=premium.headers).status_code == 204
    assert [r["provider"] for r in stored_rows(services, premium.id)] == ["gemini"]
    assert [k["provider"] for k in client.get(KEYS, headers=premium.headers).json()["items"]] == ["gemini"]
    assert_problem(client.delete(f"{KEYS}/openai", headers=premium.headers), 404)


def test_key_changes_are_events_with_actor_and_correlation_id_carrying_only_last_four_and_fingerprint(
        client, services, make_tenant):
    admin = make_tenant("admin")
    key = a_key("sk-ant-")

    put_key(client, admin, "anthropic", key, **{"X-Correlation-ID": "corr-model-key-set"})
    r = client.delete(f"{KEYS}/anthropic", headers={**admin.headers, "X-Correlation-ID": "corr-model-key-removed"})
    assert r.status_code == 204

    items = client.get("/api/v1/audit/events", params={"limit": 100}, headers=admin.headers).json()["items"]
    mine = [e for e in items if e["type"] in ("User.ModelKeySet", "User.ModelKeyRemoved")]
    assert [(e["type"], e["actor_id"], e["correlation_id"]) for e in mine] == [
        ("User.ModelKeySet", admin.id, "corr-model-key-set"),
        ("User.ModelKeyRemoved", admin.id, "corr-model-key-removed")]
    assert set(mine[0]["data"]) - {"timestamp"} == {"provider", "last4", "fingerprint", "set_at"}
    assert set(mine[1]["data"]) - {"timestamp"} == {"provider", "last4", "fingerprint"}
    assert mine[0]["data"]["last4"] == key[-4:]


def test_the_clear_key_appears_nowhere_in_the_log_the_audit_trail_the_history_or_the_logs(
        client, services, make_tenant, caplog):
    caplog.set_level(logging.DEBUG)
    premium = make_tenant("premium")
    key = a_key()
    put_key(client, premium, "openai", key, **{"Idempotency-Key": f"mk-{uuid.uuid4().hex}"})
    put_key(client, premium, "gemini", a_key("AIza"))
    client.delete(f"{KEYS}/gemini", headers=premium.headers)
    needles = (key.encode(), key[3:-4].encode(), key[-12:].encode())

    with services.read(scope="system") as conn:
        events = conn.execute("SELECT * FROM events WHERE tenant_id = %s", (premium.id,)).fetchall()
        snapshots = conn.execute("SELECT state FROM snapshots WHERE originator_id = %s", (premium.id,)).fetchall()
        kept = conn.execute("SELECT * FROM idempotency_keys WHERE tenant_id = %s", (premium.id,)).fetchall()
    assert any(b"ModelKeySet" in e["topic"].encode() for e in events)
    for row in [*events, *snapshots, *kept, *stored_rows(services, premium.id)]:
        blob = repr(row).encode() + b"".join(bytes(v) for v in row.values() if isinstance(v, (bytes, memoryview)))
        assert not any(n in blob for n in needles), row

    export = client.get("/api/v1/audit/export", headers=premium.headers)
    trail = client.get("/api/v1/audit/events", params={"limit": 100}, headers=premium.headers)
    user_history = client.get("/api/v1/audit/events", params={"aggregate_id": premium.id, "limit": 100},
                              headers=premium.headers)
    for answer in (export, trail, user_history):
        assert answer.status_code == 200, answer.text
        assert key[-4:] in answer.text  # the last four characters are there, the key is not
        assert not any(n.decode() in answer.text for n in needles)
    assert not any(n.decode() in caplog.text for n in needles)
    assert "ModelKeySet" in export.text


def test_a_key_that_is_not_premium_or_a_worker_is_refused_403_and_nothing_is_written(client, services, make_tenant):
    user, worker = make_tenant("user"), make_tenant("worker")
    before = count_events(services, user.id)

    assert_problem(client.put(f"{KEYS}/openai", json={"key": a_key()}, headers=user.headers), 403)
    for method, path in (("GET", KEYS), ("PUT", f"{KEYS}/openai"), ("DELETE", f"{KEYS}/openai")):
        r = client.request(method, path, json={"key": a_key()} if method == "PUT" else None, headers=worker.headers)
        assert_problem(r, 403)
    assert count_events(services, user.id) == before and stored_rows(services, user.id) == []
    # A plain user may list (nothing) and gets 404 deleting what it does not have.
    assert client.get(KEYS, headers=user.headers).json() == {"items": []}
    assert_problem(client.delete(f"{KEYS}/openai", headers=user.headers), 404)


@pytest.mark.parametrize("body, field", [
    ({"key": "short"}, "key"),
    ({"key": "sk-" + "a" * 600}, "key"),
    ({"key": "sk-has a blank-0123456789"}, "key"),
    ({"key": "sk-tab\t0123456789abcdefghij"}, "key"),
    ({"key": "sk-ünïcödé-0123456789abcdef"}, "key"),
    ({"key": 12345678901234567890123}, "key"),
    ({}, "key"),
    ({"key": "sk-0123456789abcdefghijklmn", "owner": "x"}, "owner"),
])
def test_a_malformed_key_is_refused_422_naming_the_field_and_nothing_is_written(client, services, make_tenant,
                                                                                body, field):
    premium = make_tenant("premium")
    before = count_events(services, premium.id)

    problem = assert_problem(client.put(f"{KEYS}/openai", json=body, headers=premium.headers), 422, field)

    assert not isinstance(body.get("key"), str) or body["key"] not in str(problem)
    assert count_events(services, premium.id) == before and stored_rows(services, premium.id) == []


def test_an_unknown_provider_is_refused_naming_it(client, services, make_tenant):
    premium = make_tenant("premium")

    for r in (client.put(f"{KEYS}/mistral", json={"key": a_key()}, headers=premium.headers),
              client.delete(f"{KEYS}/mistral", headers=premium.headers)):
        assert_problem(r, 422, "provider")
    assert stored_rows(services, premium.id) == []


def test_a_hostile_premium_tenant_can_neither_read_replace_nor_delete_anothers_keys(client, services, make_tenant):
    a, b, worker = make_tenant("premium"), make_tenant("premium"), make_tenant("worker")
    a_openai, a_claude = a_key(), a_key("sk-ant-")
    put_key(client, a, "openai", a_openai)
    put_key(client, a, "anthropic", a_claude)
    a_rows = stored_rows(services, a.id)

    assert client.get(KEYS, headers=b.headers).json() == {"items": []}
    assert_problem(client.delete(f"{KEYS}/anthropic", headers=b.headers), 404)
    b_openai = a_key()
    put_key(client, b, "openai", b_openai)  # B's own key: created (201), not a replacement of A's

    assert stored_rows(services, a.id) == a_rows
    assert [r["provider"] for r in stored_rows(services, b.id)] == ["openai"]
    job = running_job(client, services, a, worker)
    assert model_keys_for_job(services, job) == {"anthropic": a_claude, "openai": a_openai}
    assert model_keys_for_job(services, job, ["openai"]) == {"openai": a_openai}


def test_a_ciphertext_copied_to_another_tenant_does_not_open_for_it(client, services, make_tenant):
    a, b, worker = make_tenant("premium"), make_tenant("premium"), make_tenant("worker")
    put_key(client, a, "openai", a_key())
    put_key(client, b, "openai", a_key())
    job = running_job(client, services, b, worker)
    with services.read(scope="system") as conn:  # someone with database access moves A's sealed key to B
        conn.execute("UPDATE model_keys SET (key_id, nonce, ciphertext) = (SELECT key_id, nonce, ciphertext"
                     " FROM model_keys WHERE tenant_id = %s AND provider = 'openai')"
                     " WHERE tenant_id = %s AND provider = 'openai'", (a.id, b.id))

    with pytest.raises(Unsealable):
        model_keys_for_job(services, job)


def test_the_worker_gets_the_keys_of_a_running_jobs_owner_only_while_the_owner_is_premium(
        client, services, make_tenant, admin):
    owner, worker = make_tenant("premium"), make_tenant("worker")
    key = a_key()
    put_key(client, owner, "gemini", key)
    job = running_job(client, services, owner, worker)

    assert model_keys_for_job(services, job) == {"gemini": key}
    r = client.put(f"/api/v1/admin/users/{owner.id}/role", json={"role": "user"}, headers=admin.headers)
    assert r.status_code == 200, r.text
    assert model_keys_for_job(services, job) == {}
    with pytest.raises(NotFound):
        model_keys_for_job(services, str(uuid.uuid4()))


def test_a_lost_service_secret_while_keys_are_stored_answers_503_and_is_never_replaced(
        client, services, make_tenant, monkeypatch, tmp_path):
    premium = make_tenant("premium")
    put_key(client, premium, "openai", a_key())
    kept = services._keyring
    monkeypatch.setenv("AVM_SECRETS_DIR", str(tmp_path))  # a new volume: the secret file is not there
    services._keyring = None
    try:
        assert_problem(client.put(f"{KEYS}/anthropic", json={"key": a_key()}, headers=premium.headers), 503)
        assert list(tmp_path.iterdir()) == []
        with pytest.raises(KeyringProblem, match="never regenerated"):
            services.model_keyring()
    finally:
        services._keyring = kept
    assert [r["provider"] for r in stored_rows(services, premium.id)] == ["openai"]


def test_a_keyring_with_another_secret_cannot_open_stored_keys(client, services, make_tenant):
    owner, worker = make_tenant("premium"), make_tenant("worker")
    put_key(client, owner, "openai", a_key())
    job = running_job(client, services, owner, worker)
    kept = services._keyring
    services._keyring = Keyring.from_text(secrets.token_urlsafe(32))
    try:
        with pytest.raises(Unsealable):
            model_keys_for_job(services, job)
    finally:
        services._keyring = kept


def test_the_sealed_key_and_its_event_are_written_in_one_transaction(client, services, make_tenant):
    from domain.application import CommandContext

    premium = make_tenant("premium")
    ctx = CommandContext(tenant_id=premium.id, actor_id=premium.id, role="premium")
    before = count_events(services, premium.id)

    def broken_row(curs: Any) -> None:  # breaks a CHECK of model_keys (a nonce is 12 bytes)
        curs.execute("INSERT INTO model_keys (tenant_id, provider, key_id, nonce, ciphertext, last4, fingerprint,"
                     " set_at) VALUES (%s, 'openai', 'k', '\\x00', %s, 'abcd', %s, now())",
                     (premium.id, b"x" * 40, "0" * 32))

    with pytest.raises(Exception):  # noqa: B017 - whatever the store calls it, the save fails
        services.app.set_model_key(ctx, "openai", last4="abcd", fingerprint="0" * 32, writes=[broken_row])

    assert count_events(services, premium.id) == before
    assert client.get(KEYS, headers=premium.headers).json() == {"items": []}
    put_key(client, premium, "openai", a_key())  # the user was not left with a half-recorded key


def test_the_openapi_document_lists_the_model_key_routes_with_every_status(client):
    spec = client.get("/schema/openapi.json").json()
    one = spec["paths"][f"{KEYS}/{{provider}}"]

    assert {"200", "401", "403", "429", "503"} <= spec["paths"][KEYS]["get"]["responses"].keys()
    assert {"200", "201", "401", "403", "404", "409", "413", "422", "429", "503"} <= one["put"]["responses"].keys()
    assert {"204", "401", "403", "404", "409", "413", "422", "429", "503"} <= one["delete"]["responses"].keys()
    for method in ("put", "delete"):
        provider = next(p for p in one[method]["parameters"] if p["name"] == "provider")
        assert provider["in"] == "path" and provider["schema"]["enum"] == ["gemini", "openai", "anthropic"]
    body = spec["components"]["schemas"]["SetModelKey"]
    assert body["properties"]["key"]["minLength"] == 20 and body["properties"]["key"]["maxLength"] == 512
    assert body["properties"]["key"]["pattern"] == "^[!-~]+$" and body["additionalProperties"] is False
    out = spec["components"]["schemas"]["ModelKeyOut"]["properties"]
    assert set(out) == {"provider", "last4", "fingerprint", "set_at"}
