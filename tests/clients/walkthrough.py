"""The README walkthrough through the Python client that openapi-python-client generated from /schema/openapi.json.

Run by tests/clients/test_generated_clients.py: `python walkthrough.py URL TENANT_TOKEN WORKER_TOKEN` with the
generated package `avm_client` importable. Every call goes through a generated, typed function: headers such as
If-Match and Idempotency-Key are its parameters, never added by hand. Prints one line per step; exits non-zero
(an AssertionError) at the first answer that is not the documented one.
"""
from __future__ import annotations

import sys
import uuid

from avm_client import AuthenticatedClient
from avm_client.api.jobs import claim_job, complete_job, get_job, queue_job, report_progress
from avm_client.api.projects import (
    create_project, delete_project, edit_scenes, get_project, history, restore_project, set_story, update_project,
)
from avm_client.models import (
    CompleteJob, CreateProject, JobOut, MergeScenes, Problem, ProjectOut, QueueJob, ReportProgress,
    ReportProgressStep, SceneList, SetStory, SplitScene, UpdateProject, UpdateScene, WorkerJobOut, JobManifest,
)
from avm_client.models.history import History

STORY = (
    "Once upon a time a small fox lived at the edge of a pine forest by the sea. Every evening she climbed the "
    "dunes to watch the old lighthouse wake up and sweep its long arm of light across the water.\n\n"
    "One stormy night the light did not come on. The fox ran down to the rocks, where the keeper had slipped "
    "and hurt his leg, and she barked until the fishermen in the harbour heard her and came with lanterns.\n\n"
    "From then on the keeper left a bowl of warm milk on the lighthouse steps, and the fox never missed an "
    "evening at the top of the dunes, watching the light turn and turn until the morning came."
)


def step(name: str) -> None:
    print(f"ok: {name}", flush=True)


