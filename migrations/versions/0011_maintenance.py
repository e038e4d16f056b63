"""Maintenance that runs itself: the sweep_runs table, and the idempotency-key clean-up's index and right.

- sweep_runs: one row per sweep (api/maintenance.py), the last run's start, duration, items and
  failures and running totals, written by whichever process ran it (under that sweep's advisory
  lock), so every process's /metrics and health read the same values. Not tenant data (no
  tenant_id, no row-level security): the service reads it; only the system scope writes it.
- idempotency_keys: an index on created_at for the retention sweep, and DELETE for avm_system
  (the sweep's scope; avm_app itself still cannot delete a key).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

UPGRADE = r"""
CREATE TABLE sweep_runs (
    name                  text PRIMARY KEY,
    interval_seconds      double precision,
    last_started_at       timestamptz NOT NULL,
    last_finished_at      timestamptz NOT NULL,
    last_duration_seconds double precision NOT NULL,
    last_items            bigint NOT NULL,
    last_failures         bigint NOT NULL,
    last_error            text,
    last_success_at       timestamptz,
    runs                  bigint NOT NULL DEFAULT 0,
    failed_runs           bigint NOT NULL DEFAULT 0,
    items_total           bigint NOT NULL DEFAULT 0,
    failures_total        bigint NOT NULL DEFAULT 0,
    runner                text NOT NULL DEFAULT ''
);
GRANT SELECT ON sweep_runs TO avm_app;
GRANT SELECT, INSERT, UPDATE ON sweep_runs TO avm_system;

CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
GRANT DELETE ON idempotency_keys TO avm_system;
"""

DOWNGRADE = r"""
REVOKE DELETE ON idempotency_keys FROM avm_system;
DROP INDEX IF EXISTS idempotency_keys_created_at;
DROP TABLE IF EXISTS sweep_runs;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
