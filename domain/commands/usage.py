"""A tenant's Usage of the day: what project and job commands count against the daily quotas."""
from __future__ import annotations

from datetime import datetime, timezone
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from domain.plumbing import Plumbing
from domain.quotas import Usage, limits_for


class DailyUsage(Plumbing):
    @staticmethod
    def _usage_key(tenant_id: str, now: datetime) -> UUID:
        return Usage.create_id(tenant_id, now.astimezone(timezone.utc).date().isoformat())

    @classmethod
    def _usage_keys(cls, tenant_id: str, role: str, now: datetime) -> list[UUID]:
        """The Usage aggregate a command of this role takes turns on: none for an unlimited role.
        `Usage.consume` appends nothing for it, so its command never writes the aggregate and has
        no quota to check against concurrent ones; holding the tenant's stripe until the commit
        only made one admin's creates, stories and queued jobs wait for each other, one commit
        at a time (issue 17, docs/decisions/i17-write.md)."""
        return [] if limits_for(role) is None else [cls._usage_key(tenant_id, now)]

    def _usage(self, tenant_id: str, now: datetime) -> Usage:
        day = now.astimezone(timezone.utc).date().isoformat()
        try:
            return self.repository.get(Usage.create_id(tenant_id, day))  # type: ignore[no-any-return]
        except AggregateNotFoundError:
            return Usage(tenant_id=tenant_id, day=day)
