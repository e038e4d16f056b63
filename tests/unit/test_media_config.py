"""Which store the media bytes go to, from the environment (api/media.py): the local directory by
default, an S3-compatible or GCS bucket by AVM_MEDIA_URL. No S3 server runs here: these tests build
the obstore clients from configuration and check what they were given; the round trips through an
"s3://" location run on obstore's in-memory store (tests/http/test_media_store.py), never on S3."""
from __future__ import annotations

from pathlib import Path

import obstore
import pytest
from obstore.store import GCSStore, LocalStore, MemoryStore, S3Store

from api.media import LOCAL_SCHEME, Location, MediaStore, configured_location, media_store

KEY = "11111111-1111-4111-8111-111111111111/22222222-2222-4222-8222-222222222222/33333333-3333-4333-8333-333333333333"


def test_with_no_configuration_the_store_is_a_directory_under_the_data_dir(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AVM_DATA_DIR", str(tmp_path))
    store = media_store({})
    assert isinstance(store.primary.store, LocalStore) and store.primary.base == LOCAL_SCHEME
    assert Path(store.primary.store.prefix) == tmp_path.resolve() / "media"
    assert store.locations == (store.primary,)
    elsewhere = media_store({"AVM_MEDIA_DIR": str(tmp_path / "m")})
    assert Path(elsewhere.primary.store.prefix) == (tmp_path / "m").resolve()


def test_an_s3_compatible_store_is_built_from_its_settings(tmp_path: Path) -> None:
    env = {"AVM_MEDIA_URL": "s3://avm-media/prod/outputs/", "AVM_MEDIA_ENDPOINT": "http://127.0.0.1:9000/",
           "AVM_MEDIA_REGION": "eu-west-3", "AVM_MEDIA_ACCESS_KEY_ID": "AKIDEXAMPLE",
           "AVM_MEDIA_SECRET_ACCESS_KEY": "secret", "AVM_MEDIA_DIR": str(tmp_path)}

    store = media_store(env)

    s3 = store.primary
    assert isinstance(s3.store, S3Store) and s3.base == "s3://avm-media/prod/outputs/"
    assert s3.store.prefix == "prod/outputs"
    assert s3.store.config == {"bucket": "avm-media", "endpoint": "http://127.0.0.1:9000", "region": "eu-west-3",
                               "access_key_id": "AKIDEXAMPLE", "secret_access_key": "secret"}
    assert s3.store.client_options == {"allow_http": "true"}  # a plain-http endpoint (a local MinIO)
    # The local directory is still read: assets stored there before the switch keep their bytes.
    assert [loc.base for loc in store.locations] == ["s3://avm-media/prod/outputs/", LOCAL_SCHEME]
    assert store.resolve("s3://avm-media/prod/outputs/" + KEY) == (s3, KEY)
    assert store.resolve(LOCAL_SCHEME + KEY) == (store.locations[1], KEY)
    assert store.resolve("s3://avm-media/other/" + KEY) is None and store.resolve("s3://avm-media/prod/outputs/x") is None
    assert store.owns("s3://avm-media/prod/outputs/anything") and not store.owns("s3://avm-media/prod/other")


def test_with_a_bucket_and_no_local_directory_only_the_bucket_is_used(tmp_path: Path) -> None:
    store = media_store({"AVM_MEDIA_URL": "s3://avm-media", "AVM_MEDIA_REGION": "us-east-1",
                         "AVM_MEDIA_DIR": str(tmp_path / "never-used")})
    assert [loc.base for loc in store.locations] == ["s3://avm-media/"]
    assert not (tmp_path / "never-used").exists()


@pytest.mark.parametrize("name", ["AVM_MEDIA_ORPHAN_GRACE_SECONDS", "AVM_MEDIA_DELETED_RETENTION_SECONDS"])
@pytest.mark.parametrize("value", ["soon", "-1", "inf"])
def test_a_bad_removal_setting_stops_the_start(tmp_path: Path, name: str, value: str) -> None:
    with pytest.raises(ValueError, match=name):
        media_store({"AVM_MEDIA_DIR": str(tmp_path), name: value})


def test_r2_and_gcs_and_https_endpoints() -> None:
    r2 = configured_location({"AVM_MEDIA_URL": "r2://media", "AVM_MEDIA_ENDPOINT": "https://acct.r2.cloudflarestorage.com",
                              "AVM_MEDIA_ACCESS_KEY_ID": "k", "AVM_MEDIA_SECRET_ACCESS_KEY": "s"})
    assert r2 is not None and isinstance(r2.store, S3Store) and r2.base == "r2://media/"
    assert r2.store.config["region"] == "auto" and r2.store.client_options is None and r2.store.prefix is None
    gcs = configured_location({"AVM_MEDIA_URL": "gs://media-bucket/avm"})
    assert gcs is not None and isinstance(gcs.store, GCSStore) and gcs.base == "gs://media-bucket/avm/"
    assert gcs.store.prefix == "avm"
    assert configured_location({}) is None and configured_location({"AVM_MEDIA_URL": " "}) is None


@pytest.mark.parametrize("env", [
    {"AVM_MEDIA_URL": "ftp://host/media"},
    {"AVM_MEDIA_URL": "s3://"},
    {"AVM_MEDIA_URL": "s3://Bad_Bucket/x"},
    {"AVM_MEDIA_URL": "s3://bucket/../etc"},
    {"AVM_MEDIA_URL": "s3://bucket/a//b"},
    {"AVM_MEDIA_URL": "s3://bucket/x", "AVM_MEDIA_ENDPOINT": "minio:9000"},
], ids=["scheme", "no bucket", "bucket name", "dot-dot", "empty segment", "endpoint without scheme"])
def test_a_bad_store_setting_is_refused_naming_it(env: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="AVM_MEDIA_(URL|ENDPOINT)"):
        configured_location({"AVM_MEDIA_ACCESS_KEY_ID": "k", "AVM_MEDIA_SECRET_ACCESS_KEY": "s", **env})


def test_a_location_streams_writes_and_reads_measures_and_lists_only_its_own_keys() -> None:
    """The same code path an S3 location runs (obstore's put/get/list/delete), on the in-memory store."""
    memory = MemoryStore()
    store = MediaStore(Location(memory, "s3://bucket/prefix/"))
    writer = store.writer(KEY)
    for _ in range(3):
        writer.write(b"x" * 1_000_000)
    stored = writer.commit()
    obstore.put(memory, "notes/readme.txt", b"not ours")

    assert stored.uri == "s3://bucket/prefix/" + KEY and stored.size_bytes == 3_000_000
    opened = store.open_uri(stored.uri)
    assert opened is not None and opened.size == 3_000_000 and b"".join(opened.chunks) == b"x" * 3_000_000
    assert store.open_uri(stored.uri, tenant="11111111-1111-4111-8111-111111111111") is not None
    assert store.open_uri(stored.uri, tenant="44444444-4444-4444-8444-444444444444") is None  # another tenant's
    assert [[o.key for o in page] for page in store.primary.listing()] == [[KEY]]
    with pytest.raises(ValueError):
        store.writer("../../etc/passwd")
    assert store.delete_uri(stored.uri) and store.open_uri(stored.uri) is None
    store.primary.delete(KEY)  # already gone: fine
    assert store.delete_uri("https://cdn.example/v.mp4") is False
