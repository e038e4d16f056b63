"""The composition root's objects (built by api/composition.py): the database, the application, the read pool, and token auth."""
from __future__ import annotations

import hmac
import logging
import os
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection, Connection

from api.composition import build_application, wire_reads, wire_sealing
from api.envvars import whole_number
from api.frontend_jwt import ACCEPTED, REJECTED, FrontendJwt, Rejected, is_jwt
from api.model_keys import stored_count
from api.oidc import Providers
from api.media import MediaStore, media_store
from domain.application import hash_token
from domain.commands.signin import SESSION_PREFIX
from eventstore.database import Database, open_database
from eventstore.keyring import Keyring, configured_secret, load_keyring
from eventstore.recorder import SYSTEM_ROLE
from eventstore.statements import SCOPE, set_config_sql
from projections.sessions import principal_for_session, slide
from projections.users import principal_for_token, principal_for_user

VERSION = "0.1.0"
log = logging.getLogger("avm.auth")
TOKEN_CACHE_SECONDS = float(os.environ.get("AVM_TOKEN_CACHE_SECONDS", "1.0"))


@dataclass(frozen=True)
class Principal:
    """Who is calling: the authenticated user (the tenant) and its role."""

    user_id: UUID
    tenant_id: UUID
    role: str
    token_id: UUID | None  # None: authenticated by a front-end JWT (api/frontend_jwt.py) or a session
    session_id: UUID | None = None  # set: authenticated by a sign-in session (api/controllers/signin.py)


def _seconds(name: str, default: int) -> timedelta:
    raw = os.environ.get(name, "").strip()
    if raw and (not raw.isascii() or not raw.isdigit() or not 60 <= int(raw) <= 400 * 86_400):
        raise ValueError(f"{name} must be a whole number of seconds from 60 to {400 * 86_400}, not {raw!r}")
    return timedelta(seconds=int(raw or default))


@dataclass(frozen=True)
class SessionSettings:
    """A session lives `idle` after its last use (sliding), and never longer than `absolute`."""

    idle: timedelta
    absolute: timedelta

    @classmethod
    def from_environment(cls) -> SessionSettings:
        idle = _seconds("AVM_SESSION_IDLE_SECONDS", 14 * 86_400)
        return cls(idle=idle, absolute=max(idle, _seconds("AVM_SESSION_MAX_SECONDS", 90 * 86_400)))

    @property
    def slide_every(self) -> timedelta:
        """How stale a session's expiry may get before a use pushes it forward (one write a minute at most)."""
        return min(timedelta(seconds=60), self.idle / 2)


def app_url(owner_url: str) -> str:
    """How the service connects: AVM_APP_DATABASE_URL when given, else the owner's URL with the
    login role `avm_app` (no password: the server must trust it, as the embedded one does; set
    AVM_APP_DATABASE_URL with a password elsewhere). AVM_DB_LOGIN=owner keeps the owner's login
    and only `SET ROLE avm_app` on each connection."""
    explicit = os.environ.get("AVM_APP_DATABASE_URL")
    if explicit:
        return explicit
    if os.environ.get("AVM_DB_LOGIN", "app") == "owner":
        return owner_url
    return _login_as(owner_url, "avm_app")


def projector_url(owner_url: str) -> str:
    """How the asynchronous views connect: AVM_PROJECTOR_DATABASE_URL when given, else the
    database URL with the login role `avm_projector` (only what the views need; see migration 0009)."""
    return os.environ.get("AVM_PROJECTOR_DATABASE_URL") or _login_as(owner_url, "avm_projector")


def _login_as(url: str, role: str) -> str:
    """`url` logging in as `role`: unchanged when it already does (e.g. DATABASE_URL holds only that
    role's credentials, as in docker-compose.yml), else the same server without a password."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    if conninfo_to_dict(url).get("user") == role:
        return url
    return make_conninfo(url, user=role, password="")


_SCOPE_SQL = set_config_sql(*SCOPE)
_SYSTEM_SCOPE_SQL = set_config_sql(*SCOPE, values={"role": SYSTEM_ROLE})


def read_pool_size() -> int:
    """AVM_READ_POOL_SIZE: connections of the event loop's read pool (AsyncReads), per process."""
    return whole_number(os.environ, "AVM_READ_POOL_SIZE", 4, 1, 100)


