"""`avm db …`: create, migrate, reset, seed and check the database."""
from __future__ import annotations

import click

from api.cli.support import fail_cleanly, open_database, open_services


@click.group()
def db() -> None:
    """Create, migrate, reset, seed and check the database."""


@db.command("init")
@fail_cleanly
def db_init() -> None:
    """Create the database, migrate it, and seed it when empty."""
    from api.cli.seed import is_empty, seed

    services = open_services()
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

    database = open_database()
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
    database = open_database()
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
    from api.cli.seed import DEMO_EMAIL, seed
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
    from api.cli.seed import DEMO_EMAIL, is_seeded, remembered_token, seed
    from domain.errors import EmailTaken

    services = open_services()
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

    services = open_services(migrate=False)
    current, head = m.status(services.db.url)
    with services.read(scope="system") as conn:
        events = conn.execute("SELECT count(*) AS n FROM events").fetchone()["n"] if current else 0
    click.echo(f"revision: {current or 'none'} (head {head}){'' if current == head else '  -> run: avm db migrate'}")
    click.echo(f"events:   {events}")


@db.command("verify")
@fail_cleanly
def db_verify() -> None:
    """Check the schema: at the head revision, every expected table present, no orphan rows."""
    from api.cli.privacy import plaintext_report
    from eventstore import migrate as m
    from projections.inline import INLINE_PROJECTIONS

    services = open_services(migrate=False)
    current, head = m.status(services.db.url)
    problems = [] if current == head else [f"revision {current} is not head {head}"]
    expected = {"events", "snapshots", "tracking", "tenant_data_keys"} | {t for p in INLINE_PROJECTIONS for t in p.tables}
    with services.read(scope="system") as conn:
        present = {r["tablename"] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
        problems += [f"table {t} is missing" for t in sorted(expected - present)]
        if not problems:
            orphans = conn.execute(
                "SELECT count(*) AS n FROM scenes s LEFT JOIN projects p"
                " ON p.tenant_id = s.tenant_id AND p.id = s.project_id WHERE p.id IS NULL").fetchone()["n"]
            if orphans:
                problems.append(f"{orphans} scene rows have no project")
        plaintext = plaintext_report(conn) if not problems else {}
    if problems:
        raise click.ClickException("; ".join(problems))
    click.echo(f"schema ok: revision {current}, {len(expected)} tables")
    # Events stored before personal fields were sealed (issue 15): readable, not erasable by key destruction.
    for tenant, n in sorted(plaintext.items(), key=lambda kv: str(kv[0])):
        click.echo(f"tenant {tenant}: {n} event(s) with personal fields in clear (stored before encryption)")
    click.echo(f"plaintext personal data: {sum(plaintext.values())} event(s) in {len(plaintext)} tenant(s)")
