"""BOLA matrix: every documented route, done by its owner, then replayed by another tenant and with random ids."""
from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any

import pytest

from tests.http.helpers import ENGLISH_STORY, PROJECTS, assert_problem, count_events

# Public routes naming no one's id. Sign-in is authenticated by its ID token, not a bearer: a replay of A's
# is refused (tests/http/test_signin.py).
NOT_IN_MATRIX = ("/api/health", "/metrics", "/schema", "/api/v1/auth/oidc")
METHODS = {"get", "put", "post", "patch", "delete"}

# Who performs the successful request: the owning tenant A, an admin, or a render worker.
OWNER, ADMIN, WORKER = "owner", "admin", "worker"
SESSION = "owner-session"  # the owner, signed in (a session token instead of its API token)
# What tenant B's replay must get: 404/403 for every id of A's, or OWN when the route names no id of
# anyone's (B then acts on B's own data: it must not see or change A's).
OWN = None


@dataclass(frozen=True)
class Case:
    """One request of a route: who succeeds with it (and with which status), what it needs first, and what
    tenant B gets when it replays it. Path, query and body may name ids: {project_id}, {job_id}, ..."""

    status: int
    b_gets: int | None
    actor: str = OWNER
    query: dict[str, str] = field(default_factory=dict)
    body: Any = None
    needs: tuple[str, ...] = ()
    variant: str = ""
    settle: str | None = None  # what to wait for after the actor's request, before B replays it


def own(status: int = 200, **kw: Any) -> Case:
    return Case(status, OWN, **kw)


def path_id(status: int = 200, **kw: Any) -> Case:
    return Case(status, 404, **kw)


def admin(status: int = 200, **kw: Any) -> Case:
    return Case(status, 403, actor=ADMIN, **kw)


def worker(**kw: Any) -> Case:
    return Case(200, 403, actor=WORKER, needs=("running_job",), **kw)


V1 = "/api/v1"
P = f"{PROJECTS}/{{project_id}}"
J = f"{V1}/jobs/{{job_id}}"
A = f"{V1}/assets/{{asset_id}}"
PR = f"{V1}/presets/{{preset_id}}"

