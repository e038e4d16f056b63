"""`avm projections …`: rebuild, verify, run and inspect the read models."""
from __future__ import annotations

import click

from api.cli_support import _services, fail_cleanly


@click.group()
def projections() -> None:
    """Rebuild and inspect the read models."""


@projections.command("rebuild")
@click.argument("names", nargs=-1)
@click.option("--tenant", default=None, help="Rebuild only this tenant's rows.")
@fail_cleanly
def projections_rebuild(names: tuple[str, ...], tenant: str | None) -> None:
    """Drop and replay read models from the event log (all when no NAME)."""
    from uuid import UUID

    from projections.rebuild import rebuild

    services = _services()
    with services.read(scope="system") as conn:
        result = rebuild(conn, services.app.mapper, list(names) or None,
                         tenant_id=UUID(tenant) if tenant else None)
    click.echo(f"rebuilt {', '.join(result['projections'])}: {result['events']} events,"
               f" {result['aggregates']} aggregates, {result['rows']} rows")
