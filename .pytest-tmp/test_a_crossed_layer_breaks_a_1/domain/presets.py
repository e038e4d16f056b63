"""The Preset aggregate: a tenant's reusable project configuration; the built-ins live in domain.config."""
from __future__ import annotations

from typing import Any

from eventsourcing.domain import event

from domain.config import BUILTIN_PRESETS, merge_config, validate_config
from domain.errors import ValidationProblem
from domain.input_limits import as_written
from domain.shared import TenantAggregate

BUILTIN_IDS = {p["id"] for p in BUILTIN_PRESETS}
BUILTIN_DEFAULT_ID = next(p["id"] for p in BUILTIN_PRESETS if p["is_default"])


def check_name(name: str) -> str:
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= 100:
        raise ValidationProblem("name must be 1 to 100 characters", field="name")
    return name.strip()


class Preset(TenantAggregate):
    """A named project configuration owned by one tenant.

    Lifecycle: Created → Renamed / Reconfigured → Deleted ⇄ Restored. Which preset is
    the tenant's default is a fact about the tenant, kept on the User aggregate, so that
    "at most one default" is one aggregate's invariant.
    """

    @event("Created")
    def __init__(self, tenant_id: str, name: str, config: dict[str, Any]) -> None:
        self.tenant_id = tenant_id
        self.name = name
        self.config = as_written(config)  # a stored tag lookalike reads back as written

    @classmethod
    def create(cls, *, tenant_id: str, name: str, config: dict[str, Any]) -> Preset:
        return cls(tenant_id=tenant_id, name=check_name(name), config=validate_config(config))

    def rename(self, name: str) -> None:
        self.check_not_deleted()
        name = check_name(name)
        if name != self.name:
            self._rename(name=name)

    def reconfigure(self, patch: dict[str, Any]) -> None:
        self.check_not_deleted()
        config = merge_config(self.config, patch)
        if config != self.config:
            self._reconfigure(config=config)

    @event("Renamed")
    def _rename(self, name: str) -> None:
        self.name = name

    @event("Reconfigured")
    def _reconfigure(self, config: dict[str, Any]) -> None:
        self.config = as_written(config)  # a stored tag lookalike reads back as written

    @event("Deleted")
    def _mark_deleted(self) -> None:
        self.deleted = True

    @event("Restored")
    def _mark_restored(self) -> None:
        self.deleted = False
