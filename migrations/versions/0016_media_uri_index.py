"""The object store's orphan-bytes sweep: assets looked up by the URI of their bytes.

The sweep lists the store a page at a time and asks which of the page's URIs an asset still holds
(`uri = ANY(...)`): without an index that is a scan of every asset per page. A hash index, not a
B-tree: a URI may be up to 2,048 characters of any script, past a B-tree entry's size limit, and the
lookup is equality only (docs/decisions/i14-store.md).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06
"""
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE INDEX assets_uri_idx ON assets USING hash (uri)")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS assets_uri_idx")
