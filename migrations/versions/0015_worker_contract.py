"""The render worker's contract: job leases, the video a job produced, the project's output, asset checksums.

Columns only (the tables keep their row-level security and grants): jobs get the current lease
(id and expiry, written by the jobs projector from Claimed/Progressed) and the video asset named by
`complete`; projects get their output video; assets get the checksum of their bytes. The expired-
lease sweep looks running jobs up by lease expiry (docs/decisions/i14-worker.md).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06
"""
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

UPGRADE = r"""
ALTER TABLE jobs ADD COLUMN lease_id uuid, ADD COLUMN lease_expires_at timestamptz, ADD COLUMN video_asset_id uuid;
CREATE INDEX jobs_lease_idx ON jobs (lease_expires_at) WHERE status = 'running';
ALTER TABLE projects ADD COLUMN output_asset_id uuid;
ALTER TABLE assets ADD COLUMN checksum text;
"""

DOWNGRADE = r"""
ALTER TABLE assets DROP COLUMN IF EXISTS checksum;
ALTER TABLE projects DROP COLUMN IF EXISTS output_asset_id;
DROP INDEX IF EXISTS jobs_lease_idx;
ALTER TABLE jobs DROP COLUMN IF EXISTS video_asset_id, DROP COLUMN IF EXISTS lease_expires_at,
    DROP COLUMN IF EXISTS lease_id;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
