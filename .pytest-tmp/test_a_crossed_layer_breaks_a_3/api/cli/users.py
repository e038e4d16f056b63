"""`avm users …`: manage users."""
from __future__ import annotations

import click

from api.cli.support import fail_cleanly, open_services


@click.group()
def users() -> None:
    """Manage users."""


@users.command("create")
@click.option("--email", required=True)
@click.option("--role", type=click.Choice(["user", "premium", "admin", "worker"]), default="user", show_default=True)
@click.option("--name", default=None)
@fail_cleanly
def users_create(email: str, role: str, name: str | None) -> None:
    """Create a user; its token is printed alone on the last line."""
    from domain.application import CommandContext

    services = open_services()
    user, token = services.app.register_user(CommandContext.system("avm users create"), email=email,
                                             name=name, role=role)
    click.echo(f"created {role} {user.email} ({user.id})")
    click.echo(token)
