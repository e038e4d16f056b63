"""Which rebuilds run where: their progress, their outcome, and the locks that keep them one at a time."""
from __future__ import annotations

import threading
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from uuid import UUID

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import tuple_row

from domain.errors import Conflict
from projections.inline import INLINE_PROJECTIONS

ADVISORY_NAMESPACE = 0x61766D  # 'avm': first key of the per-projection advisory lock


class RebuildRunning(Conflict):
    """Raised when a rebuild of the same projection is already running (here or in another process)."""

    title = "Rebuild already running"


@dataclass
class RebuildProgress:
    """What a running rebuild has done: read by the CLI's progress bar and the admin listing."""

    names: tuple[str, ...]
    tenant_id: UUID | None = None
    operation: str = "rebuild"
    phase: str = "starting"  # starting, build, index, catch-up, swap, done
    done: int = 0
    total: int = 0
    started_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    build_started: float | None = None
    callback: Callable[[RebuildProgress], None] | None = None

    def update(self, phase: str | None = None, done: int | None = None, total: int | None = None) -> None:
        if phase is not None:
            self.phase = phase
            if phase == "build" and self.build_started is None:
                self.build_started = time.monotonic()
        if done is not None:
            self.done = done
        if total is not None:
            self.total = total
        if self.callback is not None:
            self.callback(self)

    @property
    def events_per_second(self) -> float:
        if self.build_started is None:
            return 0.0
        elapsed = time.monotonic() - self.build_started
        return self.done / elapsed if elapsed > 0 else 0.0

    @property
    def eta_seconds(self) -> float | None:
        rate = self.events_per_second
        if self.phase != "build" or rate <= 0:
            return None
        return max(self.total - self.done, 0) / rate

    def view(self) -> dict[str, Any]:
        return {"operation": self.operation, "phase": self.phase, "events_done": self.done,
                "events_total": self.total, "events_per_second": round(self.events_per_second, 1),
                "eta_seconds": None if self.eta_seconds is None else round(self.eta_seconds, 1),
                "started_at": self.started_at, "tenant_id": self.tenant_id}


@dataclass(frozen=True)
class RebuildResult:
    projections: list[str]
    tenant_id: UUID | None
    events: int  # the log head the rebuilt rows describe
    scanned: int  # events read by the initial build
    caught_up: int  # positions caught up after the build (the tail)
    aggregates: int
    rows: int
    seconds: float
    locked_seconds: float  # how long writers were held off (the final catch-up and the swap)
    phases: dict[str, float]

    @property
    def events_per_second(self) -> float:
        return self.scanned / self.phases["build"] if self.phases.get("build") else 0.0


class Running:
    """The rebuilds running in this process, by database and projection; and how the last one ended."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: dict[tuple[str, str], RebuildProgress] = {}
        self._last: dict[tuple[str, str], dict[str, Any]] = {}

    def claim(self, database: str, progress: RebuildProgress) -> None:
        with self._lock:
            busy = [n for n in progress.names if (database, n) in self._running]
            if busy:
                raise RebuildRunning(f"a rebuild of {', '.join(busy)} is already running")
            for name in progress.names:
                self._running[(database, name)] = progress

    def release(self, database: str, progress: RebuildProgress, outcome: dict[str, Any]) -> None:
        with self._lock:
            for name in progress.names:
                if self._running.get((database, name)) is progress:
                    del self._running[(database, name)]
                    self._last[(database, name)] = outcome

    def running(self, database: str, name: str) -> RebuildProgress | None:
        with self._lock:
            return self._running.get((database, name))

    def last(self, database: str, name: str) -> dict[str, Any] | None:
        with self._lock:
            return self._last.get((database, name))


RUNNING = Running()


def database_key(url: str) -> str:
    """One name per database, whatever the spelling of its URL."""
    p = conninfo_to_dict(url)
    return f"{p.get('host', '')}:{p.get('port', '')}/{p.get('dbname', '')}"


def advisory_key(name: str) -> tuple[int, int]:
    """The (namespace, projection) advisory lock a rebuild of `name` holds while it runs."""
    return ADVISORY_NAMESPACE, zlib.crc32(name.encode()) & 0x7FFFFFFF


def rebuilds_elsewhere(conn: psycopg.Connection[Any]) -> set[str]:
    """Projections some session (any process) is rebuilding right now: their advisory lock is held."""
    by_key = {advisory_key(p.name)[1]: p.name for p in INLINE_PROJECTIONS}
    with conn.cursor(row_factory=tuple_row) as cur:
        rows = cur.execute("SELECT objid::bigint FROM pg_locks WHERE locktype = 'advisory' AND granted"
                           " AND classid = %s::bigint::oid AND objsubid = 2"
                           " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
                           (ADVISORY_NAMESPACE,)).fetchall()
    return {by_key[r[0]] for r in rows if r[0] in by_key}


def lock_projections(conn: psycopg.Connection[Any], names: Sequence[str]) -> None:
    for name in sorted(names):
        with conn.cursor(row_factory=tuple_row) as cur:
            got = cur.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", advisory_key(name)).fetchone()[0]  # type: ignore[index]
        if not got:
            raise RebuildRunning(f"a rebuild of {name} is already running")
