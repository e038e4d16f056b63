"""What a command costs the database, counted (never timed), issue 17's write path
(docs/decisions/i17-write.md): the statements a command sends, and that what they store is unchanged."""
from __future__ import annotations

import sys
import uuid
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import psycopg
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from suite_scenarios import make_story


@pytest.fixture
def statements(monkeypatch: Any) -> list[tuple[str, Any]]:
    """Every statement sent through a psycopg cursor (the committer's thread included), with its parameters."""
    seen: list[tuple[str, Any]] = []
    original = psycopg.Cursor.execute

    def counting(self: Any, query: Any, params: Any = None, **kwargs: Any) -> Any:
        seen.append((query if isinstance(query, str) else repr(query), params))
        return original(self, query, params, **kwargs)

    monkeypatch.setattr(psycopg.Cursor, "execute", counting)
    return seen


def test_setting_a_20_scene_story_inserts_its_scenes_with_one_parameter_and_reads_them_back(
        client: Any, make_tenant: Any, statements: list[tuple[str, Any]]) -> None:
    from domain.segmentation import segment

    owner = make_tenant("admin")
    pid = client.post("/api/v1/projects", json={"title": "cost"}, headers=owner.headers).json()["id"]
    story = make_story()
    statements.clear()

    r = client.put(f"/api/v1/projects/{pid}/story", json={"text": story}, headers=owner.headers)

    assert r.status_code == 200, r.text
    inserts = [(q, p) for q, p in statements if q.startswith('INSERT INTO "scenes"')]
    # one statement of one parameter (was 20 rows x 6 parameters: past psycopg's parse cache, never prepared)
    assert len(inserts) == 1 and len(inserts[0][1]) == 1, inserts
    assert "jsonb_populate_recordset" in inserts[0][0]
    scenes = client.get(f"/api/v1/projects/{pid}/scenes", headers=owner.headers).json()
    items = scenes["items"] if isinstance(scenes, dict) else scenes
    assert [s["text"] for s in items] == segment(story) and len(items) == 20


def test_a_single_scene_keeps_its_prepared_one_row_insert(
        client: Any, make_tenant: Any, statements: list[tuple[str, Any]]) -> None:
    owner = make_tenant("admin")
    pid = client.post("/api/v1/projects", json={"title": "one"}, headers=owner.headers).json()["id"]
    statements.clear()

    r = client.put(f"/api/v1/projects/{pid}/story", json={"text": "A short story in one scene."}, headers=owner.headers)

    assert r.status_code == 200, r.text
    inserts = [(q, p) for q, p in statements if q.startswith('INSERT INTO "scenes"')]
    assert len(inserts) == 1 and len(inserts[0][1]) == 6 and "VALUES" in inserts[0][0]


def test_rows_written_through_json_are_stored_exactly_as_rows_written_with_a_parameter_per_value(
        database_url: str) -> None:
    """Byte for byte (as text), for every kind of value the JSON path takes; the rest falls back."""
    from psycopg.types.json import Jsonb

    from projections.base import _insert_rows_sql, _insert_sql, _rows_document

    columns = ("a_uuid", "n", "big", "flag", "txt", "at", "doc", "nothing")
    now = datetime(2026, 12, 7, 1, 2, 3, 456789, tzinfo=UTC)
    rows = [(uuid.uuid4(), i, 2**40 + i, i % 2 == 0, f"ünï \"q\" \\ {i}\n\t{chr(0x1F600)}",
             now + timedelta(microseconds=i) if i else now.astimezone(timezone(timedelta(hours=5, minutes=30))),
             Jsonb({"k": [1, 2.5, None, "x"], "nested": {"deep": i}}) if i != 1 else None, None)
            for i in range(4)]
    document = _rows_document(columns, rows)
    assert document is not None
    ddl = ("CREATE TEMP TABLE {} (a_uuid uuid, n integer, big bigint, flag boolean, txt text, at timestamptz,"
           " doc jsonb, nothing text)")
    with psycopg.connect(database_url) as conn:
        conn.execute(ddl.format("t_json"))
        conn.execute(ddl.format("t_values"))
        conn.execute(_insert_rows_sql("t_json", columns), (document,))
        conn.execute(_insert_sql("t_values", columns, len(rows)), [v for row in rows for v in row])
        as_json = conn.execute("SELECT t::text FROM t_json t ORDER BY n").fetchall()
        as_values = conn.execute("SELECT t::text FROM t_values t ORDER BY n").fetchall()
    assert as_json == as_values and len(as_json) == 4

    # what JSON cannot carry exactly keeps a parameter per value
    for odd in (b"\x00bytes", 1.5, datetime(2026, 1, 1), "nul\x00inside"):
        assert _rows_document(("x",), [(odd,), ("fine",)]) is None


