"""Project and scene routes end to end, through the real app and a real PostgreSQL."""
from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from domain.config import default_config
from domain.estimate import estimate_cost
from domain.segmentation import normalise
from tests.http.helpers import (
    CHINESE_STORY, ENGLISH_STORY, EVENT_FIELDS, PROJECTS, assert_problem, count_aggregate_events, count_events,
    create_project, project_with_story,
)

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _scenes(client, who, pid):
    r = client.get(f"{PROJECTS}/{pid}/scenes", headers=who.headers)
    assert r.status_code == 200, r.text
    return r.json()["items"]


def _edit(client, who, pid, body, **headers):
    return client.post(f"{PROJECTS}/{pid}/scenes/edit", json=body, headers={**who.headers, **headers})


def _rfc3339(ts: datetime) -> str:
    return ts.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


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
    assert_problem(_edit(client, tenant, pid, {"op": "update", "index": 0, "prompt": "p"}), 404)
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


# -- story and scenes -------------------------------------------------------------------------------
@pytest.mark.parametrize("story", [CHINESE_STORY, ENGLISH_STORY], ids=["chinese", "english"])
def test_setting_a_story_segments_it_into_bounded_scenes_and_makes_the_draft_ready(client, tenant, story):
    assert len(story) >= 600
    pid = create_project(client, tenant)["id"]

    r = client.put(f"{PROJECTS}/{pid}/story", json={"text": story}, headers=tenant.headers)

    assert r.status_code == 200, r.text
    scenes = r.json()["items"]
    assert len(scenes) >= 3
    assert [s["index"] for s in scenes] == list(range(len(scenes)))
    for scene in scenes:
        assert 100 <= len(scene["text"]) <= 280, (len(scene["text"]), scene["text"])
        assert scene["prompt"] is None and scene["image_asset_id"] is None
    # Nothing of the story is lost: only whitespace between scenes, and full-width ASCII made plain.
    squeeze = lambda s: re.sub(r"\s+", "", normalise(s))  # noqa: E731
    assert squeeze("".join(s["text"] for s in scenes)) == squeeze(story)
    project = client.get(f"{PROJECTS}/{pid}", headers=tenant.headers).json()
    assert project["status"] == "ready"
    assert project["story_chars"] == len(story)
    assert project["scene_count"] == len(scenes)
    assert _scenes(client, tenant, pid) == scenes


def test_get_scenes_lists_them_in_order(client, tenant):
    pid = project_with_story(client, tenant, CHINESE_STORY)["id"]

    scenes = _scenes(client, tenant, pid)

    assert [s["index"] for s in scenes] == list(range(len(scenes)))
    assert scenes[0]["text"].startswith("很久很久以前")


def test_merging_two_adjacent_scenes_joins_their_text(client, tenant):
    pid = project_with_story(client, tenant)["id"]
    for i, text in ((0, "A" * 60 + "."), (1, "B" * 60 + ".")):
        assert _edit(client, tenant, pid, {"op": "update", "index": i, "text": text}).status_code == 200
    count = len(_scenes(client, tenant, pid))
    before_third = _scenes(client, tenant, pid)[2]["text"]

    r = _edit(client, tenant, pid, {"op": "merge", "indexes": [0, 1]})

    assert r.status_code == 200, r.text
    scenes = r.json()["items"]
    assert len(scenes) == count - 1
    # The texts are joined in order (a separating space after sentence punctuation is allowed).
    assert re.fullmatch(r"A{60}\. ?B{60}\.", scenes[0]["text"]), scenes[0]["text"]
    assert scenes[1]["text"] == before_third
    assert [s["index"] for s in scenes] == list(range(len(scenes)))
    assert _scenes(client, tenant, pid) == scenes
    assert client.get(f"{PROJECTS}/{pid}", headers=tenant.headers).json()["scene_count"] == count - 1


def test_splitting_a_scene_cuts_it_at_the_character_offset(client, tenant):
    pid = project_with_story(client, tenant)["id"]
    before = _scenes(client, tenant, pid)
    text = before[1]["text"]

    r = _edit(client, tenant, pid, {"op": "split", "index": 1, "position": 50})

    assert r.status_code == 200, r.text
    scenes = r.json()["items"]
    assert len(scenes) == len(before) + 1
    # Whitespace at the cut is not kept at either end of the halves.
    assert scenes[1]["text"] == text[:50].strip()
    assert scenes[2]["text"] == text[50:].strip()
    assert scenes[3]["text"] == before[2]["text"]
    # Both halves are shorter than the minimum: allowed, with a warning.
    assert r.json()["warnings"]
    assert _scenes(client, tenant, pid) == scenes


