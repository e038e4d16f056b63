"""The caller's account and tokens, and the admin's user management, end to end."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest

from tests.http.helpers import assert_problem, count_events

ME = "/api/v1/me"
TOKENS = "/api/v1/me/tokens"
USERS = "/api/v1/admin/users"


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _when(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _email() -> str:
    return f"u-{uuid.uuid4().hex[:12]}@example.com"


# -- me ---------------------------------------------------------------------------------------------
def test_me_describes_the_calling_user(client, tenant):
    r = client.get(ME, headers=tenant.headers)

    assert r.status_code == 200, r.text
    body = r.json()
    assert body["id"] == tenant.id
    assert body["email"] == tenant.email
    assert body["name"] == "Test"
    assert body["role"] == "user"
    assert body["settings"]["language"] == "zh-TW"
    assert body["settings"]["notifications"] == {"email": True, "discord": False, "webhook": False}
    assert "usage" in body
    assert r.headers["etag"] == f'"{body["version"]}"'


def test_patching_me_changes_name_and_image(client, tenant):
    r = client.patch(ME, json={"name": "Ada", "image": "https://example.com/ada.png"}, headers=tenant.headers)

    assert r.status_code == 200, r.text
    assert r.json()["name"] == "Ada" and r.json()["image"] == "https://example.com/ada.png"
    assert r.headers["etag"] == f'"{r.json()["version"]}"'
    again = client.get(ME, headers=tenant.headers).json()
    assert again["name"] == "Ada" and again["image"] == "https://example.com/ada.png"


def test_patching_settings_merges_them_section_by_section(client, tenant):
    r = client.patch(ME, json={"settings": {"theme": "dark", "notifications": {"discord": True}}},
                     headers=tenant.headers)

    assert r.status_code == 200, r.text
    settings = r.json()["settings"]
    assert settings["theme"] == "dark"
    assert settings["notifications"] == {"email": True, "discord": True, "webhook": False}
    assert settings["language"] == "zh-TW" and settings["timezone"] == "Asia/Taipei"
    assert settings["privacy"] == {"analytics": False, "error_reporting": True}
    r = client.patch(ME, json={"settings": {"privacy": {"analytics": True}}}, headers=tenant.headers)
    settings = r.json()["settings"]
    assert settings["privacy"] == {"analytics": True, "error_reporting": True}
    assert settings["notifications"]["discord"] is True and settings["theme"] == "dark"
    assert client.get(ME, headers=tenant.headers).json()["settings"] == settings


@pytest.mark.parametrize("settings, field", [
    ({"favourite_colour": "red"}, "settings.favourite_colour"),
    ({"notifications": {"pigeon": True}}, "settings.notifications.pigeon"),
])
def test_an_unknown_setting_answers_422_naming_it_and_appends_nothing(client, services, tenant, settings, field):
    before = count_events(services, tenant.id)

    assert_problem(client.patch(ME, json={"settings": settings}, headers=tenant.headers), 422, field)

    assert count_events(services, tenant.id) == before
    assert "favourite_colour" not in client.get(ME, headers=tenant.headers).json()["settings"]


def test_patching_me_with_a_stale_if_match_answers_412_and_appends_nothing(client, services, tenant):
    etag = client.get(ME, headers=tenant.headers).headers["etag"]
    client.patch(ME, json={"name": "First"}, headers=tenant.headers)
    before = count_events(services, tenant.id)

    assert_problem(client.patch(ME, json={"name": "Second"}, headers={**tenant.headers, "If-Match": etag}), 412)

    assert count_events(services, tenant.id) == before
    assert client.get(ME, headers=tenant.headers).json()["name"] == "First"


# -- tokens -----------------------------------------------------------------------------------------
def test_a_new_token_is_shown_once_and_works(client, tenant):
    r = client.post(TOKENS, json={"name": "laptop"}, headers=tenant.headers)

    assert r.status_code == 201, r.text
    issued = r.json()
    assert issued["token"].startswith("avm_")
    assert issued["name"] == "laptop"
    assert issued["prefix"] == issued["token"][:8]
    assert issued["expires_at"] is None
    me = client.get(ME, headers=_bearer(issued["token"]))
    assert me.status_code == 200 and me.json()["id"] == tenant.id
    listed = client.get(TOKENS, headers=tenant.headers)
    assert listed.status_code == 200
    items = listed.json()["items"]
    assert issued["id"] in {t["id"] for t in items}
    for item in items:
        assert "token" not in item and "token_hash" not in item
    assert issued["token"] not in listed.text


def test_a_token_with_expires_in_days_expires_then(client, tenant):
    before = datetime.now(timezone.utc)

    issued = client.post(TOKENS, json={"name": "week", "expires_in_days": 7}, headers=tenant.headers).json()

    expires = _when(issued["expires_at"])
    assert before + timedelta(days=7) - timedelta(minutes=1) <= expires <= datetime.now(timezone.utc) + timedelta(days=7)
    listed = next(t for t in client.get(TOKENS, headers=tenant.headers).json()["items"] if t["id"] == issued["id"])
    assert _when(listed["expires_at"]) == expires
    assert client.get(ME, headers=_bearer(issued["token"])).status_code == 200


def test_revoking_a_token_stops_it_at_once_and_leaves_the_others_working(client, tenant):
    issued = client.post(TOKENS, json={"name": "temp"}, headers=tenant.headers).json()
    assert client.get(ME, headers=_bearer(issued["token"])).status_code == 200

    r = client.delete(f"{TOKENS}/{issued['id']}", headers=tenant.headers)

    assert r.status_code == 204
    assert_problem(client.get(ME, headers=_bearer(issued["token"])), 401)
    assert client.get(ME, headers=tenant.headers).status_code == 200
    listed = next(t for t in client.get(TOKENS, headers=tenant.headers).json()["items"] if t["id"] == issued["id"])
    assert listed["revoked_at"] is not None


def test_a_token_can_revoke_itself(client, tenant):
    issued = client.post(TOKENS, json={"name": "self"}, headers=tenant.headers).json()

    assert client.delete(f"{TOKENS}/{issued['id']}", headers=_bearer(issued["token"])).status_code == 204
    assert_problem(client.get(ME, headers=_bearer(issued["token"])), 401)


def test_revoking_a_missing_token_is_404(client, tenant):
    assert_problem(client.delete(f"{TOKENS}/{uuid.uuid4()}", headers=tenant.headers), 404)


# -- admin ------------------------------------------------------------------------------------------
def test_an_admin_creates_a_user_with_a_working_token(client, services, admin):
    email = _email()

    r = client.post(USERS, json={"email": email, "name": "New Person", "role": "premium"}, headers=admin.headers)

    assert r.status_code == 201, r.text
    body = r.json()
    assert set(body) >= {"user", "token"}
    user = body["user"]
    assert user["email"] == email and user["name"] == "New Person" and user["role"] == "premium"
    assert r.headers["location"].endswith(user["id"])
    me = client.get(ME, headers=_bearer(body["token"]))
    assert me.status_code == 200
    assert me.json()["id"] == user["id"] and me.json()["role"] == "premium"
    # The new user is a tenant of its own; the admin is recorded as the actor.
    with services.read(scope="system") as conn:
        rows = conn.execute("SELECT tenant_id::text AS tenant_id, actor_id FROM events WHERE originator_id = %s",
                            (user["id"],)).fetchall()
    assert rows and all(r["tenant_id"] == user["id"] and r["actor_id"] == admin.id for r in rows)


def test_a_user_created_without_a_role_is_a_user(client, admin):
    r = client.post(USERS, json={"email": _email()}, headers=admin.headers)

    assert r.status_code == 201, r.text
    assert r.json()["user"]["role"] == "user"


def test_a_duplicate_email_differing_only_in_case_is_a_conflict(client, services, admin):
    email = _email()
    first = client.post(USERS, json={"email": email}, headers=admin.headers)
    assert first.status_code == 201
    before = count_events(services, admin.id)
    with services.read(scope="system") as conn:
        total = conn.execute("SELECT count(*) AS n FROM events").fetchone()["n"]

    r = client.post(USERS, json={"email": email.upper()}, headers=admin.headers)

    assert_problem(r, 409, "email")
    assert count_events(services, admin.id) == before
    with services.read(scope="system") as conn:
        assert conn.execute("SELECT count(*) AS n FROM events").fetchone()["n"] == total
        assert conn.execute("SELECT count(*) AS n FROM users WHERE lower(email) = lower(%s)",
                            (email,)).fetchone()["n"] == 1


def test_the_admin_user_list_paginates_oldest_first(client, admin):
    created = [client.post(USERS, json={"email": _email()}, headers=admin.headers).json()["user"]["id"]
               for _ in range(5)]

    pages, cursor = [], None
    for page in range(3):
        r = client.get(USERS, params={"limit": 2, **({"cursor": cursor} if cursor else {})}, headers=admin.headers)
        assert r.status_code == 200, r.text
        body = r.json()
        assert len(body["items"]) == 2
        assert body["next_cursor"] or page == 2
        pages.append(body["items"])
        cursor = body["next_cursor"]
    seen = [u for page in pages for u in page]
    assert len({u["id"] for u in seen}) == 6
    assert [(u["created_at"], u["id"]) for u in seen] == sorted((u["created_at"], u["id"]) for u in seen)

    everyone, cursor = [], None
    while True:
        body = client.get(USERS, params={"limit": 100, **({"cursor": cursor} if cursor else {})},
                          headers=admin.headers).json()
        everyone += [u["id"] for u in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert len(everyone) == len(set(everyone))
    assert set(created) <= set(everyone)
    positions = [everyone.index(c) for c in created]
    assert positions == sorted(positions)
    assert admin.id in everyone


def test_changing_a_role_is_recorded_with_the_admin_as_actor_in_the_users_tenant(client, services, admin, tenant):
    r = client.put(f"{USERS}/{tenant.id}/role", json={"role": "premium"},
                   headers={**admin.headers, "X-Correlation-ID": "role-change-1"})

    assert r.status_code == 200, r.text
    assert r.json()["id"] == tenant.id and r.json()["role"] == "premium"
    assert client.get(ME, headers=tenant.headers).json()["role"] == "premium"
    with services.read(scope="system") as conn:
        rows = conn.execute(
            "SELECT tenant_id::text AS tenant_id, actor_id, correlation_id, topic FROM events"
            " WHERE originator_id = %s ORDER BY originator_version", (tenant.id,)).fetchall()
        admin_rows = conn.execute("SELECT count(*) AS n FROM events WHERE tenant_id = %s AND topic LIKE %s",
                                  (admin.id, "%RoleChanged")).fetchone()["n"]
    changed = [row for row in rows if row["topic"].endswith("User.RoleChanged")]
    assert len(changed) == 1
    assert changed[0]["actor_id"] == admin.id
    assert changed[0]["tenant_id"] == tenant.id
    assert changed[0]["correlation_id"] == "role-change-1"
    assert all(row["tenant_id"] == tenant.id for row in rows)
    assert admin_rows == 0


def test_changing_a_role_of_a_missing_user_is_404(client, admin):
    assert_problem(client.put(f"{USERS}/{uuid.uuid4()}/role", json={"role": "premium"}, headers=admin.headers), 404)


def test_a_promoted_user_can_use_the_admin_routes(client, admin, tenant):
    assert_problem(client.get(USERS, headers=tenant.headers), 403)

    client.put(f"{USERS}/{tenant.id}/role", json={"role": "admin"}, headers=admin.headers)

    assert client.get(USERS, headers=tenant.headers).status_code == 200
