"""A broken constraint leaves the event store as a typed error: the meaning the composition root gave
it, or a UniqueViolation naming it; the domain never reads a constraint name."""
from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import IntegrityError

from domain.errors import ConcurrentChange
from domain.projects import Project
from eventstore.errors import UniqueViolation
from eventstore.recorder import AvmRecorder, EventMeta


def _twice(services: Any, tenant: Any, recorder: Any) -> None:
    project = Project.create(tenant_id=tenant.id, title="twice")
    stored = [services.app.mapper.to_stored_event(e) for e in project.collect_events()]
    owners = {project.id: UUID(tenant.id)}
    recorder.insert_events(stored, tenants=owners, meta=EventMeta(actor_id=tenant.id))
    recorder.insert_events(stored, tenants=owners, meta=EventMeta(actor_id=tenant.id))


def test_the_same_version_saved_twice_reaches_the_domain_as_a_concurrent_change(services: Any, tenant: Any) -> None:
    with pytest.raises(ConcurrentChange):
        _twice(services, tenant, services.app.recorder)


def test_a_constraint_given_no_meaning_is_a_unique_violation_that_names_it(services: Any, tenant: Any) -> None:
    bare = AvmRecorder(services.app.recorder.datastore)  # nothing wired: no meanings, no inline tracking
    with pytest.raises(UniqueViolation) as raised:
        _twice(services, tenant, bare)
    assert raised.value.constraint == "events_pkey"
    assert isinstance(raised.value, IntegrityError)  # still the library's error, as its recorder suites expect
