"""Rebuild and verify inline read models from the event log: blue/green builds, tenant rebuilds, checks.

Three operations share one builder, which folds the log into aggregates and COPYs the
projectors' rows (`InlineProjection.rows`, the very function the inline path runs):

- `blue_green`: build the new tables beside the live ones while the service serves, catch up
  the tail without a lock, then take the events lock for a moment to catch up the last few
  events and swap the tables (or, for one tenant, replace that tenant's rows) atomically;
- `verify`: build into scratch tables inside one snapshot and compare every row with the
  live tables of the same snapshot (nothing is locked, nothing live is touched);
- `rebuild`: the older in-place repair in one transaction under a SHARE lock on the events
  (writers wait for its whole duration); kept for small databases and for the app role.
"""
from __future__ import annotations

import gc
import inspect
import queue
import threading
import types
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
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
from eventsourcing.persistence import (
    Mapper,
    MapperDeserialisationError,
    StoredEvent,
    find_id_convertor,
)
from eventsourcing.utils import TopicError, resolve_topic
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import tuple_row

from domain.errors import Conflict
from eventstore.transcoder import MsgspecTranscoder
from projections.base import InlineProjection
from projections.inline import INLINE_PROJECTIONS, select

PAGE = 20_000  # events per page read from the log
SMALL_TAIL = 2_000  # catch up without a lock until the tail is at most this many positions
CATCH_UP_ROUNDS = 8
SWAP_LOCK_TIMEOUT = "500ms"  # for the live tables: below deadlock_timeout (1 s), we give way to readers
EVENTS_LOCK_TIMEOUT = "3s"
SWAP_DEADLINE = 120.0  # seconds of retrying the swap before giving up (live tables stay as they were)
ADVISORY_NAMESPACE = 0x61766D  # 'avm': first key of the per-projection advisory lock
ASIDE = "__rb"  # suffix of the tables and indexes being built


class RebuildRunning(Conflict):
    """Raised when a rebuild of the same projection is already running (here or in another process)."""

    title = "Rebuild already running"


@dataclass(frozen=True)
class _Topic:
    """What the fold needs to know about one event class, worked out once per topic."""

    cls: type
    created: bool
    convert: Callable[[Any], Any]
    class_version: int
    # For an event applied by the library's own `mutate` -> DecoratedFuncCaller.apply with nothing
    # overridden: the @event-decorated function and its parameters, called directly.
    func: Callable[..., Any] | None
    params: tuple[str, ...]


def _topic_info(topic: str, originator_id_type: type) -> _Topic:
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
    return _Topic(cls=cls, created=created, convert=find_id_convertor(cls, originator_id_type),
                  class_version=getattr(cls, "class_version", 1), func=func, params=params)


