"""Idempotency-Key on command routes: a repeat gets the first answer again and appends nothing.

One write: the key row (the caller, the key, the request's fingerprint and the command's result,
`domain.plumbing.encode_result`) is inserted by the command's own transaction, with its events. A
repeat finds it before its handler runs and gives the result to the command (`ctx.recorded`): the
application returns that result (each aggregate at the version the command left it, folded from its
events) instead of applying the command again, and the handler renders it as it rendered the first
answer: same status, body, ETag and Location. A concurrent twin that meets the key in its own save
reads the result afresh (`recall`). A command that appends nothing records no key.
"""
from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from contextlib import AbstractContextManager
from contextvars import ContextVar
from typing import Any
from uuid import UUID

import anyio
from litestar import Request

from domain.context import CommandContext
from domain.errors import Conflict, ValidationProblem
from eventstore.committer import Write

COMMAND_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
KEY_RE = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
# The state of the request being handled, so that a replay found by the command itself (a
# concurrent twin's result) is answered as a replay too. The handler's worker thread runs in a
# copy of the request's context: the dict is shared.
_REQUEST_STATE: ContextVar[dict[str, Any] | None] = ContextVar("avm_idempotency_state", default=None)


def request_fingerprint(method: str, path: str, query: str, body: bytes) -> bytes:
    """What a key is bound to: the same key with another method, path, query or body is refused."""
    return hashlib.sha256(b"\0".join((method.encode(), path.encode(), query.encode(), body))).digest()


def _lookup(read: Callable[..., AbstractContextManager[Any]], caller: Any, key: str) -> dict[str, Any] | None:
    with read(caller) as conn:
        return conn.execute(  # type: ignore[no-any-return]
            "SELECT fingerprint, result FROM idempotency_keys WHERE tenant_id = %s AND key = %s",
            (caller, key), prepare=True).fetchone()


def _recorded(row: dict[str, Any], fingerprint: bytes) -> bytes:
    if bytes(row["fingerprint"]) != fingerprint:
        raise ValidationProblem("this Idempotency-Key was used for a different request", field="Idempotency-Key")
    if row["result"] is None:  # recorded before results were (migration 0012)
        raise Conflict("this Idempotency-Key was applied but its response is not available; read the resource "
                       "instead", field="Idempotency-Key")
    return bytes(row["result"])


def key_writes(ctx: CommandContext, result: bytes) -> list[Write]:
    """The one write of a keyed command (wired as the application's `command_writes`): its key
    and result, recorded with its events, so a retry after a lost acknowledgement gets the same
    answer, and a concurrent twin breaks `idempotency_keys_pkey` (then reads the result, `recall`)."""
    if not ctx.command_id or ctx.fingerprint is None:
        return []
    # Keys belong to the caller (the actor), whoever owns the aggregates changed.
    row = (UUID(ctx.actor_id), ctx.command_id, ctx.fingerprint, result)
    return [lambda curs: curs.execute(
        "INSERT INTO idempotency_keys (tenant_id, key, fingerprint, result) VALUES (%s, %s, %s, %s)",
        row, prepare=True)]


def recall(read: Callable[..., AbstractContextManager[Any]], ctx: CommandContext) -> bytes | None:
    """The result a keyed command's twin recorded, None when its key is not recorded (wired as the
    application's `recorded_result`, with the service's scoped reads)."""
    if not ctx.command_id or ctx.fingerprint is None:
        return None
    row = _lookup(read, UUID(ctx.actor_id), ctx.command_id)
    if row is None:
        return None
    recorded = _recorded(row, ctx.fingerprint)
    state = _REQUEST_STATE.get()
    if state is not None:
        state["idempotency_replayed"] = True
    return recorded


def delete_expired_keys(services: Any, retention_seconds: float, batch: int = 5000) -> int:
    """Forget every tenant's keys recorded more than `retention_seconds` ago (the maintenance sweep),
    a batch per transaction, oldest first; the number deleted. A repeat after that is a new command."""
    total = 0
    while True:
        with services.read(scope="system") as conn:
            deleted = conn.execute(
                "DELETE FROM idempotency_keys WHERE (tenant_id, key) IN (SELECT tenant_id, key FROM idempotency_keys"
                " WHERE created_at < now() - make_interval(secs => %s) ORDER BY created_at LIMIT %s)",
                (retention_seconds, batch)).rowcount
        total += deleted
        if deleted < batch:
            return total


async def check_idempotency_key(request: Request[Any, Any, Any]) -> None:
    """before_request: validate the key, fingerprint the request, and find the result of a
    command already applied with it (the `ctx` dependency hands it to the command)."""
    key = request.headers.get("idempotency-key")
    if key is None or request.method not in COMMAND_METHODS or request.scope.get("user") is None:
        return None
    if not KEY_RE.match(key):
        raise ValidationProblem("Idempotency-Key must be 1–128 characters of A–Z a–z 0–9 . _ : -",
                                field="Idempotency-Key")
    fingerprint = request_fingerprint(request.method, request.url.path, request.url.query or "",
                                      await request.body())
    state = request.scope.setdefault("state", {})
    state["idempotency"] = (key, fingerprint)
    _REQUEST_STATE.set(state)
    services = request.app.state.services
    row = await anyio.to_thread.run_sync(_lookup, services.read, request.user.user_id, key)
    if row is not None:
        state["idempotency_result"] = _recorded(row, fingerprint)
        state["idempotency_replayed"] = True  # the answer says so: `Idempotent-Replayed: true` (api/edge.py)


def forget_tenant(conn: Any, tenant_id: Any) -> None:
    """Delete a tenant's keys and recorded results (an erasure, issue 15: each row holds the unkeyed
    hash of a request of theirs). `conn` is in the system scope (the rows are their callers' under RLS)."""
    conn.execute("DELETE FROM idempotency_keys WHERE tenant_id = %s", (tenant_id,))
