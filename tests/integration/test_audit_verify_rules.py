"""The chain verifier's rules on hand-made rows and export lines (no database needed)."""
from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any
from uuid import UUID, uuid4

from eventstore.chain import GENESIS, link_hash
from eventstore.verify import verify_export, verify_pages, verify_rows

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def chain(tenant: UUID, n: int, start_position: int = 10) -> list[dict[str, Any]]:
    rows, prev = [], GENESIS
    aggregate = uuid4()
    for i in range(1, n + 1):
        row = {"notification_id": start_position + 3 * i, "tenant_id": tenant, "tenant_seq": i,
               "originator_id": aggregate, "originator_version": i, "topic": "domain.projects:Project.Renamed",
               "state": json.dumps({"title": f"t{i}"}).encode(), "recorded_at": T0 + timedelta(seconds=i),
               "actor_id": str(tenant), "command_id": None, "correlation_id": f"c{i}", "causation_id": None}
        row["prev_hash"], row["hash"] = prev, link_hash(prev, **{k: v for k, v in row.items() if k != "notification_id"})
        prev = row["hash"]
        rows.append(row)
    return rows


def shown(row: Any) -> dict[str, Any]:
    return {"type": "Project.Renamed", "aggregate_type": "Project", "data": json.loads(bytes(row["state"]))}


def lines_of(rows: list[dict[str, Any]], **manifest: Any) -> list[str]:
    out = []
    for r in rows:
        out.append(json.dumps({
            "position": r["notification_id"], "tenant_id": str(r["tenant_id"]), "tenant_seq": r["tenant_seq"],
            "aggregate_id": str(r["originator_id"]), "aggregate_type": "Project", "version": r["originator_version"],
            "type": "Project.Renamed", "topic": r["topic"], "recorded_at": r["recorded_at"].isoformat(),
            "actor_id": r["actor_id"], "command_id": r["command_id"], "correlation_id": r["correlation_id"],
            "causation_id": r["causation_id"], "data": json.loads(r["state"]),
            "state_b64": base64.b64encode(r["state"]).decode(), "prev_hash": r["prev_hash"].hex(),
            "hash": r["hash"].hex()}))
    m = {"tenant_id": str(rows[0]["tenant_id"]) if rows else None, "count": len(rows),
         "first_seq": rows[0]["tenant_seq"] if rows else None, "last_seq": rows[-1]["tenant_seq"] if rows else None,
         "anchor_hash": rows[0]["prev_hash"].hex() if rows else None,
         "head_hash": rows[-1]["hash"].hex() if rows else None, "since": None, **manifest}
    out.append(json.dumps({"manifest": m}))
    return out


def test_an_intact_chain_verifies_with_its_head_and_an_empty_one_with_the_genesis_hash():
    tenant = uuid4()
    rows = chain(tenant, 5)

    report = verify_rows(rows, tenant)
    empty = verify_rows([], tenant)

    assert report.ok and report.checked == 5 and report.head_hash == rows[-1]["hash"].hex() and report.last_seq == 5
    assert empty.ok and empty.checked == 0 and empty.head_hash == GENESIS.hex()


def test_a_row_of_another_tenant_inside_a_chain_is_reported():
    tenant = uuid4()
    rows = chain(tenant, 3)
    rows[1] = {**rows[1], "tenant_id": uuid4()}

    report = verify_rows(rows, tenant)

    assert not report.ok and report.first_bad_position == rows[1]["notification_id"]
    assert "belongs to tenant" in (report.reason or "")


def test_a_position_that_goes_backwards_is_reported_as_a_reordering():
    tenant = uuid4()
    rows = chain(tenant, 3)
    rows[2] = {**rows[2], "notification_id": rows[0]["notification_id"] - 1}

    report = verify_rows(rows, tenant)

    assert not report.ok and report.first_bad_seq == 3 and "reordered" in (report.reason or "")


def test_verifying_pages_stops_reading_at_the_first_broken_link():
    tenant = uuid4()
    rows = chain(tenant, 6)
    rows[1] = {**rows[1], "actor_id": "mallory"}
    read: list[int] = []

    def pages() -> Iterator[list[dict[str, Any]]]:
        for i in range(0, 6, 2):
            read.append(i)
            yield rows[i:i + 2]

    report = verify_pages(pages(), tenant)

    assert not report.ok and report.first_bad_seq == 2 and report.checked == 1
    assert read == [0]


def test_an_export_verifies_line_by_line_and_its_manifest_must_agree():
    rows = chain(uuid4(), 4)

    assert verify_export(lines_of(rows), shown).ok
    wrong_count = verify_export(lines_of(rows, count=5), shown)
    assert not wrong_count.ok and "count" in (wrong_count.reason or "")


def test_a_full_export_missing_its_first_event_is_refused_even_with_a_matching_manifest():
    rows = chain(uuid4(), 4)

    report = verify_export(lines_of(rows[1:]), shown)

    assert not report.ok and "tenant_seq 1" in (report.reason or "")
    stretch = verify_export(lines_of(rows[1:], since="2026-01-01T00:00:01Z"), shown)
    assert stretch.ok and stretch.first_seq == 2  # an export with since= may start mid-chain


def test_an_export_with_anything_after_its_manifest_or_an_interruption_line_is_refused():
    rows = chain(uuid4(), 2)

    appended = verify_export(lines_of(rows) + [lines_of(rows)[0]], shown)
    interrupted = verify_export(lines_of(rows)[:-1] + ['{"error": {"detail": "export interrupted"}}'], shown)
    garbage = verify_export(["not json"] + lines_of(rows), shown)

    assert not appended.ok and "after the manifest" in (appended.reason or "")
    assert not interrupted.ok and "interrupted" in (interrupted.reason or "")
    assert not garbage.ok and "line 1: not valid JSON" in (garbage.reason or "")


def test_an_export_matching_a_checkpoint_is_noted_and_a_different_hash_is_refused():
    rows = chain(uuid4(), 3)
    tenant = str(rows[0]["tenant_id"])

    good = verify_export(lines_of(rows), shown, {tenant: {2: rows[1]["hash"].hex()}})
    bad = verify_export(lines_of(rows), shown, {tenant: {2: "00" * 32}})

    assert good.ok and good.checkpoint_matched == [2]
    assert not bad.ok and bad.first_bad_seq == 2 and "checkpoint" in (bad.reason or "")


def test_an_export_cut_by_a_database_failure_ends_with_an_error_line_and_never_verifies():
    from contextlib import contextmanager

    from projections.audit import export_lines

    rows = chain(uuid4(), 4)
    calls = []

    class Conn:
        def execute(self, query: str, params: Any = None, **kw: Any) -> Any:
            calls.append(params)
            if len(calls) > 1:
                raise OSError("connection lost")
            return self

        def fetchall(self) -> list[dict[str, Any]]:
            return rows[:2]

    @contextmanager
    def connect() -> Iterator[Conn]:
        yield Conn()

    out = b"".join(export_lines(connect, json.loads, rows[0]["tenant_id"], after_seq=0, upto_seq=4, page_size=2))

    lines = out.splitlines()
    assert len(lines) == 3 and json.loads(lines[-1])["error"]["count"] == 2
    report = verify_export(lines, shown)
    assert not report.ok and "interrupted" in (report.reason or "")
