"""The event store: the library's PostgreSQL application recorder, extended with tenant, metadata,
hash chain and same-transaction writes (inline projections, a command's idempotency key)."""
from __future__ import annotations

import contextlib

import os
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError, InterfaceError, Notification, OperationalError, StoredEvent
from eventsourcing.postgres import (
    PostgresAggregateRecorder,
    PostgresApplicationRecorder,
    PostgresDatastore,
    PostgresFactory,
    PostgresTrackingRecorder,
)
from eventsourcing.utils import Environment, EnvType, retry, strtobool
import psycopg
from psycopg.rows import tuple_row

from eventstore import jsontext
from eventstore.committer import Committer, Write, _Item
from eventstore.errors import ConstraintErrors, typed
from eventstore.statements import SCOPE, set_config_sql, text_array_literal, tracking_upsert_sql

jsontext.configure_process()  # a runner's own application reads stored JSON too (idempotent)

SYSTEM_TENANT = UUID(int=0)
# The database roles (migrations 0003, 0009): the service's login, the cross-tenant scope it may
# switch to for one transaction, and the asynchronous views' login.
APP_ROLE = "avm_app"
SYSTEM_ROLE = "avm_system"
PROJECTOR_ROLE = "avm_projector"
EVENTS_TABLE = "events"



class EventMeta:
    """Per-command metadata stored on every event row the command appends."""

    __slots__ = ("actor_id", "causation_id", "command_id", "correlation_id")

    def __init__(self, actor_id: str | None = None, command_id: str | None = None,
                 correlation_id: str | None = None, causation_id: str | None = None) -> None:
        self.actor_id = actor_id
        self.command_id = command_id
        self.correlation_id = correlation_id
        self.causation_id = causation_id




_STORE_SCOPE_SQL = set_config_sql(values={"app.scope": "store"})
_BEGIN = b"BEGIN"
_COMMIT = b"COMMIT"
_SAVEPOINT = b"SAVEPOINT avm_command"
_RELEASE = b"RELEASE SAVEPOINT avm_command"
_ROLLBACK_TO = b"ROLLBACK TO SAVEPOINT avm_command"


def _translate(error: Exception) -> Exception:
    """psycopg errors → the library's persistence errors (as PostgresDatastore does), cause kept."""
    from eventsourcing import persistence as p

    for source, target in ((psycopg.InterfaceError, p.InterfaceError), (psycopg.OperationalError, p.OperationalError),
                           (psycopg.DataError, p.DataError), (psycopg.IntegrityError, p.IntegrityError),
                           (psycopg.InternalError, p.InternalError), (psycopg.ProgrammingError, p.ProgrammingError),
                           (psycopg.NotSupportedError, p.NotSupportedError), (psycopg.DatabaseError, p.DatabaseError),
                           (psycopg.Error, p.PersistenceError)):
        if isinstance(error, source):
            translated = target(str(error))
            translated.__cause__ = error
            return translated
    return error




class DbFunctionsRefused(RuntimeError):
    """Raised when POSTGRES_ENABLE_DB_FUNCTIONS is set: its insert path skips the table lock."""


def refuse_db_functions(env: Any) -> None:
    value = env.get("POSTGRES_ENABLE_DB_FUNCTIONS") if env is not None else None
    if value and strtobool(value):
        raise DbFunctionsRefused(
            "POSTGRES_ENABLE_DB_FUNCTIONS is set: its insert path skips the events table lock "
            "and lets subscribers skip events; unset it"
        )


