"""What a request costs the database, counted (never timed): issue 12's "ratios within noise of the
last run" was lost to round trips added per request (docs/decisions/i12-perf.md). Each test pins the
read transactions of one request, and that its answer is unchanged."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tests.http.test_domain_api import drain
from tests.http.test_worker_contract import claimed, project_for, queued_job


@pytest.fixture
def reads(services: Any, monkeypatch: Any) -> list[Any]:
    """The scopes of the read transactions opened through `services.read`, in order."""
    seen: list[Any] = []
    original = services.read

    @contextmanager
    def counting(tenant_id: Any = None, *, scope: str | None = None) -> Iterator[Any]:
        seen.append(scope or "tenant")
        with original(tenant_id, scope=scope) as conn:
            yield conn

    monkeypatch.setattr(services, "read", counting)
    return seen


def test_a_claim_reads_the_queue_then_the_whole_manifest_in_one_transaction(
        client: Any, make_tenant: Any, reads: list[Any]) -> None:
    owner, worker = make_tenant("premium"), make_tenant("worker")
    key = "sk-cost-owner-0123456789abcdef"
    assert client.put("/api/v1/me/model-keys/openai", json={"key": key}, headers=owner.headers).status_code == 201
    drain(client, worker)
    job_id = queued_job(client, owner, project_for(client, owner))
    reads.clear()

    manifest = claimed(client, worker, job_id)

    # the candidates (worker scope), then scenes, images and the owner's keys (the tenant's scope)
    assert reads == ["worker", "tenant"]
    assert manifest["model_keys"] == {"openai": key} and len(manifest["scenes"]) > 0


def test_the_manifest_of_a_user_owner_has_no_keys_and_the_same_single_read(
        client: Any, make_tenant: Any, reads: list[Any]) -> None:
    owner, worker = make_tenant("user"), make_tenant("worker")
    drain(client, worker)
    job_id = queued_job(client, owner, project_for(client, owner))
    reads.clear()

    manifest = claimed(client, worker, job_id)

    assert reads == ["worker", "tenant"] and manifest["model_keys"] == {}


def test_the_holders_read_of_a_job_it_no_longer_runs_still_gets_no_keys(
        client: Any, services: Any, make_tenant: Any) -> None:
    """The keys go only to a running job: the manifest's own read sees the job's status."""
    from uuid import UUID

    from api.manifest import build_manifest
    from domain.jobs import Job

    owner, worker = make_tenant("premium"), make_tenant("worker")
    assert client.put("/api/v1/me/model-keys/gemini", json={"key": "AIza-cost-0123456789abcdef"},
                      headers=owner.headers).status_code == 201
    drain(client, worker)
    job_id = queued_job(client, owner, project_for(client, owner))
    running = services.app.load(Job, job_id, None)  # queued: a copy the manifest is built from
    claimed(client, worker, job_id)
    assert client.post(f"/api/v1/jobs/{job_id}/cancel", headers=owner.headers).status_code == 200

    assert build_manifest(services, running).model_keys == {}
    assert str(build_manifest(services, running).id) == str(UUID(job_id))


# -- CPU per request: work done once, not on every request -----------------------------------------
def _project(client: Any, tenant: Any) -> str:
    r = client.post("/api/v1/projects", json={"title": "cost"}, headers=tenant.headers)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def test_a_body_is_checked_without_resolving_its_structs_fields_again(
        client: Any, make_tenant: Any, monkeypatch: Any) -> None:
    import msgspec

    tenant = make_tenant()
    project = _project(client, tenant)
    assert client.patch(f"/api/v1/projects/{project}", json={"title": "warm"}, headers=tenant.headers).status_code == 200
    resolved: list[Any] = []
    original = msgspec.structs.fields
    monkeypatch.setattr(msgspec.structs, "fields", lambda s: resolved.append(s) or original(s))

    r = client.patch(f"/api/v1/projects/{project}", json={"title": "again", "description": "d"}, headers=tenant.headers)
    bad = client.patch(f"/api/v1/projects/{project}", json={"title": 5}, headers=tenant.headers)

    assert r.status_code == 200 and resolved == []
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "title"  # still every field checked


def test_a_commands_dependencies_are_resolved_in_turn_not_in_a_task_group(
        client: Any, make_tenant: Any, monkeypatch: Any) -> None:
    import litestar._kwargs.kwargs_model as kwargs_model

    tenant = make_tenant()
    project = _project(client, tenant)
    groups: list[int] = []
    original = kwargs_model.create_task_group
    monkeypatch.setattr(kwargs_model, "create_task_group", lambda: groups.append(1) or original())

    r = client.patch(f"/api/v1/projects/{project}", json={"title": "in turn"},
                     headers={**tenant.headers, "If-Match": '"1"'})

    assert r.status_code == 200 and r.headers["etag"] == '"2"' and groups == []
    stale = client.patch(f"/api/v1/projects/{project}", json={"title": "stale"},
                         headers={**tenant.headers, "If-Match": '"1"'})
    assert stale.status_code == 412 and groups == []


def test_a_create_reads_the_owners_defaults_without_copying_the_user(
        client: Any, services: Any, make_tenant: Any, monkeypatch: Any) -> None:
    from uuid import UUID

    import domain.plumbing
    from domain.users import User

    tenant = make_tenant()
    defaults = {"generation_defaults": {"voice": {"speed": 1.25}}}
    assert client.patch("/api/v1/me", json={"settings": defaults}, headers=tenant.headers).status_code == 200
    _project(client, tenant)  # the user and the day's usage are cached
    copied: list[type] = []
    original = domain.plumbing.deep_copy
    monkeypatch.setattr(domain.plumbing, "deep_copy", lambda v: copied.append(type(v)) or original(v))

    r = client.post("/api/v1/projects", json={"title": "defaults"}, headers=tenant.headers)

    assert r.status_code == 201 and r.json()["config"]["voice"]["speed"] == 1.25
    assert User not in copied
    cached = services.app.repository.cache.get(UUID(tenant.id))
    assert cached.generation_defaults == {"voice": {"speed": 1.25}}  # the cached user is untouched


# -- the HTTP stack every request pays (issue 17) ----------------------------------------------------
def test_every_route_passes_one_middleware_around_the_app_and_two_inside_it(services: Any, monkeypatch: Any) -> None:
    """Correlation id, replayed header, request metrics, HEAD and Allow are one wrapper of the app
    (api/edge.py); inside a route only authentication and the one rate limiter (sign-in and tokens) remain."""
    from api.app import create_app
    from api.limits import RateLimit

    monkeypatch.setenv("AVM_RATE_LIMIT", "50")
    app = create_app(services, close_services=False)
    assert app.before_send == []
    assert app.asgi_handler.__qualname__ == "edge.<locals>.wrapped"
    handler = app.route_handler_method_map["/api/v1/projects/{project_id:uuid}"]["GET"]
    layers = [m.middleware for m in handler.resolve_middleware()]
    assert sorted(getattr(m, "__name__", str(m)) for m in layers) == ["RateLimit", "TokenAuthentication"]
    assert RateLimit in layers


def test_a_request_counts_its_rate_once_and_never_touches_a_store(
        services: Any, make_tenant: Any, monkeypatch: Any) -> None:
    from litestar.stores.memory import MemoryStore
    from litestar.testing import TestClient

    from api.app import create_app
    from api.limits import Windows

    monkeypatch.setenv("AVM_RATE_LIMIT", "1000")
    touched: list[str] = []
    for name in ("get", "set"):
        original = getattr(MemoryStore, name)
        monkeypatch.setattr(MemoryStore, name, lambda self, *a, _n=name, _o=original, **k: touched.append(_n) or _o(
            self, *a, **k))
    taken: list[str] = []
    take = Windows.take
    monkeypatch.setattr(Windows, "take", lambda self, key, limit: taken.append(key) or take(self, key, limit))
    user, premium = make_tenant(), make_tenant("premium")
    with TestClient(create_app(services), raise_server_exceptions=False) as c:
        r = c.get("/api/v1/projects", headers=user.headers)
        p = c.get("/api/v1/projects", headers=premium.headers)
        c.get("/api/health")

    assert r.status_code == 200 and r.headers["ratelimit-limit"] == "1000"
    assert p.status_code == 200 and p.headers["ratelimit-limit"] == "4000"  # the role's limit, one count
    assert len(taken) == 2 and touched == []


def test_request_metrics_resolve_their_labels_once_per_route(client: Any, tenant: Any, monkeypatch: Any) -> None:
    from prometheus_client.metrics import MetricWrapperBase

    project = _project(client, tenant)
    assert client.get(f"/api/v1/projects/{project}", headers=tenant.headers).status_code == 200
    resolved: list[Any] = []
    original = MetricWrapperBase.labels
    monkeypatch.setattr(MetricWrapperBase, "labels", lambda self, *a, **k: resolved.append(a) or original(self, *a, **k))

    for _ in range(3):
        assert client.get(f"/api/v1/projects/{project}", headers=tenant.headers).status_code == 200

    assert resolved == []


def test_the_query_checks_run_only_on_a_query_and_the_body_checks_only_on_a_command(
        client: Any, tenant: Any, monkeypatch: Any) -> None:
    import api.app

    project = _project(client, tenant)
    ran: list[str] = []
    for name in ("reject_nul_in_query", "reject_number_spellings_in_query", "strict_body", "check_idempotency_key"):
        original = getattr(api.app, name)

        async def counted(request: Any, _n: str = name, _o: Any = original) -> None:
            ran.append(_n)
            await _o(request)

        monkeypatch.setattr(api.app, name, counted)

    assert client.get(f"/api/v1/projects/{project}", headers=tenant.headers).status_code == 200
    assert ran == []
    at = client.get("/api/v1/projects?at=2026-01-01T00:00:00Z", headers=tenant.headers)
    assert at.status_code == 422 and at.json()["errors"][0]["field"] == "at"  # still refused
    assert ran == ["reject_nul_in_query"]
    ran.clear()
    assert client.patch(f"/api/v1/projects/{project}", json={"title": 5}, headers=tenant.headers).status_code == 422
    assert ran == ["strict_body"]


def test_a_read_of_the_callers_own_tenant_resolves_it_on_the_event_loop(client: Any) -> None:
    import inspect

    tenant = client.app.dependencies["tenant"]
    # no thread hop (sync_to_thread=True was one per read); another tenant's read still goes to a thread
    assert inspect.iscoroutinefunction(tenant.dependency) and not tenant.sync_to_thread


def test_role_guards_run_on_the_event_loop(client: Any, tenant: Any) -> None:
    import inspect

    from api.auth import admin_only, tenant_roles, worker_only

    # Litestar runs a guard that is a plain function in a worker thread: a hop on every request
    assert all(inspect.iscoroutinefunction(g) for g in (admin_only, tenant_roles, worker_only))
    assert client.get("/api/v1/admin/stats", headers=tenant.headers).status_code == 403  # still refused
