"""Numbers are ASCII digits only, and one bearer credential is one identity (issue 11, item 4)."""
from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.http.helpers import PROJECTS, assert_problem, count_events, create_project

# Python's int() and str.isdigit() take all of these; the contract takes none.
NOT_ASCII_DIGITS = {
    "arabic-indic": "\u0663",  # ٣
    "full-width": "\uff11",  # １
    "superscript": "\u00b2",  # ²
    "plus sign": "+5",
    "underscore": "1_0",
    "leading space": " 5",
    "trailing space": "5 ",
    "minus zero": "-0",
}


@pytest.mark.parametrize("value", NOT_ASCII_DIGITS.values(), ids=NOT_ASCII_DIGITS.keys())
@pytest.mark.parametrize("route", ["/api/v1/projects", "/api/v1/jobs", "/api/v1/assets", "/api/v1/audit/events"])
def test_a_limit_that_is_not_ascii_digits_is_a_422_naming_limit(client: Any, tenant: Any, route: str,
                                                                value: str) -> None:
    assert_problem(client.get(route, params={"limit": value}, headers=tenant.headers), 422, "limit")


@pytest.mark.parametrize("value", NOT_ASCII_DIGITS.values(), ids=NOT_ASCII_DIGITS.keys())
def test_an_audit_position_that_is_not_ascii_digits_is_a_422_naming_after(client: Any, tenant: Any,
                                                                          value: str) -> None:
    assert_problem(client.get("/api/v1/audit/events", params={"after": value}, headers=tenant.headers), 422, "after")


@pytest.mark.parametrize("value", NOT_ASCII_DIGITS.values(), ids=NOT_ASCII_DIGITS.keys())
@pytest.mark.parametrize("kind", ["projects", "presets", "assets", "jobs"])
def test_an_at_version_that_is_not_ascii_digits_is_a_422_naming_at(client: Any, make_tenant: Any, kind: str,
                                                                   value: str) -> None:
    tenant = make_tenant("premium")
    if kind == "projects":
        rid = create_project(client, tenant)["id"]
    elif kind == "presets":
        rid = client.post("/api/v1/presets", json={"name": "p", "config": {}}, headers=tenant.headers).json()["id"]
    elif kind == "assets":
        rid = client.post("/api/v1/assets", json={"type": "json", "uri": "r2://b/x"}, headers=tenant.headers).json()["id"]
    else:
        from tests.http.test_domain_api import ready_project

        project = ready_project(client, tenant)
        rid = client.post(f"/api/v1/projects/{project['id']}/jobs", json={}, headers=tenant.headers).json()["id"]
    # "٣" and "１" used to read version 3 and 1 (int() takes them); "²" used to be a 500.
    r = client.get(f"/api/v1/{kind}/{rid}", params={"at": value}, headers=tenant.headers)
    assert_problem(r, 422, "at")


# msgspec's lax conversion (Litestar's for query parameters) reads these as whole numbers:
# "1e1" as 10 and "5.0" as 5, so a page size or a window was accepted in a spelling the contract refuses.
NUMBER_SPELLINGS = {"exponent": "1e1", "upper exponent": "2E1", "decimal point": "5.0", "trailing point": "5."}
INTEGER_QUERIES = [("/api/v1/projects", "limit"), ("/api/v1/jobs", "limit"), ("/api/v1/assets", "limit"),
                   ("/api/v1/audit/events", "limit"), ("/api/v1/audit/events", "after"), ("/api/v1/me/usage", "days"),
                   ("/api/v1/admin/stats", "days"), ("/api/v1/admin/users", "limit")]


@pytest.mark.parametrize("value", NUMBER_SPELLINGS.values(), ids=NUMBER_SPELLINGS.keys())
@pytest.mark.parametrize(("route", "name"), INTEGER_QUERIES)
def test_an_integer_query_parameter_in_a_number_spelling_is_a_422_naming_it(client: Any, admin: Any, route: str,
                                                                           name: str, value: str) -> None:
    assert_problem(client.get(route, params={name: value}, headers=admin.headers), 422, name)


@pytest.mark.parametrize(("route", "name"), INTEGER_QUERIES)
def test_an_integer_query_parameter_in_ascii_digits_is_still_read(client: Any, admin: Any, route: str,
                                                                  name: str) -> None:
    value = "0" if name == "after" else "5"
    if name == "after":
        value = str(client.get(route, headers=admin.headers).json()["items"][0]["position"])
    assert client.get(route, params={name: value}, headers=admin.headers).status_code == 200


