"""The SQL every layer shares for a transaction's scope (row-level security) and a tracking position."""
from __future__ import annotations

from collections.abc import Mapping

# What row-level security keys on: the tenant, a named cross-tenant scope, and who is calling.
SCOPE = ("app.tenant_id", "app.scope", "app.caller_id")


def set_config_sql(*params: str, values: Mapping[str, str] | None = None, local: bool = True) -> str:
    """One `SELECT set_config(…)` statement: each of `params` takes a %s parameter, in order, then
    each of `values` a fixed literal. Transaction-local unless `local` is False (never for a tenant:
    a pooled connection must not carry one tenant's scope into the next transaction)."""
    scope = "true" if local else "false"
    parts = [f"set_config('{name}', %s, {scope})" for name in params]
    parts += [f"set_config('{name}', '{value}', {scope})" for name, value in (values or {}).items()]
    return "SELECT " + ", ".join(parts)


def tracking_upsert_sql(position: str = "%s") -> str:
    """Set the tracking position of each of the names given as a text[] parameter to `position`
    (a SQL expression; a %s parameter by default)."""
    return ("INSERT INTO tracking (application_name, notification_id) SELECT unnest(%s::text[]), " + position
            + " ON CONFLICT (application_name) DO UPDATE SET notification_id = EXCLUDED.notification_id")
