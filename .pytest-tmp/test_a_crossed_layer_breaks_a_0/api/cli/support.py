"""Helpers shared by the `avm` command modules: clean failures and the services they open."""
from __future__ import annotations

import os
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from uuid import UUID

import click

F = TypeVar("F", bound=Callable[..., Any])


def fail_cleanly(fn: F) -> F:
    """Exit non-zero with a one-line reason instead of a traceback."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except click.exceptions.Exit:
            raise
        except (click.ClickException, click.Abort):
            raise
        except Exception as exc:  # noqa: BLE001
            if os.environ.get("AVM_DEBUG"):
                raise
            detail = getattr(exc, "detail", None) or str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            raise click.ClickException(f"{type(exc).__name__}: {detail}") from None

    return wrapper  # type: ignore[return-value]


def open_database(stop_on_exit: bool = True) -> Any:
    """The database the command works on: DATABASE_URL, else the embedded server (started if need be)."""
    from eventstore import database

    return database.open_database(stop_on_exit=stop_on_exit)


def migrate_if_owner(url: str) -> bool:
    """Apply the migrations, unless AVM_MIGRATE=0 or `url` logs in as one of the service's own roles
    (a process given only avm_app's or avm_projector's credentials cannot and must not migrate:
    the one-shot `avm db migrate` with the owner's does). True when it migrated."""
    from psycopg.conninfo import conninfo_to_dict

    from eventstore import migrate as m
    from eventstore.recorder import APP_ROLE, PROJECTOR_ROLE

    if os.environ.get("AVM_MIGRATE", "1") == "0" or conninfo_to_dict(url).get("user") in (APP_ROLE, PROJECTOR_ROLE):
        return False
    m.upgrade(url)
    return True


def open_services(migrate: bool = True) -> Any:
    """The services (application, pool) on that database, migrated first unless told not to (see migrate_if_owner)."""
    from api.services import Services

    db = open_database()
    if migrate:
        migrate_if_owner(db.url)
    return Services(db, pool_size=2)


def shown_data_dir() -> str:
    """The embedded server's data directory as `avm serve` shows it: AVM_DATA_DIR, resolved."""
    from eventstore.database import data_dir

    return str(data_dir())


def tenant_option(value: str | None) -> UUID | None:
    """The `--tenant` option's value as a tenant id (None when not given); a usage error otherwise."""
    if value is None:
        return None
    try:
        return UUID(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a UUID (a tenant id)", param_hint="--tenant") from None
