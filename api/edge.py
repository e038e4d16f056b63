"""The one ASGI middleware around the whole app (CORS, routing, exception handling included): every
response, errors and unknown routes too, passes through it once.

It does what each request used to pay three layers and two hooks for (docs/decisions/i17-http.md):

- HEAD as GET and every `Allow` exact (api/methods.py, RFC 9110 §9.3.2);
- `X-Correlation-ID` on every response (api/auth.py `correlation_id`), and `Idempotent-Replayed: true`
  on the answer to a repeat (api/idempotency.py): they were two `before_send` hooks;
- the request metrics of Litestar's Prometheus plugin (api/controllers/metrics.py): same names and
  labels, the route's label values and metric children resolved once per route, not per request.
"""
from __future__ import annotations

import time
from typing import Any

from litestar.types import ASGIApp, Message, Receive, Scope, Send

from api.auth import correlation_id
from api.controllers.metrics import RequestMetrics
from api.methods import allow_value, refused_preflight


def edge(app: ASGIApp, litestar: Any, methods_of: dict[str, set[str]]) -> ASGIApp:
    """Wrap `app` (the Litestar app's ASGI handler); `methods_of` maps each path template to its methods."""
    metrics = RequestMetrics(litestar.asgi_router)

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        head = scope["method"] == "HEAD"
        if head:  # a copy: the server reads its own scope's method to know the body is left out
            scope = {**scope, "method": "GET"}  # type: ignore[assignment]
        preflight = scope["method"] == "OPTIONS" and any(k == b"access-control-request-method"
                                                         for k, _ in scope["headers"])
        route = metrics.route(scope)
        state = scope["state"]
        refused: list[bytes] = []
        span = [500, 0.0]  # the status sent (500 when none was), the time the body was

        async def send_edge(message: Message) -> None:
            kind = message["type"]
            if kind == "http.response.start":
                if (preflight and message["status"] == 400
                        and dict(message.get("headers", [])).get(b"content-type", b"").startswith(b"text/plain")):
                    refused.append(b"")  # Litestar's CORS refusal: text/plain "Disallowed CORS Origin, method"
                    return
                span[0] = message["status"]
                headers = message.get("headers", [])
                if any(k.lower() == b"allow" for k, _ in headers):
                    known = methods_of.get(scope.get("path_template", ""))
                    headers = [(k, allow_value(known if known else {m.strip() for m in v.decode("latin-1").split(",")
                                                                    if m.strip()}).encode())
                               if k.lower() == b"allow" else (k, v) for k, v in headers]
                headers = [*headers, (b"x-correlation-id", correlation_id(scope).encode())]
                if state.get("idempotency_replayed"):
                    headers.append((b"idempotent-replayed", b"true"))
                message["headers"] = headers
            elif kind == "http.response.body":
                span[1] = time.perf_counter()
                if refused:
                    refused[0] += message.get("body", b"")
                    if message.get("more_body"):
                        return
                    await refused_preflight(send_with_id, refused[0].decode("utf-8", "replace"))
                    return
                if head:
                    if message.get("more_body"):
                        return
                    message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message["headers"], (b"x-correlation-id", correlation_id(scope).encode())]
            await send(message)

        if route is None:
            await app(scope, receive, send_edge)
            return
        started = time.perf_counter()
        route.in_progress.inc()
        try:
            await app(scope, receive, send_edge)
        finally:
            route.in_progress.dec()
            # counted as Litestar's middleware counted it: only a request the router gave to the route
            if "route_handler" in scope:
                route.record(int(span[0]), (span[1] or time.perf_counter()) - started)

    return wrapped


def install(app: Any) -> Any:
    """Wrap the app's ASGI handler (CORS included) in the one middleware of every request (api/edge.py):
    HEAD as GET, exact `Allow`, correlation id, request metrics.

    RFC 9110 §9.3.2: HEAD is GET without the body. Litestar routes HEAD only to `@head` handlers,
    so a HEAD request runs as GET (same guards, auth, status and headers) and the body is dropped.
    And every `Allow` (OPTIONS, 405) lists exactly the path's methods (`methods_of`, by path
    template): Litestar's own OPTIONS answer lists only the handlers of the first controller
    method registered on a path."""
    from litestar.routes import HTTPRoute

    methods_of = {route.path_format: set(route.methods) for route in app.routes if isinstance(route, HTTPRoute)}
    app.asgi_handler = edge(app.asgi_handler, app, methods_of)
    return app
