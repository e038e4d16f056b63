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
        takes_body = "data" in handler.parsed_fn_signature.parameters
        operation = _operation(spec, path, method)
        assert ("requestBody" in operation) == takes_body, (method, path)
        if takes_body:
            schema = operation["requestBody"]["content"]["application/json"]["schema"]
            assert _resolve(spec, schema), (method, path)


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
    ("/api/v1/projects/{project_id}/scenes/edit", "POST", "200", "SceneList"),
    ("/api/v1/projects/{project_id}/estimate", "GET", "200", "EstimateOut"),
    ("/api/v1/projects/{project_id}/history", "GET", "200", "History"),
    ("/api/v1/me/tokens", "POST", "201", "TokenCreated"),
    ("/api/v1/me/tokens/{token_id}", "DELETE", "204", None),
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
