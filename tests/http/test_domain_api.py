"""Jobs, assets, presets, quotas and roles over HTTP (issue: the whole domain)."""
from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any
from uuid import UUID

from domain.config import BUILTIN_PRESETS

STORY = ("The lighthouse keeper climbed the hundred steps every evening and watched the sea. " * 3 + "\n\n") * 3


def ready_project(client: Any, tenant: Any, title: str = "render me") -> dict[str, Any]:
    project = client.post("/api/v1/projects", json={"title": title}, headers=tenant.headers).json()
    r = client.put(f"/api/v1/projects/{project['id']}/story", json={"text": STORY}, headers=tenant.headers)
    assert r.status_code == 200, r.text
    return project


def claim(client: Any, worker: Any) -> Any:
    return client.post("/api/v1/jobs/claim", headers=worker.headers)


def drain(client: Any, worker: Any) -> None:
    while claim(client, worker).status_code == 200:
        pass


def test_a_job_runs_from_queue_to_success_and_the_project_follows(client: Any, make_tenant: Any) -> None:
    tenant, worker = make_tenant("premium"), make_tenant("worker")
    drain(client, worker)
    project = ready_project(client, tenant)
    queued = client.post(f"/api/v1/projects/{project['id']}/jobs", json={}, headers=tenant.headers)
    assert queued.status_code == 201
    job = queued.json()
    assert job["status"] == "queued" and job["priority"] == 1
    assert job["estimate"]["currency"] == "USD" and job["estimate"]["low"] < job["estimate"]["high"]
    assert queued.headers["location"] == f"/api/v1/jobs/{job['id']}"
    assert client.delete(f"/api/v1/projects/{project['id']}", headers=tenant.headers).status_code == 409
    claimed = claim(client, worker)
    assert claimed.status_code == 200 and claimed.json()["id"] == job["id"]
    assert claimed.json()["tenant_id"] == tenant.id and claimed.json()["status"] == "running"
    assert client.get(f"/api/v1/projects/{project['id']}", headers=tenant.headers).json()["status"] == "processing"
    r = client.post(f"/api/v1/jobs/{job['id']}/progress", json={"step": "image_generation", "percentage": 40},
                    headers=worker.headers)
    assert r.status_code == 200 and r.json()["progress"]["step"] == "image_generation"
    assert r.json()["progress"]["completed_steps"] == ["ingest", "segment", "prompt"]
    done = client.post(f"/api/v1/jobs/{job['id']}/complete", json={"cost_actual": 0.42}, headers=worker.headers)
    assert done.status_code == 200 and done.json()["status"] == "succeeded" and done.json()["cost_actual"] == 0.42
    assert client.get(f"/api/v1/projects/{project['id']}", headers=tenant.headers).json()["status"] == "completed"
    history = client.get(f"/api/v1/jobs/{job['id']}/history", headers=tenant.headers).json()["items"]
    assert [e["type"] for e in history] == ["Job.Queued", "Job.Claimed", "Job.Progressed", "Job.Succeeded"]
    assert history[1]["actor_id"] == worker.id
    assert client.delete(f"/api/v1/projects/{project['id']}", headers=tenant.headers).status_code == 204


def test_a_retryable_failure_requeues_with_backoff_and_the_last_one_fails_the_project(
        client: Any, make_tenant: Any) -> None:
    tenant, worker = make_tenant("premium"), make_tenant("worker")
    drain(client, worker)
    project = ready_project(client, tenant)
    config = {"generation": {"retry_attempts": 1}}
    job = client.post(f"/api/v1/projects/{project['id']}/jobs", json={"config": config}, headers=tenant.headers).json()
    assert job["max_attempts"] == 2
    assert claim(client, worker).json()["id"] == job["id"]
    failed = client.post(f"/api/v1/jobs/{job['id']}/fail",
                         json={"error": {"code": "RATE_LIMIT", "message": "slow down", "retryable": True}},
                         headers=worker.headers).json()
    assert failed["status"] == "queued" and failed["error"]["code"] == "RATE_LIMIT"
    available = datetime.fromisoformat(failed["available_at"].replace("Z", "+00:00"))
    assert available > datetime.now(timezone.utc)  # backoff: not claimable at once
    assert claim(client, worker).status_code == 204
    time.sleep(max(0.0, (available - datetime.now(timezone.utc)).total_seconds()) + 0.05)
    assert claim(client, worker).json()["attempts"] == 2
    final = client.post(f"/api/v1/jobs/{job['id']}/fail",
                        json={"error": {"code": "SERVICE_ERROR", "message": "down", "retryable": True}},
                        headers=worker.headers).json()
    assert final["status"] == "failed"
    assert client.get(f"/api/v1/projects/{project['id']}", headers=tenant.headers).json()["status"] == "failed"
    retried = client.post(f"/api/v1/jobs/{job['id']}/retry", json={"from_step": "video_render"},
                          headers=tenant.headers).json()
    assert retried["status"] == "queued" and retried["from_step"] == "video_render" and retried["attempts"] == 0
    assert client.get(f"/api/v1/projects/{project['id']}", headers=tenant.headers).json()["status"] == "ready"


