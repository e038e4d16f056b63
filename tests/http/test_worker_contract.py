"""The render worker's contract (issue 14, items 1-3): the manifest, leases, outputs and the project's video."""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone
from typing import Any
from uuid import UUID

import pytest

from tests.http.helpers import assert_problem, count_aggregate_events
from tests.http.test_domain_api import STORY, claim, drain

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def project_for(client: Any, tenant: Any, **body: Any) -> dict[str, Any]:
    project = client.post("/api/v1/projects", json={"title": "worker contract", **body}, headers=tenant.headers)
    assert project.status_code == 201, project.text
    r = client.put(f"/api/v1/projects/{project.json()['id']}/story", json={"text": STORY}, headers=tenant.headers)
    assert r.status_code == 200, r.text
    return project.json()


def claimed(client: Any, worker: Any, job_id: str) -> dict[str, Any]:
    """Claim until this job is the one claimed (jobs other tests left queued may come first)."""
    for _ in range(30):
        r = claim(client, worker)
        assert r.status_code == 200, r.text
        if r.json()["id"] == job_id:
            return r.json()  # type: ignore[no-any-return]
    raise AssertionError("the job was never claimed")


def queued_job(client: Any, tenant: Any, project: dict[str, Any], config: dict[str, Any] | None = None) -> str:
    r = client.post(f"/api/v1/projects/{project['id']}/jobs", json={"config": config} if config else {},
                    headers=tenant.headers)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


@pytest.fixture
def running(client: Any, make_tenant: Any) -> Any:
    """(owner, worker, project, manifest) of a job just claimed."""
    owner, worker = make_tenant("premium"), make_tenant("worker")
    drain(client, worker)
    project = project_for(client, owner)
    job_id = queued_job(client, owner, project)
    return owner, worker, project, claimed(client, worker, job_id)


def upload(client: Any, worker: Any, job_id: str, data: bytes, **params: Any) -> Any:
    params.setdefault("checksum", sha(data))
    return client.post(f"/api/v1/jobs/{job_id}/outputs", params=params, content=data,
                       headers={**worker.headers, "Content-Type": "application/octet-stream"})


# -- 1. the manifest ------------------------------------------------------------------------------
def test_the_claim_answers_everything_needed_to_render(client: Any, make_tenant: Any) -> None:
    owner, worker = make_tenant("premium"), make_tenant("worker")
    dark = next(p for p in client.get("/api/v1/presets", headers=owner.headers).json()["items"]
                if p["builtin"] and p["config"]["template"]["name"] == "dark")
    project = project_for(client, owner, preset_id=dark["id"], config={"voice": {"language": "en", "speed": 1.5}})
    edit = {"op": "update", "index": 1, "prompt": "a lighthouse at dusk, oil painting"}
    assert client.post(f"/api/v1/projects/{project['id']}/scenes/edit", json=edit,
                       headers=owner.headers).status_code == 200
    image = client.post("/api/v1/assets", json={"type": "image", "uri": "https://cdn.example/first.png",
                                                "size_bytes": 10, "project_id": project["id"], "scene_index": 0},
                        headers=owner.headers).json()
    scenes = client.get(f"/api/v1/projects/{project['id']}/scenes", headers=owner.headers).json()["items"]
    estimate = client.get(f"/api/v1/projects/{project['id']}/estimate", headers=owner.headers).json()
    drain(client, worker)
    job_id = queued_job(client, owner, project, {"generation": {"images_per_scene": 2}})
    owners_key = "sk-test-owner-0123456789abcdef"  # stored sealed (issue 13 item 5), handed to the lease holder
    assert client.put("/api/v1/me/model-keys/openai", json={"key": owners_key},
                      headers=owner.headers).status_code == 201

    manifest = claimed(client, worker, job_id)

    assert manifest["tenant_id"] == owner.id and manifest["project_id"] == project["id"]
    assert manifest["project"] == {"id": project["id"], "title": "worker contract", "description": ""}
    assert manifest["config"]["template"]["name"] == "dark"  # the preset, applied at creation
    assert manifest["config"]["generation"]["images_per_scene"] == 2  # the job's own override
    assert manifest["voice"] == manifest["config"]["voice"] and manifest["voice"]["speed"] == 1.5
    assert manifest["story"] == {"language": "en", "characters": len(STORY), "scene_count": len(scenes)}
    assert [(s["index"], s["text"], s["prompt"]) for s in manifest["scenes"]] == [
        (s["index"], s["text"], s["prompt"]) for s in scenes]
    assert manifest["scenes"][1]["prompt"] == edit["prompt"]
    assert manifest["scenes"][0]["image_asset"] == {"id": image["id"], "uri": "https://cdn.example/first.png",
                                                    "size_bytes": 10, "checksum": None, "metadata": {}}
    assert manifest["scenes"][1]["image_asset"] is None
    assert manifest["estimate"]["expected"] > estimate["expected"]  # two images a scene, as queued
    assert (manifest["attempt"], manifest["start_step"], manifest["status"]) == (1, "ingest", "running")
    lease = manifest["lease"]
    assert UUID(lease["id"]) and lease["seconds"] == manifest["timeout_seconds"]
    expires = datetime.fromisoformat(lease["expires_at"])
    assert expires == datetime.fromisoformat(manifest["heartbeat_at"]) + timedelta(seconds=lease["seconds"])
    assert manifest["model_keys"] == {"openai": owners_key}

    # The holder reads the same manifest back; another worker, as for a job that does not exist, gets 404.
    again = client.get(f"/api/v1/jobs/{job_id}", headers=worker.headers)
    assert again.status_code == 200 and again.json()["lease"] == lease and again.json()["scenes"] == manifest["scenes"]
    assert_problem(client.get(f"/api/v1/jobs/{job_id}", headers=make_tenant("worker").headers), 404)
    # The owner still reads the job as before: no lease, no keys.
    mine = client.get(f"/api/v1/jobs/{job_id}", headers=owner.headers).json()
    assert "model_keys" not in mine and "lease" not in mine


