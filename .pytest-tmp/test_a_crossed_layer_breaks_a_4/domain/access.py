"""The Access aggregate: an admin's read of another tenant's data, kept on that tenant's audit trail."""
from __future__ import annotations

from typing import Any

from eventsourcing.domain import event

from domain.shared import TenantAggregate


class Access(TenantAggregate):
    """One recorded access by an admin (or auditor) to a tenant's data.

    Lifecycle: a single Recorded event, owned by the tenant whose data was read, with
    the admin as the event's actor. Each access is its own aggregate, so concurrent
    reads never contend for a version.
    """

    @event("Recorded")
    def __init__(self, tenant_id: str, action: str, resource: str, details: dict[str, Any]) -> None:
        self.tenant_id = tenant_id
        self.action = action
        self.resource = resource
        self.details = details
