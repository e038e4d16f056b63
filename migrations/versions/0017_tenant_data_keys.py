"""Per-tenant data keys (issue 15): each tenant's AES-256-GCM key, wrapped by the master key, outside the log.

A row is made on a tenant's first sealed field (eventstore/datakeys.py). Erasure overwrites the wrapped
key with NULL and stamps `erased_at` / `erased_by` (one statement in the erasure's own transaction);
nothing can open the tenant's sealed fields afterwards. The master key is never in the database, so a
dump holds only wrapped keys.

Row-level security as every tenant table (avm_protect), without the admin read: the service reads and
makes keys in the `system` scope (avm_system), and the erasure writes its tenant's row in that tenant's
scope (avm_app).

`avm_forget_snapshots(ids)` deletes the snapshots of the given aggregates (the service may not delete
snapshots otherwise): an erasure drops the tenant's aggregate caches so nothing is read from a copy
sealed with the destroyed key. Snapshots are caches, rebuilt from the events on demand.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06
"""
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

UPGRADE = r"""
CREATE TABLE tenant_data_keys (
    tenant_id uuid PRIMARY KEY,
    master_key_id text,
    nonce bytea CHECK (length(nonce) = 12),
    wrapped bytea CHECK (length(wrapped) BETWEEN 17 AND 200),
    created_at timestamptz NOT NULL DEFAULT now(),
    erased_at timestamptz,
    erased_by text,
    CHECK ((erased_at IS NULL) = (wrapped IS NOT NULL AND nonce IS NOT NULL AND master_key_id IS NOT NULL))
);
SELECT avm_protect('tenant_data_keys');
DROP POLICY admin_reads ON tenant_data_keys;
GRANT SELECT, INSERT, UPDATE ON tenant_data_keys TO avm_app, avm_system;

CREATE FUNCTION avm_forget_snapshots(ids uuid[]) RETURNS integer
    LANGUAGE sql SECURITY DEFINER SET search_path = public AS
$$ WITH gone AS (DELETE FROM snapshots WHERE originator_id = ANY(ids) RETURNING 1) SELECT count(*)::integer FROM gone $$;
REVOKE ALL ON FUNCTION avm_forget_snapshots(uuid[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION avm_forget_snapshots(uuid[]) TO avm_app, avm_system;
"""

DOWNGRADE = r"""
DROP FUNCTION IF EXISTS avm_forget_snapshots(uuid[]);
DROP TABLE IF EXISTS tenant_data_keys;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
