"""Issue 17 item 3, the code half: no SQL of ours reaches across tenants outside a named list of
admin/system paths, and no SQL joins two tenant tables except on tenant_id.

A grep-level check over the SQL literals of api/, projections/, eventstore/ and domain/ (read with
`ast`: plain strings, f-strings with their holes as `{}`, and `+` of those). What it can prove:
- every statement on a tenant table that names no `tenant_id` (a statement that would fan out to every
  shard of a distributed PostgreSQL) sits in a function of CROSS_TENANT, which says why;
- every JOIN between tenant tables equates their tenant_id (Citus joins distributed tables only on the
  distribution column; two tenants' rows never meet in one row);
- every place that leaves the tenant's row-level-security scope (`read(scope=...)`, `app.scope`) is
  in CROSS_TENANT too, so a new cross-tenant path fails here until it is named and justified.
What it cannot prove: SQL assembled outside a literal (a table name in a variable is seen as `{}`,
a filter built in pieces counts when any literal of the same function names `tenant_id =`), and the
values bound at run time. Row-level security is the run-time half: tests/integration/
test_tenant_schema.py checks every tenant table forces it and names every policy that is not the
tenant's own.
"""
from __future__ import annotations

import ast
import functools
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("api", "projections", "eventstore", "domain")
# Tables with a tenant_id column (the integration test checks this list against the catalog).
TENANT_TABLES = frozenset({
    "api_tokens", "assets", "daily_usage", "daily_usage_assets", "events", "idempotency_keys", "identities",
    "jobs", "model_keys", "presets", "projects", "scenes", "session_activity", "sessions", "tenant_data_keys", "usage", "users"})

_STORE = "the event store: the library reads an aggregate by its id (a UUID, globally unique) and the notification log"
_LOG = "the global event order (notification_id): replay, rebuilds and the async views read the log in order"
_VIEW = "an async view writes the row of the tenant of the event at that position (tenant-local, found by position)"
_SWEEP = "a system sweep over every tenant's due items (one runner at a time, advisory lock)"
_QUEUE = "the render queue is every tenant's: a worker claims the next job of any tenant"
_OPS = "service-wide counts for /metrics, /api/health, `avm db status` (no tenant's data leaves, only totals)"
_ADMIN = "an admin route (role admin, scope admin): reads every tenant by design"
_AUTH = "authentication: the token, session or identity is the key that finds the tenant, before one is known"
_REBUILD = "a rebuild or verify of a read model: every tenant's rows, or one tenant's (`--tenant`), by table name"
_RECOVERY = ("backup, restore and import (docs/operations.md): the whole store, every tenant's head, the log's end,"
             " whether it holds any event")

