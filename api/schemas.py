"""Request and response bodies of the HTTP API: strict msgspec Structs (unknown fields are refused)."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from msgspec import UNSET, Meta, UnsetType

from domain.input_limits import FreeForm
from domain.config import ProjectConfig

Title = Annotated[str, Meta(min_length=1, max_length=255)]
Description = Annotated[str, Meta(max_length=1000)]
Name = Annotated[str, Meta(min_length=1, max_length=100)]
SceneIndex = Annotated[int, Meta(ge=0, le=999)]
Role = Literal["user", "premium", "admin", "worker"]
Status = Literal["draft", "ready", "processing", "completed", "failed"]


class Strict(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


def _patch_of(struct: type[msgspec.Struct]) -> type[msgspec.Struct]:
    """`struct` with every field optional and nested Structs patches too: what a partial update may say.

    The bounds stay (they are in the field types); an absent field is UNSET, left out of to_builtins,
    so the domain merges only what was sent.
    """
    fields = []
    for info in msgspec.structs.fields(struct):
        kind = info.type
        if isinstance(kind, type) and issubclass(kind, msgspec.Struct):
            kind = _patch_of(kind)
        fields.append((info.encode_name, kind | UnsetType, UNSET))
    return msgspec.defstruct(f"{struct.__name__}Patch", fields, kw_only=True, forbid_unknown_fields=True,
                             module=__name__)


ConfigPatch = _patch_of(ProjectConfig)
ConfigPatch.__doc__ = "Project configuration to merge: only the sections and keys given change."


def plain(value: Any) -> Any:
    """A decoded request value as the domain takes it (plain dicts; UNSET fields left out)."""
    return value if value is None or value is UNSET else msgspec.to_builtins(value)


# -- users ---------------------------------------------------------------------------------------
class NotificationSettings(msgspec.Struct, kw_only=True):
    email: bool
    discord: bool
    webhook: bool


class PrivacySettings(msgspec.Struct, kw_only=True):
    analytics: bool
    error_reporting: bool


Language = Literal["zh-TW", "en"]
Theme = Literal["light", "dark", "system"]
TimeZone = Annotated[str, Meta(min_length=1, max_length=64)]


class Settings(msgspec.Struct, kw_only=True):
    language: Language
    timezone: str
    theme: Theme
    notifications: NotificationSettings
    privacy: PrivacySettings
    generation_defaults: ConfigPatch  # only the keys valid today (domain.config.readable_defaults)


class NotificationSettingsPatch(Strict):
    email: bool | UnsetType = UNSET
    discord: bool | UnsetType = UNSET
    webhook: bool | UnsetType = UNSET


class PrivacySettingsPatch(Strict):
    analytics: bool | UnsetType = UNSET
    error_reporting: bool | UnsetType = UNSET


class SettingsPatch(Strict):
    """Settings to merge: only the keys given change (generation_defaults is a project config patch,
    merged section by section; new projects start from it)."""

    language: Language | UnsetType = UNSET
    timezone: TimeZone | UnsetType = UNSET
    theme: Theme | UnsetType = UNSET
    notifications: NotificationSettingsPatch | UnsetType = UNSET
    privacy: PrivacySettingsPatch | UnsetType = UNSET
    generation_defaults: ConfigPatch | UnsetType = UNSET


class UserOut(msgspec.Struct, kw_only=True):
    id: UUID
    email: str
    name: str | None
    image: str | None
    role: Role
    settings: Settings
    version: int
    created_at: datetime
    updated_at: datetime


class MeOut(UserOut, kw_only=True):
    default_preset_id: UUID | None = None
    usage: dict[str, Any] = {}


class UpdateMe(Strict):
    name: Annotated[str, Meta(min_length=1, max_length=100)] | UnsetType = UNSET
    image: Annotated[str, Meta(min_length=1, max_length=2048)] | UnsetType = UNSET
    settings: SettingsPatch | UnsetType = UNSET


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


# -- bring-your-own model keys ---------------------------------------------------------------------
ModelProvider = Literal["gemini", "openai", "anthropic"]  # domain.users.MODEL_PROVIDERS


class SetModelKey(Strict):
    """A provider's API key: 20 to 512 printable ASCII characters, no blanks. Stored sealed; never shown again."""

    key: Annotated[str, Meta(min_length=20, max_length=512, pattern="^[!-~]+$")]


class ModelKeyOut(msgspec.Struct, kw_only=True):
    """A stored model key, as far as it is ever shown: its last four characters and its fingerprint."""

    provider: ModelProvider
    last4: str
    fingerprint: str
    set_at: datetime


class ModelKeyList(msgspec.Struct):
    items: list[ModelKeyOut]


# Python's blanks (what `\s` and str.strip() mean to the domain), spelled out so that the OpenAPI document's
# patterns (ECMA regular expressions, whose `\s` differs) mean the same.
BLANKS = "\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
# domain.users.EMAIL_RE, around surrounding blanks (which the domain strips).
EMAIL_PATTERN = f"^[{BLANKS}]*[^@{BLANKS}]{{1,64}}@[^@{BLANKS}]{{1,190}}\\.[^@{BLANKS}]{{1,63}}[{BLANKS}]*$"
# domain.assets.URI_RE
URI_PATTERN = f"^(r2|s3|gs|https?)://[^{BLANKS}]{{1,2040}}$"


class CreateUser(Strict):
    email: Annotated[str, Meta(min_length=3, max_length=254, pattern=EMAIL_PATTERN)]
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
    config: ConfigPatch | None = None
    preset_id: UUID | None = None


class UpdateProject(Strict):
    title: Title | UnsetType = UNSET
    description: Description | UnsetType = UNSET
    config: ConfigPatch | UnsetType = UNSET


