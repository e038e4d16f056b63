"""The studio (/studio) in-process: sign-in cookie, tenant isolation, escaping, CSP, CSRF, audited admin looks."""
from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from tests.http.helpers import ENGLISH_STORY, PROJECTS, count_events, create_project, project_with_story

XSS_STORY = ('The villain wrote <script>alert("pwned")</script> on the wall. Then "><img src=x onerror=alert(1)> '
             "appeared in the sky. ") * 4


@pytest.fixture(scope="module")
def studio(services: Any) -> Iterator[Any]:
    """A client of its own: the studio's cookie must not leak into the shared API client."""
    from litestar.testing import TestClient

    from api.app import create_app

    with TestClient(create_app(services, close_services=False), raise_server_exceptions=False) as c:
        yield c


def signed_in(studio: Any, who: Any) -> Any:
    from api.studio.web import COOKIE

    studio.cookies.clear()
    r = studio.post("/studio/signin", data={"token": who.token}, follow_redirects=False)
    assert r.status_code == 303, r.text
    assert studio.cookies.get(COOKIE) == who.token
    return studio


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf" value="([0-9a-f]{64})"', html)
    assert m, "no CSRF token on the page"
    return m.group(1)


def test_sign_in_sets_an_httponly_samesite_strict_cookie_scoped_to_the_studio(studio, tenant):
    studio.cookies.clear()
    r = studio.post("/studio/signin", data={"token": tenant.token}, follow_redirects=False)

    assert r.status_code == 303 and r.headers["location"] == "/studio/projects"
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"avm_studio={tenant.token};")
    attributes = {a.strip().lower() for a in cookie.split(";")[1:]}  # attribute names and values: any case
    assert {"httponly", "samesite=strict", "path=/studio"} <= attributes


