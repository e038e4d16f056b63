"""Sign-in commands (issue 13): sessions opened with a verified identity and ended by their user, and
the identities a user links and unlinks. The ID token is verified before (api/oidc.py); the domain is
given what it established."""
from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any
from uuid import uuid4

from domain.commands.users import hash_token
from domain.context import CommandContext
from domain.errors import SignInRefused
from domain.plumbing import Plumbing
from domain.sessions import Session, user_agent_of
from domain.shared import TenantAggregate
from domain.users import User

# Not `avm_` (API tokens) and no dot (front-end JWTs): api/auth.py tells the three apart by their form.
SESSION_PREFIX = "avms_"


def new_session_token() -> str:
    return SESSION_PREFIX + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class Identity:
    """What a verified ID token established: who (provider, subject), their verified email and name,
    and the token's SHA-256 (a sign-in spends it once)."""

    provider: str
    subject: str
    email: str
    name: str | None
    id_token_hash: bytes


class SignInCommands(Plumbing):
    def sign_in(self, ctx: CommandContext, identity: Identity, *, user_id: str | None, user_agent: str | None,
                now: datetime | None = None) -> tuple[User, Session, str]:
        """Open a session for the user `identity` is linked to (`user_id`), or, on its first sign-in,
        register a user with that identity linked. The user is the actor of its own sign-in."""
        token = new_session_token()
        changed: list[TenantAggregate] = []
        if user_id is None:
            user = User.register(email=identity.email, name=identity.name, role="user")
            identity_id = str(uuid4())
            user.link_identity(identity_id=identity_id, provider=identity.provider, subject=identity.subject,
                               email=identity.email, linked_at=(now or datetime.now(timezone.utc)).isoformat())
            changed.append(user)
        else:
            user = self.load(User, user_id, user_id)
            user.check_not_deleted()
            found = user.identity_of(identity.provider, identity.subject)
            if found is None:  # unlinked since it was looked up
                raise SignInRefused("this identity is not linked to any user")
            identity_id = found
        session = Session(tenant_id=user.tenant_id, token_hash=hash_token(token).hex(), provider=identity.provider,
                          identity_id=identity_id, id_token_hash=identity.id_token_hash.hex(),
                          user_agent=user_agent_of(user_agent))
        self._save(replace(ctx, tenant_id=user.tenant_id, actor_id=str(user.id)), *changed, session)
        return user, session, token

    def end_session(self, ctx: CommandContext, session_id: str, reason: str) -> Session:
        """End one of the caller's sessions (another tenant's is not found); ending an ended one changes nothing."""
        session, _ = self._change(ctx, Session, session_id, None, lambda s: s.end(reason))
        return session

    def end_sessions(self, ctx: CommandContext, session_ids: list[str], reason: str) -> int:
        """End these sessions of the caller's in one transaction; how many were still open."""
        def build() -> tuple[list[TenantAggregate | None], int]:
            sessions = [self.load(Session, s, ctx.tenant_id) for s in session_ids]
            open_ = [s for s in sessions if not s.ended]
            for s in open_:
                s.end(reason)
            return list(open_), len(open_)

        return self.retry_on_conflict(ctx, build, keys=session_ids)

    def link_identity(self, ctx: CommandContext, identity: Identity, now: datetime | None = None) -> tuple[User, str]:
        """Link another provider's identity to the caller; (provider, subject) is unique across users."""
        identity_id = str(uuid4())
        stamp = (now or datetime.now(timezone.utc)).isoformat()
        user, _ = self._change(ctx, User, ctx.tenant_id, None, lambda u: u.link_identity(
            identity_id=identity_id, provider=identity.provider, subject=identity.subject, email=identity.email,
            linked_at=stamp))
        return user, identity_id

    def unlink_identity(self, ctx: CommandContext, identity_id: str) -> User:
        user, _ = self._change(ctx, User, ctx.tenant_id, None, lambda u: u.unlink_identity(identity_id))
        return user

    def record_sign_in_failure(self, ctx: CommandContext, user_id: str, provider: str, reason: str) -> Any:
        """Put a refused sign-in on the trail of the user whose identity the (verified) token named."""
        user, _ = self._change(replace(ctx, tenant_id=user_id), User, user_id, None,
                               lambda u: u.record_sign_in_failure(provider, reason), tenant_id=None)
        return user