class ChangeStatus(Strict):
    status: Status


# A story must hold something besides blanks (Python's, which domain.segmentation strips) to be segmented.
STORY_PATTERN = f"[^{BLANKS}]"


class SetStory(Strict):
    text: Annotated[str, Meta(max_length=50_000, pattern=STORY_PATTERN)]
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
    config: ProjectConfig
    preset_id: UUID | None
    story_chars: int
    scene_count: int
    output_asset_id: UUID | None = None
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


class StoryOut(msgspec.Struct, kw_only=True):
    """The story as it was last set (scene edits change the scenes, not the story)."""

    text: str | None  # null until a story is set
    min_length: int
    max_length: int
    scenes_match_story: bool


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
    reason: str | None = None
    data: dict[str, Any]
    hash: str
    prev_hash: str


class History(msgspec.Struct):
    items: list[EventOut]
    next_cursor: str | None = None


# -- service -------------------------------------------------------------------------------------
class Health(msgspec.Struct, kw_only=True):
    status: Literal["healthy", "degraded", "unhealthy"]
    version: str
    checks: dict[str, Any]
    stats: dict[str, int]


# -- jobs ----------------------------------------------------------------------------------------
Step = Literal["ingest", "segment", "prompt", "image_generation", "text_to_speech", "video_render", "publish"]
JobStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]
ErrorCode = Literal["TIMEOUT", "RATE_LIMIT", "SERVICE_ERROR", "QUOTA", "VALIDATION", "CONTENT_POLICY", "INTERNAL"]


class QueueJob(Strict):
    config: ConfigPatch | None = None


class RetryJob(Strict):
    from_step: Step | None = None


LeaseId = Annotated[UUID | None, Meta(description="The lease the claim gave (`lease.id`); 409 when it is not the "
                                                 "job's current, live lease")]


class ReportProgress(Strict):
    step: Step
    percentage: Annotated[float, Meta(ge=0, le=100)]
    lease_id: LeaseId = None


class CompleteJob(Strict):
    cost_actual: Annotated[float, Meta(ge=0, le=1_000_000)] | None = None
    lease_id: LeaseId = None
    video_asset_id: Annotated[UUID | None, Meta(description="The video this job registered (POST …/outputs); "
                                                            "the project then shows it as its output")] = None


class JobError(Strict):
    code: ErrorCode
    message: Annotated[str, Meta(min_length=1, max_length=2000)]
    retryable: bool = False
    details: FreeForm | None = None


class FailJob(Strict):
    error: JobError
    lease_id: LeaseId = None


class JobProgress(msgspec.Struct, kw_only=True):
    step: Step | None
    completed_steps: list[Step]
    percentage: float


class JobErrorOut(msgspec.Struct, kw_only=True):
    code: ErrorCode
    message: str
    retryable: bool
    details: dict[str, Any] | None = None
    at: datetime


class JobOut(msgspec.Struct, kw_only=True):
    id: UUID
    project_id: UUID
    status: JobStatus
    priority: int
    config: ProjectConfig
    estimate: EstimateOut
    cost_actual: float | None
    attempts: int
    max_attempts: int
    from_step: Step
    progress: JobProgress
    error: JobErrorOut | None
    timeout_seconds: int
    queued_at: datetime
    available_at: datetime
    started_at: datetime | None
    heartbeat_at: datetime | None
    finished_at: datetime | None
    video_asset_id: UUID | None = None
    version: int
    created_at: datetime
    updated_at: datetime


class LeaseOut(msgspec.Struct, kw_only=True):
    id: UUID
    expires_at: datetime
    seconds: int


class WorkerJobOut(JobOut, kw_only=True):
    tenant_id: UUID
    lease: LeaseOut | None = None


class JobList(msgspec.Struct):
    items: list[JobOut]
    next_cursor: str | None


# -- assets --------------------------------------------------------------------------------------
AssetType = Literal["image", "audio", "video", "text", "json"]


class RegisterAsset(Strict):
    type: AssetType
    uri: Annotated[str, Meta(min_length=1, max_length=2048, pattern=URI_PATTERN)]
    size_bytes: Annotated[int, Meta(ge=0, le=5 * 1024 * 1024)] | None = None
    metadata: FreeForm | None = None
    project_id: UUID | None = None
    job_id: UUID | None = None
    scene_index: Annotated[int, Meta(ge=0, le=999)] | None = None
    expires_at: datetime | None = None


class AssetOut(msgspec.Struct, kw_only=True):
    id: UUID
    type: AssetType
    uri: str
    size_bytes: int | None
    metadata: dict[str, Any]
    project_id: UUID | None
    job_id: UUID | None
    scene_index: int | None
    checksum: str | None = None
    expires_at: datetime
    expired_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None


class AssetList(msgspec.Struct):
    items: list[AssetOut]
    next_cursor: str | None


class SweepResult(msgspec.Struct):
    expired: int


# -- presets -------------------------------------------------------------------------------------
class CreatePreset(Strict):
    name: Annotated[str, Meta(min_length=1, max_length=100)]
    config: ConfigPatch
    is_default: bool = False


class UpdatePreset(Strict):
    name: Annotated[str, Meta(min_length=1, max_length=100)] | UnsetType = UNSET
    config: ConfigPatch | UnsetType = UNSET


class PresetOut(msgspec.Struct, kw_only=True):
    id: UUID
    name: str
    config: ProjectConfig
    builtin: bool
    is_default: bool
    version: int
    created_at: datetime | None
    updated_at: datetime | None
    deleted_at: datetime | None


class PresetList(msgspec.Struct):
    items: list[PresetOut]
