"""GET /api/health on a fresh database: projections with position, lag and kind; degraded on view lag; real counts."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from projections.inline import INLINE_PROJECTIONS
from tests import support
from tests.integration.test_views_daily_usage import (
    Store, activity, fresh_store, head_and_position, run_view, wait_caught_up,
)


@pytest.fixture
def store() -> Iterator[Store]:
    yield from fresh_store()


@pytest.fixture
def client(store: Store) -> Iterator[Any]:
    from litestar.testing import TestClient

    from api.app import create_app

    with TestClient(create_app(store.services), raise_server_exceptions=False) as c:
        yield c


def test_health_lists_every_projection_with_its_kind_position_and_lag(store: Store, client: Any) -> None:
    activity(store, store.tenant())
    head, _ = head_and_position(store.url)

    body = client.get("/api/health").json()

    projections = body["checks"]["projections"]
    assert set(projections) == {p.name for p in INLINE_PROJECTIONS} | {"daily_usage"}
    for p in INLINE_PROJECTIONS:
        assert projections[p.name] == {"kind": "inline", "position": head, "lag": 0, "state": "live"}
    assert projections["daily_usage"] == {"kind": "async", "position": 0, "lag": head, "state": "live",
                                          "runner": "none"}


def test_health_is_degraded_but_200_while_an_async_view_lags_more_than_the_threshold(
        store: Store, client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AVM_MAX_VIEW_LAG", "10")
    activity(store, store.tenant())

    lagging = client.get("/api/health")

    assert lagging.status_code == 200
    body = lagging.json()
    assert body["status"] == "degraded"
    assert body["checks"]["degraded"]["views"] == ["daily_usage"]
    assert body["checks"]["projections"]["daily_usage"]["state"] == "building"
    assert body["checks"]["projections"]["daily_usage"]["lag"] > 10

    stop = run_view(store.url)
    try:
        wait_caught_up(store.url)
        caught_up = client.get("/api/health").json()
        assert caught_up["checks"]["projections"]["daily_usage"]["runner"] == "active"
    finally:
        stop()

    assert caught_up["status"] == "healthy"
    assert caught_up["checks"]["projections"]["daily_usage"]["lag"] == 0
    assert "degraded" not in caught_up["checks"]


def test_health_stats_are_real_counts_of_live_users_projects_jobs_assets_and_events(
        store: Store, client: Any) -> None:
    app = store.services.app
    a, b = store.tenant(), store.tenant()
    activity(store, a)  # 1 project, 1 job, 2 sized assets of which one expires
    doomed = app.create_project(store.ctx(b), title="doomed")
    app.delete_project(store.ctx(b), str(doomed.id), None)
    app.create_project(store.ctx(b), title="kept")
    gone = app.register_asset(store.ctx(b), type="json", uri="r2://b/x.json")
    app.delete_asset(store.ctx(b), str(gone.id), None)
    head, _ = head_and_position(store.url)

    stats = client.get("/api/health").json()["stats"]

    assert stats == {"users": 2, "projects": 2, "jobs": 1, "assets": 1, "events": head}


def test_health_is_unhealthy_503_when_the_database_is_unreachable(monkeypatch: pytest.MonkeyPatch) -> None:
    from litestar.testing import TestClient

    from api.app import create_app
    from api.services import Services
    from eventstore.database import Database

    monkeypatch.setenv("AVM_DB_CONNECT_TIMEOUT", "1")
    name, url = support.fresh_database("avm_gone")
    services = Services(Database(url=url, embedded=False), pool_size=1)
    try:
        with TestClient(create_app(services), raise_server_exceptions=False) as client:
            assert client.get("/api/health").json()["status"] == "healthy"
            support.drop_database(name)

            gone = client.get("/api/health")

        assert gone.status_code == 503
        assert gone.json()["status"] == "unhealthy"
        assert gone.json()["checks"]["database"]["connected"] is False
    finally:
        services.close()
        support.drop_database(name)