class Folder:
    """Folds stored events into the aggregates the given projections handle, as the library would.

    An event's state is decoded by MsgspecTranscoder and given its originator id and version and
    upcast exactly as `Mapper.to_domain_event` does. An event of a created class, or one whose
    class overrides anything, becomes the library's event object and is applied by its own
    `mutate`. Every other event is applied as `CanMutateAggregate.mutate` would apply it, without
    building the event object: check the version, call the @event-decorated method with the
    event's attributes it names, set the version and modified time. A mapper with a cipher or a
    compressor is used as it is. Aggregates of other types are recognised by their created event
    and skipped: their later events are not even decoded.
    """

    def __init__(self, mapper: Mapper[Any], handles: tuple[type, ...]) -> None:
        self.mapper = mapper
        self.handles = handles
        self.aggregates: dict[Any, Any] = {}  # by originator id (UUID or its bytes, as read)
        self.skipped: set[Any] = set()
        self._topics: dict[str, _Topic | None] = {}
        self._unknown: set[str] = set()  # topics no class resolves
        transcoder = mapper.transcoder
        fast = MsgspecTranscoder.reads_as_library(transcoder) and not mapper.cipher and not mapper.compressor
        self._decode = MsgspecTranscoder.reading_like(transcoder).decode if fast else None  # type: ignore[arg-type]

    def fold(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """Apply (originator id, originator_version, topic, state) rows, in order. The id is a UUID,
        or its 16 bytes (cheaper to read and to hash; the UUID is made only when an event needs it)."""
        aggregates, skipped, handles, topics = self.aggregates, self.skipped, self.handles, self._topics
        decode, unknown = self._decode, self._unknown
        for key, version, topic, state in rows:
            if key in skipped:
                continue
            info = topics.get(topic)
            aggregate = aggregates.get(key)
            if info is None:
                try:
                    info = topics[topic] = _topic_info(topic, UUID) if topic not in unknown else None
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
            if decode is None:
                event = self.mapper.to_domain_event(StoredEvent(originator_id=oid, originator_version=version,
                                                                topic=topic, state=state))
            else:
                try:
                    data = decode(state)
                except Exception as e:
                    raise MapperDeserialisationError(
                        f"Failed to deserialise state of stored event with topic '{topic}',"
                        f" originator_id '{oid}' and originator_version {version}: {e}") from e
                data["originator_id"] = info.convert(oid)
                data["originator_version"] = version
                from_version = data.pop("class_version", 1)
                while from_version < info.class_version:
                    getattr(info.cls, f"upcast_v{from_version}_v{from_version + 1}")(data)
                    from_version += 1
                func = info.func
                if func is not None and aggregate is not None:
                    expected = aggregate.version + 1
                    if version != expected:
                        raise OriginatorVersionError(version, expected)
                    func(aggregate, **{k: data[k] for k in info.params if k in data})
                    aggregate.version = version
                    aggregate.modified_on = data["timestamp"]
                    continue
                event = object.__new__(info.cls)
                object.__setattr__(event, "__dict__", data)
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
def _gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while a build allocates millions of long-lived objects (its
    passes over the growing heap cost as much as the fold itself); restored afterwards."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def handled_types(projections: Sequence[InlineProjection]) -> tuple[type, ...]:
    return tuple({t for p in projections for t in p.handles})


# ----------------------------------------------------------------------------------- reading

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


class _Prefetch:
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


# ----------------------------------------------------------------------------------- progress

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


# ----------------------------------------------------------------------------------- the catalog

def _ident(schema: str | None, name: str) -> sql.Composable:
    return sql.Identifier(schema, name) if schema else sql.Identifier(name)


def _aside(name: str) -> str:
    return name[: 63 - len(ASIDE)] + ASIDE


@dataclass
class _Target:
    """Where one live table's rows are being built."""

    live: str
    columns: tuple[str, ...]
    key_columns: tuple[str, ...]
    schema: str | None  # None: public (blue/green), 'pg_temp': scratch
    name: str
    key_types: dict[str, str]
    row_key: tuple[str, ...]  # the live table's primary key (what identifies one row)
    type_oids: tuple[int, ...]  # of `columns`, for binary COPY

    @property
    def ident(self) -> sql.Composable:
        return _ident(self.schema, self.name)


def _column_types(conn: psycopg.Connection[Any], table: str) -> dict[str, tuple[str, int]]:
    """Each column's (SQL type, type oid)."""
    with conn.cursor(row_factory=tuple_row) as cur:
        return {name: (sql_type, oid) for name, sql_type, oid in cur.execute(
            "SELECT attname, format_type(atttypid, atttypmod), atttypid::int FROM pg_attribute"
            " WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped", (table,)).fetchall()}


def _primary_key(conn: psycopg.Connection[Any], table: str) -> tuple[str, ...]:
    with conn.cursor(row_factory=tuple_row) as cur:
        rows = cur.execute(
            "SELECT a.attname FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n)"
            " JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum"
            " WHERE i.indrelid = %s::regclass AND i.indisprimary ORDER BY k.n", (table,)).fetchall()
    return tuple(r[0] for r in rows)


def _targets(conn: psycopg.Connection[Any], projections: Sequence[InlineProjection], scratch: bool) -> list[_Target]:
    targets = []
    for projection in projections:
        for table, (columns, key_columns) in projection.tables.items():
            types = _column_types(conn, table)
            name = _aside(table)
            if scratch:
                conn.execute(sql.SQL("CREATE TEMP TABLE {} (LIKE {} INCLUDING DEFAULTS) ON COMMIT DROP").format(
                    sql.Identifier(name), sql.Identifier(table)))
            else:
                # Everything but the indexes: they are built after the bulk load, which is faster.
                # LIKE holds an ACCESS SHARE lock on the live table until we end: no DDL can change
                # its shape under the build (readers and writers are not affected).
                conn.execute(sql.SQL("CREATE TABLE {} (LIKE {} INCLUDING ALL EXCLUDING INDEXES)").format(
                    sql.Identifier(name), sql.Identifier(table)))
            targets.append(_Target(live=table, columns=columns, key_columns=key_columns,
                                   schema="pg_temp" if scratch else None, name=name,
                                   key_types={c: types[c][0] for c in key_columns},
                                   row_key=_primary_key(conn, table) or tuple(columns),
                                   type_oids=tuple(types[c][1] for c in columns)))
    return targets


def _check_swappable(conn: psycopg.Connection[Any], tables: Sequence[str]) -> None:
    """Refuse early what the swap could not carry over: foreign keys into a table, views on it."""
    with conn.cursor(row_factory=tuple_row) as cur:
        rows = cur.execute(
            "SELECT c.confrelid::regclass::text, c.conname FROM pg_constraint c"
            " WHERE c.contype = 'f' AND c.confrelid = ANY(%s::regclass[])"
            " UNION ALL SELECT DISTINCT d.refobjid::regclass::text, r.ev_class::regclass::text FROM pg_depend d"
            " JOIN pg_rewrite r ON r.oid = d.objid WHERE d.classid = 'pg_rewrite'::regclass"
            " AND d.refobjid = ANY(%s::regclass[]) AND r.ev_class <> d.refobjid",
            (list(tables), list(tables))).fetchall()
    if rows:
        raise RuntimeError("cannot swap " + ", ".join(f"{t} (used by {o})" for t, o in rows)
                           + ": drop the dependent objects or rebuild in place")


def _build_indexes(conn: psycopg.Connection[Any], target: _Target) -> list[str]:
    """The live table's indexes and index-backed constraints on the new table, under aside names.
    Returns the live names (the swap renames `<name>__rb` to `<name>`)."""
    with conn.cursor(row_factory=tuple_row) as cur:
        indexes = cur.execute(
            "SELECT ic.relname, pg_get_indexdef(i.indexrelid), i.indisunique, c.conname, c.contype,"
            " c.condeferrable, c.condeferred, pg_get_constraintdef(c.oid)"
            " FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid"
            " LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid AND c.conrelid = i.indrelid"
            " WHERE i.indrelid = %s::regclass ORDER BY i.indisprimary DESC, ic.relname", (target.live,)).fetchall()
    names = []
    for index, definition, unique, conname, contype, deferrable, deferred, condef in indexes:
        aside = _aside(index)
        if contype == "x":
            # Raw catalog text is appended, never formatted: it may hold braces or percent signs.
            conn.execute(sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} ").format(
                target.ident, sql.Identifier(aside)) + sql.SQL(condef))
            names.append(index)
            continue
        method = definition.split(" USING ", 1)[1]
        conn.execute(sql.SQL("CREATE {}INDEX {} ON {} USING ").format(
            sql.SQL("UNIQUE " if unique else ""), sql.Identifier(aside), target.ident) + sql.SQL(method))
        if contype in ("p", "u"):
            # The constraint takes the index's name; renaming the index at the swap renames both.
            conn.execute(sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {} USING INDEX {}{}").format(
                target.ident, sql.Identifier(aside), sql.SQL("PRIMARY KEY" if contype == "p" else "UNIQUE"),
                sql.Identifier(aside),
                sql.SQL((" DEFERRABLE" if deferrable else "") + (" INITIALLY DEFERRED" if deferred else ""))))
        names.append(index)
    return names


