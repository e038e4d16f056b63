"""Schemathesis against the in-process app: never a 5xx, every response as documented, bad input refused."""
from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance, negative_data_rejection, response_schema_conformance, status_code_conformance,
)

from api.app import create_app
from tests.fuzz.support import cancel_active_jobs
from tests.http.helpers import ENGLISH_STORY, PROBLEM_JSON, count_events

# Operations are listed at collection time from the app's own document (no database needed for that).
_SPEC = create_app(None).openapi_schema.to_schema()
NOT_FUZZED = ("/api/health", "/metrics", "/schema")
OPERATIONS = sorted(f"{method.upper()} {path}" for path, ops in _SPEC["paths"].items() for method in ops
                    if not path.startswith(NOT_FUZZED))
WORKER_OPERATIONS = {"POST /api/v1/jobs/{job_id}/progress", "POST /api/v1/jobs/{job_id}/complete",
                     "POST /api/v1/jobs/{job_id}/fail"}
# Examples per operation and mode: the whole module stays well under three minutes on the CI machine.
# AVM_FUZZ_EXAMPLES=500 makes a deeper (slower) local run.
MAX_EXAMPLES = int(os.environ.get("AVM_FUZZ_EXAMPLES", "40"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@dataclass
class Caller:
    name: str
    tenant_id: str
    token: str


@dataclass
class FuzzWorld:
    """Two tenants with real resources, so that generated ids can land on them, and a worker."""

    a: Caller
    b: Caller
    worker: Caller
    ids: dict[str, list[str]] = field(default_factory=dict)


def _register(services: Any, role: str, name: str) -> Caller:
    from domain.application import CommandContext

    email = f"fuzz-{name}-{uuid.uuid4().hex[:12]}@example.com"
    user, token = services.app.register_user(CommandContext.system("tests"), email=email, name=name, role=role)
    return Caller(name=name, tenant_id=str(user.id), token=token)


def _ok(response: Any, status: int = 201) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return response.json() if response.content else {}


def _resources(client: Any, who: Caller, *, with_job: bool) -> dict[str, list[str]]:
    headers = {"Authorization": f"Bearer {who.token}"}
    post = lambda url, body, status=201: _ok(client.post(url, json=body, headers=headers), status)  # noqa: E731
    project = post("/api/v1/projects", {"title": f"{who.name}'s project"})["id"]
    _ok(client.put(f"/api/v1/projects/{project}/story", json={"text": ENGLISH_STORY}, headers=headers), 200)
    gone = post("/api/v1/projects", {"title": f"{who.name}'s deleted project"})["id"]
    _ok(client.delete(f"/api/v1/projects/{gone}", headers=headers), 204)
    ids = {
        "project_id": [project, gone],
        "asset_id": [post("/api/v1/assets", {"type": "image", "uri": "s3://fuzz/a.png", "project_id": project,
                                             "scene_index": 0})["id"]],
        "preset_id": [post("/api/v1/presets", {"name": f"{who.name}'s preset", "config": {}})["id"]],
        "token_id": [post("/api/v1/me/tokens", {"name": "spare"})["id"]],  # never the token the fuzzer uses
        "user_id": [who.tenant_id],
        "tenant_id": [who.tenant_id],
        "job_id": [],
    }
    if with_job:
        busy = post("/api/v1/projects", {"title": f"{who.name}'s rendering project"})["id"]
        _ok(client.put(f"/api/v1/projects/{busy}/story", json={"text": ENGLISH_STORY}, headers=headers), 200)
        ids["project_id"].append(busy)
        ids["job_id"].append(post(f"/api/v1/projects/{busy}/jobs", {})["id"])
    ids["aggregate_id"] = ids["project_id"] + ids["asset_id"] + ids["preset_id"]
    return ids


@pytest.fixture
def world(client: Any, services: Any) -> Iterator[FuzzWorld]:
    # Fresh tenants for every operation and mode: a request that breaks one tenant (a 500 half-applied,
    # a revoked token) must not turn the operations fuzzed after it into a run of 401s.
    a, b = _register(services, "premium", "a"), _register(services, "user", "b")
    w = FuzzWorld(a=a, b=b, worker=_register(services, "worker", "worker"))
    mine, theirs = _resources(client, a, with_job=True), _resources(client, b, with_job=False)
    w.ids = {key: mine[key] + theirs.get(key, []) for key in mine}
    yield w
    cancel_active_jobs(services, a.tenant_id, b.tenant_id)


@pytest.fixture(scope="module")
def api_schema(services: Any) -> Any:
    return schemathesis.openapi.from_asgi("/schema/openapi.json", create_app(services))


def _is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return isinstance(value, str)


def _aim(case: Any, world: FuzzWorld, data: Any) -> None:
    """Point generated uuids at real resources (either tenant's) some of the time."""
    def pick(name: str, value: Any) -> Any:
        pool = world.ids.get(name)
        if not pool or not _is_uuid(value):
            return value
        return data.draw(st.sampled_from([value, *pool]), label=name)

    for container in (case.path_parameters, case.query):
        for name, value in list((container or {}).items()):
            container[name] = pick(name, value)
    if isinstance(case.body, dict):
        for name, value in list(case.body.items()):
            case.body[name] = pick(name, value)


def _check_refusal(response: Any, before: int, after: int) -> list[str]:
    """Invariant 10: a refused request is problem JSON without a trace, and appends nothing."""
    problems = []
    if response.status_code >= 400:
        content_type = (response.headers.get("content-type") or [""])[0]
        text = response.content.decode("utf-8", "replace")
        if not content_type.startswith(PROBLEM_JSON):
            problems.append(f"{response.status_code} is not problem JSON: {content_type}")
        if "Traceback" in text or 'File "' in text:
            problems.append("a stack trace reached the client")
        if after != before:
            problems.append(f"a {response.status_code} appended {after - before} event(s)")
    return problems


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
@pytest.mark.parametrize("label", OPERATIONS)
def test_the_api_answers_every_generated_request_as_documented(api_schema, world, services, label, mode):
    operation = api_schema.find_operation_by_label(label)
    assert operation is not None, label
    callers = [world.a, world.b] + ([world.worker] if label in WORKER_OPERATIONS else [])
    checks = CHECKS + ([negative_data_rejection] if mode is GenerationMode.NEGATIVE else [])
    failures: dict[str, str] = {}

    @settings(max_examples=MAX_EXAMPLES, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
    @given(case=operation.as_strategy(mode), data=st.data())
    def run(case: Any, data: Any) -> None:
        caller = data.draw(st.sampled_from(callers), label="caller")
        _aim(case, world, data)
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {caller.token}"}
        tenants = (world.a.tenant_id, world.b.tenant_id)
        before = count_events(services, *tenants)
        response = case.call()
        try:
            case.validate_response(response, checks=checks)
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - collect every distinct failure
            kinds = sorted({type(e).__name__ for e in getattr(exc, "exceptions", None) or [exc]})
            failures.setdefault(f"{response.status_code}: {', '.join(kinds)}", f"{caller.name}: {exc}")
        for problem in _check_refusal(response, before, count_events(services, *tenants)):
            failures.setdefault(problem, f"{caller.name}: {case.as_curl_command()}\n{response.content[:500]!r}")

    run()
    assert not failures, "\n\n".join(f"== {key}\n{detail[:3000]}" for key, detail in failures.items())