def test_a_bad_token_is_refused_and_a_page_without_the_cookie_asks_to_sign_in(studio):
    studio.cookies.clear()
    r = studio.post("/studio/signin", data={"token": "avm_not-a-token"}, follow_redirects=False)
    assert r.status_code == 401 and "set-cookie" not in r.headers
    assert "not valid" in r.text

    r = studio.get("/studio/projects", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/studio/signin"


def test_every_page_carries_a_strict_content_security_policy(studio, tenant):
    signed_in(studio, tenant)
    for path in ("/studio/signin", "/studio/projects", "/studio/jobs", "/studio/assets", "/studio/presets",
                 "/studio/audit"):
        r = studio.get(path)
        assert r.status_code == 200, (path, r.text)
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "default-src 'none'" in csp and "unsafe-inline" not in csp, path
        assert r.headers["x-content-type-options"] == "nosniff"
        assert "<script>" not in r.text and " on" + "click=" not in r.text  # no inline script, no handler


def test_a_story_with_markup_renders_as_text(studio, client, tenant):
    p = project_with_story(client, tenant, story=XSS_STORY, title='<script>alert("t")</script>')
    signed_in(studio, tenant)

    for path in (f"/studio/projects/{p['id']}", f"/studio/history/project/{p['id']}", "/studio/projects"):
        html = studio.get(path).text
        assert "<script>alert" not in html and "<img src=x" not in html, path
        assert "&lt;script&gt;alert(" in html, path
    scene_page = studio.get(f"/studio/projects/{p['id']}").text
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in scene_page


def test_one_tenant_cannot_open_anothers_pages_by_url(studio, client, tenant, other_tenant):
    p = create_project(client, tenant, "Private")
    signed_in(studio, other_tenant)

    assert studio.get(f"/studio/projects/{p['id']}").status_code == 404
    assert studio.get(f"/studio/history/project/{p['id']}").status_code == 404
    r = studio.get("/studio/projects", params={"tenant_id": tenant.id})
    assert r.status_code == 404 and "Private" not in r.text
    assert studio.get("/studio/audit", params={"tenant_id": tenant.id}).status_code == 404
    for admin_page in ("/studio/tenants", "/studio/projections", "/studio/queue"):
        assert studio.get(admin_page).status_code == 404, admin_page


def test_forms_that_act_refuse_a_missing_or_foreign_csrf_token(studio, tenant, other_tenant):
    signed_in(studio, other_tenant)
    foreign = csrf_of(studio.get("/studio/audit").text)
    signed_in(studio, tenant)
    own = csrf_of(studio.get("/studio/audit").text)

    assert studio.post("/studio/audit/verify", data={}).status_code == 403
    assert studio.post("/studio/audit/verify", data={"csrf": foreign}).status_code == 403
    assert studio.post("/studio/audit/export", data={}).status_code == 403
    assert studio.post("/studio/signout", data={}).status_code == 403
    r = studio.post("/studio/audit/verify", data={"csrf": own})
    assert r.status_code == 200 and "Chain intact" in r.text


def test_admin_forms_refuse_without_the_csrf_token_and_start_nothing(studio, admin):
    from api.studio.admin import VERIFIES

    signed_in(studio, admin)
    before = dict(VERIFIES)
    assert studio.post("/studio/projections/projects/verify", data={}).status_code == 403
    assert studio.post("/studio/projections/projects/rebuild", data={"csrf": "0" * 64}).status_code == 403
    assert VERIFIES == before


def test_verify_shows_the_first_bad_position_of_a_broken_chain(studio, client, tenant, database_url):
    p = create_project(client, tenant, "Tampered")
    with psycopg.connect(database_url) as conn:
        conn.execute("SET session_replication_role = replica")
        (position,) = conn.execute("SELECT notification_id FROM events WHERE originator_id = %s"
                                   " AND originator_version = 1", (p["id"],)).fetchone()
        conn.execute("UPDATE events SET actor_id = 'mallory' WHERE notification_id = %s", (position,))
    signed_in(studio, tenant)

    r = studio.post("/studio/audit/verify", data={"csrf": csrf_of(studio.get("/studio/audit").text)})
    assert "Chain broken" in r.text and f"at position {position}" in r.text
    history = studio.get(f"/studio/history/project/{p['id']}").text
    assert '<span class="bad">broken</span>' in history


def test_an_admin_look_at_another_tenant_lands_on_its_trail(studio, client, services, tenant, admin):
    create_project(client, tenant, "Watched")
    signed_in(studio, admin)
    before = count_events(services, tenant.id)

    r = studio.get("/studio/projects", params={"tenant_id": tenant.id})
    assert r.status_code == 200 and "Watched" in r.text and "recorded on its audit trail" in r.text
    assert studio.get("/studio/audit", params={"tenant_id": tenant.id}).status_code == 200

    assert count_events(services, tenant.id) == before + 2
    events = client.get("/api/v1/audit/events", params={"limit": 100}, headers=tenant.headers).json()["items"]
    looks = [e for e in events if e["actor_id"] == admin.id]
    assert len(looks) == 2 and {e["data"]["resource"] for e in looks} == {"projects", "/studio/audit"}


def test_the_history_slider_shows_a_version_and_its_diff(studio, client, tenant):
    p = create_project(client, tenant, "Before")
    r = client.patch(f"{PROJECTS}/{p['id']}", json={"title": "After"}, headers={**tenant.headers, "If-Match": '"1"'})
    assert r.status_code == 200, r.text
    client.delete(f"{PROJECTS}/{p['id']}", headers={**tenant.headers, "If-Match": '"2"'})
    signed_in(studio, tenant)

    latest = studio.get(f"/studio/history/project/{p['id']}").text
    assert 'max="3"' in latest and "deleted" in latest and "Project.Deleted" in latest
    v2 = studio.get(f"/studio/history/project/{p['id']}", params={"at": "2"}).text
    assert re.search(r"<code>title</code></th><td[^>]*>Before</td><td[^>]*>After</td>", v2)
    assert studio.get(f"/studio/projects/{p['id']}").status_code == 200  # a deleted project stays visible


def test_admin_pages_show_the_queue_and_the_projections(studio, admin, client, tenant):
    project_with_story(client, tenant, story=ENGLISH_STORY)
    signed_in(studio, admin)

    queue = studio.get("/studio/queue")
    assert queue.status_code == 200 and "Jobs per status" in queue.text and "Running leases" in queue.text
    listed = studio.get("/studio/projections")
    assert listed.status_code == 200 and "/studio/projections/projects" in listed.text
    one = studio.get("/studio/projections/projects")
    assert one.status_code == 200 and 'id="start-rebuild"' in one.text
    assert studio.get("/studio/tenants").status_code == 200


def test_projects_are_searched_and_paged_by_keyset_as_in_the_api(studio, client, make_tenant):
    tenant = make_tenant("premium")  # a user may create 3 projects a day
    for i in range(22):
        create_project(client, tenant, f"Paged {i:02d}" if i != 7 else "The needle")
    signed_in(studio, tenant)

    first = studio.get("/studio/projects").text
    m = re.search(r'rel="next" href="/studio/projects\?cursor=([A-Za-z0-9_-]{32})', first)
    assert m and first.count("/studio/projects/") == 20
    second = studio.get("/studio/projects", params={"cursor": m.group(1)}).text
    assert second.count("/studio/projects/") == 2 and 'rel="next"' not in second
    found = studio.get("/studio/projects", params={"q": "needle"}).text
    assert found.count("/studio/projects/") == 1 and "The needle" in found
    assert studio.get("/studio/projects", params={"status": "bogus"}).status_code == 400


def test_the_export_form_downloads_the_trail_with_its_manifest(studio, client, tenant):
    import json

    create_project(client, tenant, "Exported")
    signed_in(studio, tenant)

    r = studio.post("/studio/audit/export", data={"csrf": csrf_of(studio.get("/studio/audit").text)})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/x-ndjson")
    assert "attachment" in r.headers["content-disposition"]
    lines = [json.loads(line) for line in r.text.splitlines()]
    assert lines[-1]["manifest"]["count"] == len(lines) - 1 >= 2
    assert lines[-1]["manifest"]["tenant_id"] == tenant.id
