"""GET /api/v1/me/usage and /api/v1/admin/stats, served from the asynchronous daily usage view."""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from domain.application import CommandContext
from tests.http.helpers import ENGLISH_STORY
from tests.integration.test_views_daily_usage import Store, fresh_store, run_view, wait_caught_up

USAGE = "/api/v1/me/usage"
STATS = "/api/v1/admin/stats"


@dataclass
class Caller:
    id: str
    headers: dict[str, str]


@pytest.fixture
def store() -> Iterator[Store]:
    yield from fresh_store()


@pytest.fixture
def client(store: Store) -> Iterator[Any]:
    from litestar.testing import TestClient

    from api.app import create_app

    stop = run_view(store.url)
    try:
        with TestClient(create_app(store.services), raise_server_exceptions=False) as c:
            yield c
    finally:
        stop()


def caller(store: Store, role: str = "premium") -> Caller:
    user, token = store.services.app.register_user(
        CommandContext.system("tests"), email=f"u-{uuid.uuid4().hex[:12]}@example.com", name="U", role=role)
    return Caller(str(user.id), {"Authorization": f"Bearer {token}"})


def make_projects(client: Any, who: Caller, count: int, story: bool = False) -> int:
    """Creates projects over HTTP; returns the number of scenes their stories made."""
    scenes = 0
    for i in range(count):
        r = client.post("/api/v1/projects", json={"title": f"P{i}"}, headers=who.headers)
        assert r.status_code == 201, r.text
        if story:
            s = client.put(f"/api/v1/projects/{r.json()['id']}/story", json={"text": ENGLISH_STORY},
                           headers=who.headers)
            assert s.status_code == 200, s.text
            scenes += len(s.json()["items"])
    return scenes


def test_my_usage_shows_only_the_callers_days_with_today_last(store: Store, client: Any) -> None:
    me, other = caller(store), caller(store)
    scenes = make_projects(client, me, 2, story=True)
    make_projects(client, other, 1)
    wait_caught_up(store.url)

    r = client.get(USAGE, headers=me.headers)

    assert r.status_code == 200, r.text
    body = r.json()
    today = datetime.now(timezone.utc).date()
    assert body["tenant_id"] == me.id
    assert (body["since"], body["until"]) == ((today - timedelta(days=6)).isoformat(), today.isoformat())
    assert [d["day"] for d in body["items"]] == [(today - timedelta(days=i)).isoformat() for i in range(6, -1, -1)]
    assert body["items"][-1]["projects_created"] == 2
    assert body["items"][-1]["scenes_created"] == scenes > 0
    assert sum(d["projects_created"] for d in body["items"]) == 2
    assert body["view"] == {"name": "daily_usage", "position": body["view"]["position"], "lag": 0, "state": "live"}
    assert client.get(USAGE, headers=other.headers).json()["items"][-1]["projects_created"] == 1


def test_my_usage_reports_storage_held_and_cost_of_renders(store: Store, client: Any) -> None:
    me = caller(store)
    worker = caller(store, "worker")
    make_projects(client, me, 1, story=True)
    project = client.get("/api/v1/projects", headers=me.headers).json()["items"][0]["id"]
    job = client.post(f"/api/v1/projects/{project}/jobs", json={}, headers=me.headers)
    assert job.status_code == 201, job.text
    assert client.post("/api/v1/jobs/claim", headers=worker.headers).status_code == 200
    assert client.post(f"/api/v1/jobs/{job.json()['id']}/complete", json={"cost_actual": 1.5},
                       headers=worker.headers).status_code == 200
    for size in (1000, 24):
        asset = client.post("/api/v1/assets", json={"type": "image", "uri": "r2://b/k.png", "size_bytes": size},
                            headers=me.headers)
        assert asset.status_code == 201, asset.text
    assert client.delete(f"/api/v1/assets/{asset.json()['id']}", headers=me.headers).status_code == 204
    wait_caught_up(store.url)

    today = client.get(USAGE, params={"days": 1}, headers=me.headers).json()["items"]

    assert len(today) == 1
    assert today[0]["renders_succeeded"] == 1 and today[0]["renders_failed"] == 0
    assert today[0]["cost_actual"] == 1.5
    assert today[0]["cost_estimated"] == pytest.approx(job.json()["estimate"]["expected"])
    assert (today[0]["storage_bytes_added"], today[0]["storage_bytes_removed"], today[0]["storage_bytes"]) == (
        1024, 24, 1000)


@pytest.mark.parametrize("days", ["0", "91", "-1", "seven"])
def test_usage_days_outside_1_to_90_are_refused_naming_the_parameter(store: Store, client: Any, days: str) -> None:
    r = client.get(USAGE, params={"days": days}, headers=caller(store).headers)

    assert r.status_code in (400, 422)
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "days" in r.text


def test_usage_of_up_to_90_days_answers_every_day(store: Store, client: Any) -> None:
    r = client.get(USAGE, params={"days": 90}, headers=caller(store).headers)

    assert r.status_code == 200
    assert len(r.json()["items"]) == 90


def test_usage_and_stats_need_a_token(client: Any) -> None:
    assert client.get(USAGE).status_code == 401
    assert client.get(STATS).status_code == 401


def test_admin_stats_add_up_every_tenant_per_day(store: Store, client: Any) -> None:
    a, b, admin = caller(store), caller(store), caller(store, "admin")
    make_projects(client, a, 2)
    make_projects(client, b, 1)
    wait_caught_up(store.url)

    r = client.get(STATS, params={"days": 3}, headers=admin.headers)

    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert len(items) == 3
    assert items[-1]["projects_created"] == 3 and items[-1]["active_tenants"] == 2
    assert [d["projects_created"] for d in items[:-1]] == [0, 0]
    assert r.json()["view"]["lag"] == 0


def test_admin_stats_are_refused_to_everyone_else(store: Store, client: Any) -> None:
    for role in ("user", "premium", "worker"):
        r = client.get(STATS, headers=caller(store, role).headers)
        assert r.status_code == 403, (role, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
