"""Deleted means deleted for writes too: every command but restore answers 404 on a soft-deleted
resource, as a GET does, and appends nothing (issue 11, item 7)."""
from __future__ import annotations

from typing import Any

import pytest

from tests.http.helpers import ENGLISH_STORY, PROJECTS, assert_problem, count_events, project_with_story

PROJECT_COMMANDS = [
    ("PATCH", "", {}),
    ("PATCH", "", {"title": "New"}),
    ("POST", "/status", {"status": "draft"}),
    ("PUT", "/story", {"text": ENGLISH_STORY}),
    ("POST", "/scenes/edit", {"op": "update", "index": 0, "prompt": "a fox"}),
    ("POST", "/scenes/edit", {"op": "reorder", "order": [0, 1, 2]}),
    ("POST", "/scenes/edit", {"op": "split", "index": 0, "position": 50}),
    ("POST", "/scenes/edit", {"op": "merge", "indexes": [0, 1]}),
    ("POST", "/jobs", {}),
    ("DELETE", "", None),
]


@pytest.fixture
def deleted_project(client: Any, tenant: Any) -> str:
    pid = project_with_story(client, tenant)["id"]
    assert client.delete(f"{PROJECTS}/{pid}", headers=tenant.headers).status_code == 204
    assert_problem(client.get(f"{PROJECTS}/{pid}", headers=tenant.headers), 404)
    return str(pid)


@pytest.mark.parametrize(("method", "path", "body"), PROJECT_COMMANDS,
                         ids=[f"{m} {p or '/'} {b}" for m, p, b in PROJECT_COMMANDS])
@pytest.mark.parametrize("if_match", [None, '"2"', "*"], ids=["no If-Match", "If-Match current", "If-Match *"])
def test_a_command_on_a_deleted_project_is_404_and_writes_nothing(
        client: Any, services: Any, tenant: Any, deleted_project: str, method: str, path: str,
        body: Any, if_match: str | None) -> None:
    version = client.get(f"{PROJECTS}/{deleted_project}", params={"include_deleted": "true"},
                         headers=tenant.headers).headers["etag"]
    headers = {**tenant.headers, **({"If-Match": version if if_match == '"2"' else if_match} if if_match else {})}
    before = count_events(services, tenant.id)
    r = client.request(method, f"{PROJECTS}/{deleted_project}{path}", json=body, headers=headers)
    assert_problem(r, 404)
    assert count_events(services, tenant.id) == before


def test_an_empty_patch_of_a_deleted_project_does_not_return_it(client: Any, tenant: Any, deleted_project: str) -> None:
    # It used to answer 200 with the deleted project (deleted_at set) and its ETag.
    r = client.patch(f"{PROJECTS}/{deleted_project}", json={}, headers=tenant.headers)
    assert_problem(r, 404)
    assert "etag" not in r.headers and deleted_project not in r.text


def test_restore_is_the_one_command_a_deleted_project_takes(client: Any, tenant: Any, deleted_project: str) -> None:
    r = client.post(f"{PROJECTS}/{deleted_project}/restore", headers=tenant.headers)
    assert r.status_code == 200 and r.json()["deleted_at"] is None
    r = client.patch(f"{PROJECTS}/{deleted_project}", json={}, headers=tenant.headers)
    assert r.status_code == 200


def test_an_asset_cannot_name_a_deleted_project(client: Any, services: Any, tenant: Any,
                                                deleted_project: str) -> None:
    before = count_events(services, tenant.id)
    r = client.post("/api/v1/assets", json={"type": "json", "uri": "r2://b/x", "project_id": deleted_project},
                    headers=tenant.headers)
    assert_problem(r, 404, "project_id")
    assert count_events(services, tenant.id) == before


@pytest.fixture
def deleted_preset(client: Any, tenant: Any) -> str:
    r = client.post("/api/v1/presets", json={"name": "mine", "config": {}}, headers=tenant.headers)
    pid = r.json()["id"]
    assert client.delete(f"/api/v1/presets/{pid}", headers=tenant.headers).status_code == 204
    return str(pid)


@pytest.mark.parametrize(("method", "path", "body"), [
    ("PATCH", "", {}), ("PATCH", "", {"name": "renamed"}), ("POST", "/default", None), ("DELETE", "", None)],
    ids=["empty patch", "rename", "set default", "delete again"])
def test_a_command_on_a_deleted_preset_is_404_and_writes_nothing(
        client: Any, services: Any, tenant: Any, deleted_preset: str, method: str, path: str, body: Any) -> None:
    before = count_events(services, tenant.id)
    r = client.request(method, f"/api/v1/presets/{deleted_preset}{path}", json=body, headers=tenant.headers)
    assert_problem(r, 404)
    assert count_events(services, tenant.id) == before


def test_a_deleted_preset_is_not_used_for_a_new_project_and_can_be_restored(client: Any, tenant: Any,
                                                                           deleted_preset: str) -> None:
    assert_problem(client.post(PROJECTS, json={"title": "x", "preset_id": deleted_preset}, headers=tenant.headers),
                   404, "preset_id")
    assert client.post(f"/api/v1/presets/{deleted_preset}/restore", headers=tenant.headers).status_code == 200
    assert client.patch(f"/api/v1/presets/{deleted_preset}", json={}, headers=tenant.headers).status_code == 200


def test_a_deleted_asset_takes_only_restore(client: Any, services: Any, tenant: Any) -> None:
    aid = client.post("/api/v1/assets", json={"type": "json", "uri": "r2://b/x"}, headers=tenant.headers).json()["id"]
    assert client.delete(f"/api/v1/assets/{aid}", headers=tenant.headers).status_code == 204
    before = count_events(services, tenant.id)
    assert_problem(client.delete(f"/api/v1/assets/{aid}", headers=tenant.headers), 404)
    assert_problem(client.delete(f"/api/v1/assets/{aid}", headers={**tenant.headers, "If-Match": "*"}), 404)
    assert count_events(services, tenant.id) == before
    assert client.post(f"/api/v1/assets/{aid}/restore", headers=tenant.headers).status_code == 200
