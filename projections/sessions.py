"""The sessions read model: a user's sign-in sessions (token hashes only), their sliding expiry, and the queries."""
from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

from domain.sessions import Session
from projections.base import InlineProjection, RowMapping, map_row

SESSION_ROW: RowMapping = {
    "tenant_id": lambda s: UUID(s.tenant_id),
    "id": lambda s: s.id,
    "token_hash": lambda s: bytes.fromhex(s.token_hash),
    "provider": lambda s: s.provider,
    "identity_id": lambda s: UUID(s.identity_id),
    "id_token_hash": lambda s: bytes.fromhex(s.id_token_hash),
    "user_agent": lambda s: s.user_agent,
    "created_at": lambda s: s.created_on,
    # An ended session accepts no event, so its last change is the end.
    "ended_at": lambda s: s.modified_on if s.ended else None,
    "ended_reason": lambda s: s.ended_reason,
}


class SessionsProjection(InlineProjection):
    name = "sessions"
    handles = (Session,)
    tables = {"sessions": (tuple(SESSION_ROW), ("tenant_id", "id"))}

    def rows(self, session: Any) -> dict[str, list[tuple[Any, ...]]]:
        return {"sessions": [self.as_tuple("sessions", map_row(SESSION_ROW, session))]}


# When a live session expires: its sliding expiry (session_activity), else `idle` after it started;
# never later than `absolute` after it started.
_EXPIRES = ("LEAST(COALESCE(a.expires_at, s.created_at + %(idle)s), s.created_at + %(absolute)s)")
_LIVE = f"s.ended_at IS NULL AND {_EXPIRES} > now()"
_ACTIVITY = "LEFT JOIN session_activity a ON a.tenant_id = s.tenant_id AND a.session_id = s.id"


def principal_for_session(conn: Any, token_hash: bytes, idle: timedelta, absolute: timedelta) -> dict[str, Any] | None:
    """The user behind a live session token's hash (scope `auth`): id, tenant, role, the session,
    its token hash and when it expires."""
    return conn.execute(  # type: ignore[no-any-return]
        f"SELECT u.id, u.tenant_id, u.role, s.id AS session_id, s.token_hash, {_EXPIRES} AS expires_at"
        f" FROM sessions s {_ACTIVITY} JOIN users u ON u.tenant_id = s.tenant_id AND u.id = s.tenant_id"
        f" WHERE s.token_hash = %(hash)s AND {_LIVE} AND u.deleted_at IS NULL",
        {"hash": token_hash, "idle": idle, "absolute": absolute}, prepare=True).fetchone()


def slide(conn: Any, tenant_id: UUID, session_id: UUID, expires_at: Any) -> None:
    """Push a session's expiry forward (not a read model: the session is used, nothing happened to it)."""
    conn.execute("INSERT INTO session_activity (tenant_id, session_id, expires_at) VALUES (%s, %s, %s)"
                 " ON CONFLICT (tenant_id, session_id) DO UPDATE SET expires_at = GREATEST("
                 "session_activity.expires_at, EXCLUDED.expires_at)", (tenant_id, session_id, expires_at), prepare=True)


def list_sessions(conn: Any, tenant_id: UUID, idle: timedelta, absolute: timedelta) -> list[dict[str, Any]]:
    """The tenant's live sessions, newest first."""
    return conn.execute(  # type: ignore[no-any-return]
        f"SELECT s.id, s.provider, s.user_agent, s.created_at, {_EXPIRES} AS expires_at FROM sessions s {_ACTIVITY}"
        f" WHERE s.tenant_id = %(tenant)s AND {_LIVE} ORDER BY s.created_at DESC, s.id DESC LIMIT 1000",
        {"tenant": tenant_id, "idle": idle, "absolute": absolute}).fetchall()


def open_session_ids(conn: Any, tenant_id: UUID) -> list[UUID]:
    """Every session of the tenant not ended yet (expired ones included: ending them costs nothing)."""
    return [r["id"] for r in conn.execute(
        "SELECT id FROM sessions WHERE tenant_id = %s AND ended_at IS NULL ORDER BY created_at, id LIMIT 1000",
        (tenant_id,)).fetchall()]
