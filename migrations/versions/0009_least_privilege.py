"""Least privilege: the cross-tenant `system` scope is a role, and the async views get a role of their own.

Until now the policy `system_rows` trusted `current_setting('app.scope') = 'system'`, which any
session can set with `set_config`: the app role could grant itself every tenant's rows. Now:

- avm_system (NOLOGIN) is the system scope. `system_rows` applies TO avm_system only, so only a
  transaction that has done `SET LOCAL ROLE avm_system` (allowed to avm_app by an explicit
  membership WITH INHERIT FALSE: it never has those rights without switching) sees and writes
  every tenant's rows; `set_config('app.scope', 'system', …)` grants nothing any more.
  avm_system gets the same table rights as avm_app (it acts for the service).
- avm_projector (LOGIN) runs the asynchronous views: SELECT on events, its tracking rows, and
  its own tables (daily_usage, daily_usage_assets) for every tenant. Nothing else, and it is not
  a member of avm_system.
- The owner (who runs the migrations) inherits avm_system, so the SECURITY DEFINER chain trigger
  still finds a tenant's last event whatever the caller's scope (a superuser owner needs nothing).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

UPGRADE = r"""
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'avm_system') THEN
        CREATE ROLE avm_system NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'avm_projector') THEN
        CREATE ROLE avm_projector LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
    END IF;
END
$$;

-- avm_system acts for the service: the app role's rights on every table, sequence and function.
DO $$
DECLARE r record;
BEGIN
    FOR r IN
        SELECT c.relname, c.relkind, string_agg(DISTINCT a.privilege_type, ', ') AS privs
          FROM pg_class c, aclexplode(c.relacl) a
         WHERE c.relnamespace = 'public'::regnamespace AND a.grantee = 'avm_app'::regrole
         GROUP BY c.relname, c.relkind
    LOOP
        IF r.relkind = 'S' THEN
            EXECUTE format('GRANT %s ON SEQUENCE %I TO avm_system', r.privs, r.relname);
        ELSE
            EXECUTE format('GRANT %s ON TABLE %I TO avm_system', r.privs, r.relname);
        END IF;
    END LOOP;
END
$$;
GRANT USAGE ON SCHEMA public TO avm_system;
GRANT EXECUTE ON FUNCTION avm_lock_events(text) TO avm_system;

-- The app role may switch to the system scope (sweeps, multi-tenant saves) but never holds it
-- implicitly; the owner holds it (the chain trigger runs with the owner's rights).
-- PostgreSQL 16+ says so on the membership itself; on 15 (no per-grant options) avm_app becomes
-- NOINHERIT, which means the same for its only membership.
DO $$
BEGIN
    IF current_setting('server_version_num')::int >= 160000 THEN
        EXECUTE 'GRANT avm_system TO avm_app WITH INHERIT FALSE, SET TRUE';
    ELSE
        ALTER ROLE avm_app NOINHERIT;
        GRANT avm_system TO avm_app;
    END IF;
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        EXECUTE format('GRANT avm_system TO %I', current_user);
    END IF;
END
$$;

-- The system scope is the role, not a setting anyone can write.
DO $$
DECLARE r record;
BEGIN
    FOR r IN SELECT tablename FROM pg_policies WHERE schemaname = 'public' AND policyname = 'system_rows' LOOP
        EXECUTE format('DROP POLICY system_rows ON %I', r.tablename);
        EXECUTE format('CREATE POLICY system_rows ON %I TO avm_system USING (true) WITH CHECK (true)', r.tablename);
    END LOOP;
END
$$;
CREATE OR REPLACE FUNCTION avm_protect(tbl text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', tbl);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', tbl);
    EXECUTE format('CREATE POLICY tenant_rows ON %I USING (tenant_id = avm_current_tenant())'
                   ' WITH CHECK (tenant_id = avm_current_tenant())', tbl);
    EXECUTE format('CREATE POLICY admin_reads ON %I FOR SELECT USING (avm_current_scope() = ''admin'')', tbl);
    EXECUTE format('CREATE POLICY system_rows ON %I TO avm_system USING (true) WITH CHECK (true)', tbl);
END
$$;

-- The asynchronous views: read the log, write their own tables and tracking rows, nothing else.
GRANT USAGE ON SCHEMA public TO avm_projector;
GRANT SELECT ON events TO avm_projector;
GRANT SELECT, INSERT, UPDATE ON tracking TO avm_projector;
GRANT SELECT, INSERT, UPDATE, DELETE ON daily_usage, daily_usage_assets TO avm_projector;
CREATE POLICY projector_reads ON events FOR SELECT TO avm_projector USING (true);
CREATE POLICY projector_rows ON daily_usage TO avm_projector USING (true) WITH CHECK (true);
CREATE POLICY projector_rows ON daily_usage_assets TO avm_projector USING (true) WITH CHECK (true);
-- The service only reads them now that the views run as avm_projector.
REVOKE INSERT, UPDATE, DELETE ON daily_usage, daily_usage_assets FROM avm_app, avm_system;
"""

DOWNGRADE = r"""
GRANT INSERT, UPDATE, DELETE ON daily_usage, daily_usage_assets TO avm_app;
DROP POLICY IF EXISTS projector_rows ON daily_usage_assets;
DROP POLICY IF EXISTS projector_rows ON daily_usage;
DROP POLICY IF EXISTS projector_reads ON events;
REVOKE ALL ON daily_usage, daily_usage_assets, tracking, events FROM avm_projector;
REVOKE USAGE ON SCHEMA public FROM avm_projector;
CREATE OR REPLACE FUNCTION avm_protect(tbl text) RETURNS void LANGUAGE plpgsql AS $$
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
DECLARE r record;
BEGIN
    FOR r IN SELECT tablename FROM pg_policies WHERE schemaname = 'public' AND policyname = 'system_rows' LOOP
        EXECUTE format('DROP POLICY system_rows ON %I', r.tablename);
        EXECUTE format('CREATE POLICY system_rows ON %I USING (avm_current_scope() = ''system'')'
                       ' WITH CHECK (avm_current_scope() = ''system'')', r.tablename);
    END LOOP;
END
$$;
REVOKE avm_system FROM avm_app;
ALTER ROLE avm_app INHERIT;
DO $$
DECLARE r record;
BEGIN
    FOR r IN
        SELECT c.relname, c.relkind FROM pg_class c, aclexplode(c.relacl) a
         WHERE c.relnamespace = 'public'::regnamespace AND a.grantee = 'avm_system'::regrole
         GROUP BY c.relname, c.relkind
    LOOP
        EXECUTE format('REVOKE ALL ON %s %I FROM avm_system',
                       CASE WHEN r.relkind = 'S' THEN 'SEQUENCE' ELSE 'TABLE' END, r.relname);
    END LOOP;
END
$$;
REVOKE EXECUTE ON FUNCTION avm_lock_events(text) FROM avm_system;
REVOKE USAGE ON SCHEMA public FROM avm_system;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