# Every route of the OpenAPI document ("METHOD path") -> the requests that exercise it.
MATRIX: dict[str, list[Case]] = {
    # -- the caller's own account: nothing of anyone else's is named
    f"GET {V1}/me": [own()],
    f"PATCH {V1}/me": [own(body={"name": "Renamed"})],
    f"DELETE {V1}/me": [own(204, query={"confirm": "{user_id}"})],  # B's replay names A: refused (409)
    f"GET {V1}/me/tokens": [own()],
    f"POST {V1}/me/tokens": [own(201, body={"name": "laptop"})],
    f"DELETE {V1}/me/tokens/{{token_id}}": [path_id(204)],
    f"GET {V1}/me/usage": [own(query={"days": "7"})],
    # -- the caller's model keys: B (a plain user) may not store one, and deletes only its own
    f"GET {V1}/me/model-keys": [own(needs=("model_key",))],
    f"PUT {V1}/me/model-keys/{{provider}}": [Case(201, 403, body={"key": "{model_key}"})],
    f"DELETE {V1}/me/model-keys/{{provider}}": [path_id(204, needs=("model_key",))],
    f"POST {V1}/auth/logout": [Case(204, OWN, actor=SESSION, needs=("session",))],
    f"GET {V1}/me/sessions": [own(needs=("session",))],
    f"DELETE {V1}/me/sessions/{{session_id}}": [path_id(204, needs=("session",))],
    f"POST {V1}/me/sessions/revoke-others": [own(needs=("session",))],
    f"GET {V1}/me/identities": [own(needs=("two_identities",))],
    f"POST {V1}/me/identities": [own(201, body={"provider": "test", "id_token": "{id_token}"}, needs=("oidc",))],
    f"DELETE {V1}/me/identities/{{identity_id}}": [path_id(204, needs=("two_identities",))],
    # -- admin only: a user gets 403 (the routes' existence is no secret)
    f"GET {V1}/admin/users": [admin()],
    f"POST {V1}/admin/users": [admin(201, body={"email": "{email}", "role": "user"})],
    f"GET {V1}/admin/users/{{user_id}}": [admin()],
    f"PUT {V1}/admin/users/{{user_id}}/role": [admin(body={"role": "user"})],
    f"DELETE {V1}/admin/users/{{user_id}}": [admin(204, query={"confirm": "{user_id}"})],
    f"POST {V1}/admin/assets/expire": [admin()],
    f"GET {V1}/admin/stats": [admin(query={"days": "7"})],
    f"GET {V1}/admin/projections": [admin()],
    f"POST {V1}/admin/projections/{{name}}/rebuild": [
        admin(202, query={"tenant_id": "{tenant_id}"}, settle="rebuild_finished")],
    # -- projects and scenes
    f"GET {PROJECTS}": [
        Case(200, 404, query={"tenant_id": "{tenant_id}"}, variant="tenant_id"),
        Case(200, 404, query={"tenant_id": "{tenant_id}", "include_deleted": "true"}, variant="tenant_id-deleted"),
    ],
    f"POST {PROJECTS}": [Case(201, 404, body={"title": "From my preset", "preset_id": "{preset_id}"})],
    f"GET {P}": [path_id(), path_id(query={"at": "1"}, variant="at-version"),
                 path_id(query={"at": "{now}"}, variant="at-time"),
                 path_id(query={"include_deleted": "true"}, needs=("deleted_project",), variant="deleted")],
    f"PATCH {P}": [path_id(body={"title": "Taken over", "description": "mine"})],
    f"DELETE {P}": [path_id(204)],
    f"POST {P}/restore": [path_id(needs=("deleted_project",))],
    f"POST {P}/status": [path_id(body={"status": "draft"})],
    f"PUT {P}/story": [path_id(body={"text": ENGLISH_STORY})],
    f"GET {P}/story": [path_id(), path_id(query={"at": "2"}, variant="at-version"),
                       path_id(query={"at": "{now}"}, variant="at-time"),
                       path_id(query={"include_deleted": "true"}, needs=("deleted_project",), variant="deleted")],
    f"GET {P}/scenes": [path_id(), path_id(query={"at": "2"}, variant="at-version"),
                        path_id(query={"at": "{now}"}, variant="at-time")],
    f"POST {P}/scenes/edit": [path_id(body={"op": "update", "index": 0, "prompt": "a fox in the snow"})],
    f"GET {P}/estimate": [path_id()],
    f"GET {P}/history": [path_id()],
    # -- jobs
    f"POST {P}/jobs": [path_id(201, body={})],
    f"GET {V1}/jobs": [
        Case(200, 404, query={"tenant_id": "{tenant_id}"}, needs=("job",), variant="tenant_id"),
        Case(200, 200, query={"project_id": "{project_id}"}, needs=("job",), variant="project_id"),
    ],
    f"GET {J}": [path_id(needs=("job",))],
    f"GET {J}/history": [path_id(needs=("job",))],
    f"POST {J}/cancel": [path_id(needs=("job",))],
    f"POST {J}/retry": [path_id(body={}, needs=("cancelled_job",))],
    f"POST {V1}/jobs/claim": [Case(200, 403, actor=WORKER, needs=("job",))],
    f"POST {J}/progress": [worker(body={"step": "ingest", "percentage": 10.0})],
    f"POST {J}/complete": [worker(body={"cost_actual": 1.5})],
    f"POST {J}/fail": [worker(body={"error": {"code": "VALIDATION", "message": "bad scene", "retryable": False}})],
    # An empty output is refused (422 size_bytes) after the lease check; an upload that succeeds, and its
    # download by the owner only, are in test_worker_contract.py (the matrix sends JSON bodies, not bytes).
    f"POST {J}/outputs": [Case(422, 403, actor=WORKER, needs=("running_job",), query={
        "type": "audio", "duration_seconds": "1",
        "checksum": "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"})],
    # -- assets
    f"POST {V1}/assets": [
        Case(201, 404, body={"type": "image", "uri": "s3://b/one.png", "project_id": "{project_id}",
                             "scene_index": 0}, variant="project_id"),
        Case(201, 404, body={"type": "json", "uri": "s3://b/log.json", "job_id": "{job_id}"}, needs=("job",),
             variant="job_id"),
    ],
    f"GET {V1}/assets": [
        Case(200, 404, query={"tenant_id": "{tenant_id}"}, variant="tenant_id"),
        Case(200, 200, query={"project_id": "{project_id}", "include_deleted": "true"}, variant="project_id"),
    ],
    f"GET {A}": [path_id(), path_id(query={"include_deleted": "true"}, needs=("deleted_asset",), variant="deleted")],
    f"DELETE {A}": [path_id(204)],
    f"POST {A}/restore": [path_id(needs=("deleted_asset",))],
    f"GET {A}/history": [path_id()],
    f"GET {A}/content": [path_id(needs=("output_asset",))],
    # -- presets
    f"GET {V1}/presets": [own(query={"include_deleted": "true"})],
    f"POST {V1}/presets": [own(201, body={"name": "Mine", "config": {"aspect_ratio": "16:9"}})],
    f"GET {PR}": [path_id(), path_id(query={"include_deleted": "true"}, needs=("deleted_preset",), variant="deleted")],
    f"PATCH {PR}": [path_id(body={"name": "Taken over"})],
    f"DELETE {PR}": [path_id(204)],
    f"POST {PR}/restore": [path_id(needs=("deleted_preset",))],
    f"POST {PR}/default": [path_id()],
    # -- audit: ids of A's in the query
    f"GET {V1}/audit/events": [
        Case(200, 404, query={"tenant_id": "{tenant_id}"}, variant="tenant_id"),
        Case(200, 200, query={"aggregate_id": "{project_id}"}, variant="aggregate_id"),
        Case(200, 200, query={"actor_id": "{user_id}"}, variant="actor_id"),
        # any position bounds B's own trail: B gets its own events, nothing of A's
        Case(200, OWN, query={"after": "{position}"}, variant="after"),
    ],
    f"GET {V1}/audit/export": [Case(200, 404, query={"tenant_id": "{tenant_id}"})],
    f"GET {V1}/audit/verify": [Case(200, 404, query={"tenant_id": "{tenant_id}"})],
    f"GET {V1}/me/export": [own(), Case(200, 404, query={"tenant_id": "{tenant_id}"}, variant="tenant_id")],
}