def _table_extras(conn: psycopg.Connection[Any], table: str) -> list[sql.Composable]:
    """What LIKE does not copy, as statements to re-apply to the new table once it has the live
    name: owner, grants, row-level security and its policies, triggers, storage options, comment."""
    out: list[sql.Composable] = []
    with conn.cursor(row_factory=tuple_row) as cur:
        owner, rls, force, options, comment = cur.execute(
            "SELECT pg_get_userbyid(relowner), relrowsecurity, relforcerowsecurity, reloptions,"
            " obj_description(oid, 'pg_class') FROM pg_class WHERE oid = %s::regclass", (table,)).fetchone()  # type: ignore[misc]
        me = cur.execute("SELECT current_user").fetchone()[0]  # type: ignore[index]
        ident = sql.Identifier(table)
        if owner != me:
            out.append(sql.SQL("ALTER TABLE {} OWNER TO {}").format(ident, sql.Identifier(owner)))
        grants = cur.execute(
            "SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END,"
            " a.privilege_type, a.is_grantable FROM pg_class c, aclexplode(c.relacl) a"
            " WHERE c.oid = %s::regclass AND a.grantee <> c.relowner", (table,)).fetchall()
        for grantee, privilege, grantable in grants:
            out.append(sql.SQL("GRANT {} ON {} TO {}{}").format(
                sql.SQL(privilege), ident, sql.SQL("PUBLIC") if grantee == "PUBLIC" else sql.Identifier(grantee),
                sql.SQL(" WITH GRANT OPTION" if grantable else "")))
        if rls:
            out.append(sql.SQL("ALTER TABLE {} ENABLE ROW LEVEL SECURITY").format(ident))
        if force:
            out.append(sql.SQL("ALTER TABLE {} FORCE ROW LEVEL SECURITY").format(ident))
        for name, permissive, roles, command, qual, check in cur.execute(
                "SELECT polname, polpermissive, ARRAY(SELECT CASE WHEN r = 0 THEN 'public'"
                " ELSE pg_get_userbyid(r) END FROM unnest(polroles) r), polcmd,"
                " pg_get_expr(polqual, polrelid), pg_get_expr(polwithcheck, polrelid)"
                " FROM pg_policy WHERE polrelid = %s::regclass ORDER BY polname", (table,)).fetchall():
            cmd = {"r": "SELECT", "a": "INSERT", "w": "UPDATE", "d": "DELETE", "*": "ALL"}[command]
            role_list = sql.SQL(", ").join(sql.SQL("PUBLIC") if r == "public" else sql.Identifier(r) for r in roles)
            statement = sql.SQL("CREATE POLICY {} ON {} AS {} FOR {} TO {}").format(
                sql.Identifier(name), ident, sql.SQL("PERMISSIVE" if permissive else "RESTRICTIVE"), sql.SQL(cmd),
                role_list)
            if qual is not None:
                statement += sql.SQL(" USING (" + qual + ")")
            if check is not None:
                statement += sql.SQL(" WITH CHECK (" + check + ")")
            out.append(statement)
        for (definition,) in cur.execute(
                "SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal"
                " ORDER BY tgname", (table,)).fetchall():
            out.append(sql.SQL(definition))  # names the table by its live name, which the new one has by then
        if options:
            out.append(sql.SQL("ALTER TABLE {} SET ").format(ident) + sql.SQL("(" + ", ".join(options) + ")"))
        if comment is not None:
            out.append(sql.SQL("COMMENT ON TABLE {} IS {}").format(ident, sql.Literal(comment)))
    return out


