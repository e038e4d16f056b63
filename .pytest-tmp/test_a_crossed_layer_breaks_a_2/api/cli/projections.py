"""`avm projections …`: rebuild (blue/green) and verify the read models from the event log, run the
asynchronous projectors (projections.runtime), and show the state of every read model."""
from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID

import click

from api.cli.support import fail_cleanly, migrate_if_owner, open_database, open_services, tenant_option

INTERRUPTED = 130  # the shell's code for "stopped by Ctrl-C"


@click.group()
def projections() -> None:
    """Rebuild and inspect the read models."""


def _names(names: tuple[str, ...]) -> list[str] | None:
    from projections.inline import select

    try:
        return [p.name for p in select(list(names) or None)]
    except KeyError as exc:
        raise click.UsageError(exc.args[0]) from None


@contextmanager
def _progress(label: str) -> Iterator[Callable[[Any], None]]:
    """A rich progress bar (events, events/s, ETA) on a terminal; a plain line every few seconds otherwise."""
    if sys.stderr.isatty():
        from rich.console import Console
        from rich.progress import (
            BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn,
            TimeRemainingColumn,
        )

        class Rate(TextColumn):
            def __init__(self) -> None:
                super().__init__("")

            def render(self, task: Any) -> Any:
                from rich.text import Text

                rate = task.fields.get("rate") or 0.0
                return Text(f"{rate:,.0f} events/s", style="progress.data.speed")

        bar = Progress(TextColumn("[bold]{task.description}"), TextColumn("{task.fields[phase]}"), BarColumn(),
                       TaskProgressColumn(), MofNCompleteColumn(), Rate(), TimeElapsedColumn(), TextColumn("ETA"),
                       TimeRemainingColumn(), console=Console(stderr=True), transient=False)
        task = bar.add_task(label, total=None, phase="starting", rate=0.0)

        def update(p: Any) -> None:
            bar.update(task, completed=p.done, total=p.total or None, phase=p.phase, rate=p.events_per_second)

        with bar:
            yield update
        return

    last = {"at": 0.0, "phase": ""}

    def line(p: Any) -> None:
        now = time.monotonic()
        if p.phase == last["phase"] and now - last["at"] < 2.0 and p.done < p.total:
            return
        last.update(at=now, phase=p.phase)
        if p.phase == "build":
            pct = f" ({100 * p.done / p.total:.0f}%)" if p.total else ""
            eta = f", ETA {p.eta_seconds:.0f} s" if p.eta_seconds is not None else ""
            text = f"{p.done:,}/{p.total:,} events{pct}, {p.events_per_second:,.0f} events/s{eta}"
        else:
            text = p.phase
        click.echo(f"{label}: {text}", err=True)

    yield line


def _split_names(names: tuple[str, ...]) -> tuple[list[str] | None, list[str]]:
    """(inline views to rebuild, None for all; asynchronous views to rebuild): all of both when no NAME."""
    from projections.rebuild.async_views import async_names
    from projections.inline import BY_NAME

    if not names:
        return None, list(async_names())
    unknown = [n for n in names if n not in BY_NAME and n not in async_names()]
    if unknown:
        raise click.UsageError(f"unknown projection: {', '.join(unknown)}"
                               f" (known: {', '.join([*BY_NAME, *async_names()])})")
    return [n for n in dict.fromkeys(names) if n in BY_NAME], [n for n in async_names() if n in names]


@projections.command("rebuild")
@click.argument("names", nargs=-1)
@click.option("--tenant", default=None, help="Rebuild only this tenant's rows (other tenants' rows are not touched).")
@fail_cleanly
def projections_rebuild(names: tuple[str, ...], tenant: str | None) -> None:
    """Rebuild read models from the event log (all, the asynchronous views included, when no NAME).

    Inline views are rebuilt blue/green: the new tables are built beside the live ones while the
    service keeps serving reads and commands; the events appended meanwhile are caught up, then
    the tables are swapped in one short transaction (writers wait for it, readers never see a
    partial table). Ctrl-C at any moment leaves the live tables as they were.

    Asynchronous views (daily_usage) are replayed in one transaction under their runner's lock:
    with no runner active, up to the log's head; with one active (avm serve, avm projections run),
    up to the position it has reached, and it carries on from there.
    """
    inline, asynchronous = _split_names(names)
    tenant_id = tenant_option(tenant)
    services = open_services()
    try:
        if inline != []:
            _rebuild_inline(services, inline, tenant_id)
        if asynchronous:
            _rebuild_async(services, asynchronous, tenant_id)
    finally:
        services.close()


def _rebuild_async(services: Any, names: list[str], tenant_id: UUID | None) -> None:
    from projections.rebuild.async_views import rebuild_async

    try:
        results = rebuild_async(services.db.url, services.app.mapper, names, tenant_id=tenant_id)
    except KeyboardInterrupt:
        click.echo("interrupted: the view is untouched", err=True)
        sys.exit(INTERRUPTED)
    for r in results:
        scope = f" for tenant {tenant_id}" if tenant_id else ""
        upto = (f"up to position {r.position}, where its active runner had got to" if r.runner_active
                else f"up to position {r.position}")
        click.echo(f"rebuilt {r.name} (async){scope}: {r.events} events replayed {upto}, {r.rows} rows"
                   f" in {r.seconds:.2f} s")


