"""Idempotency-Key in one write: the key row is inserted once, with the command's events and its
result, and a repeat is rendered from that result (the aggregates at the versions the command left
them), whatever happened to the resource since and whether or not the first answer was ever sent."""
from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from typing import Any
from uuid import UUID

import psycopg
import pytest

from api.idempotency import request_fingerprint
from domain.context import CommandContext

PROJECTS = "/api/v1/projects"


def keyed(tenant: Any, key: str, **more: str) -> dict[str, str]:
    return {**tenant.headers, "Idempotency-Key": key, **more}


@pytest.fixture
def key_writes(database_url: str) -> Iterator[Any]:
    """Every row version written to idempotency_keys while the test runs, as (operation, key),
    recorded by a trigger (the owner's: the service's role cannot create one)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS test_key_writes (op text, key text, at timestamptz DEFAULT now())")
        conn.execute("TRUNCATE test_key_writes")
        conn.execute("""CREATE OR REPLACE FUNCTION test_log_key_write() RETURNS trigger
                        LANGUAGE plpgsql SECURITY DEFINER AS $$
                        BEGIN INSERT INTO test_key_writes (op, key) VALUES (TG_OP, NEW.key); RETURN NEW; END $$""")
        conn.execute("DROP TRIGGER IF EXISTS test_log_key_write ON idempotency_keys")
        conn.execute("CREATE TRIGGER test_log_key_write AFTER INSERT OR UPDATE ON idempotency_keys"
                     " FOR EACH ROW EXECUTE FUNCTION test_log_key_write()")

        def writes(key: str) -> list[str]:
            return [r[0] for r in conn.execute("SELECT op FROM test_key_writes WHERE key = %s ORDER BY at", (key,))]

        try:
            yield writes
        finally:  # nothing of the test's stays in the schema (tests/integration/test_tenant_schema.py reads it)
            conn.execute("DROP TRIGGER IF EXISTS test_log_key_write ON idempotency_keys")
            conn.execute("DROP FUNCTION IF EXISTS test_log_key_write()")
            conn.execute("DROP TABLE IF EXISTS test_key_writes")


def test_a_keyed_command_writes_its_key_once_and_a_repeat_writes_nothing(
        client: Any, tenant: Any, key_writes: Any) -> None:
    create, rename, delete = (f"{op}-{uuid.uuid4()}" for op in ("create", "rename", "delete"))
    first = client.post(PROJECTS, json={"title": "one write"}, headers=keyed(tenant, create))
    assert first.status_code == 201
    path = f"{PROJECTS}/{first.json()['id']}"
    assert client.patch(path, json={"title": "renamed"}, headers=keyed(tenant, rename)).status_code == 200
    assert client.delete(path, headers=keyed(tenant, delete)).status_code == 204
    for key in (create, rename, delete):
        assert key_writes(key) == ["INSERT"], key  # once, with the events: never updated afterwards
    again = client.post(PROJECTS, json={"title": "one write"}, headers=keyed(tenant, create))
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert client.delete(path, headers=keyed(tenant, delete)).status_code == 204
    assert key_writes(create) == key_writes(delete) == ["INSERT"]


def test_a_repeat_after_the_resource_changed_answers_what_the_first_request_did(client: Any, tenant: Any) -> None:
    key = f"create-{uuid.uuid4()}"
    first = client.post(PROJECTS, json={"title": "as created"}, headers=keyed(tenant, key))
    path = f"{PROJECTS}/{first.json()['id']}"
    rename_key = f"rename-{uuid.uuid4()}"
    renamed = client.patch(path, json={"title": "renamed"}, headers=keyed(tenant, rename_key))
    assert renamed.json()["version"] == 2
    changed = client.patch(path, json={"title": "changed again", "description": "later"}, headers=tenant.headers)
    assert changed.json()["version"] > 2
    story = client.put(f"{path}/story", json={"text": "One. Two. Three."}, headers=tenant.headers)
    assert story.status_code == 200

    again = client.post(PROJECTS, json={"title": "as created"}, headers=keyed(tenant, key))
    assert again.status_code == 201
    assert again.content == first.content and again.json()["title"] == "as created"
    assert (again.headers["etag"], again.headers["location"]) == (first.headers["etag"], first.headers["location"])
    assert again.headers["idempotent-replayed"] == "true"
    rename_again = client.patch(path, json={"title": "renamed"}, headers=keyed(tenant, rename_key))
    assert rename_again.status_code == 200
    assert rename_again.content == renamed.content and rename_again.headers["etag"] == '"2"'
    assert client.get(path, headers=tenant.headers).json()["title"] == "changed again"  # nothing re-applied


def test_a_repeated_scene_edit_answers_the_scenes_as_they_were(client: Any, tenant: Any) -> None:
    project = client.post(PROJECTS, json={"title": "scenes"}, headers=tenant.headers).json()
    path = f"{PROJECTS}/{project['id']}"
    text = " ".join(f"Sentence number {i} of the story goes on for a while to fill a scene." for i in range(12))
    assert client.put(f"{path}/story", json={"text": text}, headers=tenant.headers).status_code == 200
    key = f"merge-{uuid.uuid4()}"
    edit = {"op": "update", "index": 0, "prompt": "a lighthouse at night"}
    first = client.post(f"{path}/scenes/edit", json=edit, headers=keyed(tenant, key))
    assert first.status_code == 200, first.text
    later = client.post(f"{path}/scenes/edit", json={**edit, "prompt": "a boat"}, headers=tenant.headers)
    assert later.status_code == 200 and later.content != first.content
    again = client.post(f"{path}/scenes/edit", json=edit, headers=keyed(tenant, key))
    assert (again.status_code, again.content, again.headers["etag"]) == (200, first.content, first.headers["etag"])


def test_a_repeated_token_request_answers_the_same_token_without_issuing_another(client: Any, tenant: Any) -> None:
    key = f"token-{uuid.uuid4()}"
    first = client.post("/api/v1/me/tokens", json={"name": "ci"}, headers=keyed(tenant, key))
    assert first.status_code == 201
    again = client.post("/api/v1/me/tokens", json={"name": "ci"}, headers=keyed(tenant, key))
    assert (again.status_code, again.content) == (201, first.content)
    tokens = client.get("/api/v1/me/tokens", headers=tenant.headers).json()["items"]
    assert [t["name"] for t in tokens].count("ci") == 1


def test_a_command_committed_whose_answer_was_never_sent_is_answered_on_retry(
        client: Any, services: Any, tenant: Any) -> None:
    """The service stopped between the commit and the response: the command (with its key) is in
    the store, no answer went out. The client's retry gets the answer the first request would have."""
    key = f"crash-{uuid.uuid4()}"
    body = json.dumps({"title": "committed, never answered"}).encode()
    ctx = CommandContext(tenant_id=tenant.id, actor_id=tenant.id, role=tenant.role, command_id=key,
                         fingerprint=request_fingerprint("POST", PROJECTS, "", body))
    project = services.app.create_project(ctx, title="committed, never answered")

    retry = client.post(PROJECTS, content=body,
                        headers=keyed(tenant, key, **{"Content-Type": "application/json"}))
    assert retry.status_code == 201, retry.text
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.json()["id"] == str(project.id) and retry.json()["title"] == "committed, never answered"
    assert retry.headers["etag"] == f'"{project.version}"'
    assert retry.headers["location"] == f"{PROJECTS}/{project.id}"
    listed = client.get(PROJECTS, headers=tenant.headers).json()["items"]
    assert [p["id"] for p in listed] == [str(project.id)]
    other = client.post(PROJECTS, json={"title": "something else"}, headers=keyed(tenant, key))
    assert other.status_code == 422 and other.json()["errors"][0]["field"] == "Idempotency-Key"


