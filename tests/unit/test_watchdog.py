"""The embedded PostgreSQL watchdog's pure parts: backoff, reading postmaster.pid, its status file.
(The healing itself is shown by tests/faults/test_embedded_heals.py, with real processes.)"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from eventstore import watchdog as w


def test_backoff_doubles_from_half_a_second_to_a_ten_second_cap() -> None:
    assert [w.backoff(n) for n in range(1, 9)] == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0, 10.0]


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def write_pidfile(pgdata: Path, pid: int | str) -> None:
    pgdata.mkdir(parents=True, exist_ok=True)
    (pgdata / "postmaster.pid").write_text(f"{pid}\n{pgdata}\n1700000000\n5432\n{pgdata}\n\n  1 2\nready\n")


def test_no_postmaster_pid_means_stopped_on_purpose(tmp_path: Path) -> None:
    assert w.inspect(tmp_path / "pg") is None


def test_a_dead_postmaster_is_seen_dead_with_its_socket(tmp_path: Path) -> None:
    pgdata = tmp_path / "pg"
    pid = dead_pid()
    write_pidfile(pgdata, pid)
    assert w.inspect(pgdata) == w.Postmaster(pid, "5432", str(pgdata), alive=False, process_exists=False)


def test_a_pid_taken_by_another_process_is_not_a_live_postmaster(tmp_path: Path) -> None:
    pgdata = tmp_path / "pg"
    write_pidfile(pgdata, os.getpid())  # this python process: alive, but no postgres of pgdata
    pm = w.inspect(pgdata)
    assert pm is not None and not pm.alive and pm.process_exists


def test_a_torn_postmaster_pid_is_unreadable_not_dead(tmp_path: Path) -> None:
    pgdata = tmp_path / "pg"
    write_pidfile(pgdata, "")
    with pytest.raises(w._Unreadable):
        w.inspect(pgdata)


def test_a_status_file_of_a_dead_process_is_ignored(tmp_path: Path) -> None:
    pgdata = tmp_path / "pg"
    pgdata.mkdir()
    status = {"pid": os.getpid(), "state": "up", "restarts": 3, "since": 0}
    (tmp_path / w.STATUS_FILE).write_text(json.dumps(status))
    assert w.read_status(pgdata) == status
    (tmp_path / w.STATUS_FILE).write_text(json.dumps({**status, "pid": dead_pid()}))
    assert w.read_status(pgdata) is None


def test_the_watchdog_is_on_unless_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AVM_DB_WATCHDOG", raising=False)
    assert w.enabled()
    monkeypatch.setenv("AVM_DB_WATCHDOG", "0")
    assert not w.enabled()
