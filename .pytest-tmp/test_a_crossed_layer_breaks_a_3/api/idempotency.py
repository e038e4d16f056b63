"""Idempotency-Key on command routes: a repeat returns the original status and body, appends nothing.

The key is written with the command's events (same transaction), so a retry after a lost
acknowledgement finds it; the response is stored as soon as it is sent and replayed byte for byte.
"""
from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
from typing import Any
from uuid import UUID

import anyio
import msgspec
from litestar import Request, Response
from litestar.types import Message, Scope

from domain.context import CommandContext
from domain.errors import CommandAlreadyApplied, Conflict, ValidationProblem
from eventstore.committer import Write

COMMAND_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
KEY_RE = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
REPLAYED_HEADERS = ("etag", "location", "content-type")
WAIT_FOR_RESPONSE_S = 10.0
STORE_RETRY_S = 300.0
log = logging.getLogger("avm.idempotency")


def _lookup(services: Any, tenant_id: Any, key: str) -> dict[str, Any] | None:
    with services.read(tenant_id) as conn:
        return conn.execute(
            "SELECT fingerprint, status, headers, body FROM idempotency_keys WHERE tenant_id = %s AND key = %s",
            (tenant_id, key), prepare=True).fetchone()


def key_writes(ctx: CommandContext) -> list[Write]:
    """The same-transaction write of a keyed command (wired as the application's `command_writes`):
    its key is recorded with its events, so a retry after a lost acknowledgement finds it, and a
    concurrent first request breaks `idempotency_keys_pkey` (CommandAlreadyApplied, then replay_applied)."""
    if not ctx.command_id or ctx.fingerprint is None:
        return []
    # Keys belong to the caller (the actor), whoever owns the aggregates changed.
    row = (UUID(ctx.actor_id), ctx.command_id, ctx.fingerprint)
    return [lambda curs: curs.execute(
        "INSERT INTO idempotency_keys (tenant_id, key, fingerprint) VALUES (%s, %s, %s)", row, prepare=True)]


def _store(services: Any, tenant_id: Any, key: str, fingerprint: bytes, status: int,
           headers: dict[str, str], body: bytes) -> None:
    with services.read(tenant_id) as conn:
        conn.execute(
            "INSERT INTO idempotency_keys (tenant_id, key, fingerprint, status, headers, body)"
            " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (tenant_id, key) DO UPDATE"
            " SET status = EXCLUDED.status, headers = EXCLUDED.headers, body = EXCLUDED.body"
            " WHERE idempotency_keys.status IS NULL AND idempotency_keys.fingerprint = EXCLUDED.fingerprint",
            (tenant_id, key, fingerprint, status, msgspec.json.encode(headers).decode(), body), prepare=True)


def _store_eventually(*args: Any) -> None:
    """Keep trying to store a committed command's response (the database may be recovering),
    so that a retry finds it instead of an unanswerable key."""
    deadline = time.monotonic() + STORE_RETRY_S
    delay = 0.25
    while time.monotonic() < deadline:
        time.sleep(delay)
        try:
            _store(*args)
            return
        except Exception:  # noqa: BLE001
            delay = min(delay * 2, 5.0)
    log.error("gave up storing the response of Idempotency-Key %s", args[2])


def _replay(row: dict[str, Any], fingerprint: bytes) -> Response[bytes]:
    if bytes(row["fingerprint"]) != fingerprint:
        raise ValidationProblem("this Idempotency-Key was used for a different request", field="Idempotency-Key")
    headers = {**(row["headers"] or {}), "Idempotent-Replayed": "true"}
    media_type = headers.pop("content-type", None)
    return Response(bytes(row["body"] or b""), status_code=row["status"], headers=headers, media_type=media_type)


