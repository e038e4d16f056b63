"""The chain trigger reads the tenant's last event with the owner's rights.

Under row-level security the app role's probe for "the tenant's last row" could not use the
(tenant_id, tenant_seq) index order and sorted all of the tenant's events (O(n) per insert);
as the owner it is one backward index step again.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29
"""
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER FUNCTION avm_events_chain() SECURITY DEFINER SET search_path = public, pg_temp")


def downgrade() -> None:
    op.execute("ALTER FUNCTION avm_events_chain() SECURITY INVOKER RESET search_path")
