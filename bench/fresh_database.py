"""A fresh, migrated database for a benchmark: a new database on a given server, or an embedded
PostgreSQL in a temp directory; dropped or stopped afterwards unless kept."""
from __future__ import annotations

import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


@contextmanager
def bench_database(url: str | None, keep: bool) -> Iterator[tuple[str, Path | None]]:
    """A fresh, migrated database: on the given server, or on an embedded one in a temp dir."""
    import psycopg
    from psycopg import sql
    from psycopg.conninfo import make_conninfo

    from eventstore import migrate

    if url:
        name = f"avm_bench_{uuid.uuid4().hex[:10]}"
        admin = make_conninfo(url, dbname="postgres")
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        db_url = make_conninfo(url, dbname=name)
        try:
            migrate.upgrade(db_url)
            yield db_url, None
        finally:
            if not keep:
                with psycopg.connect(admin, autocommit=True) as conn:
                    conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        return
    from eventstore.database import ensure_database, start_embedded

    tmp = Path(tempfile.mkdtemp(prefix="avm_bench_"))
    server: Any = start_embedded(tmp / "pg", stop_on_exit=not keep)
    try:
        db_url = server.get_uri("avm_bench")
        ensure_database(db_url)
        migrate.upgrade(db_url)
        yield db_url, tmp / "pg"
    finally:
        if not keep:
            try:
                server.cleanup()
            except Exception:  # noqa: BLE001 - stopped by its atexit hook otherwise
                pass
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"kept {tmp} (server still running: {db_url})", file=sys.stderr)
