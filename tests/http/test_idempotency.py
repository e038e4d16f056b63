"""Idempotency-Key on command routes: repeats (sequential, concurrent, after a lost ack) append once."""
from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from uuid import UUID

import pytest


def events_of(services: Any, tenant_id: str) -> int:
    with services.read(scope="system") as conn:
        return conn.execute("SELECT count(*) AS n FROM events WHERE tenant_id = %s",
                            (UUID(tenant_id),)).fetchone()["n"]


def keyed(tenant: Any, key: str) -> dict[str, str]:
    return {**tenant.headers, "Idempotency-Key": key}


def test_the_same_key_sent_five_times_in_a_row_appends_once_and_answers_the_same(
        client: Any, services: Any, make_tenant: Any) -> None:
    tenant = make_tenant("premium")
    before = events_of(services, tenant.id)
    key = f"create-{uuid.uuid4()}"
    answers = [client.post("/api/v1/projects", json={"title": "once"}, headers=keyed(tenant, key))
               for _ in range(5)]
    assert {r.status_code for r in answers} == {201}
    assert len({r.content for r in answers}) == 1
    assert len({r.headers["location"] for r in answers}) == 1
    assert [r.headers.get("idempotent-replayed") for r in answers] == [None] + ["true"] * 4
    assert events_of(services, tenant.id) == before + 3  # Project.Created, Usage.Opened, Usage.Consumed
    listed = client.get("/api/v1/projects", headers=tenant.headers).json()["items"]
    assert [p["title"] for p in listed] == ["once"]


def test_the_same_key_sent_five_times_at_once_appends_once_and_answers_the_same(
        client: Any, services: Any, make_tenant: Any) -> None:
    tenant = make_tenant("premium")
    project = client.post("/api/v1/projects", json={"title": "base"}, headers=tenant.headers).json()
    before = events_of(services, tenant.id)
    key = f"rename-{uuid.uuid4()}"
    barrier = threading.Barrier(5)

    def rename(_: int) -> Any:
        barrier.wait()
        return client.patch(f"/api/v1/projects/{project['id']}", json={"title": "renamed once"},
                            headers=keyed(tenant, key))

    with ThreadPoolExecutor(5) as pool:
        answers = list(pool.map(rename, range(5)))
    assert {r.status_code for r in answers} == {200}, [r.text for r in answers]
    assert len({r.content for r in answers}) == 1
    assert events_of(services, tenant.id) == before + 1
    assert answers[0].json()["version"] == 2


def test_concurrent_creates_with_one_key_create_one_project(client: Any, services: Any, make_tenant: Any) -> None:
    tenant = make_tenant("premium")
    key = f"burst-{uuid.uuid4()}"
    barrier = threading.Barrier(5)

    def create(_: int) -> Any:
        barrier.wait()
        return client.post("/api/v1/projects", json={"title": "burst"}, headers=keyed(tenant, key))

    with ThreadPoolExecutor(5) as pool:
        answers = list(pool.map(create, range(5)))
    assert {r.status_code for r in answers} == {201}, [r.text for r in answers]
    assert len({r.json()["id"] for r in answers}) == 1
    with services.read(scope="system") as conn:
        n = conn.execute("SELECT count(*) AS n FROM projects WHERE tenant_id = %s", (UUID(tenant.id),)).fetchone()
    assert n["n"] == 1


def test_a_key_reused_with_a_different_body_is_refused_with_422(client: Any, services: Any, tenant: Any) -> None:
    key = f"k-{uuid.uuid4()}"
    assert client.post("/api/v1/projects", json={"title": "first"}, headers=keyed(tenant, key)).status_code == 201
    before = events_of(services, tenant.id)
    r = client.post("/api/v1/projects", json={"title": "second"}, headers=keyed(tenant, key))
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "Idempotency-Key"
    assert events_of(services, tenant.id) == before


@pytest.mark.parametrize("bad", ["", "x" * 129, "has space", "semi;colon"])
def test_a_malformed_key_is_refused_naming_the_header(client: Any, tenant: Any, bad: str) -> None:
    r = client.post("/api/v1/projects", json={"title": "t"},
                    headers={**tenant.headers, "Idempotency-Key": bad})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "Idempotency-Key"


def test_keys_are_per_tenant(client: Any, make_tenant: Any) -> None:
    a, b = make_tenant(), make_tenant()
    key = f"shared-{uuid.uuid4()}"
    ra = client.post("/api/v1/projects", json={"title": "same"}, headers=keyed(a, key))
    rb = client.post("/api/v1/projects", json={"title": "same"}, headers=keyed(b, key))
    assert ra.status_code == rb.status_code == 201
    assert ra.json()["id"] != rb.json()["id"]


@pytest.fixture(scope="module")
def live_server(services: Any) -> Any:
    """The real app served by uvicorn on a free port (needed to drop a connection mid-request)."""
    import uvicorn

    from api.app import create_app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(services), host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    yield port
    server.should_exit = True
    thread.join(10)


def raw_request(body: dict[str, Any], headers: dict[str, str]) -> bytes:
    payload = json.dumps(body).encode()
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return (f"POST /api/v1/projects HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\n{head}Connection: close\r\n\r\n").encode() + payload


def key_recorded(services: Any, tenant_id: str, key: str) -> bool:
    with services.read(scope="system") as conn:
        row = conn.execute("SELECT result FROM idempotency_keys WHERE tenant_id = %s AND key = %s",
                           (UUID(tenant_id), key)).fetchone()
    return row is not None and row["result"] is not None


def test_a_retry_after_a_lost_acknowledgement_returns_the_original_result(
        live_server: int, services: Any, tenant: Any) -> None:
    key = f"lost-{uuid.uuid4()}"
    headers = {"Authorization": f"Bearer {tenant.token}", "Idempotency-Key": key}
    before = events_of(services, tenant.id)
    with socket.create_connection(("127.0.0.1", live_server)) as sock:
        sock.sendall(raw_request({"title": "lost ack"}, headers))
        deadline = time.monotonic() + 10
        while not key_recorded(services, tenant.id, key) and time.monotonic() < deadline:
            time.sleep(0.02)  # committed, with its result ...
        assert key_recorded(services, tenant.id, key)
        sock.shutdown(socket.SHUT_RDWR)  # ... but the client never reads the acknowledgement
    committed = events_of(services, tenant.id)
    assert committed > before
    with socket.create_connection(("127.0.0.1", live_server)) as sock:
        sock.sendall(raw_request({"title": "lost ack"}, headers))
        answer = b"".join(iter(lambda: sock.recv(65536), b""))
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 201"), answer[:300]
    assert json.loads(body)["title"] == "lost ack"
    assert events_of(services, tenant.id) == committed
    with services.read(scope="system") as conn:
        titles = conn.execute("SELECT title FROM projects WHERE tenant_id = %s", (UUID(tenant.id),)).fetchall()
    assert [r["title"] for r in titles] == ["lost ack"]
