"""Asynchronous views (daily usage) on the library's Projection and tracking recorder; every projection's state."""
from __future__ import annotations

import logging
import threading
import time
import zlib
from collections.abc import Callable, Sequence
from datetime import date, timedelta, timezone
from decimal import Decimal
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.persistence import Mapper, StoredEvent, Tracking
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from eventsourcing.projection import Projection
from psycopg import Cursor, sql

from domain.application import AvmApplication
from domain.assets import Asset
from domain.jobs import Job
from domain.projects import Project
from domain.shared import TenantAggregate
from eventstore.recorder import act_as_projector
from projections.inline import INLINE_PROJECTIONS

UPSTREAM = AvmApplication.name
log = logging.getLogger("avm.projectors")
# Lag is counted exactly up to this many events (an index range scan), estimated from the head beyond.
LAG_COUNT_CAP = 10_000
# Told (work, position, error) when an async view skips an event it could not process; the service
# counts it on /metrics (api/controllers/metrics.py).
item_failed: Callable[[str, Any, BaseException], None] | None = None

Statement = tuple[sql.Composable | str, Sequence[Any]]


class Unreadable:
    """A stored event the view's reader could not turn into a domain event (see SkippingMapper)."""

    def __init__(self, stored: StoredEvent, error: Exception) -> None:
        self.originator_id = stored.originator_id
        self.originator_version = stored.originator_version
        self.topic = stored.topic
        self.error = error


class SkippingMapper(Mapper[UUID]):
    """The library's mapper, but an event it cannot read reaches the projection as `Unreadable`
    (which skips and counts it) instead of ending the subscription that serves every tenant."""

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        try:
            return super().to_domain_event(stored_event)
        except Exception as exc:  # noqa: BLE001 - handed to the projection, which logs and counts it
            return Unreadable(stored_event, exc)


