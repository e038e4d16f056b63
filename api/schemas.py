"""Request and response bodies of the HTTP API: strict msgspec Structs (unknown fields are refused)."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from msgspec import UNSET, Meta, UnsetType

Title = Annotated[str, Meta(min_length=1, max_length=255)]
Description = Annotated[str, Meta(max_length=1000)]
Name = Annotated[str, Meta(min_length=1, max_length=100)]
SceneIndex = Annotated[int, Meta(ge=0, le=999)]
Role = Literal["user", "premium", "admin", "worker"]
Status = Literal["draft", "ready", "processing", "completed", "failed"]


class Strict(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


# -- users ---------------------------------------------------------------------------------------
class UserOut(msgspec.Struct, kw_only=True):
    id: UUID
    email: str
    name: str | None
    image: str | None
    role: Role
    settings: dict[str, Any]
    version: int
    created_at: datetime
    updated_at: datetime


class MeOut(UserOut, kw_only=True):
    usage: dict[str, Any] = {}


class UpdateMe(Strict):
    name: Annotated[str, Meta(min_length=1, max_length=100)] | UnsetType = UNSET
    image: Annotated[str, Meta(min_length=1, max_length=2048)] | UnsetType = UNSET
    settings: dict[str, Any] | UnsetType = UNSET


class CreateToken(Strict):
    name: Name
    expires_in_days: Annotated[int, Meta(ge=1, le=3650)] | None = None


class TokenOut(msgspec.Struct, kw_only=True):
    id: UUID
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None = None


class TokenCreated(TokenOut, kw_only=True):
    token: str


class TokenList(msgspec.Struct):
    items: list[TokenOut]


class CreateUser(Strict):
    email: Annotated[str, Meta(min_length=3, max_length=254)]
    name: Annotated[str, Meta(min_length=1, max_length=100)] | None = None
    role: Role = "user"


class UserCreated(msgspec.Struct):
    user: UserOut
    token: str


class UserList(msgspec.Struct):
    items: list[UserOut]
    next_cursor: str | None


class ChangeRole(Strict):
    role: Role


# -- projects ------------------------------------------------------------------------------------
class CreateProject(Strict):
    title: Title
    description: Description = ""
    config: dict[str, Any] | None = None
    preset_id: UUID | None = None


class UpdateProject(Strict):
    title: Title | UnsetType = UNSET
    description: Description | UnsetType = UNSET
    config: dict[str, Any] | UnsetType = UNSET


class ChangeStatus(Strict):
    status: Status


class SetStory(Strict):
    text: Annotated[str, Meta(max_length=50_000)]
    min_length: Annotated[int, Meta(ge=1, le=2000)] = 100
    max_length: Annotated[int, Meta(ge=1, le=2000)] = 280


class MergeScenes(Strict, tag_field="op", tag="merge"):
    indexes: Annotated[list[SceneIndex], Meta(min_length=2, max_length=2)]


class SplitScene(Strict, tag_field="op", tag="split"):
    index: SceneIndex
    position: Annotated[int, Meta(ge=1, le=2000)]


class ReorderScenes(Strict, tag_field="op", tag="reorder"):
    order: Annotated[list[SceneIndex], Meta(min_length=1, max_length=1000)]


class UpdateScene(Strict, tag_field="op", tag="update"):
    index: SceneIndex
    text: Annotated[str, Meta(min_length=1, max_length=2000)] | None = None
    prompt: Annotated[str, Meta(max_length=2000)] | None = None


SceneEdit = MergeScenes | SplitScene | ReorderScenes | UpdateScene


class ProjectOut(msgspec.Struct, kw_only=True):
    id: UUID
    title: str
    description: str
    status: Status
    config: dict[str, Any]
    preset_id: UUID | None
    story_chars: int
    scene_count: int
    version: int
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None


class ProjectList(msgspec.Struct):
    items: list[ProjectOut]
    next_cursor: str | None


class SceneOut(msgspec.Struct, kw_only=True):
    index: int
    text: str
    prompt: str | None
    image_asset_id: UUID | None


class SceneList(msgspec.Struct, kw_only=True):
    items: list[SceneOut]
    warnings: list[str] = []


class EstimateOut(msgspec.Struct, kw_only=True):
    currency: str
    low: float
    expected: float
    high: float
    breakdown: dict[str, float]


# -- audit ---------------------------------------------------------------------------------------
class EventOut(msgspec.Struct, kw_only=True):
    position: int
    tenant_seq: int
    aggregate_id: UUID
    aggregate_type: str
    version: int
    type: str
    recorded_at: datetime
    actor_id: str | None
    command_id: str | None
    correlation_id: str | None
    causation_id: str | None
    data: dict[str, Any]
    hash: str
    prev_hash: str


class History(msgspec.Struct):
    items: list[EventOut]


# -- service -------------------------------------------------------------------------------------
class Health(msgspec.Struct, kw_only=True):
    status: Literal["healthy", "degraded", "unhealthy"]
    version: str
    checks: dict[str, Any]
    stats: dict[str, int]
