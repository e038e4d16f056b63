"""The `avm` command line: serve, database, users, sweeps, maintenance, audit, projections and bench.

Each command module defines its group or command on its own and imports only `api.cli.support`
(never this package); this module puts them together under `main`.
"""
from __future__ import annotations

import logging
import sys

import click

from api.cli import audit, bench, db, maintenance, privacy, projections, serve, sweeps, users  # noqa: F401 - privacy adds `users erase`


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """avm: the event-sourced backend of the Epic Auto Video Machine.

    Uses DATABASE_URL when set, else an embedded PostgreSQL under ./.data/.
    """
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


# The modules keep their names (api.cli.audit is the module, its group is api.cli.audit.audit).
for command in (serve.serve, db.db, users.users, sweeps.assets, sweeps.jobs, audit.audit, projections.projections,
                bench.bench, maintenance.maintenance):
    main.add_command(command)

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
