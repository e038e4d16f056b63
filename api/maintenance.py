"""Maintenance that runs itself: the registry of sweeps, one pass of them (`avm maintenance run`), and
the runner `avm serve` starts (each sweep on its interval).

Several processes may run sweeps at once (replicas of `avm serve`, a cron `avm maintenance run`):
each sweep runs under its own PostgreSQL advisory lock (`pg_try_advisory_lock`), so one runner at a
time does it and the others skip it. Every run, whoever ran it, is recorded in `sweep_runs`, which
/metrics and /api/health read: every process reports the same values.

Adding a sweep is one entry in SWEEPS: a name, a function `(services, ctx, skipped) -> items done`
(an item it fails on goes into `skipped`, is logged and counted, and is left for the next run) and
a default interval (`AVM_SWEEP_<NAME>_SECONDS` overrides it; 0 turns it off in `avm serve`).
"""
from __future__ import annotations

import logging
import math
import os
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

from api.controllers.assets import expire_due
from api.idempotency import delete_expired_keys
from api.media_sweep import sweep_orphan_bytes
from api.services import Services
from domain.context import CommandContext
from projections.stats import get_sweep_run

log = logging.getLogger("avm.maintenance")
SweepFunction = Callable[[Services, CommandContext, set[Any]], int]
MAX_INTERVAL_SECONDS = 7 * 86400
DEFAULT_IDEMPOTENCY_RETENTION_SECONDS = 86400.0


def expire_job_leases(services: Services, ctx: CommandContext, skipped: set[Any]) -> int:
    """Return to the queue (or fail after its last attempt) every running job whose lease expired
    without a heartbeat, as TIMEOUT (the job-lease sweep of api.controllers.jobs)."""
    from api.controllers.jobs import expire_leases

    return expire_leases(services, ctx, skipped)


def expire_assets(services: Services, ctx: CommandContext, skipped: set[Any]) -> int:
    """Append Expired for every asset past its expiry."""
    return expire_due(services, ctx, skipped)


def idempotency_retention_seconds() -> float:
    """How long an Idempotency-Key is remembered (AVM_IDEMPOTENCY_KEY_RETENTION_SECONDS, default 24 h)."""
    return _seconds("AVM_IDEMPOTENCY_KEY_RETENTION_SECONDS", DEFAULT_IDEMPOTENCY_RETENTION_SECONDS, minimum=60)


def delete_old_idempotency_keys(services: Services, _ctx: CommandContext, _skipped: set[Any]) -> int:
    """Forget Idempotency-Keys older than their retention (a repeat after that is a new command)."""
    return delete_expired_keys(services, idempotency_retention_seconds())


@dataclass(frozen=True)
class Sweep:
    """One periodic clean-up: what it is called, what it does, how often `avm serve` runs it by
    default, and the advisory lock that keeps it to one runner at a time."""

    name: str
    run: SweepFunction
    interval: float
    description: str
    lock_key: int = field(default=0)

    def __post_init__(self) -> None:
        if not self.lock_key:
            object.__setattr__(self, "lock_key", zlib.crc32(f"avm:sweep:{self.name}".encode()))

    @property
    def env_name(self) -> str:
        return f"AVM_SWEEP_{self.name.upper()}_SECONDS"


# The registry: one entry per sweep.
SWEEPS: tuple[Sweep, ...] = (
    Sweep("job_leases", expire_job_leases, 30.0, "requeue (or fail after its attempts) every running job whose lease expired"),
    Sweep("asset_expiry", expire_assets, 300.0, "mark every asset past its expiry as expired"),
    Sweep("idempotency_keys", delete_old_idempotency_keys, 3600.0,
          "delete Idempotency-Keys older than AVM_IDEMPOTENCY_KEY_RETENTION_SECONDS (24 h)"),
    Sweep("orphan_bytes", sweep_orphan_bytes, 3600.0,
          "remove stored media bytes no asset holds (expired, or deleted past AVM_MEDIA_DELETED_RETENTION_SECONDS)"
          " and older than AVM_MEDIA_ORPHAN_GRACE_SECONDS"),
)