def test_reordering_scenes_puts_them_in_the_given_order(client, tenant):
    pid = project_with_story(client, tenant)["id"]
    before = _scenes(client, tenant, pid)
    order = list(reversed(range(len(before))))

    r = _edit(client, tenant, pid, {"op": "reorder", "order": order})

    assert r.status_code == 200, r.text
    assert [s["text"] for s in r.json()["items"]] == [before[i]["text"] for i in order]
    assert [s["index"] for s in r.json()["items"]] == list(range(len(before)))
    assert [s["text"] for s in _scenes(client, tenant, pid)] == [before[i]["text"] for i in order]


def test_updating_a_scene_changes_its_text_and_prompt(client, tenant):
    pid = project_with_story(client, tenant)["id"]
    before = _scenes(client, tenant, pid)
    new_text = ("A lighthouse keeper climbs the stairs every night. " * 3).strip()

    r = _edit(client, tenant, pid, {"op": "update", "index": 2, "text": new_text, "prompt": "lighthouse, night"})

    assert r.status_code == 200, r.text
    scene = r.json()["items"][2]
    assert scene["text"] == new_text and scene["prompt"] == "lighthouse, night"
    r = _edit(client, tenant, pid, {"op": "update", "index": 2, "prompt": "stormy"})
    assert r.json()["items"][2] == {**scene, "prompt": "stormy"}
    after = _scenes(client, tenant, pid)
    assert after[2]["prompt"] == "stormy" and after[2]["text"] == new_text
    assert after[0] == before[0]


@pytest.mark.parametrize("body, field", [
    ({"op": "merge", "indexes": [0, 2]}, "indexes"),
    ({"op": "merge", "indexes": [1, 0]}, "indexes"),
    ({"op": "merge", "indexes": [40, 41]}, "indexes"),
    ({"op": "split", "index": 40, "position": 10}, "index"),
    ({"op": "split", "index": 0, "position": 1999}, "position"),
    ({"op": "update", "index": 40, "prompt": "x"}, "index"),
    ({"op": "update", "index": 0, "text": "x" * 281}, "text"),
    ({"op": "reorder", "order": [0]}, "order"),
    ({"op": "reorder", "order": [0, 0, 1, 2, 3, 4, 5, 6]}, "order"),
], ids=["non-adjacent-merge", "backwards-merge", "merge-out-of-range", "split-out-of-range",
        "split-past-the-end", "update-out-of-range", "update-too-long", "reorder-missing", "reorder-duplicate"])
def test_an_invalid_scene_edit_answers_422_naming_the_field_and_appends_nothing(client, services, tenant, body, field):
    pid = project_with_story(client, tenant)["id"]
    before_scenes = _scenes(client, tenant, pid)
    before = count_aggregate_events(services, pid)

    assert_problem(_edit(client, tenant, pid, body), 422, field)

    assert count_aggregate_events(services, pid) == before
    assert _scenes(client, tenant, pid) == before_scenes


def test_merging_scenes_whose_joined_text_is_too_long_is_refused(client, services, tenant):
    pid = project_with_story(client, tenant)["id"]
    scenes = _scenes(client, tenant, pid)
    assert len(scenes[0]["text"]) + len(scenes[1]["text"]) > 280
    before = count_aggregate_events(services, pid)

    assert_problem(_edit(client, tenant, pid, {"op": "merge", "indexes": [0, 1]}), 422, "indexes")
    assert count_aggregate_events(services, pid) == before


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


# -- history ----------------------------------------------------------------------------------------
def test_history_lists_every_event_with_its_metadata(client, services, tenant):
    created = client.post(PROJECTS, json={"title": "Start"},
                          headers={**tenant.headers, "X-Correlation-ID": "corr-create-1",
                                   "Idempotency-Key": "key-create-1"})
    pid = created.json()["id"]
    client.patch(f"{PROJECTS}/{pid}", json={"title": "Renamed", "description": "d"},
                 headers={**tenant.headers, "X-Correlation-ID": "corr-rename-2", "Idempotency-Key": "key-rename-2"})
    client.post(f"{PROJECTS}/{pid}/status", json={"status": "ready"},
                headers={**tenant.headers, "X-Correlation-ID": "corr-status-3"})

    r = client.get(f"{PROJECTS}/{pid}/history", headers=tenant.headers)

    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert [e["version"] for e in items] == [1, 2, 3, 4]
    assert [e["type"] for e in items] == ["Project.Created", "Project.Renamed", "Project.Described",
                                          "Project.StatusChanged"]
    for event in items:
        assert set(event) == EVENT_FIELDS
        assert event["aggregate_id"] == pid
        assert event["aggregate_type"] == "Project"
        assert event["actor_id"] == tenant.id
        assert event["causation_id"] is None
        assert re.fullmatch(r"[0-9a-f]{64}", event["hash"]) and re.fullmatch(r"[0-9a-f]{64}", event["prev_hash"])
        datetime.fromisoformat(event["recorded_at"].replace("Z", "+00:00"))
    assert [e["correlation_id"] for e in items] == ["corr-create-1", "corr-rename-2", "corr-rename-2",
                                                    "corr-status-3"]
    assert [e["command_id"] for e in items] == ["key-create-1", "key-rename-2", "key-rename-2", None]
    assert items[0]["data"]["title"] == "Start"
    assert items[1]["data"]["title"] == "Renamed"
    assert items[3]["data"]["status"] == "ready"
    # Positions and the tenant's sequence grow; each event links to the tenant's previous one.
    assert [e["position"] for e in items] == sorted(e["position"] for e in items)
    assert [e["tenant_seq"] for e in items] == sorted(e["tenant_seq"] for e in items)
    with services.read(scope="system") as conn:
        for event in items:
            row = conn.execute("SELECT hash FROM events WHERE tenant_id = %s AND tenant_seq = %s",
                               (tenant.id, event["tenant_seq"] - 1)).fetchone()
            assert bytes(row["hash"]).hex() == event["prev_hash"]
            row = conn.execute("SELECT hash FROM events WHERE tenant_id = %s AND tenant_seq = %s",
                               (tenant.id, event["tenant_seq"])).fetchone()
            assert bytes(row["hash"]).hex() == event["hash"]