def test_without_model_keys_the_manifest_has_none_and_the_claims_stored_answer_never_keeps_one(
        client: Any, services: Any, make_tenant: Any, monkeypatch: Any) -> None:
    import api.manifest

    owner, worker = make_tenant("premium"), make_tenant("worker")
    drain(client, worker)
    job_id = queued_job(client, owner, project_for(client, owner))
    monkeypatch.setattr(api.manifest, "model_keys_for_job", lambda tenant, job: {"gemini": "g-secret"})
    r = client.post("/api/v1/jobs/claim", headers={**worker.headers, "Idempotency-Key": f"claim-{job_id}"})
    assert r.status_code == 200
    assert r.json()["model_keys"] == {"gemini": "g-secret"}
    with services.read(scope="system") as conn:
        stored = conn.execute("SELECT result FROM idempotency_keys WHERE key = %s", (f"claim-{job_id}",)).fetchone()
    assert stored is not None and "g-secret" not in str(stored["result"])
    monkeypatch.undo()
    r = client.get(f"/api/v1/jobs/{r.json()['id']}", headers=worker.headers)
    assert r.status_code == 200 and r.json()["model_keys"] == {}


# -- 2. leases ------------------------------------------------------------------------------------
REPORTS = [
    ("progress", {"step": "image_generation", "percentage": 40}),
    ("complete", {"cost_actual": 0.1}),
    ("fail", {"error": {"code": "SERVICE_ERROR", "message": "boom", "retryable": True}}),
]


@pytest.mark.parametrize(("report", "body"), REPORTS, ids=[r for r, _ in REPORTS])
def test_a_report_naming_another_lease_is_409_and_appends_nothing(client: Any, services: Any, running: Any,
                                                                  report: str, body: dict[str, Any]) -> None:
    _, worker, _, manifest = running
    before = count_aggregate_events(services, manifest["id"])
    stale = {**body, "lease_id": "00000000-0000-4000-8000-000000000000"}
    problem = assert_problem(client.post(f"/api/v1/jobs/{manifest['id']}/{report}", json=stale,
                                         headers=worker.headers), 409)
    assert "lease" in problem["detail"]
    assert count_aggregate_events(services, manifest["id"]) == before
    ok = client.post(f"/api/v1/jobs/{manifest['id']}/{report}", json={**body, "lease_id": manifest["lease"]["id"]},
                     headers=worker.headers)
    assert ok.status_code == 200, ok.text


