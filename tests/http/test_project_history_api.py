"""A project's history, time travel (`?at=`), correlation ids and idempotent creates, end to end."""
from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from tests.http.helpers import (
    EVENT_FIELDS, PROJECTS, UUID_RE, assert_problem, count_events, create_project, edit_scenes, project_with_story,
    scenes_of,
)


def _rfc3339(ts: datetime) -> str:
    return ts.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


# -- history ----------------------------------------------------------------------------------------
def test_history_lists_every_event_with_its_metadata(client, services, tenant):
    created = client.post(PROJECTS, json={"title": "Start"},
                          headers={**tenant.headers, "X-Correlation-ID": "corr-create-1",
                                   "Idempotency-Key": "key-create-1"})
    pid = created.json()["id"]
    client.patch(f"{PROJECTS}/{pid}", json={"title": "Renamed", "description": "d"},
                 headers={**tenant.headers, "X-Correlation-ID": "corr-rename-2", "Idempotency-Key": "key-rename-2"})
    client.post(f"{PROJECTS}/{pid}/status", json={"status": "ready"},
                headers={**tenant.headers, "X-Correlation-ID": "corr-status-3"})

    r = client.get(f"{PROJECTS}/{pid}/history", headers=tenant.headers)

    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert [e["version"] for e in items] == [1, 2, 3, 4]
    assert [e["type"] for e in items] == ["Project.Created", "Project.Renamed", "Project.Described",
                                          "Project.StatusChanged"]
    for event in items:
        assert set(event) == EVENT_FIELDS
        assert event["aggregate_id"] == pid
        assert event["aggregate_type"] == "Project"
        assert event["actor_id"] == tenant.id
        assert event["causation_id"] is None
        assert re.fullmatch(r"[0-9a-f]{64}", event["hash"]) and re.fullmatch(r"[0-9a-f]{64}", event["prev_hash"])
        datetime.fromisoformat(event["recorded_at"].replace("Z", "+00:00"))
    assert [e["correlation_id"] for e in items] == ["corr-create-1", "corr-rename-2", "corr-rename-2",
                                                    "corr-status-3"]
    assert [e["command_id"] for e in items] == ["key-create-1", "key-rename-2", "key-rename-2", None]
    assert items[0]["data"]["title"] == "Start"
    assert items[1]["data"]["title"] == "Renamed"
    assert items[3]["data"]["status"] == "ready"
    # Positions and the tenant's sequence grow; each event links to the tenant's previous one.
    assert [e["position"] for e in items] == sorted(e["position"] for e in items)
    assert [e["tenant_seq"] for e in items] == sorted(e["tenant_seq"] for e in items)
    with services.read(scope="system") as conn:
        for event in items:
            row = conn.execute("SELECT hash FROM events WHERE tenant_id = %s AND tenant_seq = %s",
                               (tenant.id, event["tenant_seq"] - 1)).fetchone()
            assert bytes(row["hash"]).hex() == event["prev_hash"]
            row = conn.execute("SELECT hash FROM events WHERE tenant_id = %s AND tenant_seq = %s",
                               (tenant.id, event["tenant_seq"])).fetchone()
            assert bytes(row["hash"]).hex() == event["hash"]


def test_history_of_a_missing_project_is_404(client, tenant):
    assert_problem(client.get(f"{PROJECTS}/{uuid.uuid4()}/history", headers=tenant.headers), 404)
    # A user id is an aggregate, but not a project.
    assert_problem(client.get(f"{PROJECTS}/{tenant.id}/history", headers=tenant.headers), 404)


# -- time travel ------------------------------------------------------------------------------------
def test_at_a_version_returns_the_project_as_it_was(client, tenant):
    pid = create_project(client, tenant, "Original title")["id"]
    client.patch(f"{PROJECTS}/{pid}", json={"title": "New title"}, headers=tenant.headers)

    r = client.get(f"{PROJECTS}/{pid}", params={"at": "1"}, headers=tenant.headers)

    assert r.status_code == 200, r.text
    assert r.json()["title"] == "Original title"
    assert r.json()["version"] == 1
    assert r.headers["etag"] == '"1"'
    assert client.get(f"{PROJECTS}/{pid}", params={"at": "2"}, headers=tenant.headers).json()["title"] == "New title"


def test_at_a_time_between_two_commands_returns_the_state_at_that_time(client, tenant):
    pid = create_project(client, tenant, "Before")["id"]
    client.patch(f"{PROJECTS}/{pid}", json={"title": "After"}, headers=tenant.headers)
    history = client.get(f"{PROJECTS}/{pid}/history", headers=tenant.headers).json()["items"]
    t1 = datetime.fromisoformat(history[0]["recorded_at"].replace("Z", "+00:00"))
    t2 = datetime.fromisoformat(history[1]["recorded_at"].replace("Z", "+00:00"))
    assert t1 < t2
    between = t1 + (t2 - t1) / 2

    r = client.get(f"{PROJECTS}/{pid}", params={"at": _rfc3339(between)}, headers=tenant.headers)
    later = client.get(f"{PROJECTS}/{pid}", params={"at": _rfc3339(t2 + timedelta(seconds=1))},
                       headers=tenant.headers)
    earlier = client.get(f"{PROJECTS}/{pid}", params={"at": _rfc3339(t1 - timedelta(seconds=5))},
                         headers=tenant.headers)

    assert r.status_code == 200, r.text
    assert r.json()["title"] == "Before" and r.json()["version"] == 1
    assert later.json()["title"] == "After"
    assert_problem(earlier, 404)


