"""Group commit: commands committed together stay atomic one by one.

The committer thread commits the commands waiting at that moment in one transaction, each in
its own savepoint. These tests hand `_commit_batch` a batch directly, so the batch is exactly
the one described, whatever the timing.
"""
from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import IntegrityError

from domain.application import CommandContext
from domain.projects import Project
from eventstore.recorder import _Item
from projections.inline import writes_for


def _item(services: Any, tenant: Any, aggregate: Any, events: list[Any] | None = None) -> _Item:
    stored = [services.app.mapper.to_stored_event(e) for e in (events or aggregate.collect_events())]
    ctx = CommandContext(tenant_id=tenant.id, actor_id=tenant.id, role="admin")
    return _Item(stored, ctx, {aggregate.id: UUID(tenant.id)}, writes_for([aggregate], [e.topic for e in stored]))


def _state(services: Any, tenant: Any, ids: list[UUID]) -> tuple[dict[UUID, int], set[UUID], dict[str, int]]:
    with services.read(scope="system") as conn:
        events = {r["originator_id"]: r["n"] for r in conn.execute(
            "SELECT originator_id, count(*) AS n FROM events WHERE originator_id = ANY(%s) GROUP BY 1", (ids,))}
        projects = {r["id"] for r in conn.execute("SELECT id FROM projects WHERE id = ANY(%s)", (ids,))}
        tracking = {r["application_name"]: r["notification_id"] for r in conn.execute("SELECT * FROM tracking")}
    return events, projects, tracking


def test_a_failing_command_fails_alone_and_the_others_of_its_batch_commit(services: Any, tenant: Any) -> None:
    recorder = services.app.recorder
    first, second, third = (Project.create(tenant_id=tenant.id, title=t) for t in ("first", "second", "third"))
    first_events = list(first.collect_events())
    items = [
        _item(services, tenant, first, first_events),
        _item(services, tenant, second),
        _item(services, tenant, first, first_events),  # the same event again: events_pkey
        _item(services, tenant, third),
    ]
    recorder._commit_batch(items)

    assert [type(i.error) for i in items] == [type(None), type(None), IntegrityError, type(None)]
    assert items[2].result is None
    ids = [n for i in items if i.result for n in i.result]
    assert len(ids) == 3 and ids == sorted(ids)
    events, projects, tracking = _state(services, tenant, [first.id, second.id, third.id])
    assert events == {first.id: 1, second.id: 1, third.id: 1}
    assert projects == {first.id, second.id, third.id}
    assert tracking["projects"] >= max(ids)

    # The connection is sound afterwards: the next batch commits (prepared statements included).
    fourth, fifth = Project.create(tenant_id=tenant.id, title="fourth"), Project.create(tenant_id=tenant.id, title="5th")
    later = [_item(services, tenant, fourth), _item(services, tenant, fifth)]
    recorder._commit_batch(later)
    assert [i.error for i in later] == [None, None] and all(i.result for i in later)


def test_a_failing_projection_write_fails_its_command_alone(services: Any, tenant: Any) -> None:
    recorder = services.app.recorder
    good, bad = Project.create(tenant_id=tenant.id, title="good"), Project.create(tenant_id=tenant.id, title="bad")
    bad_item = _item(services, tenant, bad)
    bad_item.writes.append(lambda curs: curs.execute("SELECT 1/0"))  # a database error after the insert
    items = [bad_item, _item(services, tenant, good)]
    recorder._commit_batch(items)

    assert items[0].error is not None and items[1].error is None
    events, projects, _ = _state(services, tenant, [good.id, bad.id])
    assert events == {good.id: 1} and projects == {good.id}  # the bad command left nothing


def test_a_client_side_failure_fails_the_whole_batch_and_writes_nothing(services: Any, tenant: Any) -> None:
    recorder = services.app.recorder
    a, b = Project.create(tenant_id=tenant.id, title="a"), Project.create(tenant_id=tenant.id, title="b")
    broken = _item(services, tenant, b)

    def boom(curs: Any) -> None:
        raise RuntimeError("projector bug")

    broken.writes.append(boom)
    items = [_item(services, tenant, a), broken]
    recorder._commit_batch(items)

    assert all(isinstance(i.error, RuntimeError) for i in items)
    events, projects, _ = _state(services, tenant, [a.id, b.id])
    assert events == {} and projects == set()


@pytest.mark.parametrize("failure", ["database", "client"])
def test_a_command_committed_alone_that_fails_writes_nothing_and_leaves_the_connection_clean(
        services: Any, tenant: Any, failure: str) -> None:
    """A batch of one is committed by `_commit_one`: BEGIN ... COMMIT in one pipeline."""
    recorder = services.app.recorder
    project = Project.create(tenant_id=tenant.id, title="alone")
    item = _item(services, tenant, project)

    def fail(curs: Any) -> None:
        if failure == "database":
            curs.execute("SELECT 1/0")
        else:
            raise RuntimeError("projector bug")

    item.writes.append(fail)
    recorder._commit_batch([item])

    assert item.error is not None and item.result is None
    events, projects, _ = _state(services, tenant, [project.id])
    assert events == {} and projects == set()
    again = Project.create(tenant_id=tenant.id, title="alone, again")
    ok = _item(services, tenant, again)
    recorder._commit_batch([ok])
    assert ok.error is None and ok.result
    assert _state(services, tenant, [again.id])[0] == {again.id: 1}