def _stripe(services: Any, tenant_id: str) -> Any:
    """The in-process lock of the tenant's daily Usage aggregate (its quota counter) today."""
    app = services.app
    key = app._usage_key(tenant_id, datetime.now(UTC))
    return app._stripes[hash(str(key)) % len(app._stripes)]


def _in_thread(call: Any) -> tuple[Any, list[Any]]:
    import threading

    out: list[Any] = []
    thread = threading.Thread(target=lambda: out.append(call()), daemon=True)
    thread.start()
    return thread, out


@pytest.mark.parametrize("step", ["create", "story", "queue"])
def test_an_admins_commands_do_not_wait_for_the_tenants_quota_counter(
        client: Any, services: Any, make_tenant: Any, step: str) -> None:
    """An admin consumes no quota (Usage.consume appends nothing), so its creates, stories and queued
    jobs no longer take turns on the tenant's Usage stripe until their commit: one tenant's commands
    can share a group commit (issue 17; the suite's create/set-story/job-cycle tenants are admins)."""
    admin = make_tenant("admin")
    pid = client.post("/api/v1/projects", json={"title": "p"}, headers=admin.headers).json()["id"]
    if step == "queue":
        assert client.put(f"/api/v1/projects/{pid}/story", json={"text": make_story()},
                          headers=admin.headers).status_code == 200
    send = {"create": lambda: client.post("/api/v1/projects", json={"title": "q"}, headers=admin.headers),
            "story": lambda: client.put(f"/api/v1/projects/{pid}/story", json={"text": make_story()},
                                        headers=admin.headers),
            "queue": lambda: client.post(f"/api/v1/projects/{pid}/jobs", json={}, headers=admin.headers)}[step]
    stripe = _stripe(services, admin.id)
    with stripe:  # as a concurrent command of the tenant holding its quota counter until its commit
        thread, out = _in_thread(send)
        thread.join(20)
        assert not thread.is_alive(), "the admin's command waited for the tenant's Usage stripe"
    assert out[0].status_code in (200, 201), out[0].text


def test_a_limited_users_create_still_takes_turns_on_its_quota_counter(
        client: Any, services: Any, make_tenant: Any) -> None:
    user = make_tenant("user")
    stripe = _stripe(services, user.id)
    with stripe:
        thread, out = _in_thread(lambda: client.post("/api/v1/projects", json={"title": "q"}, headers=user.headers))
        thread.join(1.0)
        assert thread.is_alive() and not out  # waits for the counter: the quota is checked one at a time
    thread.join(20)
    assert out and out[0].status_code == 201, out


def _worker_ctx(worker: Any) -> Any:
    from domain.context import CommandContext

    return CommandContext(tenant_id=worker.id, actor_id=worker.id, role="worker")


def test_a_claim_passes_over_a_candidate_another_worker_of_this_process_is_claiming(
        client: Any, services: Any, make_tenant: Any) -> None:
    """Request cost (issue 17): 16 workers asking at once raced each other for the first candidate
    (a version conflict rolled back in the group commit, a backoff, a reload, a skip); now a claim
    takes the next candidate whose stripe is free, and waits only when every one is busy."""
    from uuid import UUID

    from tests.http.test_worker_contract import project_for, queued_job

    owner, worker = make_tenant("admin"), make_tenant("worker")
    first = UUID(queued_job(client, owner, project_for(client, owner)))
    second = UUID(queued_job(client, owner, project_for(client, owner)))
    app = services.app

    with app._stripe(first):  # another worker of this process is claiming `first` right now
        thread, out = _in_thread(lambda: app.claim_job(_worker_ctx(worker), [first, second]))
        thread.join(20)
        assert not thread.is_alive(), "the claim waited for the busy candidate"
    assert str(out[0].id) == str(second)

    with app._stripe(first):  # every candidate busy: the claim waits for it, then claims it
        thread, out = _in_thread(lambda: app.claim_job(_worker_ctx(worker), [first]))
        thread.join(0.5)
        assert thread.is_alive() and not out
    thread.join(20)
    assert out and str(out[0].id) == str(first)


