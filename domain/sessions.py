"""The Session aggregate: a person signed in through an identity provider, until they sign out or it is revoked."""
from __future__ import annotations

from eventsourcing.domain import event

from domain.errors import ValidationProblem
from domain.shared import TenantAggregate

END_REASONS = ("logout", "revoked", "revoked_others", "erased")
MAX_USER_AGENT_CHARS = 256


def user_agent_of(value: str | None) -> str | None:
    """A User-Agent as it is kept: printable characters only, at most MAX_USER_AGENT_CHARS (it is
    descriptive, sent by the browser: trimmed rather than refused)."""
    if not value:
        return None
    kept = "".join(c for c in value if c.isprintable())[:MAX_USER_AGENT_CHARS].strip()
    return kept or None


class Session(TenantAggregate):
    """A session of a user (its tenant), opened by a sign-in with a linked identity.

    Lifecycle: Started, then at most one Ended (logout, revoked, revoked_others, erased). Invariants: only
    the SHA-256 of the session token and of the ID token it was opened with are recorded, never a
    token; an ended session never starts again. Its sliding expiry is not an event (see
    docs/decisions/i13-signin.md): it is kept beside the read model and checked on every use.
    """

    @event("Started")
    def __init__(self, tenant_id: str, token_hash: str, provider: str, identity_id: str,
                 id_token_hash: str, user_agent: str | None) -> None:
        self.tenant_id = tenant_id
        self.token_hash = token_hash
        self.provider = provider
        self.identity_id = identity_id
        self.id_token_hash = id_token_hash
        self.user_agent = user_agent
        self.ended_reason: str | None = None

    @property
    def ended(self) -> bool:
        return self.ended_reason is not None

    def end(self, reason: str) -> None:
        if reason not in END_REASONS:
            raise ValidationProblem(f"reason must be one of {', '.join(END_REASONS)}", field="reason")
        if not self.ended:
            self._end(reason=reason)

    @event("Ended")
    def _end(self, reason: str) -> None:
        self.ended_reason = reason