# "module:function" (or "module:<module>") -> why it may reach across tenants. Each entry must still
# match a statement or a scope switch (no stale entries).
CROSS_TENANT: dict[str, str] = {
    "eventstore/recorder.py:select_events": _STORE,
    "eventstore/recorder.py:select_notifications": _STORE,
    "eventstore/recorder.py:max_notification_id": _STORE,
    "eventstore/recorder.py:<module>": _STORE + " (the recorder's scope 'store' reads events only)",
    "eventstore/replay.py:scan_events": _LOG,
    "eventstore/replay.py:scan_streams": _LOG,
    "eventstore/replay.py:changed_between": _LOG,
    "eventstore/replay.py:log_head": _LOG,
    "eventstore/replay.py:count_events": _LOG,
    "projections/views.py:count_after": _LOG,
    "projections/views.py:service_stats": _OPS,
    "projections/views.py:list_daily_totals": _ADMIN + " (daily totals over tenants)",
    "projections/assets.py:due_assets": _SWEEP + ": assets past expiry",
    "projections/assets.py:held_uris": _SWEEP + ": which stored bytes any asset still holds (orphan bytes)",
    "projections/assets.py:expired_uris": _SWEEP + ": the bytes of assets that just expired",
    "api/media_sweep.py:remove_expired_bytes": _SWEEP + ": removing the bytes of expired assets",
    "api/media_sweep.py:sweep_orphan_bytes": _SWEEP + ": the object store's bytes no asset holds",
    "projections/jobs.py:claim_candidates": _QUEUE,
    "projections/jobs.py:expired_leases": _SWEEP + ": leases that ran out",
    "projections/stats.py:queue_stats": _OPS,
    "projections/users.py:list_users": _ADMIN,
    "projections/users.py:find_user_by_email": _AUTH + " (an email is unique across tenants: a directory key)",
    "projections/users.py:user_of_identity": _AUTH + " (provider and subject are unique across tenants)",
    "projections/base.py:newest_first_query": "a tenant's list, table by name: the caller's filters start with tenant_id",
    "projections/base.py:_delete_sql": "an inline projection's delete by key, the key starting with tenant_id",
    "projections/rebuild/async_views.py:_rebuild_one": _REBUILD,
    "projections/rebuild/builder.py:_delete": _REBUILD,
    "projections/rebuild/swap.py:_replace_tenant_rows": _REBUILD,
    "projections/rebuild/catalog.py:owner_connection": _REBUILD,
    "projections/base.py:_upsert_sql": "an inline projection's upsert by key, the key starting with tenant_id",
    "projections/base.py:_insert_sql": "an inline projection's insert: rows carry the event's tenant_id",
    "projections/base.py:_insert_rows_sql": "an inline projection's insert of a set of rows as one JSON parameter:"
                                            " rows carry the event's tenant_id",
    "api/model_keys.py:stored_count": _OPS,
    # Issue 15, personal data (docs/decisions/i15-crypto.md):
    "api/composition.py:wire_sealing": "the data keys are read and made in the system scope: every reader decodes"
                                       " any tenant's sealed fields (a rebuild, an admin's audit read), each key"
                                       " looked up by its tenant_id",
    "eventstore/datakeys.py:load_master": _OPS + " (whether any data key is wrapped: the master key is never"
                                           " regenerated then)",
    "api/privacy.py:_forget_outside_the_log": "an erasure's clean-up of one tenant (by tenant_id) in the system"
                                              " scope: its idempotency rows are the caller's under RLS",
    "api/cli/privacy.py:plaintext_report": _OPS + " (`avm db verify`: per tenant, the events stored in clear"
                                           " before encryption)",
    "api/model_keys.py:model_keys_for_job": "the lease holder (a worker) reads the job owner's sealed keys",
    "api/cli/db.py:db_status": _OPS,
    "api/cli/db.py:db_verify": _OPS,
    "api/cli/projections.py:projections_status": _OPS,
    "api/cli/audit.py:checkpoint": "`avm audit checkpoint`: every tenant's chain head, signed",
    "api/cli/audit.py:_export_every_tenant": "`avm audit export` without --tenant: one file per tenant",
    "api/services.py:authenticate": _AUTH,
    "api/services.py:_authenticate_session": _AUTH,
    "api/services.py:_authenticate_jwt": _AUTH,
    "api/services.py:model_keyring": "the service key that seals model keys (no tenant's row is read)",
    "api/controllers/signin.py:sign_in": _AUTH + " (OIDC: provider and subject find the user)",
    "api/controllers/signin.py:verified_identity": _AUTH + " (OIDC: provider and subject find the user)",
    "api/controllers/users.py:get_user": _ADMIN,
    "api/controllers/users.py:list_users": _ADMIN,
    "api/controllers/admin_projections.py:projection_list": _ADMIN + " (the views' positions; the API and the studio)",
    "projections/stats.py:oldest_queued": _OPS + " (the queue's oldest job, for the admin studio)",
    "projections/stats.py:running_leases": _OPS + " (the running leases, for the admin studio)",
    "api/studio/admin.py:queue": _ADMIN + " (the studio's queue page)",
    "api/studio/admin.py:queue_counts": _ADMIN + " (the studio's live queue counts)",
    "api/studio/pages.py:tenants": _ADMIN + " (the studio's tenant list)",
    "api/controllers/admin_projections.py:rebuild_projection": _ADMIN,
    "api/controllers/views.py:admin_stats": _ADMIN,
    "api/controllers/jobs.py:claim_job": _QUEUE,
    "api/controllers/jobs.py:expire_leases": _SWEEP + ": leases that ran out",
    "api/controllers/assets.py:expire_due": _SWEEP + ": assets past expiry",
    "api/controllers/metrics.py:refresh_projection_gauges": _OPS,
    "api/controllers/metrics.py:_read_operational": _OPS,
    "api/controllers/health.py:health_report": _OPS,
    "api/maintenance.py:run_sweep": _SWEEP,
    "api/maintenance.py:record_run": _SWEEP + " (its run record, no tenant's row)",
    "api/idempotency.py:delete_expired_keys": _SWEEP + ": idempotency keys past their lifetime",
    "eventstore/backup.py:_heads": _RECOVERY + " (the manifest's heads, read in the dump's snapshot)",
    "eventstore/backup.py:backup": _RECOVERY + " (the log's last position, in the dump's snapshot)",
    "eventstore/backup.py:is_empty": _RECOVERY + " (restore refuses a store holding any event)",
    "eventstore/importer.py:store_is_empty": _RECOVERY + " (import refuses a store holding any event)",
    "eventstore/importer.py:advance_positions": _RECOVERY + " (the position sequence moves past the imported log)",
    "api/cli/db_backup.py:_verify_restored": _RECOVERY + " (every restored tenant's chain against the manifest)",
}

