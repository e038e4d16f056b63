"""The Asset aggregate: generated or uploaded media, its links, retention and expiry."""
from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import msgspec
from eventsourcing.domain import event

from domain.errors import Conflict, ValidationProblem
from domain.input_limits import as_written
from domain.shared import DeletableAggregate

TYPES = ("image", "audio", "video", "text", "json")
MAX_SIZE_BYTES = 5 * 1024 * 1024
MAX_TEXT_CHARS = 50_000
MAX_METADATA_BYTES = 16 * 1024
DEFAULT_RETENTION = timedelta(days=30)
URI_RE = re.compile(r"^(r2|s3|gs|https?)://[^\s]{1,2040}$")
# What a render worker produces (registered through its job), with their own size limits: a video is
# not a 5 MB upload. The defaults; the service may configure others (api/outputs.py).
OUTPUT_TYPES = ("image", "audio", "video")
OUTPUT_MAX_BYTES = {"image": 20 * 1024 * 1024, "audio": 200 * 1024 * 1024, "video": 2 * 1024 * 1024 * 1024}
CHECKSUM_RE = re.compile(r"^sha256:[0-9a-f]{64}$")
MAX_PIXELS_SIDE = 16_384
MAX_DURATION_SECONDS = 24 * 3600


class Asset(DeletableAggregate):
    """A media file of one tenant, optionally linked to a project, job and scene.

    Lifecycle: Registered → (Deleted ⇄ Restored) → Expired once its expiry has
    passed. Invariants: type in TYPES; size ≤ 5 MB; a text asset ≤ 50,000
    characters; an asset expires at most once. A job's output (image, audio, video)
    is registered by the worker holding the job's lease, within the generated-media
    limits, with its size and checksum measured from its stored bytes.
    """

    checksum: str | None = None  # a class default: a snapshot taken before checksums still reads

    @event("Registered")
    def __init__(self, tenant_id: str, type: str, uri: str, size_bytes: int | None,  # noqa: A002
                 metadata: dict[str, Any], project_id: str | None, job_id: str | None,
                 scene_index: int | None, expires_at: str, checksum: str | None = None) -> None:
        self.tenant_id = tenant_id
        self.checksum = checksum
        self.type = type
        self.uri = uri
        self.size_bytes = size_bytes
        self.metadata = as_written(metadata)  # a stored tag lookalike reads back as written
        self.project_id = project_id
        self.job_id = job_id
        self.scene_index = scene_index
        self.expires_at = expires_at
        self.expired_at: str | None = None

    @classmethod
    def register(cls, *, tenant_id: str, type: str, uri: str, size_bytes: int | None,  # noqa: A002
                 metadata: dict[str, Any] | None, project_id: str | None, job_id: str | None,
                 scene_index: int | None, expires_at: datetime | None, now: datetime) -> Asset:
        if type not in TYPES:
            raise ValidationProblem(f"type must be one of {', '.join(TYPES)}", field="type")
        if not URI_RE.match(uri):
            raise ValidationProblem("uri must be an r2://, s3://, gs:// or https:// URI", field="uri")
        if size_bytes is not None and not 0 <= size_bytes <= MAX_SIZE_BYTES:
            raise ValidationProblem(f"size_bytes must be between 0 and {MAX_SIZE_BYTES} (5 MB)", field="size_bytes")
        metadata = metadata or {}
        if len(msgspec.json.encode(metadata)) > MAX_METADATA_BYTES:
            raise ValidationProblem("metadata must be at most 16 KiB of JSON", field="metadata")
        chars = metadata.get("characters")
        if type == "text" and isinstance(chars, int) and chars > MAX_TEXT_CHARS:
            raise ValidationProblem(f"text assets are limited to {MAX_TEXT_CHARS} characters",
                                    field="metadata.characters")
        if scene_index is not None and project_id is None:
            raise ValidationProblem("scene_index needs a project_id", field="scene_index")
        if expires_at is not None and expires_at.tzinfo is None:
            raise ValidationProblem("expires_at needs a UTC offset (RFC 3339)", field="expires_at")
        expires = expires_at or now + DEFAULT_RETENTION
        if expires <= now:
            raise ValidationProblem("expires_at must be in the future", field="expires_at")
        return cls(tenant_id=tenant_id, type=type, uri=uri, size_bytes=size_bytes, metadata=metadata,
                   project_id=project_id, job_id=job_id, scene_index=scene_index,
                   expires_at=expires.isoformat())

    @classmethod
    def register_output(cls, *, tenant_id: str, type: str, uri: str, size_bytes: int, checksum: str,  # noqa: A002
                        metadata: dict[str, Any], project_id: str, job_id: str, scene_index: int | None,
                        scene_count: int, max_bytes: int, now: datetime) -> Asset:
        """A job's output: `uri` names bytes the service stored (its size and checksum measured), so
        the URI is not a client's and is not checked against URI_RE."""
        if type not in OUTPUT_TYPES:
            raise ValidationProblem(f"type must be one of {', '.join(OUTPUT_TYPES)}", field="type")
        if not 0 < size_bytes <= max_bytes:
            raise ValidationProblem(f"size_bytes must be between 1 and {max_bytes} for a generated {type}",
                                    field="size_bytes")
        if not CHECKSUM_RE.match(checksum):
            raise ValidationProblem("checksum must be sha256:<64 lowercase hex digits>", field="checksum")
        if scene_index is not None and not 0 <= scene_index < scene_count:
            raise ValidationProblem(f"no scene at index {scene_index} (project has {scene_count})",
                                    field="scene_index")
        if type == "image" and scene_index is None:
            raise ValidationProblem("a generated image belongs to a scene: give scene_index", field="scene_index")
        for side in ("width", "height"):
            value = metadata.get(side)
            if value is not None and not (isinstance(value, int) and 1 <= value <= MAX_PIXELS_SIDE):
                raise ValidationProblem(f"{side} must be 1 to {MAX_PIXELS_SIDE} pixels", field=side)
        duration = metadata.get("duration_seconds")
        if duration is not None and not (isinstance(duration, (int, float)) and 0 < duration <= MAX_DURATION_SECONDS):
            raise ValidationProblem(f"duration_seconds must be above 0 and at most {MAX_DURATION_SECONDS}",
                                    field="duration_seconds")
        if type in ("audio", "video") and duration is None:
            raise ValidationProblem(f"a generated {type} needs its duration_seconds", field="duration_seconds")
        if type in ("image", "video") and (metadata.get("width") is None or metadata.get("height") is None):
            raise ValidationProblem(f"a generated {type} needs its width and height",
                                    field="width" if metadata.get("width") is None else "height")
        if len(msgspec.json.encode(metadata)) > MAX_METADATA_BYTES:
            raise ValidationProblem("metadata must be at most 16 KiB of JSON", field="metadata")
        return cls(tenant_id=tenant_id, type=type, uri=uri, size_bytes=size_bytes, metadata=metadata,
                   project_id=project_id, job_id=job_id, scene_index=scene_index,
                   expires_at=(now + DEFAULT_RETENTION).isoformat(), checksum=checksum)

    @property
    def expired(self) -> bool:
        return self.expired_at is not None

    def is_due(self, now: datetime) -> bool:
        return not self.expired and datetime.fromisoformat(self.expires_at) <= now

    def expire(self, now: datetime) -> None:
        if self.expired:
            raise Conflict("asset already expired")
        if not self.is_due(now):
            raise Conflict("asset is not past its expiry")
        self._expire(at=now.isoformat())

    @event("Expired")
    def _expire(self, at: str) -> None:
        self.expired_at = at
