"""Replay of the event log: read it in pages, in order, and fold the events into aggregates.

Rebuilds and checks of the read models (projections/rebuild/) read the log through here; the event
objects come from the library's mapper, so decoding and upcasting are the library's.
"""
from __future__ import annotations

import gc
import inspect
import queue
import threading
import types
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.domain import (
    CanInitAggregate,
    CanMutateAggregate,
    DecoratedFuncCaller,
    OriginatorVersionError,
    decorated_funcs,
)
from eventsourcing.persistence import Mapper, StoredEvent
from eventsourcing.utils import TopicError, resolve_topic
from psycopg.rows import tuple_row

from eventstore.transcoder import MsgspecTranscoder

PAGE = 20_000  # events per page read from the log


@dataclass(frozen=True)
class _Topic:
    """What the fold needs to know about one event class, worked out once per topic."""

    cls: type
    created: bool
    # For an event applied by the library's own `mutate` -> DecoratedFuncCaller.apply with nothing
    # overridden: the @event-decorated function and its parameters, called directly.
    func: Callable[..., Any] | None
    params: tuple[str, ...]


def _topic_info(topic: str) -> _Topic:
    cls = resolve_topic(topic)
    created = isinstance(cls, type) and issubclass(cls, CanInitAggregate)
    func, params = None, ()
    if isinstance(cls, type) and not created and issubclass(cls, DecoratedFuncCaller):
        appliers = [k for k in cls.__mro__ if "apply" in k.__dict__]
        mutators = [k for k in cls.__mro__ if "mutate" in k.__dict__]
        candidate = decorated_funcs.get(cls)
        if (appliers == [DecoratedFuncCaller, CanMutateAggregate] and mutators[:1] == [CanMutateAggregate]
                and isinstance(candidate, types.FunctionType)):
            func = candidate
            params = tuple(inspect.signature(candidate).parameters)[1:]
    return _Topic(cls=cls, created=created, func=func, params=params)


class Folder:
    """Folds stored events into aggregates of the given types, as the library would.

    Each event becomes the library's event object by the library's own `Mapper.to_domain_event`
    (decoding, originator id and version, upcasting): with the application's mapper as it is, or,
    when its transcoder reads as the library's JSON and it has no cipher or compressor, with a
    mapper whose transcoder is MsgspecTranscoder's faster reader of the same format. An event of a
    created class, or one whose class overrides anything, is applied by its own `mutate`. Every
    other event is applied as `CanMutateAggregate.mutate` would apply it: check the version, call
    the @event-decorated method with the event's attributes it names, set the version and modified
    time. Aggregates of other types are recognised by their created event and skipped: their later
    events are not even decoded.
    """

    def __init__(self, mapper: Mapper[Any], handles: tuple[type, ...]) -> None:
        self.mapper = mapper
        self.handles = handles
        self.aggregates: dict[Any, Any] = {}  # by originator id (UUID or its bytes, as read)
        self.skipped: set[Any] = set()
        self._topics: dict[str, _Topic | None] = {}
        self._unknown: set[str] = set()  # topics no class resolves
        transcoder = mapper.transcoder
        if MsgspecTranscoder.reads_as_library(transcoder) and not mapper.cipher and not mapper.compressor:
            mapper = Mapper(transcoder=MsgspecTranscoder.reading_like(transcoder))  # type: ignore[arg-type]
        self._to_event = mapper.to_domain_event

    def fold(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """Apply (originator id, originator_version, topic, state) rows, in order. The id is a UUID,
        or its 16 bytes (cheaper to read and to hash; the UUID is made only when an event needs it)."""
        aggregates, skipped, handles, topics = self.aggregates, self.skipped, self.handles, self._topics
        to_event, unknown = self._to_event, self._unknown
        for key, version, topic, state in rows:
            if key in skipped:
                continue
            info = topics.get(topic)
            aggregate = aggregates.get(key)
            if info is None:
                try:
                    info = topics[topic] = _topic_info(topic) if topic not in unknown else None
                except TopicError:
                    unknown.add(topic)
                if info is None:
                    if aggregate is not None:  # an event of an aggregate being folded must apply
                        raise TopicError(f"cannot resolve topic {topic!r} of an event of aggregate {aggregate.id}")
                    # The first event of an aggregate of a type this code does not know: no
                    # projection can handle it, so its stream is skipped like any other type's.
                    skipped.add(key)
                    continue
            oid = aggregate.id if aggregate is not None else UUID(bytes=key) if type(key) is bytes else key
            event = to_event(StoredEvent(originator_id=oid, originator_version=version, topic=topic, state=state))
            func = info.func
            if func is not None and aggregate is not None:
                expected = aggregate.version + 1
                if version != expected:
                    raise OriginatorVersionError(version, expected)
                data = event.__dict__
                func(aggregate, **{k: data[k] for k in info.params if k in data})
                aggregate.version = version
                aggregate.modified_on = data["timestamp"]
                continue
            mutate = getattr(event, "mutate", None)
            if mutate is None:
                continue
            if info.created:
                aggregate = mutate(None)
                if not isinstance(aggregate, handles):
                    skipped.add(key)
                    continue
                aggregates[key] = aggregate
            else:
                aggregates[key] = mutate(aggregate)


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while a build allocates millions of long-lived objects (its
    passes over the growing heap cost as much as the fold itself); restored afterwards."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def scan_events(conn: psycopg.Connection[Any], *, upto: int, after: int = 0, tenant_id: UUID | None = None,
                page: int = PAGE) -> Iterator[list[tuple[Any, ...]]]:
    """Pages of (originator id as 16 bytes, originator_version, topic, state) in log order,
    after < position <= upto, through one server-side binary cursor (the caller's transaction)."""
    if tenant_id is None:
        query = ("SELECT uuid_send(originator_id), originator_version, topic, state FROM events"
                 " WHERE notification_id > %s AND notification_id <= %s ORDER BY notification_id")
        params: tuple[Any, ...] = (after, upto)
    else:
        # A tenant's sequence follows the log order (both assigned under the events lock).
        query = ("SELECT uuid_send(originator_id), originator_version, topic, state FROM events"
                 " WHERE tenant_id = %s AND notification_id > %s AND notification_id <= %s ORDER BY tenant_seq")
        params = (tenant_id, after, upto)
    with conn.cursor(name=f"avm_scan_{id(conn):x}", binary=True, row_factory=tuple_row) as cur:
        cur.itersize = page
        cur.execute(query, params)
        while True:
            rows = cur.fetchmany(page)
            if not rows:
                break
            yield rows


