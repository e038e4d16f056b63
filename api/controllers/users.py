"""Routes of the caller's own account and tokens, and the admin's user management."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response, delete, get, patch, post, put
from litestar.params import Parameter
from msgspec import UNSET

from api.auth import admin_only, command_context
from api.privacy import erase_tenant
from api.http import COMMAND_ERRORS, READ_ERRORS, decode_cursor, encode_cursor, errors, etag
from api.schemas import (
    ChangeRole, CreateToken, CreateUser, MeOut, TokenCreated, TokenList, TokenOut, UpdateMe, UserCreated,
    UserList, UserOut, plain,
)
from api.responses import from_row
from api.services import Services
from domain.application import CommandContext
from domain.errors import Conflict, NotFound
from domain.quotas import limits_for, usage_view
from domain.users import User
from projections.usage import used_on
from projections import users as q


def _check_confirmation(confirm: UUID, user_id: str) -> None:
    """The confirmation is required and a UUID (the schema says so: 4xx otherwise); naming another user
    than the one erased is a conflict with the request's own target, nothing is erased."""
    if confirm != UUID(str(user_id)):
        raise Conflict("the confirmation names another user than the one to erase: nothing was erased",
                       field="confirm")


def user_out(source: dict[str, Any] | User) -> UserOut:
    return from_row(UserOut, q.user_row(source) if isinstance(source, User) else source)


class MeController(Controller):
    path = "/api/v1/me"
    tags = ["users"]

    @get("/", sync_to_thread=True, responses=READ_ERRORS)
    def get_me(self, request: Request[Any, Any, Any], services: Services) -> Response[MeOut]:
        """The calling user: profile, role, settings."""
        with services.read(request.user.tenant_id) as conn:
            row = q.get_user(conn, request.user.tenant_id, request.user.user_id)
            if row is None:
                raise NotFound("user not found")
            today = datetime.now(timezone.utc).date()
            used = used_on(conn, request.user.tenant_id, today)
        usage = usage_view(today.isoformat(), used, limits_for(row["role"]))
        return Response(MeOut(**row, usage=usage), headers=etag(row["version"]))

    @patch("/", sync_to_thread=True, responses=COMMAND_ERRORS)
    def update_me(self, data: UpdateMe, services: Services,
                  ctx: CommandContext, expected_version: int | None) -> Response[UserOut]:
        """Change name, image, or settings (merged section by section)."""
        changes = {k: plain(v) for k, v in (("name", data.name), ("image", data.image), ("settings", data.settings))
                   if v is not UNSET}
        user = services.app.update_me(ctx, expected_version=expected_version, **changes)
        return Response(user_out(user), headers=etag(user.version))

    @delete("/", status_code=204, sync_to_thread=True, responses=COMMAND_ERRORS)
    def erase_me(self, services: Services, ctx: CommandContext,
                 confirm: Annotated[UUID, Parameter(description=(
                     "Your own user id: the explicit confirmation that every personal field of your account"
                     " is to be erased, for good (another id: 409)"))]) -> None:
        """Erase the caller's account (issue 15): its data key is destroyed, so its personal data (email,
        name, titles, texts, prompts, metadata) becomes unreadable everywhere, its sessions and tokens
        end; non-personal facts and the hash chain stay."""
        _check_confirmation(confirm, ctx.tenant_id)
        erase_tenant(services, UUID(ctx.tenant_id), ctx)

    @post("/tokens", status_code=201, sync_to_thread=True, responses=COMMAND_ERRORS)
    def create_token(self, data: CreateToken, services: Services, ctx: CommandContext) -> TokenCreated:
        """Issue a new API token; the token is shown only in this response."""
        user, token_id, token = services.app.issue_token(ctx, name=data.name,
                                                         expires_in_days=data.expires_in_days)
        t = user.tokens[token_id]
        return TokenCreated(id=UUID(token_id), name=t["name"], prefix=t["prefix"], created_at=t["issued_at"],
                            expires_at=t["expires_at"], token=token)

    @get("/tokens", sync_to_thread=True, responses=READ_ERRORS)
    def list_tokens(self, request: Request[Any, Any, Any], services: Services) -> TokenList:
        """The caller's tokens (never the token itself)."""
        with services.read(request.user.tenant_id) as conn:
            rows = q.list_tokens(conn, request.user.tenant_id)
        return TokenList(items=[TokenOut(**r) for r in rows])

    @delete("/tokens/{token_id:uuid}", status_code=204, sync_to_thread=True, responses=COMMAND_ERRORS)
    def revoke_token(self, token_id: UUID, services: Services, ctx: CommandContext) -> None:
        """Revoke one of the caller's tokens; it stops working at once."""
        services.app.revoke_token(ctx, str(token_id))
        services.forget_tokens()


