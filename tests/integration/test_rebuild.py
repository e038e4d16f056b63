"""Rebuilding the inline read models from the events reproduces them exactly."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any
from uuid import UUID, uuid4

import pytest

from psycopg.types.json import Jsonb

from domain.application import CommandContext
from domain.users import User
from projections.inline import INLINE_PROJECTIONS
from tests.rebuild_support import rebuild, table_checksums

TABLES = [t for p in INLINE_PROJECTIONS for t in p.tables]
STORY = ("第一段。" + "山上有一座古老的寺廟，廟裡住著一位老和尚和一個小和尚。" * 6 + "\n\n"
         + "Once upon a time a fox lived at the edge of the forest. " * 8)


def make_history(services: Any, make_tenant: Any) -> list[str]:
    from datetime import datetime, timedelta, timezone

    worker = CommandContext(tenant_id="w", actor_id="worker-1", role="worker")
    tenants = []
    for t in (make_tenant(), make_tenant("premium")):
        tenants.append(t.id)
        ctx = CommandContext(tenant_id=t.id, actor_id=t.id, role=t.role)
        for i in range(3):
            p = services.app.create_project(ctx, title=f"Project {i}", config={"aspect_ratio": "16:9"})
            scenes = services.app.set_story(ctx, str(p.id), None, STORY).scenes
            if len(scenes[0]["text"]) + len(scenes[1]["text"]) <= 280:
                services.app.merge_scenes(ctx, str(p.id), None, [0, 1])
            services.app.update_project(ctx, str(p.id), None, config={"voice": {"speed": 1.5}})
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
        services.app.update_preset(ctx, str(preset.id), None, name="Mine, renamed")
        services.app.update_me(ctx, None, name="Renamed", settings={"theme": "dark"})
        _, token_id, _ = services.app.issue_token(ctx, name="second")
        services.app.revoke_token(ctx, token_id)
        _sign_in_twice(services, ctx)
    return tenants


def _sign_in_twice(services: Any, ctx: CommandContext) -> None:
    """Sign-in: an identity linked, one session ended and one live (tables identities and sessions)."""
    import uuid

    from domain.commands.signin import Identity

    sub = uuid.uuid4().hex
    identity = Identity(provider="test", subject=sub, email=f"{sub}@example.com", name=None, id_token_hash=b"")
    services.app.link_identity(ctx, identity)
    for n in range(2):
        _, session, _ = services.app.sign_in(ctx, replace(identity, id_token_hash=uuid.uuid4().bytes),
                                             user_id=ctx.tenant_id, user_agent=f"agent {n}")
    services.app.end_session(ctx, str(session.id), "logout")


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


# -- shared by the rebuild test files ------------------------------------------------------------------

@contextmanager
def fresh_services(pool_size: int = 4) -> Iterator[tuple[Any, str]]:
    """Services on a database of their own: rebuilds do DDL, which must not touch the shared one."""
    from api.services import Services
    from eventstore.database import Database
    from tests import support

    name, url = support.fresh_database("avm_rb")
    services = Services(Database(url=url, embedded=False), pool_size=pool_size)
    try:
        yield services, url
    finally:
        services.close()
        support.drop_database(name)


def register(services: Any, role: str = "user") -> tuple[CommandContext, str]:
    """A new tenant: its command context and its token."""
    user, token = services.app.register_user(CommandContext.system("tests"), email=f"t-{uuid4().hex[:12]}@example.com",
                                             name="Test", role=role)
    return CommandContext(tenant_id=str(user.id), actor_id=str(user.id), role=role), token


def seed_mixed_history(services: Any, tenants: int = 50) -> list[CommandContext]:
    """Every aggregate and most of their events, across `tenants` tenants: users with tokens,
    settings and default presets; projects with stories, scene edits, deletes and restores; jobs
    claimed, progressing, failing (retried and not), succeeding and cancelled; assets attached,
    expired, deleted and restored; presets renamed and deleted; daily usage."""
    app = services.app
    worker = CommandContext(tenant_id="w", actor_id="worker-1", role="worker")
    contexts = []
    for i in range(tenants):
        now = datetime.now(timezone.utc)
        later = now + timedelta(minutes=10)
        ctx, _ = register(services, ("user", "premium", "admin")[i % 3])
        contexts.append(ctx)
        if i % 2:
            app.update_me(ctx, None, name=f"Tenant {i}", settings={"theme": "dark", "notifications": {"discord": True}})
        if i % 5 == 0:
            _, token_id, _ = app.issue_token(ctx, name="ci", expires_in_days=30)
            app.revoke_token(ctx, token_id)
        if i % 3 == 0:
            preset = app.create_preset(ctx, name=f"Preset {i}", config={"template": {"name": "dark"}}, is_default=True)
            app.update_preset(ctx, str(preset.id), None, name="Renamed preset")
            if i % 6 == 0:
                app.delete_preset(ctx, str(preset.id), None)
        project = app.create_project(ctx, title=f"Project {i}", config={"aspect_ratio": "9:16"})
        pid = str(project.id)
        app.set_story(ctx, pid, None, STORY)
        kind = i % 4
        if kind == 0:
            app.update_scene(ctx, pid, None, 0, prompt="a fox at dawn")
            project, _ = app.split_scene(ctx, pid, None, 1, 40)
            app.reorder_scenes(ctx, pid, None, list(reversed(range(len(project.scenes)))))
        elif kind == 1:
            app.update_project(ctx, pid, None, title=f"Project {i}, renamed")
            app.update_project(ctx, pid, None, config={"voice": {"speed": 1.25}})
        elif kind == 2:
            app.delete_project(ctx, pid, None)
            app.restore_project(ctx, pid, None)
        else:
            app.split_scene(ctx, pid, None, 1, 40)
            app.merge_scenes(ctx, pid, None, [1, 2])
        if kind != 2 or i % 8 == 2:
            job = app.queue_job(ctx, pid)
            jid = str(job.id)
            if i % 7 == 0:
                app.cancel_job(ctx, jid)
                app.retry_job(ctx, jid, from_step="image_generation")
            app.claim_job(worker, [job.id])
            app.report_progress(worker, jid, "image_generation", 40.0)
            outcome = i % 5
            if outcome in (0, 1):
                app.fail_job(worker, jid, code="RATE_LIMIT", message="slow down", retryable=True, jitter=0.5)
                app.claim_job(worker, [job.id], now=later)
                app.complete_job(worker, jid, cost_actual=1.25, now=later)
            elif outcome == 2:
                app.fail_job(worker, jid, code="CONTENT_POLICY", message="no", retryable=False)
            elif outcome == 3:
                app.complete_job(worker, jid, cost_actual=0.5)
            else:
                app.cancel_job(ctx, jid)
        image = app.register_asset(ctx, type="image", uri=f"r2://b/{i}.png", project_id=pid, scene_index=0,
                                   expires_at=now + timedelta(days=1))
        if i % 4 == 1:
            app.delete_asset(ctx, str(image.id), None)
            app.restore_asset(ctx, str(image.id), None)
        if i % 3 == 1:
            old = app.register_asset(ctx, type="json", uri=f"r2://b/{i}.json", expires_at=now + timedelta(seconds=1))
            app.expire_assets(CommandContext.system("tests"), [old.id], now=now + timedelta(seconds=2))
    return contexts


def test_the_fast_fold_folds_exactly_as_the_library(services: Any, make_tenant: Any) -> None:
    """The msgspec decoder and the direct apply reproduce the library's mapper and mutate, row for row."""
    from eventsourcing.persistence import JSONTranscoder, StoredEvent

    from eventstore.replay import log_head
    from tests.rebuild_support import fold_events

    tenants = make_history(services, make_tenant)
    mapper = services.app.mapper
    library = JSONTranscoder()  # the library's own decoder, with the application's transcodings
    library.types, library.names = mapper.transcoder.types, mapper.transcoder.names  # type: ignore[attr-defined]
    for tenant in tenants:
        with services.read(scope="system") as conn:
            head = log_head(conn)
            fast = fold_events(conn, mapper, tenant_id=UUID(tenant), upto=head)
            states = conn.execute("SELECT originator_id, originator_version, topic, state FROM events"
                                  " WHERE tenant_id = %s AND notification_id <= %s ORDER BY tenant_seq",
                                  (tenant, head)).fetchall()
        slow: dict[Any, Any] = {}
        for r in states:
            state = bytes(r["state"])
            assert mapper.transcoder.decode(state) == library.decode(state)
            event = mapper.to_domain_event(StoredEvent(originator_id=r["originator_id"],
                                                       originator_version=r["originator_version"],
                                                       topic=r["topic"], state=state))
            slow[r["originator_id"]] = event.mutate(slow.get(r["originator_id"]))
        handled = {k: v for k, v in slow.items() if any(isinstance(v, p.handles) for p in INLINE_PROJECTIONS)}
        assert fast.keys() == handled.keys() and len(handled) > 5
        for projection in INLINE_PROJECTIONS:
            for key, aggregate in handled.items():
                if isinstance(aggregate, projection.handles):
                    assert _plain(projection.rows(fast[key])) == _plain(projection.rows(aggregate))


