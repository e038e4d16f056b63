"""HTTP method semantics Litestar leaves to the app: HEAD on every GET route, HEAD in `Allow`, CORS from settings."""
from __future__ import annotations

import os
from typing import Any

from litestar.config.cors import CORSConfig
from litestar.types import ASGIApp, Message, Receive, Scope, Send

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


def head_as_get(app: ASGIApp, methods_of: dict[str, set[str]]) -> ASGIApp:
    """RFC 9110 §9.3.2: HEAD is GET without the body. Litestar routes HEAD only to `@head` handlers,
    so a HEAD request runs as GET (same guards, auth, status and headers) and the body is dropped.
    And every `Allow` (OPTIONS, 405) lists exactly the path's methods (`methods_of`, by path
    template): Litestar's own OPTIONS answer lists only the handlers of the first controller
    method registered on a path."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        head = scope["method"] == "HEAD"
        if head:  # a copy: the server reads its own scope's method to know the body is left out
            scope = {**scope, "method": "GET"}  # type: ignore[assignment]
        preflight = scope["method"] == "OPTIONS" and any(k == b"access-control-request-method"
                                                         for k, _ in scope.get("headers", []))
        refused: list[bytes] = []

        async def send_head(message: Message) -> None:
            if (preflight and message["type"] == "http.response.start" and message["status"] == 400
                    and dict(message.get("headers", [])).get(b"content-type", b"").startswith(b"text/plain")):
                refused.append(b"")  # Litestar's CORS refusal: text/plain "Disallowed CORS Origin, method"
                return
            if refused and message["type"] == "http.response.body":
                refused[0] += message.get("body", b"")
                if message.get("more_body"):
                    return
                await _refused_preflight(send, refused[0].decode("utf-8", "replace"))
                return
            if message["type"] == "http.response.start":
                known = methods_of.get(scope.get("path_template", ""))
                message["headers"] = [
                    (k, allow_value(known if known else {m.strip() for m in v.decode("latin-1").split(",") if m.strip()})
                     .encode()) if k.lower() == b"allow" else (k, v)
                    for k, v in message.get("headers", [])]
            elif head and message["type"] == "http.response.body":
                if message.get("more_body"):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await app(scope, receive, send_head)

    return wrapped


async def _refused_preflight(send: Send, text: str) -> None:
    """A refused CORS preflight as problem JSON, like every other error (it was text/plain)."""
    import json

    what = text.removeprefix("Disallowed CORS ").lower() or "request"
    body = json.dumps({"type": "https://avm.example/problems/bad-request", "title": "Bad Request", "status": 400,
                       "detail": f"cross-origin request refused: its {what} is not allowed"}).encode()
    await send({"type": "http.response.start", "status": 400,
                "headers": [(b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body, "more_body": False})


def install(app: Any) -> Any:
    """Wrap the app's ASGI handler (CORS included) in head_as_get."""
    from litestar.routes import HTTPRoute

    methods_of = {route.path_format: set(route.methods) for route in app.routes if isinstance(route, HTTPRoute)}
    app.asgi_handler = head_as_get(app.asgi_handler, methods_of)
    return app