@pytest.mark.parametrize(("route", "params", "name"), [
    ("/api/v1/projects", [("limit", "5"), ("limit", "100")], "limit"),
    ("/api/v1/projects", [("status", "draft"), ("status", "ready")], "status"),
    ("/api/v1/audit/events", [("since", "2020-01-01T00:00:00Z"), ("since", "2999-01-01T00:00:00Z")], "since"),
    ("/api/v1/jobs", [("project_id", str(uuid.uuid4())), ("project_id", str(uuid.uuid4()))], "project_id"),
])
def test_a_query_parameter_given_twice_is_a_422_naming_it(client: Any, tenant: Any, route: str,
                                                          params: list[tuple[str, str]], name: str) -> None:
    # One of the two used to be read silently (the last): a filter in front of avm that read the
    # first one saw a different request from the one avm answered.
    assert_problem(client.get(route, params=params, headers=tenant.headers), 422, name)


def test_a_repeated_at_is_refused_before_any_version_is_read(client: Any, tenant: Any) -> None:
    pid = create_project(client, tenant)["id"]
    r = client.get(f"{PROJECTS}/{pid}", params=[("at", "1"), ("at", "2")], headers=tenant.headers)
    assert_problem(r, 422, "at")


def test_an_at_time_in_lower_case_rfc_3339_reads_like_upper_case(client: Any, tenant: Any) -> None:
    # RFC 3339 §5.6 allows "t" and "z"; `since`/`until` took them, `?at=` answered 422.
    from datetime import datetime, timezone

    pid = create_project(client, tenant, "First")["id"]
    at = datetime.now(timezone.utc).strftime("%Y-%m-%dt%H:%M:%S.%fz")
    client.patch(f"{PROJECTS}/{pid}", json={"title": "Second"}, headers=tenant.headers)
    r = client.get(f"{PROJECTS}/{pid}", params={"at": at}, headers=tenant.headers)
    assert r.status_code == 200, r.text
    assert r.json()["title"] == "First"
    assert r.json() == client.get(f"{PROJECTS}/{pid}", params={"at": at.upper()}, headers=tenant.headers).json()


def test_an_ascii_at_version_still_reads_that_version(client: Any, tenant: Any) -> None:
    pid = create_project(client, tenant, "First")["id"]
    client.patch(f"{PROJECTS}/{pid}", json={"title": "Second"}, headers=tenant.headers)
    r = client.get(f"{PROJECTS}/{pid}", params={"at": "1"}, headers=tenant.headers)
    assert r.status_code == 200 and r.json()["title"] == "First" and r.headers["etag"] == '"1"'


# Header values travel as bytes; servers decode them as latin-1, where b"\xb2" is "²" and b"\xb9"
# is "¹" (isdigit() is True, int() fails): these used to be 500s.
BAD_IF_MATCH = [b'"\xb2"', b'"\xb9"', b'W/"\xb3"', b'"+1"', b'"1_0"', b'"-1"', b'"1', b'1"', b'""1""', b'"1 "',
                b'"\xef\xbc\x91"', b'"\xd9\xa3"', b"**"]


@pytest.mark.parametrize("value", BAD_IF_MATCH, ids=lambda v: v.decode("latin-1"))
def test_an_if_match_that_is_not_a_quoted_ascii_version_is_a_422_and_writes_nothing(
        client: Any, services: Any, tenant: Any, value: bytes) -> None:
    pid = create_project(client, tenant)["id"]
    before = count_events(services, tenant.id)
    r = client.patch(f"{PROJECTS}/{pid}", json={"title": "Changed"}, headers={**tenant.headers, "If-Match": value})
    assert_problem(r, 422, "If-Match")
    assert count_events(services, tenant.id) == before


@pytest.mark.parametrize("value", ['"1"', 'W/"1"', "1", ' "1" '])
def test_a_quoted_ascii_if_match_is_understood(client: Any, tenant: Any, value: str) -> None:
    pid = create_project(client, tenant)["id"]
    r = client.patch(f"{PROJECTS}/{pid}", json={"title": "Changed"}, headers={**tenant.headers, "If-Match": value})
    assert r.status_code == 200, r.text


# -- the credential ------------------------------------------------------------------------------

