"""The public health endpoint: database reachability, every projection's position and lag, real counts."""
from __future__ import annotations

import os
import time

from litestar import Controller, Response, get
from litestar.openapi import ResponseSpec

from api.schemas import Health
from api.services import VERSION, Services
from projections.views import projection_states, service_stats

DEFAULT_MAX_VIEW_LAG = 1000


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
            latency_ms = round((time.perf_counter() - started) * 1000, 2)
            active = conn.execute(
                "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database()").fetchone()["n"]
            states = projection_states(conn, max_lag)
            stats = service_stats(conn)
    except Exception as exc:  # noqa: BLE001 - health must answer, whatever the failure
        return 503, Health(status="unhealthy", version=VERSION,
                           checks={"database": {"connected": False, "error": type(exc).__name__},
                                   **embedded_postgres_check(services)}, stats={})
    projections = {s["name"]: {k: v for k, v in s.items() if k != "name"} for s in states}
    lagging = sorted(s["name"] for s in states if s["kind"] == "async" and s["lag"] > max_lag)
    checks = {
        "database": {"connected": True, "latency_ms": latency_ms, "active_connections": active,
                     "server_version": server_version},
        "projections": projections,
        **embedded_postgres_check(services),
    }
    if lagging:
        checks["degraded"] = {"reason": f"asynchronous views lag more than {max_lag} events", "views": lagging}
    return 200, Health(status="degraded" if lagging else "healthy", version=VERSION, checks=checks, stats=stats)


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
