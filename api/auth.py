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
from litestar.types import ASGIApp, Message, Receive, Scope, Send

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
        principal = await anyio.to_thread.run_sync(services.authenticate, token.strip())
        if principal is None:
            raise NotAuthorizedException("invalid, expired or revoked token",
                                         headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
        return AuthenticationResult(user=principal, auth=token)


def requires_role(*roles: str) -> Any:
    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        principal: Principal = connection.user
        if principal.role not in roles:
            raise PermissionDeniedException(f"requires role {' or '.join(roles)}")

    guard.__name__ = f"requires_{'_or_'.join(roles)}"
    return guard


admin_only = requires_role("admin")
tenant_roles = requires_role("user", "premium", "admin")


def correlation_middleware(app: ASGIApp) -> ASGIApp:
    """Takes X-Correlation-ID (or makes one) and returns it on the response."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        given = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"x-correlation-id"), "")
        correlation_id = given if _SAFE_ID.match(given) else str(uuid4())
        scope.setdefault("state", {})["correlation_id"] = correlation_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-correlation-id", correlation_id.encode())]
            await send(message)

        await app(scope, receive, send_with_id)

    return middleware


def command_context(request: Any) -> CommandContext:
    principal: Principal = request.user
    key = request.headers.get("idempotency-key")
    return CommandContext(
        tenant_id=str(principal.tenant_id), actor_id=str(principal.user_id),
        command_id=key if key and _SAFE_ID.match(key) else None,
        correlation_id=request.scope.get("state", {}).get("correlation_id") or str(uuid4()),
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
