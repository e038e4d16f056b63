"""The per-tenant hash chain, computed in Python exactly as the database trigger does (for offline verify)."""
from __future__ import annotations

import hashlib
import struct
from datetime import datetime, timezone
from uuid import UUID

GENESIS = bytes(32)
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _lp(value: str | None) -> bytes:
    if value is None:
        return struct.pack(">i", -1)
    raw = value.encode("utf-8")
    return struct.pack(">i", len(raw)) + raw


def _micros(ts: datetime) -> int:
    delta = ts - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def event_bytes(
    *, tenant_id: UUID, tenant_seq: int, originator_id: UUID, originator_version: int,
    topic: str, state: bytes, recorded_at: datetime, actor_id: str | None,
    command_id: str | None, correlation_id: str | None, causation_id: str | None,
    reason: str | None = None,
) -> bytes:
    # A reason is appended only when present (migration 0010): rows without one hash as they
    # always did, and the two forms cannot collide (everything before is fixed-size or prefixed).
    return b"".join((
        tenant_id.bytes, struct.pack(">q", tenant_seq),
        originator_id.bytes, struct.pack(">q", originator_version),
        _lp(topic), struct.pack(">i", len(state)), state,
        struct.pack(">q", _micros(recorded_at)),
        _lp(actor_id), _lp(command_id), _lp(correlation_id), _lp(causation_id),
        b"" if reason is None else _lp(reason),
    ))


def link_hash(prev_hash: bytes, **row: object) -> bytes:
    return hashlib.sha256(prev_hash + event_bytes(**row)).digest()  # type: ignore[arg-type]
