"""The asynchronous projectors: one ProjectionRunner (the library's) per async view, each behind an
advisory lock so that one process runs it at a time (`avm serve` in-process, or `avm projections run`).

This layer knows no HTTP nor command line: the caller gives the database URL to log in with and
the hook that counts a skipped event (e.g. on /metrics)."""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger("avm.projectors")

RETRY_SECONDS = 2.0
Say = Callable[[str], None]
ItemFailed = Callable[[str, Any, BaseException], None]


class ProjectorSlot:
    """One asynchronous projection in this process: the advisory lock that makes its runner the only
    one (held by a session of its own), and while held, the library's ProjectionRunner.

    The lock dies with its session, so a runner that is stopped, crashes or is killed lets a waiting
    one take over; the new runner resumes from the view's tracking position.
    """

    def __init__(self, url: str, projection_class: Any, view_class: Any, env: dict[str, str], say: Say) -> None:
        self.url = url
        self.projection_class = projection_class
        self.view_class = view_class
        self.name: str = projection_class.name
        self.env = env
        self.say = say
        self.lock_conn: Any = None
        self.runner: Any = None
        self.said_waiting = False
        self.retry_at = 0.0

    @property
    def active(self) -> bool:
        return self.runner is not None

    def step(self) -> None:
        """Take the lock when free and start the runner; while running, check it is still sound."""
        if time.monotonic() < self.retry_at:
            return
        try:
            if self.runner is None:
                if self._try_lock():
                    self._start()
            else:
                self._check()
        except Exception as exc:  # noqa: BLE001 - a projector outlives database hiccups and bugs alike
            reason = (str(exc).strip().splitlines() or [""])[0]
            self.say(f"{self.name}: stopped: {type(exc).__name__}: {reason} (retrying in {RETRY_SECONDS:g} s)")
            self.release()
            self.retry_at = time.monotonic() + RETRY_SECONDS

    def _try_lock(self) -> bool:
        import psycopg

        from projections.views import lock_key

        if self.lock_conn is None or self.lock_conn.closed:
            self.lock_conn = psycopg.connect(
                self.url, autocommit=True, application_name=f"avm projector {self.name}",
                connect_timeout=5, keepalives=1, keepalives_idle=10, keepalives_interval=5, keepalives_count=3)
        got = self.lock_conn.execute("SELECT pg_try_advisory_lock(%s)", (lock_key(self.name),)).fetchone()[0]
        if not got and not self.said_waiting:
            self.say(f"{self.name}: waiting (another runner is active)")
            self.said_waiting = True
        return bool(got)

    def _start(self) -> None:
        from eventsourcing.projection import ProjectionRunner

        from domain.application import AvmApplication

        self.runner = ProjectionRunner(application_class=AvmApplication, projection_class=self.projection_class,
                                       view_class=self.view_class, env=self.env)
        self.runner.__enter__()
        self.said_waiting = False
        position = self.runner.view.max_tracking_id(AvmApplication.name) or 0
        self.say(f"{self.name}: active from position {position}")

    def _check(self) -> None:
        # The lock lives as long as its session: if the session is gone, so is the right to run.
        self.lock_conn.execute("SELECT 1")
        self.runner.run_forever(timeout=0)  # re-raises the processing thread's error
        if self.runner.is_interrupted.is_set():
            raise RuntimeError("the subscription ended")
        self.runner.view.flush()

    def release(self) -> None:
        """Stop the runner, record its last position, then give up the lock."""
        runner, self.runner = self.runner, None
        if runner is not None:
            try:
                runner.__exit__(None, None, None)
            except Exception as exc:  # noqa: BLE001 - already reported, or reported now
                log.warning("%s: runner ended with %s", self.name, exc)
            try:
                runner.view.close()  # commits the pending batch, stops its flusher
            except Exception as exc:  # noqa: BLE001
                log.warning("%s: could not commit the last batch: %s", self.name, exc)
            runner.view.datastore.close()
        conn, self.lock_conn = self.lock_conn, None
        if conn is not None:
            try:
                conn.close()  # closing the session releases its advisory lock
            except Exception:  # noqa: BLE001
                pass


def projector_env(url: str) -> dict[str, str]:
    from eventstore.recorder import PROJECTOR_ROLE, env_for, pool_env

    return env_for(
        url,
        **pool_env(2, overflow=2, pre_ping="y"),
        # Whatever the login, the views and their reads of the log act as the projector role.
        AVM_DB_ROLE=PROJECTOR_ROLE,
        MAPPER_TOPIC="projections.views:SkippingMapper",  # one unreadable event never stops a view
    )


def run_projectors(url: str, stop: threading.Event, *, say: Say = log.info, poll: float = 0.5,
                   item_failed: ItemFailed | None = None) -> None:
    """Run every asynchronous projection whose lock this process gets, until `stop` is set.

    Each view is woken by the event store's LISTEN/NOTIFY channel (the library's subscription);
    the loop here only takes free locks, checks the runners, and records skipped positions.
    `item_failed`, when given, is called for each skipped event (the views' hook).
    """
    from projections import views
    from projections.views import ASYNC_PROJECTIONS

    if item_failed is not None:
        views.item_failed = item_failed
    env = projector_env(url)
    slots = [ProjectorSlot(url, p, v, env, say) for p, v in ASYNC_PROJECTIONS]
    try:
        while not stop.is_set():
            for slot in slots:
                slot.step()
            stop.wait(poll)
    finally:
        for slot in slots:
            slot.release()


def start_projectors(url: str, say: Say = log.info, *, item_failed: ItemFailed | None = None) -> Callable[[], None]:
    """Run the projectors in a background thread (e.g. inside `avm serve`); returns the function that stops them."""
    stop = threading.Event()
    thread = threading.Thread(target=run_projectors, args=(url, stop), kwargs={"say": say, "item_failed": item_failed},
                              name="avm-projectors", daemon=True)
    thread.start()

    def stop_projectors() -> None:
        stop.set()
        thread.join(timeout=30)

    return stop_projectors
