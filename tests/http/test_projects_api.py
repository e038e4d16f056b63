"""Project routes end to end, through the real app and a real PostgreSQL: create, list, read, change,
delete, status, estimate. Scenes: test_project_scenes_api.py; history and time travel:
test_project_history_api.py."""
from __future__ import annotations

import uuid

import pytest

from domain.config import default_config
from domain.estimate import estimate_cost
from tests.http.helpers import (
    CHINESE_STORY, ENGLISH_STORY, PROJECTS, UUID_RE, assert_problem, count_aggregate_events, create_project,
    edit_scenes, project_with_story,
)


# -- create -----------------------------------------------------------------------------------------
def test_creating_a_project_answers_201_with_location_etag_and_the_resource(client, tenant):
    r = client.post(PROJECTS, json={"title": "My first video", "description": "about cats"}, headers=tenant.headers)

    assert r.status_code == 201, r.text
    body = r.json()
    assert UUID_RE.match(body["id"])
    assert r.headers["location"].endswith(f"/api/v1/projects/{body['id']}")
    assert r.headers["etag"] == '"1"'
    assert body["title"] == "My first video"
    assert body["description"] == "about cats"
    assert body["status"] == "draft"
    assert body["version"] == 1
    assert body["story_chars"] == 0 and body["scene_count"] == 0
    assert body["deleted_at"] is None and body["preset_id"] is None
    assert body["created_at"] and body["updated_at"]
    # The Location header points at a readable resource equal to the body.
    got = client.get(r.headers["location"], headers=tenant.headers)
    assert got.status_code == 200
    assert got.json() == body


def test_a_project_created_without_config_gets_the_full_default_config(client, tenant):
    body = create_project(client, tenant, "Defaults")

    assert body["config"] == default_config()
    assert body["config"]["template"]["name"] == "classic"
    assert body["config"]["generation"]["images_per_scene"] == 1


def test_a_partial_config_on_create_is_completed_with_defaults(client, tenant):
    body = create_project(client, tenant, "Dark", config={"template": {"name": "dark"}, "aspect_ratio": "16:9"})

    assert body["config"]["template"]["name"] == "dark"
    assert body["config"]["template"]["bgm_volume"] == default_config()["template"]["bgm_volume"]
    assert body["config"]["aspect_ratio"] == "16:9"
    assert body["config"]["voice"] == default_config()["voice"]


# -- list -------------------------------------------------------------------------------------------
def test_listing_pages_through_every_project_newest_first_with_a_keyset_cursor(client, make_tenant):
    tenant = make_tenant("premium")  # more projects than a user's daily quota
    ids = [create_project(client, tenant, f"P{i}")["id"] for i in range(5)]

    pages = []
    cursor = None
    for _ in range(3):
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        r = client.get(PROJECTS, params=params, headers=tenant.headers)
        assert r.status_code == 200, r.text
        body = r.json()
        assert set(body) >= {"items", "next_cursor"}
        pages.append([p["id"] for p in body["items"]])
        cursor = body["next_cursor"]
    assert [len(p) for p in pages] == [2, 2, 1]
    assert cursor is None
    assert [pid for page in pages for pid in page] == list(reversed(ids))


def test_listing_defaults_to_twenty_items(client, make_tenant):
    tenant = make_tenant("premium")  # more projects than a user's daily quota
    for i in range(21):
        create_project(client, tenant, f"N{i}")

    body = client.get(PROJECTS, headers=tenant.headers).json()

    assert len(body["items"]) == 20
    assert body["next_cursor"] is not None


def test_listing_filters_by_status(client, tenant):
    draft = create_project(client, tenant, "stays draft")
    ready = create_project(client, tenant, "becomes ready")
    r = client.post(f"{PROJECTS}/{ready['id']}/status", json={"status": "ready"}, headers=tenant.headers)
    assert r.status_code == 200

    readies = client.get(PROJECTS, params={"status": "ready"}, headers=tenant.headers).json()["items"]
    drafts = client.get(PROJECTS, params={"status": "draft"}, headers=tenant.headers).json()["items"]

    assert [p["id"] for p in readies] == [ready["id"]]
    assert [p["id"] for p in drafts] == [draft["id"]]


def test_listing_searches_title_and_description_with_q(client, make_tenant):
    tenant = make_tenant("premium")  # more projects than a user's daily quota
    by_title = create_project(client, tenant, "The Snow Fox")
    by_description = create_project(client, tenant, "Other", description="a tale of a white FOX")
    create_project(client, tenant, "Unrelated", description="cats")
    literal = create_project(client, tenant, "100% true")

    found = client.get(PROJECTS, params={"q": "fox"}, headers=tenant.headers).json()["items"]
    percent = client.get(PROJECTS, params={"q": "%"}, headers=tenant.headers).json()["items"]

    assert {p["id"] for p in found} == {by_title["id"], by_description["id"]}
    # LIKE wildcards in q are literal characters, not patterns.
    assert [p["id"] for p in percent] == [literal["id"]]


