"""Preset commands: create, change, soft delete and restore, and the tenant's default."""
from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any, TypeVar
from uuid import UUID

from domain.context import CommandContext
from domain.errors import Forbidden
from domain.plumbing import Plumbing
from domain.presets import BUILTIN_IDS, Preset
from domain.shared import TenantAggregate
from domain.users import User

A = TypeVar("A", bound=TenantAggregate)


class PresetCommands(Plumbing):
    def create_preset(self, ctx: CommandContext, *, name: str, config: dict[str, Any],
                      is_default: bool = False) -> Preset:
        def build() -> tuple[list[TenantAggregate | None], Preset]:
            preset = Preset.create(tenant_id=ctx.tenant_id, name=name, config=config)
            user = None
            if is_default:
                user = self.load(User, ctx.tenant_id, ctx.tenant_id)
                user.choose_default_preset(str(preset.id))
            return [preset, user], preset

        return self.retry_on_conflict(ctx, build)

    @staticmethod
    def _own_preset(preset_id: str) -> None:
        if preset_id in BUILTIN_IDS:
            raise Forbidden("built-in presets cannot be changed or deleted")

    def _preset_change(self, ctx: CommandContext, preset_id: str, expected_version: int | None,
                       change: Callable[[Preset], None], *, restoring: bool = False) -> tuple[Preset, str | None]:
        """Change one of the tenant's presets; with the tenant's default preset id as it was then
        (whether the preset is the default is part of its answer, and of a repeat's)."""
        self._own_preset(preset_id)

        def change_and_default(p: Preset) -> str | None:
            change(p)
            return self.load(User, ctx.tenant_id, ctx.tenant_id).default_preset_id

        return self._change(ctx, Preset, preset_id, expected_version, change_and_default, restoring=restoring)

    def update_preset(self, ctx: CommandContext, preset_id: str, expected_version: int | None, *,
                      name: str | None = None, config: dict[str, Any] | None = None) -> tuple[Preset, str | None]:
        """Rename and/or reconfigure one of the tenant's presets (the config patch merged); None
        leaves that part as it is. With the tenant's default preset id."""
        def change(p: Preset) -> None:
            if name is not None:
                p.rename(name)
            if config is not None:
                p.reconfigure(config)

        return self._preset_change(ctx, preset_id, expected_version, change)

    def delete_preset(self, ctx: CommandContext, preset_id: str, expected_version: int | None) -> Preset:
        self._own_preset(preset_id)

        def build() -> tuple[list[TenantAggregate], Preset]:
            preset = self.load(Preset, preset_id, ctx.tenant_id)
            preset.check_not_deleted()
            preset.check_version(expected_version)
            preset.delete()
            user = self.load(User, ctx.tenant_id, ctx.tenant_id)
            if user.default_preset_id == preset_id:
                user.choose_default_preset(None)
            return [preset, user], preset

        deleted = self.retry_on_conflict(ctx, build, expected_version=expected_version)
        self._no_deleted_default(ctx, preset_id)
        return deleted

    def restore_preset(self, ctx: CommandContext, preset_id: str,
                       expected_version: int | None) -> tuple[Preset, str | None]:
        return self._preset_change(ctx, preset_id, expected_version, lambda p: p.restore(), restoring=True)

    def choose_default_preset(self, ctx: CommandContext, preset_id: str) -> tuple[User, Preset | None]:
        """The user and the chosen preset as it was then (None for a built-in)."""
        def build() -> tuple[list[TenantAggregate], tuple[User, Preset | None]]:
            preset = None
            if preset_id not in BUILTIN_IDS:
                # Read, not written: a cached copy would never be checked at commit (another process
                # may have deleted it), so read it from the log.
                preset = self._load_fresh(Preset, preset_id, ctx.tenant_id)
                preset.check_not_deleted()
            user = self.load(User, ctx.tenant_id, ctx.tenant_id)
            user.choose_default_preset(preset_id)
            return [user], (user, preset)

        chosen = self.retry_on_conflict(ctx, build)
        if preset_id not in BUILTIN_IDS:
            self._no_deleted_default(ctx, preset_id)
        return chosen

    def _load_fresh(self, cls: type[A], aggregate_id: str, tenant_id: str) -> A:
        """The aggregate as the log has it now, not as this process's cache remembers it."""
        if self.repository.cache is not None:
            with contextlib.suppress(KeyError, ValueError):  # not cached; not an id (load answers NotFound)
                self.repository.cache.get(UUID(aggregate_id), evict=True)
        return self.load(cls, aggregate_id, tenant_id)

    def _no_deleted_default(self, ctx: CommandContext, preset_id: str) -> None:
        """After a delete or a choice of default has committed: clear the default if it is now a
        deleted preset. The two commands each read the aggregate the other writes (the choice reads
        the preset, the delete the user), so neither conflicts with the other at commit (a write
        skew): both may commit, leaving a deleted default. Whichever commits second sees the other's
        change here, from the log, and clears it; the outcome is that of the choice, then the delete."""
        preset = self._load_fresh(Preset, preset_id, ctx.tenant_id)
        if not preset.deleted:
            return

        def clear() -> tuple[list[TenantAggregate], None]:
            user = self._load_fresh(User, ctx.tenant_id, ctx.tenant_id)
            if user.default_preset_id == preset_id:
                user.choose_default_preset(None)
            return [user], None

        self.retry_on_conflict(ctx.unkeyed(), clear)
