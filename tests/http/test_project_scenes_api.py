"""Story and scene routes of a project end to end, through the real app and a real PostgreSQL."""
from __future__ import annotations

import re

import pytest

from domain.segmentation import normalise
from tests.http.helpers import (
    CHINESE_STORY, ENGLISH_STORY, PROJECTS, assert_problem, count_aggregate_events, create_project, edit_scenes,
    project_with_story, scenes_of,
)


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
    assert scenes_of(client, tenant, pid) == scenes


def test_get_scenes_lists_them_in_order(client, tenant):
    pid = project_with_story(client, tenant, CHINESE_STORY)["id"]

    scenes = scenes_of(client, tenant, pid)

    assert [s["index"] for s in scenes] == list(range(len(scenes)))
    assert scenes[0]["text"].startswith("很久很久以前")


def test_merging_two_adjacent_scenes_joins_their_text(client, tenant):
    pid = project_with_story(client, tenant)["id"]
    for i, text in ((0, "A" * 60 + "."), (1, "B" * 60 + ".")):
        assert edit_scenes(client, tenant, pid, {"op": "update", "index": i, "text": text}).status_code == 200
    count = len(scenes_of(client, tenant, pid))
    before_third = scenes_of(client, tenant, pid)[2]["text"]

    r = edit_scenes(client, tenant, pid, {"op": "merge", "indexes": [0, 1]})

    assert r.status_code == 200, r.text
    scenes = r.json()["items"]
    assert len(scenes) == count - 1
    # The texts are joined in order (a separating space after sentence punctuation is allowed).
    assert re.fullmatch(r"A{60}\. ?B{60}\.", scenes[0]["text"]), scenes[0]["text"]
    assert scenes[1]["text"] == before_third
    assert [s["index"] for s in scenes] == list(range(len(scenes)))
    assert scenes_of(client, tenant, pid) == scenes
    assert client.get(f"{PROJECTS}/{pid}", headers=tenant.headers).json()["scene_count"] == count - 1


def test_splitting_a_scene_cuts_it_at_the_character_offset(client, tenant):
    pid = project_with_story(client, tenant)["id"]
    before = scenes_of(client, tenant, pid)
    text = before[1]["text"]

    r = edit_scenes(client, tenant, pid, {"op": "split", "index": 1, "position": 50})

    assert r.status_code == 200, r.text
    scenes = r.json()["items"]
    assert len(scenes) == len(before) + 1
    # Whitespace at the cut is not kept at either end of the halves.
    assert scenes[1]["text"] == text[:50].strip()
    assert scenes[2]["text"] == text[50:].strip()
    assert scenes[3]["text"] == before[2]["text"]
    # Both halves are shorter than the minimum: allowed, with a warning.
    assert r.json()["warnings"]
    assert scenes_of(client, tenant, pid) == scenes


def test_reordering_scenes_puts_them_in_the_given_order(client, tenant):
    pid = project_with_story(client, tenant)["id"]
    before = scenes_of(client, tenant, pid)
    order = list(reversed(range(len(before))))

    r = edit_scenes(client, tenant, pid, {"op": "reorder", "order": order})

    assert r.status_code == 200, r.text
    assert [s["text"] for s in r.json()["items"]] == [before[i]["text"] for i in order]
    assert [s["index"] for s in r.json()["items"]] == list(range(len(before)))
    assert [s["text"] for s in scenes_of(client, tenant, pid)] == [before[i]["text"] for i in order]


def test_updating_a_scene_changes_its_text_and_prompt(client, tenant):
    pid = project_with_story(client, tenant)["id"]
    before = scenes_of(client, tenant, pid)
    new_text = ("A lighthouse keeper climbs the stairs every night. " * 3).strip()

    r = edit_scenes(client, tenant, pid, {"op": "update", "index": 2, "text": new_text, "prompt": "lighthouse, night"})

    assert r.status_code == 200, r.text
    scene = r.json()["items"][2]
    assert scene["text"] == new_text and scene["prompt"] == "lighthouse, night"
    r = edit_scenes(client, tenant, pid, {"op": "update", "index": 2, "prompt": "stormy"})
    assert r.json()["items"][2] == {**scene, "prompt": "stormy"}
    after = scenes_of(client, tenant, pid)
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
    before_scenes = scenes_of(client, tenant, pid)
    before = count_aggregate_events(services, pid)

    assert_problem(edit_scenes(client, tenant, pid, body), 422, field)

    assert count_aggregate_events(services, pid) == before
    assert scenes_of(client, tenant, pid) == before_scenes


def test_merging_scenes_whose_joined_text_is_too_long_is_refused(client, services, tenant):
    pid = project_with_story(client, tenant)["id"]
    scenes = scenes_of(client, tenant, pid)
    assert len(scenes[0]["text"]) + len(scenes[1]["text"]) > 280
    before = count_aggregate_events(services, pid)

    assert_problem(edit_scenes(client, tenant, pid, {"op": "merge", "indexes": [0, 1]}), 422, "indexes")
    assert count_aggregate_events(services, pid) == before
