"""A tenant's Usage of the day: what project and job commands count against the daily quotas."""
from __future__ import annotations

from datetime import datetime, timezone
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from domain.plumbing import Plumbing
from domain.quotas import Usage


class DailyUsage(Plumbing):
    @staticmethod
    def _usage_key(tenant_id: str, now: datetime) -> UUID:
        return Usage.create_id(tenant_id, now.astimezone(timezone.utc).date().isoformat())

    def _usage(self, tenant_id: str, now: datetime) -> Usage:
        day = now.astimezone(timezone.utc).date().isoformat()
        try:
            return self.repository.get(Usage.create_id(tenant_id, day))  # type: ignore[no-any-return]
        except AggregateNotFoundError:
            return Usage(tenant_id=tenant_id, day=day)