def test_a_heartbeat_extends_the_lease(client: Any, running: Any) -> None:
    _, worker, _, manifest = running
    first = datetime.fromisoformat(manifest["lease"]["expires_at"])

    r = client.post(f"/api/v1/jobs/{manifest['id']}/progress",
                    json={"step": "ingest", "percentage": 0, "lease_id": manifest["lease"]["id"]}, headers=worker.headers)

    assert r.status_code == 200, r.text
    lease = r.json()["lease"]
    assert lease["id"] == manifest["lease"]["id"] and datetime.fromisoformat(lease["expires_at"]) > first
    assert datetime.fromisoformat(lease["expires_at"]) == (
        datetime.fromisoformat(r.json()["heartbeat_at"]) + timedelta(seconds=lease["seconds"]))


def test_a_step_backwards_is_409_naming_the_step(client: Any, services: Any, running: Any) -> None:
    _, worker, _, manifest = running
    url = f"/api/v1/jobs/{manifest['id']}/progress"
    assert client.post(url, json={"step": "text_to_speech", "percentage": 60}, headers=worker.headers).status_code == 200
    before = count_aggregate_events(services, manifest["id"])

    assert_problem(client.post(url, json={"step": "prompt", "percentage": 70}, headers=worker.headers), 409, "step")
    assert_problem(client.post(url, json={"step": "text_to_speech", "percentage": 10}, headers=worker.headers),
                   409, "percentage")
    assert count_aggregate_events(services, manifest["id"]) == before
    assert client.post(url, json={"step": "video_render", "percentage": 80}, headers=worker.headers).status_code == 200


def _sweep(services: Any, now: datetime) -> int:
    from api.controllers.jobs import expire_leases
    from domain.application import CommandContext

    return expire_leases(services, CommandContext.system("avm jobs sweep"), now=now)


def test_an_expired_lease_requeues_the_job_counting_the_attempt_once(client: Any, services: Any,
                                                                     running: Any) -> None:
    from domain.application import CommandContext

    owner, worker, project, manifest = running
    job_id = manifest["id"]
    later = datetime.fromisoformat(manifest["lease"]["expires_at"]) + timedelta(seconds=1)
    # The sweep is every tenant's: other tests' jobs may be swept too; this job is looked at alone.
    _sweep(services, datetime.fromisoformat(manifest["lease"]["expires_at"]))
    assert client.get(f"/api/v1/jobs/{job_id}", headers=owner.headers).json()["status"] == "running"  # not yet

    _sweep(services, later)
    _sweep(services, later)  # a second sweep finds nothing more to do with it
    job = client.get(f"/api/v1/jobs/{job_id}", headers=owner.headers).json()
    assert (job["status"], job["attempts"], job["error"]["code"]) == ("queued", 1, "TIMEOUT")
    assert job["error"]["details"] == {"lease_id": manifest["lease"]["id"]}
    failed = [e for e in client.get(f"/api/v1/jobs/{job_id}/history", headers=owner.headers).json()["items"]
              if e["type"].endswith("Job.Failed")]
    assert len(failed) == 1
    # The old holder lost the job; the next claim (after the backoff) is attempt 2 under a new lease.
    assert_problem(client.post(f"/api/v1/jobs/{job_id}/progress", json={"step": "prompt", "percentage": 1},
                               headers=worker.headers), 409)
    ctx = CommandContext(tenant_id=worker.id, actor_id=worker.id, role="worker")
    again = services.app.claim_job(ctx, [UUID(job_id)], now=later + timedelta(seconds=60))
    assert again is not None and again.attempts == 2 and again.lease_id != manifest["lease"]["id"]
    assert client.get(f"/api/v1/projects/{project['id']}", headers=owner.headers).json()["status"] == "processing"