class AvmRecorder(PostgresApplicationRecorder):
    """Application recorder whose rows carry tenant, per-tenant sequence, metadata and hash chain.

    One command = one transaction: lock, notify, insert the events, run the
    same-transaction writes (inline projections), advance the inline tracking
    positions, commit; statements are pipelined so this is one round trip plus commit.
    """

    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = EVENTS_TABLE,
                 inline_projections: Sequence[str] = (), constraint_errors: ConstraintErrors | None = None) -> None:
        if datastore.enable_db_functions:
            raise DbFunctionsRefused("POSTGRES_ENABLE_DB_FUNCTIONS must not be enabled")
        super().__init__(datastore, events_table_name=events_table_name)
        self.sql_create_statements = []  # tables come from alembic migrations only
        # Wired by the composition root (api/composition.py): the names whose tracking position each
        # command advances (the inline read models its writes update), and what a violated
        # constraint means (raised instead of a bare IntegrityError).
        self.inline_projections = list(inline_projections)
        self.constraint_errors: ConstraintErrors = dict(constraint_errors or {})
        # Seals personal fields with the tenant's data key before the insert (eventstore/sealing.py);
        # wired by the composition root, None in the library's own recorder test suites.
        self.sealer: Any = None
        table = events_table_name
        self.insert_sql = (
            f"INSERT INTO {table} (originator_id, originator_version, topic, state, tenant_id,"
            " actor_id, command_id, correlation_id, causation_id, reason)"
            " SELECT u.o, u.v, u.t, u.s, u.tn, %s, %s, %s, %s, %s"
            " FROM unnest(%s::uuid[], %s::bigint[], %s::text[], %s::bytea[], %s::uuid[])"
            " WITH ORDINALITY AS u(o, v, t, s, tn, n) ORDER BY u.n"
            " RETURNING notification_id"
        )
        # One event (most commands): the same row by a plain VALUES insert. psycopg dumps the five
        # arrays of the unnest form in Python, ~40 µs of the committer thread's time per command.
        self.insert_one_sql = (
            f"INSERT INTO {table} (originator_id, originator_version, topic, state, tenant_id,"
            " actor_id, command_id, correlation_id, causation_id, reason)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING notification_id"
        )
        # Scope, lock and notify in one statement (one parse, one result to wait for): the select
        # list is evaluated left to right, so the lock timeout is set before the lock is taken.
        # The app role may not LOCK the table itself (that needs UPDATE/DELETE rights it must
        # not have); a SECURITY DEFINER function takes the same EXCLUSIVE lock for it.
        lock_notify = (f"set_config('lock_timeout', '{int(datastore.lock_timeout)}s', true),"
                       f" avm_lock_events('EXCLUSIVE'), pg_notify('{self.channel_name}', '')")
        self.lock_notify_sql = "SELECT " + lock_notify
        self.begin_sql = f"{self.scope_sql}, {lock_notify}"
        self.tracking_after_sql = tracking_upsert_sql()
        self.committer: Committer | None = (
            Committer(self._commit_batch) if os.environ.get("AVM_GROUP_COMMIT", "1") != "0" else None)
        self.tracking_sql = tracking_upsert_sql(f"currval(pg_get_serial_sequence('{table}', 'notification_id'))")
        self._tracking_for: tuple[tuple[str, ...], str, str] | None = None

    def _tracking_statements(self) -> tuple[str, str]:
        """The tracking upserts of a command (position: the last id inserted) and of a batch (position:
        a parameter), with the inline projections' names written into the statement: they are fixed
        by the composition root, and a text[] parameter cost psycopg an array dump per command."""
        names = tuple(self.inline_projections)
        if self._tracking_for is None or self._tracking_for[0] != names:
            literal = text_array_literal(names)
            table = self.events_table_name
            self._tracking_for = (
                names,
                tracking_upsert_sql(f"currval(pg_get_serial_sequence('{table}', 'notification_id'))", names=literal),
                tracking_upsert_sql(names=literal))
        return self._tracking_for[1], self._tracking_for[2]

    # The role is set for every command, not only a multi-tenant one: in a group commit a command's
    # setting outlives its released savepoint, and the next command must not inherit avm_system.
    scope_sql = set_config_sql(*SCOPE, "role")
    # The role a command acts as (AVM_DB_ROLE, set by the Factory); a save spanning tenants switches
    # to SYSTEM_ROLE for its transaction: row-level security gives every tenant's rows to that role only.
    acting_role = "avm_app"

    def _store_read(self, statement: Any, params: Any, row_factory: Any = None) -> list[Any]:
        """Run a read of the log as the event store (scope `store`: every tenant's events)."""
        with self.datastore.get_connection() as conn:
            with conn.pipeline(), conn.transaction(), conn.cursor(row_factory=row_factory or conn.row_factory) as curs:
                curs.execute(_STORE_SCOPE_SQL, prepare=True)
                curs.execute(statement, params, prepare=True)
                rows = curs.fetchall()
            return rows

    @retry((InterfaceError, OperationalError), max_attempts=3, wait=0.2)
    def select_events(self, originator_id: Any, *, gt: int | None = None, lte: int | None = None,
                      desc: bool = False, limit: int | None = None) -> Sequence[StoredEvent]:
        # Only the columns a StoredEvent needs (not the chain and metadata columns), as tuples, from
        # a plain string cached per shape (psycopg caches its parsing by the string): a fold of 100
        # events cost twice as much with `SELECT *` into dicts from a composed statement.
        shape = (gt is not None, lte is not None, desc, limit is not None)
        cache = self.__dict__.setdefault("_select_events_sql", {})
        statement = cache.get(shape)
        if statement is None:
            statement = (f"SELECT originator_version, topic, state FROM {self.events_table_name}"
                         " WHERE originator_id = %s" + (" AND originator_version > %s" if shape[0] else "")
                         + (" AND originator_version <= %s" if shape[1] else "")
                         + " ORDER BY originator_version" + (" DESC" if desc else " ASC")
                         + (" LIMIT %s" if shape[3] else ""))
            cache[shape] = statement
        params = [originator_id, *(p for p in (gt, lte, limit) if p is not None)]
        return [StoredEvent(originator_id=originator_id, originator_version=version, topic=topic, state=bytes(state))
                for version, topic, state in self._store_read(statement, params, tuple_row)]

    @retry((InterfaceError, OperationalError), max_attempts=3, wait=0.2)
    def select_notifications(self, start: int | None, limit: int, stop: int | None = None,
                             topics: Sequence[str] = (), *, inclusive_of_start: bool = True) -> Sequence[Notification]:
        clauses, params = [], []
        if start is not None:
            clauses.append("notification_id >= %s" if inclusive_of_start else "notification_id > %s")
            params.append(start)
        if stop is not None:
            clauses.append("notification_id <= %s")
            params.append(stop)
        if topics:
            clauses.append("topic = ANY(%s)")
            params.append(list(topics))
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        params.append(limit)
        rows = self._store_read(
            f"SELECT notification_id, originator_id, originator_version, topic, state FROM {self.events_table_name}"
            f"{where} ORDER BY notification_id LIMIT %s", params)
        return [Notification(id=r["notification_id"], originator_id=r["originator_id"],
                             originator_version=r["originator_version"], topic=r["topic"], state=bytes(r["state"]))
                for r in rows]

    @retry((InterfaceError, OperationalError), max_attempts=3, wait=0.2)
    def max_notification_id(self) -> int | None:
        rows = self._store_read(f"SELECT max(notification_id) AS max FROM {self.events_table_name}", ())
        return rows[0]["max"]

    def create_table(self) -> None:  # pragma: no cover - guarded: alembic owns the schema
        raise RuntimeError("tables are created by alembic migrations (avm db migrate)")

    # Retry only a dropped connection: a lock or statement timeout must surface at once (503).
    @retry(InterfaceError, max_attempts=3, wait=0.2)
    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        """Append the events with their tenants and metadata, and run the same-transaction `writes`
        (plain statements on the cursor: the recorder knows no aggregate and no read model)."""
        try:
            return self._insert(stored_events, **kwargs)
        except IntegrityError as e:
            raise typed(e, self.constraint_errors) from None

    def _insert(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        meta: EventMeta = kwargs.get("meta") or EventMeta()
        tenants: dict[Any, UUID] = kwargs.get("tenants") or {}
        writes: list[Write] = list(kwargs.get("writes") or ())
        if not stored_events and not writes:
            return []
        if self.sealer is not None and stored_events:
            stored_events = self.sealer.seal_events(stored_events, tenants)
        item = _Item(stored_events, meta, tenants, writes)
        if self.committer is not None:
            return self.committer.submit(item)
        return self._commit_one(item)

    def _scope_params(self, item: _Item) -> tuple[str, str, str, str]:
        batch_tenants = {item.tenants.get(e.originator_id, SYSTEM_TENANT) for e in item.stored_events}
        single = next(iter(batch_tenants)) if len(batch_tenants) == 1 else None
        caller = getattr(item.meta, "actor_id", None)
        return (str(single) if single else "", "" if single else "system",
                caller if caller and _is_uuid(caller) else "", self.acting_role if single else SYSTEM_ROLE)

    def _insert_params(self, item: _Item) -> tuple[Any, ...]:
        meta, events = item.meta, item.stored_events
        return (meta.actor_id, meta.command_id, meta.correlation_id, meta.causation_id, getattr(meta, "reason", None),
                [e.originator_id for e in events], [e.originator_version for e in events],
                [e.topic for e in events], [e.state for e in events],
                [item.tenants.get(e.originator_id, SYSTEM_TENANT) for e in events])

    def _insert_one_params(self, item: _Item) -> tuple[Any, ...]:
        meta, e = item.meta, item.stored_events[0]
        return (e.originator_id, e.originator_version, e.topic, e.state, item.tenants.get(e.originator_id, SYSTEM_TENANT),
                meta.actor_id, meta.command_id, meta.correlation_id, meta.causation_id, getattr(meta, "reason", None))

    def _commit_one(self, item: _Item) -> list[int]:
        """One command, one transaction, one round trip: BEGIN, scope + lock + notify, insert,
        writes, tracking and COMMIT are queued in one pipeline and sent with one sync.

        The transaction is begun and committed by statements of the pipeline (the connection is
        in autocommit mode) rather than by psycopg's transaction block, which costs a round trip
        to begin and, in a pipeline, two syncs to end. When anything fails, on the server or in a
        projector on the client side, COMMIT is never sent (a failed statement makes the server
        skip the rest) and the transaction is rolled back.
        """
        with self.datastore.get_connection() as conn:
            with conn.cursor() as insert_curs, conn.cursor() as curs:
                try:
                    with conn.pipeline():
                        curs.execute(_BEGIN, prepare=False)
                        self._queue(item, self.begin_sql, curs, insert_curs)
                        if item.stored_events and self.inline_projections:
                            curs.execute(self._tracking_statements()[0], prepare=True)
                        curs.execute(_COMMIT, prepare=False)
                except BaseException:
                    _roll_back(conn)
                    raise
                return self._ids(item, insert_curs)

    def _queue(self, item: _Item, scope_sql: str, curs: Any, insert_curs: Any) -> None:
        """Queue a command's statements in the current pipeline: its scope (row-level security:
        the transaction may write only this tenant's rows), its events, its projection writes."""
        curs.execute(scope_sql, self._scope_params(item), prepare=True)
        if len(item.stored_events) == 1:
            insert_curs.execute(self.insert_one_sql, self._insert_one_params(item), prepare=True)
        elif item.stored_events:
            insert_curs.execute(self.insert_sql, self._insert_params(item), prepare=True)
        for write in item.writes:
            write(curs)

    @staticmethod
    def _ids(item: _Item, insert_curs: Any) -> list[int]:
        return [row["notification_id"] for row in insert_curs.fetchall()] if item.stored_events else []

    def _commit_batch(self, items: list[_Item]) -> None:
        """Group commit: several commands in one transaction, each in its own savepoint.

        Inserts are serialised by the events table lock until COMMIT, so the commit's WAL
        flush bounds throughput; sharing it between the commands waiting at that moment
        multiplies throughput while each command stays atomic (a failing one rolls back to
        its savepoint and fails alone) and gap-safe ordering is unchanged. One round trip to
        begin and lock, one per command, one for tracking and COMMIT.
        """
        if len(items) == 1:
            try:
                items[0].result = self._commit_one(items[0])
            except Exception as e:  # noqa: BLE001 - handed to the waiting caller
                items[0].error = e
            return
        try:
            with self.datastore.get_connection() as conn:
                try:
                    with conn.pipeline():
                        conn.execute(_BEGIN, prepare=False)
                        conn.execute(self.lock_notify_sql, prepare=True)
                    for item in items:
                        self._run_in_savepoint(conn, item)
                    ids = [i for item in items if item.error is None for i in (item.result or [])]
                    with conn.pipeline():
                        if ids and self.inline_projections:
                            conn.execute(self._tracking_statements()[1], (max(ids),), prepare=True)
                        conn.execute(_COMMIT, prepare=False)
                except BaseException:
                    _roll_back(conn)
                    raise
        except Exception as e:  # noqa: BLE001 - the commit failed: every command in it failed
            for item in items:
                if item.error is None:
                    item.error = e
                    item.result = None

    def _run_in_savepoint(self, conn: Any, item: _Item) -> None:
        """One command of a group commit, in its own savepoint, in one round trip: SAVEPOINT,
        scope, insert, writes and RELEASE queued in one pipeline (psycopg's nested transaction
        would send SAVEPOINT and RELEASE as round trips of their own, in the committer thread
        that every command waits for). Only a failing command costs a second, the ROLLBACK TO
        its savepoint. A client-side failure (a projector raising) propagates: the whole batch
        is rolled back.
        """
        with conn.cursor() as insert_curs, conn.cursor() as curs:
            try:
                with conn.pipeline():
                    curs.execute(_SAVEPOINT, prepare=False)
                    self._queue(item, self.scope_sql, curs, insert_curs)
                    curs.execute(_RELEASE, prepare=False)
            except psycopg.Error as e:
                item.error = _translate(e)
                item.result = None
                # Undo this command only; the batch goes on.
                conn.execute(_ROLLBACK_TO, prepare=False)
                conn.execute(_RELEASE, prepare=False)
                return
            item.result = self._ids(item, insert_curs)


def _roll_back(conn: Any) -> None:
    """After a failed commit: psycopg's rollback (ROLLBACK when a transaction is open, and its
    prepared statements forgotten). A connection too broken for that is discarded by the pool;
    the error that matters is the one already propagating."""
    with contextlib.suppress(psycopg.Error):
        conn.rollback()


# Names of the applications (the asynchronous views) whose recorders act as PROJECTOR_ROLE when
# AVM_DB_ROLE does not say: each view registers its name (projections/views.py).
PROJECTOR_NAMES: set[str] = set()


def act_as_projector(*names: str) -> None:
    PROJECTOR_NAMES.update(names)


class Factory(PostgresFactory):
    """Infrastructure factory: our recorder, fixed table names, never creates tables."""

    def __init__(self, env: Environment | EnvType | None) -> None:
        refuse_db_functions(env)
        super().__init__(env)
        # The asynchronous views' own recorders act as the projector role (their tables are its).
        role = self.env.get("AVM_DB_ROLE", PROJECTOR_ROLE if self.env.name in PROJECTOR_NAMES else APP_ROLE)
        self.role = role
        if role:
            _act_as_role(self.datastore, role)

    def env_create_table(self) -> bool:
        return False

    def application_recorder(self) -> AvmRecorder:  # type: ignore[override]
        recorder = AvmRecorder(self.datastore)
        recorder.acting_role = self.role or "none"
        return recorder

    def aggregate_recorder(self, purpose: str = "events") -> PostgresAggregateRecorder:
        return SnapshotRecorder(self.datastore, events_table_name=purpose)

    def tracking_recorder(self, tracking_recorder_class: Any = None) -> Any:
        cls = tracking_recorder_class or PostgresTrackingRecorder
        return cls(datastore=self.datastore, tracking_table_name="tracking")


class SnapshotRecorder(PostgresAggregateRecorder):
    """The library's recorder of snapshots; a snapshot's aggregate state is sealed whole with its
    tenant's data key when a sealer is wired (eventstore/sealing.py)."""

    sealer: Any = None

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        if self.sealer is not None and stored_events:
            stored_events = self.sealer.seal_snapshots(stored_events)
        return super().insert_events(stored_events, **kwargs)


def _is_uuid(value: str) -> bool:
    try:
        UUID(value)
    except ValueError:
        return False
    return True


def _act_as_role(datastore: PostgresDatastore, role: str) -> None:
    """Every pooled connection acts as the unprivileged application role."""
    from psycopg import sql

    pool = datastore.pool
    configure = pool._configure  # set by the library; the pool is not open yet

    statement_timeout = int(os.environ.get("AVM_DB_STATEMENT_TIMEOUT_MS", "5000"))

    def configure_with_role(conn: Any) -> None:
        if configure is not None:
            configure(conn)
        conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(role)))
        # A stuck database must fail a request within seconds (503), never hang it.
        conn.execute(sql.SQL("SET statement_timeout = {}").format(sql.Literal(statement_timeout)))

    pool._configure = configure_with_role


