"""`kill -9` of the projector at any moment loses nothing and counts nothing twice."""
from __future__ import annotations

import os
import random
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from domain.errors import QuotaExceeded
from tests.integration.test_views_daily_usage import (
    Store, activity, fresh_store, from_scratch, head_and_position, start_runner, view_rows, wait_caught_up,
    wait_for_line,
)

KILLS = 6


@pytest.fixture
def store() -> Iterator[Store]:
    yield from fresh_store()


def test_sigkilling_the_runner_at_random_moments_while_events_arrive_loses_and_doubles_nothing(
        store: Store, tmp_path: Path) -> None:
    seed = int(os.environ.get("AVM_TEST_SEED", time.time_ns() % 1_000_000))
    rng = random.Random(seed)
    stop_writing = threading.Event()
    written = {"rounds": 0}
    errors: list[BaseException] = []

    def write() -> None:
        tenant = store.tenant()
        try:
            while not stop_writing.is_set():
                try:
                    activity(store, tenant)
                except QuotaExceeded:
                    tenant = store.tenant()
                    continue
                written["rounds"] += 1
                if written["rounds"] % 5 == 0:
                    tenant = store.tenant()
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            errors.append(exc)

    writer = threading.Thread(target=write)
    writer.start()
    log = tmp_path / "runner.log"
    positions = []
    try:
        for i in range(KILLS):
            offset = log.stat().st_size if log.exists() else 0
            runner = start_runner(store.url, log)
            if i % 3 == 1:  # while it starts up
                time.sleep(rng.uniform(0.0, 1.0))
            else:  # while it catches up on what arrived since the last kill, or follows live
                wait_for_line(log, "daily_usage: active from position", after=offset)
                time.sleep(rng.uniform(0.0, 1.5))
            runner.send_signal(signal.SIGKILL)
            assert runner.wait(timeout=10) == -signal.SIGKILL
            positions.append(head_and_position(store.url)[1])
    finally:
        stop_writing.set()
        writer.join(timeout=60)
    assert not errors, errors
    assert written["rounds"] > KILLS
    # The runners did work between the kills, and never went back.
    assert positions == sorted(positions) and len(set(positions)) >= 3, (seed, positions)

    runner = start_runner(store.url, log)
    try:
        wait_for_line(log, "daily_usage: active from position", after=log.read_text().rfind("projectors:") + 1)
        wait_caught_up(store.url, timeout=40)
        assert view_rows(store.url) == from_scratch(store.url, store.services.app.mapper), f"seed {seed}"
    finally:
        runner.send_signal(signal.SIGTERM)
        assert runner.wait(timeout=20) == 0, log.read_text()