def test_a_deleted_project_is_listed_only_with_include_deleted(client, tenant):
    kept = create_project(client, tenant, "kept")
    gone = create_project(client, tenant, "gone")
    assert client.delete(f"{PROJECTS}/{gone['id']}", headers=tenant.headers).status_code == 204

    default = client.get(PROJECTS, headers=tenant.headers).json()["items"]
    everything = client.get(PROJECTS, params={"include_deleted": "true"}, headers=tenant.headers).json()["items"]

    assert [p["id"] for p in default] == [kept["id"]]
    assert {p["id"] for p in everything} == {kept["id"], gone["id"]}
    assert next(p for p in everything if p["id"] == gone["id"])["deleted_at"] is not None


# -- read -------------------------------------------------------------------------------------------
def test_reading_a_project_carries_its_version_as_etag(client, tenant):
    pid = create_project(client, tenant)["id"]
    client.patch(f"{PROJECTS}/{pid}", json={"title": "Renamed"}, headers=tenant.headers)

    r = client.get(f"{PROJECTS}/{pid}", headers=tenant.headers)

    assert r.status_code == 200
    assert r.headers["etag"] == '"2"'
    assert r.json()["version"] == 2
    assert r.json()["title"] == "Renamed"


def test_a_missing_project_answers_404_problem_json(client, tenant):
    assert_problem(client.get(f"{PROJECTS}/{uuid.uuid4()}", headers=tenant.headers), 404)


# -- change -----------------------------------------------------------------------------------------
def test_patch_changes_title_and_description_and_returns_the_new_state(client, tenant):
    pid = create_project(client, tenant, "Old", description="old")["id"]

    r = client.patch(f"{PROJECTS}/{pid}", json={"title": "New", "description": "new"}, headers=tenant.headers)

    assert r.status_code == 200, r.text
    assert r.json()["title"] == "New" and r.json()["description"] == "new"
    assert r.json()["version"] == 3
    assert r.headers["etag"] == '"3"'
    assert client.get(f"{PROJECTS}/{pid}", headers=tenant.headers).json()["title"] == "New"


def test_patching_config_merges_section_by_section(client, tenant):
    pid = create_project(client, tenant, config={"template": {"name": "vivid"}, "voice": {"language": "en"}})["id"]

    r = client.patch(f"{PROJECTS}/{pid}", json={"config": {"template": {"bgm_volume": -5}}}, headers=tenant.headers)

    assert r.status_code == 200, r.text
    config = r.json()["config"]
    assert config["template"]["bgm_volume"] == -5
    assert config["template"]["name"] == "vivid"
    assert config["voice"]["language"] == "en"
    assert client.get(f"{PROJECTS}/{pid}", headers=tenant.headers).json()["config"] == config


def test_a_stale_if_match_answers_412_and_appends_nothing(client, services, tenant):
    pid = create_project(client, tenant, "Original")["id"]
    client.patch(f"{PROJECTS}/{pid}", json={"title": "Second"}, headers=tenant.headers)
    before = count_aggregate_events(services, pid)

    r = client.patch(f"{PROJECTS}/{pid}", json={"title": "Third"}, headers={**tenant.headers, "If-Match": '"1"'})

    assert_problem(r, 412)
    assert count_aggregate_events(services, pid) == before
    assert client.get(f"{PROJECTS}/{pid}", headers=tenant.headers).json()["title"] == "Second"


@pytest.mark.parametrize("method, path, body", [
    ("DELETE", "", None),
    ("POST", "/status", {"status": "ready"}),
    ("PUT", "/story", {"text": ENGLISH_STORY}),
])
def test_a_stale_if_match_is_refused_by_every_command(client, services, tenant, method, path, body):
    pid = create_project(client, tenant)["id"]
    client.patch(f"{PROJECTS}/{pid}", json={"title": "v2"}, headers=tenant.headers)
    before = count_aggregate_events(services, pid)

    r = client.request(method, f"{PROJECTS}/{pid}{path}", json=body, headers={**tenant.headers, "If-Match": '"1"'})

    assert_problem(r, 412)
    assert count_aggregate_events(services, pid) == before


def test_a_current_if_match_is_accepted(client, tenant):
    created = client.post(PROJECTS, json={"title": "A"}, headers=tenant.headers)
    pid = created.json()["id"]

    r = client.patch(f"{PROJECTS}/{pid}", json={"title": "B"},
                     headers={**tenant.headers, "If-Match": created.headers["etag"]})

    assert r.status_code == 200, r.text
    assert r.json()["title"] == "B"
    assert r.headers["etag"] == '"2"'


