"""Two applications on one database, as in `avm serve` (the HTTP app, and the maintenance thread's own
services that run the lease sweep) or replicas: neither's cached copy of a job may hide a change the
other made. Found by the reference worker's kill -9 test (tests/faults/test_reference_worker_faults.py):
a job the sweep requeued was never claimed again by the HTTP app, which held it cached as running."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from domain.context import CommandContext
from tests import support
from tests.integration.test_maintenance import Db, open_db


@pytest.fixture
def two() -> Iterator[tuple[Db, Db]]:
    name, url = support.fresh_database("avm_stale")
    a, b = open_db(url), open_db(url)
    try:
        yield a, b
    finally:
        a.services.close()
        b.services.close()
        support.drop_database(name)


def _sweep(db: Db, now: datetime) -> int:
    from api.controllers.jobs import expire_leases

    return expire_leases(db.services, CommandContext.system("sweep"), now=now)


def test_a_job_requeued_by_another_process_is_claimed_and_one_reclaimed_there_is_swept(two: Any) -> None:
    serving, maintenance = two
    ctx = serving.tenant()
    app = serving.services.app
    start = datetime.now(timezone.utc)
    project = app.create_project(ctx, title="stale", now=start)
    app.set_story(ctx, str(project.id), None, support.STORY, now=start)
    job_id = app.queue_job(ctx, str(project.id), now=start).id
    worker = CommandContext(tenant_id=ctx.tenant_id, actor_id="worker-1", role="worker")
    first = app.claim_job(worker, [job_id], now=start, lease_seconds=5)
    assert first is not None and first.attempts == 1  # the serving app now holds the job cached as running

    assert _sweep(maintenance, start + timedelta(seconds=10)) == 1  # the other process requeues it
    again = app.claim_job(worker, [job_id], now=start + timedelta(seconds=60), lease_seconds=5)
    assert again is not None and (again.status, again.attempts) == ("running", 2)

    # the maintenance app holds it cached as queued: its sweep must still see the second lease expire
    assert _sweep(maintenance, start + timedelta(seconds=120)) == 1
    swept = serving.sql("SELECT status, attempts, error->>'code' AS code FROM jobs WHERE id = %s", (job_id,))[0]
    assert swept == {"status": "queued", "attempts": 2, "code": "TIMEOUT"}
