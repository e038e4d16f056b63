"""The Litestar application factory: the composition root of the HTTP service."""
from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme

from api.auth import TokenAuthentication, command_context, provide_tenant
from api.controllers.admin_projections import AdminProjectionController
from api.controllers.assets import AdminAssetController, AssetController
from api.controllers.audit import AuditController
from api.controllers.health import HealthController
from api.controllers.jobs import JobController, JobOutputController, ProjectJobsController
from api.controllers.me_export import PersonalExportController
from api.controllers.metrics import MetricsController
from api.controllers.model_keys import ModelKeyController
from api.controllers.presets import PresetController
from api.controllers.signin import AuthController, IdentityController, SessionController
from api.controllers.views import UsageController
from api.controllers.projects import ProjectController
from api.controllers.users import AdminUserController, MeController
from api.limits import rate_limit_middleware
from api.edge import install
from api.methods import cors_config
from api.idempotency import COMMAND_METHODS, check_idempotency_key
from api.openapi import StrictStructSchemaPlugin, finish_openapi
from api.problems import EXCEPTION_HANDLERS, reject_nul_in_query, reject_number_spellings_in_query, strict_body
from api.http import if_match, refuse_unsupported_at
from api.services import VERSION, Services
from api.studio import studio_router, template_config
from domain.context import CommandContext

# /studio authenticates by its own cookie (api/studio/web.py), with the same credentials and checks.
PUBLIC_PATHS = ["^/api/health", "^/schema", "^/metrics", "^/studio"]
BEARER_DESCRIPTION = (
    "An API token (`avm_…`, from `POST /api/v1/me/tokens` or `avm users create`). Where the operator has"
    " enabled it (AVM_FRONTEND_JWT_*), also a JWT signed by the web front end (HS256 with the shared secret,"
    " or RS256/PS256, ES256 or EdDSA with its key; `iss`, `aud`, `exp`, `iat` required) naming an existing"
    " user by `sub` (the user id) or a verified `email`; the role is the user's. Any invalid, expired or"
    " unknown credential gets the same 401.")


async def before_request(request: Any) -> Any:
    """The checks every request passes before its handler; each only where it has something to check:
    the query's without a query string, the body's and the key's on a command."""
    scope = request.scope
    if scope["query_string"]:
        await reject_nul_in_query(request)
        refuse_unsupported_at(request)
        await reject_number_spellings_in_query(request)
    if scope["method"] in COMMAND_METHODS:
        await strict_body(request)
        await check_idempotency_key(request)


# `ctx` names `services`, and `expected_version` names `ctx`, only so that Litestar resolves a
# command's three dependencies one after another: dependencies that need none of each other are
# resolved concurrently, in an anyio task group of their own, which cost every command more than
# the three functions themselves (docs/decisions/i12-perf.md). Every route that takes
# `expected_version` takes `ctx`, and `ctx` only on authenticated routes.
def provide_ctx(request: Any, services: Any) -> CommandContext:
    return command_context(request)


def provide_expected_version(request: Any, ctx: Any) -> int | None:
    return if_match(request)


def create_app(services: Services | None = None, *, close_services: bool | None = None) -> Litestar:
    """Build the app; without `services` they are built from the environment at start-up."""
    owns = services is None if close_services is None else close_services

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        if getattr(app.state, "services", None) is None:
            app.state.services = Services.from_environment()
        # The event loop's own read pool (api/services.py AsyncReads): bound to this loop, so this app's.
        app.state.reads = app.state.services.async_reads()
        await app.state.reads.open()
        try:
            yield
        finally:
            await app.state.reads.close()
            if owns:
                app.state.services.close()

    def provide_services() -> Services:
        # No parameter (it was `state`): Litestar parses a dependency's parameters on every request.
        return app.state.services  # type: ignore[no-any-return]

    app = Litestar(
        route_handlers=[HealthController, MeController, AdminUserController, ProjectController, ProjectJobsController,
                        JobController, JobOutputController, AssetController, AdminAssetController, PresetController, AuditController,
                        AdminProjectionController, UsageController, MetricsController, ModelKeyController,
                        AuthController, SessionController, IdentityController, PersonalExportController,
                        studio_router()],
        template_config=template_config(),
        # The plumbing of every handler, declared once: what a command carries, the version If-Match
        # names, the tenant a read is about (on the loop; an admin's read of another tenant is recorded: a thread).
        dependencies={"services": Provide(provide_services, sync_to_thread=False),
                      "ctx": Provide(provide_ctx, sync_to_thread=False),
                      "expected_version": Provide(provide_expected_version, sync_to_thread=False),
                      "tenant": Provide(provide_tenant)},
        # Correlation ids, request metrics, HEAD and `Allow` are one middleware around the app (api/edge.py,
        # installed by api.methods.install below): they apply to every answer, unknown routes included.
        middleware=[DefineMiddleware(TokenAuthentication, exclude=PUBLIC_PATHS), *rate_limit_middleware()],
        exception_handlers=EXCEPTION_HANDLERS,
        before_request=before_request,
        lifespan=[lifespan],
        state=State({"services": services}),
        openapi_config=OpenAPIConfig(
            title="avm", version=VERSION, path="/schema",
            description="Event-sourced, audit-first backend of the Epic Auto Video Machine.",
            render_plugins=[ScalarRenderPlugin()],
            components=Components(security_schemes={"bearer": SecurityScheme(
                type="http", scheme="bearer", description=BEARER_DESCRIPTION)}),
            security=[{"bearer": []}],
        ),
        plugins=[StrictStructSchemaPlugin()],
        request_max_body_size=1_048_576,
        cors_config=cors_config(),
        debug=False,
    )
    finish_openapi(app)
    return install(app)


