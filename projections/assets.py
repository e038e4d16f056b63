"""The assets read model, and the queries over it (expired assets hidden unless asked for)."""
from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from operator import attrgetter
from typing import Any
from uuid import UUID

from domain.assets import Asset
from projections.base import InlineProjection, RowMapping, map_row, newest_first, select_list

ASSET_ROW: RowMapping = {
    "tenant_id": lambda a: UUID(a.tenant_id),
    "id": attrgetter("id"),
    "type": attrgetter("type"),
    "uri": attrgetter("uri"),
    "size_bytes": attrgetter("size_bytes"),
    "metadata": attrgetter("metadata"),
    "project_id": lambda a: UUID(a.project_id) if a.project_id else None,
    "job_id": lambda a: UUID(a.job_id) if a.job_id else None,
    "scene_index": attrgetter("scene_index"),
    "expires_at": lambda a: datetime.fromisoformat(a.expires_at),
    "expired_at": lambda a: datetime.fromisoformat(a.expired_at) if a.expired_at else None,
    "version": attrgetter("version"),
    "created_at": attrgetter("created_on"),
    "updated_at": attrgetter("modified_on"),
    "deleted_at": attrgetter("deleted_at"),
    "checksum": attrgetter("checksum"),
}


def asset_row(a: Asset) -> dict[str, Any]:
    """The asset's row of the assets table (also what the API answers for an asset it holds)."""
    return map_row(ASSET_ROW, a)


class AssetsProjection(InlineProjection):
    name = "assets"
    handles = (Asset,)
    tables = {"assets": (tuple(ASSET_ROW), ("tenant_id", "id"))}
    json_columns = frozenset({"metadata"})

    def rows(self, a: Any) -> dict[str, list[tuple[Any, ...]]]:
        return {"assets": [self.as_tuple("assets", asset_row(a))]}


# An expiry the API accepted may lie past 9999-12-31 in UTC (9999-12-31T23:59:59-23:59): PostgreSQL
# stores it, Python cannot hold it. It is read as the last representable instant, not refused: the
# row must stay readable (docs/decisions/i11-readers.md).
LAST_INSTANT = "'9999-12-31 23:59:59.999999+00'::timestamptz"
ASSET_COLUMNS = select_list(ASSET_ROW, expressions={"expires_at": f"LEAST(expires_at, {LAST_INSTANT})"})


def get_asset(conn: Any, tenant_id: UUID, asset_id: UUID, *, include_deleted: bool = False,
              include_expired: bool = True) -> dict[str, Any] | None:
    row = conn.execute(f"SELECT {ASSET_COLUMNS} FROM assets WHERE tenant_id = %s AND id = %s",
                       (tenant_id, asset_id), prepare=True).fetchone()
    if row is None or (row["deleted_at"] and not include_deleted) or (row["expired_at"] and not include_expired):
        return None
    return row


def live_assets(conn: Any, tenant_id: UUID, asset_ids: list[UUID]) -> dict[UUID, dict[str, Any]]:
    """The tenant's assets among `asset_ids` that are neither deleted nor expired, by id (one query)."""
    rows = conn.execute(f"SELECT {ASSET_COLUMNS} FROM assets WHERE tenant_id = %s AND id = ANY(%s)"
                        " AND deleted_at IS NULL AND expired_at IS NULL", (tenant_id, asset_ids), prepare=True)
    return {row["id"]: row for row in rows}


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


def held_uris(conn: Any, uris: list[str], deleted_after: datetime) -> set[str]:
    """Which of `uris` an asset still holds (the orphan-bytes sweep): one not expired, and not
    deleted, or deleted after `deleted_after` (it may still be restored). Across tenants."""
    return {r["uri"] for r in conn.execute(
        "SELECT uri FROM assets WHERE uri = ANY(%s) AND expired_at IS NULL"
        " AND (deleted_at IS NULL OR deleted_at > %s)", (uris, deleted_after))}


def expired_uris(conn: Any, asset_ids: list[UUID]) -> list[str]:
    """The URIs of those of `asset_ids` that have expired (their bytes go with them). Across tenants."""
    return [r["uri"] for r in conn.execute(
        "SELECT uri FROM assets WHERE id = ANY(%s) AND expired_at IS NOT NULL", (asset_ids,))]
