"""Project and scene routes: thin handlers that decode, call the application, encode."""
from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response, delete, get, patch, post, put
from litestar.params import Parameter
from msgspec import UNSET

from api.auth import tenant_roles
from api.http import HISTORY_PAGE, HistoryAfter, HistoryLimit, aggregate_at, history_of, COMMAND_ERRORS, READ_ERRORS, decode_cursor, encode_cursor, etag, parse_at
from api.schemas import (
    ChangeStatus, CreateProject, EstimateOut, History, ProjectList, ProjectOut, SceneEdit, SceneList,
    SceneOut, SetStory, StoryOut, UpdateProject, MergeScenes, SplitScene, ReorderScenes, UpdateScene, plain,
)
from api.reads import VersionCache, aggregate_at as reads_at
from api.responses import from_row
from api.services import AsyncReads, Services
from domain.application import CommandContext
from domain.errors import NotFound
from domain.estimate import estimate_cost
from domain.projects import Project
from projections import projects as queries

Limit = Annotated[int, Parameter(ge=1, le=100, description="Page size (1–100)")]
At = Annotated[str | None, Parameter(description="A version number or an RFC 3339 time", max_length=64)]


def project_out(source: dict[str, Any] | Project) -> ProjectOut:
    return from_row(ProjectOut, queries.project_row(source) if isinstance(source, Project) else source)


def scenes_out(p: Project) -> list[SceneOut]:
    return [from_row(SceneOut, row, index=row["idx"]) for row in queries.scene_rows(p)]


def _tenant(request: Request[Any, Any, Any]) -> UUID:
    return request.user.tenant_id


def reads(request: Request[Any, Any, Any]) -> AsyncReads:
    """The app's event-loop read pool (opened by api/app.py's lifespan)."""
    return request.app.state.reads  # type: ignore[no-any-return]


AT_CACHE = VersionCache()


async def project_at(request: Request[Any, Any, Any], services: Services, tenant: UUID, project_id: UUID,
                     at: str) -> tuple[ProjectOut, int, bool]:
    """`GET /projects/{id}?at=`: (its answer, its version, deleted then), on the event loop (api/reads.py)."""
    when = parse_at(at)
    if isinstance(when, int):
        cached = AT_CACHE.get(services, tenant, project_id, when)
        if cached is not None:
            return cached  # type: ignore[no-any-return]
    project = await reads_at(services, reads(request), Project, tenant, project_id, when)
    answer = (project_out(project), project.version, project.deleted)
    AT_CACHE.put(services, tenant, project_id, project.version, answer)
    return answer


def load_at(services: Services, tenant: UUID, project_id: UUID, at: str | None) -> Project:
    """The project as it was at a version or a time, folded from its events."""
    return aggregate_at(services, Project, tenant, project_id, at)  # type: ignore[no-any-return]