# ----------------------------------------------------------------------------------- building

class _Builder:
    """Folds the log into aggregates and writes their rows into the targets."""

    def __init__(self, conn: psycopg.Connection[Any], mapper: Mapper[Any], projections: Sequence[InlineProjection],
                 targets: Sequence[_Target], tenant_id: UUID | None, progress: RebuildProgress) -> None:
        self.conn = conn
        self.mapper = mapper
        self.projections = list(projections)
        self.targets = {t.live: t for t in targets}
        self.tenant_id = tenant_id
        self.progress = progress
        self.handles = handled_types(projections)
        self.rows = 0
        self.aggregates = 0
        self.timings: dict[str, float] = {}

    def build(self, upto: int) -> int:
        """Fold every event up to `upto`, COPY every row. Returns the events read."""
        where, params = "notification_id <= %s", [upto]
        if self.tenant_id is not None:
            where, params = "tenant_id = %s AND notification_id <= %s", [self.tenant_id, upto]
        with self.conn.cursor(row_factory=tuple_row) as cur:
            total = cur.execute(f"SELECT count(*) FROM events WHERE {where}", params).fetchone()[0]  # type: ignore[index]
        self.progress.update("build", 0, total)
        folder = Folder(self.mapper, self.handles)
        done = 0
        with _gc_paused():
            mark, cpu = time.monotonic(), time.process_time()
            # closing(): an interruption closes the server-side cursor while the transaction still stands.
            with closing(_Prefetch(scan_events(self.conn, upto=upto, tenant_id=self.tenant_id))) as pages:
                for page in pages:
                    folder.fold(page)
                    done += len(page)
                    self.progress.update(done=done)
            self.timings["fold"] = time.monotonic() - mark
            self.timings["fold_cpu"] = time.process_time() - cpu
            self.aggregates = len(folder.aggregates)
            mark, cpu = time.monotonic(), time.process_time()
            self.rows += self._copy(folder.aggregates.values())
            self.timings["copy"] = time.monotonic() - mark
            self.timings["copy_cpu"] = time.process_time() - cpu
        return done

    def catch_up(self, after: int, upto: int) -> int:
        """Re-fold, from their full streams, the aggregates with events in (after, upto]; replace their rows."""
        if upto <= after:
            return 0
        where, params = "notification_id > %s AND notification_id <= %s", [after, upto]
        if self.tenant_id is not None:
            where, params = "tenant_id = %s AND " + where, [self.tenant_id, after, upto]
        with self.conn.cursor(row_factory=tuple_row) as cur:
            ids = [r[0] for r in cur.execute(f"SELECT DISTINCT originator_id FROM events WHERE {where}", params)]
        if not ids:
            return 0
        folder = Folder(self.mapper, self.handles)
        with self.conn.cursor(binary=True, row_factory=tuple_row) as cur:
            for start in range(0, len(ids), PAGE):
                cur.execute("SELECT uuid_send(originator_id), originator_version, topic, state FROM events"
                            " WHERE originator_id = ANY(%s) AND notification_id <= %s"
                            " ORDER BY originator_id, originator_version", (ids[start:start + PAGE], upto))
                folder.fold(cur.fetchall())
        self._delete(folder.aggregates.values())
        self.rows += self._copy(folder.aggregates.values())
        return len(ids)

    def _delete(self, aggregates: Any) -> None:
        aggregates = list(aggregates)
        for projection in self.projections:
            mine = [a for a in aggregates if isinstance(a, projection.handles)]
            if not mine:
                continue
            for table in projection.tables:
                t = self.targets[table]
                n = len(t.key_columns)
                keys = list(zip(*[projection.key(a, n) for a in mine]))
                self.conn.execute(sql.SQL("DELETE FROM {} t USING (SELECT {}) k WHERE {}").format(
                    t.ident,
                    sql.SQL(", ").join(sql.SQL("unnest({}::" + t.key_types[c] + "[]) AS {}").format(
                        sql.Placeholder(), sql.Identifier(c)) for c in t.key_columns),
                    sql.SQL(" AND ").join(sql.SQL("t.{0} = k.{0}").format(sql.Identifier(c)) for c in t.key_columns)),
                    [list(k) for k in keys])

    def _copy(self, aggregates: Any) -> int:
        count = 0
        aggregates = list(aggregates)
        for projection in self.projections:
            buffers: dict[str, list[tuple[Any, ...]]] = {t: [] for t in projection.tables}
            for agg in aggregates:
                if isinstance(agg, projection.handles):
                    for table, rows in projection.rows(agg).items():
                        buffers[table].extend(rows)
            for table, rows in buffers.items():
                self._copy_table(self.targets[table], rows)
                count += len(rows)
        return count

    def _copy_table(self, t: _Target, rows: list[tuple[Any, ...]]) -> None:
        """COPY in binary, typed by the table's columns (the server parses nothing: a third less CPU
        here); in text, as the inline path's parameters are sent, if a value has no binary dumper
        for its column's type (the savepoint takes the attempt back)."""
        columns = sql.SQL(", ").join(map(sql.Identifier, t.columns))
        try:
            with self.conn.transaction(), self.conn.cursor() as cur:
                with cur.copy(sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(t.ident, columns)) as copy:
                    copy.set_types(list(t.type_oids))
                    for row in rows:
                        copy.write_row(row)
            return
        except Exception:  # noqa: BLE001 - any dumper's complaint; a real error recurs in text below
            pass
        with self.conn.cursor() as cur, cur.copy(sql.SQL("COPY {} ({}) FROM STDIN").format(t.ident, columns)) as copy:
            for row in rows:
                copy.write_row(row)


