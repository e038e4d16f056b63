"""Test support: one PostgreSQL server per session (embedded, or DATABASE_URL / TEST_DATABASE_URL),
a migrated template database, and fresh databases cloned from it."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any
import uuid
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

ROOT = Path(__file__).resolve().parent.parent
_state: dict[str, str] = {}


def server_url() -> str:
    """The maintenance URL (database `postgres`) of the test server, starting the embedded one if needed."""
    if "server" in _state:
        return _state["server"]
    url = os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL")
    if url:
        url = make_conninfo(url, dbname="postgres")
    else:
        from eventstore.database import start_embedded

        data = Path(os.environ.get("AVM_TEST_DATA_DIR", ROOT / ".data" / "test"))
        server = start_embedded(data / "pg")
        _state["_server_handle"] = server  # type: ignore[assignment]
        url = server.get_uri("postgres")
    _state["server"] = url
    return url


def _admin() -> psycopg.Connection:
    return psycopg.connect(server_url(), autocommit=True)


def create_database(name: str, template: str | None = None) -> str:
    with _admin() as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        if template:
            conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(template)))
        else:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return make_conninfo(server_url(), dbname=name)


def drop_database(name: str) -> None:
    with _admin() as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def template_database() -> str:
    """A migrated database to clone from (made once per session)."""
    if "template" not in _state:
        from eventstore import migrate

        name = f"avm_tpl_{os.getpid()}"
        url = create_database(name)
        migrate.upgrade(url)
        _state["template"] = name
    return _state["template"]


def fresh_database(prefix: str = "avm_t") -> tuple[str, str]:
    """(name, url) of a new, migrated, empty database."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    return name, create_database(name, template=template_database())


def cleanup() -> None:
    if "template" in _state:
        drop_database(_state.pop("template"))


STORY = "The fox crossed the frozen river at dawn, looking for the lighthouse keeper's lost compass. " * 4


def stalled_job(app: Any, ctx: Any, minutes_ago: int = 30) -> str:
    """A job claimed `minutes_ago` whose worker never reported since (its lease is 300 s)."""
    from datetime import datetime, timedelta, timezone

    from domain.context import CommandContext

    then = datetime.now(timezone.utc) - timedelta(minutes=minutes_ago)
    project = app.create_project(ctx, title="stalled", now=then)
    app.set_story(ctx, str(project.id), None, STORY, now=then)
    job = app.queue_job(ctx, str(project.id), now=then)
    worker = CommandContext(tenant_id=ctx.tenant_id, actor_id="worker-1", role="worker")
    assert app.claim_job(worker, [job.id], now=then + timedelta(seconds=1)) is not None
    return str(job.id)


@dataclass
class Caller:
    """A user as an HTTP client sees it: its id and its bearer token."""

    id: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

