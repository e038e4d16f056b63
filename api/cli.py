"""The `avm` command line: serve, database, users and projections."""
from __future__ import annotations

import logging
import os
import signal
import sys
from typing import Any

import click

from api.cli_support import _database, _services, fail_cleanly  # noqa: F401
from api.cli_support import shown_data_dir


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """avm: the event-sourced backend of the Epic Auto Video Machine.

    Uses DATABASE_URL when set, else an embedded PostgreSQL under ./.data/.
    """
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


@main.command()
@click.option("--host", default=lambda: os.environ.get("AVM_HOST", "127.0.0.1"), show_default="127.0.0.1")
@click.option("--port", default=lambda: int(os.environ.get("AVM_PORT", "8000")), type=int, show_default="8000")
@click.option("--workers", default=lambda: int(os.environ.get("AVM_WORKERS", "1")), type=click.IntRange(1, 64),
              show_default="1, or AVM_WORKERS",
              help="HTTP worker processes (the measured choice for 2 cores: docs/performance.md).")
@click.option("--seed/--no-seed", default=None,
              help="Seed an empty database with the demo user and print its token. Default: yes for the"
                   " embedded server, no for DATABASE_URL (AVM_SEED_DEMO=1 or 0 overrides).")
@fail_cleanly
def serve(host: str, port: int, workers: int, seed: bool | None) -> None:
    """Migrate, seed an empty embedded database, and serve the HTTP API."""
    import uvicorn

    from api.app import create_app
    from api.seed import demo_token, is_empty
    from api.seed import seed as seed_demo

    services = _services()
    if seed is None:
        wanted = os.environ.get("AVM_SEED_DEMO", "")
        # A server of one's own is never given a demo user (nor a token printed) unless asked.
        seed = wanted == "1" if wanted in ("0", "1") else services.db.embedded
    token = None
    if seed:
        if is_empty(services.app):
            seed_demo(services.app)
        token = demo_token(services.app, services.authenticate)
    where = f"embedded PostgreSQL ({shown_data_dir()})" if services.db.embedded else "DATABASE_URL"
    click.echo(f"avm serving on http://{host}:{port}  (database: {where}"
               f"{f', {workers} workers' if workers > 1 else ''})")
    click.echo(f"API docs:   http://{host}:{port}/schema")
    if token:
        click.echo(f"demo token: {token}")
    services.close()
    # This process owns the embedded server (with --workers, as the supervisor): it restarts it if it dies.
    from eventstore.watchdog import start_watchdog

    watchdog = start_watchdog(services.db)

    # uvicorn shuts down gracefully on SIGINT/SIGTERM, restores the previous handlers and
    # re-raises the signal; make that a normal exit so atexit stops the embedded server.
    def stop(signum: int, _frame: object) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    # The async views run in-process unless AVM_PROJECTORS=0 (e.g. a separate `avm projections
    # run` service); running both is safe, an advisory lock keeps one runner per view.
    # They log in as avm_projector, never with the owner's URL (see docs/decisions/i11-privilege.md).
    from api.cli_views import start_projectors
    from api.services import projector_url

    stop_projectors = (start_projectors(projector_url(services.db.url))
                       if os.environ.get("AVM_PROJECTORS", "1") != "0" else None)
    try:
        options: dict[str, Any] = {"host": host, "port": port, "access_log": False,
                                   "log_level": os.environ.get("AVM_LOG_LEVEL", "warning")}
        if workers > 1:
            # Worker processes import the factory; each builds its services (pool, caches) itself.
            # This process supervises them and runs the projectors; the embedded server lives as
            # long as it does.
            uvicorn.run("api.app:create_app", factory=True, workers=workers, **options)
        else:
            uvicorn.run(create_app(), **options)
    finally:
        if watchdog:
            watchdog.stop()  # before the exit handlers stop the server: no restart of a server being stopped
        if stop_projectors:
            stop_projectors()
    click.echo("avm stopped")


@main.group()
def db() -> None:
    """Create, migrate, reset, seed and check the database."""


@db.command("init")
@fail_cleanly
def db_init() -> None:
    """Create the database, migrate it, and seed it when empty."""
    from api.seed import is_empty, seed

    services = _services()
    if is_empty(services.app):
        seed(services.app)
        click.echo("database initialised and seeded (demo@example.com)")
    else:
        click.echo("database initialised (already had data; not seeded)")


@db.command("migrate")
@click.option("--revision", default="head", show_default=True)
@fail_cleanly
def db_migrate(revision: str) -> None:
    """Apply the alembic migrations."""
    from eventstore import migrate as m

    database = _database()
    m.upgrade(database.url, revision)
    current, head = m.status(database.url)
    click.echo(f"database at revision {current} (head {head})")


@db.command("reset")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--seed/--no-seed", "reseed", default=True, show_default=True,
              help="Add the demo data again after the reset (prints its token).")
