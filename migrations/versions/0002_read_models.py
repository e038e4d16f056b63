"""Read models of the foundation: users, api_tokens, projects, scenes.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

UPGRADE = r"""
CREATE TABLE users (
    tenant_id   uuid NOT NULL,
    id          uuid NOT NULL,
    email       text NOT NULL,
    name        text,
    image       text,
    role        text NOT NULL,
    settings    jsonb NOT NULL,
    version     bigint NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    deleted_at  timestamptz,
    PRIMARY KEY (tenant_id, id)
);
-- Email uniqueness across tenants is enforced here, inside the command's transaction.
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE INDEX users_created_idx ON users (created_at, id);

CREATE TABLE api_tokens (
    tenant_id   uuid NOT NULL,
    id          uuid NOT NULL,
    name        text NOT NULL,
    token_hash  bytea NOT NULL,
    prefix      text NOT NULL,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz,
    revoked_at  timestamptz,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX api_tokens_hash_key ON api_tokens (token_hash);

CREATE TABLE projects (
    tenant_id   uuid NOT NULL,
    id          uuid NOT NULL,
    title       text NOT NULL,
    description text NOT NULL,
    status      text NOT NULL,
    config      jsonb NOT NULL,
    preset_id   uuid,
    story_chars integer NOT NULL,
    scene_count integer NOT NULL,
    version     bigint NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    deleted_at  timestamptz,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX projects_list_idx ON projects (tenant_id, created_at DESC, id DESC);

CREATE TABLE scenes (
    tenant_id   uuid NOT NULL,
    project_id  uuid NOT NULL,
    idx         integer NOT NULL,
    text        text NOT NULL,
    prompt      text,
    image_asset_id uuid,
    PRIMARY KEY (tenant_id, project_id, idx)
);
"""

DOWNGRADE = r"""
DROP TABLE IF EXISTS scenes;
DROP TABLE IF EXISTS projects;
DROP TABLE IF EXISTS api_tokens;
DROP TABLE IF EXISTS users;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
