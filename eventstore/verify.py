"""Chain verification: one set of rules for database rows (endpoint, CLI) and for export files (offline)."""
from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from uuid import UUID

from eventstore import jsontext
from eventstore.sealing import Opaque
from eventstore.chain import GENESIS, link_hash

_HASHED = ("tenant_id", "tenant_seq", "originator_id", "originator_version", "topic", "state", "recorded_at",
           "actor_id", "command_id", "correlation_id", "causation_id", "reason")


@dataclass
class ChainReport:
    """The outcome of checking one tenant's chain (or a stretch of it)."""

    tenant_id: str | None
    ok: bool = True
    checked: int = 0
    head_hash: str = GENESIS.hex()
    first_seq: int | None = None
    last_seq: int = 0
    first_bad_position: int | None = None
    first_bad_seq: int | None = None
    reason: str | None = None
    notes: list[str] = field(default_factory=list)

    def fail(self, position: int | None, seq: int | None, reason: str) -> None:
        if self.ok:
            self.ok, self.first_bad_position, self.first_bad_seq, self.reason = False, position, seq, reason


class ChainVerifier:
    """Checks rows fed in chain order, one at a time, in constant memory.

    A row is good when its tenant_seq is the next number, its prev_hash is the hash of the row
    before it, and its hash is sha256(prev_hash || event_bytes(row)). The first row that is not
    good is reported by position (notification_id) and the rest is not examined: after a broken
    link nothing further can be trusted anyway.
    """

    def __init__(self, tenant_id: UUID | str | None = None, *, anchor: bytes | None = GENESIS,
                 start_seq: int | None = 1) -> None:
        # anchor/start_seq None: trust the first row's prev_hash and seq (a stretch of a chain).
        self.tenant = UUID(str(tenant_id)) if tenant_id is not None else None
        self.head = anchor
        self.expected_seq = start_seq
        self.last_position: int | None = None
        self.report = ChainReport(tenant_id=str(tenant_id) if tenant_id is not None else None)
        if anchor is not None:
            self.report.head_hash = anchor.hex()

    def feed(self, row: Mapping[str, Any]) -> bool:
        """Check one row; False once the chain is broken (feed no more)."""
        r = self.report
        if not r.ok:
            return False
        position, seq = row["notification_id"], row["tenant_seq"]
        if self.tenant is None:
            self.tenant = row["tenant_id"]
            r.tenant_id = str(self.tenant)
        if self.expected_seq is None:
            self.expected_seq = seq
        if self.head is None:
            self.head = bytes(row["prev_hash"])
        if r.first_seq is None:
            r.first_seq = seq
        problems = []
        if row["tenant_id"] != self.tenant:
            problems.append(f"the event belongs to tenant {row['tenant_id']}, not {self.tenant}")
        if seq > self.expected_seq:
            missing = (f"tenant_seq {self.expected_seq}" if seq == self.expected_seq + 1
                       else f"tenant_seq {self.expected_seq}..{seq - 1}")
            problems.append(f"{missing} missing before tenant_seq {seq} (an event was removed)")
        elif seq < self.expected_seq:
            problems.append(f"tenant_seq {seq} where {self.expected_seq} was expected (events reordered or duplicated)")
        prev = bytes(row["prev_hash"])
        if prev != self.head:
            problems.append("prev_hash is not the hash of the previous event (an event was removed, inserted "
                            "or reordered)")
        # `reason` may be absent: rows and export lines written before it existed (migration 0010).
        expected_hash = link_hash(prev, **{k: _plain(k, row.get(k)) for k in _HASHED})
        if expected_hash != bytes(row["hash"]):
            problems.append("hash does not match the event's content (a hashed column was changed)")
        if not problems and self.last_position is not None and position <= self.last_position:
            problems.append(f"position {position} is not after position {self.last_position} (events reordered)")
        if problems:
            r.fail(position, seq, "; ".join(problems))
            return False
        self.head = bytes(row["hash"])
        self.expected_seq = seq + 1
        self.last_position = position
        r.checked += 1
        r.head_hash = self.head.hex()
        r.last_seq = seq
        return True

    def feed_all(self, rows: Iterable[Mapping[str, Any]]) -> bool:
        return all(self.feed(row) for row in rows)


def _plain(key: str, value: Any) -> Any:
    if key == "state":
        return bytes(value)
    if key in ("tenant_id", "originator_id") and not isinstance(value, UUID):
        return UUID(str(value))
    return value