async def check_idempotency_key(request: Request[Any, Any, Any]) -> Response[bytes] | None:
    """before_request: validate the key, fingerprint the request, replay a completed one."""
    key = request.headers.get("idempotency-key")
    if key is None or request.method not in COMMAND_METHODS or request.user is None:
        return None
    if not KEY_RE.match(key):
        raise ValidationProblem("Idempotency-Key must be 1–128 characters of A–Z a–z 0–9 . _ : -",
                                field="Idempotency-Key")
    body = await request.body()
    fingerprint = hashlib.sha256(b"\0".join((request.method.encode(), request.url.path.encode(),
                                             (request.url.query or "").encode(), body))).digest()
    state = request.scope.setdefault("state", {})
    state["idempotency"] = (key, fingerprint)
    services = request.app.state.services
    row = await anyio.to_thread.run_sync(_lookup, services, request.user.tenant_id, key)
    if row is None:
        return None
    if bytes(row["fingerprint"]) != fingerprint or row["status"] is not None:
        state["idempotency_replayed"] = True
        return _replay(row, fingerprint)
    return None  # recorded but still in flight: the handler will meet the key and wait for it


class _ReplayWhenAnswered(Response[bytes]):
    """The answer to a command whose save met its key already recorded by a concurrent first
    request: wait (without holding a thread) for that request's stored response and replay it, or,
    when none comes, a 409. Litestar calls exception handlers synchronously: the waiting is done
    when the response is sent."""

    def to_asgi_response(self, app: Any, request: Request[Any, Any, Any], **kwargs: Any) -> Any:
        async def answer(scope: Scope, receive: Any, send: Any) -> None:
            response = await self._wait(request)
            await response.to_asgi_response(app, request, **kwargs)(scope, receive, send)

        return answer

    @staticmethod
    async def _wait(request: Request[Any, Any, Any]) -> Response[Any]:
        from api.problems import domain_problem_handler

        state = request.scope["state"]
        key, fingerprint = state["idempotency"]
        services = request.app.state.services
        deadline = time.monotonic() + WAIT_FOR_RESPONSE_S
        while time.monotonic() < deadline:
            row = await anyio.to_thread.run_sync(_lookup, services, request.user.tenant_id, key)
            if row is not None and (row["status"] is not None or bytes(row["fingerprint"]) != fingerprint):
                state["idempotency_replayed"] = True
                return _replay(row, fingerprint)
            await anyio.sleep(0.02)
        return domain_problem_handler(request, Conflict(
            "this Idempotency-Key was applied but its response is not available; read the resource instead",
            field="Idempotency-Key"))


def replay_applied(request: Request[Any, Any, Any], exc: CommandAlreadyApplied) -> Response[Any]:
    """Exception handler of every command route: a save that finds its Idempotency-Key already
    recorded (a concurrent or earlier first request) answers with that request's response."""
    if "idempotency" not in request.scope.get("state", {}):
        from api.problems import domain_problem_handler

        return domain_problem_handler(request, exc)
    return _ReplayWhenAnswered(b"")


async def store_idempotent_response(message: Message, scope: Scope) -> None:
    """before_send: keep the first 2xx response of a keyed command, to replay it."""
    state = scope.get("state") or {}
    if "idempotency" not in state or state.get("idempotency_replayed"):
        return
    if message["type"] == "http.response.start":
        state["idempotency_status"] = message["status"]
        state["idempotency_headers"] = {k.decode("latin-1").lower(): v.decode("latin-1")
                                        for k, v in message.get("headers", []) if k.decode("latin-1").lower()
                                        in REPLAYED_HEADERS}
        state["idempotency_body"] = b""
    elif message["type"] == "http.response.body" and "idempotency_status" in state:
        state["idempotency_body"] += message.get("body", b"")
        status = state["idempotency_status"]
        if not message.get("more_body") and 200 <= status < 300:
            key, fingerprint = state["idempotency"]
            # A handler whose answer holds secrets gives the copy to keep instead (api/manifest.py).
            body = state.get("idempotency_stored_body", state["idempotency_body"])
            args = (scope["app"].state.services, scope["user"].tenant_id, key, fingerprint, status,
                    state["idempotency_headers"], body)
            try:
                await anyio.to_thread.run_sync(_store, *args)
            except Exception as exc:  # noqa: BLE001 - the command is committed: answer it whatever happens here
                log.warning("could not store the response of Idempotency-Key %s yet (%s); retrying", key, exc)
                threading.Thread(target=_store_eventually, args=args, daemon=True).start()
