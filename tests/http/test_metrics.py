"""GET /metrics: public Prometheus text with request metrics, commands by type and outcome, projection gauges."""
from __future__ import annotations

import uuid
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from projections.inline import INLINE_PROJECTIONS


def scrape(client: Any) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    r = client.get("/metrics")
    assert r.status_code == 200, r.text
    out: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(r.text):
        for sample in family.samples:
            out.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return out


def value(metrics: dict[str, Any], name: str, **labels: str) -> float:
    return metrics.get(name, {}).get(tuple(sorted(labels.items())), 0.0)


def test_metrics_are_public_prometheus_text(client: Any) -> None:
    assert client.get("/api/health").status_code == 200
    r = client.get("/metrics")

    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain; version=")
    names = {f.name for f in text_string_to_metric_families(r.text)}
    assert {"avm_requests", "avm_request_duration_seconds", "avm_projection_position",
            "avm_projection_lag_events", "avm_database_up"} <= names


def test_metrics_give_every_projections_position_and_lag(client: Any, services: Any, tenant: Any) -> None:
    metrics = scrape(client)

    with services.read(scope="system") as conn:
        head = conn.execute("SELECT max(notification_id) AS n FROM events").fetchone()["n"]
    for p in INLINE_PROJECTIONS:
        assert value(metrics, "avm_projection_position", projection=p.name, kind="inline") == head
        assert value(metrics, "avm_projection_lag_events", projection=p.name, kind="inline") == 0
    position = value(metrics, "avm_projection_position", projection="daily_usage", kind="async")
    lag = value(metrics, "avm_projection_lag_events", projection="daily_usage", kind="async")
    assert 0 <= position <= head and lag >= 0 and ("avm_projection_lag_events" in metrics)
    assert value(metrics, "avm_database_up") == 1


def test_metrics_count_commands_by_handler_and_status_class(client: Any, tenant: Any) -> None:
    before = scrape(client)

    assert client.post("/api/v1/projects", json={"title": "counted"}, headers=tenant.headers).status_code == 201
    assert client.post("/api/v1/projects", json={"title": ""}, headers=tenant.headers).status_code == 422
    assert client.post("/api/v1/projects", json={"title": "no token"}).status_code == 401
    assert client.get("/api/v1/projects", headers=tenant.headers).status_code == 200  # a read, not a command

    after = scrape(client)
    delta = {outcome: value(after, "avm_commands_total", command="create_project", outcome=outcome)
             - value(before, "avm_commands_total", command="create_project", outcome=outcome)
             for outcome in ("2xx", "4xx", "5xx")}
    assert delta == {"2xx": 1, "4xx": 2, "5xx": 0}
    assert not any(labels and dict(labels)["command"] == "list_projects"
                   for labels in after.get("avm_commands_total", {}))


def test_request_metrics_are_keyed_by_route_template_not_by_id(client: Any, tenant: Any) -> None:
    missing = uuid.uuid4()
    assert client.get(f"/api/v1/projects/{missing}", headers=tenant.headers).status_code == 404

    metrics = scrape(client)

    paths = {dict(labels)["path"] for labels in metrics["avm_requests_total"]}
    assert not any(str(missing) in p for p in paths)
    assert value(metrics, "avm_requests_total", app_name="avm", method="GET",
                 path="/api/v1/projects/{project_id}", status_code="404") >= 1
