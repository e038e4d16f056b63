"""Values that random generation rarely draws: never a 500, never half applied (invariant 10).

A NUL character in any free-text field or query string (PostgreSQL text and jsonb cannot hold U+0000), and
times at the edges of the calendar or without an offset. Such a value has to be refused (4xx, nothing
appended) or stored in a way that reads back; what must never happen is a 500, a 500 after the events were
committed, a read model that lost the row it had, or a stream cut off before its manifest.
"""
from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.fuzz.support import cancel_active_jobs
from tests.http.helpers import ENGLISH_STORY, PROBLEM_JSON, PROJECTS, project_with_story

NUL = "a\u0000b"
V1 = "/api/v1"


@dataclass
class Scene:
    tenant: Any
    worker: Any
    admin: Any
    ids: dict[str, str]


@pytest.fixture
def scene(client, services, make_tenant) -> Iterator[Scene]:
    tenant, worker, admin = make_tenant("premium"), make_tenant("worker"), make_tenant("admin")
    pid = project_with_story(client, tenant)["id"]
    busy = project_with_story(client, tenant, title="Rendering")["id"]
    preset = client.post(f"{V1}/presets", json={"name": "p", "config": {}}, headers=tenant.headers).json()["id"]
    job = client.post(f"{PROJECTS}/{busy}/jobs", json={}, headers=tenant.headers).json()["id"]
    for _ in range(200):  # the queue is shared by every tenant: claim until this job is running
        claimed = client.post(f"{V1}/jobs/claim", headers=worker.headers)
        assert claimed.status_code == 200, claimed.text
        if claimed.json()["id"] == job:
            break
    yield Scene(tenant, worker, admin, {"pid": pid, "preset": preset, "job": job})
    cancel_active_jobs(services, tenant.id)


