"""Request limits: one rate limiter for every route, per token (higher for premium, admin and worker) and,
on sign-in, per client address; the windows, headers and 429 of Litestar's rate limiter.

Litestar's `RateLimitMiddleware` is one limit per middleware: three of them (sign-in, `user` tokens, the
other roles) each built a `Request`, matched its exclusions, asked its check, and the one that applied
read and wrote its store under three locks (its own and the store's, twice), as a JSON list of every
request's timestamp in the window. This is one middleware that picks the caller's limit and counts it
in one dictionary, with no await between reading and writing the count (docs/decisions/i17-http.md).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from time import time
from typing import Any

from litestar.exceptions import TooManyRequestsException
from litestar.middleware import DefineMiddleware
from litestar.middleware.rate_limit import DURATION_VALUES, DurationUnit
from litestar.types import ASGIApp, Message, Receive, Scope, Send

PRIVILEGED = frozenset({"premium", "admin", "worker"})
# The handler option naming a public route limited per client address (the sign-in; its OpenAPI has the 429).
PER_ADDRESS = "rate_limited"
_FIXED = ("RateLimit-Policy", "RateLimit-Limit")


@dataclass(frozen=True)
class Limit:
    """`requests` a `unit` (a fixed window from the first request, as Litestar's limiter counts)."""

    requests: int
    unit: DurationUnit

    @property
    def seconds(self) -> int:
        return DURATION_VALUES[self.unit]

    @cached_property
    def fixed_headers(self) -> tuple[tuple[bytes, bytes], ...]:
        return tuple((k.lower().encode(), v.encode()) for k, v in self.headers(0, 0).items() if k in _FIXED)

    def raw_headers(self, count: int, reset: int) -> list[tuple[bytes, bytes]]:
        """`headers` as a response carries them, the fixed ones encoded once."""
        return [*self.fixed_headers, (b"ratelimit-remaining", str(max(self.requests - count, 0)).encode()),
                (b"ratelimit-reset", str(reset - int(time())).encode())]

    def headers(self, count: int, reset: int) -> dict[str, str]:
        """The IETF RateLimit headers, as Litestar's limiter sets them (its RateLimitConfig's names)."""
        return {"RateLimit-Policy": f"{self.requests}; w={self.seconds}", "RateLimit-Limit": str(self.requests),
                "RateLimit-Remaining": str(max(self.requests - count, 0)),
                "RateLimit-Reset": str(reset - int(time()))}


class Windows:
    """The count of each key in its current window: `[count, reset]`, reset in whole Unix seconds.

    In-process, as Litestar's default memory store was: each worker process limits its own requests.
    A read and the write after it have no await between them, so no lock is needed on the event loop.
    """

    PURGE_AT = 10_000  # keys; then the expired ones are dropped (a token not seen since its window ended)

    def __init__(self) -> None:
        self.counts: dict[str, list[int]] = {}

    def take(self, key: str, limit: Limit) -> tuple[bool, int, int]:
        """Count one request of `key`: (allowed, the count in the window, the window's reset)."""
        now = int(time())
        entry = self.counts.get(key)
        if entry is None or entry[1] <= now:
            if entry is None and len(self.counts) >= self.PURGE_AT:
                self.counts = {k: v for k, v in self.counts.items() if v[1] > now}
            entry = self.counts[key] = [0, now + limit.seconds]
        if entry[0] >= limit.requests:
            return False, entry[0], entry[1]
        entry[0] += 1
        return True, entry[0], entry[1]


def token_key(user: Any, credential: Any) -> str:
    # The credential authentication parsed (api.auth.Credential) identifies the caller, so spellings
    # of one token ("Bearer X", "bearer\tX ") share a bucket; only its digest is kept.
    # A front-end JWT may be minted per request: its bucket is the user's, not the token's.
    if user.token_id is None:
        return f"user:{user.user_id}"
    return getattr(credential, "identity", "anonymous")


class RateLimit:
    """One limiter: an authenticated caller's token by its role, a public `rate_limited` route by client address."""

    def __init__(self, app: ASGIApp, standard: Limit | None, premium: Limit | None, sign_in: Limit | None) -> None:
        self.app, self.standard, self.premium, self.sign_in = app, standard, premium, sign_in
        self.windows = Windows()
        self._per_address: dict[Any, bool] = {}  # route handler: limited per address (resolved once)

    def limit_of(self, scope: Scope) -> tuple[str, Limit] | None:
        user = scope.get("user")
        if user is not None:
            limit = self.premium if user.role in PRIVILEGED else self.standard
            return None if limit is None else (token_key(user, scope.get("auth")), limit)
        if self.sign_in is None:
            return None
        handler = scope.get("route_handler")
        per_address = self._per_address.get(handler)
        if per_address is None:
            per_address = self._per_address[handler] = bool(handler is not None and handler.opt.get(PER_ADDRESS))
        if not per_address:
            return None
        client = scope.get("client")
        return f"sign-in:{client[0] if client else 'unknown'}", self.sign_in

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = self.limit_of(scope) if scope["type"] == "http" else None
        if found is None:
            await self.app(scope, receive, send)
            return
        key, limit = found
        allowed, count, reset = self.windows.take(key, limit)
        if not allowed:
            raise TooManyRequestsException(headers=limit.headers(count, reset))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *limit.raw_headers(count, reset)]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def rate_limit_middleware() -> list[DefineMiddleware]:
    """The one limiter, or none when every limit is off.

    AVM_RATE_LIMIT: requests a second of a `user` token (default 50; 0 turns token limits off, for
    benchmarks that drive the API with one token); AVM_RATE_LIMIT_PREMIUM: of the other roles (default
    4 × that). AVM_SIGNIN_RATE_LIMIT: sign-in attempts per client address and minute (default 20; 0: off).
    The per-identity sign-in limit is applied once the ID token is verified (api/oidc.py, Providers.attempts).
    """
    standard = int(os.environ.get("AVM_RATE_LIMIT", "50"))
    premium = int(os.environ.get("AVM_RATE_LIMIT_PREMIUM", str(standard * 4)))
    sign_in = int(os.environ.get("AVM_SIGNIN_RATE_LIMIT", "20"))
    limits = {"standard": Limit(standard, "second") if standard > 0 else None,
              "premium": Limit(premium, "second") if standard > 0 else None,
              "sign_in": Limit(sign_in, "minute") if sign_in > 0 else None}
    if not any(limits.values()):
        return []
    return [DefineMiddleware(RateLimit, **limits)]
