"""Group commit: commands waiting at the same moment are committed by one thread, in one transaction."""
from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from psycopg import Cursor
from psycopg.rows import DictRow

# A same-transaction write: called with the cursor after the events are inserted.
Write = Callable[[Cursor[DictRow]], None]


class _Item:
    """One command's insert, waiting for a (group) commit."""

    __slots__ = ("error", "meta", "result", "stored_events", "tenants", "writes")

    def __init__(self, stored_events: Sequence[StoredEvent], meta: Any, tenants: dict[Any, UUID],
                 writes: list[Write]) -> None:
        self.stored_events = stored_events
        self.meta = meta
        self.tenants = tenants
        self.writes = writes
        self.result: list[int] | None = None
        self.error: Exception | None = None


class Committer:
    """Hands waiting commands to one committing thread, which commits them together.

    A command arriving while no commit is running is committed at once, alone; those that
    arrive meanwhile are committed together by the next commit (group commit).
    """

    def __init__(self, commit: Callable[[list[_Item]], None], max_batch: int = 64) -> None:
        self._commit = commit
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[tuple[_Item, threading.Event]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, item: _Item) -> list[int]:
        done = threading.Event()
        self._queue.put((item, done))
        self._ensure_thread()
        done.wait()
        if item.error is not None:
            raise item.error
        return item.result or []

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            with self._lock:
                if self._thread is None or not self._thread.is_alive():
                    self._thread = threading.Thread(target=self._run, name="avm-committer", daemon=True)
                    self._thread.start()

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < self._max_batch:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                self._commit([item for item, _ in batch])
            except BaseException as e:  # noqa: BLE001 - never leave a caller waiting
                for item, _ in batch:
                    if item.error is None and item.result is None:
                        item.error = e if isinstance(e, Exception) else RuntimeError(repr(e))
            for _, done in batch:
                done.set()
