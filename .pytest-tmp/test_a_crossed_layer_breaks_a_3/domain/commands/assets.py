"""Asset commands: register, soft delete and restore, and the expiry sweep."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any
from uuid import UUID

from domain.assets import Asset
from domain.context import CommandContext
from domain.errors import NotFound
from domain.jobs import Job
from domain.plumbing import Plumbing
from domain.projects import Project
from domain.shared import TenantAggregate


class AssetCommands(Plumbing):
    def register_asset(self, ctx: CommandContext, *, type: str, uri: str, size_bytes: int | None = None,  # noqa: A002
                       metadata: dict[str, Any] | None = None, project_id: str | None = None,
                       job_id: str | None = None, scene_index: int | None = None,
                       expires_at: datetime | None = None, now: datetime | None = None) -> Asset:
        now = now or datetime.now(timezone.utc)

        def build() -> tuple[list[TenantAggregate | None], Asset]:
            project = None
            if project_id is not None:
                try:
                    project = self.load(Project, project_id, ctx.tenant_id)
                    project.check_not_deleted()
                except NotFound:
                    raise NotFound("project not found", field="project_id") from None
            if job_id is not None:
                try:
                    self.load(Job, job_id, ctx.tenant_id)
                except NotFound:
                    raise NotFound("job not found", field="job_id") from None
            asset = Asset.register(tenant_id=ctx.tenant_id, type=type, uri=uri, size_bytes=size_bytes,
                                   metadata=metadata, project_id=project_id, job_id=job_id,
                                   scene_index=scene_index, expires_at=expires_at, now=now)
            if project is not None and scene_index is not None and type == "image":
                project.attach_scene_image(scene_index, str(asset.id))
            return [asset, project], asset

        return self.retry_on_conflict(ctx, build)

    def delete_asset(self, ctx: CommandContext, asset_id: str, expected_version: int | None) -> Asset:
        asset, _ = self._change(ctx, Asset, asset_id, expected_version, lambda a: a.delete())
        return asset

    def restore_asset(self, ctx: CommandContext, asset_id: str, expected_version: int | None) -> Asset:
        asset, _ = self._change(ctx, Asset, asset_id, expected_version, lambda a: a.restore(), restoring=True)
        return asset

    def expire_assets(self, ctx: CommandContext, candidates: Iterable[UUID], now: datetime | None = None,
                      skipped: set[Any] | None = None) -> int:
        """Append Expired to every candidate past its expiry, exactly once even under concurrent sweeps.
        An asset that cannot be expired is logged, counted, added to `skipped` and left for the next run."""
        now = now or datetime.now(timezone.utc)

        def expire(asset_id: UUID) -> tuple[list[TenantAggregate], bool]:
            asset = self.load(Asset, asset_id, None)
            if not asset.is_due(now):
                return [], False
            asset.expire(now)
            return [asset], True

        return sum(bool(self._sweep_item(ctx, "asset expiry sweep", asset_id, lambda asset_id=asset_id: expire(asset_id),
                                         skipped)) for asset_id in candidates)
