"""Preset commands: create, change, soft delete and restore, and the tenant's default."""
from __future__ import annotations

from typing import Any

from domain.context import CommandContext
from domain.errors import Forbidden
from domain.plumbing import Plumbing
from domain.presets import BUILTIN_IDS, Preset
from domain.shared import TenantAggregate
from domain.users import User


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

    def update_preset(self, ctx: CommandContext, preset_id: str, expected_version: int | None, *,
                      name: str | None = None, config: dict[str, Any] | None = None) -> Preset:
        """Rename and/or reconfigure one of the tenant's presets (the config patch merged); None
        leaves that part as it is."""
        self._own_preset(preset_id)

        def change(p: Preset) -> None:
            if name is not None:
                p.rename(name)
            if config is not None:
                p.reconfigure(config)

        preset, _ = self._change(ctx, Preset, preset_id, expected_version, change)
        return preset

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

        return self.retry_on_conflict(ctx, build, expected_version=expected_version)

    def restore_preset(self, ctx: CommandContext, preset_id: str, expected_version: int | None) -> Preset:
        self._own_preset(preset_id)
        preset, _ = self._change(ctx, Preset, preset_id, expected_version, lambda p: p.restore(), restoring=True)
        return preset

    def choose_default_preset(self, ctx: CommandContext, preset_id: str) -> User:
        def build() -> tuple[list[TenantAggregate], User]:
            if preset_id not in BUILTIN_IDS:
                preset = self.load(Preset, preset_id, ctx.tenant_id)
                preset.check_not_deleted()
            user = self.load(User, ctx.tenant_id, ctx.tenant_id)
            user.choose_default_preset(preset_id)
            return [user], user

        return self.retry_on_conflict(ctx, build)
