"""`avm audit …`: verify, export and checkpoint the per-tenant event history."""
from __future__ import annotations

import click


@click.group()
def audit() -> None:
    """Verify, export and checkpoint the audit trail."""
