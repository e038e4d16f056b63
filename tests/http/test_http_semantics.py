"""HTTP semantics on every route: OPTIONS and HEAD with a correct Allow, CORS when configured,
`If-Match: *`, and the quota 429's Retry-After (issue 11, item 5)."""
from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.http.helpers import PROJECTS, assert_problem, count_events, create_project

VARYING = {"date", "x-correlation-id", "content-length", "ratelimit-remaining", "ratelimit-reset"}
_STAMP = re.compile(r"\d{8}T\d{6}Z")  # an export's file name carries the second it was made


def _headers(response: Any) -> dict[str, str]:
    """The headers that must be equal between GET and HEAD (a file name's time stamp may tick between them)."""
    return {k: _STAMP.sub("<stamp>", v) if k == "content-disposition" else v
            for k, v in response.headers.items() if k not in VARYING}


def http_routes(client: Any) -> list[tuple[str, set[str]]]:
    from litestar.routes import HTTPRoute

    return [(r.path, set(r.methods)) for r in client.app.routes if isinstance(r, HTTPRoute)]


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+:uuid\}", str(uuid.uuid4()), re.sub(r"\{[^}:]+:str\}", "projects", path))


@pytest.mark.parametrize(("path", "allow"), [
    ("/api/v1/projects", "GET, HEAD, OPTIONS, POST"),
    (f"/api/v1/projects/{uuid.uuid4()}", "DELETE, GET, HEAD, OPTIONS, PATCH"),
    (f"/api/v1/presets/{uuid.uuid4()}", "DELETE, GET, HEAD, OPTIONS, PATCH"),
    ("/api/v1/me", "DELETE, GET, HEAD, OPTIONS, PATCH"),  # DELETE: erasure (issue 15)
    ("/api/v1/jobs/claim", "OPTIONS, POST"),
    (f"/api/v1/projects/{uuid.uuid4()}/story", "GET, HEAD, OPTIONS, PUT"),
    ("/api/health", "GET, HEAD, OPTIONS"),
])
def test_options_answers_204_with_exactly_the_paths_methods_and_needs_no_token(client: Any, path: str,
                                                                              allow: str) -> None:
    # Used to be a 500 on every route with a role guard, and to list only POST on /api/v1/projects.
    r = client.options(path)
    assert r.status_code == 204, r.text
    assert r.headers["allow"] == allow
    assert r.content == b""


def test_every_route_answers_options_with_its_own_methods_plus_head_and_options(client: Any) -> None:
    for path, methods in http_routes(client):
        expected = methods | {"OPTIONS"} | ({"HEAD"} if "GET" in methods else set())
        r = client.options(concrete(path))
        assert r.status_code == 204, (path, r.status_code, r.text)
        assert set(r.headers["allow"].split(", ")) == expected, (path, r.headers["allow"])


def test_a_method_the_path_lacks_is_405_with_the_same_allow(client: Any, tenant: Any) -> None:
    r = client.put(PROJECTS, json={}, headers=tenant.headers)
    assert_problem(r, 405)
    assert r.headers["allow"] == "GET, HEAD, OPTIONS, POST"
    r = client.head("/api/v1/jobs/claim", headers=tenant.headers)
    assert r.status_code == 405 and r.headers["allow"] == "OPTIONS, POST" and r.content == b""


def test_head_answers_every_get_route_like_get_without_a_body(client: Any, admin: Any) -> None:
    pid = create_project(client, admin)["id"]
    for path, methods in http_routes(client):
        if "GET" not in methods:
            continue
        url = concrete(path.replace("{project_id:uuid}", pid))
        got, head = client.get(url, headers=admin.headers), client.head(url, headers=admin.headers)
        assert head.status_code == got.status_code, (path, head.status_code, got.status_code)
        assert head.content == b"", path
        assert _headers(head) == _headers(got), path


def test_head_of_a_resource_carries_its_etag_and_needs_the_token_get_needs(client: Any, tenant: Any) -> None:
    project = create_project(client, tenant)
    r = client.head(f"{PROJECTS}/{project['id']}", headers=tenant.headers)
    assert r.status_code == 200 and r.headers["etag"] == '"1"' and r.content == b""
    assert r.headers["content-type"] == "application/json"
    assert int(r.headers["content-length"]) == len(client.get(f"{PROJECTS}/{project['id']}", headers=tenant.headers).content)
    r = client.head(f"{PROJECTS}/{project['id']}")
    assert r.status_code == 401 and r.content == b"" and r.headers["www-authenticate"] == "Bearer"


# -- CORS ----------------------------------------------------------------------------------------

