"""Issue 17 item 3, the schema half: the migrated schema stays ready to be distributed by tenant_id
(docs/scaling.md).

Read from pg_catalog after every migration:
- every table is a tenant table (it has tenant_id) or a named global one;
- every tenant table's primary key and unique indexes start with tenant_id, but a named list of
  exceptions, each with its reason and the step that removes it on a distributed PostgreSQL;
- no foreign key joins two tenant tables other than through tenant_id;
- no column default of a tenant table draws from a sequence or an identity, but the library's global
  position (events.notification_id); the chain trigger orders a tenant's events by tenant_seq alone;
- every tenant table forces row-level security, and every policy that is not the tenant's own is named.
And by behaviour: a tenant's tenant_seq and hash chain do not change with the global sequence.
"""
from __future__ import annotations

import inspect
import re
import uuid
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from tests.unit.test_tenant_sql import TENANT_TABLES

# Tables without tenant_id, and why they have none.
GLOBAL_TABLES = {
    "alembic_version": "the schema's revision (one row)",
    "tracking": "each projection's position in the global event order (see docs/scaling.md: per shard)",
    "sweep_runs": "the maintenance sweeps' run records (one row a sweep, service-wide)",
    "snapshots": "KNOWN EXCEPTION: the library's snapshots hold tenant data keyed by aggregate id only;"
                 " next step: a tenant_id column filled by our recorder, distributed like events",
}
# (table, index) -> why its key does not start with tenant_id, and what replaces it when distributed.
_DIRECTORY = ("a directory key: it finds the tenant before one is known (sign-in, token check); the directory"
              " tables (users, identities, api_tokens, sessions) become Citus reference tables, small and"
              " rarely written, where a unique key needs no distribution column")
KEY_EXCEPTIONS = {
    ("events", "events_pkey"): "KNOWN EXCEPTION: the library's key (originator_id, originator_version) is the"
                               " optimistic-concurrency check; next step: (tenant_id, originator_id,"
                               " originator_version), the recorder reading an aggregate by tenant and id",
    ("events", "events_notification_id_idx"): "KNOWN EXCEPTION: the library's global notification log; next"
                                              " step: per-tenant positions (tenant_id, tenant_seq), per shard",
    ("users", "users_email_key"): _DIRECTORY + " (one account per email address, across tenants)",
    ("identities", "identities_provider_subject_key"): _DIRECTORY + " (one user per OIDC subject)",
    ("api_tokens", "api_tokens_hash_key"): _DIRECTORY + " (a bearer token finds its user)",
    ("sessions", "sessions_token_hash_key"): _DIRECTORY + " (a session token finds its user)",
    ("sessions", "sessions_id_token_hash_key"): _DIRECTORY + " (an ID token is used once, across tenants)",
}
SEQUENCE_EXCEPTIONS = {
    ("events", "notification_id"): "the library's global position: read only by replay, rebuilds and the"
                                   " async views, never by a tenant's order or chain",
}
# Policies of tenant tables that are not `tenant_id = avm_current_tenant()/avm_current_caller()`.
POLICY_EXCEPTIONS = {
    "admin_reads": "scope admin: an admin route reads every tenant",
    "system_rows": "role avm_system: sweeps, rebuilds, the queue (SET LOCAL ROLE, never a setting)",
    "store_reads": "scope store: the event store reads an aggregate by id (events only)",
    "worker_reads": "scope worker: a worker sees the queue of every tenant (jobs only)",
    "auth_reads": "scope auth: a token or identity finds its user (the directory tables)",
    "projector_reads": "role avm_projector: the async views read the log",
    "projector_rows": "role avm_projector: the async views write their own tables",
}


@pytest.fixture(scope="module")
def catalog(database_url: str) -> Any:
    with psycopg.connect(database_url, row_factory=dict_row, autocommit=True) as conn:
        yield conn


def _tables(conn: Any) -> dict[str, bool]:
    return {r["relname"]: r["has_tenant"] for r in conn.execute(
        "SELECT c.relname, EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id'"
        " AND NOT a.attisdropped) AS has_tenant FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace"
        " AND c.relkind IN ('r', 'p')")}


def test_every_table_is_a_tenant_table_or_a_named_global_one(catalog: Any) -> None:
    tables = _tables(catalog)
    tenant = {t for t, has in tables.items() if has}
    assert tenant == TENANT_TABLES, "tests/unit/test_tenant_sql.py's TENANT_TABLES must be the catalog's"
    assert {t for t, has in tables.items() if not has} == set(GLOBAL_TABLES)


def test_every_key_of_a_tenant_table_starts_with_tenant_id(catalog: Any) -> None:
    rows = catalog.execute(
        "SELECT t.relname AS tab, i.relname AS idx, (SELECT a.attname FROM pg_attribute a WHERE a.attrelid = t.oid"
        " AND a.attnum = x.indkey[0]) AS first FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid"
        " JOIN pg_class t ON t.oid = x.indrelid WHERE t.relnamespace = 'public'::regnamespace"
        " AND (x.indisunique OR x.indisprimary)").fetchall()
    keys = {(r["tab"], r["idx"]): r["first"] for r in rows if r["tab"] in TENANT_TABLES}
    assert any(first == "tenant_id" for first in keys.values())
    wrong = {k for k, first in keys.items() if first != "tenant_id"}  # first None: an expression (lower(email))
    assert wrong - set(KEY_EXCEPTIONS) == set(), "unique keys of tenant tables not starting with tenant_id"
    assert set(KEY_EXCEPTIONS) - wrong == set(), "KEY_EXCEPTIONS names keys that are fixed or gone"
    constraints = catalog.execute(
        "SELECT conrelid::regclass::text AS tab, conname, pg_get_constraintdef(oid) AS def FROM pg_constraint"
        " WHERE connamespace = 'public'::regnamespace AND contype IN ('p', 'u', 'x')").fetchall()
    for c in constraints:  # a constraint is backed by an index of the same name, checked above
        if c["tab"] in TENANT_TABLES:
            assert (c["tab"], c["conname"]) in keys, c


