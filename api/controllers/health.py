"""The public health endpoint: database reachability, latency, pool use and size, every projection's position
and lag, the sweeps' last runs, real counts."""
from __future__ import annotations

import os
import time

from typing import Any

from litestar import Controller, Response, get
from litestar.openapi import ResponseSpec
from prometheus_client import Histogram

from api.schemas import Health
from api.services import VERSION, Services
from projections.stats import database_stats, list_sweep_runs
from projections.views import projection_states, service_stats

DEFAULT_MAX_VIEW_LAG = 1000
# Process-wide, like the registry it lives in; on /metrics.
DB_PROBE_SECONDS = Histogram("avm_db_probe_seconds", "Round trip of the database probe of /api/health and /metrics"
                             " (a pooled connection taken, a transaction begun, one query answered)",
                             buckets=(.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5))


def max_view_lag() -> int:
    """How many events an asynchronous view may lag before the service reports itself degraded."""
    try:
        return max(0, int(os.environ.get("AVM_MAX_VIEW_LAG", DEFAULT_MAX_VIEW_LAG)))
    except ValueError:
        return DEFAULT_MAX_VIEW_LAG


def health_report(services: Services) -> tuple[int, Health]:
    started = time.perf_counter()
    max_lag = max_view_lag()
    try:
        with services.read(scope="system") as conn:
            server_version = conn.execute("SHOW server_version").fetchone()["server_version"]
            latency = time.perf_counter() - started
            DB_PROBE_SECONDS.observe(latency)
            active = conn.execute(
                "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database()").fetchone()["n"]
            states = projection_states(conn, max_lag)
            stats = service_stats(conn)
            sizes = database_stats(conn)
            sweeps = {r["name"]: {k: v for k, v in r.items() if k != "name"} for r in list_sweep_runs(conn)}
    except Exception as exc:  # noqa: BLE001 - health must answer, whatever the failure
        return 503, Health(status="unhealthy", version=VERSION,
                           checks={"database": {"connected": False, "error": type(exc).__name__},
                                   **embedded_postgres_check(services)}, stats={})
    projections = {s["name"]: {k: v for k, v in s.items() if k != "name"} for s in states}
    lagging = sorted(s["name"] for s in states if s["kind"] == "async" and s["lag"] > max_lag)
    checks = {
        "database": {"connected": True, "latency_ms": round(latency * 1000, 2), "active_connections": active,
                     "server_version": server_version, "size_bytes": sizes["database_bytes"],
                     "event_log_bytes": sizes["event_log_bytes"], "pool": pool_use(services)},
        "projections": projections,
        "sweeps": sweeps,
        **embedded_postgres_check(services),
    }
    if lagging:
        checks["degraded"] = {"reason": f"asynchronous views lag more than {max_lag} events", "views": lagging}
    return 200, Health(status="degraded" if lagging else "healthy", version=VERSION, checks=checks, stats=stats)


def pool_use(services: Services) -> dict[str, Any]:
    """This process's connection pool (psycopg_pool's figures): connections open, in use, idle, the
    most it may open, requests waiting now, and since start the requests served, their total wait
    and the errors."""
    stats = services.pool.get_stats()
    size, idle = stats.get("pool_size", 0), stats.get("pool_available", 0)
    return {"size": size, "in_use": max(0, size - idle), "idle": idle, "max": stats.get("pool_max", 0),
            "waiting": stats.get("requests_waiting", 0), "requests": stats.get("requests_num", 0),
            "wait_ms": stats.get("requests_wait_ms", 0), "errors": stats.get("requests_errors", 0)}


def embedded_postgres_check(services: Services) -> dict[str, dict[str, object]]:
    """The watchdog's view of the embedded server (`up`, `restarting`, `stopped`) and its restart
    count, when `avm serve` watches one; else nothing."""
    from eventstore.watchdog import status_of

    status = status_of(services.db)
    if status is None:
        return {}
    return {"embedded_postgres": {"state": status["state"], "restarts": status["restarts"]}}


class HealthController(Controller):
    path = "/api/health"
    tags = ["service"]

    @get("/", sync_to_thread=True, exclude_from_auth=True,
         responses={503: ResponseSpec(data_container=Health, description="Unhealthy")})
    def health(self, services: Services) -> Response[Health]:
        """Service health: healthy or degraded (200), unhealthy (503)."""
        status, report = health_report(services)
        return Response(report, status_code=status)
