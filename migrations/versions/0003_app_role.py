"""The application's database role: may append events and write read models, never rewrite the log.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

UPGRADE = r"""
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'avm_app') THEN
        CREATE ROLE avm_app NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
    END IF;
END
$$;

-- Taking the events table lock needs UPDATE/DELETE/TRUNCATE (or MAINTAIN on 17+) on the table;
-- the app role gets none of those, only this function, which takes the lock for the caller's
-- transaction with the owner's rights.
CREATE FUNCTION avm_lock_events(mode text DEFAULT 'EXCLUSIVE') RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF mode NOT IN ('EXCLUSIVE', 'SHARE') THEN
        RAISE EXCEPTION 'lock mode % not allowed', mode;
    END IF;
    EXECUTE format('LOCK TABLE public.events IN %s MODE', mode);
END
$$;
REVOKE ALL ON FUNCTION avm_lock_events(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION avm_lock_events(text) TO avm_app;

GRANT USAGE ON SCHEMA public TO avm_app;
GRANT SELECT, INSERT ON events TO avm_app;
GRANT USAGE, SELECT ON SEQUENCE events_notification_id_seq TO avm_app;
GRANT SELECT, INSERT ON snapshots TO avm_app;
GRANT SELECT, INSERT, UPDATE ON tracking TO avm_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON users, api_tokens, projects, scenes TO avm_app;
"""

DOWNGRADE = r"""
REVOKE ALL ON users, api_tokens, projects, scenes, tracking, snapshots, events FROM avm_app;
REVOKE ALL ON SEQUENCE events_notification_id_seq FROM avm_app;
DROP FUNCTION IF EXISTS avm_lock_events(text);
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