def _rebuild_inline(services: Any, chosen: list[str] | None, tenant_id: UUID | None) -> None:
    from projections.rebuild import blue_green

    label = f"rebuild {', '.join(chosen or [])}" + (f" (tenant {tenant_id})" if tenant_id else "")
    try:
        with _progress(label) as progress:
            # The swap is DDL: it runs as the database URL's user (the tables' owner), not the app role.
            result = blue_green(services.db.url, services.app.mapper, chosen, tenant_id=tenant_id, progress=progress)
    except KeyboardInterrupt:
        click.echo("interrupted: the live tables are untouched", err=True)
        sys.exit(INTERRUPTED)
    rate = f"{result.events_per_second:,.0f} events/s" if result.scanned else "no events"
    click.echo(f"rebuilt {', '.join(result.projections)}: {result.events} events, {result.aggregates} aggregates,"
               f" {result.rows} rows in {result.seconds:.2f} s ({rate});"
               f" caught up {result.caught_up} events, writers held for {result.locked_seconds * 1000:.0f} ms")


@projections.command("verify")
@click.argument("names", nargs=-1)
@click.option("--tenant", default=None, help="Compare only this tenant's rows.")
@click.option("--limit", default=100, show_default=True, help="Print at most this many differences.")
@fail_cleanly
def projections_verify(names: tuple[str, ...], tenant: str | None, limit: int) -> None:
    """Rebuild read models into scratch tables and compare every row with the live ones.

    Nothing live is touched or locked. Prints each difference (missing, extra or changed row,
    with its key) and exits with status 1 when there is any.
    """
    from projections.rebuild import verify

    chosen, tenant_id = _names(names), tenant_option(tenant)
    services = open_services()
    label = f"verify {', '.join(chosen or [])}"
    try:
        with _progress(label) as progress:
            result = verify(services.db.url, services.app.mapper, chosen, tenant_id=tenant_id, progress=progress,
                            limit=limit)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(INTERRUPTED)
    finally:
        services.close()
    for difference in result.differences:
        click.echo(difference.describe())
    total = sum(n for kinds in result.counts.values() for n in kinds.values())
    if total > len(result.differences):
        click.echo(f"… and {total - len(result.differences)} more")
    scope = f" for tenant {tenant_id}" if tenant_id else ""
    if total:
        summary = "; ".join(f"{table}: " + ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))
                            for table, kinds in sorted(result.counts.items()))
        click.echo(f"verify {', '.join(result.projections)}{scope}: {total} differences at position {result.head}"
                   f" ({summary})", err=True)
        sys.exit(1)
    click.echo(f"verified {', '.join(result.projections)}{scope}: {result.rows} rows identical to a rebuild"
               f" from {result.head} events")


@projections.command("run")
@fail_cleanly
def projections_run() -> None:
    """Run the asynchronous projectors until stopped (Ctrl-C or SIGTERM).

    Safe to run twice: one runner works, the others wait and take over when it stops.
    """
    from api.failures import count_item_failure
    from api.services import projector_url
    from projections.runtime import run_projectors
    from projections.views import ASYNC_NAMES

    database = open_database()
    migrate_if_owner(database.url)
    stop = threading.Event()

    def on_signal(_signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    click.echo(f"projectors: {', '.join(ASYNC_NAMES)} (pid {os.getpid()}; Ctrl-C to stop)")
    run_projectors(projector_url(database.url), stop, say=click.echo, item_failed=count_item_failure)
    click.echo("projectors stopped")


COLUMNS = ("name", "kind", "position", "lag", "state", "runner")


@projections.command("status")
@fail_cleanly
def projections_status() -> None:
    """Every read model: kind (inline/async), position, lag in events, state (building/live)."""
    from rich.console import Console

    from api.controllers.health import max_view_lag
    from projections.views import projection_states

    services = open_services(migrate=False)
    try:
        with services.read(scope="system") as conn:
            states = projection_states(conn, max_view_lag())
    finally:
        services.close()
    rows = [[str(s.get(c, "-")) for c in COLUMNS] for s in states]
    console = Console()
    if console.is_terminal:
        from rich.table import Table

        table = Table(title="projections")
        for column in COLUMNS:
            table.add_column(column, justify="right" if column in ("position", "lag") else "left")
        for row, s in zip(rows, states):
            table.add_row(*row, style="yellow" if s["state"] == "building" else None)
        console.print(table)
        return
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(COLUMNS)]
    for line in [list(COLUMNS), *rows]:
        click.echo("  ".join(v.ljust(w) for v, w in zip(line, widths)).rstrip())
