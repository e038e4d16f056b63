"""The OpenAPI document describes every route the app serves, with bodies and problem responses."""
from __future__ import annotations

import re
from typing import Any

import pytest

METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}
COMMANDS = {"POST", "PUT", "PATCH", "DELETE"}


@pytest.fixture(scope="module")
def spec(client) -> dict[str, Any]:
    r = client.get("/schema/openapi.json")
    assert r.status_code == 200, r.text
    return r.json()


def _doc_path(path: str) -> str:
    """'/api/v1/projects/{project_id:uuid}' -> '/api/v1/projects/{project_id}'."""
    return re.sub(r"\{(\w+):[^}]+\}", r"{\1}", path)


def _app_operations(client) -> list[tuple[str, str, Any]]:
    """(documented path, method, handler) of every route the app serves, docs routes aside."""
    out = []
    for route in client.app.routes:
        if route.path.startswith("/schema"):
            continue
        for handler in route.route_handlers:
            if not handler.resolve_include_in_schema():
                continue
            for method in sorted(handler.http_methods & METHODS):
                out.append((_doc_path(route.path), method, handler))
    return out


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = spec["components"]["schemas"][name]
    return schema


def _operation(spec, path, method):
    return spec["paths"][path][method.lower()]


def test_the_document_is_openapi_3_with_bearer_security(spec):
    assert spec["openapi"].startswith("3.")
    assert spec["info"]["title"] == "avm"
    schemes = spec["components"]["securitySchemes"]
    assert any(s.get("type") == "http" and s.get("scheme") == "bearer" for s in schemes.values())


def test_every_route_of_the_app_is_documented_with_its_methods(client, spec):
    operations = _app_operations(client)
    assert len(operations) >= 20

    missing = [(p, m) for p, m, _ in operations if m.lower() not in spec["paths"].get(p, {})]

    assert missing == []


def test_nothing_is_documented_that_the_app_does_not_serve(client, spec):
    served = {(p, m.lower()) for p, m, _ in _app_operations(client)}
    documented = {(p, m) for p, ops in spec["paths"].items() for m in ops if m.upper() in METHODS}

    assert documented <= served


@pytest.mark.parametrize("path, method", [
    ("/api/v1/projects", "POST"),
    ("/api/v1/projects/{project_id}", "PATCH"),
    ("/api/v1/projects/{project_id}/status", "POST"),
    ("/api/v1/projects/{project_id}/story", "PUT"),
    ("/api/v1/projects/{project_id}/scenes/edit", "POST"),
    ("/api/v1/me", "PATCH"),
    ("/api/v1/me/tokens", "POST"),
    ("/api/v1/me/model-keys/{provider}", "PUT"),
    ("/api/v1/admin/users", "POST"),
    ("/api/v1/admin/users/{user_id}/role", "PUT"),
])
def test_the_contracts_command_bodies_are_documented(spec, path, method):
    body = _operation(spec, path, method)["requestBody"]
    schema = _resolve(spec, body["content"]["application/json"]["schema"])

    variants = [_resolve(spec, s) for s in schema.get("oneOf", [schema])]
    for variant in variants:
        assert variant["type"] == "object"
        assert variant["properties"]


def test_every_route_that_takes_a_body_documents_it_and_no_other_does(client, spec):
    for path, method, handler in _app_operations(client):
        takes_body = "data" in handler.parsed_fn_signature.parameters or bool(handler.opt.get("raw_body"))
        operation = _operation(spec, path, method)
        assert ("requestBody" in operation) == takes_body, (method, path)
        if takes_body:
            content = operation["requestBody"]["content"]
            # JSON, or the raw bytes of a job's output (the one route whose body is not JSON)
            schema = content["application/json" if not handler.opt.get("raw_body") else "application/octet-stream"]
            assert _resolve(spec, schema["schema"]), (method, path)


def test_the_scene_edit_body_documents_each_operation_by_its_op_tag(spec):
    schema = _operation(spec, "/api/v1/projects/{project_id}/scenes/edit", "POST")["requestBody"]
    variants = [_resolve(spec, s) for s in schema["content"]["application/json"]["schema"]["oneOf"]]

    tags = set()
    for variant in variants:
        assert "op" in variant["properties"] and "op" in variant.get("required", [])
        op = variant["properties"]["op"]
        tags |= {op["const"]} if "const" in op else set(op.get("enum", []))
    assert tags == {"merge", "split", "reorder", "update"}