def test_scenes_at_a_version_are_the_scenes_as_they_were(client, tenant):
    project = project_with_story(client, tenant)
    pid = project["id"]
    before = scenes_of(client, tenant, pid)
    edit_scenes(client, tenant, pid, {"op": "reorder", "order": list(reversed(range(len(before))))})

    r = client.get(f"{PROJECTS}/{pid}/scenes", params={"at": str(project["version"])}, headers=tenant.headers)

    assert r.status_code == 200, r.text
    assert r.json()["items"] == before


def test_at_a_version_beyond_the_current_one_is_404(client, tenant):
    pid = create_project(client, tenant)["id"]

    assert_problem(client.get(f"{PROJECTS}/{pid}", params={"at": "2"}, headers=tenant.headers), 404)
    assert_problem(client.get(f"{PROJECTS}/{pid}", params={"at": "999999"}, headers=tenant.headers), 404)


def test_at_a_version_when_the_project_was_deleted_is_404_unless_include_deleted(client, tenant):
    pid = create_project(client, tenant, "Short-lived")["id"]
    client.delete(f"{PROJECTS}/{pid}", headers=tenant.headers)

    alive = client.get(f"{PROJECTS}/{pid}", params={"at": "1"}, headers=tenant.headers)
    deleted = client.get(f"{PROJECTS}/{pid}", params={"at": "2"}, headers=tenant.headers)
    shown = client.get(f"{PROJECTS}/{pid}", params={"at": "2", "include_deleted": "true"}, headers=tenant.headers)

    assert alive.status_code == 200 and alive.json()["deleted_at"] is None
    assert_problem(deleted, 404)
    assert shown.status_code == 200 and shown.json()["deleted_at"] is not None


def test_the_scenes_of_a_deleted_project_answer_404_even_with_at_its_current_version(client, tenant):
    project = project_with_story(client, tenant)
    pid = project["id"]
    client.delete(f"{PROJECTS}/{pid}", headers=tenant.headers)
    deleted_version = client.get(f"{PROJECTS}/{pid}", params={"include_deleted": "true"},
                                 headers=tenant.headers).json()["version"]

    assert_problem(client.get(f"{PROJECTS}/{pid}/scenes", headers=tenant.headers), 404)
    # As it was at the deletion, the project was deleted: a read of it is 404 like the current one.
    assert_problem(client.get(f"{PROJECTS}/{pid}/scenes", params={"at": str(deleted_version)},
                              headers=tenant.headers), 404)
    # Before the deletion it was alive, so its scenes then are readable.
    then = client.get(f"{PROJECTS}/{pid}/scenes", params={"at": str(project["version"])}, headers=tenant.headers)
    assert then.status_code == 200 and then.json()["items"]


@pytest.mark.parametrize("at", ["garbage", "0", "-1", "2024-13-45T99:00:00Z", "1.5"])
def test_a_garbage_at_answers_422_naming_at(client, tenant, at):
    pid = create_project(client, tenant)["id"]

    assert_problem(client.get(f"{PROJECTS}/{pid}", params={"at": at}, headers=tenant.headers), 422, "at")
    assert_problem(client.get(f"{PROJECTS}/{pid}/scenes", params={"at": at}, headers=tenant.headers), 422, "at")


# -- correlation and idempotency --------------------------------------------------------------------
def test_the_correlation_id_sent_is_echoed_on_the_response(client, tenant):
    r = client.post(PROJECTS, json={"title": "x"}, headers={**tenant.headers, "X-Correlation-ID": "abc-123"})
    assert r.headers["x-correlation-id"] == "abc-123"

    problem = client.get(f"{PROJECTS}/{uuid.uuid4()}", headers={**tenant.headers, "X-Correlation-ID": "abc-456"})
    assert problem.status_code == 404
    assert problem.headers["x-correlation-id"] == "abc-456"


def test_a_correlation_id_is_generated_when_absent_and_recorded_on_the_events(client, tenant):
    r = client.post(PROJECTS, json={"title": "x"}, headers=tenant.headers)
    generated = r.headers["x-correlation-id"]
    other = client.get(PROJECTS, headers=tenant.headers).headers["x-correlation-id"]

    assert UUID_RE.match(generated)
    assert other != generated
    history = client.get(f"{PROJECTS}/{r.json()['id']}/history", headers=tenant.headers).json()["items"]
    assert history[0]["correlation_id"] == generated


def test_an_unsafe_correlation_id_is_replaced_by_a_generated_one(client, tenant):
    r = client.get(PROJECTS, headers={**tenant.headers, "X-Correlation-ID": "bad id; <script>"})

    assert r.status_code == 200
    assert UUID_RE.match(r.headers["x-correlation-id"])


def test_repeating_a_create_with_the_same_idempotency_key_returns_the_original_and_appends_nothing(
        client, services, tenant):
    headers = {**tenant.headers, "Idempotency-Key": f"create-{uuid.uuid4().hex}"}
    first = client.post(PROJECTS, json={"title": "Once"}, headers=headers)
    assert first.status_code == 201
    before = count_events(services, tenant.id)

    again = client.post(PROJECTS, json={"title": "Once"}, headers=headers)

    assert again.status_code == first.status_code
    assert again.json() == first.json()
    assert count_events(services, tenant.id) == before
    assert len(client.get(PROJECTS, headers=tenant.headers).json()["items"]) == 1
