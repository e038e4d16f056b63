"""The users read model: users and their API tokens (hashes only), and the queries over them."""
from __future__ import annotations

from datetime import datetime
from operator import attrgetter
from typing import Any
from uuid import UUID

from domain.redaction import erased_email
from domain.users import User, readable_settings
from eventstore.sealing import REDACTED
from projections.base import InlineProjection, RowMapping, map_row, select_list

USER_ROW: RowMapping = {
    "tenant_id": lambda u: UUID(u.tenant_id),
    "id": attrgetter("id"),
    # An email that no longer reads (its tenant's data key is gone) must not collide with another's.
    "email": lambda u: erased_email(u.id) if u.email == REDACTED else u.email,
    "name": attrgetter("name"),
    "image": attrgetter("image"),
    "role": attrgetter("role"),
    "settings": lambda u: readable_settings(u.settings),
    "default_preset_id": lambda u: UUID(u.default_preset_id) if u.default_preset_id else None,
    "version": attrgetter("version"),
    "created_at": attrgetter("created_on"),
    "updated_at": attrgetter("modified_on"),
    "deleted_at": attrgetter("deleted_at"),
}
TOKEN_COLUMNS = ("tenant_id", "id", "name", "token_hash", "prefix", "created_at", "expires_at", "revoked_at")
IDENTITY_COLUMNS = ("tenant_id", "id", "provider", "subject", "email", "linked_at")


def user_row(u: User) -> dict[str, Any]:
    """The user's row of the users table (also what the API answers for a user it holds)."""
    return map_row(USER_ROW, u)


def token_rows(u: User) -> list[dict[str, Any]]:
    """The user's rows of the api_tokens table (hashes only)."""
    tenant = UUID(u.tenant_id)
    return [dict(zip(TOKEN_COLUMNS, (
        tenant, UUID(token_id), t["name"], bytes.fromhex(t["token_hash"]), t["prefix"],
        datetime.fromisoformat(t["issued_at"]),
        datetime.fromisoformat(t["expires_at"]) if t["expires_at"] else None,
        datetime.fromisoformat(t["revoked_at"]) if t["revoked_at"] else None)))
        for token_id, t in u.tokens.items()]


def identity_rows(u: User) -> list[dict[str, Any]]:
    """The user's rows of the identities table: its linked sign-in identities."""
    tenant = UUID(u.tenant_id)
    return [dict(zip(IDENTITY_COLUMNS, (tenant, UUID(identity_id), i["provider"], i["subject"], i["email"],
                                        datetime.fromisoformat(i["linked_at"]))))
            for identity_id, i in getattr(u, "identities", {}).items()
            if i["subject"] != REDACTED]  # unreadable (no key): no sign-in can match it, and it is not unique


class UsersProjection(InlineProjection):
    name = "users"
    handles = (User,)
    single_row = False  # users is one row, api_tokens and identities many: replace them all
    tables = {"users": (tuple(USER_ROW), ("tenant_id", "id")), "api_tokens": (TOKEN_COLUMNS, ("tenant_id",)),
              "identities": (IDENTITY_COLUMNS, ("tenant_id",))}
    json_columns = frozenset({"settings"})

    def rows(self, user: Any) -> dict[str, list[tuple[Any, ...]]]:
        return {"users": [self.as_tuple("users", user_row(user))],
                "api_tokens": [self.as_tuple("api_tokens", row) for row in token_rows(user)],
                "identities": [self.as_tuple("identities", row) for row in identity_rows(user)]}


USER_COLUMNS = select_list(USER_ROW, without=("tenant_id", "default_preset_id", "deleted_at"))
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


def principal_for_user(conn: Any, *, user_id: UUID | None = None, email: str | None = None) -> dict[str, Any] | None:
    """The live (not deleted) user with that id, or that email (any case; emails are unique), for
    a front-end JWT: its id, tenant and role."""
    if user_id is not None:
        return conn.execute("SELECT id, tenant_id, role FROM users WHERE id = %s AND tenant_id = %s"
                            " AND deleted_at IS NULL", (user_id, user_id), prepare=True).fetchone()
    return conn.execute("SELECT id, tenant_id, role FROM users WHERE lower(email) = lower(%s)"
                        " AND deleted_at IS NULL", (email,), prepare=True).fetchone()


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


def user_of_identity(conn: Any, provider: str, subject: str) -> UUID | None:
    """The user an identity is linked to (any tenant: the sign-in lookup, scope `auth`)."""
    row = conn.execute("SELECT tenant_id FROM identities WHERE provider = %s AND subject = %s",
                       (provider, subject), prepare=True).fetchone()
    return None if row is None else row["tenant_id"]  # type: ignore[no-any-return]


def list_identities(conn: Any, tenant_id: UUID) -> list[dict[str, Any]]:
    return conn.execute("SELECT id, provider, email, linked_at FROM identities WHERE tenant_id = %s"
                        " ORDER BY linked_at, id", (tenant_id,)).fetchall()