def _owner_connection(url: str) -> psycopg.Connection[Any]:
    conn = psycopg.connect(url, autocommit=False, application_name="avm rebuild")
    # Long builds are expected; the scope lets row-level security (if forced on the owner) see every tenant.
    conn.execute("SET statement_timeout = 0; SET idle_in_transaction_session_timeout = 0;"
                 " SET lock_timeout = 0; SET maintenance_work_mem = '256MB'")
    conn.execute("SELECT set_config('app.scope', 'system', false)")
    conn.commit()
    return conn


def _lock_projections(conn: psycopg.Connection[Any], names: Sequence[str]) -> None:
    for name in sorted(names):
        with conn.cursor(row_factory=tuple_row) as cur:
            got = cur.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", advisory_key(name)).fetchone()[0]  # type: ignore[index]
        if not got:
            raise RebuildRunning(f"a rebuild of {name} is already running")


def _set_tracking(conn: psycopg.Connection[Any], names: Sequence[str], head: int) -> None:
    conn.execute(
        "INSERT INTO tracking (application_name, notification_id) SELECT unnest(%s::text[]), %s"
        " ON CONFLICT (application_name) DO UPDATE SET notification_id = EXCLUDED.notification_id",
        (list(names), head))


def blue_green(url: str, mapper: Mapper[Any], names: Sequence[str] | None = None, *,
               tenant_id: UUID | None = None, progress: Callable[[RebuildProgress], None] | None = None,
               swap_deadline: float = SWAP_DEADLINE) -> RebuildResult:
    """Rebuild the named projections (all when none) while the service keeps serving.

    One transaction on an owner connection (`url`; DDL needs the tables' owner):
    1. build: new tables `<table>__rb` (same columns, constraints and defaults as the live ones),
       filled by COPY from the log up to its head H0, then indexed and analysed; no lock that
       readers or writers notice;
    2. catch up, unlocked, the events appended meanwhile (re-folding each affected aggregate from
       its full stream) until the tail is small;
    3. in a savepoint: take the events lock (EXCLUSIVE: writers wait, readers do not), catch up
       the last events, then swap: drop the live table, rename the new one and its indexes and
       constraints to the live names, re-apply grants, row-level security, policies, triggers;
       set the projections' tracking to the head. Commit: readers see the old rows, then the new.
       If a lock is not granted within SWAP_LOCK_TIMEOUT (a reader holds the table), the savepoint
       is rolled back, and the swap is retried after another unlocked catch-up.
    For one tenant, step 1 builds that tenant's rows in scratch tables, and step 3 replaces that
    tenant's live rows with them: other tenants' rows are not touched.

    Any failure or interruption (KeyboardInterrupt included) rolls everything back: the live
    tables are as they were and the half-built tables are gone with the transaction.
    """
    projections = list(dict.fromkeys(select(names)))  # each once, in registry order of the names
    state = RebuildProgress(names=tuple(p.name for p in projections), tenant_id=tenant_id, callback=progress)
    database = database_key(url)
    RUNNING.claim(database, state)
    outcome: dict[str, Any] = {"ok": False}
    try:
        result = _blue_green(url, mapper, projections, tenant_id, state, swap_deadline)
        outcome = {"ok": True, "events": result.events, "seconds": round(result.seconds, 3),
                   "locked_seconds": round(result.locked_seconds, 4)}
        return result
    except BaseException as exc:
        outcome = {"ok": False, "error": f"{type(exc).__name__}: {exc}".strip().rstrip(":")}
        raise
    finally:
        outcome["finished_at"] = datetime.now(timezone.utc)
        outcome["tenant_id"] = tenant_id
        RUNNING.release(database, state, outcome)


