"""Preset routes: the three built-ins plus the caller's own; one default per user."""
from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.params import Parameter
from msgspec import UNSET

from api.auth import tenant_roles
from api.http import aggregate_at, COMMAND_ERRORS, READ_ERRORS, errors, etag, parse_at
from api.schemas import CreatePreset, PresetList, PresetOut, UpdatePreset, plain
from api.responses import from_row
from api.services import Services
from domain.application import CommandContext
from domain.config import BUILTIN_PRESETS
from domain.errors import NotFound
from domain.presets import BUILTIN_DEFAULT_ID, Preset
from projections import presets as q

PRESET_ERRORS = {**COMMAND_ERRORS, **errors(403)}


def builtin_out(p: dict[str, Any], default_id: str) -> PresetOut:
    return PresetOut(id=UUID(p["id"]), name=p["name"], config=p["config"], builtin=True,
                     is_default=p["id"] == default_id, version=1, created_at=None, updated_at=None, deleted_at=None)


def preset_out(source: dict[str, Any] | Preset, default_id: str) -> PresetOut:
    row = q.preset_row(source) if isinstance(source, Preset) else source
    return from_row(PresetOut, row, builtin=False, is_default=str(row["id"]) == default_id)


def _default_id(services: Services, tenant: UUID) -> str:
    with services.read(tenant) as conn:
        chosen = q.default_preset_id(conn, tenant)
    return str(chosen) if chosen else BUILTIN_DEFAULT_ID


class PresetController(Controller):
    path = "/api/v1/presets"
    tags = ["presets"]
    guards = [tenant_roles]

    @get("/", sync_to_thread=True, responses=READ_ERRORS)
    def list_presets(self, request: Request[Any, Any, Any], services: Services,
                     include_deleted: bool = False) -> PresetList:
        """The three built-in presets and the caller's own."""
        tenant = request.user.tenant_id
        default = _default_id(services, tenant)
        with services.read(tenant) as conn:
            rows = q.list_presets(conn, tenant, include_deleted)
        return PresetList(items=[builtin_out(p, default) for p in BUILTIN_PRESETS]
                          + [preset_out(r, default) for r in rows])

    @post("/", status_code=201, sync_to_thread=True, responses=COMMAND_ERRORS)
    def create_preset(self, request: Request[Any, Any, Any], data: CreatePreset, services: Services,
                      ctx: CommandContext) -> Response[PresetOut]:
        """Create a preset; `is_default` makes it the caller's default."""
        preset = services.app.create_preset(ctx, name=data.name, config=plain(data.config),
                                            is_default=data.is_default)
        default = _default_id(services, request.user.tenant_id)
        return Response(preset_out(preset, default), status_code=201,
                        headers={**etag(preset.version), "Location": f"{self.path}/{preset.id}"})

    @get("/{preset_id:uuid}", sync_to_thread=True, responses=READ_ERRORS)
    def get_preset(self, request: Request[Any, Any, Any], preset_id: UUID, services: Services,
                   include_deleted: bool = False,
                   at: Annotated[str | None, Parameter(max_length=64, description="A version or an RFC 3339 time")] = None,
                   ) -> Response[PresetOut]:
        """Read a built-in or one of the caller's presets; `?at=` as it was then."""
        parse_at(at)  # a malformed `at` is refused for a built-in too
        tenant = request.user.tenant_id
        default = _default_id(services, tenant)
        for builtin in BUILTIN_PRESETS:
            if builtin["id"] == str(preset_id):
                return Response(builtin_out(builtin, default), headers=etag(1))
        if at is not None:
            preset = aggregate_at(services, Preset, tenant, preset_id, at)
            if preset.deleted and not include_deleted:
                raise NotFound("preset not found")
            return Response(preset_out(preset, default), headers=etag(preset.version))
        with services.read(tenant) as conn:
            row = q.get_preset(conn, tenant, preset_id, include_deleted)
        if row is None:
            raise NotFound("preset not found")
        return Response(preset_out(row, default), headers=etag(row["version"]))

    @patch("/{preset_id:uuid}", sync_to_thread=True, responses=PRESET_ERRORS)
    def update_preset(self, request: Request[Any, Any, Any], preset_id: UUID, data: UpdatePreset,
                      services: Services, ctx: CommandContext, expected_version: int | None) -> Response[PresetOut]:
        """Rename or reconfigure one of the caller's presets (built-ins: 403)."""
        preset = services.app.update_preset(
            ctx, preset_id=str(preset_id), expected_version=expected_version,
            name=data.name if isinstance(data.name, str) else None,
            config=plain(data.config) if data.config is not UNSET else None)
        return Response(preset_out(preset, _default_id(services, request.user.tenant_id)),
                        headers=etag(preset.version))

    @delete("/{preset_id:uuid}", status_code=204, sync_to_thread=True, responses=PRESET_ERRORS)
    def delete_preset(self, preset_id: UUID, services: Services,
                      ctx: CommandContext, expected_version: int | None) -> None:
        """Soft-delete one of the caller's presets (built-ins: 403)."""
        services.app.delete_preset(ctx, preset_id=str(preset_id), expected_version=expected_version)

    @post("/{preset_id:uuid}/restore", status_code=200, sync_to_thread=True, responses=PRESET_ERRORS)
    def restore_preset(self, request: Request[Any, Any, Any], preset_id: UUID, services: Services,
                       ctx: CommandContext, expected_version: int | None) -> Response[PresetOut]:
        """Restore a soft-deleted preset."""
        preset = services.app.restore_preset(ctx, preset_id=str(preset_id), expected_version=expected_version)
        return Response(preset_out(preset, _default_id(services, request.user.tenant_id)),
                        headers=etag(preset.version))

    @post("/{preset_id:uuid}/default", status_code=200, sync_to_thread=True, responses=COMMAND_ERRORS)
    def make_default(self, preset_id: UUID, services: Services, ctx: CommandContext) -> PresetOut:
        """Make this preset the caller's default (the previous default stops being one)."""
        services.app.choose_default_preset(ctx, str(preset_id))
        for builtin in BUILTIN_PRESETS:
            if builtin["id"] == str(preset_id):
                return builtin_out(builtin, str(preset_id))
        return preset_out(services.app.load(Preset, preset_id, ctx.tenant_id), str(preset_id))