def test_every_command_route_lists_its_problem_responses(client, spec):
    for path, method, handler in _app_operations(client):
        if method not in COMMANDS or not path.startswith("/api/v1"):
            continue
        responses = _operation(spec, path, method)["responses"]
        expected = {"401", "422", "403" if path.startswith("/api/v1/admin") else "404"}
        assert expected <= responses.keys(), (method, path, sorted(responses))


def test_every_authenticated_route_lists_401_and_admin_routes_list_403(client, spec):
    for path, method, _ in _app_operations(client):
        if not path.startswith("/api/v1"):
            continue
        responses = _operation(spec, path, method)["responses"]
        assert "401" in responses, (method, path)
        if path.startswith("/api/v1/admin"):
            assert "403" in responses, (method, path)
        if "{" in path:
            assert "404" in responses, (method, path)


def test_problem_responses_are_documented_as_problem_json(client, spec):
    for path, method, _ in _app_operations(client):
        if not path.startswith("/api/v1"):
            continue  # /api/health answers 503 with its own report
        for code, response in _operation(spec, path, method)["responses"].items():
            if code in ("401", "403", "404", "409", "412", "422", "429", "503"):
                content = response["content"]
                assert "application/problem+json" in content, (method, path, code)
                problem = _resolve(spec, content["application/problem+json"]["schema"])
                assert {"type", "title", "status", "detail", "errors"} <= problem["properties"].keys()


def test_no_route_documents_an_error_in_a_shape_the_api_never_sends(client, spec):
    # Every failure is answered as problem JSON (api/problems.py), so a 4xx documented in the
    # framework's default shape {status_code, detail, extra} describes a response that never comes.
    wrong = []
    for path, method, _ in _app_operations(client):
        if not path.startswith("/api/v1"):
            continue
        for code, response in _operation(spec, path, method)["responses"].items():
            if code.startswith("4") and "application/problem+json" not in response.get("content", {}):
                wrong.append(f"{method} {path} {code}")

    assert wrong == []


@pytest.mark.parametrize("path, method, code, schema", [
    ("/api/v1/projects", "POST", "201", "ProjectOut"),
    ("/api/v1/projects", "GET", "200", "ProjectList"),
    ("/api/v1/projects/{project_id}", "GET", "200", "ProjectOut"),
    ("/api/v1/projects/{project_id}", "PATCH", "200", "ProjectOut"),
    ("/api/v1/projects/{project_id}", "DELETE", "204", None),
    ("/api/v1/projects/{project_id}/restore", "POST", "200", "ProjectOut"),
    ("/api/v1/projects/{project_id}/story", "PUT", "200", "SceneList"),
    ("/api/v1/projects/{project_id}/scenes", "GET", "200", "SceneList"),
    ("/api/v1/projects/{project_id}/story", "GET", "200", "StoryOut"),
    ("/api/v1/projects/{project_id}/scenes/edit", "POST", "200", "SceneList"),
    ("/api/v1/projects/{project_id}/estimate", "GET", "200", "EstimateOut"),
    ("/api/v1/projects/{project_id}/history", "GET", "200", "History"),
    ("/api/v1/me/tokens", "POST", "201", "TokenCreated"),
    ("/api/v1/me/tokens/{token_id}", "DELETE", "204", None),
    ("/api/v1/me/model-keys", "GET", "200", "ModelKeyList"),
    ("/api/v1/me/model-keys/{provider}", "PUT", "201", "ModelKeyOut"),
    ("/api/v1/me/model-keys/{provider}", "PUT", "200", "ModelKeyOut"),
    ("/api/v1/me/model-keys/{provider}", "DELETE", "204", None),
    ("/api/v1/admin/users", "POST", "201", "UserCreated"),
])
def test_success_responses_are_documented_with_their_status_and_schema(spec, path, method, code, schema):
    responses = _operation(spec, path, method)["responses"]

    assert code in responses
    if schema is None:
        assert not responses[code].get("content")
    else:
        ref = responses[code]["content"]["application/json"]["schema"]["$ref"]
        assert ref.endswith(f"/{schema}")


