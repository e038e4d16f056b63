"""User commands: register, tokens, profile, role, and the record of an admin's access."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta, timezone
from collections.abc import Sequence
from typing import Any
from uuid import uuid4

from domain.access import Access
from domain.context import CommandContext
from domain.errors import ValidationProblem
from domain.plumbing import Plumbing, Write
from domain.shared import TenantAggregate
from domain.users import User

TOKEN_PREFIX = "avm_"


def hash_token(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


class UserCommands(Plumbing):
    def register_user(self, ctx: CommandContext, *, email: str, name: str | None, role: str,
                      token_name: str = "default", expires_in_days: int | None = None,
                      now: datetime | None = None) -> tuple[User, str]:
        def build() -> tuple[list[TenantAggregate], tuple[User, str]]:
            user = User.register(email=email, name=name, role=role)
            return [user], (user, self._issue(user, token_name, expires_in_days, now))

        # An email already taken is refused by the save (EmailTaken). The user is a tenant of its
        # own: its events are recorded as that tenant's (`_save` takes each aggregate's tenant).
        user, token = self.retry_on_conflict(ctx, build)
        return user, token

    def _issue(self, user: User, name: str, expires_in_days: int | None, now: datetime | None) -> str:
        now = now or datetime.now(timezone.utc)
        if expires_in_days is not None and not 1 <= expires_in_days <= 3650:
            raise ValidationProblem("must be between 1 and 3650", field="expires_in_days")
        token = new_token()
        user.issue_token(
            token_id=str(uuid4()), name=name, token_hash=hash_token(token).hex(), prefix=token[:8],
            issued_at=now.isoformat(),
            expires_at=(now + timedelta(days=expires_in_days)).isoformat() if expires_in_days else None,
        )
        return token

    def issue_token(self, ctx: CommandContext, *, name: str, expires_in_days: int | None = None,
                    now: datetime | None = None) -> tuple[User, str, str]:
        def issue(user: User) -> str:
            return self._issue(user, name, expires_in_days, now)

        user, token = self._change(ctx, User, ctx.tenant_id, None, issue)
        token_id = next(t for t, v in user.tokens.items() if v["token_hash"] == hash_token(token).hex())
        return user, token_id, token

    def revoke_token(self, ctx: CommandContext, token_id: str, now: datetime | None = None) -> User:
        stamp = (now or datetime.now(timezone.utc)).isoformat()
        user, _ = self._change(ctx, User, ctx.tenant_id, None, lambda u: u.revoke_token(token_id, stamp))
        return user

    def update_me(self, ctx: CommandContext, expected_version: int | None, *, name: str | None = None,
                  image: str | None = None, settings: dict[str, Any] | None = None) -> User:
        user, _ = self._change(ctx, User, ctx.tenant_id, expected_version,
                               lambda u: u.update_profile(name=name, image=image, settings=settings))
        return user

    def change_role(self, ctx: CommandContext, user_id: str, role: str) -> User:
        user, _ = self._change(ctx, User, user_id, None, lambda u: u.change_role(role), tenant_id=None)
        return user

    # -- bring-your-own model keys: the key itself never reaches the domain ----------------------
    def set_model_key(self, ctx: CommandContext, provider: str, *, last4: str, fingerprint: str,
                      writes: Sequence[Write] = (), now: datetime | None = None) -> tuple[User, bool]:
        """Record the caller's key for `provider` (True: there was none). `writes` store its ciphertext in
        the same transaction as the event, and only when an event is recorded."""
        stamp = (now or datetime.now(timezone.utc)).isoformat()
        return self._change(ctx, User, ctx.tenant_id, None, lambda u: u.set_model_key(
            provider, last4=last4, fingerprint=fingerprint, set_at=stamp), writes=writes)

    def remove_model_key(self, ctx: CommandContext, provider: str, *, writes: Sequence[Write] = ()) -> User:
        user, _ = self._change(ctx, User, ctx.tenant_id, None, lambda u: u.remove_model_key(provider), writes=writes)
        return user

    # -- erasure (issue 15) -----------------------------------------------------------------------
    def erase_user(self, ctx: CommandContext, user_id: str, aggregate_ids: Sequence[Any], *,
                   writes: Sequence[Write] = (), now: datetime | None = None) -> User:
        """Append the user's non-personal `User.Erased`, end its open sessions, and rewrite the read
        models of every aggregate of the tenant (`aggregate_ids`) from their state as loaded now: the
        caller has made the tenant's sealed fields unreadable first, so they load redacted, exactly as
        a rebuild will fold them. `writes` (destroying the data key) join the same transaction."""
        from domain.jobs import Job
        from domain.sessions import Session

        stamp = (now or datetime.now(timezone.utc)).isoformat()

        self.forget_cached()  # nothing of the tenant may come from a copy loaded with its key
        user = self.load(User, user_id, None)
        user.erase(stamp)
        loaded: dict[str, Any] = {}
        for aggregate_id in aggregate_ids:
            if str(aggregate_id) == str(user.id):
                continue
            try:
                aggregate = self.repository.get(aggregate_id)
            except Exception:  # noqa: BLE001 - no aggregate this code folds (a rebuild skips it too)
                continue
            if getattr(aggregate, "tenant_id", None) == user.tenant_id:
                loaded[str(aggregate.id)] = aggregate
        changed: dict[str, Any] = {str(user.id): user}
        when = now or datetime.now(timezone.utc)
        for key, aggregate in loaded.items():
            if isinstance(aggregate, Session) and not aggregate.ended:
                aggregate.end("erased")
                changed[key] = aggregate
            elif isinstance(aggregate, Job) and aggregate.active:
                # No render of an erased tenant's data: its queued and running jobs are cancelled.
                aggregate.cancel(when)
                changed[key] = aggregate
                project = loaded.get(str(aggregate.project_id))
                if project is not None:
                    project.job_ended(key, "cancelled")
                    changed[str(project.id)] = project
        # Every read model of every aggregate, whatever its events' topics touch: all of them hold fields
        # that now read redacted.
        rewrites = list(self.inline_writes(list(loaded.values()), ())) if self.inline_writes is not None else []
        self._save(ctx, *changed.values(), writes=[*rewrites, *writes])
        return user

    # -- admin access ---------------------------------------------------------------------------
    def record_access(self, ctx: CommandContext, tenant_id: str, *, action: str, resource: str,
                      details: dict[str, Any] | None = None) -> Access:
        """Put an admin's read of `tenant_id`'s data on that tenant's audit trail (actor: the admin)."""
        access = Access(tenant_id=tenant_id, action=action, resource=resource, details=details or {})
        self._save(ctx.for_tenant(tenant_id), access)
        return access
