"""`avm projections status`: every projection's kind, position, lag and state; plain text off a terminal."""
from __future__ import annotations

import os
import pty
import select
import subprocess
from collections.abc import Iterator

import pytest

from projections.inline import INLINE_PROJECTIONS
from tests import support
from tests.integration.test_views_daily_usage import (
    AVM, Store, activity, fresh_store, head_and_position, run_view, wait_caught_up,
)


@pytest.fixture
def store() -> Iterator[Store]:
    yield from fresh_store()


def status(store: Store, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*AVM, "projections", "status"], capture_output=True, text=True, timeout=60,
                          cwd=support.ROOT, env={**os.environ, "DATABASE_URL": store.url, **env})


def table(output: str) -> tuple[list[str], dict[str, list[str]]]:
    header, *rows = [line.split() for line in output.strip().splitlines()]
    return header, {row[0]: row[1:] for row in rows}


def test_status_prints_kind_position_lag_and_state_of_every_projection_as_plain_text(store: Store) -> None:
    activity(store, store.tenant())
    head, _ = head_and_position(store.url)

    result = status(store, AVM_MAX_VIEW_LAG="5")

    assert result.returncode == 0, result.stderr
    header, rows = table(result.stdout)
    assert header == ["name", "kind", "position", "lag", "state", "runner"]
    assert "\x1b[" not in result.stdout and "━" not in result.stdout
    for p in INLINE_PROJECTIONS:
        assert rows[p.name] == ["inline", str(head), "0", "live", "-"]
    assert rows["daily_usage"] == ["async", "0", str(head), "building", "none"]

    stop = run_view(store.url)
    try:
        wait_caught_up(store.url)
        live = status(store, AVM_MAX_VIEW_LAG="5")
    finally:
        stop()
    assert table(live.stdout)[1]["daily_usage"] == ["async", str(head), "0", "live", "active"]


def test_status_draws_a_table_on_a_terminal(store: Store) -> None:
    master, slave = pty.openpty()
    env = {**os.environ, "DATABASE_URL": store.url, "COLUMNS": "120", "TERM": "xterm"}
    proc = subprocess.Popen([*AVM, "projections", "status"], stdout=slave, stderr=slave, cwd=support.ROOT, env=env)
    os.close(slave)
    chunks = []
    try:
        while True:
            ready, _, _ = select.select([master], [], [], 30)
            if not ready:
                break
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the terminal closed: the command is done
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(master)
    assert proc.wait(timeout=30) == 0
    screen = b"".join(chunks).decode("utf-8", errors="replace")

    assert "projections" in screen and "┃" in screen
    for name in ("users", "scenes", "daily_usage", "inline", "async", "live"):
        assert name in screen


@pytest.mark.parametrize("command", ["run", "status"])
def test_projections_run_and_status_have_help(command: str) -> None:
    result = subprocess.run([*AVM, "projections", command, "--help"], capture_output=True, text=True, timeout=60,
                            cwd=support.ROOT)

    assert result.returncode == 0 and "Usage:" in result.stdout
    assert ("safe to run twice" if command == "run" else "inline/async") in result.stdout.lower()