def test_a_non_retryable_failure_is_final_and_a_cancelled_job_can_be_retried(client: Any, make_tenant: Any) -> None:
    tenant, worker = make_tenant("premium"), make_tenant("worker")
    drain(client, worker)
    project = ready_project(client, tenant)
    job = client.post(f"/api/v1/projects/{project['id']}/jobs", headers=tenant.headers).json()
    cancelled = client.post(f"/api/v1/jobs/{job['id']}/cancel", headers=tenant.headers).json()
    assert cancelled["status"] == "cancelled"
    assert client.get(f"/api/v1/projects/{project['id']}", headers=tenant.headers).json()["status"] == "ready"
    client.post(f"/api/v1/jobs/{job['id']}/retry", headers=tenant.headers)
    claim(client, worker)
    r = client.post(f"/api/v1/jobs/{job['id']}/fail",
                    json={"error": {"code": "CONTENT_POLICY", "message": "no", "retryable": True}},
                    headers=worker.headers).json()
    assert r["status"] == "failed" and r["error"]["retryable"] is False


def test_a_stalled_running_job_is_failed_as_timeout_by_the_sweep(client: Any, services: Any, make_tenant: Any) -> None:
    from domain.application import CommandContext
    from projections.jobs import expired_leases

    tenant, worker = make_tenant("premium"), make_tenant("worker")
    drain(client, worker)
    project = ready_project(client, tenant)
    job = client.post(f"/api/v1/projects/{project['id']}/jobs", json={"config": {"generation": {"retry_attempts": 1}}},
                      headers=tenant.headers).json()
    claim(client, worker)
    later = datetime.now(timezone.utc) + timedelta(seconds=job["timeout_seconds"] + 5)
    swept = services.app.sweep_expired_leases(CommandContext.system("avm jobs sweep"), [UUID(job["id"])], now=later)
    assert swept == 1
    after = client.get(f"/api/v1/jobs/{job['id']}", headers=tenant.headers).json()
    assert after["status"] == "queued" and after["error"]["code"] == "TIMEOUT"
    with services.read(scope="system") as conn:
        assert UUID(job["id"]) not in expired_leases(conn, now=later)


def test_assets_register_list_filter_delete_restore_and_expire(client: Any, make_tenant: Any) -> None:
    tenant, admin = make_tenant("premium"), make_tenant("admin")
    project = ready_project(client, tenant)
    soon = (datetime.now(timezone.utc) + timedelta(seconds=1)).isoformat()
    image = client.post("/api/v1/assets", json={"type": "image", "uri": "r2://bucket/a.png", "size_bytes": 1000,
                                                "project_id": project["id"], "scene_index": 0, "expires_at": soon},
                        headers=tenant.headers)
    assert image.status_code == 201, image.text
    image = image.json()
    audio = client.post("/api/v1/assets", json={"type": "audio", "uri": "r2://bucket/a.mp3"}, headers=tenant.headers).json()
    expires = datetime.fromisoformat(audio["expires_at"].replace("Z", "+00:00"))
    assert timedelta(days=29, hours=23) < expires - datetime.now(timezone.utc) <= timedelta(days=30)
    scenes = client.get(f"/api/v1/projects/{project['id']}/scenes", headers=tenant.headers).json()["items"]
    assert scenes[0]["image_asset_id"] == image["id"]
    only_images = client.get("/api/v1/assets?type=image", headers=tenant.headers).json()["items"]
    assert [a["id"] for a in only_images] == [image["id"]]
    assert client.delete(f"/api/v1/assets/{audio['id']}", headers=tenant.headers).status_code == 204
    assert [a["id"] for a in client.get("/api/v1/assets", headers=tenant.headers).json()["items"]] == [image["id"]]
    assert client.post(f"/api/v1/assets/{audio['id']}/restore", headers=tenant.headers).status_code == 200
    time.sleep(1.1)
    swept = client.post("/api/v1/admin/assets/expire", headers=admin.headers)
    assert swept.status_code == 200 and swept.json()["expired"] >= 1
    listed = client.get("/api/v1/assets", headers=tenant.headers).json()["items"]
    assert image["id"] not in [a["id"] for a in listed]
    with_expired = client.get("/api/v1/assets?include_expired=true", headers=tenant.headers).json()["items"]
    assert image["id"] in [a["id"] for a in with_expired]
    scenes = client.get(f"/api/v1/projects/{project['id']}/scenes", headers=tenant.headers).json()["items"]
    assert scenes[0]["image_asset_id"] is None
    assert client.post("/api/v1/admin/assets/expire", headers=tenant.headers).status_code == 403