# Placeholders that name no resource of A's: kept as they are in the random-id replay, never looked for in B's answers.
NOT_IDS = frozenset({"email", "position", "now", "name", "provider"})
CASES = [(route, case) for route, cases in MATRIX.items() for case in cases]
# The inline read models: every row is the tenant's, keyed by tenant_id first.
TABLES = ("users", "api_tokens", "projects", "scenes", "jobs", "assets", "presets", "usage", "idempotency_keys",
          "model_keys", "identities", "sessions", "session_activity")


def _case_id(item: tuple[str, Case]) -> str:
    route, case = item
    return f"{route}#{case.variant}" if case.variant else route


@dataclass
class World:
    """Tenant A (premium) with a project that has scenes, an asset, a preset and a spare token; tenant B (a user)
    with a project of its own; an admin and a worker when a route needs them."""

    client: Any
    services: Any
    make_tenant: Callable[..., Any]
    a: Any
    b: Any
    ids: dict[str, str]
    staff: dict[str, Any] = field(default_factory=dict)
    cleanups: list[Callable[[], Any]] = field(default_factory=list)

    def who(self, actor: str) -> Any:
        if actor == OWNER:
            return self.a
        if actor not in self.staff:
            self.staff[actor] = self.make_tenant(actor)
        return self.staff[actor]

    def ok(self, method: str, url: str, who: Any, status: int = 200, **kw: Any) -> dict[str, Any]:
        r = self.client.request(method, url, headers=who.headers, **kw)
        assert r.status_code == status, (method, url, r.text)
        return r.json() if r.content else {}


