"""GET /metrics: Litestar's Prometheus plugin, plus projection positions and lag, commands by type and outcome,
the render queue, the sweeps' last runs, the connection pool, the database's size and probe latency."""
from __future__ import annotations

import time
from typing import Any

from litestar import Response, get
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController, PrometheusMiddleware
from litestar.types import Scope
from litestar.utils import normalize_path
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Gauge, generate_latest

from api.controllers.health import DB_PROBE_SECONDS, max_view_lag, pool_use
from api.failures import ITEM_FAILURES, count_item_failure  # noqa: F401 - on /metrics; the hook
from api.frontend_jwt import ACCEPTED, REJECTED  # noqa: F401 - on /metrics (front-end JWTs by outcome)
from api.services import Services
from projections.stats import database_stats, list_sweep_runs, queue_stats
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
PROMETHEUS = PrometheusConfig(app_name="avm", prefix="avm", group_path=True, exclude=["^/metrics"])
# The plugin's request metrics, defined by its own middleware class (same names, help and labels), once per
# process; api/edge.py counts them (Litestar's middleware would build a Request and resolve them per request).
_PLUGIN = PrometheusMiddleware(app=None, config=PROMETHEUS)  # type: ignore[arg-type]
_LABELS: dict[str, str | int | float] = {"method": "", "path": "", "status_code": 200, "app_name": ""}
REQUESTS, REQUEST_SECONDS = _PLUGIN.request_count(_LABELS), _PLUGIN.request_time(_LABELS)
IN_PROGRESS, REQUEST_ERRORS = _PLUGIN.requests_in_progress(_LABELS), _PLUGIN.requests_error_count(_LABELS)


class RouteMetrics:
    """The metric children of one route (method and path template), made once: `labels()` takes a lock
    and builds a key on every call."""

    __slots__ = ("by_status", "command", "in_progress", "labels")

    def __init__(self, method: str, template: str, handler: Any) -> None:
        self.labels = (method, template)
        self.in_progress = IN_PROGRESS.labels(method, template, 200, PROMETHEUS.app_name)
        # A command: a POST, PUT, PATCH or DELETE under /api/v1, keyed by its route handler's name.
        self.command = (getattr(handler, "handler_name", None) or "unknown"
                        if method in COMMAND_METHODS and template.startswith("/api/v1/") else None)
        self.by_status: dict[int, tuple[Any, Any, Any, Any]] = {}

    def record(self, status: int, seconds: float) -> None:
        children = self.by_status.get(status)
        if children is None:
            values = (*self.labels, status, PROMETHEUS.app_name)
            children = self.by_status[status] = (
                REQUESTS.labels(*values), REQUEST_SECONDS.labels(*values),
                REQUEST_ERRORS.labels(*values) if status >= 500 else None,
                COMMANDS.labels(command=self.command, outcome=f"{status // 100}xx") if self.command else None)
        count, duration, error, command = children
        if error is not None:
            error.inc()
        count.inc()
        duration.observe(seconds)
        if command is not None:
            command.inc()


class RequestMetrics:
    """Litestar's Prometheus middleware's request metrics (`group_path`: labelled by route template), plus one
    count per command by handler and status class (avm_commands), for api/edge.py.

    The route is looked up before the request runs, with the router's own (cached) lookup, so that the
    in-progress gauge has its labels; a request the router refuses (unknown path or method) is not counted,
    as it was not by the plugin's middleware, which ran inside the route.
    """

    def __init__(self, router: Any) -> None:
        self.router = router
        self.routes: dict[tuple[str, str], RouteMetrics] = {}

    def route(self, scope: Scope) -> RouteMetrics | None:
        path = scope["path"]
        if path.startswith("/metrics"):  # PROMETHEUS.exclude
            return None
        if root_path := scope.get("root_path", ""):
            path = path.split(root_path, maxsplit=1)[-1]
        method = scope["method"]
        try:
            _, handler, _, _, template = self.router.handle_routing(path=normalize_path(path), method=method)
        except Exception:  # noqa: BLE001 - the router answers it (404, 405, 400) as it would have
            return None
        found = self.routes.get((method, template))
        if found is None:
            found = self.routes[(method, template)] = RouteMetrics(method, template, handler)
        return found


def refresh_projection_gauges(services: Services) -> bool:
    """True when the database could be read."""
    try:
        with services.read(scope="system") as conn:
            states = projection_states(conn, max_view_lag())
    except Exception:  # noqa: BLE001 - metrics still answer; the database gauge says why they are stale
        DATABASE_UP.set(0)
        return False
    DATABASE_UP.set(1)
    for s in states:
        PROJECTION_POSITION.labels(projection=s["name"], kind=s["kind"]).set(s["position"])
        PROJECTION_LAG.labels(projection=s["name"], kind=s["kind"]).set(s["lag"])
    return True


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


def _read_operational(services: Services) -> tuple[dict[str, Any], dict[str, int], list[dict[str, Any]]] | None:
    """The render queue, the sizes and the sweeps' runs, the probe timed; None when the database
    cannot be read (avm_database_up says why these are missing)."""
    try:
        started = time.perf_counter()
        with services.read(scope="system") as conn:
            conn.execute("SELECT 1")
            DB_PROBE_SECONDS.observe(time.perf_counter() - started)
            return queue_stats(conn), database_stats(conn), list_sweep_runs(conn)
    except Exception:  # noqa: BLE001 - metrics still answer
        return None


