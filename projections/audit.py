"""Audit reads over the event log: a tenant's events in order, its chain in pages, heads, and the export lines."""
from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import datetime, timezone
from typing import Any
from uuid import UUID

from domain.shared import LEGACY_DELETED_TOPIC, LEGACY_RESTORED_TOPIC, event_type, jsonable
from eventstore import jsontext

log = logging.getLogger("avm.audit")

# Every column the hash covers, plus position, links: what list, export and verify read.
CHAIN_COLUMNS = ("notification_id, tenant_id, tenant_seq, originator_id, originator_version, topic, state,"
                 " recorded_at, actor_id, command_id, correlation_id, causation_id, reason, prev_hash, hash")
EXPORT_FORMAT = "avm-audit-export/1"
PAGE_SIZE = 1000
GENESIS_HEX = "00" * 32

Connect = Callable[[], AbstractContextManager[Any]]
Decode = Callable[[bytes], dict[str, Any]]

_encode = jsontext.dumps  # msgspec, and any depth a stored payload has


def safe_decode(decode: Decode, state: bytes) -> dict[str, Any]:
    """The event's payload; a state that no longer decodes (tampered bytes) is reported, not raised."""
    try:
        data = decode(state)
    except Exception:  # noqa: BLE001 - a broken payload must not break an audit read
        return {"_undecodable": "the stored state is not a valid event payload"}
    if not isinstance(data, dict):
        return {"_undecodable": "the stored state is not a valid event payload"}
    data.pop("originator_topic", None)
    return data


# -- queries (every one starts WHERE tenant_id = … and walks events_tenant_seq_idx or _recorded_idx) ----------
def tenant_exists(conn: Any, tenant_id: UUID) -> bool:
    """A tenant exists when it has events (every user's trail starts with User.Registered)."""
    return conn.execute("SELECT 1 FROM events WHERE tenant_id = %s ORDER BY tenant_seq LIMIT 1",
                        (tenant_id,), prepare=True).fetchone() is not None


def seq_of_position(conn: Any, tenant_id: UUID, position: int) -> int:
    """The tenant's last chain sequence number at or before a (global) position; 0 before its first event.
    Positions and sequence numbers grow together (both are assigned under the events table's lock)."""
    # Walks the tenant's own chain backwards (events_tenant_seq_idx): a cursor from the last page stops at once,
    # and no position, however foreign, makes it read another tenant's rows.
    # (`+ 0` keeps the planner off the global notification_id index, whose rows it would then sort.)
    row = conn.execute(_SEQ_OF_POSITION, (tenant_id, position), prepare=True).fetchone()
    return int(row["tenant_seq"]) if row else 0


_SEQ_OF_POSITION = ("SELECT tenant_seq FROM events WHERE tenant_id = %s AND notification_id + 0 <= %s"
                    " ORDER BY tenant_seq DESC LIMIT 1")


async def aseq_of_position(conn: Any, tenant_id: UUID, position: int) -> int:
    """`seq_of_position` on an async connection (api/services.py AsyncReads)."""
    row = await (await conn.execute(_SEQ_OF_POSITION, (tenant_id, position), prepare=True)).fetchone()
    return int(row["tenant_seq"]) if row else 0


def _legacy_topic(type_: str) -> str | None:
    """The legacy topic an `<Aggregate>.Deleted` / `.Restored` filter also covers (i12-events)."""
    aggregate, _, name = type_.partition(".")
    if aggregate and aggregate != "TenantAggregate" and name in ("Deleted", "Restored"):
        return LEGACY_DELETED_TOPIC if name == "Deleted" else LEGACY_RESTORED_TOPIC
    return None


def list_events(conn: Any, tenant_id: UUID, **filters: Any) -> list[dict[str, Any]]:
    """The tenant's events after `after_seq` in chain order, filtered; keyset-paginated by tenant_seq."""
    return conn.execute(*list_events_query(tenant_id, **filters)).fetchall()  # type: ignore[no-any-return]


async def alist_events(conn: Any, tenant_id: UUID, **filters: Any) -> list[dict[str, Any]]:
    """`list_events` on an async connection (api/services.py AsyncReads)."""
    query, args = list_events_query(tenant_id, **filters)
    return await (await conn.execute(query, args, prepare=True)).fetchall()  # type: ignore[no-any-return]