def test_five_concurrent_changes_with_one_key_and_if_match_all_answer_the_change(
        client: Any, services: Any, tenant: Any) -> None:
    project = client.post(PROJECTS, json={"title": "base"}, headers=tenant.headers).json()
    key = f"pinned-{uuid.uuid4()}"
    barrier = threading.Barrier(5)

    def change(_: int) -> Any:
        barrier.wait()
        return client.patch(f"{PROJECTS}/{project['id']}", json={"title": "pinned once"},
                            headers=keyed(tenant, key, **{"If-Match": '"1"'}))

    with ThreadPoolExecutor(5) as pool:
        answers = list(pool.map(change, range(5)))
    assert {r.status_code for r in answers} == {200}, [r.text for r in answers]
    assert len({r.content for r in answers}) == 1 and answers[0].json()["version"] == 2
    assert sorted(r.headers.get("idempotent-replayed", "") for r in answers) == ["", "true", "true", "true", "true"]


def test_a_keyed_sweep_expires_every_due_asset(client: Any, tenant: Any, admin: Any) -> None:
    """A sweep is a command per item: they carry the key as command id, none records it (one key,
    one transaction), so the second item is not refused as a repeat of the first."""
    soon = (datetime.now(timezone.utc) + timedelta(seconds=1)).isoformat()
    ids = [client.post("/api/v1/assets", json={"type": "image", "uri": f"s3://b/{i}.png", "expires_at": soon},
                       headers=tenant.headers).json()["id"] for i in range(2)]
    time.sleep(1.2)
    swept = client.post("/api/v1/admin/assets/expire", headers=keyed(admin, f"sweep-{uuid.uuid4()}"))
    assert swept.status_code == 200 and swept.json()["expired"] >= 2
    for asset_id in ids:
        assert client.get(f"/api/v1/assets/{asset_id}", headers=tenant.headers).json()["expired_at"] is not None


