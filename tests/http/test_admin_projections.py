"""Admin routes over the read models: list every projection, rebuild one in the background."""
from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from projections.inline import INLINE_PROJECTIONS
from projections.rebuild import advisory_key
from tests.rebuild_support import table_checksums
from tests.http.helpers import assert_problem
from tests.integration.test_rebuild import fresh_services, register, seed_mixed_history

BASE = "/api/v1/admin/projections"
TABLES = [t for p in INLINE_PROJECTIONS for t in p.tables]


@pytest.fixture(scope="module")
def setup() -> Iterator[tuple[Any, Any, str, dict[str, str], dict[str, str]]]:
    """An app on a database of its own (rebuilds swap tables), an admin and a user."""
    from litestar.testing import TestClient

    from api.app import create_app

    with fresh_services() as (services, url):
        seed_mixed_history(services, tenants=3)
        _, admin = register(services, "admin")
        _, user = register(services, "user")
        with TestClient(create_app(services), raise_server_exceptions=False) as client:
            yield client, services, url, {"Authorization": f"Bearer {admin}"}, {"Authorization": f"Bearer {user}"}


def listing(client: Any, headers: dict[str, str]) -> dict[str, Any]:
    r = client.get(BASE, headers=headers)
    assert r.status_code == 200, r.text
    return {p["name"]: p for p in r.json()["items"]}


def wait_until_live(client: Any, headers: dict[str, str], name: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        p = listing(client, headers)[name]
        if p["state"] == "live" and p["last_rebuild"] is not None:
            return p
        time.sleep(0.05)
    raise AssertionError(f"{name} still building")


def test_a_user_may_neither_list_nor_rebuild_projections(setup: Any) -> None:
    client, _, _, _, user = setup
    assert_problem(client.get(BASE, headers=user), 403)
    assert_problem(client.post(f"{BASE}/projects/rebuild", headers=user), 403)
    assert client.get(BASE).status_code == 401


def test_the_listing_shows_every_inline_projection_with_its_position_lag_and_state(setup: Any) -> None:
    client, _, _, admin, _ = setup
    r = client.get(BASE, headers=admin)
    assert r.status_code == 200, r.text
    body = r.json()
    inline = [p for p in body["items"] if p["kind"] == "inline"]
    assert [p["name"] for p in inline] == [p.name for p in INLINE_PROJECTIONS]
    for p in inline:
        assert p["position"] == body["head"] and p["lag"] == 0, p
        assert p["state"] == "live" and p["rebuildable"] is True and p["progress"] is None
    assert {p["name"]: p["tables"] for p in inline}["users"] == ["users", "api_tokens", "identities"]


def test_an_unknown_projection_is_404_and_only_inline_ones_are_rebuilt_here(setup: Any) -> None:
    client, _, _, admin, _ = setup
    assert_problem(client.post(f"{BASE}/nope/rebuild", headers=admin), 404)
    for p in listing(client, admin).values():
        assert p["rebuildable"] is (p["kind"] == "inline")
        if not p["rebuildable"]:  # asynchronous views catch up by themselves (avm projections run)
            assert_problem(client.post(f"{BASE}/{p['name']}/rebuild", headers=admin), 404)


def test_one_tenants_rows_can_be_rebuilt(setup: Any) -> None:
    client, services, url, admin, _ = setup
    with psycopg.connect(url) as conn:
        tenant, = conn.execute("SELECT tenant_id FROM projects LIMIT 1").fetchone()
        before = table_checksums(conn, TABLES)
        conn.execute("UPDATE projects SET title = 'damaged' WHERE tenant_id = %s", (tenant,))
    r = client.post(f"{BASE}/projects/rebuild", params={"tenant_id": str(tenant)}, headers=admin)
    assert r.status_code == 202, r.text
    done = wait_until_live(client, admin, "projects")
    assert done["last_rebuild"]["ok"] is True and done["last_rebuild"]["tenant_id"] == str(tenant)
    with psycopg.connect(url) as conn:
        assert table_checksums(conn, TABLES) == before
    assert_problem(client.post(f"{BASE}/projects/rebuild", params={"tenant_id": "nope"}, headers=admin), 422, "tenant_id")


def test_a_rebuild_is_accepted_runs_in_the_background_and_swaps_identical_rows(setup: Any) -> None:
    client, _, url, admin, _ = setup
    with psycopg.connect(url) as conn:
        before = table_checksums(conn, TABLES)
        conn.execute("UPDATE presets SET name = 'damaged'")
    r = client.post(f"{BASE}/presets/rebuild", headers=admin)
    assert r.status_code == 202, r.text
    assert r.headers["location"] == BASE
    assert r.json()["name"] == "presets" and r.json()["state"] == "building"
    done = wait_until_live(client, admin, "presets")
    assert done["last_rebuild"]["ok"] is True and done["last_rebuild"]["events"] == done["position"]
    with psycopg.connect(url) as conn:
        assert table_checksums(conn, TABLES) == before  # repaired, everything else identical


def test_a_second_rebuild_of_a_projection_being_rebuilt_is_409(setup: Any) -> None:
    client, _, url, admin, _ = setup
    # Held here, the events lock keeps the background rebuild waiting at its swap.
    with psycopg.connect(url) as holder:
        holder.execute("SELECT avm_lock_events('SHARE')")
        r = client.post(f"{BASE}/jobs/rebuild", headers=admin)
        assert r.status_code == 202, r.text
        deadline = time.monotonic() + 10
        while (p := listing(client, admin)["jobs"])["progress"] is None or p["progress"]["phase"] != "swap":
            assert time.monotonic() < deadline, p
            time.sleep(0.05)
        assert p["state"] == "building"
        assert p["progress"]["events_done"] == p["progress"]["events_total"] > 0
        assert p["progress"]["events_per_second"] > 0
        assert_problem(client.post(f"{BASE}/jobs/rebuild", headers=admin), 409)
        assert client.post(f"{BASE}/assets/rebuild", headers=admin).status_code == 202  # another one is free
        holder.rollback()
    assert wait_until_live(client, admin, "jobs")["last_rebuild"]["ok"] is True
    wait_until_live(client, admin, "assets")


def test_a_rebuild_running_in_another_process_shows_as_building_and_refuses_another(setup: Any) -> None:
    client, _, url, admin, _ = setup
    with psycopg.connect(url) as other:  # what `avm projections rebuild usage` holds while it runs
        other.execute("SELECT pg_advisory_lock(%s, %s)", advisory_key("usage"))
        assert listing(client, admin)["usage"]["state"] == "building"
        assert_problem(client.post(f"{BASE}/usage/rebuild", headers=admin), 409)
        other.execute("SELECT pg_advisory_unlock(%s, %s)", advisory_key("usage"))  # now, not at disconnect
    assert listing(client, admin)["usage"]["state"] == "live"