def _seconds(name: str, default: float, *, minimum: float = 0.0, off: bool = False) -> float:
    """A number of seconds from the environment, between `minimum` and a week (or 0 when `off` may be chosen)."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if (off and value == 0) or (math.isfinite(value) and minimum <= value <= MAX_INTERVAL_SECONDS and value > 0):
        return value
    raise ValueError(f"{name} must be a number of seconds ({minimum:g} to {MAX_INTERVAL_SECONDS}"
                     f"{'; 0: off' if off else ''}), not {raw!r}")


def configured_interval(sweep: Sweep) -> float:
    """The sweep's interval in `avm serve`: AVM_SWEEP_<NAME>_SECONDS, else its default; 0 = off."""
    return _seconds(sweep.env_name, sweep.interval, off=True)


def maintenance_enabled() -> bool:
    """`avm serve` runs the sweeps unless AVM_MAINTENANCE is off (e.g. cron runs `avm maintenance run`)."""
    return os.environ.get("AVM_MAINTENANCE", "on").strip().lower() not in ("off", "0", "false", "no")


def choose(names: Iterable[str], sweeps: Sequence[Sweep] = SWEEPS) -> list[Sweep]:
    """The named sweeps (all when none is named); an unknown name is a ValueError naming the known ones."""
    names = list(names)
    known = {s.name: s for s in sweeps}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"unknown sweep {', '.join(unknown)} (known: {', '.join(known)})")
    return [s for s in sweeps if not names or s.name in names]


@dataclass
class Outcome:
    """What one attempt at a sweep did: ran (maybe with failed items), failed, skipped (another
    runner holds its lock) or not due (another runner ran it less than an interval ago)."""

    sweep: str
    state: Literal["ran", "failed", "skipped", "not_due"]
    items: int = 0
    failures: int = 0
    seconds: float = 0.0
    error: str | None = None
    due_in: float | None = None


