"""Authentication (bearer tokens), role guards, and the command context of a request."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Annotated, Any
from uuid import UUID, uuid4

import anyio
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.params import Parameter

from api.frontend_jwt import is_jwt
from api.services import Principal, Services
from domain.application import CommandContext, hash_token
from domain.errors import ValidationProblem

_SAFE_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
# RFC 9110 §11.6.2 credentials: the scheme (any case), then spaces or tabs, then a token68.
_BEARER = re.compile(r"[ \t]*([Bb][Ee][Aa][Rr][Ee][Rr])[ \t]+([A-Za-z0-9\-._~+/]+=*)[ \t]*")


@dataclass(frozen=True)
class Credential:
    """A bearer token parsed once from `Authorization`; `identity` is what everything keyed on the
    caller (token cache, rate limits, logs) uses: a digest, never the raw header or token."""

    token: str
    digest: bytes

    @property
    def identity(self) -> str:
        return self.digest.hex()[:32]


def parse_bearer(header: str | None) -> Credential | None:
    """The credential in an `Authorization` value: `Bearer <token>`, the scheme in any case, spaces
    or tabs around and between; None when it is not one."""
    m = _BEARER.fullmatch(header or "")
    if m is None:
        return None
    token = m.group(2)
    return Credential(token=token, digest=hash_token(token))


class TokenAuthentication(AbstractAuthenticationMiddleware):
    """Resolves `Authorization: Bearer <token>` to a Principal; 401 when missing or not live."""

    async def authenticate_request(self, connection: ASGIConnection[Any, Any, Any, Any]) -> AuthenticationResult:
        # ASGI header names are lower case; the raw list, without building a Headers of every header.
        values = [v for k, v in connection.scope["headers"] if k == b"authorization"]
        # One credential: with two headers, whichever one a proxy checked might not be the one used.
        credential = parse_bearer(values[0].decode("latin-1")) if len(values) == 1 else None
        if credential is None:
            raise NotAuthorizedException("missing bearer token", headers={"WWW-Authenticate": "Bearer"})
        services: Services = connection.app.state.services
        # A front-end JWT's rejects are limited per client address (api/frontend_jwt.py: 429 past the limit).
        attempts = services.frontend_jwt.attempts if services.frontend_jwt and is_jwt(credential.token) else None
        client = connection.client.host if connection.client else "unknown"
        if attempts:
            attempts.refuse_if_blocked(client)
        # no thread hop for a cached answer
        known, principal = services.cached_principal(credential.token, credential.digest)
        if not known:
            principal = await anyio.to_thread.run_sync(services.authenticate, credential.token, credential.digest)
        if principal is None:
            if attempts:
                attempts.failed(client)
            raise NotAuthorizedException("invalid, expired or revoked token",
                                         headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
        return AuthenticationResult(user=principal, auth=credential)


def requires_role(*roles: str) -> Any:
    # A coroutine function: Litestar runs a plain function guard in a worker thread, a hop on every request.
    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        if connection.scope.get("method") == "OPTIONS":
            return  # Litestar's own OPTIONS answer (no token, see TokenAuthentication) reveals only `Allow`
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


MAX_REASON_CHARS = 500


def command_reason(request: Any) -> str | None:
    """`X-Reason`: why a command is issued, stored with its events. One line of at most 500
    characters (UTF-8), no control characters; 422 naming `X-Reason` otherwise."""
    values = request.headers.getall("x-reason", [])
    if not values:
        return None
    if len(values) > 1:
        raise ValidationProblem("X-Reason must be given once", field="X-Reason")
    try:
        reason = values[0].encode("latin-1").decode("utf-8").strip(" \t")  # ASGI headers arrive as latin-1
    except (UnicodeEncodeError, UnicodeDecodeError):
        raise ValidationProblem("X-Reason must be UTF-8 text", field="X-Reason") from None
    if not reason:
        raise ValidationProblem("X-Reason must not be empty", field="X-Reason")
    if len(reason) > MAX_REASON_CHARS:
        raise ValidationProblem(f"X-Reason must be at most {MAX_REASON_CHARS} characters", field="X-Reason")
    if any(unicodedata.category(c) == "Cc" or c in "\u2028\u2029" for c in reason):
        raise ValidationProblem("X-Reason must be one line without control characters", field="X-Reason")
    return reason


def command_context(request: Any) -> CommandContext:
    principal: Principal = request.user
    state = request.scope.get("state", {})
    key, fingerprint = state.get("idempotency", (None, None))
    return CommandContext(
        tenant_id=str(principal.tenant_id), actor_id=str(principal.user_id),
        command_id=key, fingerprint=fingerprint, recorded=state.get("idempotency_result"),
        correlation_id=correlation_id(request.scope),
        role=principal.role, reason=command_reason(request),
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

# An admin reads another tenant's data by naming it; anyone else names their own or gets a 404.
TenantId = Annotated[UUID | None, Parameter(description="Admins: read another tenant's data (recorded on its trail)")]


async def provide_tenant(request: Any, services: Services, tenant_id: TenantId = None) -> Any:
    """The `tenant` dependency of a read: `read_tenant` with `?tenant_id=`, for the resource its
    route names (`@get(..., resource="project")`). The caller's own tenant is answered on the event
    loop; only another tenant's (a refusal, or an admin's read, recorded) goes to a thread."""
    if tenant_id is None or tenant_id == request.user.tenant_id:
        return request.user.tenant_id
    return await anyio.to_thread.run_sync(read_tenant, request, tenant_id, services,
                                          request.route_handler.opt["resource"])
