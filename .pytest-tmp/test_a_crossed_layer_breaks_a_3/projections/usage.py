"""The daily usage read model: what each tenant consumed per UTC day (quotas, /me)."""
from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from domain.quotas import Usage
from projections.base import InlineProjection, RowMapping, map_row

USAGE_ROW: RowMapping = {
    "tenant_id": lambda u: UUID(u.tenant_id),
    "day": lambda u: date.fromisoformat(u.day),
    "used": lambda u: u.used,
    "version": lambda u: u.version,
}


class UsageProjection(InlineProjection):
    name = "usage"
    handles = (Usage,)
    tables = {"usage": (tuple(USAGE_ROW), ("tenant_id", "day"))}
    json_columns = frozenset({"used"})

    def key(self, aggregate: Any, n: int) -> tuple[Any, ...]:
        return (UUID(aggregate.tenant_id), date.fromisoformat(aggregate.day))[:n]

    def rows(self, u: Any) -> dict[str, list[tuple[Any, ...]]]:
        return {"usage": [self.as_tuple("usage", map_row(USAGE_ROW, u))]}


def used_on(conn: Any, tenant_id: UUID, day: date) -> dict[str, int]:
    row = conn.execute("SELECT used FROM usage WHERE tenant_id = %s AND day = %s", (tenant_id, day),
                       prepare=True).fetchone()
    return dict(row["used"]) if row else {}
