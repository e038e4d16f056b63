"""The assets read model, and the queries over it (expired assets hidden unless asked for)."""
from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg.types.json import Jsonb

from domain.assets import Asset
from projections.base import InlineProjection, newest_first


class AssetsProjection(InlineProjection):
    name = "assets"
    handles = (Asset,)
    tables = {
        "assets": (("tenant_id", "id", "type", "uri", "size_bytes", "metadata", "project_id", "job_id",
                    "scene_index", "expires_at", "expired_at", "version", "created_at", "updated_at", "deleted_at"),
                   ("tenant_id", "id")),
    }

    def rows(self, a: Any) -> dict[str, list[tuple[Any, ...]]]:
        return {"assets": [(
            UUID(a.tenant_id), a.id, a.type, a.uri, a.size_bytes, Jsonb(a.metadata),
            UUID(a.project_id) if a.project_id else None, UUID(a.job_id) if a.job_id else None, a.scene_index,
            datetime.fromisoformat(a.expires_at), datetime.fromisoformat(a.expired_at) if a.expired_at else None,
            a.version, a.created_on, a.modified_on, a.deleted_at,
        )]}


# An expiry the API accepted may lie past 9999-12-31 in UTC (9999-12-31T23:59:59-23:59): PostgreSQL
# stores it, Python cannot hold it. It is read as the last representable instant, not refused: the
# row must stay readable (docs/decisions/i11-readers.md).
LAST_INSTANT = "'9999-12-31 23:59:59.999999+00'::timestamptz"
ASSET_COLUMNS = ("id, type, uri, size_bytes, metadata, project_id, job_id, scene_index,"
                 f" LEAST(expires_at, {LAST_INSTANT}) AS expires_at, expired_at,"
                 " version, created_at, updated_at, deleted_at")


def get_asset(conn: Any, tenant_id: UUID, asset_id: UUID, *, include_deleted: bool = False,
              include_expired: bool = True) -> dict[str, Any] | None:
    row = conn.execute(f"SELECT {ASSET_COLUMNS} FROM assets WHERE tenant_id = %s AND id = %s",
                       (tenant_id, asset_id), prepare=True).fetchone()
    if row is None or (row["deleted_at"] and not include_deleted) or (row["expired_at"] and not include_expired):
        return None
    return row


def list_assets(conn: Any, tenant_id: UUID, *, limit: int, after: tuple[datetime, UUID] | None,
                type: str | None, project_id: UUID | None, include_expired: bool,  # noqa: A002
                include_deleted: bool) -> list[dict[str, Any]]:
    filters = [f for f in (("deleted_at IS NULL", []) if not include_deleted else None,
                           ("expired_at IS NULL", []) if not include_expired else None,
                           ("type = %s", [type]) if type else None,
                           ("project_id = %s", [project_id]) if project_id else None) if f]
    return newest_first(conn, "assets", ASSET_COLUMNS, tenant_id, limit=limit, after=after, filters=filters)


def due_assets(conn: Any, limit: int = 1000, exclude: Collection[UUID] = ()) -> list[UUID]:
    """Assets past their expiry that have not been marked expired (across tenants: the sweep), but
    those in `exclude` (this run already failed on them)."""
    return [r["id"] for r in conn.execute(
        "SELECT id FROM assets WHERE expired_at IS NULL AND expires_at <= now() AND id <> ALL(%s)"
        " ORDER BY expires_at LIMIT %s", (list(exclude), limit))]
