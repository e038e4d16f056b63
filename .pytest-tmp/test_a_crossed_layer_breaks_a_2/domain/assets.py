"""The Asset aggregate: generated or uploaded media, its links, retention and expiry."""
from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import msgspec
from eventsourcing.domain import event

from domain.errors import Conflict, ValidationProblem
from domain.input_limits import as_written
from domain.shared import TenantAggregate

TYPES = ("image", "audio", "video", "text", "json")
MAX_SIZE_BYTES = 5 * 1024 * 1024
MAX_TEXT_CHARS = 50_000
MAX_METADATA_BYTES = 16 * 1024
DEFAULT_RETENTION = timedelta(days=30)
URI_RE = re.compile(r"^(r2|s3|gs|https?)://[^\s]{1,2040}$")


class Asset(TenantAggregate):
    """A media file of one tenant, optionally linked to a project, job and scene.

    Lifecycle: Registered → (Deleted ⇄ Restored) → Expired once its expiry has
    passed. Invariants: type in TYPES; size ≤ 5 MB; a text asset ≤ 50,000
    characters; an asset expires at most once.
    """

    @event("Registered")
    def __init__(self, tenant_id: str, type: str, uri: str, size_bytes: int | None,  # noqa: A002
                 metadata: dict[str, Any], project_id: str | None, job_id: str | None,
                 scene_index: int | None, expires_at: str) -> None:
        self.tenant_id = tenant_id
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

    @event("Deleted")
    def _mark_deleted(self) -> None:
        self.deleted = True

    @event("Restored")
    def _mark_restored(self) -> None:
        self.deleted = False
