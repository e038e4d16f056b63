"""The public health endpoint: database reachability, projection positions, counts."""
from __future__ import annotations

import time
from litestar import Controller, Response, get
from litestar.openapi import ResponseSpec

from api.schemas import Health
from api.services import VERSION, Services


def health_report(services: Services) -> tuple[int, Health]:
    started = time.perf_counter()
    try:
        with services.read(scope="system") as conn:
            server_version = conn.execute("SHOW server_version").fetchone()["server_version"]
            latency_ms = round((time.perf_counter() - started) * 1000, 2)
            active = conn.execute(
                "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database()").fetchone()["n"]
            head = conn.execute("SELECT coalesce(max(notification_id), 0) AS n FROM events").fetchone()["n"]
            positions = {r["application_name"]: r["notification_id"] for r in conn.execute(
                "SELECT application_name, notification_id FROM tracking WHERE application_name <> '__migration__'")}
            stats = conn.execute(
                "SELECT (SELECT count(*) FROM users WHERE deleted_at IS NULL) AS users,"
                " (SELECT count(*) FROM projects WHERE deleted_at IS NULL) AS projects,"
                " (SELECT count(*) FROM events) AS events").fetchone()
    except Exception as exc:  # noqa: BLE001 - health must answer, whatever the failure
        return 503, Health(status="unhealthy", version=VERSION,
                           checks={"database": {"connected": False, "error": type(exc).__name__}}, stats={})
    projections = {name: {"position": pos, "lag": max(head - (pos or 0), 0)} for name, pos in positions.items()}
    return 200, Health(
        status="healthy", version=VERSION,
        checks={"database": {"connected": True, "latency_ms": latency_ms, "active_connections": active,
                             "server_version": server_version},
                "projections": projections},
        stats={"users": stats["users"], "projects": stats["projects"], "jobs": 0, "assets": 0,
               "events": stats["events"]},
    )


class HealthController(Controller):
    path = "/api/health"
    tags = ["service"]

    @get("/", sync_to_thread=True, exclude_from_auth=True,
         responses={503: ResponseSpec(data_container=Health, description="Unhealthy")})
    def health(self, services: Services) -> Response[Health]:
        """Service health: healthy or degraded (200), unhealthy (503)."""
        status, report = health_report(services)
        return Response(report, status_code=status)

