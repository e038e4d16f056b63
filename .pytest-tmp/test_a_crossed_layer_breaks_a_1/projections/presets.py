"""The presets read model (the tenant's own; built-ins come from domain.config) and its queries."""
from __future__ import annotations

from operator import attrgetter
from typing import Any
from uuid import UUID

from domain.presets import Preset
from projections.base import InlineProjection, RowMapping, map_row, select_list

PRESET_ROW: RowMapping = {
    "tenant_id": lambda p: UUID(p.tenant_id),
    "id": attrgetter("id"),
    "name": attrgetter("name"),
    "config": attrgetter("config"),
    "version": attrgetter("version"),
    "created_at": attrgetter("created_on"),
    "updated_at": attrgetter("modified_on"),
    "deleted_at": attrgetter("deleted_at"),
}


def preset_row(p: Preset) -> dict[str, Any]:
    """The preset's row of the presets table (also what the API answers for a preset it holds)."""
    return map_row(PRESET_ROW, p)


class PresetsProjection(InlineProjection):
    name = "presets"
    handles = (Preset,)
    tables = {"presets": (tuple(PRESET_ROW), ("tenant_id", "id"))}
    json_columns = frozenset({"config"})

    def rows(self, p: Any) -> dict[str, list[tuple[Any, ...]]]:
        return {"presets": [self.as_tuple("presets", preset_row(p))]}


PRESET_COLUMNS = select_list(PRESET_ROW)


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