def pool_env(size: int, *, overflow: int, pre_ping: str) -> dict[str, str]:
    """The library's pool settings for one of our pools: its size and overflow, whether it pings a
    connection before lending it, and the timeouts every pool of ours shares."""
    return {
        "POSTGRES_POOL_SIZE": str(size),
        "POSTGRES_MAX_OVERFLOW": str(overflow),
        "POSTGRES_PRE_PING": pre_ping,
        "POSTGRES_CONNECT_TIMEOUT": os.environ.get("AVM_DB_CONNECT_TIMEOUT", "5"),
        "POSTGRES_LOCK_TIMEOUT": os.environ.get("AVM_DB_LOCK_TIMEOUT", "5"),
        "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": "10",
    }


def env_for(url: str, **extra: str) -> dict[str, str]:
    """The eventsourcing environment for a database URL."""
    from psycopg.conninfo import conninfo_to_dict

    p = conninfo_to_dict(url)
    env = {
        "PERSISTENCE_MODULE": f"{__name__}:Factory",
        "POSTGRES_DBNAME": str(p.get("dbname", "avm")),
        "POSTGRES_HOST": str(p.get("host", "127.0.0.1")),
        "POSTGRES_PORT": str(p.get("port", "5432")),
        "POSTGRES_USER": str(p.get("user", "postgres")),
        "POSTGRES_PASSWORD": str(p.get("password", "")),
        "CREATE_TABLE": "no",
    }
    env.update(extra)
    return env