def _setup_job(w: World) -> None:
    if "job_id" not in w.ids:
        w.ids["job_id"] = w.ok("POST", f"{PROJECTS}/{w.ids['project_id']}/jobs", w.a, 201, json={})["id"]


def _setup_running_job(w: World) -> None:
    _setup_job(w)
    # The queue is shared by every tenant: claim until A's job comes up.
    for _ in range(200):
        r = w.client.post(f"{V1}/jobs/claim", headers=w.who(WORKER).headers)
        assert r.status_code == 200, r.text
        if r.json()["id"] == w.ids["job_id"]:
            return
    pytest.fail("the worker never got A's job")


def _setup_output_asset(w: World) -> None:
    """A's asset becomes a video the worker uploaded for A's job (bytes the service holds)."""
    import hashlib

    _setup_running_job(w)
    data = b"A's secret video"
    r = w.client.post(f"{V1}/jobs/{w.ids['job_id']}/outputs", content=data, headers=w.who(WORKER).headers, params={
        "type": "video", "width": 16, "height": 16, "duration_seconds": 1,
        "checksum": "sha256:" + hashlib.sha256(data).hexdigest()})
    assert r.status_code == 201, r.text
    w.ids["asset_id"] = r.json()["id"]


def _setup_cancelled_job(w: World) -> None:
    _setup_job(w)
    w.ok("POST", f"{V1}/jobs/{w.ids['job_id']}/cancel", w.a)


def _rebuild_finished(w: World) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        items = w.ok("GET", f"{V1}/admin/projections", w.who(ADMIN))["items"]
        state = next(p for p in items if p["name"] == w.ids["name"])
        if state["state"] == "live" and state["progress"] is None:
            return
        time.sleep(0.05)
    pytest.fail("the rebuild did not finish in 30 s")


SETTLE: dict[str, Callable[[World], None]] = {"rebuild_finished": _rebuild_finished}


def _identity(provider: str = "test") -> Any:
    from domain.commands.signin import Identity

    sub = uuid.uuid4().hex
    return Identity(provider=provider, subject=sub, email=f"{sub}@example.com", name=None,
                    id_token_hash=uuid.uuid4().bytes * 2)


def _setup_session(w: World) -> None:
    from domain.application import CommandContext
    from tests.conftest import Tenant

    ctx = CommandContext(tenant_id=w.a.id, actor_id=w.a.id)
    w.services.app.link_identity(ctx, _identity())
    _, session, token = _sign_in_linked(w)
    w.ids["session_id"] = str(session.id)
    w.staff[SESSION] = Tenant(id=w.a.id, token=token, email=w.a.email, role=w.a.role)


def _sign_in_linked(w: World) -> Any:
    from domain.application import CommandContext
    from domain.users import User

    user = w.services.app.load(User, w.a.id, w.a.id)
    identity = next(iter(user.identities.values()))
    linked = replace(_identity(), provider=identity["provider"], subject=identity["subject"])
    return w.services.app.sign_in(CommandContext(tenant_id=w.a.id, actor_id=w.a.id), linked, user_id=w.a.id,
                                  user_agent="bola")


def _setup_two_identities(w: World) -> None:
    from domain.application import CommandContext

    ctx = CommandContext(tenant_id=w.a.id, actor_id=w.a.id)
    _, w.ids["identity_id"] = w.services.app.link_identity(ctx, _identity())
    w.services.app.link_identity(ctx, _identity("other"))


