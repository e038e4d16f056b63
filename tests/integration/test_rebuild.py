"""Rebuilding the inline read models from the events reproduces them exactly."""
from __future__ import annotations

from typing import Any

from domain.application import CommandContext
from projections.inline import INLINE_PROJECTIONS
from projections.rebuild import rebuild, table_checksums

TABLES = [t for p in INLINE_PROJECTIONS for t in p.tables]
STORY = ("第一段。" + "山上有一座古老的寺廟，廟裡住著一位老和尚和一個小和尚。" * 6 + "\n\n"
         + "Once upon a time a fox lived at the edge of the forest. " * 8)


def make_history(services: Any, make_tenant: Any) -> None:
    from datetime import datetime, timedelta, timezone

    worker = CommandContext(tenant_id="w", actor_id="worker-1", role="worker")
    for t in (make_tenant(), make_tenant("premium")):
        ctx = CommandContext(tenant_id=t.id, actor_id=t.id, role=t.role)
        for i in range(3):
            p = services.app.create_project(ctx, title=f"Project {i}", config={"aspect_ratio": "16:9"})
            services.app.change_project(ctx, str(p.id), None, lambda p: p.set_story(STORY))
            services.app.change_project(ctx, str(p.id), None, lambda p: p.merge_scenes([0, 1])
                                        if len(p.scenes[0]["text"]) + len(p.scenes[1]["text"]) <= 280 else None)
            services.app.change_project(ctx, str(p.id), None, lambda p: p.reconfigure({"voice": {"speed": 1.5}}))
            if i == 1:
                services.app.delete_project(ctx, str(p.id), None)
            if i == 2:
                services.app.delete_project(ctx, str(p.id), None)
                services.app.restore_project(ctx, str(p.id), None)
        project_id = str(p.id)
        job = services.app.queue_job(ctx, project_id)
        services.app.claim_job(worker, [job.id])
        services.app.report_progress(worker, str(job.id), "image_generation", 40.0)
        services.app.fail_job(worker, str(job.id), code="RATE_LIMIT", message="slow down", retryable=True,
                              jitter=0.5)
        now = datetime.now(timezone.utc)
        services.app.register_asset(ctx, type="image", uri="r2://b/k.png", project_id=project_id, scene_index=0,
                                    expires_at=now + timedelta(days=1))
        old = services.app.register_asset(ctx, type="json", uri="r2://b/k.json", expires_at=now + timedelta(seconds=1))
        services.app.expire_assets(CommandContext.system("tests"), [old.id], now=now + timedelta(seconds=2))
        preset = services.app.create_preset(ctx, name="Mine", config={"template": {"name": "dark"}}, is_default=True)
        services.app.change_preset(ctx, str(preset.id), None, lambda p: p.rename("Mine, renamed"))
        services.app.update_me(ctx, None, name="Renamed", settings={"theme": "dark"})
        _, token_id, _ = services.app.issue_token(ctx, name="second")
        services.app.revoke_token(ctx, token_id)


def test_rebuilding_every_projection_reproduces_identical_rows(services: Any, make_tenant: Any) -> None:
    make_history(services, make_tenant)
    with services.read(scope="system") as conn:
        before = table_checksums(conn, TABLES)
        tracking_before = {r["application_name"]: r["notification_id"] for r in conn.execute("SELECT * FROM tracking")}
        result = rebuild(conn, services.app.mapper)
        after = table_checksums(conn, TABLES)
        tracking_after = {r["application_name"]: r["notification_id"] for r in conn.execute("SELECT * FROM tracking")}
    assert result["rows"] > 0
    assert after == before
    assert all(int(v.split(":")[0]) > 0 for v in after.values())
    assert tracking_after == tracking_before


def test_rebuild_repairs_a_damaged_read_model(services: Any, make_tenant: Any) -> None:
    make_history(services, make_tenant)
    with services.read(scope="system") as conn:
        before = table_checksums(conn, TABLES)
        conn.execute("DELETE FROM scenes WHERE idx = 0")
        conn.execute("UPDATE projects SET title = 'corrupted'")
        assert table_checksums(conn, TABLES) != before
        rebuild(conn, services.app.mapper, ["projects", "scenes"])
        assert table_checksums(conn, TABLES) == before


def test_a_per_tenant_rebuild_touches_only_that_tenants_rows(services: Any, make_tenant: Any) -> None:
    from uuid import UUID

    a, b = make_tenant(), make_tenant()
    for t in (a, b):
        services.app.create_project(CommandContext(tenant_id=t.id, actor_id=t.id), title="mine")
    with services.read(scope="system") as conn:
        conn.execute("UPDATE projects SET title = 'damaged' WHERE tenant_id = ANY(%s)", ([UUID(a.id), UUID(b.id)],))
        rebuild(conn, services.app.mapper, ["projects"], tenant_id=UUID(a.id))
        titles = {str(r["tenant_id"]): r["title"] for r in conn.execute(
            "SELECT tenant_id, title FROM projects WHERE tenant_id = ANY(%s)", ([UUID(a.id), UUID(b.id)],))}
    assert titles == {a.id: "mine", b.id: "damaged"}
