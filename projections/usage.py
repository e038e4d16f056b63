"""The daily usage read model: what each tenant consumed per UTC day (quotas, /me)."""
from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from psycopg.types.json import Jsonb

from domain.quotas import Usage
from projections.base import InlineProjection


class UsageProjection(InlineProjection):
    name = "usage"
    handles = (Usage,)
    tables = {"usage": (("tenant_id", "day", "used", "version"), ("tenant_id", "day"))}

    def key(self, aggregate: Any, n: int) -> tuple[Any, ...]:
        return (UUID(aggregate.tenant_id), date.fromisoformat(aggregate.day))[:n]

    def rows(self, u: Any) -> dict[str, list[tuple[Any, ...]]]:
        return {"usage": [(UUID(u.tenant_id), date.fromisoformat(u.day), Jsonb(u.used), u.version)]}


def used_on(conn: Any, tenant_id: UUID, day: date) -> dict[str, int]:
    row = conn.execute("SELECT used FROM usage WHERE tenant_id = %s AND day = %s", (tenant_id, day),
                       prepare=True).fetchone()
    return dict(row["used"]) if row else {}
