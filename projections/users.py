"""The users read model: users and their API tokens (hashes only), and the queries over them."""
from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg.types.json import Jsonb

from domain.users import User
from projections.base import InlineProjection


class UsersProjection(InlineProjection):
    name = "users"
    handles = (User,)
    single_row = False  # users is one row, api_tokens many: replace both
    tables = {
        "users": (("tenant_id", "id", "email", "name", "image", "role", "settings", "default_preset_id",
                   "version", "created_at", "updated_at", "deleted_at"), ("tenant_id", "id")),
        "api_tokens": (("tenant_id", "id", "name", "token_hash", "prefix", "created_at",
                        "expires_at", "revoked_at"), ("tenant_id",)),
    }

    def rows(self, user: Any) -> dict[str, list[tuple[Any, ...]]]:
        tenant = UUID(user.tenant_id)
        return {
            "users": [(tenant, user.id, user.email, user.name, user.image, user.role, Jsonb(user.settings),
                       UUID(user.default_preset_id) if user.default_preset_id else None,
                       user.version, user.created_on, user.modified_on, user.deleted_at)],
            "api_tokens": [
                (tenant, UUID(token_id), t["name"], bytes.fromhex(t["token_hash"]), t["prefix"],
                 datetime.fromisoformat(t["issued_at"]),
                 datetime.fromisoformat(t["expires_at"]) if t["expires_at"] else None,
                 datetime.fromisoformat(t["revoked_at"]) if t["revoked_at"] else None)
                for token_id, t in user.tokens.items()
            ],
        }


USER_COLUMNS = "id, email, name, image, role, settings, version, created_at, updated_at"
ME_COLUMNS = USER_COLUMNS + ", default_preset_id"


def get_user(conn: Any, tenant_id: UUID, user_id: UUID) -> dict[str, Any] | None:
    return conn.execute(
        f"SELECT {ME_COLUMNS} FROM users WHERE tenant_id = %s AND id = %s AND deleted_at IS NULL",
        (tenant_id, user_id), prepare=True).fetchone()


def principal_for_token(conn: Any, token_hash: bytes) -> dict[str, Any] | None:
    """The user behind a token hash if the token is live (not revoked, not expired)."""
    return conn.execute(
        "SELECT u.id, u.tenant_id, u.role, u.email, t.id AS token_id FROM api_tokens t"
        " JOIN users u ON u.tenant_id = t.tenant_id AND u.id = t.tenant_id"
        " WHERE t.token_hash = %s AND t.revoked_at IS NULL"
        " AND (t.expires_at IS NULL OR t.expires_at > now()) AND u.deleted_at IS NULL",
        (token_hash,), prepare=True).fetchone()


def list_tokens(conn: Any, tenant_id: UUID) -> list[dict[str, Any]]:
    return conn.execute(
        "SELECT id, name, prefix, created_at, expires_at, revoked_at FROM api_tokens"
        " WHERE tenant_id = %s ORDER BY created_at, id", (tenant_id,)).fetchall()


def list_users(conn: Any, limit: int, after: tuple[datetime, UUID] | None) -> list[dict[str, Any]]:
    """Every tenant's user (admin only): keyset-paginated by creation."""
    if after:
        return conn.execute(
            f"SELECT {USER_COLUMNS} FROM users WHERE (created_at, id) > (%s, %s)"
            " ORDER BY created_at, id LIMIT %s", (*after, limit)).fetchall()
    return conn.execute(f"SELECT {USER_COLUMNS} FROM users ORDER BY created_at, id LIMIT %s",
                        (limit,)).fetchall()


def find_user_by_email(conn: Any, email: str) -> dict[str, Any] | None:
    return conn.execute(f"SELECT tenant_id, {USER_COLUMNS} FROM users WHERE lower(email) = lower(%s)",
                        (email,)).fetchone()