def test_concurrent_claims_of_one_queue_never_conflict_and_claim_each_job_once(
        client: Any, services: Any, make_tenant: Any, monkeypatch: Any) -> None:
    import threading
    from uuid import UUID

    from domain.errors import ConcurrentChange
    from tests.http.test_worker_contract import project_for, queued_job

    owner, worker = make_tenant("admin"), make_tenant("worker")
    jobs = [UUID(queued_job(client, owner, project_for(client, owner))) for _ in range(6)]
    app = services.app
    conflicts: list[Any] = []
    save = app._save

    def counting_save(*args: Any, **kwargs: Any) -> Any:
        try:
            return save(*args, **kwargs)
        except ConcurrentChange as e:
            conflicts.append(e)
            raise

    monkeypatch.setattr(app, "_save", counting_save)
    start = threading.Barrier(6)
    claimed: list[Any] = []

    def one() -> None:
        start.wait()
        claimed.append(app.claim_job(_worker_ctx(worker), list(jobs)))

    threads = [threading.Thread(target=one) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(str(j.id) for j in claimed if j is not None) == sorted(str(j) for j in jobs)
    assert conflicts == []


def test_a_claim_skips_a_candidate_its_cache_shows_changed_since_queued_without_reading_the_store(
        client: Any, services: Any, make_tenant: Any, monkeypatch: Any) -> None:
    """The queue's row says queued at version v; the cached job is at v+1 and claimed (by another
    worker of this process): skipped without a reload (two store reads per candidate, under load
    ~1.6 per HTTP command of the job cycle). A cached copy not newer than the queue's row is still
    read afresh (tests/integration/test_stale_job_cache.py)."""
    from uuid import UUID

    from domain.jobs import Job
    from tests.http.test_worker_contract import project_for, queued_job

    owner, worker, other = make_tenant("admin"), make_tenant("worker"), make_tenant("worker")
    job_id = UUID(queued_job(client, owner, project_for(client, owner)))
    app = services.app
    queued_at = app.load(Job, job_id, None).version
    assert str(app.claim_job(_worker_ctx(other), [(job_id, queued_at)]).id) == str(job_id)
    reads: list[Any] = []
    select_events = app.recorder.select_events
    monkeypatch.setattr(app.recorder, "select_events", lambda *a, **k: reads.append(a) or select_events(*a, **k))

    assert app.claim_job(_worker_ctx(worker), [(job_id, queued_at)]) is None
    assert reads == []
    # the same candidate without its queued version: read afresh, as before
    assert app.claim_job(_worker_ctx(worker), [job_id]) is None
    assert len(reads) >= 1


def test_a_one_event_command_inserts_by_values_and_names_its_tracking_without_array_parameters(
        client: Any, make_tenant: Any, statements: list[tuple[str, Any]]) -> None:
    """The committer thread's psycopg work (issue 17): a one-event command's insert had five array
    parameters to dump (unnest) and its tracking upsert one; now none. Two events keep unnest."""
    owner = make_tenant("admin")
    # (the tenant's first command of the day also creates its Usage aggregate: two events)
    assert client.post("/api/v1/projects", json={"title": "first"}, headers=owner.headers).status_code == 201
    statements.clear()
    created = client.post("/api/v1/projects", json={"title": "one event"}, headers=owner.headers)
    assert created.status_code == 201
    inserts = [(q, p) for q, p in statements if q.startswith("INSERT INTO events")]
    assert len(inserts) == 1 and "VALUES" in inserts[0][0] and not any(isinstance(v, list) for v in inserts[0][1])
    tracking = [(q, p) for q, p in statements if q.startswith("INSERT INTO tracking")]
    assert tracking and all(not p or not any(isinstance(v, list) for v in p) for _, p in tracking), tracking

    statements.clear()
    pid = created.json()["id"]
    assert client.put(f"/api/v1/projects/{pid}/story", json={"text": make_story()},
                      headers=owner.headers).status_code == 200  # StorySet + StatusChanged
    inserts = [q for q, _ in statements if q.startswith("INSERT INTO events")]
    assert len(inserts) == 1 and "unnest" in inserts[0]


def test_a_create_replaces_no_scene_rows_but_a_story_on_an_existing_project_does(
        client: Any, make_tenant: Any, statements: list[tuple[str, Any]]) -> None:
    """A project created by this command has no rows yet: its scenes are not deleted first (one
    statement fewer per create); a later story replaces them as before."""
    owner = make_tenant("admin")
    statements.clear()
    created = client.post("/api/v1/projects", json={"title": "fresh"}, headers=owner.headers)
    assert created.status_code == 201
    assert not [q for q, _ in statements if q.startswith('DELETE FROM "scenes"')]

    pid = created.json()["id"]
    story = client.put(f"/api/v1/projects/{pid}/story", json={"text": make_story()}, headers=owner.headers)
    assert story.status_code == 200
    statements.clear()
    again = client.put(f"/api/v1/projects/{pid}/story", json={"text": "A new, shorter story in one scene."},
                       headers={**owner.headers, "If-Match": story.headers["etag"]})
    assert again.status_code == 200, again.text
    assert len([q for q, _ in statements if q.startswith('DELETE FROM "scenes"')]) == 1
    scenes = client.get(f"/api/v1/projects/{pid}/scenes", headers=owner.headers).json()
    items = scenes["items"] if isinstance(scenes, dict) else scenes
    assert [s["text"] for s in items] == ["A new, shorter story in one scene."]