# Statements that relate rows of several tenant-table aliases other than by equal tenant_ids, and why.
JOIN_EXCEPTIONS = {
    "projections/audit.py:<module>": "`avm audit checkpoint`: every tenant's chain head, a LATERAL per tenant id"
                                     " (e.tenant_id = t.id) over a loose index scan of the tenant ids",
}

_SQL = re.compile(r"^\s*\(?\s*(WITH|SELECT|INSERT|UPDATE|DELETE)\b", re.I)
_TABLE = re.compile(r"\b(?:FROM|JOIN|UPDATE|INTO)\s+(?:ONLY\s+)?(\{\}|[a-z_][a-z0-9_]*)", re.I)
_JOIN = re.compile(r"\bJOIN\s+(?:LATERAL\s+)?([a-z_][a-z0-9_]*)\s+(?:AS\s+)?([a-z_][a-z0-9_]*)?", re.I)
_FROM = re.compile(r"\bFROM\s+([a-z_][a-z0-9_]*)\s+(?:AS\s+)?([a-z_][a-z0-9_]*)", re.I)


def literal(node: ast.AST) -> str | None:
    """The text of a string literal, an f-string (holes as `{}`) or a `+` of them; None otherwise."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = literal(node.left), literal(node.right)
        return None if left is None and right is None else (left or "{}") + (right or "{}")
    return None


def sites() -> Iterator[tuple[str, int, str, str]]:
    """(module:function, line, kind, text) of every SQL statement and scope switch of ours."""
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            module = path.relative_to(ROOT).as_posix()
            tree = ast.parse(path.read_text(encoding="utf-8"))
            owner: dict[int, str] = {}
            for fn in ast.walk(tree):
                if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    for n in ast.walk(fn):
                        owner.setdefault(id(n), fn.name)
            lines: set[int] = set()
            for node in ast.walk(tree):
                where = f"{module}:{owner.get(id(node), '<module>')}"
                if isinstance(node, ast.Constant) and isinstance(node.value, str) and "tenant_id" in node.value:
                    yield where, node.lineno, "text", node.value
                if isinstance(node, ast.Call) and any(k.arg == "scope" and isinstance(k.value, ast.Constant)
                                                      for k in node.keywords):
                    scope = next(k.value.value for k in node.keywords if k.arg == "scope")  # type: ignore[attr-defined]
                    yield where, node.lineno, "scope", str(scope)
                if isinstance(node, ast.Dict) and any(isinstance(k, ast.Constant) and k.value == "app.scope"
                                                      for k in node.keys):
                    yield where, node.lineno, "scope", "app.scope"
                text = literal(node) if isinstance(node, (ast.Constant, ast.JoinedStr, ast.BinOp)) else None
                if text is not None and _SQL.match(text) and node.lineno not in lines:
                    lines.add(node.lineno)  # the outermost literal of a line, read first by ast.walk
                    yield where, node.lineno, "sql", text


_FILTER = re.compile(r"\btenant_id\)?\s*(?:=|IN\b)|\(tenant_id,[^)]*\)\s*(?:=|IN\b)|ON CONFLICT \(tenant_id"
                     r"|INSERT INTO \S+ \([^)]*\btenant_id\b", re.I)


def filters_tenant(sql: str) -> bool:
    """The statement names tenant_id in a comparison (a filter, a join, a conflict key), not only in a list."""
    return bool(_FILTER.search(sql))


def tables(sql: str) -> list[str]:
    return [t.lower() for t in _TABLE.findall(sql) if t == "{}" or t.lower() in TENANT_TABLES]


def function_names_tenant(module_function: str, texts: dict[str, list[str]]) -> bool:
    return any(filters_tenant(t) for t in texts.get(module_function, []))


@functools.lru_cache(maxsize=1)
def _collect() -> tuple[list[tuple[str, int, str, str]], dict[str, list[str]]]:
    found = list(sites())
    texts: dict[str, list[str]] = {}
    for where, _, kind, text in found:
        if kind in ("sql", "text"):
            texts.setdefault(where, []).append(text)
    return found, texts


def test_the_scanner_reads_our_sql() -> None:
    found, _ = _collect()
    statements = [s for s in found if s[2] == "sql" and tables(s[3])]
    # A scanner that finds nothing proves nothing: our code has some eighty statements on tenant tables.
    assert len(statements) > 60, len(statements)
    assert any("claim_candidates" in w for w, _, _, _ in statements)


def test_every_statement_without_a_tenant_filter_is_a_named_admin_or_system_path() -> None:
    found, texts = _collect()
    unnamed = []
    for where, line, kind, text in found:
        if kind != "sql" or not tables(text) or filters_tenant(text):
            continue
        if where not in CROSS_TENANT and not function_names_tenant(where, texts):
            unnamed.append(f"{where} (line {line}): {' '.join(text.split())[:120]}")
    assert not unnamed, ("statements on tenant tables that name no tenant_id, outside CROSS_TENANT (name the path"
                         " and why it must see every tenant, or filter by tenant_id):\n" + "\n".join(unnamed))


def join_problem(text: str) -> str | None:
    """The alias of a tenant table joined to another tenant table without equal tenant_ids, if any."""
    if "JOIN" not in text.upper():
        return None
    aliases = {(a or t).lower() for t, a in _FROM.findall(text) + _JOIN.findall(text) if t.lower() in TENANT_TABLES}
    if len(aliases) < 2:
        return None
    for alias in sorted(aliases):
        others = "|".join(re.escape(o) for o in aliases if o != alias)
        me = re.escape(alias)
        if not re.search(rf"\b{me}\.tenant_id\s*=\s*(?:{others})\.tenant_id\b", text) and \
                not re.search(rf"\b(?:{others})\.tenant_id\s*=\s*{me}\.tenant_id\b", text):
            return alias
    return None


def test_every_join_of_tenant_tables_is_on_tenant_id() -> None:
    found, _ = _collect()
    bad = [f"{where} (line {line}): {alias} joined without tenant_id: {' '.join(text.split())[:140]}"
           for where, line, kind, text in found
           if kind == "sql" and where not in JOIN_EXCEPTIONS and (alias := join_problem(text))]
    assert not bad, "joins of tenant tables not on tenant_id (Citus cannot co-locate them):\n" + "\n".join(bad)


def test_every_switch_out_of_the_tenant_scope_is_a_named_admin_or_system_path() -> None:
    found, _ = _collect()
    unnamed = [f"{where} (line {line}): scope {text}" for where, line, kind, text in found
               if kind == "scope" and where not in CROSS_TENANT]
    assert not unnamed, "row-level-security scope switches outside CROSS_TENANT:\n" + "\n".join(unnamed)


def test_the_named_list_has_no_stale_entries() -> None:
    found, texts = _collect()
    used = {where for where, _, kind, text in found
            if kind == "scope" or (kind == "sql" and tables(text) and not filters_tenant(text))}
    stale = sorted(set(CROSS_TENANT) - used)
    assert not stale, f"CROSS_TENANT names paths that no longer reach across tenants: {stale}"


def test_the_join_check_catches_a_join_across_tenants() -> None:
    # A join on the project id alone pairs one tenant's scenes with whichever tenant's project has that id.
    assert join_problem("SELECT s.idx FROM scenes s JOIN projects p ON p.id = s.project_id"
                        " WHERE s.tenant_id = %s") == "p"
    assert join_problem("SELECT s.idx FROM scenes s JOIN projects p ON p.tenant_id = s.tenant_id"
                        " AND p.id = s.project_id WHERE s.tenant_id = %s") is None
    assert join_problem("SELECT j.id FROM jobs j JOIN LATERAL (SELECT 1) x ON true") is None


def test_the_filter_check_tells_a_tenant_filter_from_a_mere_mention() -> None:
    assert filters_tenant("SELECT id FROM jobs WHERE tenant_id = %s AND id = %s")
    assert filters_tenant("DELETE FROM idempotency_keys WHERE (tenant_id, key) IN (SELECT 1)")
    assert filters_tenant("INSERT INTO assets (tenant_id, id) VALUES (%s, %s)")
    assert not filters_tenant("SELECT tenant_id, id FROM users WHERE lower(email) = lower(%s)")
    assert not filters_tenant("SELECT id FROM jobs WHERE status = 'queued' ORDER BY tenant_id")