def test_asset_limits_are_enforced(client: Any, tenant: Any) -> None:
    too_big = client.post("/api/v1/assets", json={"type": "video", "uri": "r2://b/v.mp4", "size_bytes": 6 * 1024 * 1024},
                          headers=tenant.headers)
    assert too_big.status_code == 422 and too_big.json()["errors"][0]["field"] == "size_bytes"
    long_text = client.post("/api/v1/assets", json={"type": "text", "uri": "r2://b/t.txt",
                                                    "metadata": {"characters": 50_001}}, headers=tenant.headers)
    assert long_text.status_code == 422 and long_text.json()["errors"][0]["field"] == "metadata.characters"
    foreign = client.post("/api/v1/assets", json={"type": "image", "uri": "r2://b/i.png", "project_id": str(uuid.uuid4())},
                          headers=tenant.headers)
    assert foreign.status_code == 404


def test_presets_builtins_own_default_and_project_from_preset(client: Any, make_tenant: Any) -> None:
    tenant = make_tenant("premium")
    listed = client.get("/api/v1/presets", headers=tenant.headers).json()["items"]
    assert [p["name"] for p in listed] == ["Classic Clean", "Dark Glass", "Vivid Gradient"]
    assert [p["is_default"] for p in listed] == [True, False, False]
    dark = BUILTIN_PRESETS[1]["id"]
    assert client.patch(f"/api/v1/presets/{dark}", json={"name": "x"}, headers=tenant.headers).status_code == 403
    assert client.delete(f"/api/v1/presets/{dark}", headers=tenant.headers).status_code == 403
    mine = client.post("/api/v1/presets", json={"name": "Mine", "config": {"template": {"name": "vivid"}},
                                                "is_default": True}, headers=tenant.headers).json()
    defaults = [p["id"] for p in client.get("/api/v1/presets", headers=tenant.headers).json()["items"] if p["is_default"]]
    assert defaults == [mine["id"]]
    assert client.post(f"/api/v1/presets/{dark}/default", headers=tenant.headers).status_code == 200
    defaults = [p["id"] for p in client.get("/api/v1/presets", headers=tenant.headers).json()["items"] if p["is_default"]]
    assert defaults == [dark]
    project = client.post("/api/v1/projects", json={"title": "from preset", "preset_id": mine["id"]},
                          headers=tenant.headers).json()
    assert project["config"]["template"]["name"] == "vivid" and project["preset_id"] == mine["id"]
    assert client.delete(f"/api/v1/presets/{mine['id']}", headers=tenant.headers).status_code == 204
    assert mine["id"] not in [p["id"] for p in client.get("/api/v1/presets", headers=tenant.headers).json()["items"]]
    assert client.post(f"/api/v1/presets/{mine['id']}/restore", headers=tenant.headers).status_code == 200
    other = make_tenant()
    assert client.get(f"/api/v1/presets/{mine['id']}", headers=other.headers).status_code == 404
    bad = client.post("/api/v1/projects", json={"title": "x", "preset_id": mine["id"]}, headers=other.headers)
    assert bad.status_code == 404


def test_over_quota_is_429_naming_the_quota_limit_and_reset_and_me_shows_usage(client: Any, make_tenant: Any) -> None:
    tenant = make_tenant("user")
    for i in range(3):
        assert client.post("/api/v1/projects", json={"title": f"p{i}"}, headers=tenant.headers).status_code == 201
    r = client.post("/api/v1/projects", json={"title": "one too many"}, headers=tenant.headers)
    assert r.status_code == 429
    body = r.json()
    assert body["quota"] == "projects" and body["limit"] == 3
    tomorrow = (datetime.now(timezone.utc) + timedelta(days=1)).date().isoformat()
    assert body["resets_at"].startswith(tomorrow)
    me = client.get("/api/v1/me", headers=tenant.headers).json()
    assert me["usage"]["quotas"]["projects"] == {"used": 3, "limit": 3}
    admin = make_tenant("admin")
    for i in range(5):
        assert client.post("/api/v1/projects", json={"title": f"a{i}"}, headers=admin.headers).status_code == 201