class Prefetch:
    """Iterates pages read by a worker thread one page ahead, so the server reads the next page while
    Python folds this one (psycopg waits without the GIL). The worker owns the iterator: it is
    closed there, before `close()` returns, whatever stops the consumer."""

    def __init__(self, pages: Iterator[list[tuple[Any, ...]]], depth: int = 2) -> None:
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._pages = pages
        self._thread = threading.Thread(target=self._run, name="avm-rebuild-read", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        item: Any = None
        try:
            with closing(self._pages):
                for page in self._pages:
                    while not self._stop.is_set():
                        try:
                            self._queue.put(page, timeout=0.1)
                            break
                        except queue.Full:
                            continue
                    if self._stop.is_set():
                        return
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            item = exc
        while not self._stop.is_set():
            try:
                self._queue.put(("end", item), timeout=0.1)
                return
            except queue.Full:
                continue

    def __iter__(self) -> Iterator[list[tuple[Any, ...]]]:
        while True:
            page = self._queue.get()
            if type(page) is tuple:
                if page[1] is not None:
                    raise page[1]
                return
            yield page

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


def log_head(conn: psycopg.Connection[Any]) -> int:
    """The last position of the log (the committed prefix: writers append under the events lock)."""
    with conn.cursor(row_factory=tuple_row) as cur:
        return int(cur.execute("SELECT coalesce(max(notification_id), 0) FROM events").fetchone()[0])  # type: ignore[index]


def count_events(conn: psycopg.Connection[Any], *, upto: int, tenant_id: UUID | None = None) -> int:
    """How many events `scan_events` up to `upto` (of the tenant, when given) will read."""
    where, params = "notification_id <= %s", [upto]
    if tenant_id is not None:
        where, params = "tenant_id = %s AND notification_id <= %s", [tenant_id, upto]
    with conn.cursor(row_factory=tuple_row) as cur:
        return int(cur.execute(f"SELECT count(*) FROM events WHERE {where}", params).fetchone()[0])  # type: ignore[index]


def changed_between(conn: psycopg.Connection[Any], after: int, upto: int, *,
                    tenant_id: UUID | None = None) -> list[UUID]:
    """The aggregates (of the tenant, when given) with events at positions in (after, upto]."""
    where, params = "notification_id > %s AND notification_id <= %s", [after, upto]
    if tenant_id is not None:
        where, params = "tenant_id = %s AND " + where, [tenant_id, after, upto]
    with conn.cursor(row_factory=tuple_row) as cur:
        return [r[0] for r in cur.execute(f"SELECT DISTINCT originator_id FROM events WHERE {where}", params)]


def scan_streams(conn: psycopg.Connection[Any], ids: Sequence[UUID], *, upto: int,
                 page: int = PAGE) -> Iterator[list[tuple[Any, ...]]]:
    """The full streams of these aggregates up to position `upto`, as `scan_events` rows, each
    stream in version order, `page` aggregates at a time."""
    with conn.cursor(binary=True, row_factory=tuple_row) as cur:
        for start in range(0, len(ids), page):
            cur.execute("SELECT uuid_send(originator_id), originator_version, topic, state FROM events"
                        " WHERE originator_id = ANY(%s) AND notification_id <= %s"
                        " ORDER BY originator_id, originator_version", (list(ids[start:start + page]), upto))
            yield cur.fetchall()