def test_an_expired_lease_on_the_last_attempt_fails_the_job_and_the_project(client: Any, services: Any,
                                                                            make_tenant: Any) -> None:
    from domain.application import CommandContext

    owner, worker = make_tenant("premium"), make_tenant("worker")
    drain(client, worker)
    project = project_for(client, owner)
    job_id = queued_job(client, owner, project, {"generation": {"retry_attempts": 1}})
    manifest = claimed(client, worker, job_id)
    assert manifest["max_attempts"] == 2
    later = datetime.fromisoformat(manifest["lease"]["expires_at"]) + timedelta(seconds=1)
    _sweep(services, later)
    ctx = CommandContext(tenant_id=worker.id, actor_id=worker.id, role="worker")
    second = services.app.claim_job(ctx, [UUID(job_id)], now=later + timedelta(seconds=60))
    assert second is not None and second.attempts == 2

    _sweep(services, later + timedelta(seconds=60 + manifest["lease"]["seconds"] + 1))

    job = client.get(f"/api/v1/jobs/{job_id}", headers=owner.headers).json()
    assert (job["status"], job["attempts"], job["error"]["code"]) == ("failed", 2, "TIMEOUT")
    assert client.get(f"/api/v1/projects/{project['id']}", headers=owner.headers).json()["status"] == "failed"


# -- 3. outputs -----------------------------------------------------------------------------------
def test_outputs_are_registered_as_assets_of_the_jobs_tenant_and_an_image_becomes_its_scenes(
        client: Any, running: Any) -> None:
    owner, worker, project, manifest = running
    job_id = manifest["id"]

    image = upload(client, worker, job_id, PNG, type="image", scene_index=0, width=1080, height=1920,
                   lease_id=manifest["lease"]["id"])
    audio = upload(client, worker, job_id, b"RIFF" + b"\x00" * 100, type="audio", duration_seconds=9.5)

    assert image.status_code == 201, image.text
    assert audio.status_code == 201, audio.text
    body = image.json()
    assert (body["type"], body["project_id"], body["job_id"], body["scene_index"]) == ("image", project["id"], job_id, 0)
    assert (body["size_bytes"], body["checksum"]) == (len(PNG), sha(PNG))
    assert body["metadata"] == {"width": 1080, "height": 1920}  # application/octet-stream is the default: not kept
    assert image.headers["location"] == f"/api/v1/assets/{body['id']}"
    assert audio.json()["metadata"]["duration_seconds"] == 9.5
    # The owner sees them as its assets; the scene shows its new image.
    mine = client.get(f"/api/v1/assets?project_id={project['id']}", headers=owner.headers).json()["items"]
    assert {a["id"] for a in mine} >= {body["id"], audio.json()["id"]}
    scenes = client.get(f"/api/v1/projects/{project['id']}/scenes", headers=owner.headers).json()["items"]
    assert scenes[0]["image_asset_id"] == body["id"]


def test_a_generated_video_is_not_capped_like_an_upload_but_has_its_own_limit(client: Any, running: Any,
                                                                            monkeypatch: Any) -> None:
    import api.controllers.jobs as jobs

    _, worker, _, manifest = running
    video = b"\x00\x00\x00\x18ftypmp42" + b"v" * (6 * 1024 * 1024)  # over the 5 MB upload limit
    r = upload(client, worker, manifest["id"], video, type="video", width=1080, height=1920, duration_seconds=12)
    assert r.status_code == 201, r.text
    assert r.json()["size_bytes"] == len(video)

    monkeypatch.setitem(jobs.OUTPUT_LIMITS, "video", 1000)
    assert_problem(upload(client, worker, manifest["id"], b"x" * 1001, type="video", width=10, height=10,
                          duration_seconds=1), 422, "size_bytes")
    assert upload(client, worker, manifest["id"], b"x" * 1000, type="video", width=10, height=10,
                  duration_seconds=1).status_code == 201


@pytest.mark.parametrize(("params", "field"), [
    ({"type": "video", "width": 10, "height": 10}, "duration_seconds"),
    ({"type": "image", "width": 10, "height": 10}, "scene_index"),
    ({"type": "image", "width": 10, "height": 10, "scene_index": 999}, "scene_index"),
    ({"type": "image", "width": 10, "height": 10, "scene_index": 0, "checksum": "sha256:" + "0" * 64}, "checksum"),
    ({"type": "text"}, "type"),
], ids=["video without duration", "image without scene", "no such scene", "checksum mismatch", "not an output type"])
def test_an_invalid_output_is_422_naming_the_field_and_registers_nothing(client: Any, running: Any,
                                                                       params: dict[str, Any], field: str) -> None:
    owner, worker, project, manifest = running
    before = client.get(f"/api/v1/assets?project_id={project['id']}", headers=owner.headers).json()["items"]
    assert_problem(upload(client, worker, manifest["id"], PNG, **params), 422, field)
    assert client.get(f"/api/v1/assets?project_id={project['id']}", headers=owner.headers).json()["items"] == before