def list_events_query(tenant_id: UUID, *, limit: int, after_seq: int = 0, aggregate_id: UUID | None = None,
                      type_: str | None = None, actor_id: str | None = None, since: datetime | None = None,
                      until: datetime | None = None) -> tuple[str, list[Any]]:
    """The statement and parameters of `list_events`."""
    where = ["tenant_id = %s", "tenant_seq > %s"]
    args: list[Any] = [tenant_id, after_seq]
    if aggregate_id is not None:
        where.append("originator_id = %s")
        args.append(aggregate_id)
    if type_:
        # 'Project.Renamed' matches 'domain.projects:Project.Renamed'; 'Deleted' matches every '….Deleted'.
        match = "right(topic, %s) = %s OR right(topic, %s) = %s"
        args += [len(type_) + 1, ":" + type_, len(type_) + 1, "." + type_]
        legacy = _legacy_topic(type_)
        if legacy is not None:
            # 'Project.Deleted' also matches the legacy 'TenantAggregate.Deleted' of a project: the
            # aggregate's type is the one its first event (Created / Registered) was recorded with.
            match += (" OR (topic = %s AND EXISTS (SELECT 1 FROM events c WHERE c.originator_id = events.originator_id"
                      " AND c.originator_version = 1 AND c.tenant_id = events.tenant_id"
                      " AND left(split_part(c.topic, ':', 2), %s) = %s))")
            prefix = type_.split(".", 1)[0] + "."
            args += [legacy, len(prefix), prefix]
        where.append(f"({match})")
    if actor_id is not None:
        where.append("actor_id = %s")
        args.append(actor_id)
    if since is not None:
        where.append("recorded_at >= %s")
        args.append(since)
    if until is not None:
        where.append("recorded_at < %s")
        args.append(until)
    args.append(limit)
    return f"SELECT {CHAIN_COLUMNS} FROM events WHERE {' AND '.join(where)} ORDER BY tenant_seq LIMIT %s", args


def get_head(conn: Any, tenant_id: UUID) -> dict[str, Any] | None:
    """The tenant's last event: its seq, hash, time and position (None for an empty trail)."""
    return conn.execute(
        "SELECT tenant_id, tenant_seq, hash, recorded_at, notification_id FROM events WHERE tenant_id = %s"
        " ORDER BY tenant_seq DESC LIMIT 1", (tenant_id,), prepare=True).fetchone()


def seq_bounds(conn: Any, tenant_id: UUID, since: datetime | None = None,
               until: datetime | None = None) -> tuple[int, int]:
    """(after_seq, upto_seq): the contiguous stretch of the chain recorded in [since, until), fixed now.

    Record times rise with tenant_seq (both are assigned under the events table lock), so a time
    window is one unbroken run of the chain; the upper bound is the head at the time of the call,
    which keeps a long export consistent while new events keep arriving.
    """
    head = get_head(conn, tenant_id)
    if head is None:
        return 0, 0
    after_seq, upto_seq = 0, head["tenant_seq"]
    if since is not None:
        row = conn.execute(
            "SELECT tenant_seq FROM events WHERE tenant_id = %s AND recorded_at >= %s"
            " ORDER BY recorded_at, tenant_seq LIMIT 1", (tenant_id, since), prepare=True).fetchone()
        after_seq = row["tenant_seq"] - 1 if row else upto_seq
    if until is not None:
        row = conn.execute(
            "SELECT tenant_seq FROM events WHERE tenant_id = %s AND recorded_at < %s"
            " ORDER BY recorded_at DESC, tenant_seq DESC LIMIT 1", (tenant_id, until), prepare=True).fetchone()
        upto_seq = min(upto_seq, row["tenant_seq"]) if row else 0
    return after_seq, max(upto_seq, after_seq)


def chain_page(conn: Any, tenant_id: UUID, after_seq: int, upto_seq: int, limit: int) -> list[dict[str, Any]]:
    return conn.execute(
        f"SELECT {CHAIN_COLUMNS} FROM events WHERE tenant_id = %s AND tenant_seq > %s AND tenant_seq <= %s"
        " ORDER BY tenant_seq LIMIT %s", (tenant_id, after_seq, upto_seq, limit), prepare=True).fetchall()


def iter_chain(connect: Connect, tenant_id: UUID, *, after_seq: int = 0, upto_seq: int | None = None,
               page_size: int = PAGE_SIZE) -> Iterator[list[dict[str, Any]]]:
    """The tenant's chain in pages of at most `page_size` rows, oldest first.

    Each page is its own short statement on a pooled connection (keyset on tenant_seq), so memory
    stays flat, no transaction stays open while a slow client reads, and no connection is held
    between pages.
    """
    if upto_seq is None:
        with connect() as conn:
            head = get_head(conn, tenant_id)
        upto_seq = head["tenant_seq"] if head else 0
    last = after_seq
    while last < upto_seq:
        with connect() as conn:
            rows = chain_page(conn, tenant_id, last, upto_seq, page_size)
        if not rows:
            return
        yield rows
        # Rows come in tenant_seq order; a tampered chain may skip numbers, never go back.
        last = rows[-1]["tenant_seq"]