def test_history_of_a_missing_project_is_404(client, tenant):
    assert_problem(client.get(f"{PROJECTS}/{uuid.uuid4()}/history", headers=tenant.headers), 404)
    # A user id is an aggregate, but not a project.
    assert_problem(client.get(f"{PROJECTS}/{tenant.id}/history", headers=tenant.headers), 404)


# -- time travel ------------------------------------------------------------------------------------
def test_at_a_version_returns_the_project_as_it_was(client, tenant):
    pid = create_project(client, tenant, "Original title")["id"]
    client.patch(f"{PROJECTS}/{pid}", json={"title": "New title"}, headers=tenant.headers)

    r = client.get(f"{PROJECTS}/{pid}", params={"at": "1"}, headers=tenant.headers)

    assert r.status_code == 200, r.text
    assert r.json()["title"] == "Original title"
    assert r.json()["version"] == 1
    assert r.headers["etag"] == '"1"'
    assert client.get(f"{PROJECTS}/{pid}", params={"at": "2"}, headers=tenant.headers).json()["title"] == "New title"


def test_at_a_time_between_two_commands_returns_the_state_at_that_time(client, tenant):
    pid = create_project(client, tenant, "Before")["id"]
    client.patch(f"{PROJECTS}/{pid}", json={"title": "After"}, headers=tenant.headers)
    history = client.get(f"{PROJECTS}/{pid}/history", headers=tenant.headers).json()["items"]
    t1 = datetime.fromisoformat(history[0]["recorded_at"].replace("Z", "+00:00"))
    t2 = datetime.fromisoformat(history[1]["recorded_at"].replace("Z", "+00:00"))
    assert t1 < t2
    between = t1 + (t2 - t1) / 2

    r = client.get(f"{PROJECTS}/{pid}", params={"at": _rfc3339(between)}, headers=tenant.headers)
    later = client.get(f"{PROJECTS}/{pid}", params={"at": _rfc3339(t2 + timedelta(seconds=1))},
                       headers=tenant.headers)
    earlier = client.get(f"{PROJECTS}/{pid}", params={"at": _rfc3339(t1 - timedelta(seconds=5))},
                         headers=tenant.headers)

    assert r.status_code == 200, r.text
    assert r.json()["title"] == "Before" and r.json()["version"] == 1
    assert later.json()["title"] == "After"
    assert_problem(earlier, 404)


def test_scenes_at_a_version_are_the_scenes_as_they_were(client, tenant):
    project = project_with_story(client, tenant)
    pid = project["id"]
    before = _scenes(client, tenant, pid)
    _edit(client, tenant, pid, {"op": "reorder", "order": list(reversed(range(len(before))))})

    r = client.get(f"{PROJECTS}/{pid}/scenes", params={"at": str(project["version"])}, headers=tenant.headers)

    assert r.status_code == 200, r.text
    assert r.json()["items"] == before


def test_at_a_version_beyond_the_current_one_is_404(client, tenant):
    pid = create_project(client, tenant)["id"]

    assert_problem(client.get(f"{PROJECTS}/{pid}", params={"at": "2"}, headers=tenant.headers), 404)
    assert_problem(client.get(f"{PROJECTS}/{pid}", params={"at": "999999"}, headers=tenant.headers), 404)