def test_a_story_with_more_scenes_than_the_plan_allows_is_refused(client: Any, make_tenant: Any) -> None:
    tenant = make_tenant("user")
    project = client.post("/api/v1/projects", json={"title": "long"}, headers=tenant.headers).json()
    story = "\n\n".join(f"Paragraph {i}: " + "the fox ran across the field at night. " * 4 for i in range(25))
    r = client.put(f"/api/v1/projects/{project['id']}/story", json={"text": story}, headers=tenant.headers)
    assert r.status_code == 429 and r.json()["quota"] == "scenes_per_project" and r.json()["limit"] == 20


def test_roles_user_tokens_get_403_on_admin_and_worker_routes_and_workers_only_work_jobs(
        client: Any, make_tenant: Any) -> None:
    user, worker = make_tenant("user"), make_tenant("worker")
    assert client.get("/api/v1/admin/users", headers=user.headers).status_code == 403
    assert client.post("/api/v1/jobs/claim", headers=user.headers).status_code == 403
    assert client.get("/api/v1/projects", headers=worker.headers).status_code == 403
    assert client.post("/api/v1/assets", json={"type": "json", "uri": "r2://b/x"}, headers=worker.headers).status_code == 403


def test_admins_read_any_tenants_data_and_each_read_is_on_that_tenants_trail(
        client: Any, services: Any, make_tenant: Any) -> None:
    tenant, admin, other = make_tenant("premium"), make_tenant("admin"), make_tenant()
    project = ready_project(client, tenant)
    r = client.get(f"/api/v1/projects?tenant_id={tenant.id}", headers=admin.headers)
    assert [p["id"] for p in r.json()["items"]] == [project["id"]]
    assert client.get(f"/api/v1/projects/{project['id']}?tenant_id={tenant.id}", headers=admin.headers).status_code == 200
    assert client.get(f"/api/v1/jobs?tenant_id={tenant.id}", headers=admin.headers).status_code == 200
    assert client.get(f"/api/v1/assets?tenant_id={tenant.id}", headers=admin.headers).status_code == 200
    assert client.get(f"/api/v1/projects?tenant_id={tenant.id}", headers=other.headers).status_code == 404
    with services.read(scope="system") as conn:
        rows = conn.execute("SELECT actor_id, topic FROM events WHERE tenant_id = %s AND topic LIKE %s",
                            (UUID(tenant.id), "%Access.Recorded")).fetchall()
    assert len(rows) == 4 and {r["actor_id"] for r in rows} == {admin.id}


def test_jobs_assets_and_presets_answer_at_a_version_or_a_time_from_their_events(client: Any, make_tenant: Any) -> None:
    tenant, worker, other = make_tenant("premium"), make_tenant("worker"), make_tenant()
    drain(client, worker)
    project = ready_project(client, tenant)
    job = client.post(f"/api/v1/projects/{project['id']}/jobs", headers=tenant.headers).json()
    claim(client, worker)
    before_cancel = datetime.now(timezone.utc).isoformat()
    time.sleep(0.01)
    client.post(f"/api/v1/jobs/{job['id']}/cancel", headers=tenant.headers)
    first = client.get(f"/api/v1/jobs/{job['id']}?at=1", headers=tenant.headers)
    assert first.status_code == 200 and first.json()["status"] == "queued" and first.headers["etag"] == '"1"'
    then = client.get(f"/api/v1/jobs/{job['id']}", params={"at": before_cancel}, headers=tenant.headers).json()
    assert then["status"] == "running"
    assert client.get(f"/api/v1/jobs/{job['id']}?at=1", headers=other.headers).status_code == 404
    assert client.get(f"/api/v1/jobs/{job['id']}?at=99", headers=tenant.headers).status_code == 404

    asset = client.post("/api/v1/assets", json={"type": "json", "uri": "r2://b/a.json"}, headers=tenant.headers).json()
    client.delete(f"/api/v1/assets/{asset['id']}", headers=tenant.headers)
    assert client.get(f"/api/v1/assets/{asset['id']}?at=1", headers=tenant.headers).json()["deleted_at"] is None
    assert client.get(f"/api/v1/assets/{asset['id']}?at=2", headers=tenant.headers).status_code == 404

    preset = client.post("/api/v1/presets", json={"name": "v1", "config": {}}, headers=tenant.headers).json()
    client.patch(f"/api/v1/presets/{preset['id']}", json={"name": "v2"}, headers=tenant.headers)
    assert client.get(f"/api/v1/presets/{preset['id']}?at=1", headers=tenant.headers).json()["name"] == "v1"
    assert client.get(f"/api/v1/presets/{preset['id']}", headers=tenant.headers).json()["name"] == "v2"
    bad = client.get(f"/api/v1/presets/{preset['id']}?at=yesterday", headers=tenant.headers)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "at"
