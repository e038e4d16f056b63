"""`avm maintenance run|list`: the clean-up sweeps, one pass for cron (`avm serve` runs them on intervals)."""
from __future__ import annotations

import click

from api.cli.support import fail_cleanly, open_services


@click.group()
def maintenance() -> None:
    """The clean-up sweeps: one pass now (also run by `avm serve` on their intervals)."""


@maintenance.command("run")
@click.option("--only", "only", multiple=True, metavar="NAME",
              help="Run only this sweep (repeatable); `avm maintenance list` names them. Default: every sweep.")
@fail_cleanly
def run(only: tuple[str, ...]) -> None:
    """One pass of the sweeps; a sweep another runner is doing now is skipped. Exits non-zero when one fails."""
    from api.maintenance import choose, run_pass

    try:
        sweeps = choose(only)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--only") from None
    services = open_services()
    try:
        outcomes = run_pass(services, sweeps)
    finally:
        services.close()
    for o in outcomes:
        if o.state == "skipped":
            click.echo(f"{o.sweep}: skipped (another runner holds its lock)")
        elif o.state == "failed":
            click.echo(f"{o.sweep}: failed: {o.error}")
        else:
            failed = f"; {o.failures} failed and were skipped (logged with their ids)" if o.failures else ""
            click.echo(f"{o.sweep}: {o.items} items in {o.seconds:.2f} s{failed}")
    failed_sweeps = [o.sweep for o in outcomes if o.state == "failed"]
    if failed_sweeps:
        raise click.ClickException(f"{len(failed_sweeps)} sweep(s) failed: {', '.join(failed_sweeps)}")


@maintenance.command("list")
def list_sweeps() -> None:
    """Every sweep: its name, its interval in `avm serve` (from AVM_SWEEP_<NAME>_SECONDS) and what it does."""
    from api.maintenance import SWEEPS, configured_interval

    for s in SWEEPS:
        try:
            every = f"every {configured_interval(s):g} s" if configured_interval(s) else "off in serve"
        except ValueError as exc:
            every = f"invalid: {exc}"
        click.echo(f"{s.name:<18} {every:<16} {s.description}  ({s.env_name})")