@pytest.fixture
def cors_client(services: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from litestar.testing import TestClient

    from api.app import create_app

    monkeypatch.setenv("AVM_CORS_ORIGINS", "https://studio.example, https://other.example")
    with TestClient(create_app(services), raise_server_exceptions=False) as c:
        yield c


PREFLIGHT = {"Origin": "https://studio.example", "Access-Control-Request-Method": "PATCH",
             "Access-Control-Request-Headers": "authorization, content-type, if-match"}


def test_a_cors_preflight_succeeds_without_a_token_when_cors_is_configured(cors_client: Any) -> None:
    r = cors_client.options(f"{PROJECTS}/{uuid.uuid4()}", headers=PREFLIGHT)
    assert r.status_code in (200, 204), r.text
    assert r.headers["access-control-allow-origin"] == "https://studio.example"
    assert "PATCH" in r.headers["access-control-allow-methods"]
    allowed = {h.strip().lower() for h in r.headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "content-type", "if-match"} <= allowed
    assert "access-control-allow-credentials" not in r.headers


def test_a_cors_request_exposes_the_headers_clients_need(cors_client: Any, tenant: Any) -> None:
    r = cors_client.post(PROJECTS, json={"title": "x"}, headers={**tenant.headers, "Origin": "https://studio.example"})
    assert r.status_code == 201
    assert r.headers["access-control-allow-origin"] == "https://studio.example"
    exposed = {h.strip().lower() for h in r.headers["access-control-expose-headers"].split(",")}
    assert {"etag", "location", "x-correlation-id", "retry-after"} <= exposed


def test_an_unlisted_origin_gets_no_cors_allowance(cors_client: Any) -> None:
    r = cors_client.options(PROJECTS, headers={**PREFLIGHT, "Origin": "https://evil.example"})
    assert r.headers.get("access-control-allow-origin") != "https://evil.example"


@pytest.mark.parametrize("headers", [
    {**PREFLIGHT, "Origin": "https://evil.example"},
    {**PREFLIGHT, "Access-Control-Request-Method": "TRACE"},
    {**PREFLIGHT, "Access-Control-Request-Headers": "x-evil"},
], ids=["origin", "method", "headers"])
def test_a_refused_preflight_is_a_problem_naming_what_was_refused(cors_client: Any, headers: dict[str, str]) -> None:
    # It was Litestar's text/plain "Disallowed CORS Origin", the one error body that was not problem JSON.
    r = cors_client.options(PROJECTS, headers=headers)
    problem = assert_problem(r, 400)
    assert problem["detail"].startswith("cross-origin request refused")
    assert int(r.headers["content-length"]) == len(r.content)


def test_without_configuration_no_cors_headers_appear(client: Any, tenant: Any) -> None:
    for r in (client.options(PROJECTS, headers=PREFLIGHT),
              client.get(PROJECTS, headers={**tenant.headers, "Origin": "https://studio.example"})):
        assert not [k for k in r.headers if k.lower().startswith("access-control-")], dict(r.headers)


# -- If-Match: * ---------------------------------------------------------------------------------

def test_if_match_star_matches_any_current_version(client: Any, tenant: Any) -> None:
    pid = create_project(client, tenant)["id"]
    client.patch(f"{PROJECTS}/{pid}", json={"title": "v2"}, headers=tenant.headers)
    r = client.patch(f"{PROJECTS}/{pid}", json={"title": "v3"}, headers={**tenant.headers, "If-Match": "*"})
    assert r.status_code == 200, r.text
    assert r.json()["title"] == "v3" and r.headers["etag"] == '"3"'


def test_if_match_star_on_a_missing_or_another_tenants_resource_is_404(client: Any, tenant: Any,
                                                                      other_tenant: Any) -> None:
    theirs = create_project(client, other_tenant)["id"]
    for pid in (str(uuid.uuid4()), theirs):
        r = client.patch(f"{PROJECTS}/{pid}", json={"title": "x"}, headers={**tenant.headers, "If-Match": "*"})
        assert_problem(r, 404)


def test_if_match_star_on_a_deleted_resource_is_404_for_changes_and_412_for_restore(
        client: Any, services: Any, tenant: Any) -> None:
    pid = create_project(client, tenant)["id"]
    assert client.delete(f"{PROJECTS}/{pid}", headers=tenant.headers).status_code == 204
    before = count_events(services, tenant.id)
    star = {**tenant.headers, "If-Match": "*"}
    assert_problem(client.patch(f"{PROJECTS}/{pid}", json={"title": "x"}, headers=star), 404)
    # restore reaches the deleted project: `*` names a current representation, and it has none
    assert_problem(client.post(f"{PROJECTS}/{pid}/restore", headers=star), 412, "If-Match")
    assert count_events(services, tenant.id) == before
    assert client.post(f"{PROJECTS}/{pid}/restore", headers=tenant.headers).status_code == 200
    assert client.delete(f"{PROJECTS}/{pid}", headers=star).status_code == 204


def test_one_problem_type_has_one_title_for_a_missing_route_and_a_missing_id(client: Any, tenant: Any) -> None:
    # RFC 9457 §3.1.3: the title belongs to the type; the router's 404 said "Not Found", the API's "Not found".
    route = client.get("/api/v1/nothing-here", headers=tenant.headers).json()
    missing = client.get(f"{PROJECTS}/{uuid.uuid4()}", headers=tenant.headers).json()
    assert route["type"] == missing["type"]
    assert route["title"] == missing["title"] == "Not found"


# -- quota 429 -----------------------------------------------------------------------------------

def test_a_quota_429_carries_retry_after_in_whole_seconds_until_the_reset(client: Any, make_tenant: Any) -> None:
    from datetime import datetime, timezone

    tenant = make_tenant("user")
    for i in range(3):
        assert client.post(PROJECTS, json={"title": f"p{i}"}, headers=tenant.headers).status_code == 201
    r = client.post(PROJECTS, json={"title": "one too many"}, headers=tenant.headers)
    assert_problem(r, 429)
    value = r.headers["retry-after"]
    assert re.fullmatch(r"[0-9]+", value), value  # delay-seconds (RFC 9110 §10.2.3): it used to be "None"
    until_reset = (datetime.fromisoformat(r.json()["resets_at"]) - datetime.now(timezone.utc)).total_seconds()
    assert 1 <= int(value) and abs(int(value) - until_reset) <= 5


def test_retry_after_is_at_least_one_second() -> None:
    from datetime import datetime, timedelta, timezone

    from api.problems import retry_after_seconds

    now = datetime(2026, 12, 6, 23, 59, 59, 500_000, tzinfo=timezone.utc)
    assert retry_after_seconds("2026-12-07T00:00:00+00:00", now) == 1
    assert retry_after_seconds("2026-12-07T00:00:00+00:00", now + timedelta(seconds=5)) == 1
    assert retry_after_seconds("2026-12-07T00:00:00+00:00", now - timedelta(hours=1)) == 3601


@pytest.fixture
def rate_limited_client(services: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from litestar.testing import TestClient

    from api.app import create_app

    monkeypatch.setenv("AVM_RATE_LIMIT", "2")
    with TestClient(create_app(services), raise_server_exceptions=False) as c:
        yield c


def test_a_rate_limit_429_says_when_to_retry_like_the_quota_429(rate_limited_client: Any, tenant: Any) -> None:
    # It had RateLimit-Reset but no Retry-After, and its detail was the bare title "Too Many Requests".
    responses = [rate_limited_client.get("/api/v1/me", headers=tenant.headers) for _ in range(4)]
    refused = [r for r in responses if r.status_code == 429]
    assert refused, [r.status_code for r in responses]
    r = refused[0]
    assert_problem(r, 429)
    assert re.fullmatch(r"[1-9][0-9]*", r.headers["retry-after"]), r.headers.get("retry-after")
    assert r.headers["retry-after"] == str(max(1, int(r.headers["ratelimit-reset"])))
    assert r.json()["detail"] != r.json()["title"] and r.headers["retry-after"] in r.json()["detail"]


# -- HEAD through a real server ------------------------------------------------------------------

@pytest.fixture
def served(services: Any) -> Iterator[str]:
    """The app behind uvicorn on a free port, as `avm serve` runs it (the test client skips the server)."""
    import socket
    import threading
    import time

    import uvicorn

    from api.app import create_app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(services, close_services=False), host="127.0.0.1", port=port,
                                           log_level="critical", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def test_head_through_the_server_keeps_the_connection_usable(served: str, tenant: Any) -> None:
    # The server saw HEAD rewritten to GET in its own scope, expected the GET's body after its
    # Content-Length, and reset the connection: every HEAD was an ERROR traceback in the log and the
    # keep-alive connection's next request failed.
    import httpx

    with httpx.Client(base_url=served, headers=tenant.headers) as http:
        for _ in range(3):
            head = http.head("/api/v1/me")
            assert head.status_code == 200 and head.content == b""
            assert int(head.headers["content-length"]) == len(http.get("/api/v1/me").content)
