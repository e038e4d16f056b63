"""Issue 12 item 8: events name what happened to what, legacy deletions stay readable and
findable, `?at=` is never silently ignored, history is paged, commands carry a reason."""
from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from litestar.datastructures import Headers
from types import SimpleNamespace

from api.auth import command_reason
from domain.errors import ValidationProblem

from domain.application import CommandContext
from domain.projects import Project
from domain.shared import LEGACY_DELETED_TOPIC, TenantAggregate
from eventstore.verify import verify_export
from projections import audit as a
from tests.http.helpers import PROJECTS, assert_problem, count_events, create_project

AUDIT = "/api/v1/audit"
ASSETS = "/api/v1/assets"
PRESETS = "/api/v1/presets"


def audit_events(client: Any, who: Any, **params: Any) -> list[dict[str, Any]]:
    r = client.get(f"{AUDIT}/events", params={"limit": 100, **params}, headers=who.headers)
    assert r.status_code == 200, r.text
    assert r.json()["next_cursor"] is None  # the tests stay within one page
    return r.json()["items"]


def topics_of(services: Any, aggregate_id: str) -> list[str]:
    with services.read(scope="system") as conn:
        return [r["topic"] for r in conn.execute(
            "SELECT topic FROM events WHERE originator_id = %s ORDER BY originator_version", (aggregate_id,))]


def register_asset(client: Any, who: Any) -> dict[str, Any]:
    r = client.post(ASSETS, json={"type": "image", "uri": "s3://bucket/a.png", "size_bytes": 10}, headers=who.headers)
    assert r.status_code == 201, r.text
    return r.json()


def create_preset(client: Any, who: Any) -> dict[str, Any]:
    r = client.post(PRESETS, json={"name": "Mine", "config": {}}, headers=who.headers)
    assert r.status_code == 201, r.text
    return r.json()


def store_legacy_deletion(services: Any, tenant: Any, cls: type, aggregate_id: str) -> None:
    """Append `TenantAggregate.Deleted` as the code before per-aggregate events did (same recorder,
    same inline projections), so the log holds what a store written by that code holds."""
    aggregate = services.app.load(cls, aggregate_id, tenant.id)
    aggregate.trigger_event(TenantAggregate.Deleted)
    services.app._save(CommandContext(tenant_id=tenant.id, actor_id=tenant.id), aggregate)
    services.app.forget_cached()  # later reads fold the stored events


# -- events named after their aggregate ------------------------------------------------------------
def test_deleting_and_restoring_records_events_named_after_the_aggregate(client, services, tenant):
    project = create_project(client, tenant)["id"]
    asset = register_asset(client, tenant)["id"]
    preset = create_preset(client, tenant)["id"]
    for path, ident, module, name in ((PROJECTS, project, "projects", "Project"), (ASSETS, asset, "assets", "Asset"),
                                      (PRESETS, preset, "presets", "Preset")):
        assert client.delete(f"{path}/{ident}", headers=tenant.headers).status_code == 204
        assert client.post(f"{path}/{ident}/restore", headers=tenant.headers).status_code == 200
        assert topics_of(services, ident)[-2:] == [f"domain.{module}:{name}.Deleted", f"domain.{module}:{name}.Restored"]
        types = [e["type"] for e in audit_events(client, tenant, aggregate_id=ident)]
        assert types[-2:] == [f"{name}.Deleted", f"{name}.Restored"]
        assert [e["aggregate_id"] for e in audit_events(client, tenant, type=f"{name}.Deleted")] == [ident]
    assert [e["type"] for e in client.get(f"{PROJECTS}/{project}/history", headers=tenant.headers).json()["items"]] \
        == ["Project.Created", "Project.Deleted", "Project.Restored"]


