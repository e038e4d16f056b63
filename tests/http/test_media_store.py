"""The media object store (issue 14, item 4): outputs streamed into it and back, old `local://` URIs
still read, bytes removed when their asset expires or was deleted past its retention, the
orphan-bytes sweep, and a store outage that loses no removal.

Every test runs on a store of its own: a local directory (obstore's LocalStore, the default), or an
"s3://" location backed by obstore's in-memory store. No S3 server runs here, so no test talks S3."""
from __future__ import annotations

import os
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from obstore.store import MemoryStore, S3Store

from api.media import Location, MediaStore, local_location, media_key
from domain.application import CommandContext
from domain.assets import Asset
from tests.http.helpers import assert_problem
from tests.http.test_worker_contract import PNG, running, sha, upload  # noqa: F401 - `running` is a fixture

VIDEO = {"type": "video", "width": 1080, "height": 1920, "duration_seconds": 9}


@pytest.fixture
def store(services: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> MediaStore:
    """The service's store for this test: a directory of its own (the zero-configuration store)."""
    media = MediaStore(local_location(tmp_path / "media"))
    monkeypatch.setattr(services, "media", media)
    return media


@pytest.fixture
def s3_store(services: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> MediaStore:
    """As configured with AVM_MEDIA_URL=s3://bucket/prefix, the bucket being obstore's in-memory store,
    with the local directory of before still read."""
    media = MediaStore(Location(MemoryStore(), "s3://bucket/prefix/"), local_location(tmp_path / "media"))
    monkeypatch.setattr(services, "media", media)
    return media


def ctx_of(tenant: Any) -> CommandContext:
    return CommandContext(tenant_id=tenant.id, actor_id=tenant.id, role=tenant.role)


def stored_asset(services: Any, tenant: Any, data: bytes = b"\x00mp4" * 100, *,
                 expires_at: datetime | None = None) -> tuple[str, str]:
    """Bytes in the service's store and the asset that names them, as an upload leaves them
    (an expiry already past is accepted here: it was in the future when the asset was registered)."""
    writer = services.media.writer(media_key(tenant.id, uuid4(), uuid4()))
    writer.write(data)
    stored = writer.commit()
    expires = expires_at or datetime.now(timezone.utc) + timedelta(days=30)
    asset = Asset(tenant_id=tenant.id, type="video", uri=stored.uri, size_bytes=stored.size_bytes, metadata={},
                  project_id=None, job_id=None, scene_index=None, expires_at=expires.isoformat(),
                  checksum=stored.checksum)
    services.app._save(ctx_of(tenant), asset)
    return str(asset.id), stored.uri


def held(media: MediaStore, uri: str) -> bool:
    found = media.resolve(uri)
    assert found is not None, uri
    return found[0].size(found[1]) is not None


def age(media_root: Path, uri: str, seconds: float) -> None:
    """Make a local object look `seconds` old (its mtime is what the store lists as last modified)."""
    path = media_root / uri.removeprefix("local://")
    then = time.time() - seconds
    os.utime(path, (then, then))


def orphan_sweep(services: Any) -> Any:
    from api.maintenance import choose, run_pass

    [outcome] = run_pass(services, choose(["orphan_bytes"]))
    return outcome


# -- upload and download ---------------------------------------------------------------------------
def test_an_output_is_streamed_into_the_store_and_back(client: Any, running: Any, store: MediaStore,  # noqa: F811
                                                       tmp_path: Path) -> None:
    owner, worker, _, manifest = running
    video = bytes(range(256)) * (12 * 1024)  # 3 MiB: several chunks each way

    r = upload(client, worker, manifest["id"], video, **VIDEO)

    assert r.status_code == 201, r.text
    uri = r.json()["uri"]
    assert uri.startswith(f"local://{owner.id}/{manifest['id']}/")  # the store's URI: where the bytes are
    assert (tmp_path / "media" / uri.removeprefix("local://")).read_bytes() == video
    download = client.get(f"/api/v1/assets/{r.json()['id']}/content", headers=owner.headers)
    assert download.status_code == 200 and download.content == video
    assert download.headers["content-length"] == str(len(video))


def test_a_refused_upload_leaves_no_bytes_behind(client: Any, running: Any, store: MediaStore) -> None:  # noqa: F811
    _, worker, _, manifest = running
    assert_problem(upload(client, worker, manifest["id"], PNG, checksum="sha256:" + "0" * 64, **VIDEO), 422,
                   "checksum")
    assert list(store.primary.listing()) == []


def test_with_an_s3_store_outputs_go_there_and_old_local_bytes_stay_readable(
        client: Any, services: Any, running: Any, s3_store: MediaStore, tmp_path: Path) -> None:  # noqa: F811
    owner, worker, _, manifest = running
    # Bytes the service stored before (the store before obstore: a plain file per key, a local:// URI).
    old_key = media_key(owner.id, manifest["id"], uuid4())
    (tmp_path / "media" / old_key).parent.mkdir(parents=True)
    (tmp_path / "media" / old_key).write_bytes(b"old bytes")
    old = Asset(tenant_id=owner.id, type="video", uri="local://" + old_key, size_bytes=9, metadata={},
                project_id=None, job_id=manifest["id"], scene_index=None,
                expires_at=(datetime.now(timezone.utc) + timedelta(days=1)).isoformat(), checksum=sha(b"old bytes"))
    services.app._save(ctx_of(owner), old)

    new = upload(client, worker, manifest["id"], b"new bytes" * 1000, **VIDEO)

    assert new.status_code == 201, new.text
    assert new.json()["uri"].startswith(f"s3://bucket/prefix/{owner.id}/{manifest['id']}/")
    assert client.get(f"/api/v1/assets/{new.json()['id']}/content", headers=owner.headers).content == b"new bytes" * 1000
    assert client.get(f"/api/v1/assets/{old.id}/content", headers=owner.headers).content == b"old bytes"
    # No client may register a URI of the service's store as its own asset; another bucket is fine.
    assert_problem(client.post("/api/v1/assets", json={"type": "video", "uri": new.json()["uri"]},
                               headers=owner.headers), 422, "uri")
    assert client.post("/api/v1/assets", json={"type": "video", "uri": "s3://bucket/elsewhere/v.mp4"},
                       headers=owner.headers).status_code == 201


# -- expiry and deletion ---------------------------------------------------------------------------
def test_expiry_removes_the_bytes_of_the_assets_it_expires_only(services: Any, make_tenant: Any,
                                                                store: MediaStore) -> None:
    from api.controllers.assets import expire_due

    owner = make_tenant("premium")
    due_id, due_uri = stored_asset(services, owner, expires_at=datetime.now(timezone.utc) - timedelta(seconds=5))
    _, live_uri = stored_asset(services, owner)

    assert expire_due(services, CommandContext.system("tests")) >= 1

    with services.read(owner.id) as conn:
        assert conn.execute("SELECT expired_at FROM assets WHERE id = %s", (due_id,)).fetchone()["expired_at"]
    assert not held(store, due_uri)
    assert held(store, live_uri)


def test_a_deleted_asset_keeps_its_bytes_while_restorable_then_they_are_removed(
        client: Any, services: Any, make_tenant: Any, store: MediaStore, monkeypatch: pytest.MonkeyPatch) -> None:
    owner = make_tenant("premium")
    asset_id, uri = stored_asset(services, owner, b"keep me")
    monkeypatch.setenv("AVM_MEDIA_ORPHAN_GRACE_SECONDS", "0")

    assert client.delete(f"/api/v1/assets/{asset_id}", headers=owner.headers).status_code == 204
    assert orphan_sweep(services).items == 0  # within the retention (7 days): kept
    assert held(store, uri)
    restored = client.post(f"/api/v1/assets/{asset_id}/restore", headers=owner.headers)
    assert restored.status_code == 200, restored.text
    assert client.get(f"/api/v1/assets/{asset_id}/content", headers=owner.headers).content == b"keep me"

    assert client.delete(f"/api/v1/assets/{asset_id}", headers=owner.headers).status_code == 204
    monkeypatch.setenv("AVM_MEDIA_DELETED_RETENTION_SECONDS", "0")  # the retention has passed
    swept = orphan_sweep(services)
    assert (swept.state, swept.items) == ("ran", 1)
    assert not held(store, uri)
    assert_problem(client.post(f"/api/v1/assets/{asset_id}/restore", headers=owner.headers), 409)
    assert client.get(f"/api/v1/assets/{asset_id}?include_deleted=true",
                      headers=owner.headers).json()["deleted_at"] is not None


# -- the orphan-bytes sweep ------------------------------------------------------------------------
def test_the_orphan_sweep_removes_old_unheld_bytes_only_and_reports_it(
        client: Any, services: Any, make_tenant: Any, store: MediaStore, tmp_path: Path) -> None:
    owner = make_tenant("premium")
    root = tmp_path / "media"
    _, referenced = stored_asset(services, owner, b"an asset's")
    orphan = store.primary.uri(media_key(owner.id, uuid4(), uuid4()))
    young = store.primary.uri(media_key(owner.id, uuid4(), uuid4()))
    for uri in (orphan, young):
        writer = store.primary.writer(uri.removeprefix("local://"))
        writer.write(b"no asset's")
        writer.commit()
    partial = root / (media_key(owner.id, uuid4(), uuid4()) + ".partial")  # the old store's, mid-upload
    partial.parent.mkdir(parents=True)
    partial.write_bytes(b"half")
    foreign = root / "README.txt"  # not a key the service writes: never touched
    foreign.write_text("hands off")
    for uri in (referenced, orphan):
        age(root, uri, 7200)  # older than the grace period (1 h)
    os.utime(partial, (time.time() - 7200, time.time() - 7200))

    outcome = orphan_sweep(services)

    assert (outcome.state, outcome.items, outcome.failures) == ("ran", 2, 0)
    assert not held(store, orphan) and not partial.exists()
    assert held(store, referenced) and held(store, young) and foreign.read_text() == "hands off"
    assert 'avm_sweep_last_items{sweep="orphan_bytes"} 2.0' in client.get("/metrics").text
    assert client.get("/api/health").json()["checks"]["sweeps"]["orphan_bytes"]["last_items"] == 2


def test_the_orphan_sweep_works_on_an_s3_location_too(services: Any, make_tenant: Any, s3_store: MediaStore,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """On obstore's in-memory store standing for the bucket (not on S3)."""
    owner = make_tenant("premium")
    _, referenced = stored_asset(services, owner)
    expired_id, expired = stored_asset(services, owner)
    services.app.expire_assets(ctx_of(owner), [expired_id], now=datetime.now(timezone.utc) + timedelta(days=31))
    monkeypatch.setenv("AVM_MEDIA_ORPHAN_GRACE_SECONDS", "0")

    assert orphan_sweep(services).items == 1

    assert expired.startswith("s3://bucket/prefix/") and not held(s3_store, expired) and held(s3_store, referenced)


# -- a store that is down --------------------------------------------------------------------------
def dead_s3() -> S3Store:
    """A real obstore S3 client for an endpoint where nothing listens: every call fails at once."""
    return S3Store("bucket", endpoint="http://127.0.0.1:1", region="auto", access_key_id="k", secret_access_key="s",
                   client_options={"allow_http": True, "connect_timeout": "2s"},
                   retry_config={"max_retries": 0, "retry_timeout": timedelta(seconds=2),
                                 "backoff": {"init_backoff": timedelta(milliseconds=10),
                                             "max_backoff": timedelta(milliseconds=10), "base": 2}})


def test_a_store_outage_during_deletion_loses_no_removal(services: Any, make_tenant: Any, store: MediaStore,
                                                         tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from api.controllers.assets import expire_due

    owner = make_tenant("premium")
    due_id, uri = stored_asset(services, owner, expires_at=datetime.now(timezone.utc) - timedelta(seconds=5))
    working = store.primary.store
    store.primary.store = dead_s3()  # the store goes down
    try:
        assert expire_due(services, CommandContext.system("tests")) >= 1  # the asset expires all the same
        down = orphan_sweep(services)
    finally:
        store.primary.store = working  # and comes back
    with services.read(owner.id) as conn:
        assert conn.execute("SELECT expired_at FROM assets WHERE id = %s", (due_id,)).fetchone()["expired_at"]
    assert held(store, uri)  # not removed: the store was down
    assert down.state == "failed" and down.error, down

    age(tmp_path / "media", uri, 7200)
    up = orphan_sweep(services)

    assert (up.state, up.items) == ("ran", 1)
    assert not held(store, uri)
