"""Row-level security on every table that has a tenant_id, and a login for the app role.

Every such table gets RLS enabled and forced, with these policies:
- tenant_rows: the rows of the tenant set for the transaction (app.tenant_id), for every command;
- admin_reads: SELECT of every tenant when the transaction's scope (app.scope) is 'admin';
- system_rows: everything when the scope is 'system' (sweeps, rebuilds, the async projectors).
Some tables get one more: events 'store_reads' (the event store loads aggregates), jobs
'worker_reads' (the render queue), users and api_tokens 'auth_reads' (token lookup),
idempotency_keys 'caller_keys' (keys belong to the caller). Without a tenant or a scope a
query sees nothing. Later migrations adding a tenant table call avm_protect('<table>').

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29
"""
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

UPGRADE = r"""
CREATE FUNCTION avm_current_tenant() RETURNS uuid LANGUAGE sql STABLE PARALLEL SAFE AS
$$ SELECT nullif(current_setting('app.tenant_id', true), '')::uuid $$;
CREATE FUNCTION avm_current_caller() RETURNS uuid LANGUAGE sql STABLE PARALLEL SAFE AS
$$ SELECT nullif(current_setting('app.caller_id', true), '')::uuid $$;
CREATE FUNCTION avm_current_scope() RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS
$$ SELECT coalesce(current_setting('app.scope', true), '') $$;

CREATE FUNCTION avm_protect(tbl text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', tbl);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', tbl);
    EXECUTE format('CREATE POLICY tenant_rows ON %I USING (tenant_id = avm_current_tenant())'
                   ' WITH CHECK (tenant_id = avm_current_tenant())', tbl);
    EXECUTE format('CREATE POLICY admin_reads ON %I FOR SELECT USING (avm_current_scope() = ''admin'')', tbl);
    EXECUTE format('CREATE POLICY system_rows ON %I USING (avm_current_scope() = ''system'')'
                   ' WITH CHECK (avm_current_scope() = ''system'')', tbl);
END
$$;

DO $$
DECLARE t text;
BEGIN
    FOR t IN
        SELECT c.table_name FROM information_schema.columns c
          JOIN information_schema.tables tb ON tb.table_schema = c.table_schema AND tb.table_name = c.table_name
         WHERE c.table_schema = 'public' AND c.column_name = 'tenant_id' AND tb.table_type = 'BASE TABLE'
         ORDER BY c.table_name
    LOOP
        PERFORM avm_protect(t);
    END LOOP;
END
$$;

CREATE POLICY store_reads ON events FOR SELECT USING (avm_current_scope() = 'store');
CREATE POLICY worker_reads ON jobs FOR SELECT USING (avm_current_scope() = 'worker');
CREATE POLICY auth_reads ON users FOR SELECT USING (avm_current_scope() = 'auth');
CREATE POLICY auth_reads ON api_tokens FOR SELECT USING (avm_current_scope() = 'auth');
CREATE POLICY caller_keys ON idempotency_keys USING (tenant_id = avm_current_caller())
    WITH CHECK (tenant_id = avm_current_caller());

-- The service logs in as avm_app (trust or a password the operator sets; see docs/security.md).
ALTER ROLE avm_app LOGIN;
"""

DOWNGRADE = r"""
ALTER ROLE avm_app NOLOGIN;
DO $$
DECLARE r record;
BEGIN
    FOR r IN SELECT schemaname, tablename, policyname FROM pg_policies WHERE schemaname = 'public' LOOP
        EXECUTE format('DROP POLICY %I ON %I', r.policyname, r.tablename);
    END LOOP;
    FOR r IN SELECT relname FROM pg_class WHERE relrowsecurity AND relnamespace = 'public'::regnamespace LOOP
        EXECUTE format('ALTER TABLE %I NO FORCE ROW LEVEL SECURITY', r.relname);
        EXECUTE format('ALTER TABLE %I DISABLE ROW LEVEL SECURITY', r.relname);
    END LOOP;
END
$$;
DROP FUNCTION IF EXISTS avm_protect(text);
DROP FUNCTION IF EXISTS avm_current_scope();
DROP FUNCTION IF EXISTS avm_current_caller();
DROP FUNCTION IF EXISTS avm_current_tenant();
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