class AsyncView(PostgresTrackingRecorder):
    """A materialised view whose rows and tracking position are written in one transaction.

    The shared `tracking` table has one row per projection, so the view records its position
    in the upstream application under its own name.

    Writes are batched: the statements of consecutive events (and the positions of events the
    view ignores) are committed together, with the batch's last position, when the batch holds
    BATCH_MAX statements, or by a flusher thread at most FLUSH_SECONDS after its first event,
    or by `flush()`. One commit per batch instead of one per event: under load the view costs
    one transaction per FLUSH_SECONDS, and a catch-up commits in large pages. A crash loses only
    uncommitted work, whose position was not recorded either: it is processed again. A failed
    commit is sticky: every later call raises it, so the runner stops and a new one resumes from
    the recorded position (never a later event counted after an earlier one was lost).
    """

    name: ClassVar[str]
    BATCH_MAX = 500
    FLUSH_SECONDS = 0.05

    def __init__(self, datastore: PostgresDatastore, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)
        self.sql_create_statements = []  # tables come from alembic migrations only
        self._lock = threading.RLock()
        self._pending: list[Statement] = []
        self._position: int | None = None  # the last event taken into the pending batch
        self._failed: Exception | None = None
        self._wake = threading.Event()
        self._closed = False
        self._flusher: threading.Thread | None = None

    def create_table(self) -> None:  # pragma: no cover - guarded: alembic owns the schema
        raise RuntimeError("tables are created by alembic migrations (avm db migrate)")

    # -- tracking under the view's own name ----------------------------------------------------
    def _tracked_as(self, application_name: str) -> str:
        return self.name if application_name == UPSTREAM else application_name

    def _insert_tracking(self, curs: Cursor[Any], tracking: Tracking) -> None:
        super()._insert_tracking(curs, Tracking(self._tracked_as(tracking.application_name),
                                                tracking.notification_id))

    def _max_tracking_id(self, application_name: str, curs: Cursor[Any]) -> int | None:
        return super()._max_tracking_id(self._tracked_as(application_name), curs)

    def max_tracking_id(self, application_name: str) -> int | None:
        self.flush()
        return super().max_tracking_id(application_name)

    # -- writes --------------------------------------------------------------------------------
    def write(self, tracking: Tracking, statements: Sequence[Statement]) -> None:
        """Take an event's statements into the batch (committed with its position, see the class)."""
        self._take(tracking, statements)

    def skip(self, tracking: Tracking) -> None:
        """An event this view does not count: only its position goes into the batch."""
        self._take(tracking, ())

    def _take(self, tracking: Tracking, statements: Sequence[Statement]) -> None:
        with self._lock:
            if self._failed is not None:
                raise self._failed
            self._pending.extend(statements)
            self._position = tracking.notification_id
            if len(self._pending) >= self.BATCH_MAX:
                self._commit_pending()
                return
        self._ensure_flusher()
        self._wake.set()

    @property
    def failed(self) -> bool:
        """Whether a commit failed (sticky: the runner must stop and a new one resume)."""
        return self._failed is not None

    def flush(self) -> None:
        """Commit the pending batch now (raises the error of a failed earlier commit)."""
        with self._lock:
            if self._failed is not None:
                raise self._failed
            self._commit_pending()

    def close(self) -> None:
        """Stop the flusher and commit what is pending."""
        self._closed = True
        self._wake.set()
        flusher = self._flusher
        if flusher is not None and flusher is not threading.current_thread():
            flusher.join(timeout=5)
        self.flush()

    def _commit_pending(self) -> None:
        """One transaction: the batch's statements, then its last position (pipelined).

        The position only moves forward (the library's single-row tracking upsert): events
        processed twice, by a second runner or after a lost acknowledgement, raise
        IntegrityError and roll the batch back instead of counting them again.
        """
        if self._position is None:
            return
        statements, position = self._pending, self._position
        self._pending, self._position = [], None
        try:
            with self.datastore.get_connection() as conn:
                error: Exception | None = None
                try:
                    with conn.pipeline(), conn.transaction(), conn.cursor() as curs:
                        try:
                            # Every tenant's rows: row-level security gives them to the projector
                            # role (migration 0009), whose login or SET ROLE this session has.
                            for statement, params in statements:
                                curs.execute(statement, params, prepare=True)
                            self._insert_tracking(curs, Tracking(UPSTREAM, position))
                        except Exception as exc:
                            error = exc
                            raise  # the transaction rolls back: no row without its position
                except Exception:
                    # Leaving an aborted pipeline reports "pipeline aborted"; the first error is the one.
                    if error is None:
                        raise
                    raise error from None
        except Exception as exc:
            self._failed = exc
            raise

    def _ensure_flusher(self) -> None:
        if self._flusher is None and not self._closed:
            with self._lock:
                if self._flusher is None:
                    self._flusher = threading.Thread(target=self._flush_loop, name=f"avm-{self.name}-flusher",
                                                     daemon=True)
                    self._flusher.start()

    def _flush_loop(self) -> None:
        while not self._closed:
            self._wake.wait()
            self._wake.clear()
            if self._closed:
                return
            time.sleep(self.FLUSH_SECONDS)  # let the batch gather the events arriving meanwhile
            try:
                self.flush()
            except Exception as exc:  # noqa: BLE001 - kept in _failed, raised to the runner's next call
                log.warning("%s: committing a batch failed: %s", self.name, exc)
                return