def test_the_history_event_schema_has_every_field_of_the_contract(spec):
    event = spec["components"]["schemas"]["EventOut"]["properties"]

    assert set(event) >= {"position", "tenant_seq", "aggregate_id", "aggregate_type", "version", "type",
                          "recorded_at", "actor_id", "command_id", "correlation_id", "causation_id", "data",
                          "hash", "prev_hash"}


def test_list_parameters_are_documented_with_their_bounds(spec):
    params = {p["name"]: p for p in _operation(spec, "/api/v1/projects", "GET")["parameters"]}

    assert {"limit", "cursor", "status", "q", "include_deleted"} <= params.keys()
    assert params["limit"]["schema"].get("maximum") == 100 and params["limit"]["schema"].get("minimum") == 1
    at = {p["name"] for p in _operation(spec, "/api/v1/projects/{project_id}", "GET")["parameters"]}
    assert "at" in at and "include_deleted" in at


def test_the_docs_ui_answers_html(client):
    r = client.get("/schema")

    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert "<html" in r.text.lower()


def test_the_schema_routes_need_no_token(client):
    assert client.get("/schema/openapi.json").status_code == 200
    assert client.get("/schema").status_code == 200


# -- what every route shares (api/openapi.py) ------------------------------------------------------------------------
import uuid  # noqa: E402

from api.http import CURSOR_PATTERN  # noqa: E402
from tests.http.helpers import ENGLISH_STORY, PROJECTS, assert_problem  # noqa: E402

PUBLIC = ("/api/health", "/metrics")
# Public, but under /api/v1: sign-in is authenticated by its ID token (a 401 when it is not valid), limited
# per client address, and takes no Idempotency-Key (a repeat of an ID token is refused instead).
SIGN_IN = "/api/v1/auth/oidc"


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method.upper(), op) for path, ops in spec["paths"].items() for method, op in ops.items()]


def _headers_in(op: dict[str, Any]) -> set[str]:
    return {p["name"] for p in op.get("parameters", []) if p["in"] == "header"}


def _concrete(path: str) -> str:
    return re.sub(r"\{\w+\}", lambda m: "users" if m.group(0) == "{name}" else str(uuid.uuid4()), path)


def test_a_worker_token_on_a_tenant_route_is_refused_403_as_documented(client, spec, make_tenant):
    worker = make_tenant("worker")
    tenant_routes = [(p, m, op) for p, m, op in _operations(spec) if p.startswith("/api/v1/") and not
                     p.startswith(("/api/v1/me", "/api/v1/admin", SIGN_IN)) and not p.endswith(("/claim", "/progress",
                                                                                              "/complete", "/fail", "/outputs"))
                     # a worker reads the manifest of a job it holds (issue 14): any other is 404, tested there
                     and (p, m) != ("/api/v1/jobs/{job_id}", "GET")]
    assert len(tenant_routes) >= 30
    for path, method, op in tenant_routes:
        r = client.request(method, _concrete(path), headers=worker.headers)
        assert r.status_code == 403, (method, path, r.text)
        assert "403" in op["responses"], (method, path)


def test_403_is_declared_exactly_where_a_role_can_be_refused(spec):
    for path, method, op in _operations(spec):
        # The caller's own account is open to every role, but for model keys (premium and admin to store, no worker).
        open_to_every_role = (path.startswith(("/api/v1/me", *PUBLIC, SIGN_IN))
                              and not path.startswith("/api/v1/me/model-keys"))
        assert ("403" in op["responses"]) != open_to_every_role, (method, path)


def test_if_match_and_412_are_declared_together_and_only_where_the_route_reads_if_match(spec):
    with_if_match = []
    for path, method, op in _operations(spec):
        reads = "If-Match" in _headers_in(op)
        assert reads == ("412" in op["responses"]), (method, path)
        assert "428" not in op["responses"], (method, path)  # If-Match is never required
        with_if_match += [f"{method} {path}"] if reads else []
    assert "PATCH /api/v1/projects/{project_id}" in with_if_match
    assert "POST /api/v1/projects" not in with_if_match


def test_a_route_that_does_not_read_if_match_ignores_it_and_one_that_does_refuses_a_stale_one(client, tenant):
    created = client.post(PROJECTS, json={"title": "t"}, headers={**tenant.headers, "If-Match": '"7"'})
    assert created.status_code == 201
    stale = client.patch(f"{PROJECTS}/{created.json()['id']}", json={"title": "u"},
                         headers={**tenant.headers, "If-Match": '"7"'})
    assert_problem(stale, 412)