def _setup_oidc(w: World) -> None:
    from api.oidc import Providers
    from tests.oidc_idp import IdP

    idp = IdP()
    w.cleanups.append(idp.close)
    original = w.services.oidc
    w.cleanups.append(lambda: setattr(w.services, "oidc", original))
    w.services.oidc = Providers.from_environment(idp.env("test"))
    w.ids["id_token"] = idp.token()

SETUP: dict[str, Callable[[World], None]] = {
    "job": _setup_job,
    "running_job": _setup_running_job,
    "cancelled_job": _setup_cancelled_job,
    "model_key": lambda w: w.ok("PUT", f"{V1}/me/model-keys/{w.ids['provider']}", w.a, 201,
                                json={"key": w.ids["model_key"]}),
    "session": _setup_session,
    "two_identities": _setup_two_identities,
    "oidc": _setup_oidc,
    "output_asset": _setup_output_asset,
    "deleted_project": lambda w: w.ok("DELETE", f"{PROJECTS}/{w.ids['project_id']}", w.a, 204),
    "deleted_asset": lambda w: w.ok("DELETE", f"{V1}/assets/{w.ids['asset_id']}", w.a, 204),
    "deleted_preset": lambda w: w.ok("DELETE", f"{V1}/presets/{w.ids['preset_id']}", w.a, 204),
}


@pytest.fixture
def world(client, services, make_tenant) -> Iterator[World]:
    a, b = make_tenant("premium"), make_tenant("user")
    # `name` is a projection's (admin rebuilds of A's rows only), not anyone's id.
    w = World(client, services, make_tenant, a, b, ids={"tenant_id": a.id, "user_id": a.id, "name": "presets",
                                                       "provider": "openai", "model_key": f"sk-{uuid.uuid4().hex}"})
    pid = w.ok("POST", PROJECTS, a, 201, json={"title": "A's secret plan"})["id"]
    w.ok("PUT", f"{PROJECTS}/{pid}/story", a, json={"text": ENGLISH_STORY})
    w.ids["project_id"] = pid
    w.ids["asset_id"] = w.ok("POST", f"{V1}/assets", a, 201, json={
        "type": "image", "uri": "s3://a/scene-0.png", "project_id": pid, "scene_index": 0})["id"]
    w.ids["preset_id"] = w.ok("POST", f"{V1}/presets", a, 201, json={"name": "A's look", "config": {}})["id"]
    w.ids["token_id"] = w.ok("POST", f"{V1}/me/tokens", a, 201, json={"name": "A's spare"})["id"]
    w.ok("POST", PROJECTS, b, 201, json={"title": "B's own project"})
    yield w
    for cleanup in reversed(w.cleanups):
        cleanup()
    for status in ("queued", "running"):  # a worker elsewhere must never be handed A's leftover job
        listed = client.get(f"{V1}/jobs", headers=a.headers, params={"status": status})
        if listed.status_code == 401:  # A was erased (DELETE /me): its jobs were ended with it... or are A's no more
            break
        for job in listed.json()["items"]:
            client.post(f"{V1}/jobs/{job['id']}/cancel", headers=a.headers)


def _fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    return value


def _send(w: World, route: str, case: Case, who: Any, ids: dict[str, str], key: str | None) -> Any:
    method, path = route.split(" ", 1)
    headers = {**who.headers, **({"Idempotency-Key": key} if key else {})}
    return w.client.request(method, _fill(path, ids), params=_fill(case.query, ids), json=_fill(case.body, ids),
                            headers=headers)


def _random_ids(ids: dict[str, str]) -> dict[str, str]:
    out = {k: str(uuid.uuid4()) for k in ids}
    out["position"] = str(2**62 + uuid.uuid4().int % 2**40)  # a position no trail has
    for kept in NOT_IDS - {"position"}:
        out[kept] = ids[kept]
    return out