class LockSession:
    """A database session of its own that holds the sweeps' advisory locks while they run; the locks
    die with it, so a runner that crashes or is killed never blocks the others."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.conn: Any = None

    def try_lock(self, key: int) -> bool:
        import psycopg

        if self.conn is None or self.conn.closed or self.conn.broken:
            self.close()
            self.conn = psycopg.connect(self.url, autocommit=True, application_name="avm maintenance",
                                        connect_timeout=5)
        return bool(self.conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()[0])

    def unlock(self, key: int) -> None:
        try:
            self.conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
        except Exception:  # noqa: BLE001 - a session that cannot unlock is closed: that unlocks
            self.close()

    def close(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # noqa: BLE001
                pass


def _one_line(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {(str(exc).strip().splitlines() or [''])[0]}"


def run_sweep(services: Services, sweep: Sweep, locks: LockSession, *, interval: float | None = None,
              only_if_due: bool = False) -> Outcome:
    """Run `sweep` once if its lock is free, and record the run. With `only_if_due`, a sweep that
    any runner started less than `interval` ago is left alone (several `avm serve` processes then
    share the interval instead of each running it)."""
    try:
        if not locks.try_lock(sweep.lock_key):
            return Outcome(sweep.name, "skipped")
    except Exception as exc:  # noqa: BLE001 - the database is unreachable: this attempt failed
        return Outcome(sweep.name, "failed", error=_one_line(exc))
    try:
        if only_if_due and interval:
            with services.read(scope="system") as conn:
                last = get_sweep_run(conn, sweep.name)
            if last is not None:
                age = (datetime.now(timezone.utc) - last["last_started_at"]).total_seconds()
                if 0 <= age < interval * 0.9:
                    return Outcome(sweep.name, "not_due", due_in=interval - age)
        return _run_and_record(services, sweep, interval)
    except Exception as exc:  # noqa: BLE001 - e.g. the run could not be recorded
        log.warning("sweep %s: %s", sweep.name, _one_line(exc))
        return Outcome(sweep.name, "failed", error=_one_line(exc))
    finally:
        locks.unlock(sweep.lock_key)


def _run_and_record(services: Services, sweep: Sweep, interval: float | None) -> Outcome:
    started = datetime.now(timezone.utc)
    clock = time.perf_counter()
    skipped: set[Any] = set()
    items, error = 0, None
    try:
        items = sweep.run(services, CommandContext.system(f"avm maintenance {sweep.name}"), skipped)
    except Exception as exc:  # noqa: BLE001 - recorded as a failed run; the next run tries again
        error = _one_line(exc)
        log.warning("sweep %s failed: %s", sweep.name, error)
    seconds = time.perf_counter() - clock
    record_run(services, sweep.name, interval=interval, started=started, seconds=seconds, items=items,
               failures=len(skipped), error=error)
    if items or skipped:
        log.info("sweep %s: %d items, %d failed, %.3f s", sweep.name, items, len(skipped), seconds)
    return Outcome(sweep.name, "failed" if error else "ran", items=items, failures=len(skipped), seconds=seconds,
                   error=error)


def record_run(services: Services, name: str, *, interval: float | None, started: datetime, seconds: float,
               items: int, failures: int, error: str | None) -> None:
    """Write the run into sweep_runs (the last run, and the totals), for every process to report."""
    row = {"name": name, "interval": interval, "started": started, "finished": started + timedelta(seconds=seconds),
           "seconds": seconds, "items": items, "failures": failures, "error": error,
           "success": None if error else started, "failed": 1 if error else 0,
           "runner": f"{socket.gethostname()}:{os.getpid()}"}
    with services.read(scope="system") as conn:
        conn.execute(
            "INSERT INTO sweep_runs (name, interval_seconds, last_started_at, last_finished_at, last_duration_seconds,"
            " last_items, last_failures, last_error, last_success_at, runs, failed_runs, items_total, failures_total,"
            " runner) VALUES (%(name)s, %(interval)s, %(started)s, %(finished)s, %(seconds)s, %(items)s, %(failures)s,"
            " %(error)s, %(success)s, 1, %(failed)s, %(items)s, %(failures)s, %(runner)s)"
            " ON CONFLICT (name) DO UPDATE SET"
            " interval_seconds = coalesce(EXCLUDED.interval_seconds, sweep_runs.interval_seconds),"
            " last_started_at = EXCLUDED.last_started_at, last_finished_at = EXCLUDED.last_finished_at,"
            " last_duration_seconds = EXCLUDED.last_duration_seconds, last_items = EXCLUDED.last_items,"
            " last_failures = EXCLUDED.last_failures, last_error = EXCLUDED.last_error,"
            " last_success_at = coalesce(EXCLUDED.last_success_at, sweep_runs.last_success_at),"
            " runs = sweep_runs.runs + 1, failed_runs = sweep_runs.failed_runs + EXCLUDED.failed_runs,"
            " items_total = sweep_runs.items_total + EXCLUDED.items_total,"
            " failures_total = sweep_runs.failures_total + EXCLUDED.failures_total, runner = EXCLUDED.runner", row)


def run_pass(services: Services, sweeps: Sequence[Sweep] = SWEEPS) -> list[Outcome]:
    """One pass (`avm maintenance run`): each sweep once, now, unless another runner is at it."""
    locks = LockSession(services.app_url)
    try:
        return [run_sweep(services, s, locks) for s in sweeps]
    finally:
        locks.close()


def run_forever(services: Services, stop: threading.Event, sweeps: Sequence[Sweep], intervals: dict[str, float]) -> None:
    """Run each sweep every `intervals[name]` seconds (the first time at once) until `stop` is set."""
    locks = LockSession(services.app_url)
    due = {s.name: time.monotonic() for s in sweeps if intervals[s.name] > 0}
    try:
        while not stop.is_set():
            for sweep in sweeps:
                if sweep.name not in due or due[sweep.name] > time.monotonic() or stop.is_set():
                    continue
                interval = intervals[sweep.name]
                outcome = run_sweep(services, sweep, locks, interval=interval, only_if_due=True)
                due[sweep.name] = time.monotonic() + (outcome.due_in if outcome.due_in is not None else interval)
            if not due:
                stop.wait()
                break
            stop.wait(max(0.05, min(due.values()) - time.monotonic()))
    finally:
        locks.close()


def start_maintenance(services: Services, sweeps: Sequence[Sweep] = SWEEPS) -> Callable[[], None]:
    """Run the sweeps in a background thread (`avm serve`); returns the function that stops it.
    The intervals are read first: a bad AVM_SWEEP_<NAME>_SECONDS stops the start (ValueError)."""
    intervals = {s.name: configured_interval(s) for s in sweeps}
    stop = threading.Event()
    thread = threading.Thread(target=run_forever, args=(services, stop, sweeps, intervals), name="avm-maintenance",
                              daemon=True)
    thread.start()

    def stop_maintenance() -> None:
        stop.set()
        thread.join(timeout=30)

    return stop_maintenance
