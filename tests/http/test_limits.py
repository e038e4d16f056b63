"""Limits: per-token rate limiting, body size, and timeouts that turn a stuck database into a quick 503."""
from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest


@pytest.fixture
def limited_client(services: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from litestar.testing import TestClient

    from api.app import create_app

    monkeypatch.setenv("AVM_RATE_LIMIT", "5")
    monkeypatch.setenv("AVM_RATE_LIMIT_PREMIUM", "20")
    with TestClient(create_app(services), raise_server_exceptions=False) as c:
        yield c


def test_a_user_token_over_its_rate_gets_429_with_ratelimit_headers(limited_client: Any, make_tenant: Any) -> None:
    tenant = make_tenant()
    # Litestar's limiter counts in wall-clock seconds (the window resets at int(time()) + 1): send
    # the burst just after a second starts, so that it is not split across two windows.
    time.sleep(1.0 - time.time() % 1.0 + 0.01)
    sent, answers = [], []
    for _ in range(8):
        sent.append(int(time.time()))
        answers.append(limited_client.get("/api/v1/projects", headers=tenant.headers))
    codes = [r.status_code for r, second in zip(answers, sent) if second == sent[0]]
    assert len(codes) >= 6, f"the burst took over a second: {sent}"
    assert codes[:5] == [200] * 5 and set(codes[5:]) == {429}, codes
    limited = next(r for r in answers if r.status_code == 429)
    assert limited.headers["content-type"].startswith("application/problem+json")
    assert limited.headers["ratelimit-limit"] == "5"
    assert limited.headers["ratelimit-remaining"] == "0"
    assert "ratelimit-reset" in limited.headers and "ratelimit-policy" in limited.headers
    assert answers[0].headers["ratelimit-limit"] == "5"


def test_premium_tokens_get_a_higher_rate_and_limits_are_per_token(limited_client: Any, make_tenant: Any) -> None:
    premium, user = make_tenant("premium"), make_tenant()
    codes = [limited_client.get("/api/v1/projects", headers=premium.headers).status_code for _ in range(12)]
    assert codes == [200] * 12
    assert limited_client.get("/api/v1/projects", headers=user.headers).status_code == 200


def test_a_body_over_the_size_limit_gets_413_problem(client: Any, tenant: Any) -> None:
    body = b'{"title": "' + b"x" * 2_000_000 + b'"}'
    r = client.post("/api/v1/projects", content=body, headers={**tenant.headers, "Content-Type": "application/json"})
    assert r.status_code == 413
    assert r.headers["content-type"].startswith("application/problem+json")


@pytest.fixture
def impatient_client(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from litestar.testing import TestClient

    from api.app import create_app
    from api.services import Services
    from eventstore.database import Database

    monkeypatch.setenv("AVM_DB_LOCK_TIMEOUT", "1")
    monkeypatch.setenv("AVM_DB_STATEMENT_TIMEOUT_MS", "1000")
    monkeypatch.setenv("AVM_RATE_LIMIT", "100000")
    services = Services(Database(url=database_url, embedded=False), pool_size=4)
    with TestClient(create_app(services), raise_server_exceptions=False) as c:
        yield c
    services.close()


def test_a_stuck_database_answers_503_with_retry_after_within_seconds(
        impatient_client: Any, make_tenant: Any, database_url: str) -> None:
    tenant = make_tenant("premium")
    project = impatient_client.post("/api/v1/projects", json={"title": "before"}, headers=tenant.headers).json()
    locked, release = threading.Event(), threading.Event()

    def hold_lock() -> None:
        with psycopg.connect(database_url) as conn, conn.transaction():
            conn.execute("LOCK TABLE events, projects IN ACCESS EXCLUSIVE MODE")
            locked.set()
            release.wait(20)

    holder = threading.Thread(target=hold_lock)
    holder.start()
    try:
        assert locked.wait(10)
        for method, path, body in (("POST", "/api/v1/projects", {"title": "stuck"}),
                                   ("GET", f"/api/v1/projects/{project['id']}", None)):
            started = time.monotonic()
            r = impatient_client.request(method, path, json=body, headers=tenant.headers)
            elapsed = time.monotonic() - started
            assert r.status_code == 503, (method, r.status_code, r.text)
            assert r.headers["retry-after"].isdigit()
            assert r.json()["status"] == 503 and "Traceback" not in r.text
            assert elapsed < 5, (method, elapsed)
    finally:
        release.set()
        holder.join()
    assert impatient_client.get(f"/api/v1/projects/{project['id']}", headers=tenant.headers).status_code == 200
