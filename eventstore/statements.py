"""The SQL every layer shares for a transaction's scope (row-level security) and a tracking position."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

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


# The tracking positions of the names given as a text[] parameter: (application_name, notification_id) rows.
TRACKING_POSITIONS_SQL = "SELECT application_name, notification_id FROM tracking WHERE application_name = ANY(%s)"


def tracking_upsert_sql(position: str = "%s", names: str = "%s::text[]") -> str:
    """Set the tracking position of each of the names given as a text[] parameter to `position`
    (a SQL expression; a %s parameter by default); `names` may instead be a text[] literal
    (`text_array_literal`)."""
    return ("INSERT INTO tracking (application_name, notification_id) SELECT unnest(" + names + "), " + position
            + " ON CONFLICT (application_name) DO UPDATE SET notification_id = EXCLUDED.notification_id")


def text_array_literal(values: Sequence[str]) -> str:
    """A SQL text[] literal of fixed names (code's own, never input): ARRAY['a', 'b']::text[]."""
    return "ARRAY[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]::text[]"
