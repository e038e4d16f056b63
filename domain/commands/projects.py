"""Project commands: create, change, story and scene edits, soft delete and restore."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from domain.commands.usage import DailyUsage
from domain.config import BUILTIN_PRESETS, merge_config
from domain.context import CommandContext
from domain.errors import NotFound
from domain.presets import Preset
from domain.projects import Project
from domain.quotas import limits_for
from domain.shared import TenantAggregate, deep_copy
from domain.users import User


def _max_scenes(role: str) -> int | None:
    limits = limits_for(role)
    return limits["scenes_per_project"] if limits else None


class ProjectCommands(DailyUsage):
    def preset_config(self, tenant_id: str, preset_id: str) -> dict[str, Any]:
        """The config of a built-in preset or of one of the tenant's own (404 otherwise)."""
        for builtin in BUILTIN_PRESETS:
            if builtin["id"] == preset_id:
                return dict(builtin["config"])
        try:
            preset = self.load(Preset, preset_id, tenant_id)
        except NotFound:
            raise NotFound("preset not found", field="preset_id") from None
        if preset.deleted:
            raise NotFound("preset not found", field="preset_id")
        return dict(preset.config)

    def project_defaults(self, tenant_id: str, preset_id: str | None) -> tuple[dict[str, Any], str | None]:
        """What a new project starts from, before the request's own config: the system defaults,
        under the preset named (else the user's default preset), under the user's generation
        defaults. Answers the config and the preset applied. A default preset that no longer
        resolves is skipped; a named one that does not resolve is a 404."""
        user = self._tenant_user(tenant_id)
        config: dict[str, Any] = {}
        if preset_id:
            config = self.preset_config(tenant_id, preset_id)
        elif user is not None and user.default_preset_id:
            try:
                config, preset_id = self.preset_config(tenant_id, user.default_preset_id), user.default_preset_id
            except NotFound:
                pass
        defaults = deep_copy(user.generation_defaults) if user is not None else {}  # never the cached user's own
        return (merge_config(config, defaults) if defaults else config), preset_id

    def _tenant_user(self, tenant_id: str) -> User | None:
        """The tenant's user as the aggregate cache holds it, not a copy (`load` copies): only read
        here, never changed or kept, and copying the whole user cost a create more than the rest
        of its domain work (docs/decisions/i12-perf.md). None for a tenant without a user aggregate
        (seeded or test data): no defaults."""
        try:
            user = self.repository.get(UUID(tenant_id), deepcopy_from_cache=False)
        except (AggregateNotFoundError, ValueError):
            return None
        return user if isinstance(user, User) and user.tenant_id == tenant_id else None

    def create_project(self, ctx: CommandContext, *, title: str, description: str = "",
                       config: dict[str, Any] | None = None, preset_id: str | None = None,
                       now: datetime | None = None) -> Project:
        now = now or datetime.now(timezone.utc)

        def build() -> tuple[list[TenantAggregate], Project]:
            base, chosen = self.project_defaults(ctx.tenant_id, preset_id)
            if config:
                base = merge_config(base, config) if base else config
            project = Project.create(tenant_id=ctx.tenant_id, title=title, description=description,
                                     config=base, preset_id=chosen)
            usage = self._usage(ctx.tenant_id, now)
            usage.consume(ctx.role, {"projects": 1})
            return [project, usage], project

        return self.retry_on_conflict(ctx, build, keys=self._usage_keys(ctx.tenant_id, ctx.role, now))

    def update_project(self, ctx: CommandContext, project_id: str, expected_version: int | None, *,
                       title: str | None = None, description: str | None = None,
                       config: dict[str, Any] | None = None) -> Project:
        """Rename, describe and/or reconfigure (the config patch merged section by section);
        None leaves that part as it is."""
        def change(p: Project) -> None:
            if title is not None:
                p.rename(title)
            if description is not None:
                p.describe(description)
            if config is not None:
                p.reconfigure(config)

        project, _ = self._change(ctx, Project, project_id, expected_version, change)
        return project

    def change_project_status(self, ctx: CommandContext, project_id: str, expected_version: int | None,
                              status: str) -> Project:
        project, _ = self._change(ctx, Project, project_id, expected_version, lambda p: p.change_status(status))
        return project

    def set_story(self, ctx: CommandContext, project_id: str, expected_version: int | None, text: str,
                  min_length: int = 100, max_length: int = 280, now: datetime | None = None) -> Project:
        now = now or datetime.now(timezone.utc)

        def build() -> tuple[list[TenantAggregate], Project]:
            project = self.load(Project, project_id, ctx.tenant_id)
            project.check_not_deleted()
            project.check_version(expected_version)
            project.set_story(text, min_length, max_length, max_scenes=_max_scenes(ctx.role))
            usage = self._usage(ctx.tenant_id, now)
            usage.consume(ctx.role, {"story_chars": len(text)})
            return [project, usage], project

        return self.retry_on_conflict(ctx, build, expected_version=expected_version,
                                      keys=[project_id, *self._usage_keys(ctx.tenant_id, ctx.role, now)])

    # -- scene edits: each answers the project and its warnings; indexes are renumbered after each
    def merge_scenes(self, ctx: CommandContext, project_id: str, expected_version: int | None,
                     indexes: list[int]) -> tuple[Project, list[str]]:
        return self._change(ctx, Project, project_id, expected_version, lambda p: p.merge_scenes(indexes))

    def split_scene(self, ctx: CommandContext, project_id: str, expected_version: int | None,
                    index: int, position: int) -> tuple[Project, list[str]]:
        max_scenes = _max_scenes(ctx.role)
        return self._change(ctx, Project, project_id, expected_version,
                            lambda p: p.split_scene(index, position, max_scenes=max_scenes))

    def reorder_scenes(self, ctx: CommandContext, project_id: str, expected_version: int | None,
                       order: list[int]) -> tuple[Project, list[str]]:
        def change(p: Project) -> list[str]:
            p.reorder_scenes(order)
            return []

        return self._change(ctx, Project, project_id, expected_version, change)

    def update_scene(self, ctx: CommandContext, project_id: str, expected_version: int | None, index: int,
                     text: str | None = None, prompt: str | None = None) -> tuple[Project, list[str]]:
        return self._change(ctx, Project, project_id, expected_version, lambda p: p.update_scene(index, text, prompt))

    def delete_project(self, ctx: CommandContext, project_id: str, expected_version: int | None) -> Project:
        project, _ = self._change(ctx, Project, project_id, expected_version, lambda p: p.delete())
        return project

    def restore_project(self, ctx: CommandContext, project_id: str, expected_version: int | None) -> Project:
        project, _ = self._change(ctx, Project, project_id, expected_version, lambda p: p.restore(), restoring=True)
        return project