def test_only_the_lease_holder_registers_outputs(client: Any, running: Any, make_tenant: Any) -> None:
    owner, worker, project, manifest = running
    intruder = make_tenant("worker")
    assert_problem(upload(client, intruder, manifest["id"], PNG, type="image", scene_index=0, width=1, height=1), 409)
    assert_problem(upload(client, worker, manifest["id"], PNG, type="image", scene_index=0, width=1, height=1,
                          lease_id="00000000-0000-4000-8000-000000000000"), 409)
    assert_problem(upload(client, owner, manifest["id"], PNG, type="image", scene_index=0, width=1, height=1), 403)
    assert client.get(f"/api/v1/assets?project_id={project['id']}", headers=owner.headers).json()["items"] == []


def test_complete_with_the_video_shows_it_on_the_project_and_only_its_owner_downloads_it(
        client: Any, running: Any, make_tenant: Any) -> None:
    owner, worker, project, manifest = running
    job_id = manifest["id"]
    video = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40
    asset = client.post(f"/api/v1/jobs/{job_id}/outputs", content=video, headers={
        **worker.headers, "Content-Type": "video/mp4"}, params={
        "type": "video", "width": 1080, "height": 1920, "duration_seconds": 9, "lease_id": manifest["lease"]["id"],
        "checksum": sha(video)})
    assert asset.status_code == 201, asset.text
    video_id = asset.json()["id"]

    done = client.post(f"/api/v1/jobs/{job_id}/complete", json={"cost_actual": 0.2, "video_asset_id": video_id,
                                                                 "lease_id": manifest["lease"]["id"]},
                       headers=worker.headers)

    assert done.status_code == 200, done.text
    assert done.json()["video_asset_id"] == video_id and done.json()["lease"] is None
    shown = client.get(f"/api/v1/projects/{project['id']}", headers=owner.headers).json()
    assert (shown["status"], shown["output_asset_id"]) == ("completed", video_id)
    assert client.get(f"/api/v1/jobs/{job_id}", headers=owner.headers).json()["video_asset_id"] == video_id
    download = client.get(f"/api/v1/assets/{video_id}/content", headers=owner.headers)
    assert download.status_code == 200 and download.content == video
    assert download.headers["content-type"] == "video/mp4" and asset.json()["metadata"]["content_type"] == "video/mp4"
    assert download.headers["content-length"] == str(len(video))
    assert download.headers["etag"] == '"1"'
    other = client.get(f"/api/v1/assets/{video_id}/content", headers=make_tenant("premium").headers)
    missing = client.get("/api/v1/assets/00000000-0000-4000-8000-000000000000/content", headers=owner.headers)
    assert_problem(other, 404)
    assert other.json() == missing.json()  # another tenant's asset looks exactly like none


def test_complete_naming_something_other_than_this_jobs_video_is_422(client: Any, running: Any) -> None:
    owner, worker, project, manifest = running
    image = upload(client, worker, manifest["id"], PNG, type="image", scene_index=0, width=1, height=1).json()
    foreign = client.post("/api/v1/assets", json={"type": "video", "uri": "https://cdn.example/v.mp4"},
                          headers=owner.headers).json()
    for asset_id in (image["id"], foreign["id"], "00000000-0000-4000-8000-000000000000"):
        assert_problem(client.post(f"/api/v1/jobs/{manifest['id']}/complete", json={"video_asset_id": asset_id},
                                   headers=worker.headers), 422, "video_asset_id")
    assert client.get(f"/api/v1/jobs/{manifest['id']}", headers=owner.headers).json()["status"] == "running"


def test_an_asset_whose_bytes_the_service_does_not_hold_has_no_content(client: Any, make_tenant: Any) -> None:
    owner = make_tenant("premium")
    asset = client.post("/api/v1/assets", json={"type": "video", "uri": "https://cdn.example/v.mp4"},
                        headers=owner.headers).json()
    assert_problem(client.get(f"/api/v1/assets/{asset['id']}/content", headers=owner.headers), 404)
