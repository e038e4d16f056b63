"""Two `avm projections run` at once: one works, the other waits, and takes over when the first stops."""
from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from projections.views import lock_key
from tests.integration.test_views_daily_usage import (
    Store, activity, fresh_store, from_scratch, start_runner, view_rows, wait_caught_up, wait_for_line,
)


@pytest.fixture
def store() -> Iterator[Store]:
    yield from fresh_store()


def lock_holders(url: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND objid::bigint = %s"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            (lock_key("daily_usage"),)).fetchone()[0]


def test_two_runners_stay_alive_count_each_event_once_and_the_second_takes_over_when_the_first_stops(
        store: Store, tmp_path: Path) -> None:
    tenant = store.tenant()
    activity(store, tenant)
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    first = start_runner(store.url, first_log)
    second = None
    try:
        wait_for_line(first_log, "daily_usage: active")
        second = start_runner(store.url, second_log)
        wait_for_line(second_log, "daily_usage: waiting (another runner is active)")

        # Both run while events keep arriving; only one of them projects.
        activity(store, tenant, rounds=3)
        wait_caught_up(store.url)
        assert first.poll() is None and second.poll() is None
        assert lock_holders(store.url) == 1
        assert "daily_usage: active" not in second_log.read_text()
        assert view_rows(store.url) == from_scratch(store.url, store.services.app.mapper)

        # The first stops cleanly; the second takes over from the first's position.
        first.send_signal(signal.SIGTERM)
        assert first.wait(timeout=20) == 0
        assert "projectors stopped" in first_log.read_text()
        wait_for_line(second_log, "daily_usage: active from position")
        activity(store, store.tenant(), rounds=2)
        wait_caught_up(store.url)
        assert second.poll() is None
        assert lock_holders(store.url) == 1
        assert view_rows(store.url) == from_scratch(store.url, store.services.app.mapper)
    finally:
        for runner in (first, second):
            if runner is not None and runner.poll() is None:
                runner.send_signal(signal.SIGTERM)
                runner.wait(timeout=20)
    assert second.returncode == 0, second_log.read_text()


def test_compose_runs_the_projector_from_the_api_image_once_migrated() -> None:
    import yaml

    from tests import support

    services = yaml.safe_load((support.ROOT / "docker-compose.yml").read_text())["services"]

    projector = services["projector"]
    assert projector["command"] == ["avm", "projections", "run"]
    assert projector["build"] == services["api"]["build"]
    # the same database as the API's, logged in as the projector role (not the app's, not the owner's)
    projector_url, api_url = projector["environment"]["DATABASE_URL"], services["api"]["environment"]["DATABASE_URL"]
    assert projector_url.startswith("postgresql://avm_projector:") and api_url.startswith("postgresql://avm_app:")
    assert projector_url.rsplit("@", 1)[1] == api_url.rsplit("@", 1)[1]
    assert projector["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