def test_a_legacy_tenant_aggregate_deletion_still_folds_shows_in_history_and_is_found_by_its_aggregates_type(
        client, services, tenant):
    old = create_project(client, tenant, "Deleted before per-aggregate events")["id"]
    new = create_project(client, tenant, "Deleted today")["id"]
    asset = register_asset(client, tenant)["id"]
    store_legacy_deletion(services, tenant, Project, old)
    from domain.assets import Asset
    store_legacy_deletion(services, tenant, Asset, asset)
    assert topics_of(services, old)[-1] == LEGACY_DELETED_TOPIC
    assert client.delete(f"{PROJECTS}/{new}", headers=tenant.headers).status_code == 204

    # It folds: the project is deleted now and at its version 2, and restoring it works.
    assert_problem(client.get(f"{PROJECTS}/{old}", headers=tenant.headers), 404)
    at = client.get(f"{PROJECTS}/{old}", params={"at": 2, "include_deleted": "true"}, headers=tenant.headers)
    assert at.status_code == 200 and at.json()["deleted_at"] is not None, at.text
    assert_problem(client.get(f"{ASSETS}/{asset}", headers=tenant.headers), 404)
    # It shows in history as it was stored.
    history = client.get(f"{PROJECTS}/{old}/history", headers=tenant.headers).json()["items"]
    assert [e["type"] for e in history] == ["Project.Created", "TenantAggregate.Deleted"]

    # `type=Project.Deleted` finds the old and the new deletion of projects, not the asset's.
    found = audit_events(client, tenant, type="Project.Deleted")
    assert [(e["aggregate_id"], e["type"]) for e in found] == [(old, "TenantAggregate.Deleted"),
                                                               (new, "Project.Deleted")]
    assert [e["aggregate_id"] for e in audit_events(client, tenant, type="Asset.Deleted")] == [asset]
    assert audit_events(client, tenant, type="Preset.Deleted") == []
    assert len(audit_events(client, tenant, type="Deleted")) == 3
    assert len(audit_events(client, tenant, type="TenantAggregate.Deleted")) == 2

    restored = client.post(f"{PROJECTS}/{old}/restore", headers=tenant.headers)
    assert restored.status_code == 200 and restored.json()["deleted_at"] is None, restored.text
    assert topics_of(services, old)[-1] == "domain.projects:Project.Restored"


# -- ?at= is answered or refused, never ignored ----------------------------------------------------
@pytest.mark.parametrize("path", [PROJECTS, "/api/v1/jobs", ASSETS, PRESETS, f"{AUDIT}/events"])
def test_at_on_a_list_route_is_refused_naming_at(client, services, tenant, path):
    create_project(client, tenant)
    r = client.get(path, params={"at": "1"}, headers=tenant.headers)
    assert_problem(r, 422, "at")


def test_at_on_history_and_on_a_command_is_refused_and_writes_nothing(client, services, tenant):
    pid = create_project(client, tenant)["id"]
    assert_problem(client.get(f"{PROJECTS}/{pid}/history", params={"at": "1"}, headers=tenant.headers), 422, "at")
    before = count_events(services, tenant.id)
    r = client.patch(f"{PROJECTS}/{pid}", params={"at": "1"}, json={"title": "x"}, headers=tenant.headers)
    assert_problem(r, 422, "at")
    assert count_events(services, tenant.id) == before
    # Reading one resource still travels in time, and its CORS preflight (same query) is answered.
    assert client.get(f"{PROJECTS}/{pid}", params={"at": "1"}, headers=tenant.headers).status_code == 200
    assert client.options(f"{PROJECTS}/{pid}", params={"at": "1"}).status_code in (200, 204)


# -- /history pages --------------------------------------------------------------------------------
def test_history_is_paged_with_a_cursor_and_the_pages_add_up_to_the_whole_history(client, tenant):
    pid = create_project(client, tenant, "v1")["id"]
    for n in range(2, 7):
        assert client.patch(f"{PROJECTS}/{pid}", json={"title": f"v{n}"}, headers=tenant.headers).status_code == 200
    whole = client.get(f"{PROJECTS}/{pid}/history", headers=tenant.headers).json()
    assert [e["version"] for e in whole["items"]] == [1, 2, 3, 4, 5, 6] and whole["next_cursor"] is None

    pages, after = [], None
    while True:
        r = client.get(f"{PROJECTS}/{pid}/history", params={"limit": 4, **({"after": after} if after else {})},
                       headers=tenant.headers)
        assert r.status_code == 200, r.text
        pages.append([e["version"] for e in r.json()["items"]])
        after = r.json()["next_cursor"]
        if after is None:
            break
    assert pages == [[1, 2, 3, 4], [5, 6]]
    exact = client.get(f"{PROJECTS}/{pid}/history", params={"limit": 3}, headers=tenant.headers).json()
    last = client.get(f"{PROJECTS}/{pid}/history", params={"limit": 3, "after": exact["next_cursor"]},
                      headers=tenant.headers).json()
    assert [e["version"] for e in last["items"]] == [4, 5, 6] and last["next_cursor"] is None