# -- delete and restore -----------------------------------------------------------------------------
def test_delete_is_soft_and_restore_brings_the_project_back(client, tenant):
    pid = create_project(client, tenant, "Deletable")["id"]

    r = client.delete(f"{PROJECTS}/{pid}", headers=tenant.headers)
    assert r.status_code == 204
    assert r.content == b""

    assert_problem(client.get(f"{PROJECTS}/{pid}", headers=tenant.headers), 404)
    shown = client.get(f"{PROJECTS}/{pid}", params={"include_deleted": "true"}, headers=tenant.headers)
    assert shown.status_code == 200
    assert shown.json()["deleted_at"] is not None
    assert shown.json()["title"] == "Deletable"

    restored = client.post(f"{PROJECTS}/{pid}/restore", headers=tenant.headers)
    assert restored.status_code == 200, restored.text
    assert restored.json()["deleted_at"] is None
    assert restored.headers["etag"] == f'"{restored.json()["version"]}"'
    again = client.get(f"{PROJECTS}/{pid}", headers=tenant.headers)
    assert again.status_code == 200 and again.json()["deleted_at"] is None


def test_a_deleted_project_refuses_changes_and_reads_of_its_parts_with_404(client, services, tenant):
    pid = project_with_story(client, tenant)["id"]
    assert client.delete(f"{PROJECTS}/{pid}", headers=tenant.headers).status_code == 204
    before = count_aggregate_events(services, pid)

    assert_problem(client.patch(f"{PROJECTS}/{pid}", json={"title": "x"}, headers=tenant.headers), 404)
    assert_problem(client.delete(f"{PROJECTS}/{pid}", headers=tenant.headers), 404)
    assert_problem(client.get(f"{PROJECTS}/{pid}/scenes", headers=tenant.headers), 404)
    assert_problem(client.get(f"{PROJECTS}/{pid}/estimate", headers=tenant.headers), 404)
    assert_problem(edit_scenes(client, tenant, pid, {"op": "update", "index": 0, "prompt": "p"}), 404)
    assert count_aggregate_events(services, pid) == before


def test_restoring_a_project_that_is_not_deleted_is_a_conflict(client, tenant):
    pid = create_project(client, tenant)["id"]

    assert_problem(client.post(f"{PROJECTS}/{pid}/restore", headers=tenant.headers), 409)


# -- status -----------------------------------------------------------------------------------------
def test_an_allowed_status_change_answers_200_with_the_new_state(client, tenant):
    pid = create_project(client, tenant)["id"]

    r = client.post(f"{PROJECTS}/{pid}/status", json={"status": "ready"}, headers=tenant.headers)

    assert r.status_code == 200, r.text
    assert r.json()["status"] == "ready"
    assert r.headers["etag"] == '"2"'


def test_a_disallowed_status_change_answers_409_problem_and_appends_nothing(client, services, tenant):
    pid = create_project(client, tenant)["id"]
    before = count_aggregate_events(services, pid)

    r = client.post(f"{PROJECTS}/{pid}/status", json={"status": "completed"}, headers=tenant.headers)

    body = assert_problem(r, 409, "status")
    assert "draft" in body["detail"] and "completed" in body["detail"]
    assert count_aggregate_events(services, pid) == before
    assert client.get(f"{PROJECTS}/{pid}", headers=tenant.headers).json()["status"] == "draft"


# -- estimate ---------------------------------------------------------------------------------------
def test_the_estimate_matches_the_domain_rule_for_the_projects_story(client, tenant):
    pid = create_project(client, tenant, config={"generation": {"images_per_scene": 2}})["id"]
    client.put(f"{PROJECTS}/{pid}/story", json={"text": CHINESE_STORY}, headers=tenant.headers)
    project = client.get(f"{PROJECTS}/{pid}", headers=tenant.headers).json()

    r = client.get(f"{PROJECTS}/{pid}/estimate", headers=tenant.headers)

    assert r.status_code == 200, r.text
    assert r.json() == estimate_cost(project["story_chars"], project["scene_count"], 2)
    assert project["story_chars"] == len(CHINESE_STORY) and project["scene_count"] > 0
    body = r.json()
    assert body["currency"] == "USD"
    assert body["low"] <= body["expected"] <= body["high"]
    assert body["expected"] == pytest.approx(sum(body["breakdown"].values()), abs=1e-5)


def test_the_estimate_of_a_project_without_a_story_is_zero(client, tenant):
    pid = create_project(client, tenant)["id"]

    body = client.get(f"{PROJECTS}/{pid}/estimate", headers=tenant.headers).json()

    assert body == estimate_cost(0, 0, 1)
    assert body["expected"] == 0


def test_search_treats_like_wildcards_in_q_literally(client, make_tenant):
    tenant = make_tenant("premium")
    for title in ("50%_off", "500 offers", "a_b", "axb"):
        assert client.post("/api/v1/projects", json={"title": title}, headers=tenant.headers).status_code == 201
    def titles(q):
        return sorted(p["title"] for p in client.get("/api/v1/projects", params={"q": q}, headers=tenant.headers).json()["items"])
    assert titles("50%_") == ["50%_off"]
    assert titles("a_b") == ["a_b"]