class AsyncReads:
    """The hot reads on the event loop, with no thread hop (issue 17): an async pool of the service's
    own login and role, and a read scoped to one tenant by the same `_SCOPE_SQL` as `Services.read`.

    The scope and the query share one round trip and no BEGIN/COMMIT: the connections are in
    autocommit, and a read is one pipeline (psycopg's pipeline mode) with no Sync between the
    `set_config(…, true)` and the queries, so PostgreSQL runs them in one implicit transaction
    (the extended protocol closes it at the Sync the pipeline sends on exit): the setting is the
    transaction's, gone when it ends, exactly as in `Services.read`'s explicit one. Row-level
    security is still what isolates tenants: a query that ran without the setting would see no row.

    Bound to the event loop that opened it: each app opens its own (api/app.py's lifespan) and
    closes it at shutdown. A connection lent past `timeout` (all busy) or one the server refuses
    raises PoolTimeout or OperationalError: 503 like the sync pool's (api/problems.py)."""

    def __init__(self, url: str, *, size: int, role: str | None) -> None:
        from psycopg import sql
        from psycopg.rows import dict_row
        from psycopg_pool import AsyncConnectionPool

        timeout = float(os.environ.get("AVM_DB_CONNECT_TIMEOUT", "5"))
        statement_timeout = int(os.environ.get("AVM_DB_STATEMENT_TIMEOUT_MS", "5000"))
        settings = [sql.SQL("SET statement_timeout = {}").format(sql.Literal(statement_timeout)),
                    sql.SQL("SET idle_in_transaction_session_timeout = '10s'")]
        if role:
            settings.insert(0, sql.SQL("SET ROLE {}").format(sql.Identifier(role)))

        async def configure(conn: AsyncConnection[Any]) -> None:
            for statement in settings:  # as the sync pool's connections (eventstore/recorder.py)
                await conn.execute(statement)

        self.size = size
        self.pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
            url, kwargs={"row_factory": dict_row, "autocommit": True, "connect_timeout": max(1, int(timeout))},
            min_size=size, max_size=size, open=False, configure=configure, timeout=timeout, name="avm-reads")

    async def open(self) -> None:
        await self.pool.open(wait=False)  # connects in the background: a start with the database down still starts

    async def close(self) -> None:
        await self.pool.close(timeout=5)

    @asynccontextmanager
    async def read(self, tenant_id: UUID | str) -> AsyncIterator[AsyncConnection[Any]]:
        """A pooled connection in a pipeline scoped to one tenant; the caller's statements run in its
        implicit transaction (fetching a result flushes, it does not end it)."""
        tenant = str(tenant_id)
        async with self.pool.connection() as conn, conn.pipeline():
            await conn.execute(_SCOPE_SQL, (tenant, "", tenant), prepare=True)
            yield conn

    async def fetch(self, tenant_id: UUID | str, query: str, params: Any) -> list[Any]:
        """The rows of one statement in the tenant's scope: the scope, the statement and the Sync sent in one
        write, the answers read in one (one round trip; `read` waits once more, for its Sync at the end)."""
        tenant = str(tenant_id)
        async with self.pool.connection() as conn, conn.pipeline() as pipeline:
            await conn.execute(_SCOPE_SQL, (tenant, "", tenant), prepare=True)
            cursor = await conn.execute(query, params, prepare=True)
            await pipeline.sync()  # ends the implicit transaction: nothing may run after it in this scope
            return await cursor.fetchall()