def _blue_green(url: str, mapper: Mapper[Any], projections: list[InlineProjection], tenant_id: UUID | None,
                state: RebuildProgress, swap_deadline: float) -> RebuildResult:
    started = time.monotonic()
    phases: dict[str, float] = {}
    tables = [t for p in projections for t in p.tables]
    conn = _owner_connection(url)
    try:
        with conn.transaction():
            _lock_projections(conn, state.names)
            per_tenant = tenant_id is not None
            if not per_tenant:
                _check_swappable(conn, tables)
            targets = _targets(conn, projections, scratch=per_tenant)
            index_names: dict[str, list[str]] = {}
            builder = _Builder(conn, mapper, projections, targets, tenant_id, state)
            head = log_head(conn)
            mark = time.monotonic()
            scanned = builder.build(head)
            phases["build"] = time.monotonic() - mark

            mark = time.monotonic()
            if not per_tenant:
                state.update("index")
                # Indexes after the bulk load (a sorted build beats row-by-row inserts); coarse
                # statistics (a tenth of the default sample) so the planner has numbers from the
                # first query on: jsonb columns make a full ANALYZE cost seconds.
                conn.execute("SET LOCAL default_statistics_target = 10")
                for t in targets:
                    index_names[t.live] = _build_indexes(conn, t)
                    conn.execute(sql.SQL("ANALYZE {}").format(t.ident))
                conn.execute("RESET default_statistics_target")
            phases["index"] = time.monotonic() - mark

            mark = time.monotonic()
            state.update("catch-up")
            caught = head
            for _ in range(CATCH_UP_ROUNDS):
                now = log_head(conn)
                if now - caught <= SMALL_TAIL:
                    break
                builder.catch_up(caught, now)
                caught = now
            phases["catch-up"] = time.monotonic() - mark

            state.update("swap")
            mark = time.monotonic()
            deadline = mark + swap_deadline
            attempt = 0
            while True:
                attempt += 1
                rows_before = builder.rows
                try:
                    with conn.transaction():
                        # Waiting on the events lock cannot deadlock (writers take it first, and wait for
                        # nothing we hold); waiting past deadlock_timeout also cancels an autovacuum of
                        # the events table that would otherwise hold us off.
                        conn.execute(f"SET LOCAL lock_timeout = '{EVENTS_LOCK_TIMEOUT}'")
                        locked = time.monotonic()
                        conn.execute("SELECT avm_lock_events('EXCLUSIVE')")
                        conn.execute(f"SET LOCAL lock_timeout = '{SWAP_LOCK_TIMEOUT}'")
                        final = log_head(conn)
                        builder.catch_up(caught, final)
                        if per_tenant:
                            _replace_tenant_rows(conn, targets, tenant_id)  # type: ignore[arg-type]
                        else:
                            _swap(conn, targets, index_names)
                        _set_tracking(conn, state.names, final)
                        conn.execute("SET LOCAL lock_timeout = 0")
                    break
                except (psycopg.errors.LockNotAvailable, psycopg.errors.DeadlockDetected):
                    builder.rows = rows_before  # the savepoint took them back
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(min(0.05 * attempt, 1.0))
                    now = log_head(conn)
                    builder.catch_up(caught, now)
                    caught = now
        # Committed: the locks taken in the savepoint were held until here.
        locked_seconds = time.monotonic() - locked
        phases["swap"] = time.monotonic() - mark
        state.update("done")
    finally:
        conn.close()  # after an interruption, closing is what rolls the server side back
    return RebuildResult(projections=list(state.names), tenant_id=tenant_id, events=final, scanned=scanned,
                         caught_up=final - head, aggregates=builder.aggregates, rows=builder.rows,
                         seconds=time.monotonic() - started, locked_seconds=locked_seconds,
                         phases={k: round(v, 4) for k, v in {**phases, **builder.timings}.items()})


def _swap(conn: psycopg.Connection[Any], targets: Sequence[_Target], index_names: dict[str, list[str]]) -> None:
    """Under the events lock: new tables take the live tables' place, names, rights and policies."""
    conn.execute(sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(
        sql.SQL(", ").join(sql.Identifier(t.live) for t in targets)))
    for t in targets:
        extras = _table_extras(conn, t.live)
        old = sql.Identifier(t.live[:58] + "__old")
        conn.execute(sql.SQL("ALTER TABLE {} RENAME TO {}").format(sql.Identifier(t.live), old))
        conn.execute(sql.SQL("DROP TABLE {}").format(old))
        conn.execute(sql.SQL("ALTER TABLE {} RENAME TO {}").format(sql.Identifier(t.name), sql.Identifier(t.live)))
        for index in index_names[t.live]:
            conn.execute(sql.SQL("ALTER INDEX {} RENAME TO {}").format(sql.Identifier(_aside(index)),
                                                                       sql.Identifier(index)))
        for statement in extras:
            conn.execute(statement)


def _replace_tenant_rows(conn: psycopg.Connection[Any], targets: Sequence[_Target], tenant_id: UUID) -> None:
    """Under the events lock: the tenant's live rows become the rebuilt ones; nobody else's change."""
    conn.execute("SELECT set_config('app.tenant_id', %s, true)", (str(tenant_id),))
    for t in targets:
        columns = sql.SQL(", ").join(map(sql.Identifier, t.columns))
        conn.execute(sql.SQL("DELETE FROM {} WHERE tenant_id = %s").format(sql.Identifier(t.live)), (tenant_id,))
        conn.execute(sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {}").format(
            sql.Identifier(t.live), columns, columns, t.ident))


