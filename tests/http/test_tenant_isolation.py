"""Tenant isolation: another tenant's ids look exactly like ids that do not exist, and change nothing."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from tests.http.helpers import ENGLISH_STORY, PROJECTS, assert_problem, count_events, project_with_story

NOW = lambda: datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")  # noqa: E731

# name -> (method, path under the project, query, body)
PROJECT_ROUTES: dict[str, tuple[str, str, dict[str, str], Any]] = {
    "get": ("GET", "", {}, None),
    "get-include-deleted": ("GET", "", {"include_deleted": "true"}, None),
    "get-at-version": ("GET", "", {"at": "1"}, None),
    "get-at-time": ("GET", "", {"at": "now"}, None),
    "patch": ("PATCH", "", {}, {"title": "taken over"}),
    "patch-if-match": ("PATCH", "", {}, {"title": "taken over"}),
    "delete": ("DELETE", "", {}, None),
    "restore": ("POST", "/restore", {}, None),
    "status": ("POST", "/status", {}, {"status": "draft"}),
    "story": ("PUT", "/story", {}, {"text": ENGLISH_STORY}),
    "scenes": ("GET", "/scenes", {}, None),
    "scenes-at-version": ("GET", "/scenes", {"at": "1"}, None),
    "scenes-at-time": ("GET", "/scenes", {"at": "now"}, None),
    "scenes-edit-update": ("POST", "/scenes/edit", {}, {"op": "update", "index": 0, "text": "mine now " * 15}),
    "scenes-edit-merge": ("POST", "/scenes/edit", {}, {"op": "merge", "indexes": [0, 1]}),
    "scenes-edit-split": ("POST", "/scenes/edit", {}, {"op": "split", "index": 0, "position": 10}),
    "scenes-edit-reorder": ("POST", "/scenes/edit", {}, {"op": "reorder", "order": [1, 0, 2, 3, 4, 5, 6, 7]}),
    "estimate": ("GET", "/estimate", {}, None),
    "history": ("GET", "/history", {}, None),
}


def _snapshot(client: Any, services: Any, owner: Any, pid: str) -> tuple[Any, ...]:
    project = client.get(f"{PROJECTS}/{pid}", params={"include_deleted": "true"}, headers=owner.headers).json()
    with services.read(scope="system") as conn:
        scenes = conn.execute("SELECT idx, text, prompt, image_asset_id FROM scenes WHERE tenant_id = %s"
                              " AND project_id = %s ORDER BY idx", (owner.id, pid)).fetchall()
    history = client.get(f"{PROJECTS}/{pid}/history", headers=owner.headers).json()
    return project, scenes, history, count_events(services, owner.id)


def _call(client: Any, who: Any, name: str, pid: str, headers: dict[str, str] | None = None) -> Any:
    method, path, query, body = PROJECT_ROUTES[name]
    params = {k: (NOW() if v == "now" else v) for k, v in query.items()}
    extra = {"If-Match": '"1"'} if name == "patch-if-match" else {}
    return client.request(method, f"{PROJECTS}/{pid}{path}", params=params, json=body,
                          headers={**who.headers, **extra, **(headers or {})})


@pytest.mark.parametrize("deleted", [False, True], ids=["live", "deleted"])
@pytest.mark.parametrize("name", list(PROJECT_ROUTES))
def test_another_tenants_project_id_answers_404_like_a_missing_one(client, services, make_tenant, name, deleted):
    a, b = make_tenant(), make_tenant()
    pid = project_with_story(client, a)["id"]
    if deleted:
        assert client.delete(f"{PROJECTS}/{pid}", headers=a.headers).status_code == 204
    before = _snapshot(client, services, a, pid)
    b_events = count_events(services, b.id)

    theirs = _call(client, b, name, pid)
    missing = _call(client, b, name, str(uuid.uuid4()))

    assert_problem(theirs, 404)
    assert theirs.content == missing.content
    assert theirs.headers["content-type"] == missing.headers["content-type"]
    assert _snapshot(client, services, a, pid) == before
    assert count_events(services, b.id) == b_events


@pytest.mark.parametrize("name", list(PROJECT_ROUTES))
def test_the_owner_gets_an_answer_other_than_404_on_the_same_routes(client, make_tenant, name):
    # Guards the test above: the routes and bodies it uses do reach the owner's project.
    a = make_tenant()
    pid = project_with_story(client, a)["id"]
    if name == "restore":
        client.delete(f"{PROJECTS}/{pid}", headers=a.headers)

    r = _call(client, a, name, pid)

    assert r.status_code != 404, r.text


def test_another_tenants_list_never_shows_my_projects(client, make_tenant):
    a, b = make_tenant(), make_tenant()
    live = project_with_story(client, a, title="Secret plan")["id"]
    gone = project_with_story(client, a, title="Secret archive")["id"]
    client.delete(f"{PROJECTS}/{gone}", headers=a.headers)
    mine = client.post(PROJECTS, json={"title": "B's own"}, headers=b.headers).json()["id"]

    for params in ({}, {"include_deleted": "true"}, {"q": "Secret"}, {"status": "ready"}, {"limit": "100"},
                   {"q": "Secret", "include_deleted": "true"}):
        items = client.get(PROJECTS, params=params, headers=b.headers).json()["items"]
        ids = {p["id"] for p in items}
        assert live not in ids and gone not in ids, params
    assert [p["id"] for p in client.get(PROJECTS, headers=b.headers).json()["items"]] == [mine]
    assert {p["id"] for p in client.get(PROJECTS, params={"include_deleted": "true"},
                                        headers=a.headers).json()["items"]} == {live, gone}


def test_another_tenants_cursor_does_not_reveal_my_projects(client, make_tenant):
    a, b = make_tenant(), make_tenant()
    for i in range(3):
        client.post(PROJECTS, json={"title": f"A{i}"}, headers=a.headers)
    cursor = client.get(PROJECTS, params={"limit": 1}, headers=a.headers).json()["next_cursor"]
    assert cursor

    r = client.get(PROJECTS, params={"cursor": cursor}, headers=b.headers)

    assert r.status_code == 200
    assert r.json()["items"] == []


def test_deleting_another_tenants_token_answers_404_like_a_missing_one_and_the_token_still_works(
        client, services, make_tenant):
    a, b = make_tenant(), make_tenant()
    issued = client.post("/api/v1/me/tokens", json={"name": "a's"}, headers=a.headers).json()
    before_a, before_b = count_events(services, a.id), count_events(services, b.id)

    theirs = client.delete(f"/api/v1/me/tokens/{issued['id']}", headers=b.headers)
    missing = client.delete(f"/api/v1/me/tokens/{uuid.uuid4()}", headers=b.headers)

    assert_problem(theirs, 404)
    assert theirs.content == missing.content
    assert count_events(services, a.id) == before_a and count_events(services, b.id) == before_b
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {issued['token']}"})
    assert me.status_code == 200 and me.json()["id"] == a.id


def test_another_tenants_tokens_are_not_listed(client, make_tenant):
    a, b = make_tenant(), make_tenant()
    issued = client.post("/api/v1/me/tokens", json={"name": "a's"}, headers=a.headers).json()

    ids = {t["id"] for t in client.get("/api/v1/me/tokens", headers=b.headers).json()["items"]}

    assert issued["id"] not in ids
    assert len(ids) == 1


def test_a_time_before_the_project_existed_looks_like_a_missing_one(client, make_tenant):
    a = make_tenant()
    pid = project_with_story(client, a)["id"]
    long_ago = (datetime.now(timezone.utc) - timedelta(days=1)).isoformat().replace("+00:00", "Z")

    then = client.get(f"{PROJECTS}/{pid}", params={"at": long_ago}, headers=a.headers)
    missing = client.get(f"{PROJECTS}/{uuid.uuid4()}", params={"at": long_ago}, headers=a.headers)

    assert_problem(then, 404)
    assert then.content == missing.content
