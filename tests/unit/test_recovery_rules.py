"""The rules of backup and restore that need no database: which tools, and reading the erasure ledger."""
from __future__ import annotations

import json
import stat
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from api.cli import db_backup
from eventstore import backup as b


def _fake_tools(directory: Path, version: str) -> Path:
    directory.mkdir(parents=True)
    for name in ("pg_dump", "pg_restore"):
        tool = directory / name
        tool.write_text(f"#!/bin/sh\necho '{name} (PostgreSQL) {version}'\n")
        tool.chmod(tool.stat().st_mode | stat.S_IEXEC)
    return directory


def test_the_tools_must_match_the_servers_major_version_or_the_error_says_what_was_found(tmp_path: Path) -> None:
    old = _fake_tools(tmp_path / "15", "15.20")
    new = _fake_tools(tmp_path / "18", "18.6")
    assert b.find_tools(18, False, [old, new]) == b.Tools(new, 18)
    with pytest.raises(b.BackupError) as refused:
        b.find_tools(17, False, [old, new])
    message = str(refused.value)
    assert "no pg_dump/pg_restore of PostgreSQL 17" in message and "(15)" in message and "AVM_PG_BIN" in message


def test_every_ledger_entry_is_reapplied_and_those_after_the_backup_are_marked(tmp_path: Path) -> None:
    ledger = tmp_path / "erasure-ledger.jsonl"
    ledger.write_text("\n".join(json.dumps(e) for e in [
        {"tenant_id": "11111111-1111-1111-1111-111111111111", "erased_at": "2026-01-01T00:00:00Z", "by": "a"},
        {"tenant_id": "22222222-2222-2222-2222-222222222222", "erased_at": "2026-03-01T00:00:00+00:00", "by": "b"},
        {"tenant_id": "11111111-1111-1111-1111-111111111111", "erased_at": "2026-01-02T00:00:00Z", "by": "a"},
    ]) + "\n\n")
    manifest = {"created_at": "2026-02-01T00:00:00Z"}

    @click.command()
    def run() -> None:
        assert db_backup._reapply_erasure_ledger(ledger, manifest) == [
            "11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222"]

    result = CliRunner().invoke(run, [], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "tenant 22222222-2222-2222-2222-222222222222 (erased after this backup)" in result.output
    assert "tenant 11111111-1111-1111-1111-111111111111\n" in result.output
    assert "2 tenant(s) to erase again, 1 erased after the backup" in result.output


def test_no_ledger_is_no_erasure_and_a_broken_ledger_line_stops_the_restore(tmp_path: Path) -> None:
    @click.command()
    def missing() -> None:
        assert db_backup._reapply_erasure_ledger(tmp_path / "none.jsonl", {}) == []

    assert "no erasure to re-apply" in CliRunner().invoke(missing, []).output
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"tenant_id": "x"}\n{"erased_at": "2026-01-01"}\n')
    with pytest.raises(click.ClickException, match="line 2 is not an erasure entry"):
        db_backup.read_ledger(broken)
