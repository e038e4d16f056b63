"""`avm bench`: a short benchmark of the installed service against the configured database."""
from __future__ import annotations

import uuid

import click

from api.cli.support import fail_cleanly, open_database


@click.command("bench")
@click.option("--seconds", type=click.FloatRange(1, 600), default=20.0, show_default=True,
              help="Measured time, split between the two scenarios (create, then read projects).")
@click.option("--connections", type=click.IntRange(1, 64), default=8, show_default=True,
              help="Concurrent keep-alive connections (one client thread each).")
@fail_cleanly
def bench(seconds: float, connections: int) -> None:
    """Benchmark the service: create projects, then read them, over HTTP; print req/s, p50 and p99.

    Starts the app in a server process of its own (uvicorn, one worker, rate limits off) on a
    free local port, against the same database as `avm serve` (embedded) or DATABASE_URL. The
    data it writes stays: a fresh admin user bench-…@example.com and the projects it created.
    """
    from api.cli import bench_client as b
    from api.services import Services
    from domain.application import CommandContext
    from eventstore import migrate as m

    database = open_database()
    m.upgrade(database.url)
    services = Services(database, pool_size=2)
    try:
        email = f"bench-{uuid.uuid4().hex[:12]}@example.com"
        _, token = services.app.register_user(CommandContext.system("avm bench"), email=email, name="avm bench",
                                              role="admin")
    finally:
        services.close()
    where = "embedded PostgreSQL" if database.embedded else "DATABASE_URL"
    click.echo(f"avm bench: {seconds / 2:g} s per scenario, {connections} connections, database: {where},"
               f" as {email}")
    results = b.run(database.url, token, seconds=seconds, connections=connections)
    for line in b.table(results):
        click.echo(line)
    failures = b.describe_failures(results)
    if failures:
        click.echo(f"failed requests by status or error: {failures}", err=True)
    broken = [f.name for f in results if f.ok == 0]
    if broken or len(results) < 2:
        raise click.ClickException(f"no successful requests in: {', '.join(broken) or 'read project'}"
                                   f" ({failures or 'nothing created to read'})")
