"""Bad input on every command route: problem JSON naming the field, no trace, nothing appended; and auth."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from tests.http.helpers import ENGLISH_STORY, PROJECTS, assert_problem, count_events, project_with_story


@dataclass
class World:
    """A tenant with a project that has scenes, an admin, and another user the admin can manage."""

    tenant: Any
    admin: Any
    target: Any
    project_id: str

    def url(self, template: str) -> str:
        return template.format(pid=self.project_id, uid=self.target.id)

    def caller(self, route: str) -> Any:
        return self.admin if route.startswith("admin") else self.tenant

    def tenants(self) -> tuple[str, ...]:
        return self.tenant.id, self.admin.id, self.target.id


@pytest.fixture
def world(client, make_tenant) -> World:
    tenant, admin, target = make_tenant(), make_tenant("admin"), make_tenant()
    project = project_with_story(client, tenant)
    return World(tenant, admin, target, project["id"])


# route name -> (method, url template, a valid body)
ROUTES: dict[str, tuple[str, str, dict[str, Any]]] = {
    "create_project": ("POST", PROJECTS, {"title": "ok"}),
    "update_project": ("PATCH", PROJECTS + "/{pid}", {"title": "ok"}),
    "change_status": ("POST", PROJECTS + "/{pid}/status", {"status": "draft"}),
    "set_story": ("PUT", PROJECTS + "/{pid}/story", {"text": ENGLISH_STORY}),
    "edit_scenes": ("POST", PROJECTS + "/{pid}/scenes/edit", {"op": "update", "index": 0, "prompt": "p"}),
    "update_me": ("PATCH", "/api/v1/me", {"name": "ok"}),
    "create_token": ("POST", "/api/v1/me/tokens", {"name": "ok"}),
    "admin_create_user": ("POST", "/api/v1/admin/users", {"email": f"valid-{uuid.uuid4().hex[:12]}@example.com"}),
    "admin_change_role": ("PUT", "/api/v1/admin/users/{uid}/role", {"role": "premium"}),
}

MALFORMED = [b'{"title": ', b"{bad json}", b'{"a": 1,}', b"\xff\xfe"]

# (route, body, the field the problem must name)
UNKNOWN_FIELD = [(name, {**body, "bogus_field": 1}, "bogus_field") for name, (_, _, body) in ROUTES.items()]

WRONG_TYPE = [
    ("create_project", {"title": 42}, "title"),
    ("create_project", {"title": "ok", "config": "dark"}, "config"),
    ("create_project", {"title": "ok", "preset_id": "not-a-uuid"}, "preset_id"),
    ("update_project", {"title": ["x"]}, "title"),
    ("update_project", {"config": {"template": 5}}, "config.template"),
    ("change_status", {"status": 1}, "status"),
    ("set_story", {"text": 5}, "text"),
    ("set_story", {"text": "x", "min_length": "100"}, "min_length"),
    ("edit_scenes", {"op": "split", "index": "0", "position": 5}, "index"),
    ("edit_scenes", {"op": "merge", "indexes": "0,1"}, "indexes"),
    ("update_me", {"name": 5}, "name"),
    ("update_me", {"settings": "dark"}, "settings"),
    ("update_me", {"settings": {"notifications": {"email": "yes"}}}, "settings.notifications.email"),
    ("create_token", {"name": 5}, "name"),
    ("create_token", {"name": "n", "expires_in_days": "7"}, "expires_in_days"),
    ("admin_create_user", {"email": 5}, "email"),
    ("admin_change_role", {"role": 1}, "role"),
]

OUT_OF_RANGE = [
    ("create_project", {"title": "x" * 256}, "title"),
    ("create_project", {"title": ""}, "title"),
    ("create_project", {"title": "   "}, "title"),
    ("create_project", {"title": "ok", "description": "d" * 1001}, "description"),
    ("create_project", {"title": "ok", "config": {"template": {"bgm_volume": 5}}}, "config.template.bgm_volume"),
    ("create_project", {"title": "ok", "config": {"template": {"surprise": 1}}}, "config.template.surprise"),
    ("create_project", {"title": "ok", "config": {"aspect_ratio": "4:3"}}, "config.aspect_ratio"),
    ("update_project", {"title": "x" * 256}, "title"),
    ("update_project", {"config": {"template": {"bgm_volume": 5}}}, "config.template.bgm_volume"),
    ("update_project", {"config": {"voice": {"speed": 9.0}}}, "config.voice.speed"),
    ("update_project", {"config": {"generation": {"images_per_scene": 0}}}, "config.generation.images_per_scene"),
    ("change_status", {"status": "archived"}, "status"),
    ("change_status", {"status": "completed"}, "status"),
    ("set_story", {"text": "   "}, "text"),
    ("set_story", {"text": "x" * 50_001}, "text"),
    ("set_story", {"text": ENGLISH_STORY, "min_length": 0}, "min_length"),
    ("set_story", {"text": ENGLISH_STORY, "max_length": 5000}, "max_length"),
    ("set_story", {"text": ENGLISH_STORY, "min_length": 300, "max_length": 200}, "min_length"),
    ("edit_scenes", {"op": "split", "index": 0, "position": 0}, "position"),
    ("edit_scenes", {"op": "update", "index": -1, "prompt": "p"}, "index"),
    ("edit_scenes", {"op": "update", "index": 99, "prompt": "p"}, "index"),
    ("edit_scenes", {"op": "merge", "indexes": [0, 1, 2]}, "indexes"),
    ("edit_scenes", {"op": "explode"}, "op"),
    ("update_me", {"name": "x" * 101}, "name"),
    ("update_me", {"settings": {"theme": "purple"}}, "settings.theme"),
    ("update_me", {"settings": {"favourite_colour": "red"}}, "settings.favourite_colour"),
    ("create_token", {"name": "n", "expires_in_days": 0}, "expires_in_days"),
    ("create_token", {"name": "n", "expires_in_days": 3651}, "expires_in_days"),
    ("create_token", {"name": ""}, "name"),
    ("admin_create_user", {"email": "new@example.com", "role": "god"}, "role"),
    ("admin_create_user", {"email": "not-an-email"}, "email"),
    ("admin_change_role", {"role": "root"}, "role"),
]


def _send(client, world, route, **kwargs):
    method, template, _ = ROUTES[route]
    who = world.caller(route)
    headers = {**who.headers, **kwargs.pop("headers", {})}
    return client.request(method, world.url(template), headers=headers, **kwargs)


def _case_id(case):
    route, body, field = case
    return f"{route}-{field}"


@pytest.mark.parametrize("route", list(ROUTES))
@pytest.mark.parametrize("payload", MALFORMED, ids=["truncated", "bare-word", "trailing-comma", "not-utf8"])
def test_malformed_json_answers_400_problem_and_appends_nothing(client, services, world, route, payload):
    before = count_events(services, *world.tenants())

    r = _send(client, world, route, content=payload, headers={"Content-Type": "application/json"})

    assert_problem(r, 400, "body")
    assert count_events(services, *world.tenants()) == before


def _refused_naming_the_field(client, services, world, case):
    """The body of `case` is a 4xx problem naming its field, and nothing is appended."""
    route, body, field = case
    before = count_events(services, *world.tenants())

    r = _send(client, world, route, json=body)

    assert 400 <= r.status_code < 500
    assert_problem(r, r.status_code, field)
    assert count_events(services, *world.tenants()) == before


@pytest.mark.parametrize("case", UNKNOWN_FIELD, ids=_case_id)
def test_an_unknown_field_is_refused_naming_it_and_appends_nothing(client, services, world, case):
    _refused_naming_the_field(client, services, world, case)


@pytest.mark.parametrize("case", WRONG_TYPE, ids=_case_id)
def test_a_wrong_type_is_refused_naming_the_field_and_appends_nothing(client, services, world, case):
    _refused_naming_the_field(client, services, world, case)


@pytest.mark.parametrize("case", OUT_OF_RANGE, ids=_case_id)
def test_an_out_of_range_value_is_refused_naming_the_field_and_appends_nothing(client, services, world, case):
    _refused_naming_the_field(client, services, world, case)


@pytest.mark.parametrize("route", list(ROUTES))
@pytest.mark.parametrize("payload", [b"[]", b"null", b'"text"'], ids=["array", "null", "string"])
def test_a_body_that_is_not_an_object_is_refused_and_appends_nothing(client, services, world, route, payload):
    before = count_events(services, *world.tenants())

    r = _send(client, world, route, content=payload, headers={"Content-Type": "application/json"})

    assert 400 <= r.status_code < 500
    assert_problem(r, r.status_code, "body")
    assert count_events(services, *world.tenants()) == before


def test_an_empty_body_is_refused_in_words_a_client_can_read_and_appends_nothing(client, services, world):
    before = count_events(services, *world.tenants())
    unreadable = []

    for route in ROUTES:
        r = _send(client, world, route, content=b"", headers={"Content-Type": "application/json"})
        assert 400 <= r.status_code < 500, route
        body = assert_problem(r, r.status_code, "body")
        # Not the repr of an internal KeyError ("'data'") but a sentence about the body.
        reasons = [e["reason"] for e in body["errors"]] + [body["detail"]]
        if any("'data'" in reason for reason in reasons):
            unreadable.append((route, body["detail"]))

    assert unreadable == []
    assert count_events(services, *world.tenants()) == before


@pytest.mark.parametrize("route", list(ROUTES))
def test_a_valid_body_is_accepted_by_every_route_so_the_refusals_above_mean_something(client, world, route):
    r = _send(client, world, route, json=ROUTES[route][2])

    assert r.status_code in (200, 201), r.text


@pytest.mark.parametrize("path, params, field", [
    (PROJECTS, {"limit": "1000"}, "limit"),
    (PROJECTS, {"limit": "0"}, "limit"),
    (PROJECTS, {"limit": "ten"}, "limit"),
    (PROJECTS, {"cursor": "not-a-cursor"}, "cursor"),
    (PROJECTS, {"status": "archived"}, "status"),
    (PROJECTS, {"include_deleted": "perhaps"}, "include_deleted"),
    ("/api/v1/admin/users", {"limit": "1000"}, "limit"),
    ("/api/v1/admin/users", {"limit": "-1"}, "limit"),
    ("/api/v1/admin/users", {"cursor": "%%%"}, "cursor"),
], ids=lambda v: str(v) if not isinstance(v, dict) else "&".join(f"{k}={x}" for k, x in v.items()))
def test_a_bad_list_parameter_is_refused_naming_it(client, world, path, params, field):
    who = world.admin if "admin" in path else world.tenant

    r = client.get(path, params=params, headers=who.headers)

    assert 400 <= r.status_code < 500
    assert_problem(r, r.status_code, field)


def test_an_if_match_that_is_not_a_version_is_refused_and_appends_nothing(client, services, world):
    before = count_events(services, *world.tenants())

    r = client.patch(f"{PROJECTS}/{world.project_id}", json={"title": "x"},
                     headers={**world.tenant.headers, "If-Match": "yesterday"})

    assert_problem(r, 422, "If-Match")
    assert count_events(services, *world.tenants()) == before


# -- authentication and authorisation ---------------------------------------------------------------
NOBODY = "5f0c2a8e-6b1d-4c3e-9a7f-2d4b6e8a0c1e"  # fixed, so test ids are stable; owned by no one
AUTHENTICATED_ROUTES = [
    ("GET", PROJECTS), ("POST", PROJECTS), ("GET", "/api/v1/me"), ("PATCH", "/api/v1/me"),
    ("GET", "/api/v1/me/tokens"), ("POST", "/api/v1/me/tokens"), ("GET", "/api/v1/admin/users"),
    ("GET", f"{PROJECTS}/{NOBODY}"), ("GET", f"{PROJECTS}/{NOBODY}/history"),
]


@pytest.mark.parametrize("method, path", AUTHENTICATED_ROUTES)
@pytest.mark.parametrize("authorization", [None, "Bearer", "Bearer avm_not-a-real-token", "Basic dXNlcjpwYXNz",
                                           "avm_token-without-scheme"],
                         ids=["missing", "empty-bearer", "unknown-token", "basic-scheme", "no-scheme"])
def test_a_missing_or_bad_token_answers_401(client, method, path, authorization):
    headers = {"Authorization": authorization} if authorization else {}

    r = client.request(method, path, headers=headers, json={"title": "x"} if method != "GET" else None)

    assert_problem(r, 401)
    assert "bearer" in r.headers.get("www-authenticate", "").lower()


def test_a_revoked_token_answers_401_at_once(client, services, tenant):
    issued = client.post("/api/v1/me/tokens", json={"name": "short-lived"}, headers=tenant.headers).json()
    token = {"Authorization": f"Bearer {issued['token']}"}
    assert client.get("/api/v1/me", headers=token).status_code == 200
    assert client.delete(f"/api/v1/me/tokens/{issued['id']}", headers=tenant.headers).status_code == 204
    before = count_events(services, tenant.id)

    assert_problem(client.get("/api/v1/me", headers=token), 401)
    assert_problem(client.post(PROJECTS, json={"title": "x"}, headers=token), 401)
    assert count_events(services, tenant.id) == before


def test_an_expired_token_answers_401(client, services, tenant):
    from domain.application import CommandContext

    ctx = CommandContext(tenant_id=tenant.id, actor_id=tenant.id)
    _, _, token = services.app.issue_token(ctx, name="old", expires_in_days=1,
                                           now=datetime.now(timezone.utc) - timedelta(days=2))

    assert_problem(client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}), 401)


@pytest.mark.parametrize("method, path, body", [
    ("GET", "/api/v1/admin/users", None),
    ("POST", "/api/v1/admin/users", {"email": "someone@example.com"}),
    ("PUT", "/api/v1/admin/users/{uid}/role", {"role": "admin"}),
])
@pytest.mark.parametrize("role", ["user", "premium"])
def test_a_non_admin_token_on_admin_routes_answers_403_and_appends_nothing(client, services, make_tenant, method,
                                                                          path, body, role):
    caller = make_tenant(role)
    before = count_events(services, caller.id)

    r = client.request(method, path.format(uid=caller.id), json=body, headers=caller.headers)

    assert_problem(r, 403)
    assert count_events(services, caller.id) == before
    assert client.get("/api/v1/me", headers=caller.headers).json()["role"] == role


def test_a_worker_token_cannot_use_project_routes(client, make_tenant):
    worker = make_tenant("worker")

    assert_problem(client.get(PROJECTS, headers=worker.headers), 403)
    assert_problem(client.post(PROJECTS, json={"title": "x"}, headers=worker.headers), 403)


@pytest.mark.parametrize("path", ["/api/v1/nothing-here", "/api/v2/projects", "/nope",
                                  f"{PROJECTS}/not-a-uuid", f"{PROJECTS}/{NOBODY}/unknown"])
def test_an_unknown_route_answers_404_problem_json(client, tenant, path):
    assert_problem(client.get(path, headers=tenant.headers), 404)


def test_a_wrong_method_on_a_known_route_answers_405_problem_json(client, tenant):
    assert_problem(client.put(PROJECTS, json={"title": "x"}, headers=tenant.headers), 405)


@pytest.mark.parametrize(("path", "body", "field"), [
    ("/api/v1/projects", {"title": "a\u0000b"}, "title"),
    ("/api/v1/projects", {"title": "ok", "config": {"safety": {"blocked_words": ["x\u0000"]}}},
     "config.safety.blocked_words.0"),
])
def test_a_nul_character_in_a_string_is_refused_naming_the_field(client, services, tenant, path, body, field):
    before = count_events(services, tenant.id)
    r = client.post(path, json=body, headers=tenant.headers)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == field
    assert count_events(services, tenant.id) == before


def test_a_nul_character_in_a_query_parameter_is_refused(client, tenant):
    r = client.get("/api/v1/projects", params={"q": "a\u0000b"}, headers=tenant.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "q"


def test_a_missing_required_query_parameter_is_named_and_nothing_is_erased(client: Any, tenant: Any) -> None:
    """DELETE /me without its confirmation: 422 naming `confirm` (not "body"), and the user is still there."""
    problem = assert_problem(client.delete("/api/v1/me", headers=tenant.headers), 422, "confirm")
    assert [e["field"] for e in problem["errors"]] == ["confirm"], problem
    assert "query parameter" in problem["errors"][0]["reason"], problem
    assert client.get("/api/v1/me", headers=tenant.headers).status_code == 200
