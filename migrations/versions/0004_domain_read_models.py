"""Read models of the whole domain: jobs (and the render queue), assets, presets, daily usage.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

UPGRADE = r"""
ALTER TABLE users ADD COLUMN default_preset_id uuid;

CREATE TABLE jobs (
    tenant_id       uuid NOT NULL,
    id              uuid NOT NULL,
    project_id      uuid NOT NULL,
    status          text NOT NULL,
    priority        smallint NOT NULL,
    config          jsonb NOT NULL,
    estimate        jsonb NOT NULL,
    cost_actual     double precision,
    attempts        integer NOT NULL,
    max_attempts    integer NOT NULL,
    from_step       text NOT NULL,
    progress        jsonb NOT NULL,
    error           jsonb,
    worker_id       text,
    timeout_seconds integer NOT NULL,
    queued_at       timestamptz NOT NULL,
    available_at    timestamptz NOT NULL,
    started_at      timestamptz,
    heartbeat_at    timestamptz,
    finished_at     timestamptz,
    version         bigint NOT NULL,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX jobs_list_idx ON jobs (tenant_id, created_at DESC, id DESC);
CREATE INDEX jobs_project_idx ON jobs (tenant_id, project_id);
-- The render queue is the one cross-tenant read: workers serve every tenant.
CREATE INDEX jobs_queue_idx ON jobs (priority DESC, queued_at, id) WHERE status = 'queued';
CREATE INDEX jobs_running_idx ON jobs (heartbeat_at) WHERE status = 'running';

CREATE TABLE assets (
    tenant_id   uuid NOT NULL,
    id          uuid NOT NULL,
    type        text NOT NULL,
    uri         text NOT NULL,
    size_bytes  bigint,
    metadata    jsonb NOT NULL,
    project_id  uuid,
    job_id      uuid,
    scene_index integer,
    expires_at  timestamptz NOT NULL,
    expired_at  timestamptz,
    version     bigint NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    deleted_at  timestamptz,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX assets_list_idx ON assets (tenant_id, created_at DESC, id DESC);
-- The expiry sweep reads across tenants, like the job queue.
CREATE INDEX assets_due_idx ON assets (expires_at) WHERE expired_at IS NULL;

CREATE TABLE presets (
    tenant_id   uuid NOT NULL,
    id          uuid NOT NULL,
    name        text NOT NULL,
    config      jsonb NOT NULL,
    version     bigint NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    deleted_at  timestamptz,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE usage (
    tenant_id   uuid NOT NULL,
    day         date NOT NULL,
    used        jsonb NOT NULL,
    version     bigint NOT NULL,
    PRIMARY KEY (tenant_id, day)
);

GRANT SELECT, INSERT, UPDATE, DELETE ON jobs, assets, presets, usage TO avm_app;
"""

DOWNGRADE = r"""
DROP TABLE IF EXISTS usage;
DROP TABLE IF EXISTS presets;
DROP TABLE IF EXISTS assets;
DROP TABLE IF EXISTS jobs;
ALTER TABLE users DROP COLUMN IF EXISTS default_preset_id;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
