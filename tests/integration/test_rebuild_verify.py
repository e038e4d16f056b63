"""`verify` rebuilds into scratch tables and compares every row with the live ones, touching nothing live."""
from __future__ import annotations

import os
import subprocess
import sys
from typing import Any
from uuid import UUID

import psycopg

from projections.inline import INLINE_PROJECTIONS
from projections.rebuild import verify
from tests.rebuild_support import table_checksums
from tests import support
from tests.integration.test_rebuild import fresh_services, seed_mixed_history

TABLES = [t for p in INLINE_PROJECTIONS for t in p.tables]
EVERY_KIND_OF_EVENT = {
    "User.Registered", "User.TokenIssued", "User.TokenRevoked", "User.Renamed", "User.SettingsChanged",
    "User.DefaultPresetChosen", "Preset.Created", "Preset.Renamed", "Project.Created", "Project.StorySet",
    "Project.StatusChanged", "Project.SceneUpdated", "Project.SceneSplit", "Project.ScenesReordered",
    "Project.ScenesMerged", "Project.Renamed", "Project.Reconfigured", "Project.JobQueued", "Project.JobEnded",
    "Project.SceneImageAttached", "Project.Deleted", "Project.Restored", "Preset.Deleted", "Job.Queued",
    "Job.Claimed", "Job.Progressed", "Job.Failed", "Job.Succeeded", "Job.Cancelled", "Job.Requeued",
    "Asset.Registered", "Asset.Deleted", "Asset.Restored", "Asset.Expired", "Usage.Opened", "Usage.Consumed",
}


def test_a_rebuild_of_a_realistic_history_of_fifty_tenants_matches_the_live_tables_row_for_row() -> None:
    with fresh_services() as (services, url):
        seed_mixed_history(services, tenants=50)
        with psycopg.connect(url) as conn:
            kinds = {r[0].rsplit(":", 1)[1] for r in conn.execute("SELECT DISTINCT topic FROM events")}
            tenants = conn.execute("SELECT count(DISTINCT tenant_id) FROM events").fetchone()[0]
            before = table_checksums(conn, TABLES)
        assert EVERY_KIND_OF_EVENT <= kinds and tenants >= 50
        result = verify(url, services.app.mapper)
        assert result.differences == [] and result.counts == {}
        assert result.rows == sum(int(c.split(":")[0]) for c in before.values())
        assert set(result.tracking.values()) == {result.head}  # inline positions are the log head
        with psycopg.connect(url) as conn:
            assert table_checksums(conn, TABLES) == before  # nothing live touched
            assert conn.execute("SELECT count(*) FROM pg_class WHERE relname LIKE '%%\\_\\_rb'").fetchone()[0] == 0


def test_a_damaged_live_row_is_reported_as_missing_extra_or_changed_with_its_key() -> None:
    with fresh_services() as (services, url):
        contexts = seed_mixed_history(services, tenants=4)
        tenant = UUID(contexts[1].tenant_id)
        with psycopg.connect(url) as conn:
            project = conn.execute("SELECT id FROM projects WHERE tenant_id = %s", (tenant,)).fetchone()[0]
            conn.execute("UPDATE projects SET title = 'tampered', scene_count = 99 WHERE id = %s", (project,))
            conn.execute("DELETE FROM scenes WHERE project_id = %s AND idx = 1", (project,))
            conn.execute("INSERT INTO presets (tenant_id, id, name, config, version, created_at, updated_at)"
                         " VALUES (%s, '00000000-0000-0000-0000-0000000000aa', 'ghost', '{}', 1, now(), now())",
                         (tenant,))
        result = verify(url, services.app.mapper)
        found = {(d.table, d.kind): d for d in result.differences}
        assert set(found) == {("projects", "changed"), ("scenes", "missing"), ("presets", "extra")}
        changed = found[("projects", "changed")]
        assert changed.key == {"tenant_id": str(tenant), "id": str(project)}
        assert set(changed.changes) == {"title", "scene_count"} and changed.changes["title"][1] == "tampered"
        assert found[("scenes", "missing")].key == {"tenant_id": str(tenant), "project_id": str(project), "idx": "1"}
        assert found[("presets", "extra")].key["id"] == "00000000-0000-0000-0000-0000000000aa"
        assert "projects: changed (tenant_id=" in changed.describe() and "'tampered'" in changed.describe()
        only = verify(url, services.app.mapper, ["scenes"])
        assert [(d.table, d.kind) for d in only.differences] == [("scenes", "missing")]
        other = verify(url, services.app.mapper, tenant_id=UUID(contexts[0].tenant_id))
        assert other.differences == []


def avm(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": url}
    return subprocess.run([sys.executable, "-m", "api.cli", "projections", *args], env=env, capture_output=True,
                          text=True, timeout=120, cwd=support.ROOT)


def test_the_command_line_verifies_reports_and_rebuilds_blue_green() -> None:
    with fresh_services() as (services, url):
        contexts = seed_mixed_history(services, tenants=3)
        clean = avm(url, "verify")
        assert clean.returncode == 0, clean.stderr
        assert clean.stdout.startswith("verified users, projects, scenes, jobs, assets, presets, usage, sessions:")
        with psycopg.connect(url) as conn:
            conn.execute("UPDATE projects SET title = 'tampered'")
            conn.execute("DELETE FROM api_tokens")
        damaged = avm(url, "verify", "projects", "users")
        assert damaged.returncode == 1
        assert "projects: changed (tenant_id=" in damaged.stdout and "title: expected" in damaged.stdout
        assert "api_tokens: missing (tenant_id=" in damaged.stdout
        assert "differences at position" in damaged.stderr
        tenant = contexts[0].tenant_id
        one = avm(url, "rebuild", "projects", "--tenant", tenant)
        assert one.returncode == 0, one.stderr
        assert one.stdout.startswith("rebuilt projects:")
        assert "events/s" in one.stderr  # the plain progress line (stderr is not a terminal here)
        assert avm(url, "verify", "projects", "--tenant", tenant).returncode == 0
        assert avm(url, "verify", "projects").returncode == 1  # the other tenants are still tampered
        every = avm(url, "rebuild")
        assert every.returncode == 0, every.stderr
        assert "rebuilt users, projects, scenes, jobs, assets, presets, usage, sessions:" in every.stdout
        assert avm(url, "verify").returncode == 0
        unknown = avm(url, "verify", "nope")
        assert unknown.returncode == 2 and "unknown projection" in unknown.stderr
        bad = avm(url, "rebuild", "--tenant", "not-a-uuid")
        assert bad.returncode == 2 and "not a UUID" in bad.stderr


