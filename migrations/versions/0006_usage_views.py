"""Asynchronous views: per-tenant daily usage, written by `avm projections run` (not in the command's transaction).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

UPGRADE = r"""
-- What each tenant did on each UTC day (the day of the event). Storage is kept as what was
-- added and removed that day; the balance at the end of a day is the running sum.
CREATE TABLE daily_usage (
    tenant_id             uuid    NOT NULL,
    day                   date    NOT NULL,
    projects_created      integer NOT NULL DEFAULT 0,
    scenes_created        integer NOT NULL DEFAULT 0,
    renders_succeeded     integer NOT NULL DEFAULT 0,
    renders_failed        integer NOT NULL DEFAULT 0,
    storage_bytes_added   bigint  NOT NULL DEFAULT 0,
    storage_bytes_removed bigint  NOT NULL DEFAULT 0,
    cost_estimated        numeric(20, 6) NOT NULL DEFAULT 0,
    cost_actual           numeric(20, 6) NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, day)
);
-- Admin stats add up every tenant's rows of a day.
CREATE INDEX daily_usage_day_idx ON daily_usage (day);

-- The view's own memory of each sized asset: whether its bytes are currently counted
-- (deletes, restores and expiry events carry no size).
CREATE TABLE daily_usage_assets (
    tenant_id  uuid    NOT NULL,
    asset_id   uuid    NOT NULL,
    size_bytes bigint  NOT NULL,
    deleted    boolean NOT NULL DEFAULT false,
    expired    boolean NOT NULL DEFAULT false,
    PRIMARY KEY (tenant_id, asset_id)
);

GRANT SELECT, INSERT, UPDATE, DELETE ON daily_usage, daily_usage_assets TO avm_app;
"""

DOWNGRADE = r"""
DELETE FROM tracking WHERE application_name = 'daily_usage';
DROP TABLE IF EXISTS daily_usage_assets;
DROP TABLE IF EXISTS daily_usage;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
