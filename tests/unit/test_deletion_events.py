"""Soft delete and restore, declared once for Project, Asset and Preset: each still records its own
`<Aggregate>.Deleted` / `.Restored` under the topic and with the payload stored today, the legacy
`TenantAggregate.Deleted` / `.Restored` still fold, and the library's snapshots and upcasting work
on these event classes (docs/decisions/i12-events.md, i12-tidy.md)."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import pytest
from eventsourcing.domain import Snapshot, event
from eventsourcing.persistence import StoredEvent

from domain.assets import Asset
from domain.presets import Preset
from domain.projects import Project
from domain.shared import DeletableAggregate, TenantAggregate
from tests.unit.gwt import given, history, store_mapper

TENANT = "4f7d2c1e-0000-4000-8000-000000000001"
NOW = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)

# The topics as stored in logs today: stored schema, written out rather than derived from the code.
MADE: dict[str, tuple[Callable[[], Any], str]] = {
    "project": (lambda: Project.create(tenant_id=TENANT, title="Night train"), "domain.projects:Project"),
    "asset": (lambda: Asset.register(tenant_id=TENANT, type="image", uri="r2://bucket/a.png", size_bytes=10,
                                     metadata=None, project_id=None, job_id=None, scene_index=None,
                                     expires_at=None, now=NOW), "domain.assets:Asset"),
    "preset": (lambda: Preset.create(tenant_id=TENANT, name="Mine", config={}), "domain.presets:Preset"),
}
LEGACY = ("domain.shared:TenantAggregate.Deleted", "domain.shared:TenantAggregate.Restored")
KINDS = pytest.mark.parametrize("kind", MADE)


def deleted_and_restored(kind: str) -> tuple[list[Any], list[Any]]:
    """The creation history of a `kind`, and the events of deleting then restoring it."""
    aggregate = MADE[kind][0]()
    past = history(aggregate)
    return past, history(aggregate, lambda a: a.delete(), lambda a: a.restore())


@KINDS
def test_deleting_and_restoring_store_the_aggregates_own_topics_and_only_a_timestamp(kind: str) -> None:
    _, events = deleted_and_restored(kind)
    mapper = store_mapper()

    rows = [mapper.to_stored_event(e) for e in events]

    prefix = MADE[kind][1]
    assert [r.topic for r in rows] == [f"{prefix}.Deleted", f"{prefix}.Restored"]
    assert [sorted(mapper.transcoder.decode(r.state)) for r in rows] == [["timestamp"], ["timestamp"]]


@KINDS
def test_stored_deletions_read_back_as_the_aggregates_own_classes_and_fold(kind: str) -> None:
    past, events = deleted_and_restored(kind)
    mapper = store_mapper()
    cls = type(given(*past))

    read = [mapper.to_domain_event(mapper.to_stored_event(e)) for e in events]

    assert [type(e) for e in read] == [cls.Deleted, cls.Restored]
    assert given(*past, read[0]).deleted is True
    assert given(*past, *read).deleted is False


@KINDS
def test_a_legacy_tenant_aggregate_deletion_and_restoration_still_fold(kind: str) -> None:
    aggregate = MADE[kind][0]()
    past = history(aggregate)
    aggregate.trigger_event(TenantAggregate.Deleted)  # as the code before per-aggregate events did
    aggregate.trigger_event(TenantAggregate.Restored)
    mapper = store_mapper()

    rows = [mapper.to_stored_event(e) for e in aggregate.collect_events()]
    read = [mapper.to_domain_event(r) for r in rows]

    assert tuple(r.topic for r in rows) == LEGACY
    assert given(*past, read[0]).deleted is True
    assert given(*past, *read).deleted is False
    assert given(*past, *read).version == len(past) + 2


@KINDS
def test_a_snapshot_of_a_deleted_aggregate_holds_the_deletion_and_takes_the_restoration(kind: str) -> None:
    past, (deleted, restored) = deleted_and_restored(kind)
    mapper = store_mapper()
    snapshot = mapper.to_domain_event(mapper.to_stored_event(Snapshot.take(given(*past, deleted))))

    aggregate = snapshot.mutate(None)

    assert (aggregate.deleted, aggregate.version) == (True, len(past) + 1)
    assert mapper.to_domain_event(mapper.to_stored_event(restored)).mutate(aggregate).deleted is False


class Shelf(DeletableAggregate):
    """A deletable aggregate whose Deleted event evolved to version 2 (it gained a field)."""

    @event("Created")
    def __init__(self, tenant_id: str) -> None:
        self.tenant_id = tenant_id

    class Deleted(DeletableAggregate.Deleted):
        class_version = 2
        why: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["why"] = "not recorded"


def test_a_deletion_stored_before_its_class_evolved_is_upcast_by_the_library_and_folds() -> None:
    shelf = Shelf(tenant_id=TENANT)
    past = history(shelf)
    mapper = store_mapper()
    v1 = mapper.transcoder.encode({"timestamp": past[0].timestamp})  # what version 1 stored

    read = mapper.to_domain_event(StoredEvent(originator_id=shelf.id, originator_version=2,
                                              topic="tests.unit.test_deletion_events:Shelf.Deleted", state=v1))

    assert (type(read), read.why) == (Shelf.Deleted, "not recorded")
    assert given(*past, read).deleted is True
