"""The projects and scenes read models, and the queries over them."""
from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg.types.json import Jsonb

from domain.projects import Project
from projections.base import InlineProjection, newest_first


class ProjectsProjection(InlineProjection):
    name = "projects"
    handles = (Project,)
    tables = {
        "projects": (("tenant_id", "id", "title", "description", "status", "config", "preset_id",
                      "story_chars", "scene_count", "version", "created_at", "updated_at", "deleted_at"),
                     ("tenant_id", "id")),
    }

    def rows(self, p: Any) -> dict[str, list[tuple[Any, ...]]]:
        return {"projects": [(
            UUID(p.tenant_id), p.id, p.title, p.description, p.status, Jsonb(p.config),
            UUID(p.preset_id) if p.preset_id else None, len(p.story or ""), len(p.scenes), p.version,
            p.created_on, p.modified_on, p.deleted_at,
        )]}


class ScenesProjection(InlineProjection):
    name = "scenes"
    handles = (Project,)
    single_row = False
    relevant = frozenset({"Project.Created", "Project.StorySet", "Project.ScenesMerged", "Project.SceneSplit",
                          "Project.ScenesReordered", "Project.SceneUpdated", "Project.SceneImageAttached"})
    tables = {
        "scenes": (("tenant_id", "project_id", "idx", "text", "prompt", "image_asset_id"),
                   ("tenant_id", "project_id")),
    }

    def rows(self, p: Any) -> dict[str, list[tuple[Any, ...]]]:
        tenant = UUID(p.tenant_id)
        return {"scenes": [
            (tenant, p.id, i, s["text"], s["prompt"], UUID(s["image_asset_id"]) if s["image_asset_id"] else None)
            for i, s in enumerate(p.scenes)
        ]}


PROJECT_COLUMNS = ("id, title, description, status, config, preset_id, story_chars, scene_count,"
                   " version, created_at, updated_at, deleted_at")


def get_project(conn: Any, tenant_id: UUID, project_id: UUID, include_deleted: bool = False) -> dict[str, Any] | None:
    row = conn.execute(
        f"SELECT {PROJECT_COLUMNS} FROM projects WHERE tenant_id = %s AND id = %s",
        (tenant_id, project_id), prepare=True).fetchone()
    if row is None or (row["deleted_at"] is not None and not include_deleted):
        return None
    return row


def list_projects(conn: Any, tenant_id: UUID, *, limit: int, after: tuple[datetime, UUID] | None,
                  status: str | None, q: str | None, include_deleted: bool) -> list[dict[str, Any]]:
    """Newest first, keyset-paginated on (created_at, id)."""
    like = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%" if q else None
    filters = [f for f in (("deleted_at IS NULL", []) if not include_deleted else None,
                           ("status = %s", [status]) if status else None,
                           ("(title ILIKE %s OR description ILIKE %s)", [like, like]) if like else None) if f]
    return newest_first(conn, "projects", PROJECT_COLUMNS, tenant_id, limit=limit, after=after, filters=filters)


def list_scenes(conn: Any, tenant_id: UUID, project_id: UUID) -> list[dict[str, Any]]:
    """The scenes in order; an image that expired or was deleted is no longer referenced."""
    return conn.execute(
        "SELECT s.idx AS index, s.text, s.prompt,"
        " CASE WHEN a.expired_at IS NULL AND a.deleted_at IS NULL THEN a.id END AS image_asset_id"
        " FROM scenes s LEFT JOIN assets a ON a.tenant_id = s.tenant_id AND a.id = s.image_asset_id"
        " WHERE s.tenant_id = %s AND s.project_id = %s ORDER BY s.idx", (tenant_id, project_id),
        prepare=True).fetchall()
