"""`avm users erase`: erase a tenant's personal data (issue 15; api/privacy.py), and the report of
personal data stored in clear before sealing existed (`avm db verify`)."""
from __future__ import annotations

from typing import Any
from uuid import UUID

import click

from api.cli.support import fail_cleanly, open_services
from api.cli.users import users


@users.command("erase")
@click.option("--id", "user_id", required=True, type=click.UUID, help="The user (tenant) to erase.")
@click.option("--yes", is_flag=True, help="Confirm: the erasure is final.")
@fail_cleanly
def users_erase(user_id: UUID, yes: bool) -> None:
    """Erase a user's personal data: its data key is destroyed, its sessions and tokens end."""
    from api.privacy import erase_tenant
    from domain.application import CommandContext
    from domain.errors import NotFound

    if not yes:
        raise click.ClickException("erasure is final: add --yes to confirm")
    services = open_services()
    try:
        result = erase_tenant(services, user_id, CommandContext.system("avm users erase"))
    except NotFound:
        raise click.ClickException(f"no user {user_id}") from None
    click.echo(f"{user_id}: {'already erased' if result.already else 'erased'}")


@users.command("reapply-erasures")
@fail_cleanly
def users_reapply_erasures() -> None:
    """Erase again every user the erasure ledger names that this database does not show as erased
    (after restoring a backup taken before those erasures; `avm db restore` does it by itself)."""
    from api.privacy import ledger_path, reapply_erasures

    services = open_services()
    done = reapply_erasures(services)
    for tenant in done:
        click.echo(f"{tenant}: erased again")
    click.echo(f"{len(done)} erasure(s) re-applied from {ledger_path()}")


def plaintext_report(conn: Any) -> dict[UUID, int]:
    """Per tenant, how many events hold a personal field in clear (stored before sealing existed)."""
    from domain.privacy import PERSONAL_FIELDS
    from eventstore.sealing import plaintext_personal

    counts: dict[UUID, int] = {}
    with conn.cursor(name="avm_plaintext_scan") as curs:
        curs.itersize = 2_000
        curs.execute("SELECT tenant_id, topic, state FROM events WHERE topic = ANY(%s)", (list(PERSONAL_FIELDS),))
        for row in curs:
            if plaintext_personal(PERSONAL_FIELDS.get(row["topic"]), bytes(row["state"])):
                counts[row["tenant_id"]] = counts.get(row["tenant_id"], 0) + 1
    return counts
