"""What every aggregate of a tenant shares: the owner, soft delete, and the version checks."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from eventsourcing.domain import Aggregate, event

from domain.errors import Conflict, NotFound, StaleVersion

# `If-Match: *` (RFC 9110 §13.1.1): any current version. Versions start at 1, so 0 names none.
ANY_VERSION = 0


class TenantAggregate(Aggregate):
    """An aggregate owned by exactly one tenant; deletes are soft (Deleted / Restored events)."""

    # Plain class attributes, not annotations: the library would turn annotations into
    # constructor arguments of every Created event.
    tenant_id = ""
    deleted = False

    @property
    def deleted_at(self) -> datetime | None:
        # A deleted aggregate accepts no event but Restored, so its last change is the deletion.
        return self.modified_on if self.deleted else None

    def check_owner(self, tenant_id: str) -> None:
        if self.tenant_id != tenant_id:
            raise NotFound(f"{type(self).__name__.lower()} not found")

    def check_version(self, expected: int | None) -> None:
        if expected == ANY_VERSION:
            # `*` matches any current representation; a soft-deleted one has none (GET answers 404).
            if self.deleted:
                raise StaleVersion(f"If-Match: * but the {type(self).__name__.lower()} is deleted", field="If-Match")
            return
        if expected is not None and expected != self.version:
            raise StaleVersion(
                f"version {expected} is stale: the current version is {self.version}",
                field="If-Match",
            )

    def check_not_deleted(self) -> None:
        if self.deleted:
            raise NotFound(f"{type(self).__name__.lower()} not found")

    def delete(self) -> None:
        self.check_not_deleted()
        self._mark_deleted()

    def restore(self) -> None:
        if not self.deleted:
            raise Conflict(f"{type(self).__name__.lower()} is not deleted")
        self._mark_restored()

    @event("Deleted")
    def _mark_deleted(self) -> None:
        self.deleted = True

    @event("Restored")
    def _mark_restored(self) -> None:
        self.deleted = False


def event_type(topic: str) -> str:
    """'domain.projects:Project.Renamed' -> 'Project.Renamed'."""
    return topic.rsplit(":", 1)[-1]


def jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "hex") and type(value).__name__ == "UUID":
        return str(value)
    return value