class AdminUserController(Controller):
    path = "/api/v1/admin/users"
    tags = ["admin"]
    guards = [admin_only]

    @post("/", status_code=201, sync_to_thread=True, responses={**COMMAND_ERRORS, **errors(403)})
    def create_user(self, data: CreateUser, services: Services, ctx: CommandContext) -> Response[UserCreated]:
        """Create a user (a tenant) with a first token (admin)."""
        user, token = services.app.register_user(ctx, email=data.email, name=data.name,
                                                 role=data.role)
        return Response(UserCreated(user=user_out(user), token=token), status_code=201,
                        headers={**etag(user.version), "Location": f"{self.path}/{user.id}"})

    @get("/{user_id:uuid}", sync_to_thread=True, responses={**READ_ERRORS, **errors(403)})
    def get_user(self, request: Request[Any, Any, Any], user_id: UUID, services: Services) -> Response[UserOut]:
        """Read any user (admin); recorded on that user's audit trail."""
        with services.read(scope="admin") as conn:
            row = q.get_user(conn, user_id, user_id)
        if row is None:
            raise NotFound("user not found")
        if user_id != request.user.tenant_id:
            services.app.record_access(command_context(request), str(user_id), action="read", resource="user",
                                       details={"path": request.url.path})
        row.pop("default_preset_id", None)
        return Response(UserOut(**row), headers=etag(row["version"]))

    @get("/", sync_to_thread=True, responses={**READ_ERRORS, **errors(403)})
    def list_users(self, services: Services,
                   limit: Annotated[int, Parameter(ge=1, le=100)] = 20,
                   cursor: Annotated[str | None, Parameter(max_length=200)] = None) -> UserList:
        """Every user, oldest first (admin)."""
        with services.read(scope="admin") as conn:
            rows = q.list_users(conn, limit + 1, decode_cursor(cursor))
        more = len(rows) > limit
        rows = rows[:limit]
        return UserList(items=[UserOut(**r) for r in rows],
                        next_cursor=encode_cursor(rows[-1]["created_at"], rows[-1]["id"]) if more else None)

    @delete("/{user_id:uuid}", status_code=204, sync_to_thread=True, responses={**COMMAND_ERRORS, **errors(403)})
    def erase_user(self, user_id: UUID, services: Services, ctx: CommandContext,
                   confirm: Annotated[UUID, Parameter(description=(
                       "The user's id again: the explicit confirmation of the erasure (another id: 409)"))]) -> None:
        """Erase a user's personal data (admin; issue 15): as `DELETE /me`, with the admin as actor.
        Erasing an erased user again changes nothing."""
        _check_confirmation(confirm, str(user_id))
        erase_tenant(services, user_id, ctx)

    @put("/{user_id:uuid}/role", sync_to_thread=True, responses={**COMMAND_ERRORS, **errors(403)})
    def change_role(self, user_id: UUID, data: ChangeRole,
                    services: Services, ctx: CommandContext) -> UserOut:
        """Change a user's role (admin); recorded with the admin as actor."""
        user = services.app.change_role(ctx, str(user_id), data.role)
        services.forget_tokens()
        return user_out(user)