def test_a_key_recorded_before_results_were_answers_409_naming_it(
        client: Any, services: Any, database_url: str, tenant: Any) -> None:
    """A row written before migration 0012 has no result: its command is applied, its answer lost."""
    key = f"legacy-{uuid.uuid4()}"
    body = json.dumps({"title": "legacy"}).encode()
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("INSERT INTO idempotency_keys (tenant_id, key, fingerprint) VALUES (%s, %s, %s)",
                     (UUID(tenant.id), key, request_fingerprint("POST", PROJECTS, "", body)))
    r = client.post(PROJECTS, content=body, headers=keyed(tenant, key, **{"Content-Type": "application/json"}))
    assert r.status_code == 409 and r.json()["errors"][0]["field"] == "Idempotency-Key"
    assert client.get(PROJECTS, headers=tenant.headers).json()["items"] == []


def test_repeated_preset_changes_answer_whether_it_was_the_default_then(client: Any, tenant: Any) -> None:
    presets = "/api/v1/presets"
    config = {"generation": {"images_per_scene": 2}}
    create_key, rename_key, default_key = (f"{op}-{uuid.uuid4()}" for op in ("create", "rename", "default"))
    created = client.post(presets, json={"name": "mine", "config": config, "is_default": True},
                          headers=keyed(tenant, create_key))
    assert created.status_code == 201 and created.json()["is_default"] is True
    path = f"{presets}/{created.json()['id']}"
    renamed = client.patch(path, json={"name": "mine, renamed"}, headers=keyed(tenant, rename_key))
    assert renamed.json()["is_default"] is True
    other = client.post(presets, json={"name": "other", "config": config}, headers=tenant.headers).json()
    made = client.post(f"{presets}/{other['id']}/default", headers=keyed(tenant, default_key))
    assert made.status_code == 200 and made.json()["is_default"] is True
    client.patch(f"{presets}/{other['id']}", json={"name": "other, renamed"}, headers=tenant.headers)
    assert client.get(path, headers=tenant.headers).json()["is_default"] is False

    for method, url, body, key, first in (("POST", presets, {"name": "mine", "config": config, "is_default": True},
                                           create_key, created),
                                          ("PATCH", path, {"name": "mine, renamed"}, rename_key, renamed),
                                          ("POST", f"{presets}/{other['id']}/default", None, default_key, made)):
        again = client.request(method, url, json=body, headers=keyed(tenant, key))
        assert (again.status_code, again.content) == (first.status_code, first.content), url
        assert again.headers["idempotent-replayed"] == "true"


def test_a_repeated_claim_answers_the_job_it_claimed_though_the_queue_is_empty(
        client: Any, make_tenant: Any) -> None:
    from tests.http.test_domain_api import claim, drain, ready_project

    tenant, worker = make_tenant("premium"), make_tenant("worker")
    drain(client, worker)
    project = ready_project(client, tenant)
    client.post(f"{PROJECTS}/{project['id']}/jobs", json={}, headers=tenant.headers)
    key = f"claim-{uuid.uuid4()}"
    first = client.post("/api/v1/jobs/claim", headers=keyed(worker, key))
    assert first.status_code == 200
    job = first.json()
    progress = client.post(f"/api/v1/jobs/{job['id']}/progress", json={"step": "image_generation", "percentage": 50},
                           headers=worker.headers)
    assert progress.status_code == 200
    drain(client, worker)
    assert claim(client, worker).status_code == 204
    again = client.post("/api/v1/jobs/claim", headers=keyed(worker, key))
    assert (again.status_code, again.content) == (200, first.content)


def test_a_repeated_user_creation_answers_the_same_user_and_token(client: Any, admin: Any) -> None:
    key = f"user-{uuid.uuid4()}"
    body = {"email": f"u-{uuid.uuid4().hex[:10]}@example.com", "name": "New", "role": "user"}
    first = client.post("/api/v1/admin/users", json=body, headers=keyed(admin, key))
    assert first.status_code == 201
    created = first.json()
    role = client.put(f"/api/v1/admin/users/{created['user']['id']}/role", json={"role": "premium"},
                      headers=admin.headers)
    assert role.status_code == 200
    again = client.post("/api/v1/admin/users", json=body, headers=keyed(admin, key))
    assert (again.status_code, again.content) == (201, first.content)
    assert again.headers["location"] == first.headers["location"] and again.headers["etag"] == first.headers["etag"]
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {created['token']}"})
    assert me.json()["role"] == "premium"  # the token the repeat shows is the one issued once
