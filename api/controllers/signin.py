"""Sign-in (issue 13): OpenID Connect sign-in, sessions, and linked identities."""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, delete, get, post
from litestar.exceptions import NotAuthorizedException, ServiceUnavailableException
from msgspec import Meta

from api.auth import command_reason, correlation_id, tenant_roles
from api.controllers.users import user_out
from api.http import COMMAND_ERRORS, READ_ERRORS, errors
from api.oidc import REJECTED, ProviderUnavailable, Rejected, Verified
from api.schemas import Strict, UserOut
from api.services import Services
from domain.commands.signin import Identity
from domain.context import CommandContext
from domain.errors import Conflict, ValidationProblem
from projections import sessions as sq
from projections import users as uq

log = logging.getLogger("avm.signin")

ProviderName = Annotated[str, Meta(min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9-]{0,31}$")]
IdToken = Annotated[str, Meta(min_length=5, max_length=8192,
                              pattern=r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$")]
INVALID = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
ANONYMOUS = "anonymous"  # the actor of a refused sign-in: nobody was signed in


class SignIn(Strict):
    provider: ProviderName
    id_token: IdToken


class SessionOut(msgspec.Struct, kw_only=True):
    id: UUID
    provider: str
    user_agent: str | None
    created_at: datetime
    expires_at: datetime
    current: bool = False


class SignedIn(msgspec.Struct, kw_only=True):
    """A new session: its token (shown only here), when it expires unless used, and who signed in."""

    token: str
    expires_at: datetime
    session: SessionOut
    user: UserOut
    registered: bool


class SessionList(msgspec.Struct):
    items: list[SessionOut]


class Revoked(msgspec.Struct):
    revoked: int


class IdentityOut(msgspec.Struct, kw_only=True):
    id: UUID
    provider: str
    email: str
    linked_at: datetime


class IdentityList(msgspec.Struct):
    items: list[IdentityOut]


def verified_identity(request: Request[Any, Any, Any], services: Services, data: SignIn) -> Verified:
    """The identity the ID token proves, or a 401 (refusals of a token the provider did sign for a linked
    identity go on that user's trail), a 429 past the per-identity limit, a 503 when the provider is down."""
    provider = services.oidc.get(data.provider)
    if provider is None:
        raise ValidationProblem("no sign-in provider of this name is configured", field="provider")
    try:
        verified = provider.verify(data.id_token)
    except ProviderUnavailable as exc:
        log.warning("provider %s unavailable: %s", data.provider, exc)
        raise ServiceUnavailableException("the identity provider cannot be reached, retry shortly",
                                          headers={"Retry-After": "5"}) from None
    except Rejected as rejected:
        REJECTED.labels(provider=data.provider, reason=rejected.reason).inc()
        log.info("ID token of %s refused: %s", data.provider, rejected.reason)
        if rejected.subject is not None:
            _attempt(services, data.provider, rejected.subject)
            with services.read(scope="auth") as conn:
                owner = uq.user_of_identity(conn, data.provider, rejected.subject)
            if owner is not None:
                ctx = CommandContext(tenant_id=str(owner), actor_id=ANONYMOUS, role="user",
                                     correlation_id=correlation_id(request.scope), reason=command_reason(request))
                services.app.record_sign_in_failure(ctx, str(owner), data.provider, rejected.reason)
        raise NotAuthorizedException("the ID token is not valid", headers=INVALID) from None
    _attempt(services, verified.provider, verified.subject)
    return verified


def _attempt(services: Services, provider: str, subject: str) -> None:
    key = f"{provider}\x00{subject}"
    services.oidc.attempts.refuse_if_blocked(key)
    services.oidc.attempts.failed(key)  # every verified attempt counts, granted or not


def _identity(v: Verified) -> Identity:
    return Identity(provider=v.provider, subject=v.subject, email=v.email, name=v.name, id_token_hash=v.token_hash)


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["sign-in"]

    @post("/oidc", status_code=200, sync_to_thread=True, exclude_from_auth=True, security=[], rate_limited=True,
          responses=errors(400, 401, 404, 409, 413, 422, 429, 503))
    def sign_in(self, request: Request[Any, Any, Any], data: SignIn, services: Services) -> SignedIn:
        """Sign in with an ID token from a configured provider; the first sign-in registers the user."""
        verified = verified_identity(request, services, data)
        with services.read(scope="auth") as conn:
            owner = uq.user_of_identity(conn, verified.provider, verified.subject)
        ctx = CommandContext(tenant_id=str(owner or ""), actor_id=str(owner or ""), role="user",
                             correlation_id=correlation_id(request.scope), reason=command_reason(request))
        user, session, token = services.app.sign_in(ctx, _identity(verified), user_id=str(owner) if owner else None,
                                                   user_agent=request.headers.get("user-agent"))
        settings = services.sessions
        out = SessionOut(id=session.id, provider=session.provider, user_agent=session.user_agent,
                         created_at=session.created_on, current=True,
                         expires_at=session.created_on + min(settings.idle, settings.absolute))
        return SignedIn(token=token, expires_at=out.expires_at, session=out, user=user_out(user),
                        registered=owner is None)

    @post("/logout", status_code=204, sync_to_thread=True, guards=[tenant_roles], responses=COMMAND_ERRORS)
    def logout(self, request: Request[Any, Any, Any], services: Services, ctx: CommandContext) -> None:
        """End the session this request is authenticated with; its token stops working at once."""
        session_id = request.user.session_id
        if session_id is None:
            raise Conflict("this credential is not a session (revoke an API token with DELETE /api/v1/me/tokens/{id})")
        services.app.end_session(ctx, str(session_id), "logout")
        services.forget_tokens()


class SessionController(Controller):
    path = "/api/v1/me/sessions"
    tags = ["sign-in"]

    @get("/", sync_to_thread=True, responses=READ_ERRORS)
    def list_sessions(self, request: Request[Any, Any, Any], services: Services) -> SessionList:
        """The caller's live sessions, newest first; `current` marks the one this request uses."""
        settings = services.sessions
        with services.read(request.user.tenant_id) as conn:
            rows = sq.list_sessions(conn, request.user.tenant_id, settings.idle, settings.absolute)
        return SessionList(items=[SessionOut(**r, current=r["id"] == request.user.session_id) for r in rows])

    @delete("/{session_id:uuid}", status_code=204, sync_to_thread=True, responses=COMMAND_ERRORS)
    def revoke_session(self, session_id: UUID, services: Services, ctx: CommandContext) -> None:
        """Revoke one of the caller's sessions; its token stops working at once."""
        services.app.end_session(ctx, str(session_id), "revoked")
        services.forget_tokens()

    @post("/revoke-others", status_code=200, sync_to_thread=True, responses=COMMAND_ERRORS)
    def revoke_other_sessions(self, request: Request[Any, Any, Any], services: Services,
                              ctx: CommandContext) -> Revoked:
        """Revoke every session of the caller but the one this request uses (all of them for an API token)."""
        with services.read(request.user.tenant_id) as conn:
            ids = [str(i) for i in sq.open_session_ids(conn, request.user.tenant_id) if i != request.user.session_id]
        revoked = services.app.end_sessions(ctx, ids, "revoked_others") if ids else 0
        services.forget_tokens()
        return Revoked(revoked=revoked)


class IdentityController(Controller):
    path = "/api/v1/me/identities"
    tags = ["sign-in"]

    @get("/", sync_to_thread=True, responses=READ_ERRORS)
    def list_identities(self, request: Request[Any, Any, Any], services: Services) -> IdentityList:
        """The identities the caller can sign in with."""
        with services.read(request.user.tenant_id) as conn:
            rows = uq.list_identities(conn, request.user.tenant_id)
        return IdentityList(items=[IdentityOut(**r) for r in rows])

    @post("/", status_code=201, sync_to_thread=True, responses={**COMMAND_ERRORS, **errors(503)})
    def link_identity(self, request: Request[Any, Any, Any], data: SignIn, services: Services,
                      ctx: CommandContext) -> IdentityOut:
        """Link another provider's identity, proven by a fresh ID token from it; 409 when it is linked already."""
        verified = verified_identity(request, services, data)
        user, identity_id = services.app.link_identity(ctx, _identity(verified))
        i = user.identities[identity_id]
        return IdentityOut(id=UUID(identity_id), provider=i["provider"], email=i["email"],
                           linked_at=datetime.fromisoformat(i["linked_at"]))

    @delete("/{identity_id:uuid}", status_code=204, sync_to_thread=True, responses=COMMAND_ERRORS)
    def unlink_identity(self, identity_id: UUID, services: Services, ctx: CommandContext) -> None:
        """Unlink one of the caller's identities; the last one cannot be unlinked (409)."""
        services.app.unlink_identity(ctx, str(identity_id))