@fail_cleanly
def db_reset(yes: bool, reseed: bool) -> None:
    """Drop every table, migrate again and re-seed the demo data (all data is lost)."""
    import psycopg
    from psycopg import sql

    from eventstore import migrate as m

    if not yes and not click.confirm("This deletes ALL data. Continue?", default=False):
        raise click.Abort()
    database = _database()
    params = database.params()
    dbname = params.get("dbname", "avm")
    with psycopg.connect(database.with_dbname("postgres"), autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                     (dbname,))
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(dbname)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    m.upgrade(database.url)
    if not reseed:
        click.echo(f"database {dbname} reset and migrated (not seeded)")
        return
    from api.seed import DEMO_EMAIL, seed
    from api.services import Services

    services = Services(database, pool_size=2)
    try:
        token = seed(services.app)
    finally:
        services.close()
    click.echo(f"database {dbname} reset, migrated and seeded ({DEMO_EMAIL})")
    click.echo(f"demo token: {token}")


@db.command("seed")
@fail_cleanly
def db_seed() -> None:
    """Add the demo user and sample project (prints the demo token); a no-op when the demo user exists."""
    from api.seed import DEMO_EMAIL, is_seeded, remembered_token, seed
    from domain.errors import EmailTaken

    services = _services()
    try:
        if not is_seeded(services.app):
            try:
                click.echo(seed(services.app))
                return
            except EmailTaken:  # another process seeded it meanwhile (nothing of ours was written)
                pass
        click.echo(f"already seeded: {DEMO_EMAIL} exists; nothing added")
        token = remembered_token(services.authenticate)
        if token:
            click.echo(f"demo token: {token}")
    finally:
        services.close()


@db.command("status")
@fail_cleanly
def db_status() -> None:
    """Show the migration revision and the size of the event log."""
    from eventstore import migrate as m

    services = _services(migrate=False)
    current, head = m.status(services.db.url)
    with services.read(scope="system") as conn:
        events = conn.execute("SELECT count(*) AS n FROM events").fetchone()["n"] if current else 0
    click.echo(f"revision: {current or 'none'} (head {head}){'' if current == head else '  -> run: avm db migrate'}")
    click.echo(f"events:   {events}")


@db.command("verify")
@fail_cleanly
def db_verify() -> None:
    """Check the schema: at the head revision, every expected table present, no orphan rows."""
    from eventstore import migrate as m
    from projections.inline import INLINE_PROJECTIONS

    services = _services(migrate=False)
    current, head = m.status(services.db.url)
    problems = [] if current == head else [f"revision {current} is not head {head}"]
    expected = {"events", "snapshots", "tracking"} | {t for p in INLINE_PROJECTIONS for t in p.tables}
    with services.read(scope="system") as conn:
        present = {r["tablename"] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
        problems += [f"table {t} is missing" for t in sorted(expected - present)]
        if not problems:
            orphans = conn.execute(
                "SELECT count(*) AS n FROM scenes s LEFT JOIN projects p"
                " ON p.tenant_id = s.tenant_id AND p.id = s.project_id WHERE p.id IS NULL").fetchone()["n"]
            if orphans:
                problems.append(f"{orphans} scene rows have no project")
    if problems:
        raise click.ClickException("; ".join(problems))
    click.echo(f"schema ok: revision {current}, {len(expected)} tables")


@main.group()
def users() -> None:
    """Manage users."""


@users.command("create")
@click.option("--email", required=True)
@click.option("--role", type=click.Choice(["user", "premium", "admin", "worker"]), default="user", show_default=True)
@click.option("--name", default=None)
@fail_cleanly
def users_create(email: str, role: str, name: str | None) -> None:
    """Create a user; its token is printed alone on the last line."""
    from domain.application import CommandContext

    services = _services()
    user, token = services.app.register_user(CommandContext.system("avm users create"), email=email,
                                             name=name, role=role)
    click.echo(f"created {role} {user.email} ({user.id})")
    click.echo(token)


@main.group()
def assets() -> None:
    """Asset retention."""


@assets.command("expire")
@fail_cleanly
def assets_expire() -> None:
    """Append Expired for every asset past its expiry (safe to run concurrently)."""
    from api.controllers.assets import expire_due
    from domain.application import CommandContext

    services = _services()
    skipped: set[Any] = set()
    count = expire_due(services, CommandContext.system("avm assets expire"), skipped)
    click.echo(f"expired {count} assets" + _skipped_note(skipped))


@main.group()
def jobs() -> None:
    """The render queue."""


@jobs.command("sweep")
@fail_cleanly
def jobs_sweep() -> None:
    """Fail as TIMEOUT every running job that stopped reporting (safe to run concurrently)."""
    from domain.application import CommandContext
    from projections.jobs import stalled_jobs

    services = _services()
    ctx = CommandContext.system("avm jobs sweep")
    with services.read(scope="system") as conn:
        stalled = stalled_jobs(conn)
    skipped: set[Any] = set()
    count = services.app.sweep_timeouts(ctx, stalled, skipped=skipped)
    click.echo(f"timed out {count} jobs" + _skipped_note(skipped))


def _skipped_note(skipped: set[Any]) -> str:
    """The run succeeded for every other item: exit 0, and say how many failed and where to look."""
    if not skipped:
        return ""
    return f"; {len(skipped)} failed and were skipped (logged with their ids; retried on the next run)"


from api.cli_audit import audit  # noqa: E402
from api.cli_projections import projections  # noqa: E402
import api.cli_views  # noqa: E402,F401 - adds run/status to the projections group

main.add_command(audit)
main.add_command(projections)
from api.cli_bench import bench  # noqa: E402

main.add_command(bench)

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
