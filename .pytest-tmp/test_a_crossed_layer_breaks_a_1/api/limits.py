"""Request limits: per-token rate limiting (higher for premium), built on Litestar's rate limiter."""
from __future__ import annotations

import os
from typing import Any

from litestar.middleware import DefineMiddleware
from litestar.middleware.rate_limit import RateLimitConfig

PRIVILEGED = frozenset({"premium", "admin", "worker"})


def _token_identifier(request: Any) -> str:
    # The credential authentication parsed (api.auth.Credential) identifies the caller, so spellings
    # of one token ("Bearer X", "bearer\tX ") share a bucket; only its digest is kept in the store.
    # A front-end JWT may be minted per request: its bucket is the user's, not the token's.
    user = request.scope.get("user")
    if user is not None and user.token_id is None:
        return f"user:{user.user_id}"
    credential = request.scope.get("auth")
    return getattr(credential, "identity", "anonymous")


def _for_roles(privileged: bool) -> Any:
    async def check(request: Any) -> bool:
        user = request.scope.get("user")
        return user is not None and (user.role in PRIVILEGED) == privileged

    return check


def rate_limit_middleware() -> list[DefineMiddleware]:
    """Two limiters over the same per-token key: one for `user` tokens, a higher one for the rest.
    AVM_RATE_LIMIT=0 turns limiting off (benchmarks that drive the API with one token)."""
    standard = int(os.environ.get("AVM_RATE_LIMIT", "50"))
    premium = int(os.environ.get("AVM_RATE_LIMIT_PREMIUM", str(standard * 4)))
    if standard <= 0:
        return []
    return [
        RateLimitConfig(rate_limit=("second", limit), identifier_for_request=_token_identifier,
                        check_throttle_handler=_for_roles(privileged), exclude=["^/api/health", "^/schema", "^/metrics"],
                        ).middleware
        for privileged, limit in ((False, standard), (True, premium))
    ]