def test_a_history_cursor_is_a_position_bound_whatever_it_names_and_a_garbled_one_is_refused(client, tenant,
                                                                                                 other_tenant):
    pid = create_project(client, tenant)["id"]
    client.patch(f"{PROJECTS}/{pid}", json={"title": "again"}, headers=tenant.headers)
    sibling = create_project(client, tenant)["id"]
    foreign = create_project(client, other_tenant)["id"]
    position_of = {ident: client.get(f"{PROJECTS}/{ident}/history", headers=who.headers).json()["items"][0]["position"]
                   for ident, who in ((sibling, tenant), (foreign, other_tenant))}
    whole = client.get(f"{PROJECTS}/{pid}/history", headers=tenant.headers).json()["items"]
    # Any position is a bound, like the audit events' `after` (schema-valid values are never refused): the
    # sibling's and the other tenant's come after this project's two events, 0 before them.
    for position in position_of.values():
        r = client.get(f"{PROJECTS}/{pid}/history", params={"after": position}, headers=tenant.headers)
        assert r.status_code == 200 and r.json() == {"items": [], "next_cursor": None}, r.text
    r = client.get(f"{PROJECTS}/{pid}/history", params={"after": 0}, headers=tenant.headers)
    assert r.status_code == 200 and r.json()["items"] == whole and len(whole) == 2
    r = client.get(f"{PROJECTS}/{pid}/history", params={"after": whole[0]["position"]}, headers=tenant.headers)
    assert r.json()["items"] == whole[1:]
    for garbled in ("abc", "-1", "1e3", "99999999999999999999"):
        r = client.get(f"{PROJECTS}/{pid}/history", params={"after": garbled}, headers=tenant.headers)
        assert_problem(r, 422, "after")
    for bad in ("0", "1001"):
        assert_problem(client.get(f"{PROJECTS}/{pid}/history", params={"limit": bad}, headers=tenant.headers),
                       422, "limit")
    # Another tenant's project stays a 404, cursor or not.
    assert_problem(client.get(f"{PROJECTS}/{foreign}/history", params={"after": position_of[foreign]},
                              headers=tenant.headers), 404)


def test_job_and_asset_histories_are_paged_too(client, tenant):
    asset = register_asset(client, tenant)["id"]
    client.delete(f"{ASSETS}/{asset}", headers=tenant.headers)
    client.post(f"{ASSETS}/{asset}/restore", headers=tenant.headers)
    first = client.get(f"{ASSETS}/{asset}/history", params={"limit": 2}, headers=tenant.headers).json()
    assert [e["type"] for e in first["items"]] == ["Asset.Registered", "Asset.Deleted"] and first["next_cursor"]
    rest = client.get(f"{ASSETS}/{asset}/history", params={"limit": 2, "after": first["next_cursor"]},
                      headers=tenant.headers).json()
    assert [e["type"] for e in rest["items"]] == ["Asset.Restored"] and rest["next_cursor"] is None