class DailyUsageView(AsyncView):
    """Per tenant and UTC day: projects created, scenes, renders, storage bytes and cost."""

    name = "daily_usage"
    tables = ("daily_usage", "daily_usage_assets")  # what a rebuild empties and refills (rebuild/async_views.py)
    COUNTERS = ("projects_created", "scenes_created", "renders_succeeded", "renders_failed",
                "storage_bytes_added", "storage_bytes_removed", "cost_estimated", "cost_actual")

    def add(self, tracking: Tracking, day: date, **amounts: int | Decimal) -> None:
        self.write(tracking, [_add(tracking, day, amounts)])

    def asset_registered(self, tracking: Tracking, day: date, asset_id: UUID, size_bytes: int) -> None:
        remember = ("INSERT INTO daily_usage_assets (tenant_id, asset_id, size_bytes)"
                    " SELECT tenant_id, %s, %s FROM events WHERE notification_id = %s"
                    " ON CONFLICT (tenant_id, asset_id) DO NOTHING")
        self.write(tracking, [(remember, (asset_id, size_bytes, tracking.notification_id)),
                              _add(tracking, day, {"storage_bytes_added": size_bytes})])

    def asset_changed(self, tracking: Tracking, day: date, asset_id: UUID, change: str) -> None:
        """Deleted, Restored or Expired: flip the asset's flag; if that changes whether its bytes
        count, add or remove them on the event's day. Events of other aggregates match no row."""
        flag, value, counter = {
            "deleted": ("deleted", True, "storage_bytes_removed"),
            "restored": ("deleted", False, "storage_bytes_added"),
            "expired": ("expired", True, "storage_bytes_removed"),
        }[change]
        other = "expired" if flag == "deleted" else "deleted"
        statement = sql.SQL(
            "WITH changed AS ("
            " UPDATE daily_usage_assets SET {flag} = %(value)s"
            " WHERE tenant_id = (SELECT tenant_id FROM events WHERE notification_id = %(position)s)"
            " AND asset_id = %(asset_id)s AND {flag} <> %(value)s"
            " RETURNING tenant_id, size_bytes, {other})"
            " INSERT INTO daily_usage (tenant_id, day, {counter})"
            " SELECT tenant_id, %(day)s, size_bytes FROM changed WHERE NOT {other}"
            " ON CONFLICT (tenant_id, day) DO UPDATE SET {counter} = daily_usage.{counter} + EXCLUDED.{counter}"
        ).format(flag=sql.Identifier(flag), other=sql.Identifier(other), counter=sql.Identifier(counter))
        self.write(tracking, [(statement, {"value": value, "position": tracking.notification_id,
                                           "asset_id": asset_id, "day": day})])


_ADD_CACHE: dict[tuple[str, ...], sql.Composed] = {}


def _add(tracking: Tracking, day: date, amounts: dict[str, int | Decimal]) -> Statement:
    """Add amounts to the tenant's row of the day (created on first use).

    The tenant comes from the event's own row in `events`: most payloads do not carry it.
    """
    columns = tuple(sorted(amounts))
    statement = _ADD_CACHE.get(columns)
    if statement is None:
        ids = [sql.Identifier(c) for c in columns]
        statement = _ADD_CACHE[columns] = sql.SQL(
            "INSERT INTO daily_usage (tenant_id, day, {cols}) SELECT tenant_id, %s, {values} FROM events"
            " WHERE notification_id = %s ON CONFLICT (tenant_id, day) DO UPDATE SET {sets}"
        ).format(cols=sql.SQL(", ").join(ids), values=sql.SQL(", ").join(sql.Placeholder() * len(ids)),
                 sets=sql.SQL(", ").join(sql.SQL("{c} = daily_usage.{c} + EXCLUDED.{c}").format(c=i) for i in ids))
    return statement, (day, *(amounts[c] for c in columns), tracking.notification_id)


def day_of(event: Any) -> date:
    """The UTC day an event happened on (its own timestamp: deterministic on replay)."""
    return event.timestamp.astimezone(timezone.utc).date()


def money(value: Any) -> Decimal:
    return Decimal(str(value or 0)).quantize(Decimal("0.000001"))


