"""`avm worker run`: the reference render worker (the optional extra `avm[worker]`).

It is the worker contract's client (docs/worker-contract.md): it reaches the service over HTTP only,
with a worker account's token, wherever the service runs.
"""
from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

import click

from api.cli.support import fail_cleanly

EXTRA = ("PIL", "imageio_ffmpeg", "httpx")


def missing_extra() -> list[str]:
    """The modules of the `worker` extra that are not installed."""
    return [name for name in EXTRA if importlib.util.find_spec(name) is None]


@click.group()
def worker() -> None:
    """The reference render worker: title cards, a synthetic narration, an H.264 MP4."""


@worker.command("run")
@click.option("--url", default="http://127.0.0.1:8000", show_default=True, help="Where the service answers.")
@click.option("--token", envvar="AVM_WORKER_TOKEN", required=True,
              help="A worker account's token (`avm users create --role worker`); or AVM_WORKER_TOKEN.")
@click.option("--once", is_flag=True, help="Handle one job, then exit (exit at once when none is waiting).")
@click.option("--poll", "poll", type=click.FloatRange(0.1, 300), default=2.0, show_default=True,
              help="Seconds between claims while the queue is empty.")
@click.option("--work-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where jobs are rendered, one directory each, removed when the job ends "
                   "(default: a temporary directory).")
@click.option("--step-pause", type=click.FloatRange(0, 60), default=0.0, show_default=True,
              help="Pause after each step (to watch a render go by, or to test faults mid-render).")
@click.option("--silent", is_flag=True, help="Narration of silence instead of a tone.")
@fail_cleanly
def run(url: str, token: str, once: bool, poll: float, work_dir: Path | None, step_pause: float,
        silent: bool) -> None:
    """Claim jobs and render them until stopped (SIGTERM/Ctrl-C: the job in hand goes back to the queue)."""
    missing = missing_extra()
    if missing:
        raise click.ClickException(f"the render worker needs the optional extra `worker` ({', '.join(missing)} "
                                   "missing): pip install 'avm[worker]'")
    import threading

    from api.worker.client import WorkerRejected
    from api.worker.runner import WorkerOptions, install_signal_handlers, run_worker

    logging.getLogger("avm.worker").setLevel(logging.INFO)
    for handler in logging.getLogger().handlers:  # main() configured one: a time on each line here
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    stopping = threading.Event()
    install_signal_handlers(stopping)
    click.echo(f"avm worker: claiming jobs from {url}", err=True)
    try:
        done = run_worker(WorkerOptions(url=url, token=token, work_dir=work_dir, poll_seconds=poll, once=once,
                                        step_pause=step_pause, tone=not silent), stopping)
    except WorkerRejected as exc:
        raise click.ClickException(f"the service refuses this worker: {exc}") from None
    click.echo(f"avm worker: stopped after {done} completed job(s)", err=True)
