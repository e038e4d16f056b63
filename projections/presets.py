"""The presets read model (the tenant's own; built-ins come from domain.config) and its queries."""
from __future__ import annotations

from typing import Any
from uuid import UUID

from psycopg.types.json import Jsonb

from domain.presets import Preset
from projections.base import InlineProjection


class PresetsProjection(InlineProjection):
    name = "presets"
    handles = (Preset,)
    tables = {
        "presets": (("tenant_id", "id", "name", "config", "version", "created_at", "updated_at", "deleted_at"),
                    ("tenant_id", "id")),
    }

    def rows(self, p: Any) -> dict[str, list[tuple[Any, ...]]]:
        return {"presets": [(UUID(p.tenant_id), p.id, p.name, Jsonb(p.config), p.version, p.created_on,
                             p.modified_on, p.deleted_at)]}


PRESET_COLUMNS = "id, name, config, version, created_at, updated_at, deleted_at"


def get_preset(conn: Any, tenant_id: UUID, preset_id: UUID, include_deleted: bool = False) -> dict[str, Any] | None:
    row = conn.execute(f"SELECT {PRESET_COLUMNS} FROM presets WHERE tenant_id = %s AND id = %s",
                       (tenant_id, preset_id), prepare=True).fetchone()
    if row is None or (row["deleted_at"] and not include_deleted):
        return None
    return row


def list_presets(conn: Any, tenant_id: UUID, include_deleted: bool = False) -> list[dict[str, Any]]:
    where = "tenant_id = %s" + ("" if include_deleted else " AND deleted_at IS NULL")
    return conn.execute(f"SELECT {PRESET_COLUMNS} FROM presets WHERE {where} ORDER BY created_at, id",
                        (tenant_id,)).fetchall()


def default_preset_id(conn: Any, tenant_id: UUID) -> UUID | None:
    row = conn.execute("SELECT default_preset_id FROM users WHERE tenant_id = %s AND id = %s",
                       (tenant_id, tenant_id), prepare=True).fetchone()
    return row["default_preset_id"] if row else None
