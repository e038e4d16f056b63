"""`avm assets expire` and `avm jobs sweep`: the periodic sweeps (safe to run concurrently)."""
from __future__ import annotations

from typing import Any

import click

from api.cli.support import fail_cleanly, open_services


@click.group()
def assets() -> None:
    """Asset retention."""


@assets.command("expire")
@fail_cleanly
def assets_expire() -> None:
    """Append Expired for every asset past its expiry (safe to run concurrently)."""
    from api.controllers.assets import expire_due
    from domain.application import CommandContext

    services = open_services()
    skipped: set[Any] = set()
    count = expire_due(services, CommandContext.system("avm assets expire"), skipped)
    click.echo(f"expired {count} assets" + _skipped_note(skipped))


@click.group()
def jobs() -> None:
    """The render queue."""


@jobs.command("sweep")
@fail_cleanly
def jobs_sweep() -> None:
    """Return to the queue (or fail after its last attempt) every running job whose lease expired
    without a heartbeat, as TIMEOUT (safe to run concurrently)."""
    from api.controllers.jobs import expire_leases
    from domain.application import CommandContext

    services = open_services()
    skipped: set[Any] = set()
    count = expire_leases(services, CommandContext.system("avm jobs sweep"), skipped)
    click.echo(f"timed out {count} jobs" + _skipped_note(skipped))


def _skipped_note(skipped: set[Any]) -> str:
    """The run succeeded for every other item: exit 0, and say how many failed and where to look."""
    if not skipped:
        return ""
    return f"; {len(skipped)} failed and were skipped (logged with their ids; retried on the next run)"
