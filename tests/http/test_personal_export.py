"""`GET /api/v1/me/export`: a person's whole data, streamed as NDJSON with flat memory, without secrets."""
from __future__ import annotations

import json
import tracemalloc
from functools import partial
from typing import Any
from uuid import UUID

from domain.application import CommandContext
from eventstore.verify import verify_export
from projections import audit as a
from projections import personal_export as p
from tests.http.helpers import assert_problem, project_with_story

EXPORT = "/api/v1/me/export"


def sections(client: Any, who: Any, **params: Any) -> tuple[dict[str, list[dict[str, Any]]], dict[str, Any], bytes]:
    r = client.get(EXPORT, params=params, headers=who.headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/x-ndjson")
    assert r.headers["content-disposition"].startswith("attachment;")
    lines = [json.loads(line) for line in r.content.splitlines()]
    assert "manifest" in lines[-1] and all("manifest" not in line for line in lines[:-1])
    found: dict[str, list[dict[str, Any]]] = {}
    for line in lines[:-1]:
        found.setdefault(line["section"], []).append(line["data"])
    return found, lines[-1]["manifest"], r.content


def test_the_owner_gets_profile_projects_scenes_jobs_presets_usage_and_the_readable_trail(client, tenant):
    project = project_with_story(client, tenant)
    r = client.post(f"/api/v1/projects/{project['id']}/jobs", json={}, headers=tenant.headers)
    assert r.status_code in (201, 202), r.text
    r = client.post("/api/v1/presets", json={"name": "Mine", "config": {}}, headers=tenant.headers)
    assert r.status_code == 201, r.text

    found, manifest, _ = sections(client, tenant)

    assert found["profile"] == [found["profile"][0]] and found["profile"][0]["email"] == tenant.email
    assert [x["id"] for x in found["projects"]] == [project["id"]]
    assert len(found["scenes"]) >= 2 and {s["project_id"] for s in found["scenes"]} == {project["id"]}
    assert len(found["jobs"]) == 1 and found["jobs"][0]["project_id"] == project["id"]
    assert "lease_id" not in found["jobs"][0] and "tenant_id" not in found["jobs"][0]
    assert [x["name"] for x in found["presets"]] == ["Mine"]
    assert found["usage"] and found["tokens"]
    assert manifest["format"] == p.FORMAT and manifest["tenant_id"] == tenant.id
    assert manifest["counts"] == {name: len(found.get(name, [])) for name in manifest["counts"]}
    # The trail is readable (decoded data, event types) and verifies like an audit export.
    trail = found["events"]
    assert trail[0]["type"] == "User.Registered" and any(e["type"] == "Project.Created" for e in trail)
    assert [e["tenant_seq"] for e in trail] == list(range(1, len(trail) + 1))
    audit_lines = [json.dumps(e).encode() for e in trail] + [json.dumps({"manifest": {
        "format": a.EXPORT_FORMAT, "tenant_id": tenant.id, "count": len(trail), "first": trail[0]["position"],
        "last": trail[-1]["position"], "first_seq": 1, "last_seq": len(trail), "anchor_hash": a.GENESIS_HEX,
        "head_hash": trail[-1]["hash"], "since": None, "until": None}}).encode()]
    report = verify_export(audit_lines, partial(a.shown_fields, decode=a.offline_decoder()))
    assert report.ok, report.reason


def test_no_secret_leaves_in_the_export(client, services, make_tenant):
    """Tokens, session hashes and model keys: neither the clear key nor its sealed form is in the export."""
    import base64
    import secrets

    premium = make_tenant("premium")
    clear_key = "sk-" + secrets.token_urlsafe(36)
    r = client.put("/api/v1/me/model-keys/openai", json={"key": clear_key}, headers=premium.headers)
    assert r.status_code == 201, r.text
    with services.read(UUID(premium.id)) as conn:
        sealed = conn.execute("SELECT nonce, ciphertext FROM model_keys WHERE tenant_id = %s",
                              (premium.id,)).fetchone()

    found, _, raw = sections(client, premium)

    for secret in (premium.token.encode(), clear_key.encode(), bytes(sealed["ciphertext"]).hex().encode(),
                   base64.b64encode(bytes(sealed["ciphertext"])), bytes(sealed["nonce"]).hex().encode()):
        assert secret not in raw
    assert [k["provider"] for k in found["model_keys"]] == ["openai"]
    assert found["model_keys"][0]["last4"] == clear_key[-4:]
    for section, rows in found.items():
        for row in rows if section != "events" else []:
            assert not (set(row) & p.SECRET_COLUMNS), (section, row)
    assert {"id", "name", "prefix"} <= set(found["tokens"][0]) and "token_hash" not in found["tokens"][0]


def test_another_tenant_cannot_export_someone_else_and_an_admin_read_is_on_the_trail(client, tenant, other_tenant,
                                                                                    admin, services):
    assert_problem(client.get(EXPORT, params={"tenant_id": other_tenant.id}, headers=tenant.headers), 404)
    assert_problem(client.get(EXPORT), 401)
    found, manifest, _ = sections(client, admin, tenant_id=other_tenant.id)
    assert found["profile"][0]["email"] == other_tenant.email and manifest["tenant_id"] == other_tenant.id
    with services.read(UUID(other_tenant.id)) as conn:
        rows = a.list_events(conn, UUID(other_tenant.id), limit=100, type_="Access.Recorded")
    assert [(r["actor_id"], json.loads(bytes(r["state"]))["action"]) for r in rows] == [(admin.id, "personal.export")]


def test_the_export_streams_page_by_page_with_flat_memory(services, make_tenant):
    who = make_tenant()
    tenant = UUID(who.id)
    ctx = CommandContext(tenant_id=who.id, actor_id=who.id)
    projects = [services.app.create_project(ctx, title=f"project {i}") for i in range(3)]
    for i in range(400):  # many events, and project rows with long titles
        services.app.update_project(ctx, str(projects[i % 3].id), None, title=f"renamed {i:03} " + "x" * 240)
    connect = partial(services.read, tenant)
    with connect() as conn:
        upto = a.get_head(conn, tenant)["tenant_seq"]

    # A generator: nothing is read before the first chunk is asked for, and one page at a time after.
    reads = []

    def counting() -> Any:
        reads.append(1)
        return connect()

    lines = p.export_lines(counting, services.decode_event_state, tenant, upto_seq=upto, page_size=50)
    assert reads == []
    next(lines)
    assert len(reads) == 1

    for _ in p.export_lines(connect, services.decode_event_state, tenant, upto_seq=upto, page_size=50):
        pass  # warm: the pool's connections, prepared statements, decoders are not the export's memory
    tracemalloc.start()
    try:
        total = sum(len(chunk) for chunk in p.export_lines(connect, services.decode_event_state, tenant,
                                                            upto_seq=upto, page_size=10))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total > 150_000  # 400 events, each with a 250-character title
    # What is held at once is a page (a few times its 10 rows' bytes), never the export.
    assert peak < total / 4, (peak, total)
