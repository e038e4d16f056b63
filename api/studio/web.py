"""The studio's plumbing: the sign-in cookie, the CSRF token, the security headers, rendering and errors.

The studio authenticates with the very credentials the API takes (an API token `avm_…` or a sign-in
session `avms_…`), resolved by `Services.authenticate`; the credential travels in an HttpOnly,
SameSite=Strict cookie scoped to /studio instead of an `Authorization` header.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
from typing import Any

import anyio
from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.exceptions import HTTPException, NotAuthorizedException, PermissionDeniedException, ValidationException
from litestar.handlers import BaseRouteHandler
from litestar.response import Redirect, Template

from api.services import Principal, Services
from domain.errors import DomainProblem, NotFound, ValidationProblem

log = logging.getLogger("avm.studio")
PATH = "/studio"
COOKIE = "avm_studio"
CSRF_FIELD = "csrf"
STUDIO_ROLES = frozenset({"user", "premium", "admin"})
MAX_TOKEN_CHARS = 200  # longer than any token the service issues (Services.cached_principal)

# No inline script or style anywhere: htmx and the stylesheet come from /studio/static.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self';"
       " form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


class SignInRequired(Exception):
    """No cookie, or its credential is no longer live: the sign-in page."""


class CsrfRefused(Exception):
    """A form that acts came without the token of this sign-in."""


def csrf_token(credential: str) -> str:
    """The form token of one sign-in: an HMAC keyed by the credential itself (which only the browser holding
    the HttpOnly cookie knows), so another site can neither read nor forge it, and no server state is kept."""
    return hmac.new(credential.encode(), b"avm-studio-csrf/1", hashlib.sha256).hexdigest()


def credential_of(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    value = connection.cookies.get(COOKIE)
    return value if value and len(value) <= MAX_TOKEN_CHARS and value.isascii() else None


async def principal_of(services: Services, credential: str) -> Principal | None:
    known, principal = services.cached_principal(credential)
    if not known:
        principal = await anyio.to_thread.run_sync(services.authenticate, credential)
    return principal if principal is not None and principal.role in STUDIO_ROLES else None


async def signed_in(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard of every studio page but sign-in: the cookie's credential must be live (same rules as a bearer
    token); the principal becomes `request.user`, as the API's authentication middleware makes it."""
    if connection.scope.get("method") == "OPTIONS":
        return  # Litestar's own OPTIONS answer reveals only `Allow`, as on the API (api/auth.py requires_role)
    credential = credential_of(connection)
    if credential is None:
        raise SignInRequired
    principal = await principal_of(connection.app.state.services, credential)
    if principal is None:
        raise SignInRequired
    connection.scope["user"] = principal
    connection.scope["auth"] = credential


def studio_admin(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    if connection.scope.get("method") == "OPTIONS":
        return
    if connection.user.role != "admin":
        raise NotFound("page not found")  # a user is not told that admin pages exist


async def check_csrf(request: Request[Any, Any, Any]) -> dict[str, str]:
    """The posted form, once its CSRF token is the one of this sign-in; CsrfRefused (403) otherwise."""
    form = await request.form()
    given = form.get(CSRF_FIELD)
    if not isinstance(given, str) or not hmac.compare_digest(given.encode(), csrf_token(request.auth).encode()):
        raise CsrfRefused
    return {k: v for k, v in form.items() if isinstance(v, str)}


def page(request: Request[Any, Any, Any], template: str, status_code: int = 200, **context: Any) -> Template:
    """A rendered page: what every template shares (who is signed in, the CSRF token, the base path)."""
    user = request.scope.get("user")
    credential = request.scope.get("auth")
    return Template(template_name=f"studio/{template}", status_code=status_code, headers=SECURITY_HEADERS,
                    context={**context, "me": user, "base": PATH,
                             "csrf": csrf_token(credential) if isinstance(credential, str) else "",
                             "is_admin": getattr(user, "role", None) == "admin"})


def _error(request: Request[Any, Any, Any], status: int, title: str, detail: str) -> Template:
    return page(request, "error.html", status_code=status, title=title, detail=detail)


def not_found(request: Request[Any, Any, Any], exc: Exception) -> Template:
    return _error(request, 404, "Not found", str(exc) or "page not found")


def sign_in_required(request: Request[Any, Any, Any], _: Exception) -> Response[Any]:
    return Redirect(f"{PATH}/signin", status_code=303, headers=SECURITY_HEADERS)


def csrf_refused(request: Request[Any, Any, Any], _: Exception) -> Template:
    return _error(request, 403, "Refused", "this form was not sent from a studio page of this sign-in "
                  "(missing or wrong CSRF token); reload the page and try again")


def invalid(request: Request[Any, Any, Any], exc: Exception) -> Template:
    detail = str(exc)
    if isinstance(exc, ValidationProblem) and getattr(exc, "field", None):
        detail = f"{exc.field}: {detail}"
    return _error(request, 422, "Invalid input", detail)


def domain_error(request: Request[Any, Any, Any], exc: Exception) -> Template:
    from api.problems import STATUS_OF

    status = next((code for cls, code in STATUS_OF if isinstance(exc, cls)), 409)
    return _error(request, status, "Refused", getattr(exc, "detail", None) or str(exc))


def internal_error(request: Request[Any, Any, Any], exc: Exception) -> Template:
    log.exception("studio page failed", exc_info=exc)
    return _error(request, 500, "Cannot show this page", "the service could not answer; try again shortly")


def http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Template:
    if isinstance(exc, NotAuthorizedException):
        return sign_in_required(request, exc)  # type: ignore[return-value]
    if isinstance(exc, PermissionDeniedException):
        return _error(request, 403, "Refused", exc.detail)
    status = exc.status_code if 400 <= exc.status_code < 600 else 500
    detail = exc.detail if status < 500 else "the service could not answer; try again shortly"
    if status == 400 and getattr(exc, "extra", None):
        detail = "invalid query: " + "; ".join(f"{e.get('key', '')}: {e.get('message', '')}"
                                              for e in exc.extra if isinstance(e, dict))  # type: ignore[union-attr]
    return _error(request, status, "Cannot show this page", detail)


# Every key of the API's handlers (api/problems.py) too: under /studio a problem is a page, never JSON.
EXCEPTION_HANDLERS: dict[Any, Any] = {
    SignInRequired: sign_in_required, CsrfRefused: csrf_refused, NotFound: not_found,
    ValidationProblem: invalid, DomainProblem: domain_error, ValidationException: http_error,
    HTTPException: http_error, Exception: internal_error,
}
