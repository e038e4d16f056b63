"""Idempotency keys record the command's result, written once with its events.

The key row used to be written twice: with the command's events (key and fingerprint), then again
once the response was sent (status, headers, body). Now the command's own transaction writes it
once, with `result`: what the command returned, its aggregates as references (type, id, version),
from which a repeat is answered exactly as the first time (docs/decisions/i12-idem.md). The
service no longer updates a key row, so it may not: an answer, once recorded, cannot be rewritten.

A row written before this migration keeps its key (a repeat still appends nothing) but has no
result: a repeat gets the 409 "applied but its response is not available", as a row whose
response was never stored did before.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

UPGRADE = r"""
ALTER TABLE idempotency_keys ADD COLUMN result bytea;
ALTER TABLE idempotency_keys DROP COLUMN status, DROP COLUMN headers, DROP COLUMN body;
REVOKE UPDATE ON idempotency_keys FROM avm_app, avm_system;
"""

DOWNGRADE = r"""
ALTER TABLE idempotency_keys ADD COLUMN status integer, ADD COLUMN headers jsonb, ADD COLUMN body bytea;
ALTER TABLE idempotency_keys DROP COLUMN result;
GRANT UPDATE ON idempotency_keys TO avm_app, avm_system;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
