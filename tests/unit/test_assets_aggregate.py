"""Specifications of the Asset aggregate: given events, when a command, then events (or an error)."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import msgspec
import pytest

from domain.assets import Asset
from domain.errors import Conflict, NotFound, ValidationProblem
from tests.unit.gwt import Recorded, given, history, then, then_raises, then_replays, when, when_new

TENANT = "4f7d2c1e-0000-4000-8000-000000000001"
PROJECT = "4f7d2c1e-0000-4000-8000-0000000000a1"
NOW = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
MB5 = 5 * 1024 * 1024  # copied from the domain reference: 5 MB per asset


def register(**fields: Any) -> Asset:
    fields = {"tenant_id": TENANT, "type": "image", "uri": "r2://bucket/scene-1.png", "size_bytes": 1024,
              "metadata": None, "project_id": None, "job_id": None, "scene_index": None, "expires_at": None,
              "now": NOW, **fields}
    return Asset.register(**fields)


def registered(*commands: Callable[[Asset], Any], **fields: Any) -> list[Any]:
    return history(register(**fields), *commands)


def state(asset: Asset) -> tuple[Any, ...]:
    return (asset.type, asset.uri, asset.size_bytes, asset.metadata, asset.project_id, asset.job_id,
            asset.scene_index, asset.expires_at, asset.expired_at, asset.deleted, asset.tenant_id)


# -- register ---------------------------------------------------------------------------------
def test_registering_an_asset_records_registered_and_keeps_it_thirty_days_by_default() -> None:
    events = when_new(lambda: register(project_id=PROJECT, scene_index=2, metadata={"width": 1024}))

    then(events, Recorded("Registered", tenant_id=TENANT, type="image", uri="r2://bucket/scene-1.png",
                          size_bytes=1024, metadata={"width": 1024}, project_id=PROJECT, scene_index=2,
                          expires_at=(NOW + timedelta(days=30)).isoformat()))
    asset = given(*events)
    assert (asset.expired, asset.deleted, asset.expired_at) == (False, False, None)


def test_an_asset_without_metadata_records_an_empty_object() -> None:
    then(when_new(lambda: register(metadata=None)), Recorded("Registered", metadata={}))


def test_an_explicit_future_expiry_is_kept() -> None:
    expires = NOW + timedelta(hours=1)
    then(when_new(lambda: register(expires_at=expires)), Recorded("Registered", expires_at=expires.isoformat()))


@pytest.mark.parametrize("kind", ["image", "audio", "video", "text", "json"])
def test_every_asset_type_of_the_reference_is_accepted(kind: str) -> None:
    then(when_new(lambda: register(type=kind)), Recorded("Registered", type=kind))


@pytest.mark.parametrize("uri", ["r2://b/k", "s3://b/k", "gs://b/k", "https://cdn.example/k.png",
                                 "http://cdn.example/k.png"])
def test_object_store_and_web_uris_are_accepted(uri: str) -> None:
    then(when_new(lambda: register(uri=uri)), Recorded("Registered", uri=uri))


@pytest.mark.parametrize(("field", "value"), [
    ("type", "spreadsheet"),
    ("uri", "ftp://host/file"), ("uri", "r2://"), ("uri", "r2://bucket/with space"), ("uri", "/local/path"),
    ("size_bytes", -1), ("size_bytes", MB5 + 1),
])
def test_a_bad_type_uri_or_size_is_refused_naming_the_field(field: str, value: Any) -> None:
    with then_raises(ValidationProblem, field=field):
        when_new(lambda: register(**{field: value}))


@pytest.mark.parametrize("size", [0, MB5, None])
def test_a_size_from_0_to_5_mb_or_no_size_is_accepted(size: int | None) -> None:
    then(when_new(lambda: register(size_bytes=size)), Recorded("Registered", size_bytes=size))


def test_metadata_of_16_kib_of_json_is_accepted_and_one_byte_more_is_refused() -> None:
    at_limit = {"k": "x" * (16 * 1024 - len(msgspec.json.encode({"k": ""})))}
    assert len(msgspec.json.encode(at_limit)) == 16 * 1024

    then(when_new(lambda: register(metadata=at_limit)), Recorded("Registered", metadata=at_limit))
    with then_raises(ValidationProblem, field="metadata"):
        when_new(lambda: register(metadata={"k": at_limit["k"] + "x"}))


def test_a_text_asset_of_50000_characters_is_accepted_and_one_more_is_refused() -> None:
    then(when_new(lambda: register(type="text", metadata={"characters": 50_000})), Recorded("Registered"))
    with then_raises(ValidationProblem, field="metadata.characters"):
        when_new(lambda: register(type="text", metadata={"characters": 50_001}))


def test_the_character_limit_is_for_text_assets_only() -> None:
    then(when_new(lambda: register(type="json", metadata={"characters": 90_000})), Recorded("Registered"))


def test_a_scene_index_needs_a_project() -> None:
    with then_raises(ValidationProblem, field="scene_index"):
        when_new(lambda: register(project_id=None, scene_index=0))


@pytest.mark.parametrize("expires_at", [NOW, NOW - timedelta(seconds=1), datetime(2027, 1, 1)],
                         ids=["now", "in the past", "without an offset"])
def test_an_expiry_that_is_not_a_future_instant_with_an_offset_is_refused(expires_at: datetime) -> None:
    with then_raises(ValidationProblem, field="expires_at"):
        when_new(lambda: register(expires_at=expires_at))


# -- expire -----------------------------------------------------------------------------------
def test_an_asset_is_due_from_its_expiry_on() -> None:
    asset = given(*registered(expires_at=NOW + timedelta(hours=1)))

    assert not asset.is_due(NOW + timedelta(minutes=59))
    assert asset.is_due(NOW + timedelta(hours=1))


def test_expiring_a_due_asset_records_expired_at_that_time() -> None:
    asset = given(*registered(expires_at=NOW + timedelta(hours=1)))
    later = NOW + timedelta(hours=2)

    then(when(asset, lambda a: a.expire(later)), Recorded("Expired", at=later.isoformat()))
    assert (asset.expired, asset.expired_at, asset.is_due(later)) == (True, later.isoformat(), False)


def test_an_asset_is_not_expired_before_its_expiry() -> None:
    asset = given(*registered(expires_at=NOW + timedelta(hours=1)))

    with then_raises(Conflict):
        when(asset, lambda a: a.expire(NOW + timedelta(minutes=59)))


def test_an_asset_expires_at_most_once() -> None:
    later = NOW + timedelta(days=31)
    asset = given(*registered(lambda a: a.expire(later)))

    with then_raises(Conflict):
        when(asset, lambda a: a.expire(later + timedelta(days=1)))


def test_a_deleted_asset_still_expires_when_due() -> None:
    later = NOW + timedelta(days=31)
    then(when(given(*registered(lambda a: a.delete())), lambda a: a.expire(later)), Recorded("Expired"))


# -- delete and restore -----------------------------------------------------------------------
def test_deleting_and_restoring_an_asset_records_deleted_then_restored() -> None:
    asset = given(*registered())

    then(when(asset, lambda a: a.delete()), "Deleted")
    assert asset.deleted
    then(when(asset, lambda a: a.restore()), "Restored")
    assert not asset.deleted


def test_a_deleted_asset_cannot_be_deleted_again() -> None:
    with then_raises(NotFound):
        when(given(*registered(lambda a: a.delete())), lambda a: a.delete())


def test_an_asset_that_is_not_deleted_cannot_be_restored() -> None:
    with then_raises(Conflict):
        when(given(*registered()), lambda a: a.restore())


# -- replay -----------------------------------------------------------------------------------
def test_an_asset_is_rebuilt_from_its_events() -> None:
    asset = register(type="text", metadata={"characters": 12, "lang": "en"}, project_id=PROJECT, scene_index=0)
    events = history(asset, lambda a: a.delete(), lambda a: a.restore(),
                     lambda a: a.expire(NOW + timedelta(days=30)))

    then_replays(asset, events, state)
