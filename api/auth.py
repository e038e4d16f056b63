"""Authentication (bearer tokens), role guards, and the command context of a request."""
from __future__ import annotations

import re
from typing import Any
from uuid import uuid4

import anyio
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.types import Message, Scope

from api.services import Principal, Services
from domain.application import CommandContext

_SAFE_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


class TokenAuthentication(AbstractAuthenticationMiddleware):
    """Resolves `Authorization: Bearer <token>` to a Principal; 401 when missing or not live."""

    async def authenticate_request(self, connection: ASGIConnection[Any, Any, Any, Any]) -> AuthenticationResult:
        header = connection.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise NotAuthorizedException("missing bearer token", headers={"WWW-Authenticate": "Bearer"})
        services: Services = connection.app.state.services
        token = token.strip()
        known, principal = services.cached_principal(token)  # no thread hop for a cached answer
        if not known:
            principal = await anyio.to_thread.run_sync(services.authenticate, token)
        if principal is None:
            raise NotAuthorizedException("invalid, expired or revoked token",
                                         headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
        return AuthenticationResult(user=principal, auth=token)


def requires_role(*roles: str) -> Any:
    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        if connection.scope.get("method") == "OPTIONS":
            return  # not authenticated (a preflight carries no token) and answers only `Allow`
        principal: Principal = connection.user
        if principal.role not in roles:
            raise PermissionDeniedException(f"requires role {' or '.join(roles)}")

    guard.__name__ = f"requires_{'_or_'.join(roles)}"
    return guard


admin_only = requires_role("admin")
tenant_roles = requires_role("user", "premium", "admin")


def correlation_id(scope: Any) -> str:
    """The request's correlation id: X-Correlation-ID when it is a safe token, else a new one."""
    state = scope.setdefault("state", {})
    cid = state.get("correlation_id")
    if cid is None:
        given = next((v.decode("latin-1") for k, v in scope.get("headers", ()) if k == b"x-correlation-id"), "")
        cid = state["correlation_id"] = given if _SAFE_ID.match(given) else str(uuid4())
    return cid  # type: ignore[no-any-return]


async def send_correlation_id(message: Message, scope: Scope) -> None:
    """Every response, errors and unknown routes included, carries X-Correlation-ID."""
    if message["type"] == "http.response.start" and scope["type"] == "http":
        message["headers"] = [*message.get("headers", []), (b"x-correlation-id", correlation_id(scope).encode())]


def command_context(request: Any) -> CommandContext:
    principal: Principal = request.user
    key, fingerprint = request.scope.get("state", {}).get("idempotency", (None, None))
    return CommandContext(
        tenant_id=str(principal.tenant_id), actor_id=str(principal.user_id),
        command_id=key, fingerprint=fingerprint,
        correlation_id=correlation_id(request.scope),
        role=principal.role,
    )


worker_only = requires_role("worker", "admin")


def read_tenant(request: Any, tenant_id: Any, services: Services, resource: str) -> Any:
    """The tenant whose data a read is about: the caller's own, or, for an admin, `?tenant_id=`.

    A non-admin naming another tenant gets the same 404 as a missing resource. An admin's
    read of another tenant is recorded on that tenant's trail with the admin as actor.
    """
    from domain.errors import NotFound

    principal: Principal = request.user
    if tenant_id is None or tenant_id == principal.tenant_id:
        return principal.tenant_id
    if principal.role != "admin":
        raise NotFound(f"{resource} not found")
    services.app.record_access(command_context(request), str(tenant_id), action="read", resource=resource,
                               details={"path": request.url.path, "query": str(request.url.query or "")})
    return tenant_id
