"""The job manifest: everything a render worker needs from the claim, so it calls no user-role route.

Built for the worker holding the job's lease (the claim answer, and `GET /api/v1/jobs/{id}` by its
holder): the job with its lease, the config to render (the project's, preset applied at creation,
with the overrides given when the job was queued), the scenes with their linked images, the story's
language and voice settings, the estimate, the attempt number, the step to start from, and the
owner's model keys when there are any.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

from api.responses import from_row
from api.schemas import LeaseOut, Step, WorkerJobOut
from domain.errors import Conflict
from domain.jobs import Job
from domain.projects import Project
from projections import assets as asset_queries
from projections import jobs as job_queries
from projections import projects as project_queries


class ManifestImage(msgspec.Struct, kw_only=True):
    id: UUID
    uri: str
    size_bytes: int | None
    checksum: str | None = None
    metadata: dict[str, Any]


class ManifestScene(msgspec.Struct, kw_only=True):
    index: int
    text: str
    prompt: str | None
    image_asset: ManifestImage | None


class ManifestStory(msgspec.Struct, kw_only=True):
    language: str
    characters: int
    scene_count: int


class ManifestProject(msgspec.Struct, kw_only=True):
    id: UUID
    title: str
    description: str


class JobManifest(WorkerJobOut, kw_only=True):
    """A claimed job as its lease holder sees it: what to render, from which step, under which lease."""

    manifest_version: int = 1
    attempt: int
    start_step: Step
    project: ManifestProject
    story: ManifestStory
    voice: dict[str, Any]
    scenes: list[ManifestScene]
    model_keys: dict[str, str]


def _owners_keys(services: Any, job_id: UUID) -> dict[str, str]:
    from api.model_keys import model_keys_for_job as sealed_keys_for_job

    try:
        return sealed_keys_for_job(services, job_id)
    except Conflict:
        return {}  # no longer running (a repeat of a claim after the job moved on): no keys


# Bring-your-own model keys (issue 13 item 5): {provider: key in clear} of the owner's stored keys,
# {} when none or when the owner is no longer premium; tests may replace it.
model_keys_for_job: Callable[[Any, UUID], dict[str, str]] = _owners_keys


def owners_model_keys(services: Any, job: Job, conn: Any = None) -> dict[str, str]:
    """The hook the manifest calls (looked up at call time, so a replacement takes effect). The
    default reads on `conn`, the manifest's own transaction in the job's tenant scope, when given:
    the same answer as `_owners_keys` without two transactions of its own."""
    if model_keys_for_job is not _owners_keys or conn is None:
        return dict(model_keys_for_job(services, job.id))
    from api.model_keys import owners_keys_in

    try:
        return owners_keys_in(services, conn, job.tenant_id, job.id)
    except Conflict:
        return {}  # as _owners_keys


def lease_of(job: Job | dict[str, Any]) -> LeaseOut | None:
    if isinstance(job, Job):
        lease_id, expires, seconds = job.lease_id, job.lease_expires_at, job.lease_seconds or job.timeout_seconds
    else:
        lease_id, expires = job["lease_id"], job["lease_expires_at"]
        seconds = job.get("lease_seconds") or 0
    if lease_id is None or expires is None:
        return None
    return LeaseOut(id=UUID(str(lease_id)), expires_at=expires, seconds=int(seconds))


def worker_view(job: Job) -> WorkerJobOut:
    """The job as its worker sees it after a report: the tenant it belongs to and its lease."""
    return from_row(WorkerJobOut, job_queries.job_row(job), convert=True, lease=lease_of(job))


def build_manifest(services: Any, job: Job) -> JobManifest:
    """The manifest of a running job, read as its tenant (the lease is the worker's right to it)."""
    tenant = UUID(job.tenant_id)
    project: Project = services.app.load(Project, job.project_id, job.tenant_id)
    with services.read(tenant) as conn:
        scenes = project_queries.list_scenes(conn, tenant, project.id)
        image_ids = [s["image_asset_id"] for s in scenes if s["image_asset_id"]]
        linked = asset_queries.live_assets(conn, tenant, image_ids) if image_ids else {}
        model_keys = owners_model_keys(services, job, conn)
    images = {id_: ManifestImage(id=id_, uri=row["uri"], size_bytes=row["size_bytes"], checksum=row.get("checksum"),
                                 metadata=row["metadata"]) for id_, row in linked.items()}
    row = job_queries.job_row(job)
    voice = dict(job.config.get("voice", {}))
    base = msgspec.structs.asdict(from_row(WorkerJobOut, row, convert=True, lease=lease_of(job)))
    return JobManifest(
        **base, attempt=job.attempts, start_step=job.from_step,  # type: ignore[arg-type]
        project=ManifestProject(id=project.id, title=project.title, description=project.description),
        story=ManifestStory(language=voice.get("language", "zh-TW"), characters=len(project.story or ""),
                            scene_count=len(scenes)),
        voice=voice,
        scenes=[ManifestScene(index=s["index"], text=s["text"], prompt=s["prompt"],
                              image_asset=images.get(s["image_asset_id"])) for s in scenes],
        model_keys=model_keys,
    )


def manifest_or_none(services: Any, job_id: UUID, worker_id: str, now: datetime) -> JobManifest | None:
    """The manifest when `worker_id` holds the job's live lease; None otherwise (a read: the caller
    answers 404, as for a job that does not exist)."""
    from domain.errors import DomainProblem

    try:
        job = services.app.load(Job, job_id, None)
        job.check_claimed_by(worker_id, None, now)
    except DomainProblem:
        return None
    return build_manifest(services, job)