def verify_rows(rows: Iterable[Mapping[str, Any]], tenant_id: UUID | str | None = None) -> ChainReport:
    """Verify a whole chain from its first event (rows in tenant_seq order)."""
    verifier = ChainVerifier(tenant_id)
    verifier.feed_all(rows)
    return verifier.report


def verify_pages(pages: Iterable[Iterable[Mapping[str, Any]]], tenant_id: UUID | str | None = None) -> ChainReport:
    """Verify a whole chain read page by page; stops reading at the first broken link."""
    verifier = ChainVerifier(tenant_id)
    for page in pages:
        if not verifier.feed_all(page):
            break
    return verifier.report


# -- export files ----------------------------------------------------------------------------------------
EXPORT_FIELDS = frozenset({
    "position", "tenant_id", "tenant_seq", "aggregate_id", "aggregate_type", "version", "type", "topic",
    "recorded_at", "actor_id", "command_id", "correlation_id", "causation_id", "data", "state_b64",
    "prev_hash", "hash",
})


class BadLine(ValueError):
    """Raised when an export line is not an event this API writes."""


def row_of_line(record: Mapping[str, Any]) -> dict[str, Any]:
    """The database row an export line stands for (what the hash is recomputed from)."""
    missing = EXPORT_FIELDS - record.keys()
    if missing:
        raise BadLine(f"fields missing: {', '.join(sorted(missing))}")
    try:
        recorded_at = datetime.fromisoformat(str(record["recorded_at"]).replace("Z", "+00:00"))
        if recorded_at.tzinfo is None:
            raise ValueError("recorded_at has no time zone")
        row = {
            "notification_id": int(record["position"]), "tenant_id": UUID(str(record["tenant_id"])),
            "tenant_seq": int(record["tenant_seq"]), "originator_id": UUID(str(record["aggregate_id"])),
            "originator_version": int(record["version"]), "topic": str(record["topic"]),
            "state": base64.b64decode(str(record["state_b64"]), validate=True),
            "recorded_at": recorded_at.astimezone(timezone.utc),
            "actor_id": record["actor_id"], "command_id": record["command_id"],
            "correlation_id": record["correlation_id"], "causation_id": record["causation_id"],
            "reason": record.get("reason"),
            "prev_hash": bytes.fromhex(str(record["prev_hash"])), "hash": bytes.fromhex(str(record["hash"])),
        }
    except (ValueError, TypeError, binascii.Error) as exc:
        raise BadLine(f"unreadable field: {exc}") from None
    if row["reason"] is not None and not isinstance(row["reason"], str):
        raise BadLine("unreadable field: reason is not a string")
    return row


@dataclass
class ExportReport(ChainReport):
    """A chain report for an export file, plus what its manifest says and which checkpoint seqs it covered."""

    manifest: dict[str, Any] | None = None
    anchor_hash: str | None = None
    checkpoint_matched: list[int] = field(default_factory=list)


def verify_export(lines: Iterable[bytes | str], derive: Callable[[Mapping[str, Any]], Mapping[str, Any]],
                  expect: Mapping[str, Mapping[int, str]] | None = None) -> ExportReport:
    """Verify an NDJSON export offline, line by line, in constant memory, with no database.

    `derive(row)` returns the fields a line shows but the hash does not cover (`data`, `type`,
    `aggregate_type`), recomputed from the line's raw state and topic: a line whose shown payload
    differs from its hashed bytes is reported. `expect` maps a tenant id to {tenant_seq: hash hex}
    from a signed checkpoint; every such seq the export covers must carry that hash.
    """
    verifier: ChainVerifier | None = None
    report = ExportReport(tenant_id=None)
    manifest: dict[str, Any] | None = None
    wanted: dict[int, str] = {}
    for n, raw in enumerate(lines, start=1):
        if isinstance(raw, bytes):
            raw = raw.decode("utf-8", errors="replace")
        if not raw.strip():
            continue
        problem, position, record = _check_line(n, raw, manifest is not None)
        seq: int | None = None
        if problem is None:
            if "manifest" in record:
                manifest = record["manifest"] if isinstance(record["manifest"], dict) else {}
                continue
            try:
                row = row_of_line(record)
            except BadLine as exc:
                report.fail(position, None, f"line {n}: {exc}")
                break
            position, seq = row["notification_id"], row["tenant_seq"]
            if verifier is None:
                # An export may start mid-chain (since=): anchor on its first line; the manifest
                # (and a checkpoint) tie that anchor down afterwards.
                verifier = ChainVerifier(row["tenant_id"], anchor=None, start_seq=None)
                report = ExportReport(tenant_id=str(row["tenant_id"]), anchor_hash=row["prev_hash"].hex())
                verifier.report = report
                wanted = {int(s): h for s, h in ((expect or {}).get(str(row["tenant_id"])) or {}).items()}
            shown = dict(derive(row))
            shown["data"] = _unsealed_as_shown(shown["data"], record["data"])
            differs = [k for k in ("type", "aggregate_type", "data") if _normal(record[k]) != _normal(shown[k])]
            if differs:
                problem = f"line {n}: {', '.join(differs)} differs from the event's stored bytes (the line was edited)"
            elif not verifier.feed(row):
                break
            elif seq in wanted:
                if wanted[seq] != record["hash"]:
                    problem = f"the hash at tenant_seq {seq} differs from the signed checkpoint"
                else:
                    report.checkpoint_matched.append(seq)
        if problem is not None:
            report.fail(position, seq, problem)
            break
    report.manifest = manifest
    if report.ok:
        _check_manifest(report, manifest)
    return report