def main(url: str, tenant_token: str, worker_token: str) -> None:
    tenant = AuthenticatedClient(base_url=url, token=tenant_token, raise_on_unexpected_status=True)
    worker = AuthenticatedClient(base_url=url, token=worker_token, raise_on_unexpected_status=True)

    created = create_project.sync_detailed(client=tenant, body=CreateProject(title="My first video"))
    assert created.status_code == 201 and isinstance(created.parsed, ProjectOut), created.content
    project = created.parsed
    assert created.headers["ETag"] == '"1"' and created.headers["Location"].endswith(str(project.id))
    step("create: 201, Location and ETag \"1\"")

    read = get_project.sync_detailed(project.id, client=tenant)
    assert read.status_code == 200 and isinstance(read.parsed, ProjectOut)
    etag = read.headers["ETag"]
    step(f"read: ETag {etag}")

    renamed = update_project.sync_detailed(project.id, client=tenant, if_match=etag,
                                           body=UpdateProject(title="The fox and the lighthouse"))
    assert renamed.status_code == 200 and isinstance(renamed.parsed, ProjectOut)
    assert renamed.parsed.title == "The fox and the lighthouse" and renamed.headers["ETag"] == '"2"'
    step("PATCH with If-Match: 200")

    stale = update_project.sync_detailed(project.id, client=tenant, if_match=etag,
                                         body=UpdateProject(title="The fox and the lighthouse"))
    assert stale.status_code == 412 and isinstance(stale.parsed, Problem), stale.content
    step(f"the same PATCH again: 412 {stale.parsed.title}")

    story = set_story.sync_detailed(project.id, client=tenant, body=SetStory(text=STORY))
    assert story.status_code == 200 and isinstance(story.parsed, SceneList) and len(story.parsed.items) >= 3
    ready = get_project.sync(project.id, client=tenant)
    assert isinstance(ready, ProjectOut) and ready.status.value == "ready"
    step(f"story: {len(story.parsed.items)} scenes, status ready")

    first = story.parsed.items[0].text
    cut = first.index(". ") + 1
    split = edit_scenes.sync_detailed(project.id, client=tenant, if_match=story.headers["ETag"],
                                      body=SplitScene(op="split", index=0, position=cut))
    assert split.status_code == 200 and isinstance(split.parsed, SceneList)
    assert len(split.parsed.items) == len(story.parsed.items) + 1
    merged = edit_scenes.sync_detailed(project.id, client=tenant, body=MergeScenes(op="merge", indexes=[0, 1]))
    assert merged.status_code == 200 and isinstance(merged.parsed, SceneList)
    assert len(merged.parsed.items) == len(story.parsed.items)
    prompted = edit_scenes.sync_detailed(project.id, client=tenant,
                                         body=UpdateScene(op="update", index=0, prompt="a fox on a dune at dusk, watercolour"))
    assert isinstance(prompted.parsed, SceneList) and prompted.parsed.items[0].prompt.startswith("a fox")
    step("scene edits: split, merge, update")

    events = history.sync(project.id, client=tenant)
    assert isinstance(events, History) and [e.version for e in events.items] == list(range(1, len(events.items) + 1))
    assert events.items[0].type_ == "Project.Created" and all(e.hash_ and e.prev_hash for e in events.items)
    step(f"history: {len(events.items)} events")

    then = get_project.sync_detailed(project.id, client=tenant, at=1)
    assert then.status_code == 200 and isinstance(then.parsed, ProjectOut)
    assert then.parsed.title == "My first video" and then.headers["ETag"] == '"1"'
    step("?at=1: the project as it was at version 1")

    current = get_project.sync_detailed(project.id, client=tenant)
    gone = delete_project.sync_detailed(project.id, client=tenant, if_match=current.headers["ETag"])
    assert gone.status_code == 204, gone.content
    assert get_project.sync_detailed(project.id, client=tenant).status_code == 404
    back = restore_project.sync_detailed(project.id, client=tenant)
    assert back.status_code == 200 and isinstance(back.parsed, ProjectOut) and back.parsed.deleted_at is None
    step("delete: 204, then 404; restore: 200")

    key = f"walkthrough-{uuid.uuid4().hex}"
    queued = queue_job.sync_detailed(project.id, client=tenant, idempotency_key=key, body=QueueJob())
    assert queued.status_code == 201 and isinstance(queued.parsed, JobOut), queued.content
    again = queue_job.sync_detailed(project.id, client=tenant, idempotency_key=key, body=QueueJob())
    assert again.status_code == 201 and isinstance(again.parsed, JobOut) and again.parsed.id == queued.parsed.id
    assert again.headers["Idempotent-Replayed"] == "true"
    step(f"queue with an Idempotency-Key: 201, replayed once (estimate {queued.parsed.estimate.to_dict()})")

    claimed = claim_job.sync_detailed(client=worker)
    assert claimed.status_code == 200 and isinstance(claimed.parsed, JobManifest), claimed.content
    assert claimed.parsed.id == queued.parsed.id and claimed.parsed.status.value == "running"
    assert len(claimed.parsed.scenes) == 3  # the claim is the job's manifest: everything to render it
    progress = report_progress.sync_detailed(claimed.parsed.id, client=worker,
                                             body=ReportProgress(step=ReportProgressStep.VIDEO_RENDER, percentage=50,
                                                                 lease_id=claimed.parsed.lease.id))
    assert progress.status_code == 200
    done = complete_job.sync_detailed(claimed.parsed.id, client=worker, body=CompleteJob(cost_actual=0.42))
    assert done.status_code == 200 and isinstance(done.parsed, WorkerJobOut) and done.parsed.status.value == "succeeded"
    seen = get_job.sync(queued.parsed.id, client=tenant)
    assert isinstance(seen, JobOut) and seen.status.value == "succeeded"
    step("worker: claim, progress, complete; the tenant sees it succeeded")
    print("walkthrough complete")


if __name__ == "__main__":
    main(*sys.argv[1:4])