def test_no_foreign_key_joins_two_tenants(catalog: Any) -> None:
    fks = catalog.execute(
        "SELECT conrelid::regclass::text AS tab, confrelid::regclass::text AS ref, conname,"
        " (SELECT array_agg(a.attname ORDER BY k.n) FROM unnest(conkey) WITH ORDINALITY k(attnum, n)"
        "  JOIN pg_attribute a ON a.attrelid = conrelid AND a.attnum = k.attnum) AS cols,"
        " (SELECT array_agg(a.attname ORDER BY k.n) FROM unnest(confkey) WITH ORDINALITY k(attnum, n)"
        "  JOIN pg_attribute a ON a.attrelid = confrelid AND a.attnum = k.attnum) AS refcols"
        " FROM pg_constraint WHERE contype = 'f' AND connamespace = 'public'::regnamespace").fetchall()
    bad = [f for f in fks if (f["tab"] in TENANT_TABLES or f["ref"] in TENANT_TABLES)
           and not (f["cols"][0] == "tenant_id" and f["refcols"][0] == "tenant_id")]
    assert not bad, f"foreign keys between tenant tables not led by tenant_id: {bad}"


def test_no_tenant_column_draws_from_a_global_sequence(catalog: Any) -> None:
    drawn = catalog.execute(
        "SELECT c.relname AS tab, a.attname AS col FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid"
        " LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum"
        " WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') AND a.attnum > 0"
        " AND NOT a.attisdropped AND (a.attidentity <> '' OR pg_get_expr(d.adbin, d.adrelid) ILIKE '%nextval(%')"
        ).fetchall()
    used = {(r["tab"], r["col"]) for r in drawn if r["tab"] in TENANT_TABLES}
    assert used == set(SEQUENCE_EXCEPTIONS)


def test_the_chain_trigger_orders_by_tenant_seq_alone(catalog: Any) -> None:
    from eventstore.chain import event_bytes

    source = catalog.execute("SELECT prosrc FROM pg_proc WHERE proname = 'avm_events_chain'").fetchone()["prosrc"]
    code = re.sub(r"--[^\n]*", "", source)
    assert "ORDER BY e.tenant_seq DESC" in code and "e.tenant_id = NEW.tenant_id" in code
    assert "notification_id" not in code and "nextval" not in code.lower()
    assert "notification_id" not in inspect.signature(event_bytes).parameters
    hashed = catalog.execute("SELECT string_agg(prosrc, ' ') AS s FROM pg_proc WHERE proname = 'avm_event_bytes'"
                             ).fetchone()["s"]
    assert "notification_id" not in hashed


def test_every_tenant_table_forces_row_level_security_and_names_its_other_policies(catalog: Any) -> None:
    rls = {r["relname"]: (r["relrowsecurity"], r["relforcerowsecurity"]) for r in catalog.execute(
        "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class WHERE relnamespace = 'public'::regnamespace"
        " AND relkind IN ('r', 'p')")}
    assert all(rls[t] == (True, True) for t in TENANT_TABLES), {t: rls[t] for t in TENANT_TABLES}
    policies = catalog.execute(
        "SELECT tablename, policyname, coalesce(qual, '') || ' ' || coalesce(with_check, '') AS expr FROM pg_policies"
        " WHERE schemaname = 'public'").fetchall()
    own = re.compile(r"tenant_id = avm_current_(tenant|caller)\(\)")
    others = {p["policyname"] for p in policies if p["tablename"] in TENANT_TABLES and not own.search(p["expr"])}
    assert others - set(POLICY_EXCEPTIONS) == set(), "policies reaching across tenants, unnamed"
    assert set(POLICY_EXCEPTIONS) - others == set(), "POLICY_EXCEPTIONS names policies that are gone"


def test_a_tenants_order_and_chain_do_not_move_with_the_global_sequence(services: Any, make_tenant: Any,
                                                                          database_url: str) -> None:
    from domain.application import CommandContext
    from eventstore.verify import verify_rows
    from projections.audit import chain_page

    a, b = make_tenant("premium"), make_tenant("premium")
    ctx = {t.id: CommandContext(tenant_id=t.id, actor_id=t.id, role="premium") for t in (a, b)}
    with psycopg.connect(database_url, autocommit=True) as owner:
        for i in range(6):
            for t in (a, b):
                services.app.create_project(ctx[t.id], title=f"interleaved {i}")
            # Jump the global position (as a shard of its own would): nothing of a tenant's order may notice.
            owner.execute("SELECT setval('events_notification_id_seq', nextval('events_notification_id_seq') + 997)")
    for t in (a, b):
        with services.read(t.id) as conn:
            rows = chain_page(conn, uuid.UUID(t.id), 0, 10_000, 10_000)
        assert [r["tenant_seq"] for r in rows] == list(range(1, len(rows) + 1))
        positions = [r["notification_id"] for r in rows]
        assert positions == sorted(positions) and positions[-1] - positions[0] > 5 * 997  # the gaps are real
        report = verify_rows(rows, t.id)
        assert report.ok, report
