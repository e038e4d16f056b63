"""Asset routes: register, list, read, soft delete, restore, history; the admin expiry sweep."""
from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response, delete, get, post
from litestar.openapi import ResponseSpec
from litestar.params import Parameter
from litestar.response import Stream

from api.auth import admin_only, tenant_roles
from api.http import HISTORY_PAGE, HistoryAfter, HistoryLimit, aggregate_at, history_of, COMMAND_ERRORS, READ_ERRORS, decode_cursor, encode_cursor, errors, etag
from api.media_sweep import check_restorable, remove_expired_bytes
from api.schemas import AssetList, AssetOut, History, RegisterAsset, SweepResult
from api.responses import from_row
from api.services import Services
from domain.application import CommandContext
from domain.assets import Asset
from domain.errors import NotFound, ValidationProblem
from projections import assets as q


def asset_out(source: dict[str, Any] | Asset) -> AssetOut:
    if isinstance(source, Asset):
        return from_row(AssetOut, q.asset_row(source), convert=True)
    return from_row(AssetOut, source)


def expire_due(services: Services, ctx: CommandContext, skipped: set[UUID] | None = None) -> int:
    """One expiry sweep: every asset past its expiry gets exactly one Expired event, and its bytes
    in the service's store are removed (api/media_sweep.py; if the store fails, by the orphan-bytes
    sweep later). An asset that fails is logged, counted, added to `skipped`, not tried again in
    this run, and left for the next."""
    total = 0
    skipped = set() if skipped is None else skipped
    while True:
        with services.read(scope="system") as conn:
            due = q.due_assets(conn, exclude=skipped)
        if not due:
            return total
        failed_before = len(skipped)
        done = services.app.expire_assets(ctx, due, skipped=skipped)
        remove_expired_bytes(services, due)
        total += done
        if done == 0 and len(skipped) == failed_before:  # all expired by a concurrent sweep meanwhile
            with services.read(scope="system") as conn:
                if set(q.due_assets(conn, exclude=skipped)) >= set(due):
                    return total


