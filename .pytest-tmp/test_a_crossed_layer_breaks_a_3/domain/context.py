"""Who issues a command: the context every command of the application is given."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from uuid import uuid4


@dataclass(frozen=True)
class CommandContext:
    """Who issues a command, for which tenant, and the ids that tie it to a request."""

    tenant_id: str
    actor_id: str
    command_id: str | None = None  # the caller's key for this command, when it gave one
    correlation_id: str = field(default_factory=lambda: str(uuid4()))
    causation_id: str | None = None
    role: str = "user"
    fingerprint: bytes | None = None  # of the request, when command_id is the caller's key
    reason: str | None = None  # why, as the caller said: stored on every event the command appends

    @classmethod
    def system(cls, command: str, tenant_id: str = "00000000-0000-0000-0000-000000000000") -> CommandContext:
        run = str(uuid4())
        return cls(tenant_id=tenant_id, actor_id=f"system:{command}", correlation_id=run, causation_id=run,
                   role="admin")

    def for_tenant(self, tenant_id: str, role: str | None = None) -> CommandContext:
        return replace(self, tenant_id=tenant_id, role=role or self.role)
