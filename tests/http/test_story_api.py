"""Scenes as a client needs them: the story read back, the scene list's ETag for If-Match, and the
short-scene warnings of setting a story."""
from __future__ import annotations

from typing import Any

from tests.http.helpers import ENGLISH_STORY, PROJECTS, assert_problem, count_events, create_project


def story_url(project: dict[str, Any]) -> str:
    return f"{PROJECTS}/{project['id']}/story"


def scenes_url(project: dict[str, Any]) -> str:
    return f"{PROJECTS}/{project['id']}/scenes"


def put_story(client: Any, who: Any, project: dict[str, Any], text: str, **bounds: int) -> Any:
    r = client.put(story_url(project), json={"text": text, **bounds}, headers=who.headers)
    assert r.status_code == 200, r.text
    return r


def paragraph(tag: str, length: int) -> str:
    return (f"{tag} " + "the lighthouse keeper counts the passing ships " * 10)[: length - 1].rstrip() + "."


EDIT = {"op": "update", "index": 0, "text": paragraph("Edited", 150)}


# -- the story read back -----------------------------------------------------------------------
def test_the_story_reads_back_as_it_was_set_with_the_projects_etag(client, tenant):
    project = create_project(client, tenant)
    put_story(client, tenant, project, ENGLISH_STORY, min_length=120, max_length=300)

    r = client.get(story_url(project), headers=tenant.headers)

    assert r.status_code == 200, r.text
    assert r.json() == {"text": ENGLISH_STORY, "min_length": 120, "max_length": 300, "scenes_match_story": True}
    assert r.headers["ETag"] == client.get(f"{PROJECTS}/{project['id']}", headers=tenant.headers).headers["ETag"]


def test_a_project_without_a_story_reads_back_null(client, tenant):
    project = create_project(client, tenant)

    r = client.get(story_url(project), headers=tenant.headers)

    assert r.status_code == 200 and r.headers["ETag"] == '"1"'
    assert r.json() == {"text": None, "min_length": 100, "max_length": 280, "scenes_match_story": True}


def test_scene_edits_change_the_scenes_not_the_story_and_say_so(client, tenant):
    project = create_project(client, tenant)
    put_story(client, tenant, project, ENGLISH_STORY)

    merged = client.post(f"{scenes_url(project)}/edit", json=EDIT, headers=tenant.headers)
    assert merged.status_code == 200, merged.text

    story = client.get(story_url(project), headers=tenant.headers)
    assert story.json()["text"] == ENGLISH_STORY
    assert story.json()["scenes_match_story"] is False
    assert story.headers["ETag"] == merged.headers["ETag"]


def test_the_story_as_it_was_at_a_version(client, tenant):
    project = create_project(client, tenant)
    put_story(client, tenant, project, ENGLISH_STORY)
    put_story(client, tenant, project, paragraph("Later", 200))

    then = client.get(story_url(project), params={"at": "2"}, headers=tenant.headers)

    assert then.status_code == 200 and then.headers["ETag"] == '"2"'
    assert then.json()["text"] == ENGLISH_STORY
    assert client.get(story_url(project), params={"at": "1"}, headers=tenant.headers).json()["text"] is None


def test_another_tenants_story_or_a_deleted_projects_is_not_found(client, tenant, other_tenant):
    project = create_project(client, tenant)
    put_story(client, tenant, project, ENGLISH_STORY)

    assert_problem(client.get(story_url(project), headers=other_tenant.headers), 404)
    assert client.delete(f"{PROJECTS}/{project['id']}", headers=tenant.headers).status_code == 204
    assert_problem(client.get(story_url(project), headers=tenant.headers), 404)
    kept = client.get(story_url(project), params={"include_deleted": "true"}, headers=tenant.headers)
    assert kept.status_code == 200 and kept.json()["text"] == ENGLISH_STORY


# -- the scene list's ETag ---------------------------------------------------------------------
def test_the_scene_list_carries_the_projects_etag_before_and_after_an_edit(client, tenant):
    project = create_project(client, tenant)
    put_story(client, tenant, project, ENGLISH_STORY)

    for _ in range(2):
        scenes = client.get(scenes_url(project), headers=tenant.headers)
        read = client.get(f"{PROJECTS}/{project['id']}", headers=tenant.headers)
        assert scenes.status_code == 200 and scenes.headers["ETag"] == read.headers["ETag"]
        edited = client.post(f"{scenes_url(project)}/edit", json={"op": "update", "index": 0, "prompt": "a fox"},
                             headers={**tenant.headers, "If-Match": scenes.headers["ETag"]})
        assert edited.status_code == 200, edited.text
        assert edited.headers["ETag"] != scenes.headers["ETag"]
        client.post(f"{scenes_url(project)}/edit", json={"op": "update", "index": 0, "prompt": "a lighthouse"},
                    headers=tenant.headers)


def test_a_scene_edit_naming_a_stale_scene_list_etag_is_412_and_writes_nothing(client, services, tenant):
    project = create_project(client, tenant)
    put_story(client, tenant, project, ENGLISH_STORY)
    stale = client.get(scenes_url(project), headers=tenant.headers).headers["ETag"]
    assert client.patch(f"{PROJECTS}/{project['id']}", json={"title": "Renamed"},
                        headers=tenant.headers).status_code == 200
    before = count_events(services, tenant.id)

    r = client.post(f"{scenes_url(project)}/edit", json=EDIT, headers={**tenant.headers, "If-Match": stale})

    assert_problem(r, 412)
    assert count_events(services, tenant.id) == before
    fresh = client.get(scenes_url(project), headers=tenant.headers).headers["ETag"]
    assert client.post(f"{scenes_url(project)}/edit", json=EDIT,
                       headers={**tenant.headers, "If-Match": fresh}).status_code == 200


def test_the_scene_list_of_a_project_without_scenes_still_has_its_etag(client, tenant):
    project = create_project(client, tenant)

    r = client.get(scenes_url(project), headers=tenant.headers)

    assert r.status_code == 200 and r.json()["items"] == [] and r.headers["ETag"] == '"1"'


def test_the_scene_list_at_a_version_carries_that_version(client, tenant):
    project = create_project(client, tenant)
    put_story(client, tenant, project, ENGLISH_STORY)

    r = client.get(scenes_url(project), params={"at": "1"}, headers=tenant.headers)

    assert r.status_code == 200 and r.json()["items"] == [] and r.headers["ETag"] == '"1"'


# -- setting a story warns about short scenes as an edit does ------------------------------------
def test_setting_a_story_with_a_short_scene_warns_as_a_scene_edit_does(client, tenant):
    long, short = paragraph("Long", 250), paragraph("Short", 60)
    project = create_project(client, tenant)

    r = put_story(client, tenant, project, "\n\n".join([long, short, long]))

    assert [s["text"] for s in r.json()["items"]] == [long, short, long]
    edit = client.post(f"{scenes_url(project)}/edit", json={"op": "update", "index": 0, "text": short},
                       headers=tenant.headers).json()["warnings"]
    assert edit == ["scene text is shorter than 100 characters"]
    assert r.json()["warnings"] == [f"scene 1: {edit[0]}"]


def test_setting_a_story_of_long_enough_scenes_warns_about_nothing(client, tenant):
    project = create_project(client, tenant)

    r = put_story(client, tenant, project, ENGLISH_STORY)

    assert r.json()["warnings"] == []