class AssetController(Controller):
    path = "/api/v1/assets"
    tags = ["assets"]
    guards = [tenant_roles]

    @post("/", status_code=201, sync_to_thread=True, responses=COMMAND_ERRORS)
    def register_asset(self, data: RegisterAsset, services: Services, ctx: CommandContext) -> Response[AssetOut]:
        """Register an asset (default expiry 30 days); an image with a scene_index becomes that scene's image.
        Its URI may not name the service's own media store (a job's outputs are uploaded instead): 422."""
        if services.media.owns(data.uri):
            raise ValidationProblem("uri names the service's media store: outputs are uploaded through "
                                    "POST /api/v1/jobs/{id}/outputs", field="uri")
        asset = services.app.register_asset(
            ctx, type=data.type, uri=data.uri, size_bytes=data.size_bytes,
            metadata=data.metadata, project_id=str(data.project_id) if data.project_id else None,
            job_id=str(data.job_id) if data.job_id else None, scene_index=data.scene_index,
            expires_at=data.expires_at)
        return Response(asset_out(asset), status_code=201,
                        headers={**etag(asset.version), "Location": f"{self.path}/{asset.id}"})

    @get("/", sync_to_thread=True, responses=READ_ERRORS, resource="assets")
    def list_assets(self, services: Services,
                    limit: Annotated[int, Parameter(ge=1, le=100)] = 20,
                    cursor: Annotated[str | None, Parameter(max_length=200)] = None,
                    type: Annotated[str | None, Parameter(pattern="^(image|audio|video|text|json)$")] = None,  # noqa: A002
                    project_id: UUID | None = None, include_expired: bool = False, include_deleted: bool = False, *, tenant: UUID) -> AssetList:
        """The tenant's assets, newest first; expired ones only with include_expired=true."""
        with services.read(tenant) as conn:
            rows = q.list_assets(conn, tenant, limit=limit + 1, after=decode_cursor(cursor), type=type,
                                 project_id=project_id, include_expired=include_expired,
                                 include_deleted=include_deleted)
        more, rows = len(rows) > limit, rows[:limit]
        return AssetList(items=[asset_out(r) for r in rows],
                         next_cursor=encode_cursor(rows[-1]["created_at"], rows[-1]["id"]) if more else None)

    @get("/{asset_id:uuid}", sync_to_thread=True, responses=READ_ERRORS, resource="asset")
    def get_asset(self, asset_id: UUID, services: Services,
                  include_deleted: bool = False, *, tenant: UUID,
                  at: Annotated[str | None, Parameter(max_length=64, description="A version or an RFC 3339 time")] = None,
                  ) -> Response[AssetOut]:
        """Read one asset (expired ones too, with expired_at set); `?at=` as it was then."""
        if at is not None:
            asset = aggregate_at(services, Asset, tenant, asset_id, at)
            if asset.deleted and not include_deleted:
                raise NotFound("asset not found")
            return Response(asset_out(asset), headers=etag(asset.version))
        with services.read(tenant) as conn:
            row = q.get_asset(conn, tenant, asset_id, include_deleted=include_deleted)
        if row is None:
            raise NotFound("asset not found")
        return Response(asset_out(row), headers=etag(row["version"]))

    @get("/{asset_id:uuid}/content", sync_to_thread=True, resource="asset",
         responses={200: ResponseSpec(data_container=bytes, media_type="application/octet-stream",
                                      description="The asset's bytes (Content-Type: as uploaded)",
                                      generate_examples=False), **READ_ERRORS},
         download=True)  # no media_type here: it would override the asset's own
    def download_asset(self, asset_id: UUID, services: Services, *, tenant: UUID) -> Stream:
        """Download the bytes of an asset the service stores (a job's outputs, e.g. the project's video);
        404 for any other asset, an expired or deleted one, and another tenant's."""
        with services.read(tenant) as conn:
            row = q.get_asset(conn, tenant, asset_id, include_expired=False)
        # Only keys stored for this tenant (their first part) are served, whatever URI the asset names.
        opened = services.media.open_uri(row["uri"], tenant=tenant) if row is not None else None
        if row is None or opened is None:
            raise NotFound("asset not found")
        media_type = row["metadata"].get("content_type") or "application/octet-stream"
        return Stream(opened.chunks, media_type=media_type, headers={
            "Content-Length": str(opened.size), **etag(row["version"]),
            "Content-Disposition": f'attachment; filename="{asset_id}"'})

    @delete("/{asset_id:uuid}", status_code=204, sync_to_thread=True, responses=COMMAND_ERRORS)
    def delete_asset(self, asset_id: UUID, services: Services,
                     ctx: CommandContext, expected_version: int | None) -> None:
        """Soft-delete an asset: restorable, bytes and all, for AVM_MEDIA_DELETED_RETENTION_SECONDS (7 days);
        then its bytes in the service's store are removed (the orphan-bytes sweep)."""
        services.app.delete_asset(ctx, asset_id=str(asset_id), expected_version=expected_version)

    @post("/{asset_id:uuid}/restore", status_code=200, sync_to_thread=True, responses=COMMAND_ERRORS)
    def restore_asset(self, asset_id: UUID, services: Services,
                      ctx: CommandContext, expected_version: int | None) -> Response[AssetOut]:
        """Restore a soft-deleted asset; 409 once its bytes were removed (deleted longer ago than the retention)."""
        check_restorable(services, UUID(ctx.tenant_id), asset_id)
        asset = services.app.restore_asset(ctx, asset_id=str(asset_id), expected_version=expected_version)
        return Response(asset_out(asset), headers=etag(asset.version))

    @get("/{asset_id:uuid}/history", sync_to_thread=True, responses=READ_ERRORS)
    def asset_history(self, request: Request[Any, Any, Any], asset_id: UUID, services: Services,
                      after: HistoryAfter = None, limit: HistoryLimit = HISTORY_PAGE) -> History:
        """The asset's events, oldest first, a page at a time (`after`: the last `next_cursor`)."""
        return history_of(services, request.user.tenant_id, asset_id, "assets", "asset", after, limit)


class AdminAssetController(Controller):
    path = "/api/v1/admin/assets"
    tags = ["admin"]
    guards = [admin_only]

    @post("/expire", status_code=200, sync_to_thread=True, responses={**COMMAND_ERRORS, **errors(403)})
    def expire_assets(self, services: Services, ctx: CommandContext) -> SweepResult:
        """Run the expiry sweep now (same as `avm assets expire`)."""
        return SweepResult(expired=expire_due(services, ctx))