# name -> (who, method, url template, query, body, the url to read back afterwards)
CASES: dict[str, tuple[str, str, str, dict[str, str], Any, str | None]] = {
    "create project: title": ("tenant", "POST", PROJECTS, {}, {"title": NUL}, None),
    "create project: description": ("tenant", "POST", PROJECTS, {}, {"title": "ok", "description": NUL}, None),
    "create project: config string": ("tenant", "POST", PROJECTS, {},
                                      {"title": "ok", "config": {"safety": {"blocked_words": [NUL]}}}, None),
    "rename project": ("tenant", "PATCH", PROJECTS + "/{pid}", {}, {"title": NUL}, PROJECTS + "/{pid}"),
    "describe project": ("tenant", "PATCH", PROJECTS + "/{pid}", {}, {"description": NUL}, PROJECTS + "/{pid}"),
    "story text": ("tenant", "PUT", PROJECTS + "/{pid}/story", {}, {"text": ENGLISH_STORY + NUL},
                   PROJECTS + "/{pid}"),
    "scene text": ("tenant", "POST", PROJECTS + "/{pid}/scenes/edit", {},
                   {"op": "update", "index": 0, "text": "A scene of some length, " * 5 + NUL}, PROJECTS + "/{pid}"),
    "scene prompt": ("tenant", "POST", PROJECTS + "/{pid}/scenes/edit", {},
                     {"op": "update", "index": 0, "prompt": NUL}, PROJECTS + "/{pid}"),
    "my name": ("tenant", "PATCH", V1 + "/me", {}, {"name": NUL}, V1 + "/me"),
    "my image": ("tenant", "PATCH", V1 + "/me", {}, {"image": NUL}, V1 + "/me"),
    "my timezone": ("tenant", "PATCH", V1 + "/me", {}, {"settings": {"timezone": NUL}}, V1 + "/me"),
    "my generation defaults": ("tenant", "PATCH", V1 + "/me", {}, {"settings": {"generation_defaults": {NUL: 1}}},
                               V1 + "/me"),
    "token name": ("tenant", "POST", V1 + "/me/tokens", {}, {"name": NUL}, V1 + "/me"),
    "preset name": ("tenant", "POST", V1 + "/presets", {}, {"name": NUL, "config": {}}, None),
    "preset rename": ("tenant", "PATCH", V1 + "/presets/{preset}", {}, {"name": NUL}, V1 + "/presets/{preset}"),
    "asset uri": ("tenant", "POST", V1 + "/assets", {}, {"type": "image", "uri": NUL}, None),
    "asset metadata": ("tenant", "POST", V1 + "/assets", {}, {"type": "json", "uri": "s3://x", "metadata": {"k": NUL}},
                       None),
    "job failure message": ("worker", "POST", V1 + "/jobs/{job}/fail", {},
                            {"error": {"code": "VALIDATION", "message": NUL}}, None),
    "new user's name": ("admin", "POST", V1 + "/admin/users", {}, {"email": "{email}", "name": NUL}, None),
    "new user's email": ("admin", "POST", V1 + "/admin/users", {}, {"email": "n" + NUL + "@example.com"}, None),
    "project search": ("tenant", "GET", PROJECTS, {"q": NUL}, None, None),
    "project cursor": ("tenant", "GET", PROJECTS, {"cursor": NUL}, None, None),
    "project at": ("tenant", "GET", PROJECTS + "/{pid}", {"at": NUL}, None, None),
    "audit actor": ("tenant", "GET", V1 + "/audit/events", {"actor_id": NUL}, None, None),
    "audit since": ("tenant", "GET", V1 + "/audit/events", {"since": NUL}, None, None),
    "audit export since": ("tenant", "GET", V1 + "/audit/export", {"since": NUL}, None, None),
    # -- times: RFC 3339 wants an offset; some valid offsets move a time out of the calendar once in UTC
    "asset expiry without offset": ("tenant", "POST", V1 + "/assets", {},
                                    {"type": "json", "uri": "s3://x", "expires_at": "2030-01-01T00:00:00"}, None),
    "asset expiry in year 9999": ("tenant", "POST", V1 + "/assets", {},
                                  {"type": "json", "uri": "s3://x", "expires_at": "9999-12-31T23:59:59-01:00"}, None),
    "project at the end of time": ("tenant", "GET", PROJECTS + "/{pid}", {"at": "9999-12-31T23:59:59-01:00"}, None,
                                   None),
    "project at the start of time": ("tenant", "GET", PROJECTS + "/{pid}", {"at": "0001-01-01T00:00:00+01:00"}, None,
                                     None),
    "audit until the end of time": ("tenant", "GET", V1 + "/audit/events", {"until": "9999-12-31T23:59:59-01:00"},
                                    None, None),
    "audit export until the end of time": ("tenant", "GET", V1 + "/audit/export",
                                           {"until": "9999-12-31T23:59:59-01:00"}, None, None),
    "audit export since the start of time": ("tenant", "GET", V1 + "/audit/export",
                                             {"since": "0001-01-01T00:00:00+01:00"}, None, None),
}


def _fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**ids) if "{" in value else value
    if isinstance(value, dict):
        return {_fill(k, ids): _fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    return value


def _all_events(services: Any) -> int:
    # Every tenant's: a refused registration must not leave the new user's events behind either.
    with services.read(scope="system") as conn:
        return conn.execute("SELECT count(*) AS n FROM events").fetchone()["n"]


@pytest.mark.parametrize("name", list(CASES))
def test_an_awkward_value_is_refused_or_stored_but_never_a_500_nor_half_applied(client, services, scene, name):
    who_name, method, url, query, body, read_back = CASES[name]
    who = getattr(scene, who_name)
    ids = {**scene.ids, "email": f"nul-{uuid.uuid4().hex[:10]}@example.com"}
    before = _all_events(services)
    readable = client.get(_fill(read_back, ids), headers=scene.tenant.headers) if read_back else None

    r = client.request(method, _fill(url, ids), params=query, json=_fill(body, ids), headers=who.headers)

    assert r.status_code < 500, r.text
    if r.headers.get("content-type", "").startswith("application/x-ndjson"):
        assert "count" in json.loads(r.text.strip().splitlines()[-1])["manifest"], "the export stopped before its manifest"
    if r.status_code >= 400:
        assert r.headers["content-type"].startswith(PROBLEM_JSON)
        assert _all_events(services) == before, "a refused request appended events"
    me = client.get(f"{V1}/me", headers=scene.tenant.headers)
    assert me.status_code == 200, "the tenant was locked out"
    if readable is not None:
        again = client.get(_fill(read_back, ids), headers=scene.tenant.headers)
        assert again.status_code == readable.status_code == 200, again.text
