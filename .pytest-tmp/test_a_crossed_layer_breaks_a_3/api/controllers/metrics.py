"""GET /metrics: Litestar's Prometheus plugin, plus projection positions and lag, and commands by type and outcome."""
from __future__ import annotations

import time
from typing import Any

from litestar import Request, Response, get
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController, PrometheusMiddleware
from litestar.types import Receive, Scope, Send
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Gauge, generate_latest

from api.controllers.health import max_view_lag
from api.failures import ITEM_FAILURES, count_item_failure  # noqa: F401 - on /metrics; the hook
from api.frontend_jwt import ACCEPTED, REJECTED  # noqa: F401 - on /metrics (front-end JWTs by outcome)
from api.services import Services
from projections.views import projection_states

COMMAND_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Litestar adds the charset itself to text/* media types.
MEDIA_TYPE = "; ".join(p for p in CONTENT_TYPE_LATEST.split("; ") if not p.startswith("charset="))

# Process-wide, like the registry they live in (several apps in one process share them).
PROJECTION_POSITION = Gauge("avm_projection_position", "Last event position the projection has processed",
                            ["projection", "kind"])
PROJECTION_LAG = Gauge("avm_projection_lag_events", "Events appended that the projection has not processed yet",
                       ["projection", "kind"])
DATABASE_UP = Gauge("avm_database_up", "1 when the last scrape could read the database, else 0")
COMMANDS = Counter("avm_commands", "Commands answered, by route handler and status class (2xx, 4xx, 5xx)",
                   ["command", "outcome"])
class MetricsMiddleware(PrometheusMiddleware):
    """The plugin's request metrics, plus one count per command (a POST, PUT, PATCH or DELETE under
    /api/v1) keyed by its route handler's name and the status class of the answer.

    It runs outside the authentication middleware, whose refusals arrive here as exceptions (turned
    into responses further out), so their status is taken from the exception.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request[Any, Any, Any](scope, receive)
        labels = {**self._get_default_labels(request), **self._get_extra_labels(request)}
        span: dict[str, float] = {"start_time": time.perf_counter(), "end_time": 0, "duration": 0, "status_code": 200}
        in_progress = self.requests_in_progress(labels).labels(*labels.values())
        in_progress.inc()
        try:
            await self.app(scope, receive, self._get_wrapped_send(send, span))
        except Exception as exc:
            span["status_code"] = getattr(exc, "status_code", 500)
            span["duration"] = time.perf_counter() - span["start_time"]
            raise
        finally:
            in_progress.dec()
            status = int(span["status_code"])
            labels["status_code"] = status
            values = [*labels.values()]
            if status >= 500:
                self.requests_error_count(labels).labels(*values).inc()
            self.request_count(labels).labels(*values).inc()
            self.request_time(labels).labels(*values).observe(span["duration"])
            count_command(scope, status)


def count_command(scope: Scope, status: int) -> None:
    if scope.get("method") not in COMMAND_METHODS or not scope.get("path", "").startswith("/api/v1/"):
        return
    handler = scope.get("route_handler")
    name = getattr(handler, "handler_name", None) or "unknown"
    COMMANDS.labels(command=name, outcome=f"{status // 100}xx").inc()


PROMETHEUS = PrometheusConfig(app_name="avm", prefix="avm", group_path=True, middleware_class=MetricsMiddleware,
                              exclude=["^/metrics"])


def refresh_projection_gauges(services: Services) -> None:
    try:
        with services.read(scope="system") as conn:
            states = projection_states(conn, max_view_lag())
    except Exception:  # noqa: BLE001 - metrics still answer; the database gauge says why they are stale
        DATABASE_UP.set(0)
        return
    DATABASE_UP.set(1)
    for s in states:
        PROJECTION_POSITION.labels(projection=s["name"], kind=s["kind"]).set(s["position"])
        PROJECTION_LAG.labels(projection=s["name"], kind=s["kind"]).set(s["lag"])


def embedded_postgres_metrics(services: Services) -> bytes:
    """The watchdog's restart count and view of the embedded server, as its owning process (the
    `avm serve` process, maybe not this worker) last wrote them; nothing without a watchdog."""
    from prometheus_client import CollectorRegistry
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

    from eventstore.watchdog import status_of

    status = status_of(services.db)
    if status is None:
        return b""

    class Status:
        def collect(self) -> Any:
            yield CounterMetricFamily("avm_embedded_postgres_restarts", "Times the watchdog of avm serve restarted"
                                      " the embedded PostgreSQL after it died", value=int(status["restarts"]))
            yield GaugeMetricFamily("avm_embedded_postgres_up", "1 when the watchdog last saw the embedded"
                                    " PostgreSQL running, else 0", value=1 if status["state"] == "up" else 0)

    registry = CollectorRegistry(auto_describe=False)
    registry.register(Status())
    return generate_latest(registry)


class MetricsController(PrometheusController):
    path = "/metrics"
    tags = ["service"]

    @get("/", sync_to_thread=True, exclude_from_auth=True, media_type=MEDIA_TYPE, summary="Prometheus metrics",
         description="Requests, commands by type and outcome, projection positions and lag (Prometheus text).")
    def get(self, services: Services) -> Response[bytes]:  # type: ignore[override]
        """Prometheus metrics: requests, commands by type and outcome, projection positions and lag."""
        refresh_projection_gauges(services)
        return Response(generate_latest(REGISTRY) + embedded_postgres_metrics(services), media_type=MEDIA_TYPE)
