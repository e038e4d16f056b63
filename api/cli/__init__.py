"""The `avm` command line: serve, database, users, sweeps, maintenance, audit, projections, bench and worker.

Each command module defines its group or command on its own and imports only `api.cli.support`
(never this package); this module puts them together under `main`.
"""
from __future__ import annotations

import logging
import sys

import click

from api.cli import audit, bench, db, maintenance, projections, serve, sweeps, users, worker
from api.cli import privacy  # noqa: F401 - adds `avm users erase` and `users reapply-erasures`
from api.cli import audit_import, db_backup


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """avm: the event-sourced backend of the Epic Auto Video Machine.

    Uses DATABASE_URL when set, else an embedded PostgreSQL under ./.data/.
    """
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


# The modules keep their names (api.cli.audit is the module, its group is api.cli.audit.audit).
for command in (serve.serve, db.db, users.users, sweeps.assets, sweeps.jobs, audit.audit, projections.projections,
                bench.bench, maintenance.maintenance, worker.worker):
    main.add_command(command)
# Recovery (issue 15): backup/restore under `avm db`, import under `avm audit`, each in its own module.
db.db.add_command(db_backup.backup)
db.db.add_command(db_backup.restore)
audit.audit.add_command(audit_import.import_)

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
