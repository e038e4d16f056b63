"""One row mapping per read model: the table's columns are declared once, and what the API answers
from an aggregate (a command's result, `?at=`) is that same mapping, so it equals what it answers
from the table."""
from __future__ import annotations

from typing import Any

from tests.http.test_domain_api import ready_project


def test_each_inline_table_is_declared_once_and_that_declaration_is_the_table(services: Any) -> None:
    from projections import assets, jobs, presets, projects, users
    from projections.inline import INLINE_PROJECTIONS

    declared = {t: set(columns) for p in INLINE_PROJECTIONS for t, (columns, _) in p.tables.items()}
    with services.read(scope="system") as conn:
        actual = {t: {r["column_name"] for r in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = %s",
            (t,))} for t in declared}
    assert declared == actual
    # The queries select the mapped columns (less the tenant, and what a response does not show).
    with services.read(scope="system") as conn:
        def selected(table: str, columns: str) -> list[str]:
            return [d.name for d in conn.execute(f"SELECT {columns} FROM {table} LIMIT 0").description]

        assert selected("projects", projects.PROJECT_COLUMNS) == [c for c in projects.PROJECT_ROW if c != "tenant_id"]
        assert selected("presets", presets.PRESET_COLUMNS) == [c for c in presets.PRESET_ROW if c != "tenant_id"]
        assert selected("assets", assets.ASSET_COLUMNS) == [c for c in assets.ASSET_ROW if c != "tenant_id"]
        assert selected("jobs", jobs.JOB_COLUMNS) == list(jobs.JOB_ROW)
        assert set(selected("users", users.USER_COLUMNS)) < set(users.USER_ROW)

def test_what_a_command_answers_is_what_a_read_of_the_table_answers(client: Any, tenant: Any, admin: Any) -> None:
    h = tenant.headers
    project = ready_project(client, tenant)
    renamed = client.patch(f"/api/v1/projects/{project['id']}", json={"title": "renamed"}, headers=h).json()
    assert renamed == client.get(f"/api/v1/projects/{project['id']}", headers=h).json()
    assert client.get(f"/api/v1/projects/{project['id']}?at={renamed['version']}", headers=h).json() == renamed

    job = client.post(f"/api/v1/projects/{project['id']}/jobs", json={}, headers=h).json()
    assert job == client.get(f"/api/v1/jobs/{job['id']}", headers=h).json()

    asset = client.post("/api/v1/assets", json={"type": "image", "uri": "r2://bucket/a.png", "size_bytes": 10,
                                                "metadata": {"w": 1}}, headers=h).json()
    assert asset == client.get(f"/api/v1/assets/{asset['id']}", headers=h).json()

    preset = client.post("/api/v1/presets", json={"name": "mine", "config": {}}, headers=h).json()
    assert preset == client.get(f"/api/v1/presets/{preset['id']}", headers=h).json()

    user = client.put(f"/api/v1/admin/users/{tenant.id}/role", json={"role": "premium"}, headers=admin.headers)
    assert user.status_code == 200, user.text
    assert user.json() == client.get(f"/api/v1/admin/users/{tenant.id}", headers=admin.headers).json()
