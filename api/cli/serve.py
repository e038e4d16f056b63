"""`avm serve`: migrate, seed an empty embedded database, serve the HTTP API and run the projectors."""
from __future__ import annotations

import logging
import os
import signal
from typing import Any

import click

from api.cli.support import fail_cleanly, open_services, shown_data_dir


@click.command()
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
    import faulthandler

    import uvicorn

    from api.app import create_app
    from api.cli.seed import demo_token, is_empty
    from api.cli.seed import seed as seed_demo

    if workers > 1:
        # Every process (the workers, and this one's sweeps) caches aggregates the others write: a
        # command whose save meets a newer version, or whose check fails on a cached copy, is run once
        # more with its aggregates brought up to date (docs/decisions/i17-multi.md). A value set in
        # the environment is kept (AGGREGATE_CACHE_FASTFORWARD=y instead reads before every use).
        os.environ.setdefault("AVM_CACHE_REFRESH_ON_FAILURE", "1")
    services = open_services()
    if seed is None:
        wanted = os.environ.get("AVM_SEED_DEMO", "")
        # A server of one's own is never given a demo user (nor a token printed) unless asked.
        seed = wanted == "1" if wanted in ("0", "1") else services.db.embedded
    token = None
    if seed:
        if is_empty(services.app):
            seed_demo(services.app)
        token = demo_token(services.app, services.authenticate)
    # The clean-up sweeps run in this process (the supervisor with --workers) unless AVM_MAINTENANCE=off;
    # several serve processes are safe: an advisory lock per sweep keeps one runner at a time.
    # A bad AVM_SWEEP_<NAME>_SECONDS stops the start here, before the banner.
    from api.maintenance import maintenance_enabled, start_maintenance

    stop_maintenance = start_maintenance(services) if maintenance_enabled() else None
    if stop_maintenance is None:
        services.close()
    where = f"embedded PostgreSQL ({shown_data_dir()})" if services.db.embedded else "DATABASE_URL"
    click.echo(f"avm serving on http://{host}:{port}  (database: {where}"
               f"{f', {workers} workers' if workers > 1 else ''})")
    click.echo(f"API docs:   http://{host}:{port}/schema")
    click.echo(f"studio:     http://{host}:{port}/studio  (sign in with an API or session token)")
    if token:
        click.echo(f"demo token: {token}")
    # This process owns the embedded server (with --workers, as the supervisor): it restarts it if it dies.
    from eventstore.watchdog import start_watchdog

    watchdog = start_watchdog(services.db)

    # uvicorn shuts down gracefully on SIGINT/SIGTERM, restores the previous handlers and
    # re-raises the signal; make that a normal exit so atexit stops the embedded server.
    def stop(signum: int, _frame: object) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    # `kill -USR1 <pid>` prints every thread's stack to stderr (the log): what a stuck process waits on.
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    # The async views run in-process unless AVM_PROJECTORS=0 (e.g. a separate `avm projections
    # run` service); running both is safe, an advisory lock keeps one runner per view.
    # They log in as avm_projector, never with the owner's URL (see docs/decisions/i11-privilege.md).
    from api.failures import count_item_failure
    from api.services import projector_url
    from projections.runtime import start_projectors

    # Skipped events show on /metrics (same process as serve); progress lines stay off the console.
    stop_projectors = (start_projectors(projector_url(services.db.url), say=logging.getLogger("avm.projectors").debug,
                                        item_failed=count_item_failure)
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
        if stop_maintenance:
            stop_maintenance()
            services.close()
    click.echo("avm stopped")