def test_every_command_takes_an_idempotency_key_and_every_route_a_correlation_id(spec):
    for path, method, op in _operations(spec):
        headers = _headers_in(op)
        assert "X-Correlation-ID" in headers, (method, path)
        if method in COMMANDS and path != SIGN_IN:
            assert "Idempotency-Key" in headers, (method, path)
            assert {"409", "413", "422"} <= op["responses"].keys(), (method, path)
        for code, response in op["responses"].items():
            assert response["headers"]["X-Correlation-ID"]["required"] is True, (method, path, code)


def test_response_headers_are_declared_where_they_are_sent(client, spec, tenant):
    created = client.post(PROJECTS, json={"title": "t"}, headers=tenant.headers)
    read = client.get(f"{PROJECTS}/{created.json()['id']}", headers=tenant.headers)
    for response, (path, method, code) in ((created, (PROJECTS, "post", "201")),
                                           (read, (PROJECTS + "/{project_id}", "get", "200"))):
        declared = spec["paths"][path][method]["responses"][code]["headers"]
        required = {name.lower() for name, h in declared.items() if h["required"]}
        assert required <= {k.lower() for k in response.headers}, (path, required)
    assert {"ETag", "Location", "Idempotent-Replayed"} <= spec["paths"][PROJECTS]["post"]["responses"]["201"]["headers"].keys()
    for path, method, op in _operations(spec):
        for code in ("429", "503"):
            if code in op["responses"]:
                assert "Retry-After" in op["responses"][code]["headers"], (method, path)
        if "401" in op["responses"]:
            assert {"WWW-Authenticate", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"} \
                <= op["responses"]["401"]["headers"].keys()


def test_public_routes_need_no_token_and_say_so(client, spec):
    for path in PUBLIC:
        op = spec["paths"][path]["get"]
        assert op["security"] == [] and "401" not in op["responses"], path
        assert client.get(path).status_code == 200, path
    assert all(op.get("security") is None for p, _, op in _operations(spec) if p.startswith("/api/v1") and p != SIGN_IN)
    sign_in = spec["paths"][SIGN_IN]["post"]
    assert sign_in["security"] == [] and "Idempotency-Key" not in _headers_in(sign_in)
    assert client.post(SIGN_IN, json={"provider": "none-configured", "id_token": "a.b.c"}).status_code == 422


def test_the_problem_schema_carries_its_extension_fields(spec):
    problem = spec["components"]["schemas"]["Problem"]["properties"]

    assert {"quota", "limit", "resets_at", "current", "allowed", "errors"} <= problem.keys()


def test_a_quota_refusal_answers_a_numeric_retry_after():
    from api.problems import domain_problem_handler
    from domain.errors import QuotaExceeded

    refused = domain_problem_handler(None, QuotaExceeded("over", quota="projects_per_day", limit=10,  # type: ignore[arg-type]
                                                         resets_at="2999-01-01T00:00:00+00:00", retry_after=None))
    unknown = domain_problem_handler(None, QuotaExceeded("over", quota="scenes_per_project", limit=10,  # type: ignore[arg-type]
                                                         resets_at=None))

    assert refused.headers["Retry-After"].isdigit() and int(refused.headers["Retry-After"]) > 0
    assert "Retry-After" not in unknown.headers


def test_bodies_that_refuse_unknown_fields_say_so_and_optional_bodies_are_not_required(spec):
    import msgspec

    from api import schemas

    strict = {name for name, cls in vars(schemas).items() if isinstance(cls, type)
              and issubclass(cls, msgspec.Struct) and cls.__struct_config__.forbid_unknown_fields}
    documented = spec["components"]["schemas"]
    assert {"CreateProject", "UpdateProject", "QueueJob", "SplitScene"} <= strict
    for name in strict & documented.keys():
        assert documented[name]["additionalProperties"] is False, name
    optional = {(p, m) for p, m, op in _operations(spec) if op.get("requestBody", {}).get("required") is False}
    assert optional == {("/api/v1/projects/{project_id}/jobs", "POST"), ("/api/v1/jobs/{job_id}/retry", "POST"),
                        ("/api/v1/jobs/{job_id}/complete", "POST")}


def test_the_ndjson_export_is_documented_with_its_media_type(spec):
    assert list(spec["paths"]["/api/v1/audit/export"]["get"]["responses"]["200"]["content"]) == ["application/x-ndjson"]


def test_cursors_are_strings_of_one_documented_shape_and_positions_integers(client, spec, tenant):
    for _ in range(2):
        client.post(PROJECTS, json={"title": "t"}, headers=tenant.headers)
    page = client.get(PROJECTS, params={"limit": 1}, headers=tenant.headers).json()
    assert re.match(CURSOR_PATTERN, page["next_cursor"])
    for path, method, op in _operations(spec):
        for p in op.get("parameters", []):
            if p["name"] == "cursor":
                assert p["schema"]["type"] == "string" and "pattern" in p["schema"], (method, path)
            if p["name"] == "after":
                assert p["schema"]["type"] == "integer" and p["schema"]["minimum"] == 0, (method, path)
            if p["name"] == "at":
                kinds = {(s["type"], s.get("format")) for s in p["schema"]["oneOf"]}
                assert kinds == {("integer", None), ("string", "date-time")}, (method, path)
    assert spec["components"]["schemas"]["EventOut"]["properties"]["position"]["type"] == "integer"


def test_every_cursor_of_the_documented_shape_is_accepted(client, tenant):
    for cursor in ("A" * 32, "_" * 32, "-" * 32):
        assert client.get(PROJECTS, params={"cursor": cursor}, headers=tenant.headers).status_code == 200
    assert_problem(client.get(PROJECTS, params={"cursor": ""}, headers=tenant.headers), 422, "cursor")


def test_optional_bounds_of_zero_are_documented(spec):
    complete = spec["components"]["schemas"]["CompleteJob"]["properties"]["cost_actual"]
    after = next(p for p in spec["paths"]["/api/v1/audit/events"]["get"]["parameters"] if p["name"] == "after")

    assert complete["minimum"] == 0 and after["schema"]["minimum"] == 0


def test_an_integral_number_is_an_integer(client, tenant):
    r = client.post("/api/v1/me/tokens", json={"name": "n", "expires_in_days": 30.0}, headers=tenant.headers)

    assert r.status_code == 201, r.text


def test_options_answers_every_method_of_the_path_for_every_role(client, spec, make_tenant):
    worker = make_tenant("worker")
    for path, ops in spec["paths"].items():
        r = client.options(_concrete(path), headers=worker.headers)
        assert r.status_code == 204, (path, r.text)
        documented = {m.upper() for m in ops} | {"OPTIONS"}
        allowed = set(r.headers["allow"].split(", "))
        assert documented <= allowed <= documented | ({"HEAD"} if "GET" in documented else set()), path


def test_operation_ids_are_the_handlers_names(spec):
    ids = [op["operationId"] for _, _, op in _operations(spec)]

    assert len(ids) == len(set(ids))
    assert {"create_project", "update_project", "queue_job", "claim_job", "metrics"} <= set(ids)


def test_the_story_schema_refuses_a_blank_story(client, tenant):
    project = client.post(PROJECTS, json={"title": "t"}, headers=tenant.headers).json()["id"]

    assert_problem(client.put(f"{PROJECTS}/{project}/story", json={"text": " \n "}, headers=tenant.headers), 422, "text")
    assert client.put(f"{PROJECTS}/{project}/story", json={"text": ENGLISH_STORY}, headers=tenant.headers).status_code == 200


@pytest.mark.parametrize("path", ["/api/v1/projects/{project_id}/scenes", "/api/v1/projects/{project_id}/story"])
def test_the_scene_list_and_the_story_declare_the_project_etag_and_send_it(client, spec, tenant, path):
    project = client.post(PROJECTS, json={"title": "t"}, headers=tenant.headers).json()
    client.put(f"{PROJECTS}/{project['id']}/story", json={"text": ENGLISH_STORY}, headers=tenant.headers)

    r = client.get(path.replace("{project_id}", project["id"]), headers=tenant.headers)

    declared = _operation(spec, path, "GET")["responses"]["200"]["headers"]
    assert declared["ETag"]["required"] is True
    assert r.status_code == 200 and r.headers["ETag"] == '"3"'  # Created, StorySet, StatusChanged