# -- a reason with every command --------------------------------------------------------------------
def test_a_reason_is_stored_with_the_commands_events_and_shown_in_history_audit_and_export(
        client, services, tenant):
    pid = create_project(client, tenant)["id"]
    why = "Kundenwunsch – Löschung #42 (GDPR)"
    r = client.patch(f"{PROJECTS}/{pid}", json={"title": "Renamed", "description": "d"},
                     headers={**tenant.headers, "X-Reason": why.encode("utf-8")})
    assert r.status_code == 200, r.text
    r = client.delete(f"{PROJECTS}/{pid}", headers={**tenant.headers, "X-Reason": "  customer asked  "})
    assert r.status_code == 204, r.text

    history = client.get(f"{PROJECTS}/{pid}/history", headers=tenant.headers).json()["items"]
    assert [(e["type"], e["reason"]) for e in history] == [
        ("Project.Created", None), ("Project.Renamed", why), ("Project.Described", why),
        ("Project.Deleted", "customer asked")]
    listed = audit_events(client, tenant, aggregate_id=pid)
    assert [e["reason"] for e in listed] == [e["reason"] for e in history]

    r = client.get(f"{AUDIT}/export", headers=tenant.headers)
    assert r.status_code == 200
    lines = r.content.splitlines()
    exported = [json.loads(line) for line in lines[:-1]]
    assert [e["reason"] for e in exported if e["aggregate_id"] == pid] == [e["reason"] for e in history]
    # The reason is covered by the hash chain: online, offline, and an edited reason is caught.
    assert client.get(f"{AUDIT}/verify", headers=tenant.headers).json()["ok"] is True
    derive = lambda row: a.shown_fields(row, services.decode_event_state)  # noqa: E731
    assert verify_export(lines, derive).ok
    edited = [json.dumps({**e, "reason": "nothing to see"} if e["reason"] == why else e).encode() for e in exported]
    report = verify_export([*edited, lines[-1]], derive)
    assert not report.ok and "hash does not match" in (report.reason or "")
    dropped = [json.dumps({k: v for k, v in e.items() if not (k == "reason" and v)}).encode() for e in exported]
    assert not verify_export([*dropped, lines[-1]], derive).ok


def test_an_export_line_without_a_reason_field_still_verifies(client, services, tenant):
    """Exports written before reasons existed have no `reason` key: they still verify offline."""
    create_project(client, tenant)
    lines = client.get(f"{AUDIT}/export", headers=tenant.headers).content.splitlines()
    old_style = [json.dumps({k: v for k, v in json.loads(line).items() if k != "reason"}).encode()
                 for line in lines[:-1]]
    assert verify_export([*old_style, lines[-1]], lambda row: a.shown_fields(row, services.decode_event_state)).ok


@pytest.mark.parametrize("reason, why", [
    ("x" * 501, "at most 500"),
    ("", "empty"),
    ("   ", "empty"),
    ("two\tcolumns", "control"),
    ("bell\x07", "control"),
    ("line\u2028separator", "control"),
])
def test_a_bad_reason_is_refused_naming_x_reason_and_nothing_is_written(client, services, tenant, reason, why):
    pid = create_project(client, tenant)["id"]
    before = count_events(services, tenant.id)
    value = reason if isinstance(reason, bytes) else reason.encode("utf-8")
    for request in (lambda h: client.delete(f"{PROJECTS}/{pid}", headers=h),
                    lambda h: client.post(PROJECTS, json={"title": "t"}, headers=h)):
        body = assert_problem(request({**tenant.headers, "X-Reason": value}), 422, "X-Reason")
        assert why in body["detail"], body
    assert count_events(services, tenant.id) == before
    assert client.get(f"{PROJECTS}/{pid}", headers=tenant.headers).status_code == 200


@pytest.mark.parametrize("raw, why", [
    ([b"a", b"b"], "once"),
    ([b"\xff\xfe not utf-8"], "UTF-8"),
    ([b"caf\xc3\xa9"], None),
])
def test_a_reason_header_given_twice_or_not_in_utf_8_is_refused(raw, why):
    """Raw header bytes as a server receives them (the test client joins repeated headers and
    re-encodes values, so these cannot be sent through it)."""
    request = SimpleNamespace(headers=Headers.from_scope(
        {"type": "http", "headers": [(b"x-reason", value) for value in raw]}))
    if why is None:
        assert command_reason(request) == "café"
        return
    with pytest.raises(ValidationProblem) as caught:
        command_reason(request)
    assert caught.value.field == "X-Reason" and why in str(caught.value)


def test_a_reason_of_500_characters_is_accepted(client, tenant):
    pid = create_project(client, tenant)["id"]
    why = "é" * 500
    assert client.delete(f"{PROJECTS}/{pid}", headers={**tenant.headers, "X-Reason": why.encode()}).status_code == 204
    items = client.get(f"{PROJECTS}/{pid}/history", headers=tenant.headers).json()["items"]
    assert items[-1]["reason"] == why


def test_an_unknown_tenants_event_id_is_still_404(client, tenant):
    assert_problem(client.get(f"{PROJECTS}/{uuid.uuid4()}/history", params={"after": 1}, headers=tenant.headers), 404)
