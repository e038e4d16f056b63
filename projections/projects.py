"""The projects and scenes read models, and the queries over them."""
from __future__ import annotations

from datetime import datetime
from operator import attrgetter
from typing import Any
from uuid import UUID

from domain.projects import Project
from projections.base import InlineProjection, RowMapping, map_row, newest_first, newest_first_query, select_list

PROJECT_ROW: RowMapping = {
    "tenant_id": lambda p: UUID(p.tenant_id),
    "id": attrgetter("id"),
    "title": attrgetter("title"),
    "description": attrgetter("description"),
    "status": attrgetter("status"),
    "config": attrgetter("config"),
    "preset_id": lambda p: UUID(p.preset_id) if p.preset_id else None,
    "story_chars": lambda p: len(p.story or ""),
    "scene_count": lambda p: len(p.scenes),
    "version": attrgetter("version"),
    "created_at": attrgetter("created_on"),
    "updated_at": attrgetter("modified_on"),
    "deleted_at": attrgetter("deleted_at"),
    "output_asset_id": lambda p: UUID(p.output_asset_id) if p.output_asset_id else None,
}
SCENE_COLUMNS = ("tenant_id", "project_id", "idx", "text", "prompt", "image_asset_id")


def project_row(p: Project) -> dict[str, Any]:
    """The project's row of the projects table (also what the API answers for a project it holds)."""
    return map_row(PROJECT_ROW, p)


def scene_rows(p: Project) -> list[dict[str, Any]]:
    """The project's rows of the scenes table, in order."""
    tenant = UUID(p.tenant_id)
    return [dict(zip(SCENE_COLUMNS, (tenant, p.id, i, s["text"], s["prompt"],
                                     UUID(s["image_asset_id"]) if s["image_asset_id"] else None)))
            for i, s in enumerate(p.scenes)]


class ProjectsProjection(InlineProjection):
    name = "projects"
    handles = (Project,)
    tables = {"projects": (tuple(PROJECT_ROW), ("tenant_id", "id"))}
    json_columns = frozenset({"config"})

    def rows(self, p: Any) -> dict[str, list[tuple[Any, ...]]]:
        return {"projects": [self.as_tuple("projects", project_row(p))]}


class ScenesProjection(InlineProjection):
    name = "scenes"
    handles = (Project,)
    single_row = False
    relevant = frozenset({"Project.Created", "Project.StorySet", "Project.ScenesMerged", "Project.SceneSplit",
                          "Project.ScenesReordered", "Project.SceneUpdated", "Project.SceneImageAttached"})
    tables = {"scenes": (SCENE_COLUMNS, ("tenant_id", "project_id"))}

    def rows(self, p: Any) -> dict[str, list[tuple[Any, ...]]]:
        return {"scenes": [self.as_tuple("scenes", row) for row in scene_rows(p)]}


PROJECT_COLUMNS = select_list(PROJECT_ROW)


_GET_PROJECT = f"SELECT {PROJECT_COLUMNS} FROM projects WHERE tenant_id = %s AND id = %s"


def get_project(conn: Any, tenant_id: UUID, project_id: UUID, include_deleted: bool = False) -> dict[str, Any] | None:
    row = conn.execute(_GET_PROJECT, (tenant_id, project_id), prepare=True).fetchone()
    if row is None or (row["deleted_at"] is not None and not include_deleted):
        return None
    return row


async def aget_project(reads: Any, tenant_id: UUID, project_id: UUID,
                       include_deleted: bool = False) -> dict[str, Any] | None:
    """`get_project` on the event loop's reads (api/services.py AsyncReads): one round trip."""
    rows = await reads.fetch(tenant_id, _GET_PROJECT, (tenant_id, project_id))
    if not rows or (rows[0]["deleted_at"] is not None and not include_deleted):
        return None
    return rows[0]  # type: ignore[no-any-return]


def _list_filters(status: str | None, q: str | None, include_deleted: bool) -> list[tuple[str, list[Any]]]:
    like = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%" if q else None
    return [f for f in (("deleted_at IS NULL", []) if not include_deleted else None,
                        ("status = %s", [status]) if status else None,
                        ("(title ILIKE %s OR description ILIKE %s)", [like, like]) if like else None) if f]


def list_projects(conn: Any, tenant_id: UUID, *, limit: int, after: tuple[datetime, UUID] | None,
                  status: str | None, q: str | None, include_deleted: bool) -> list[dict[str, Any]]:
    """Newest first, keyset-paginated on (created_at, id)."""
    return newest_first(conn, "projects", PROJECT_COLUMNS, tenant_id, limit=limit, after=after,
                        filters=_list_filters(status, q, include_deleted))


async def alist_projects(reads: Any, tenant_id: UUID, *, limit: int, after: tuple[datetime, UUID] | None,
                         status: str | None, q: str | None, include_deleted: bool) -> list[dict[str, Any]]:
    """`list_projects` on the event loop's reads (api/services.py AsyncReads): one round trip."""
    query, params = newest_first_query("projects", PROJECT_COLUMNS, tenant_id, limit=limit, after=after,
                                       filters=_list_filters(status, q, include_deleted))
    return await reads.fetch(tenant_id, query, params)  # type: ignore[no-any-return]


# A scene's columns as the API shows them: an image that expired or was deleted is no longer referenced.
_SCENE_FIELDS = ("s.idx AS index, s.text, s.prompt,"
                 " CASE WHEN a.expired_at IS NULL AND a.deleted_at IS NULL THEN a.id END AS image_asset_id")
_SCENE_IMAGES = "LEFT JOIN assets a ON a.tenant_id = s.tenant_id AND a.id = s.image_asset_id"


def list_scenes(conn: Any, tenant_id: UUID, project_id: UUID) -> list[dict[str, Any]]:
    """The scenes in order; an image that expired or was deleted is no longer referenced."""
    return conn.execute(
        f"SELECT {_SCENE_FIELDS} FROM scenes s {_SCENE_IMAGES}"
        " WHERE s.tenant_id = %s AND s.project_id = %s ORDER BY s.idx", (tenant_id, project_id),
        prepare=True).fetchall()


def versioned_scenes(conn: Any, tenant_id: UUID, project_id: UUID,
                     include_deleted: bool = False) -> tuple[int, list[dict[str, Any]]] | None:
    """The project's version and its scenes in order, read by one statement (one snapshot), so the
    version is the one these scenes are at: the ETag a scene edit names in If-Match. None when the
    project is missing (or deleted, unless `include_deleted`)."""
    rows = conn.execute(
        f"SELECT p.version, p.deleted_at, {_SCENE_FIELDS}"
        f" FROM projects p LEFT JOIN scenes s ON s.tenant_id = p.tenant_id AND s.project_id = p.id {_SCENE_IMAGES}"
        " WHERE p.tenant_id = %s AND p.id = %s ORDER BY s.idx", (tenant_id, project_id), prepare=True).fetchall()
    if not rows or (rows[0]["deleted_at"] is not None and not include_deleted):
        return None
    scenes = [{k: row[k] for k in ("index", "text", "prompt", "image_asset_id")} for row in rows
              if row["index"] is not None]
    return rows[0]["version"], scenes