def _rows(services: Any, tenant_id: str) -> dict[str, list[str]]:
    with services.read(scope="system") as conn:
        return {t: sorted(r["row"] for r in conn.execute(
            f"SELECT to_jsonb(t)::text AS row FROM {t} t WHERE tenant_id = %s", (tenant_id,)))  # noqa: S608
            for t in TABLES}


def _state(w: World, tenant: Any) -> tuple[int, dict[str, list[str]]]:
    return count_events(w.services, tenant.id), _rows(w.services, tenant.id)


def _last_position(w: World) -> str:
    with w.services.read(scope="system") as conn:
        return str(conn.execute("SELECT max(notification_id) AS n FROM events WHERE tenant_id = %s",
                                (w.a.id,)).fetchone()["n"])


def test_the_matrix_covers_exactly_the_routes_of_the_openapi_document(client):
    spec = client.get("/schema/openapi.json").json()
    documented = {f"{m.upper()} {p}" for p, ops in spec["paths"].items() for m in ops
                  if m in METHODS and not p.startswith(NOT_IN_MATRIX)}

    assert sorted(documented - MATRIX.keys()) == [], "routes the BOLA matrix does not cover yet"
    assert sorted(MATRIX.keys() - documented) == [], "matrix rows for routes the document no longer has"


@pytest.mark.parametrize("route, case", CASES, ids=[_case_id(c) for c in CASES])
def test_another_tenant_replaying_the_request_gets_what_a_random_id_gets_and_changes_nothing(world, route, case):
    w = world
    for need in case.needs:
        SETUP[need](w)
    w.ids["email"] = f"bola-{uuid.uuid4().hex[:12]}@example.com"
    w.ids["position"] = _last_position(w)
    w.ids["now"] = datetime.now(timezone.utc).isoformat()
    a_key = f"bola-{uuid.uuid4().hex}" if not route.startswith("GET") else None

    done = _send(w, route, case, w.who(case.actor), w.ids, a_key)
    assert done.status_code == case.status, (route, done.text)
    if case.settle:
        SETTLE[case.settle](w)

    a_before, b_before = _state(w, w.a), _state(w, w.b)
    theirs = _send(w, route, case, w.b, w.ids, a_key)
    secrets = {v for k, v in w.ids.items() if k not in NOT_IDS}
    leaked = [s for s in secrets if s in theirs.text]
    assert leaked == [], (route, theirs.text)
    assert theirs.content != done.content or not done.content, "B got A's response replayed"

    if case.b_gets is OWN:
        # B acted on its own account: fine, as long as nothing of A's moved.
        assert theirs.status_code < 500, theirs.text
        assert _state(w, w.a) == a_before
        if route.startswith("GET"):
            assert _state(w, w.b) == b_before
        return

    missing = _send(w, route, case, w.b, _random_ids(w.ids),
                    f"bola-{uuid.uuid4().hex}" if a_key else None)
    if case.b_gets >= 400:
        assert_problem(theirs, case.b_gets)
    assert theirs.status_code == case.b_gets, (route, theirs.text)
    assert missing.status_code == theirs.status_code, (route, missing.text)
    assert theirs.content == missing.content
    assert theirs.headers["content-type"] == missing.headers["content-type"]
    assert _state(w, w.a) == a_before, "B's attempt changed A's events or rows"
    assert _state(w, w.b) == b_before, "B's attempt changed B's events or rows"


@pytest.mark.parametrize("route", sorted(r for r, cases in MATRIX.items() if any(c.actor == WORKER for c in cases)))
def test_a_worker_route_refuses_even_the_jobs_own_tenant(world, route):
    w = world
    SETUP["running_job"](w)
    case = next(c for c in MATRIX[route] if c.actor == WORKER)
    before = _state(w, w.a)

    r = _send(w, route, case, w.a, w.ids, None)

    assert_problem(r, 403)
    assert _state(w, w.a) == before