def test_an_aggregate_of_a_type_this_code_does_not_know_is_skipped_but_an_unknown_event_of_a_known_one_stops_the_fold(
        services: Any) -> None:
    from eventsourcing.utils import TopicError

    from eventstore.replay import Folder
    from projections.rebuild import handled_types

    folder = Folder(services.app.mapper, handled_types(INLINE_PROJECTIONS))
    stranger, user = uuid4(), User.register(email="x@example.com", name=None, role="user")
    events = [services.app.mapper.to_stored_event(e) for e in user.collect_events()]
    folder.fold([(stranger.bytes, 1, "tests:NoSuchAggregate.Created", b"not even json"),
                 (stranger.bytes, 2, "tests:NoSuchAggregate.Renamed", b"{}"),
                 *[(e.originator_id.bytes, e.originator_version, e.topic, e.state) for e in events]])
    assert [a.email for a in folder.aggregates.values()] == ["x@example.com"]
    with pytest.raises(TopicError):
        folder.fold([(user.id.bytes, len(events) + 1, "domain.users:User.NoSuchEvent", b"{}")])



def _plain(rows: dict[str, list[tuple[Any, ...]]]) -> dict[str, list[tuple[Any, ...]]]:
    from psycopg.types.json import Jsonb

    return {t: [tuple(v.obj if isinstance(v, Jsonb) else v for v in row) for row in rs] for t, rs in rows.items()}


def test_rows_a_binary_copy_cannot_type_are_copied_as_text_like_the_inline_parameters(services: Any) -> None:
    import psycopg

    from projections.rebuild.builder import copy_rows
    from projections.rebuild.catalog import create_targets

    with psycopg.connect(services.db.url) as conn:  # a temporary table: private to this session
        (target,) = create_targets(conn, [p for p in INLINE_PROJECTIONS if p.name == "presets"], scratch=True)
        tenant, preset = uuid4(), uuid4()
        now = datetime.now(timezone.utc)
        copy_rows(conn, target, [(tenant, preset, "typed", Jsonb({"a": 1.5}), 1, now, now, None)])
        copy_rows(conn, target, [(str(tenant), str(uuid4()), "as text", Jsonb({}), 2, now.isoformat(), now, None)])
        rows = conn.execute("SELECT name, config, version FROM pg_temp.presets__rb ORDER BY version").fetchall()
    assert rows == [("typed", {"a": 1.5}, 1), ("as text", {}, 2)]