class DailyUsageProjection(Projection[DailyUsageView]):
    """Projects created, scenes (from stories set), renders (jobs succeeded, jobs failed for good),
    storage bytes (sized assets registered, less deleted or expired ones, restored ones back) and
    cost (the expected estimate when a job is queued, the actual cost when it succeeds).

    Every event advances the position, counted or not, so lag is measured against the whole log.
    """

    name = "daily_usage"
    topics: tuple[str, ...] = ()

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """Count the event; one that cannot be counted is logged (position and aggregate id, never
        its data), counted as a failure and skipped, so every tenant's usage goes on being counted.
        Its contribution is missing until the view is rebuilt from the log (decisions/i11-readers.md)."""
        try:
            if isinstance(domain_event, Unreadable):
                raise domain_event.error
            self._count(domain_event, tracking)
        except Exception as exc:  # noqa: BLE001 - one bad event never stops the view of every tenant
            if self.view.failed:
                raise  # the view's own commit failed: that stops the runner (see AsyncView)
            log.warning("%s: event at position %s (aggregate %s) skipped after %s", self.name,
                        tracking.notification_id, getattr(domain_event, "originator_id", "?"), type(exc).__name__)
            if item_failed is not None:
                item_failed(f"view {self.name}", tracking.notification_id, exc)
            self.view.skip(tracking)

    @singledispatchmethod
    def _count(self, domain_event: Any, tracking: Tracking) -> None:
        self.view.skip(tracking)

    @_count.register(Project.Created)
    def _project_created(self, e: Any, tracking: Tracking) -> None:
        self.view.add(tracking, day_of(e), projects_created=1)

    @_count.register(Project.StorySet)
    def _story_set(self, e: Any, tracking: Tracking) -> None:
        self.view.add(tracking, day_of(e), scenes_created=len(e.scenes))

    @_count.register(Job.Queued)
    def _job_queued(self, e: Any, tracking: Tracking) -> None:
        self.view.add(tracking, day_of(e), cost_estimated=money((e.estimate or {}).get("expected")))

    @_count.register(Job.Succeeded)
    def _job_succeeded(self, e: Any, tracking: Tracking) -> None:
        self.view.add(tracking, day_of(e), renders_succeeded=1, cost_actual=money(e.cost_actual))

    @_count.register(Job.Failed)
    def _job_failed(self, e: Any, tracking: Tracking) -> None:
        if e.will_retry:  # an attempt failed; the render goes on
            self.view.skip(tracking)
        else:
            self.view.add(tracking, day_of(e), renders_failed=1)

    @_count.register(Asset.Registered)
    def _asset_registered(self, e: Any, tracking: Tracking) -> None:
        if e.size_bytes:
            self.view.asset_registered(tracking, day_of(e), e.originator_id, e.size_bytes)
        else:
            self.view.skip(tracking)

    @_count.register(Asset.Deleted)
    @_count.register(TenantAggregate.Deleted)  # logs written before per-aggregate events
    def _deleted(self, e: Any, tracking: Tracking) -> None:
        self.view.asset_changed(tracking, day_of(e), e.originator_id, "deleted")

    @_count.register(Asset.Restored)
    @_count.register(TenantAggregate.Restored)  # logs written before per-aggregate events
    def _restored(self, e: Any, tracking: Tracking) -> None:
        self.view.asset_changed(tracking, day_of(e), e.originator_id, "restored")

    @_count.register(Asset.Expired)
    def _expired(self, e: Any, tracking: Tracking) -> None:
        self.view.asset_changed(tracking, day_of(e), e.originator_id, "expired")


# The asynchronous projections, each with the view class it writes.
ASYNC_PROJECTIONS: tuple[tuple[type[Projection[Any]], type[AsyncView]], ...] = (
    (DailyUsageProjection, DailyUsageView),
)
ASYNC_NAMES = tuple(p.name for p, _ in ASYNC_PROJECTIONS)
# Their own recorders act as the projector role (their tables are its), whatever the login.
act_as_projector(*ASYNC_NAMES)


def lock_key(name: str) -> int:
    """The PostgreSQL advisory lock held by the one runner that projects `name`."""
    return zlib.crc32(f"avm:projection:{name}".encode())