# ----------------------------------------------------------------------------------- verify

@dataclass(frozen=True)
class Difference:
    table: str
    kind: str  # missing (rebuild has it, live does not), extra (live only), changed
    key: dict[str, str]
    changes: dict[str, tuple[str | None, str | None]]  # column -> (expected, live), for `changed`

    def describe(self) -> str:
        key = ", ".join(f"{k}={v}" for k, v in self.key.items())
        line = f"{self.table}: {self.kind} ({key})"
        if self.changes:
            line += "; " + "; ".join(f"{c}: expected {_short(e)}, live {_short(a)}" for c, (e, a) in self.changes.items())
        return line


def _short(value: str | None, n: int = 80) -> str:
    if value is None:
        return "NULL"
    return repr(value if len(value) <= n else value[: n - 1] + "…")


@dataclass(frozen=True)
class VerifyResult:
    projections: list[str]
    tenant_id: UUID | None
    head: int
    rows: int  # rows of the scratch build
    differences: list[Difference]
    counts: dict[str, dict[str, int]]  # table -> kind -> number of differences (all, even past the limit)
    tracking: dict[str, int | None]
    seconds: float

    @property
    def ok(self) -> bool:
        return not self.differences


def verify(url: str, mapper: Mapper[Any], names: Sequence[str] | None = None, *, tenant_id: UUID | None = None,
           progress: Callable[[RebuildProgress], None] | None = None, limit: int = 1_000) -> VerifyResult:
    """Rebuild the named projections into scratch tables and compare every row with the live tables.

    Everything happens in one REPEATABLE READ transaction: the log and the live tables are read in
    the same snapshot (inline rows are committed with their events, so the snapshot's live rows are
    exactly what its events say they must be). Nothing is locked and nothing live is written; the
    scratch tables are temporary and vanish when the transaction is rolled back.
    """
    projections = list(dict.fromkeys(select(names)))  # each once, in registry order of the names
    state = RebuildProgress(names=tuple(p.name for p in projections), tenant_id=tenant_id, operation="verify",
                            callback=progress)
    started = time.monotonic()
    conn = _owner_connection(url)
    try:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        head = log_head(conn)  # the first statement takes the snapshot
        targets = _targets(conn, projections, scratch=True)
        builder = _Builder(conn, mapper, projections, targets, tenant_id, state)
        builder.build(head)
        state.update("compare")
        differences: list[Difference] = []
        counts: dict[str, dict[str, int]] = {}
        for t in targets:
            found, count = _compare(conn, t, tenant_id, limit - len(differences))
            differences += found
            if count:
                counts[t.live] = count
        with conn.cursor(row_factory=tuple_row) as cur:
            tracked = dict(cur.execute("SELECT application_name, notification_id FROM tracking"
                                       " WHERE application_name = ANY(%s)", (list(state.names),)).fetchall())
        conn.rollback()
    finally:
        conn.close()
    state.update("done")
    return VerifyResult(projections=list(state.names), tenant_id=tenant_id, head=head, rows=builder.rows,
                        differences=differences, counts=counts,
                        tracking={n: tracked.get(n) for n in state.names}, seconds=time.monotonic() - started)


def _compare(conn: psycopg.Connection[Any], t: _Target, tenant_id: UUID | None,
             limit: int) -> tuple[list[Difference], dict[str, int]]:
    """Rows that differ between the scratch build and the live table, compared as text (byte for byte)."""
    cols = [sql.Identifier(c) for c in t.columns]
    key = [sql.Identifier(c) for c in t.row_key]
    where, params = sql.SQL(""), []
    if tenant_id is not None:
        where, params = sql.SQL(" WHERE tenant_id = %s"), [tenant_id]

    def as_text(alias: str) -> sql.Composable:
        return sql.SQL("ARRAY[{}]").format(sql.SQL(", ").join(
            sql.SQL("{}.{}::text").format(sql.Identifier(alias), c) for c in cols))

    query = sql.SQL(
        "SELECT CASE WHEN l.present__ IS NULL THEN 'missing' WHEN s.present__ IS NULL THEN 'extra'"
        " ELSE 'changed' END, {s_text}, {l_text}"
        " FROM (SELECT *, true AS present__ FROM {scratch}) s"
        " FULL JOIN (SELECT *, true AS present__ FROM {live}{where}) l ON {on}"
        " WHERE l.present__ IS NULL OR s.present__ IS NULL OR {s_text} IS DISTINCT FROM {l_text}").format(
        s_text=as_text("s"), l_text=as_text("l"), scratch=t.ident, live=sql.Identifier(t.live), where=where,
        on=sql.SQL(" AND ").join(sql.SQL("s.{0} = l.{0}").format(c) for c in key))
    found: list[Difference] = []
    counts: dict[str, int] = {}
    with conn.cursor(row_factory=tuple_row) as cur:
        cur.execute(query, params)
        for kind, expected, actual in cur:
            counts[kind] = counts.get(kind, 0) + 1
            if len(found) >= limit:
                continue
            row = actual if kind == "extra" else expected
            keys = {c: row[t.columns.index(c)] for c in t.row_key}
            changes = {}
            if kind == "changed":
                changes = {c: (e, a) for c, e, a in zip(t.columns, expected, actual) if e != a}
            found.append(Difference(table=t.live, kind=kind, key=keys, changes=changes))
    return found, counts