SPELLINGS = ["Bearer {t}", "bearer  {t}", "BEARER\t{t} ", " Bearer {t}", "bEaReR \t {t}\t"]


@pytest.mark.parametrize("spelling", SPELLINGS, ids=repr)
def test_every_spelling_of_the_bearer_scheme_authenticates(client: Any, tenant: Any, spelling: str) -> None:
    r = client.get("/api/v1/me", headers={"Authorization": spelling.format(t=tenant.token)})
    assert r.status_code == 200, r.text
    assert r.json()["id"] == tenant.id


@pytest.mark.parametrize("header", ["Bearer", "Bearer ", "Basic {t}", "Bearer {t} extra", "Bearer{t}",
                                    "Token {t}", "Bearer {t}\x00"], ids=repr)
def test_a_malformed_authorization_is_401(client: Any, tenant: Any, header: str) -> None:
    r = client.get("/api/v1/me", headers={"Authorization": header.format(t=tenant.token)})
    assert_problem(r, 401)


def test_two_authorization_headers_are_401_not_the_first_ones_identity(client: Any, services: Any, tenant: Any,
                                                                       other_tenant: Any) -> None:
    # The first header used to win: a proxy that checks the last one would let a request through
    # as one tenant while avm acted as another. (The test client joins repeated headers into one
    # value; a server passes them apart, as httpx's ASGI transport does.)
    import anyio
    import httpx

    async def send(method: str, path: str, headers: list[tuple[str, str]], **kw: Any) -> Any:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=client.app), base_url="http://t") as http:
            return await http.request(method, path, headers=headers, **kw)

    for first, second in ((tenant, other_tenant), (tenant, tenant)):
        headers = [("Authorization", f"Bearer {first.token}"), ("Authorization", f"Bearer {second.token}")]
        before = count_events(services, tenant.id, other_tenant.id)
        assert_problem(anyio.run(send, "GET", "/api/v1/me", headers), 401)
        assert_problem(anyio.run(lambda: send("POST", PROJECTS, headers, json={"title": "t"})), 401)
        assert count_events(services, tenant.id, other_tenant.id) == before
    assert anyio.run(send, "GET", "/api/v1/me", [("Authorization", f"Bearer {tenant.token}")]).status_code == 200


@pytest.fixture
def limited_client(services: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from litestar.testing import TestClient

    from api.app import create_app

    monkeypatch.setenv("AVM_RATE_LIMIT", "4")
    with TestClient(create_app(services), raise_server_exceptions=False) as c:
        yield c


def test_spellings_of_one_token_share_one_rate_limit_bucket(limited_client: Any, tenant: Any) -> None:
    spellings = [s.format(t=tenant.token) for s in ("Bearer {t}", "bearer  {t}", "BEARER\t{t} ")]
    # Litestar's limiter counts per wall-clock second: start the burst just after a second begins.
    time.sleep(1.0 - time.time() % 1.0 + 0.01)
    start = int(time.time())
    codes = [limited_client.get("/api/v1/me", headers={"Authorization": spellings[i % 3]}).status_code
             for i in range(6)]
    assert int(time.time()) == start, "the burst took over a second"
    # One bucket of 4 a second: the 5th and 6th are refused whatever spelling they use.
    assert codes == [200, 200, 200, 200, 429, 429], codes


def test_the_credential_is_parsed_once_into_one_identity() -> None:
    from api.auth import parse_bearer
    from domain.application import hash_token

    token = "avm_" + "x" * 43
    parsed = {parse_bearer(s.format(t=token)) for s in SPELLINGS}
    assert len(parsed) == 1
    (credential,) = parsed
    assert credential is not None and credential.token == token and credential.digest == hash_token(token)
    assert token not in credential.identity and len(credential.identity) == 32
    assert parse_bearer(None) is None and parse_bearer("Bearer a b") is None


@pytest.mark.parametrize("route", ["/api/v1/projects", "/api/v1/jobs", "/api/v1/assets",
                                   f"/api/v1/projects/{uuid.UUID(int=1)}", f"/api/v1/jobs/{uuid.UUID(int=1)}",
                                   f"/api/v1/assets/{uuid.UUID(int=1)}"])
def test_a_tenant_id_of_null_is_a_422_naming_it_though_the_tenant_dependency_declares_it(
        client: Any, tenant: Any, route: str) -> None:
    r = client.get(route, params={"tenant_id": "null"}, headers=tenant.headers)
    assert_problem(r, 422, "tenant_id")