def test_at_a_version_when_the_project_was_deleted_is_404_unless_include_deleted(client, tenant):
    pid = create_project(client, tenant, "Short-lived")["id"]
    client.delete(f"{PROJECTS}/{pid}", headers=tenant.headers)

    alive = client.get(f"{PROJECTS}/{pid}", params={"at": "1"}, headers=tenant.headers)
    deleted = client.get(f"{PROJECTS}/{pid}", params={"at": "2"}, headers=tenant.headers)
    shown = client.get(f"{PROJECTS}/{pid}", params={"at": "2", "include_deleted": "true"}, headers=tenant.headers)

    assert alive.status_code == 200 and alive.json()["deleted_at"] is None
    assert_problem(deleted, 404)
    assert shown.status_code == 200 and shown.json()["deleted_at"] is not None


def test_the_scenes_of_a_deleted_project_answer_404_even_with_at_its_current_version(client, tenant):
    project = project_with_story(client, tenant)
    pid = project["id"]
    client.delete(f"{PROJECTS}/{pid}", headers=tenant.headers)
    deleted_version = client.get(f"{PROJECTS}/{pid}", params={"include_deleted": "true"},
                                 headers=tenant.headers).json()["version"]

    assert_problem(client.get(f"{PROJECTS}/{pid}/scenes", headers=tenant.headers), 404)
    # As it was at the deletion, the project was deleted: a read of it is 404 like the current one.
    assert_problem(client.get(f"{PROJECTS}/{pid}/scenes", params={"at": str(deleted_version)},
                              headers=tenant.headers), 404)
    # Before the deletion it was alive, so its scenes then are readable.
    then = client.get(f"{PROJECTS}/{pid}/scenes", params={"at": str(project["version"])}, headers=tenant.headers)
    assert then.status_code == 200 and then.json()["items"]


@pytest.mark.parametrize("at", ["garbage", "0", "-1", "2024-13-45T99:00:00Z", "1.5"])
def test_a_garbage_at_answers_422_naming_at(client, tenant, at):
    pid = create_project(client, tenant)["id"]

    assert_problem(client.get(f"{PROJECTS}/{pid}", params={"at": at}, headers=tenant.headers), 422, "at")
    assert_problem(client.get(f"{PROJECTS}/{pid}/scenes", params={"at": at}, headers=tenant.headers), 422, "at")


# -- correlation and idempotency --------------------------------------------------------------------
def test_the_correlation_id_sent_is_echoed_on_the_response(client, tenant):
    r = client.post(PROJECTS, json={"title": "x"}, headers={**tenant.headers, "X-Correlation-ID": "abc-123"})
    assert r.headers["x-correlation-id"] == "abc-123"

    problem = client.get(f"{PROJECTS}/{uuid.uuid4()}", headers={**tenant.headers, "X-Correlation-ID": "abc-456"})
    assert problem.status_code == 404
    assert problem.headers["x-correlation-id"] == "abc-456"


def test_a_correlation_id_is_generated_when_absent_and_recorded_on_the_events(client, tenant):
    r = client.post(PROJECTS, json={"title": "x"}, headers=tenant.headers)
    generated = r.headers["x-correlation-id"]
    other = client.get(PROJECTS, headers=tenant.headers).headers["x-correlation-id"]

    assert UUID_RE.match(generated)
    assert other != generated
    history = client.get(f"{PROJECTS}/{r.json()['id']}/history", headers=tenant.headers).json()["items"]
    assert history[0]["correlation_id"] == generated


def test_an_unsafe_correlation_id_is_replaced_by_a_generated_one(client, tenant):
    r = client.get(PROJECTS, headers={**tenant.headers, "X-Correlation-ID": "bad id; <script>"})

    assert r.status_code == 200
    assert UUID_RE.match(r.headers["x-correlation-id"])


def test_repeating_a_create_with_the_same_idempotency_key_returns_the_original_and_appends_nothing(
        client, services, tenant):
    headers = {**tenant.headers, "Idempotency-Key": f"create-{uuid.uuid4().hex}"}
    first = client.post(PROJECTS, json={"title": "Once"}, headers=headers)
    assert first.status_code == 201
    before = count_events(services, tenant.id)

    again = client.post(PROJECTS, json={"title": "Once"}, headers=headers)

    assert again.status_code == first.status_code
    assert again.json() == first.json()
    assert count_events(services, tenant.id) == before
    assert len(client.get(PROJECTS, headers=tenant.headers).json()["items"]) == 1


def test_search_treats_like_wildcards_in_q_literally(client, make_tenant):
    tenant = make_tenant("premium")
    for title in ("50%_off", "500 offers", "a_b", "axb"):
        assert client.post("/api/v1/projects", json={"title": title}, headers=tenant.headers).status_code == 201
    def titles(q):
        return sorted(p["title"] for p in client.get("/api/v1/projects", params={"q": q}, headers=tenant.headers).json()["items"])
    assert titles("50%_") == ["50%_off"]
    assert titles("a_b") == ["a_b"]
