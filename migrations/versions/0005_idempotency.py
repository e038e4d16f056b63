"""Idempotency keys: a command's key is recorded in the command's own transaction.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

UPGRADE = r"""
CREATE TABLE idempotency_keys (
    tenant_id   uuid NOT NULL,
    key         text NOT NULL,
    fingerprint bytea NOT NULL,
    status      integer,
    headers     jsonb,
    body        bytea,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, key)
);
GRANT SELECT, INSERT, UPDATE ON idempotency_keys TO avm_app;
"""

DOWNGRADE = "DROP TABLE IF EXISTS idempotency_keys;"


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