def _check_line(n: int, raw: str, after_manifest: bool) -> tuple[str | None, int | None, Any]:
    """(problem, position, decoded line): a problem when the line is no event or manifest of an export."""
    if after_manifest:
        return f"line {n}: content after the manifest", None, None
    try:
        record = jsontext.loads(raw)  # any depth the export was written with
    except ValueError:  # msgspec.DecodeError and json's JSONDecodeError are ValueErrors
        return f"line {n}: not valid JSON", None, None
    if not isinstance(record, dict):
        return f"line {n}: not a JSON object", None, None
    if "manifest" in record:
        return None, None, record
    if "error" in record:
        return f"line {n}: the export was interrupted ({record['error']})", None, None
    return None, record.get("position") if isinstance(record.get("position"), int) else None, record


def _unsealed_as_shown(derived: Any, shown: Any) -> Any:
    """The derived payload with each sealed personal field (read offline as `Opaque`: no key here) taken
    as the line shows it: its clear text (or its redaction) cannot be checked against the ciphertext
    without the tenant's key, but the ciphertext itself is in the hashed state (eventstore/sealing.py).
    Sealed values sit at the payload's top level, or as the elements of a top-level list."""
    if type(derived) is not dict:
        return derived
    if type(shown) is not dict:
        shown = {}
    out = dict(derived)
    for k, v in derived.items():
        if isinstance(v, Opaque):
            out[k] = shown[k] if k in shown else str(v)  # absent from the line: the ciphertext, which differs
        elif type(v) is list and any(isinstance(x, Opaque) for x in v):
            same = type(shown.get(k)) is list and len(shown[k]) == len(v)
            out[k] = [(shown[k][i] if same else str(x)) if isinstance(x, Opaque) else x for i, x in enumerate(v)]
    return out


def _normal(value: Any) -> bytes:
    # Compared as canonical bytes (keys sorted): comparing the decoded values recurses, and a
    # payload may nest deeper than the stack.
    return jsontext.dumps(value, sort_keys=True)


def _check_manifest(report: ExportReport, manifest: dict[str, Any] | None) -> None:
    if manifest is None:
        report.fail(None, None, "no manifest line: the export is incomplete (its tail was cut off)")
        return
    if report.tenant_id is None:
        report.tenant_id = str(manifest.get("tenant_id"))
    empty = report.checked == 0
    checks = [
        ("tenant_id", report.tenant_id), ("count", report.checked),
        ("first_seq", report.first_seq), ("last_seq", None if empty else report.last_seq),
        ("anchor_hash", report.anchor_hash), ("head_hash", None if empty else report.head_hash),
    ]
    for key, actual in checks:
        if manifest.get(key) != actual:
            report.fail(None, None, f"the manifest's {key} is {manifest.get(key)!r} but the lines give {actual!r}"
                                    " (a line was removed or added)")
            return
    if not empty and manifest.get("since") is None and (report.first_seq != 1 or report.anchor_hash != GENESIS.hex()):
        report.fail(None, None, "a full export must start at tenant_seq 1 from the genesis hash")