_TENANT_HEADS = """
WITH RECURSIVE t(id) AS (
    (SELECT tenant_id FROM events ORDER BY tenant_id LIMIT 1)
    UNION ALL
    SELECT (SELECT e.tenant_id FROM events e WHERE e.tenant_id > t.id ORDER BY e.tenant_id LIMIT 1)
      FROM t WHERE t.id IS NOT NULL
)
SELECT h.tenant_id, h.tenant_seq, h.hash, h.recorded_at, h.notification_id
  FROM t CROSS JOIN LATERAL (
       SELECT e.tenant_id, e.tenant_seq, e.hash, e.recorded_at, e.notification_id FROM events e
        WHERE e.tenant_id = t.id ORDER BY e.tenant_seq DESC LIMIT 1) h
 WHERE t.id IS NOT NULL
 ORDER BY h.tenant_id
"""


def list_tenant_heads(conn: Any) -> list[dict[str, Any]]:
    """Every tenant's head (last seq, hash, time): a skip scan over events_tenant_seq_idx, one probe per tenant."""
    return conn.execute(_TENANT_HEADS).fetchall()


def hash_at(conn: Any, tenant_id: UUID, tenant_seq: int) -> bytes | None:
    row = conn.execute("SELECT hash FROM events WHERE tenant_id = %s AND tenant_seq = %s",
                       (tenant_id, tenant_seq), prepare=True).fetchone()
    return bytes(row["hash"]) if row else None


# -- the export ------------------------------------------------------------------------------------------
def shown_fields(row: Any, decode: Decode) -> dict[str, Any]:
    """What an event shows that the hash does not cover, derived from what it does (topic, state)."""
    kind = event_type(row["topic"])
    return {"type": kind, "aggregate_type": kind.split(".")[0],
            "data": jsonable(safe_decode(decode, bytes(row["state"])))}


def offline_decoder() -> Decode:
    """The application's own payload decoder, built without any database (in-memory persistence):
    what checks an export file offline (`avm audit verify --file`)."""
    from domain.application import AvmApplication

    from eventstore.sealing import register

    app = AvmApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo", "IS_SNAPSHOTTING_ENABLED": "n"})
    register(app.mapper.transcoder, None)  # sealed personal fields read as `Opaque` (no key offline)
    return app.mapper.transcoder.decode  # type: ignore[no-any-return]


def export_record(row: dict[str, Any], decode: Decode) -> dict[str, Any]:
    """One export line: the contract's event shape plus tenant, topic and the raw stored state."""
    shown = shown_fields(row, decode)
    return {
        "position": row["notification_id"], "tenant_id": str(row["tenant_id"]), "tenant_seq": row["tenant_seq"],
        "aggregate_id": str(row["originator_id"]), "aggregate_type": shown["aggregate_type"],
        "version": row["originator_version"], "type": shown["type"], "topic": row["topic"],
        "recorded_at": row["recorded_at"].astimezone(timezone.utc),
        "actor_id": row["actor_id"], "command_id": row["command_id"],
        "correlation_id": row["correlation_id"], "causation_id": row["causation_id"],
        "reason": row.get("reason"),
        "data": shown["data"],
        "state_b64": base64.b64encode(bytes(row["state"])).decode("ascii"),
        "prev_hash": bytes(row["prev_hash"]).hex(), "hash": bytes(row["hash"]).hex(),
    }


def export_lines(connect: Connect, decode: Decode, tenant_id: UUID, *, after_seq: int, upto_seq: int,
                 since: datetime | None = None, until: datetime | None = None,
                 page_size: int = PAGE_SIZE, now: Callable[[], datetime] | None = None) -> Iterator[bytes]:
    """NDJSON of the chain stretch (after_seq, upto_seq], one chunk per page, then the manifest line.

    If reading fails midway the stream ends with an `{"error": …}` line instead of a manifest, so
    a cut export can never pass for a complete one.
    """
    count = 0
    first = last = first_seq = last_seq = None
    anchor: str | None = None
    head: str | None = None
    try:
        for rows in iter_chain(connect, tenant_id, after_seq=after_seq, upto_seq=upto_seq, page_size=page_size):
            lines = []
            for row in rows:
                record = export_record(row, decode)
                lines.append(_encode(record))
                if first is None:
                    first, first_seq, anchor = record["position"], record["tenant_seq"], record["prev_hash"]
                last, last_seq, head = record["position"], record["tenant_seq"], record["hash"]
            count += len(rows)
            lines.append(b"")
            yield b"\n".join(lines)
        manifest = {
            "format": EXPORT_FORMAT, "tenant_id": str(tenant_id), "count": count,
            "first": first, "last": last, "first_seq": first_seq, "last_seq": last_seq,
            "anchor_hash": anchor, "head_hash": head, "since": since, "until": until,
            "exported_at": (now or (lambda: datetime.now(timezone.utc)))(),
        }
        line = _encode({"manifest": manifest}) + b"\n"
    except Exception as exc:  # noqa: BLE001 - the status line is gone; say so in the body
        log.warning("audit export of tenant %s interrupted after %d events: %s", tenant_id, count, exc)
        line = _encode({"error": {"detail": "export interrupted; this file is incomplete", "count": count}}) + b"\n"
    yield line
