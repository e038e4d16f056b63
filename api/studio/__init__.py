"""The studio: server-rendered pages over the API's data at /studio (issue 16).

Jinja2 templates (templates/studio/, autoescaped) rendered by Litestar, htmx and a stylesheet from
static/ (no build step, no CDN), a strict Content-Security-Policy, and the API's own authentication,
tenant scoping and queries. `create_app` (api/app.py) mounts `studio_router()` and `template_config()`.
"""
from __future__ import annotations

from pathlib import Path

from litestar import Router
from litestar.contrib.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template import TemplateConfig

from api.studio import admin, history, pages
from api.studio.web import EXCEPTION_HANDLERS, PATH, SECURITY_HEADERS, signed_in

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"

SIGNED_IN_PAGES = [
    pages.tenants, pages.projects, pages.project, pages.jobs, pages.assets, pages.presets, pages.signout,
    history.history,
    admin.audit, admin.audit_verify, admin.audit_export, admin.projections, admin.projection,
    admin.projection_progress, admin.projection_action, admin.queue, admin.queue_counts,
]


def studio_router() -> Router:
    """/studio: the sign-in page, the static files, and the pages behind the sign-in cookie."""
    static = create_static_files_router(path="/static", directories=[STATIC], name="studio-static",
                                        include_in_schema=False)
    public = Router(path="/", route_handlers=[pages.home, pages.signin_form, pages.signin], include_in_schema=False)
    private = Router(path="/", route_handlers=SIGNED_IN_PAGES, guards=[signed_in], include_in_schema=False)
    return Router(path=PATH, route_handlers=[public, private, static], include_in_schema=False,
                  exception_handlers=EXCEPTION_HANDLERS)


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    return TemplateConfig(directory=TEMPLATES, engine=JinjaTemplateEngine)


__all__ = ["PATH", "SECURITY_HEADERS", "studio_router", "template_config"]