# ----------------------------------------------------------------------------------- background

def start_in_background(url: str, mapper: Mapper[Any], names: Sequence[str], *, tenant_id: UUID | None = None,
                        wait: float = 30.0) -> RebuildProgress | None:
    """Start `blue_green` in a daemon thread; return once it holds its locks and builds (its progress),
    or raise RebuildRunning when the projection is already being rebuilt, here or elsewhere."""
    ready = threading.Event()
    seen: list[RebuildProgress] = []
    failed: list[BaseException] = []

    def hook(p: RebuildProgress) -> None:
        if not seen:
            seen.append(p)
        if p.phase != "starting":
            ready.set()

    def run() -> None:
        try:
            blue_green(url, mapper, names, tenant_id=tenant_id, progress=hook)
        except BaseException as exc:  # noqa: BLE001 - recorded as the rebuild's outcome (RUNNING.last)
            failed.append(exc)
        finally:
            ready.set()

    threading.Thread(target=run, name=f"avm-rebuild-{'-'.join(names)}", daemon=True).start()
    ready.wait(wait)
    if failed and isinstance(failed[0], RebuildRunning):
        raise failed[0]
    return seen[0] if seen else None


# ----------------------------------------------------------------------------------- in place

def fold_events(conn: Any, mapper: Mapper[Any], *, tenant_id: UUID | None = None, upto: int | None = None,
                progress: Callable[[int], None] | None = None,
                handles: tuple[type, ...] | None = None) -> dict[UUID, Any]:
    """Every aggregate's current state (of the handled types; all the inline projections handle by
    default), folded from the log in order."""
    folder = Folder(mapper, handles or handled_types(INLINE_PROJECTIONS))
    if upto is None:
        upto = log_head(conn)
    done = 0
    with closing(scan_events(conn, upto=upto, tenant_id=tenant_id)) as pages:
        for page in pages:
            folder.fold(page)
            done += len(page)
            if progress:
                progress(done)
    return {a.id: a for a in folder.aggregates.values()}


def rebuild(conn: Any, mapper: Mapper[Any], names: Sequence[str] | None = None, *,
            tenant_id: UUID | None = None, progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Drop and replay the named projections (all when none) in place, in one transaction.

    Writers are held off by a SHARE lock on the events table (the recorder's EXCLUSIVE lock
    conflicts with it) for the whole rebuild, so the rebuilt rows and the tracking position
    describe exactly the same prefix of the log. Works on the application role's connection.
    Prefer `blue_green`, which holds writers off only for the final swap.
    """
    projections: list[InlineProjection] = select(names)
    with conn.transaction():
        conn.execute("SELECT avm_lock_events('SHARE')")
        head = log_head(conn)
        for projection in projections:
            for table in projection.tables:
                if tenant_id is None:
                    conn.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(table)))
                else:
                    conn.execute(sql.SQL("DELETE FROM {} WHERE tenant_id = %s").format(sql.Identifier(table)),
                                 (tenant_id,))
        aggregates = fold_events(conn, mapper, tenant_id=tenant_id, upto=head, progress=progress,
                                 handles=handled_types(projections))
        rows = 0
        with conn.cursor() as curs:
            for projection in projections:
                buffers: dict[str, list[tuple[Any, ...]]] = {t: [] for t in projection.tables}
                for aggregate in aggregates.values():
                    if isinstance(aggregate, projection.handles):
                        for table, table_rows in projection.rows(aggregate).items():
                            buffers[table].extend(table_rows)
                for table, table_rows in buffers.items():
                    # INSERT, not COPY: row-level security (the app role's lot) refuses COPY FROM.
                    columns = projection.tables[table][0]
                    if table_rows:
                        curs.executemany(sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
                            sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns)),
                            sql.SQL(", ").join(sql.Placeholder() * len(columns))), table_rows)
                    rows += len(table_rows)
        _set_tracking(conn, [p.name for p in projections], head)
    return {"projections": [p.name for p in projections], "events": head, "aggregates": len(aggregates),
            "rows": rows}


def table_checksums(conn: Any, tables: Sequence[str], *, where: str = "", params: Sequence[Any] = ()) -> dict[str, str]:
    """An order-independent digest of each table's full contents (or of the rows `where` selects)."""
    out = {}
    for table in tables:
        with conn.cursor(row_factory=tuple_row) as cur:
            n, h = cur.execute(sql.SQL(
                "SELECT count(*), coalesce(md5(string_agg(md5(t::text), '' ORDER BY md5(t::text))), '')"
                " FROM {} t " + where).format(sql.Identifier(table)), params).fetchone()  # type: ignore[misc]
        out[table] = f"{n}:{h}"
    return out
