"""HTTP method semantics Litestar leaves to the app: HEAD on every GET route, HEAD in `Allow`, CORS from settings."""
from __future__ import annotations

import os

from litestar.config.cors import CORSConfig
from litestar.types import Send

CORS_ALLOW_HEADERS = ["Authorization", "Content-Type", "If-Match", "Idempotency-Key", "X-Correlation-ID",
                      "X-Reason"]
CORS_EXPOSE_HEADERS = ["ETag", "Location", "Retry-After", "X-Correlation-ID", "Idempotent-Replayed"]


def cors_config() -> CORSConfig | None:
    """AVM_CORS_ORIGINS (comma-separated origins, or `*`) turns CORS on; unset or empty: off, no CORS headers.
    Bearer tokens, not cookies, authenticate, so credentials are never allowed cross-origin."""
    origins = [o.strip() for o in os.environ.get("AVM_CORS_ORIGINS", "").split(",") if o.strip()]
    if not origins:
        return None
    return CORSConfig(allow_origins=origins, allow_methods=["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"],
                      allow_headers=CORS_ALLOW_HEADERS, expose_headers=CORS_EXPOSE_HEADERS, allow_credentials=False,
                      max_age=600)


def allow_value(methods: set[str]) -> str:
    """`Allow` for a path: its methods, HEAD wherever GET is, and OPTIONS (answered on every path)."""
    methods = {m.upper() for m in methods} | {"OPTIONS"}
    if "GET" in methods:
        methods.add("HEAD")
    return ", ".join(sorted(methods))


async def refused_preflight(send: Send, text: str) -> None:
    """A refused CORS preflight as problem JSON, like every other error (it was text/plain)."""
    import json

    what = text.removeprefix("Disallowed CORS ").lower() or "request"
    body = json.dumps({"type": "https://avm.example/problems/bad-request", "title": "Bad Request", "status": 400,
                       "detail": f"cross-origin request refused: its {what} is not allowed"}).encode()
    await send({"type": "http.response.start", "status": 400,
                "headers": [(b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body, "more_body": False})