class Services:
    """Long-lived objects shared by every request; built once per process."""

    def __init__(self, db: Database, *, pool_size: int | None = None) -> None:
        # Read first: a setting it refuses stops the start before any connection is opened.
        self.frontend_jwt = FrontendJwt.from_environment()
        secret = configured_secret()
        self._keyring: Keyring | None = Keyring.from_text(secret) if secret is not None else None
        self._keyring_lock = threading.Lock()
        self.oidc = Providers.from_environment()
        self.sessions = SessionSettings.from_environment()
        self.db = db
        self.app_url = app_url(db.url)
        self.app = build_application(self.app_url, pool_size=pool_size or int(os.environ.get("AVM_POOL_SIZE", "10")))
        self.pool = self.app.factory.datastore.pool  # type: ignore[attr-defined]
        wire_reads(self)
        self.data_keys: Any = None
        wire_sealing(self)  # personal fields sealed with the tenant's data key (eventstore/sealing.py)
        self._tokens: dict[bytes, tuple[Principal | None, float]] = {}
        self.media: MediaStore = media_store()  # the bytes of job outputs (api/media.py)

    @classmethod
    def from_environment(cls) -> Services:
        return cls(open_database())

    @contextmanager
    def read(self, tenant_id: UUID | str | None = None, *, scope: str | None = None) -> Iterator[Connection[Any]]:
        """A pooled connection in a transaction scoped to one tenant (row-level security keys on
        `app.tenant_id`), or to a named cross-tenant scope (`admin`, `worker`, `system`) for the
        few reads that span tenants by design. The `system` scope is a role, not a setting: the
        transaction switches to avm_system (setting `app.scope` to 'system' grants nothing)."""
        if tenant_id is None and scope is None:
            raise ValueError("a read needs a tenant or a cross-tenant scope")
        with self.app.factory.datastore.get_connection() as conn, conn.transaction():  # type: ignore[attr-defined]
            conn.execute(_SYSTEM_SCOPE_SQL if scope == "system" else _SCOPE_SQL,
                         (str(tenant_id) if tenant_id else "", scope or "", str(tenant_id) if tenant_id else ""),
                         prepare=True)
            yield conn

    def authenticate(self, token: str, digest: bytes | None = None) -> Principal | None:
        """The principal behind a live token. Answers are cached for TOKEN_CACHE_SECONDS, so a
        revocation or role change made by another process takes effect within that time (this
        process forgets its cache at once, see forget_tokens)."""
        digest = digest or hash_token(token)
        known, principal = self.cached_principal(token, digest)
        if known:
            return principal
        if is_jwt(token):
            return self._authenticate_jwt(token, digest)
        if token.startswith(SESSION_PREFIX):
            return self._authenticate_session(digest)
        now = time.monotonic()
        with self.read(scope="auth") as conn:
            row = principal_for_token(conn, digest)
        principal = None if row is None else Principal(
            user_id=row["id"], tenant_id=row["tenant_id"], role=row["role"], token_id=row["token_id"])
        if len(self._tokens) >= 10_000:
            self._tokens.clear()
        self._tokens[digest] = (principal, now + TOKEN_CACHE_SECONDS)
        return principal

    def cached_principal(self, token: str, digest: bytes | None = None) -> tuple[bool, Principal | None]:
        """(True, answer) when the token's answer is known without the database: a malformed
        token, or an answer cached less than TOKEN_CACHE_SECONDS ago; else (False, None). Cheap
        enough for the event loop, so a cached token costs no thread hop."""
        api_token = token.startswith(("avm_", SESSION_PREFIX)) and len(token) <= 200
        if not api_token and not (self.frontend_jwt is not None and is_jwt(token)):
            return True, None
        cached = self._tokens.get(digest or hash_token(token))
        if cached is not None and cached[1] > time.monotonic():
            return True, cached[0]
        return False, None

    def _authenticate_jwt(self, token: str, digest: bytes) -> Principal | None:
        """The user a front-end JWT names, if it verifies and that user exists (not deleted); the
        role is the user's. Only answers that found a user are cached, and never past the token's
        `exp`; a refusal is counted by reason and logged (never the token)."""
        assert self.frontend_jwt is not None
        try:
            claimed = self.frontend_jwt.verify(token)
            now, wall = time.monotonic(), time.time()
            with self.read(scope="auth") as conn:
                row = principal_for_user(conn, user_id=claimed.user_id, email=claimed.email)
            if row is None:
                raise Rejected("unknown_user", f"no live user {claimed.user_id or claimed.email}")
        except Rejected as rejected:
            REJECTED.labels(reason=rejected.reason).inc()
            log.info("front-end JWT rejected: %s", rejected)
            return None
        ACCEPTED.inc()
        principal = Principal(user_id=row["id"], tenant_id=row["tenant_id"], role=row["role"], token_id=None)
        if len(self._tokens) >= 10_000:
            self._tokens.clear()
        self._tokens[digest] = (principal, now + min(TOKEN_CACHE_SECONDS, claimed.expires_at - wall))
        return principal

    def _authenticate_session(self, digest: bytes) -> Principal | None:
        """The user behind a live session token; its sliding expiry is pushed forward (at most once a
        minute per session). Cached as API tokens are (TOKEN_CACHE_SECONDS): a session ended by another
        process stops working within that time, by this one at once (forget_tokens)."""
        now = time.monotonic()
        with self.read(scope="auth") as conn:
            row = principal_for_session(conn, digest, self.sessions.idle, self.sessions.absolute)
        principal = None
        if row is not None and hmac.compare_digest(bytes(row["token_hash"]), digest):
            principal = Principal(user_id=row["id"], tenant_id=row["tenant_id"], role=row["role"], token_id=None,
                                  session_id=row["session_id"])
            wall = datetime.now(timezone.utc)
            if row["expires_at"] - wall < self.sessions.idle - self.sessions.slide_every:
                with self.read(row["tenant_id"]) as conn:
                    slide(conn, row["tenant_id"], row["session_id"], wall + self.sessions.idle)
        if len(self._tokens) >= 10_000:
            self._tokens.clear()
        self._tokens[digest] = (principal, now + TOKEN_CACHE_SECONDS)
        return principal

    def forget_tokens(self) -> None:
        """Drop cached token answers (after a revocation or a role change in this process)."""
        self._tokens.clear()

    def model_keyring(self) -> Keyring:
        """The service key of model API keys (api/model_keys.py): configured, else the secret file, made
        on first use only while no key is stored (eventstore/keyring.py)."""
        with self._keyring_lock:
            if self._keyring is None:
                def stored() -> int:
                    with self.read(scope="system") as conn:
                        return stored_count(conn)

                self._keyring = load_keyring(None, in_use=stored)
            return self._keyring

    def async_reads(self, size: int | None = None) -> AsyncReads:
        """A new read pool for an event loop (api/app.py opens one per app), same login and role as `pool`."""
        return AsyncReads(self.app_url, size=size or read_pool_size(), role=self.app.factory.role)  # type: ignore[attr-defined]

    def decode_event_state(self, state: bytes) -> dict[str, Any]:
        return self.app.mapper.transcoder.decode(state)

    def close(self) -> None:
        self.app.close()