class ProjectController(Controller):
    path = "/api/v1/projects"
    tags = ["projects"]
    guards = [tenant_roles]

    @post("/", status_code=201, sync_to_thread=True, responses=COMMAND_ERRORS)
    def create_project(self, data: CreateProject, services: Services, ctx: CommandContext) -> Response[ProjectOut]:
        """Create a project (draft) for the calling tenant."""
        project = services.app.create_project(
            ctx, title=data.title, description=data.description,
            config=plain(data.config), preset_id=str(data.preset_id) if data.preset_id else None)
        return Response(project_out(project), status_code=201,
                        headers={**etag(project.version), "Location": f"{self.path}/{project.id}"})

    @get("/", responses=READ_ERRORS, resource="projects")
    async def list_projects(self, request: Request[Any, Any, Any], services: Services, limit: Limit = 20,
                            cursor: Annotated[str | None, Parameter(max_length=200)] = None,
                            status: Annotated[str | None, Parameter(pattern="^(draft|ready|processing|completed|failed)$")] = None,
                            q: Annotated[str | None, Parameter(max_length=200)] = None,
                            include_deleted: bool = False, *, tenant: UUID) -> ProjectList:
        """List the tenant's projects, newest first, keyset-paginated (admins: any tenant)."""
        after = decode_cursor(cursor)
        rows = await queries.alist_projects(reads(request), tenant, limit=limit + 1, after=after,
                                            status=status, q=q, include_deleted=include_deleted)
        more = len(rows) > limit
        rows = rows[:limit]
        next_cursor = encode_cursor(rows[-1]["created_at"], rows[-1]["id"]) if more else None
        return ProjectList(items=[project_out(r) for r in rows], next_cursor=next_cursor)

    @get("/{project_id:uuid}", responses=READ_ERRORS, resource="project")
    async def get_project(self, request: Request[Any, Any, Any], project_id: UUID, services: Services,
                          at: At = None, include_deleted: bool = False, *, tenant: UUID) -> Response[ProjectOut]:
        """Read one project; `?at=` returns it as it was at a version or time (admins: any tenant)."""
        if at is not None:
            out, version, deleted = await project_at(request, services, tenant, project_id, at)
            if deleted and not include_deleted:
                raise NotFound("project not found")
            return Response(out, headers=etag(version))
        row = await queries.aget_project(reads(request), tenant, project_id, include_deleted)
        if row is None:
            raise NotFound("project not found")
        return Response(project_out(row), headers=etag(row["version"]))

    @patch("/{project_id:uuid}", sync_to_thread=True, responses=COMMAND_ERRORS)
    def update_project(self, project_id: UUID, data: UpdateProject,
                       services: Services, ctx: CommandContext, expected_version: int | None) -> Response[ProjectOut]:
        """Rename, describe and/or reconfigure (config merged section by section)."""
        project = services.app.update_project(
            ctx, project_id=str(project_id), expected_version=expected_version,
            title=data.title if isinstance(data.title, str) else None,
            description=data.description if isinstance(data.description, str) else None,
            config=plain(data.config) if data.config is not UNSET else None)
        return Response(project_out(project), headers=etag(project.version))

    @delete("/{project_id:uuid}", status_code=204, sync_to_thread=True, responses=COMMAND_ERRORS)
    def delete_project(self, project_id: UUID, services: Services,
                       ctx: CommandContext, expected_version: int | None) -> None:
        """Soft-delete a project (restorable)."""
        services.app.delete_project(ctx, project_id=str(project_id), expected_version=expected_version)

    @post("/{project_id:uuid}/restore", status_code=200, sync_to_thread=True, responses=COMMAND_ERRORS)
    def restore_project(self, project_id: UUID, services: Services,
                        ctx: CommandContext, expected_version: int | None) -> Response[ProjectOut]:
        """Restore a soft-deleted project."""
        project = services.app.restore_project(ctx, project_id=str(project_id), expected_version=expected_version)
        return Response(project_out(project), headers=etag(project.version))

    @post("/{project_id:uuid}/status", status_code=200, sync_to_thread=True, responses=COMMAND_ERRORS)
    def change_status(self, project_id: UUID, data: ChangeStatus,
                      services: Services, ctx: CommandContext, expected_version: int | None) -> Response[ProjectOut]:
        """Move the project to another status (allowed transitions only, else 409)."""
        project = services.app.change_project_status(ctx, project_id=str(project_id),
                                                     expected_version=expected_version, status=data.status)
        return Response(project_out(project), headers=etag(project.version))

    @put("/{project_id:uuid}/story", status_code=200, sync_to_thread=True, responses=COMMAND_ERRORS)
    def set_story(self, project_id: UUID, data: SetStory,
                  services: Services, ctx: CommandContext, expected_version: int | None) -> Response[SceneList]:
        """Store the story text and segment it into scenes; a draft becomes ready."""
        project = services.app.set_story(ctx, project_id=str(project_id), expected_version=expected_version,
                                         text=data.text, min_length=data.min_length, max_length=data.max_length)
        return Response(SceneList(items=scenes_out(project), warnings=project.scene_warnings()),
                        headers=etag(project.version))

    @get("/{project_id:uuid}/story", sync_to_thread=True, responses=READ_ERRORS)
    def get_story(self, request: Request[Any, Any, Any], project_id: UUID, services: Services,
                  at: At = None, include_deleted: bool = False) -> Response[StoryOut]:
        """The story text as last set (null before), its scene lengths, and whether the scenes are still its segmentation; `?at=` as it was then."""
        if at is not None:
            project = load_at(services, _tenant(request), project_id, at)
        else:
            project = services.app.load(Project, project_id, str(_tenant(request)))
        if project.deleted and not include_deleted:
            raise NotFound("project not found")
        story = StoryOut(text=project.story, min_length=project.min_scene_length,
                         max_length=project.max_scene_length, scenes_match_story=project.scenes_match_story())
        return Response(story, headers=etag(project.version))

    @get("/{project_id:uuid}/scenes", sync_to_thread=True, responses=READ_ERRORS)
    def list_scenes(self, request: Request[Any, Any, Any], project_id: UUID, services: Services,
                    at: At = None, include_deleted: bool = False) -> Response[SceneList]:
        """The project's scenes in order, with the project's ETag (a scene edit's If-Match); `?at=` as they were then."""
        if at is not None:
            project = load_at(services, _tenant(request), project_id, at)
            if project.deleted and not include_deleted:
                raise NotFound("project not found")
            return Response(SceneList(items=scenes_out(project)), headers=etag(project.version))
        with services.read(_tenant(request)) as conn:
            found = queries.versioned_scenes(conn, _tenant(request), project_id, include_deleted)
        if found is None:
            raise NotFound("project not found")
        version, rows = found
        return Response(SceneList(items=[SceneOut(**r) for r in rows]), headers=etag(version))

    @post("/{project_id:uuid}/scenes/edit", status_code=200, sync_to_thread=True, responses=COMMAND_ERRORS)
    def edit_scenes(self, project_id: UUID, data: SceneEdit,
                    services: Services, ctx: CommandContext, expected_version: int | None) -> Response[SceneList]:
        """Merge, split, reorder or update scenes; indexes are renumbered after each edit."""
        pid, version = str(project_id), expected_version
        match data:
            case MergeScenes(indexes=indexes):
                project, warnings = services.app.merge_scenes(ctx, project_id=pid, expected_version=version,
                                                              indexes=list(indexes))
            case SplitScene(index=index, position=position):
                project, warnings = services.app.split_scene(ctx, project_id=pid, expected_version=version,
                                                             index=index, position=position)
            case ReorderScenes(order=order):
                project, warnings = services.app.reorder_scenes(ctx, project_id=pid, expected_version=version,
                                                                order=list(order))
            case UpdateScene(index=index, text=text, prompt=prompt):
                project, warnings = services.app.update_scene(ctx, project_id=pid, expected_version=version,
                                                              index=index, text=text, prompt=prompt)
            case _:  # pragma: no cover - the union is exhaustive
                raise AssertionError(f"unknown scene edit {data!r}")
        return Response(SceneList(items=scenes_out(project), warnings=warnings), headers=etag(project.version))

    @get("/{project_id:uuid}/estimate", sync_to_thread=True, responses=READ_ERRORS)
    def estimate(self, request: Request[Any, Any, Any], project_id: UUID, services: Services) -> EstimateOut:
        """Cost estimate of rendering the project as it is now."""
        with services.read(_tenant(request)) as conn:
            row = queries.get_project(conn, _tenant(request), project_id)
        if row is None:
            raise NotFound("project not found")
        est = estimate_cost(row["story_chars"], row["scene_count"], row["config"]["generation"]["images_per_scene"])
        return EstimateOut(**est)

    @get("/{project_id:uuid}/history", sync_to_thread=True, responses=READ_ERRORS)
    def history(self, request: Request[Any, Any, Any], project_id: UUID, services: Services,
                after: HistoryAfter = None, limit: HistoryLimit = HISTORY_PAGE) -> History:
        """The project's events, oldest first, with metadata and chain links, a page at a time (`after`)."""
        return history_of(services, _tenant(request), project_id, "projects", "project", after, limit)