# -- state of every projection ---------------------------------------------------------------------
def projection_states(conn: Any, max_lag: int, names: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Every projection (or the named ones), inline and async: position, lag in events, state, and
    for an async one whether a runner holds it.

    `live` when the lag is within `max_lag`, `building` otherwise (catching up, or no runner).
    """
    every = [*((p.name, "inline") for p in INLINE_PROJECTIONS), *((n, "async") for n in ASYNC_NAMES)]
    chosen = [(n, k) for n, k in every if names is None or n in names]
    head = conn.execute("SELECT coalesce(max(notification_id), 0) AS n FROM events").fetchone()["n"]
    positions = {r["application_name"]: r["notification_id"] or 0 for r in conn.execute(
        "SELECT application_name, notification_id FROM tracking WHERE application_name <> '__migration__'")}
    keys = {lock_key(n): n for n, k in chosen if k == "async"}
    running = {keys[r["key"]] for r in conn.execute(
        "SELECT objid::bigint AS key FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = 0"
        " AND objsubid = 1 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        " AND objid::bigint = ANY(%s)", (list(keys),)) if r["key"] in keys} if keys else set()
    lags: dict[int, int] = {}
    cap = max(LAG_COUNT_CAP, max_lag + 1)
    out = []
    for name, kind in chosen:
        position = positions.get(name, 0)
        if position not in lags:
            lags[position] = 0 if position >= head else count_after(conn, position, cap, head)
        lag = lags[position]
        state: dict[str, Any] = {"name": name, "kind": kind, "position": position, "lag": lag,
                                 "state": "live" if lag <= max_lag else "building"}
        if kind == "async":
            state["runner"] = "active" if name in running else "none"
        out.append(state)
    return out


def count_after(conn: Any, position: int, cap: int, head: int) -> int:
    """Events after `position`: counted exactly up to `cap`, else the head's distance (ids have gaps)."""
    n = conn.execute("SELECT count(*) AS n FROM (SELECT 1 FROM events WHERE notification_id > %s"
                     " ORDER BY notification_id LIMIT %s) s", (position, cap)).fetchone()["n"]
    return n if n < cap else max(head - position, n)


def service_stats(conn: Any) -> dict[str, int]:
    """Live users, projects and assets (not deleted or expired), every job, every event."""
    row = conn.execute(
        "SELECT (SELECT count(*) FROM users WHERE deleted_at IS NULL) AS users,"
        " (SELECT count(*) FROM projects WHERE deleted_at IS NULL) AS projects,"
        " (SELECT count(*) FROM jobs) AS jobs,"
        " (SELECT count(*) FROM assets WHERE deleted_at IS NULL AND expired_at IS NULL) AS assets,"
        " (SELECT count(*) FROM events) AS events").fetchone()
    return {k: int(v) for k, v in row.items()}


# -- daily usage queries ---------------------------------------------------------------------------
USAGE_FIELDS = DailyUsageView.COUNTERS
_SUMS = ", ".join(f"sum({c}) AS {c}" for c in USAGE_FIELDS)


def list_daily_usage(conn: Any, tenant_id: UUID, first: date, last: date) -> list[dict[str, Any]]:
    """The tenant's days from `first` to `last`, every day present (zeros when nothing happened),
    with the storage balance at the end of each day."""
    opening = conn.execute(
        "SELECT coalesce(sum(storage_bytes_added - storage_bytes_removed), 0) AS n FROM daily_usage"
        " WHERE tenant_id = %s AND day < %s", (tenant_id, first), prepare=True).fetchone()["n"]
    rows = conn.execute(
        f"SELECT day, {', '.join(USAGE_FIELDS)} FROM daily_usage WHERE tenant_id = %s AND day BETWEEN %s AND %s"
        " ORDER BY day", (tenant_id, first, last), prepare=True).fetchall()
    return _days(rows, first, last, int(opening))


def list_daily_totals(conn: Any, first: date, last: date) -> list[dict[str, Any]]:
    """Every tenant's usage added up per day (admin), with the number of tenants active that day."""
    opening = conn.execute(
        "SELECT coalesce(sum(storage_bytes_added - storage_bytes_removed), 0) AS n FROM daily_usage"
        " WHERE day < %s", (first,)).fetchone()["n"]
    rows = conn.execute(
        f"SELECT day, count(*) AS active_tenants, {_SUMS} FROM daily_usage WHERE day BETWEEN %s AND %s"
        " GROUP BY day ORDER BY day", (first, last)).fetchall()
    return _days(rows, first, last, int(opening), extra=("active_tenants",))


def _days(rows: list[dict[str, Any]], first: date, last: date, balance: int,
          extra: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    by_day = {r["day"]: r for r in rows}
    out = []
    day = first
    while day <= last:
        row = by_day.get(day) or {}
        item: dict[str, Any] = {"day": day}
        for f in (*extra, *USAGE_FIELDS):
            value = row.get(f) or 0
            item[f] = float(value) if f.startswith("cost_") else int(value)
        balance += item["storage_bytes_added"] - item["storage_bytes_removed"]
        item["storage_bytes"] = balance
        out.append(item)
        day += timedelta(days=1)
    return out
