"""Bring-your-own model API keys: their ciphertexts, one per tenant and provider, outside the event log.

The events (User.ModelKeySet / User.ModelKeyRemoved) carry only the provider, the last four characters
and a keyed fingerprint; the sealed key (AES-256-GCM, eventstore/keyring.py) is this table's row, written
in the same transaction as its event and deleted with the key. It is not a read model (it cannot be
rebuilt from the events, by design) and no projection touches it.

Row-level security as every tenant table (avm_protect), except that admins get no cross-tenant read:
nobody reads another tenant's ciphertext, not even to look. The render worker's read of a job owner's
keys runs in that tenant's scope.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

UPGRADE = r"""
CREATE TABLE model_keys (
    tenant_id uuid NOT NULL,
    provider text NOT NULL CHECK (provider IN ('gemini', 'openai', 'anthropic')),
    key_id text NOT NULL,
    nonce bytea NOT NULL CHECK (length(nonce) = 12),
    ciphertext bytea NOT NULL CHECK (length(ciphertext) BETWEEN 17 AND 1040),
    last4 text NOT NULL CHECK (length(last4) = 4),
    fingerprint text NOT NULL,
    set_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, provider)
);
SELECT avm_protect('model_keys');
DROP POLICY admin_reads ON model_keys;
GRANT SELECT, INSERT, UPDATE, DELETE ON model_keys TO avm_app, avm_system;
"""

DOWNGRADE = r"""
DROP TABLE IF EXISTS model_keys;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
