"""Studio pages: sign-in, and browsing what the API lists (tenants, projects, jobs, assets, presets).

Every read goes through the API's own queries (projections.*) on the same tenant-scoped connections
(`Services.read`, row-level security); the tenant comes from the API's `tenant` dependency
(api/auth.py `provide_tenant`), so an admin's look at another tenant lands on its trail exactly as an
API read does, and anyone else naming another tenant gets the same 404.
"""
from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Request, Response, get, post
from litestar.params import Parameter
from litestar.response import Redirect, Template

from api.http import decode_cursor, encode_cursor
from api.services import Services
from api.studio.web import (
    COOKIE, MAX_TOKEN_CHARS, PATH, SECURITY_HEADERS, check_csrf, credential_of, page, principal_of, studio_admin,
)
from domain.errors import NotFound
from projections import assets as aq
from projections import jobs as jq
from projections import presets as pq
from projections import projects as prq
from projections import users as uq

PAGE = 20
Cursor = Annotated[str | None, Parameter(max_length=64)]
Query = Annotated[str | None, Parameter(max_length=200)]
ProjectStatus = Annotated[str | None, Parameter(pattern="^(draft|ready|processing|completed|failed)?$")]
JobStatus = Annotated[str | None, Parameter(pattern="^(queued|running|succeeded|failed|cancelled)?$")]


def _page_of(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], str | None]:
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    return rows, encode_cursor(rows[-1]["created_at"], rows[-1]["id"]) if more else None


def _foreign(request: Request[Any, Any, Any], tenant: UUID) -> UUID | None:
    """The tenant to name in links when an admin looks at another tenant's data (None: one's own)."""
    return None if tenant == request.user.tenant_id else tenant


# -- sign-in ----------------------------------------------------------------------------------------------
@get("/signin", sync_to_thread=False)
def signin_form(request: Request[Any, Any, Any]) -> Template:
    return page(request, "signin.html")


@post("/signin", status_code=303)
async def signin(request: Request[Any, Any, Any], services: Services) -> Response[Any]:
    """Sign in with an API token or a session token; it is kept in an HttpOnly, SameSite=Strict cookie."""
    form = await request.form()
    token = form.get("token")
    token = token.strip() if isinstance(token, str) else ""
    principal = None
    if token and len(token) <= MAX_TOKEN_CHARS and token.isascii():
        principal = await principal_of(services, token)
    if principal is None:
        return page(request, "signin.html", status_code=401,  # type: ignore[return-value]
                    error="this token is not valid (unknown, expired, revoked, or not a user's)")
    response = Redirect(f"{PATH}/projects", status_code=303, headers=SECURITY_HEADERS)
    response.set_cookie(COOKIE, token, path=PATH, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", max_age=None)
    return response


@post("/signout", status_code=303)
async def signout(request: Request[Any, Any, Any]) -> Response[Any]:
    await check_csrf(request)
    response = Redirect(f"{PATH}/signin", status_code=303, headers=SECURITY_HEADERS)
    response.delete_cookie(COOKIE, path=PATH)
    return response


@get("/", sync_to_thread=False)
def home(request: Request[Any, Any, Any]) -> Response[Any]:
    return Redirect(f"{PATH}/projects" if credential_of(request) else f"{PATH}/signin", status_code=303,
                    headers=SECURITY_HEADERS)


# -- browse ----------------------------------------------------------------------------------------------
@get("/tenants", sync_to_thread=True, guards=[studio_admin])
def tenants(request: Request[Any, Any, Any], services: Services, cursor: Cursor = None) -> Template:
    """Every tenant (a user and its data), oldest first (admin), as `GET /api/v1/admin/users`."""
    with services.read(scope="admin") as conn:
        rows = uq.list_users(conn, PAGE + 1, decode_cursor(cursor))
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    next_cursor = encode_cursor(rows[-1]["created_at"], rows[-1]["id"]) if more else None
    return page(request, "tenants.html", rows=rows, next_cursor=next_cursor)


@get("/projects", sync_to_thread=True, resource="projects")
def projects(request: Request[Any, Any, Any], services: Services, cursor: Cursor = None, q: Query = None,
             status: ProjectStatus = None, include_deleted: bool = False, *, tenant: UUID) -> Template:
    """The tenant's projects, newest first: search (title, description), status, keyset pages."""
    with services.read(tenant) as conn:
        rows = prq.list_projects(conn, tenant, limit=PAGE + 1, after=decode_cursor(cursor), status=status or None,
                                 q=q or None, include_deleted=include_deleted)
    rows, next_cursor = _page_of(rows)
    return page(request, "projects.html", rows=rows, next_cursor=next_cursor, q=q or "", status=status or "",
                include_deleted=include_deleted, tenant_id=_foreign(request, tenant))


@get("/projects/{project_id:uuid}", sync_to_thread=True, resource="project")
def project(request: Request[Any, Any, Any], project_id: UUID, services: Services, *, tenant: UUID) -> Template:
    """One project (a deleted one too, marked so), its scenes and its jobs."""
    with services.read(tenant) as conn:
        row = prq.get_project(conn, tenant, project_id, include_deleted=True)
        if row is None:
            raise NotFound("project not found")
        scenes = prq.list_scenes(conn, tenant, project_id)
        jobs = jq.list_jobs(conn, tenant, limit=PAGE, after=None, status=None, project_id=project_id)
    return page(request, "project.html", p=row, scenes=scenes, jobs=jobs, tenant_id=_foreign(request, tenant))


@get("/jobs", sync_to_thread=True, resource="jobs")
def jobs(request: Request[Any, Any, Any], services: Services, cursor: Cursor = None, status: JobStatus = None,
         project_id: UUID | None = None, *, tenant: UUID) -> Template:
    """The tenant's jobs, newest first, with their attempts and errors."""
    with services.read(tenant) as conn:
        rows = jq.list_jobs(conn, tenant, limit=PAGE + 1, after=decode_cursor(cursor), status=status or None,
                            project_id=project_id)
    rows, next_cursor = _page_of(rows)
    return page(request, "jobs.html", rows=rows, next_cursor=next_cursor, status=status or "",
                project_id=project_id, tenant_id=_foreign(request, tenant))


@get("/assets", sync_to_thread=True, resource="assets")
def assets(request: Request[Any, Any, Any], services: Services, cursor: Cursor = None,
           include_expired: bool = False, include_deleted: bool = False, *, tenant: UUID) -> Template:
    """The tenant's assets, newest first, with their expiry."""
    with services.read(tenant) as conn:
        rows = aq.list_assets(conn, tenant, limit=PAGE + 1, after=decode_cursor(cursor), type=None, project_id=None,
                              include_expired=include_expired, include_deleted=include_deleted)
    rows, next_cursor = _page_of(rows)
    return page(request, "assets.html", rows=rows, next_cursor=next_cursor, include_expired=include_expired,
                include_deleted=include_deleted, tenant_id=_foreign(request, tenant))


@get("/presets", sync_to_thread=True, resource="presets")
def presets(request: Request[Any, Any, Any], services: Services, include_deleted: bool = False, *,
            tenant: UUID) -> Template:
    """The tenant's own presets."""
    with services.read(tenant) as conn:
        rows = pq.list_presets(conn, tenant, include_deleted=include_deleted)
    return page(request, "presets.html", rows=rows, include_deleted=include_deleted,
                tenant_id=_foreign(request, tenant))


__all__ = ["assets", "home", "jobs", "presets", "project", "projects", "signin", "signin_form",
           "signout", "tenants"]