def operational_metrics(services: Services, database_up: bool = True) -> bytes:
    """Read at each scrape, so that every process reports the same values: the render queue (every
    tenant), the sweeps' last runs (sweep_runs, whoever ran them), the database's size; and this
    process's connection pool. Nothing from the database when it cannot be read (avm_database_up)."""
    from prometheus_client import CollectorRegistry
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

    families: list[Any] = []

    def gauge(name: str, doc: str, samples: list[tuple[list[str], float]], labels: list[str] | None = None) -> None:
        family = GaugeMetricFamily(name, doc, labels=labels or [])
        for values, v in samples:
            family.add_metric(values, v)
        families.append(family)

    def counter(name: str, doc: str, samples: list[tuple[list[str], float]], labels: list[str] | None = None) -> None:
        family = CounterMetricFamily(name, doc, labels=labels or [])
        for values, v in samples:
            family.add_metric(values, v)
        families.append(family)

    pool = pool_use(services)
    for key, doc in (("size", "open"), ("in_use", "in use"), ("idle", "idle"), ("max", "allowed at most")):
        gauge(f"avm_db_pool_connections_{key}", f"Connections of this process's pool: {doc}", [([], pool[key])])
    gauge("avm_db_pool_requests_waiting", "Requests of this process waiting for a pooled connection now",
          [([], pool["waiting"])])
    counter("avm_db_pool_requests", "Connections this process's pool has handed out", [([], pool["requests"])])
    counter("avm_db_pool_wait_seconds", "Time requests of this process waited for a pooled connection",
            [([], pool["wait_ms"] / 1000)])
    counter("avm_db_pool_errors", "Requests of this process that got no pooled connection", [([], pool["errors"])])
    read = _read_operational(services) if database_up else None  # down: no second wait for a connection
    if read is not None:
        queue, sizes, sweeps = read
        gauge("avm_queue_jobs", "Jobs by status and priority (every tenant; priority 1: premium and admin)",
              [([d["status"], str(d["priority"])], d["count"]) for d in queue["depth"]], ["status", "priority"])
        gauge("avm_queue_oldest_queued_age_seconds", "Age of the oldest queued job (since it was first queued;"
              " 0 when none)", [([], queue["oldest_queued_age_seconds"] or 0)])
        gauge("avm_jobs_running", "Jobs being rendered now", [([], queue["running"])])
        gauge("avm_jobs_failed", "Failed jobs by error code", [([c], n) for c, n in queue["failed_by_code"].items()],
              ["code"])
        gauge("avm_database_size_bytes", "Size of the database on disk", [([], sizes["database_bytes"])])
        gauge("avm_event_log_size_bytes", "Size of the event log (table, indexes, TOAST)", [([], sizes["event_log_bytes"])])
        last = [("last_run_timestamp_seconds", "Start of the last run (Unix time)",
                 lambda r: r["last_started_at"].timestamp()),
                ("last_success_timestamp_seconds", "Start of the last run that did not fail (Unix time; 0: none yet)",
                 lambda r: r["last_success_at"].timestamp() if r["last_success_at"] else 0),
                ("last_duration_seconds", "Duration of the last run", lambda r: r["last_duration_seconds"]),
                ("last_items", "Items the last run handled", lambda r: r["last_items"]),
                ("last_failures", "Items the last run failed on and skipped", lambda r: r["last_failures"]),
                ("last_run_failed", "1 when the last run failed as a whole, else 0", lambda r: int(bool(r["last_error"]))),
                ("interval_seconds", "Interval of the runner that last ran it (0: a one-off pass)",
                 lambda r: r["interval_seconds"] or 0)]
        for suffix, doc, get_value in last:
            gauge(f"avm_sweep_{suffix}", f"Sweeps: {doc}", [([r["name"]], get_value(r)) for r in sweeps], ["sweep"])
        for column, name, doc in (("runs", "runs", "runs"), ("failed_runs", "failed_runs", "runs that failed"),
                                  ("items_total", "items", "items handled"),
                                  ("failures_total", "item_failures", "items failed on and skipped")):
            counter(f"avm_sweep_{name}", f"Sweeps: {doc}, by every process", [([r["name"]], r[column]) for r in sweeps],
                    ["sweep"])

    class Collected:
        def collect(self) -> Any:
            yield from families

    registry = CollectorRegistry(auto_describe=False)
    registry.register(Collected())
    return generate_latest(registry)


class MetricsController(PrometheusController):
    path = "/metrics"
    tags = ["service"]

    @get("/", sync_to_thread=True, exclude_from_auth=True, media_type=MEDIA_TYPE, summary="Prometheus metrics",
         description="Requests, commands by type and outcome, projection positions and lag, the render queue,"
                     " the sweeps' last runs, the connection pool, database size and probe latency (Prometheus text).")
    def get(self, services: Services) -> Response[bytes]:  # type: ignore[override]
        """Prometheus metrics: requests, commands by type and outcome, projection positions and lag."""
        up = refresh_projection_gauges(services)
        return Response(generate_latest(REGISTRY) + embedded_postgres_metrics(services)
                        + operational_metrics(services, up), media_type=MEDIA_TYPE)
