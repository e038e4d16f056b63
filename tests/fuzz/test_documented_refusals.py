"""Refusals that random data rarely reaches (quotas, built-ins), each answered with a status its route documents."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from domain.config import BUILTIN_PRESETS
from tests.http.helpers import CHINESE_STORY, PROJECTS, assert_problem, create_project, project_with_story

BUILTIN = BUILTIN_PRESETS[0]["id"]


def _fourth_project_of_the_day(client: Any, who: Any) -> tuple[str, Any]:
    for i in range(3):
        create_project(client, who, f"Allowed {i}")
    return "POST /api/v1/projects", client.post(PROJECTS, json={"title": "One too many"}, headers=who.headers)


def _story_with_too_many_scenes(client: Any, who: Any) -> tuple[str, Any]:
    pid = create_project(client, who)["id"]
    story = {"text": CHINESE_STORY * 3, "min_length": 50, "max_length": 60}  # ~36 scenes; a user may have 20
    return "PUT /api/v1/projects/{project_id}/story", client.put(f"{PROJECTS}/{pid}/story", json=story,
                                                                 headers=who.headers)


def _one_split_too_many(client: Any, who: Any) -> tuple[str, Any]:
    pid = project_with_story(client, who)["id"]
    for _ in range(30):
        scenes = client.get(f"{PROJECTS}/{pid}/scenes", headers=who.headers).json()["items"]
        longest = max(scenes, key=lambda s: len(s["text"]))
        r = client.post(f"{PROJECTS}/{pid}/scenes/edit", headers=who.headers,
                        json={"op": "split", "index": longest["index"], "position": len(longest["text"]) // 2})
        if r.status_code != 200:
            return "POST /api/v1/projects/{project_id}/scenes/edit", r
    pytest.fail("a user's project took more than 50 scenes")


def _rename_a_builtin_preset(client: Any, who: Any) -> tuple[str, Any]:
    return "PATCH /api/v1/presets/{preset_id}", client.patch(f"/api/v1/presets/{BUILTIN}", json={"name": "Mine"},
                                                             headers=who.headers)


def _delete_a_builtin_preset(client: Any, who: Any) -> tuple[str, Any]:
    return "DELETE /api/v1/presets/{preset_id}", client.delete(f"/api/v1/presets/{BUILTIN}", headers=who.headers)


SCENARIOS: dict[str, Callable[[Any, Any], tuple[str, Any]]] = {
    "daily project quota": _fourth_project_of_the_day,
    "scenes per project, by a story": _story_with_too_many_scenes,
    "scenes per project, by a split": _one_split_too_many,
    "renaming a built-in preset": _rename_a_builtin_preset,
    "deleting a built-in preset": _delete_a_builtin_preset,
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_a_refusal_comes_with_a_status_the_route_documents(client, make_tenant, name):
    operation, r = SCENARIOS[name](client, make_tenant("user"))
    method, path = operation.split(" ", 1)
    documented = client.get("/schema/openapi.json").json()["paths"][path][method.lower()]["responses"]

    assert 400 <= r.status_code < 500, r.text
    assert_problem(r, r.status_code)
    assert str(r.status_code) in documented, (operation, r.status_code, sorted(documented))
