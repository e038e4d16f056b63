"""Sealed personal fields (issue 15, eventstore/sealing.py): what is stored, what reads back, what a destroyed
key reads as, and that nothing else is touched. The keys come from a stand-in for the key table (the database
parts are tested in tests/integration/test_erasure.py)."""
from __future__ import annotations

import secrets
from typing import Any
from uuid import UUID, uuid4

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.persistence import StoredEvent

from domain.privacy import PERSONAL_FIELDS
from eventstore import jsontext
from eventstore.datakeys import DataKeys, TenantErased
from eventstore.sealing import REDACTED, Opaque, Sealer, parse, plaintext_personal, register
from eventstore.transcoder import MsgspecTranscoder
from eventstore.verify import _unsealed_as_shown

CREATED = "domain.projects:Project.Created"
STORY = "domain.projects:Project.StorySet"
ASSET = "domain.assets:Asset.Registered"


class Keys(DataKeys):
    """Per-tenant keys in memory; `erase` forgets one for good."""

    def __init__(self) -> None:
        super().__init__(connect=None, ttl=0)  # type: ignore[arg-type]
        self.keys: dict[UUID, AESGCM] = {}

    def _load(self, tenant: UUID, *, create: bool) -> AESGCM | None:
        if tenant in self._erased:
            return None
        if create and tenant not in self.keys:
            self.keys[tenant] = AESGCM(secrets.token_bytes(32))
        return self.keys.get(tenant)

    def erase(self, tenant: UUID) -> None:
        self.keys.pop(tenant, None)
        self.end_erasure(tenant, erased=True)


def stored(topic: str, state: dict[str, Any], oid: UUID | None = None) -> StoredEvent:
    return StoredEvent(originator_id=oid or uuid4(), originator_version=1, topic=topic, state=jsontext.dumps(state))


def reader(keys: Keys | None) -> MsgspecTranscoder:
    transcoder = MsgspecTranscoder()
    register(transcoder, keys)
    return transcoder


def test_listed_fields_are_sealed_and_read_back_and_the_rest_is_stored_as_it_was() -> None:
    keys, tenant = Keys(), uuid4()
    event = stored(CREATED, {"title": "Alice's trip", "description": "", "config": {"style": "cinematic"},
                             "tenant_id": str(tenant), "preset_id": None})
    [sealed] = Sealer(keys, PERSONAL_FIELDS).seal_events([event], {event.originator_id: tenant})
    raw = jsontext.loads(sealed.state)
    assert b"Alice" not in sealed.state and raw["title"]["_type_"] == "avm_sealed"
    assert raw["config"] == {"style": "cinematic"} and raw["preset_id"] is None and raw["tenant_id"] == str(tenant)
    assert parse(raw["title"]["_data_"]).tenant == tenant
    assert reader(keys).decode(sealed.state) == jsontext.loads(event.state)


def test_a_destroyed_key_reads_as_the_redaction_of_each_kind_and_never_raises() -> None:
    keys, tenant = Keys(), uuid4()
    story = stored(STORY, {"text": "Ming went home", "scenes": ["Ming", "went home"], "min_length": 1})
    asset = stored(ASSET, {"metadata": {"caption": "Ming"}, "uri": "s3://b/x"})
    sealer = Sealer(keys, PERSONAL_FIELDS)
    sealed = sealer.seal_events([story, asset], {story.originator_id: tenant, asset.originator_id: tenant})
    keys.erase(tenant)
    assert reader(keys).decode(sealed[0].state) == {"text": REDACTED, "scenes": [REDACTED, REDACTED], "min_length": 1}
    assert reader(keys).decode(sealed[1].state) == {"metadata": {}, "uri": "s3://b/x"}
    with pytest.raises(TenantErased):
        sealer.seal_events([story], {story.originator_id: tenant})


def test_a_ciphertext_does_not_open_for_another_tenant_and_an_altered_one_is_kept_as_stored() -> None:
    keys, alice, bob = Keys(), uuid4(), uuid4()
    event = stored(CREATED, {"title": "secret"})
    [sealed] = Sealer(keys, PERSONAL_FIELDS).seal_events([event], {event.originator_id: alice})
    keys.for_writing(bob)
    moved = sealed.state.replace(alice.hex.encode(), bob.hex.encode())
    assert reader(keys).decode(moved)["title"]["_type_"] == "avm_sealed"  # not opened: kept as written
    tag = jsontext.loads(sealed.state)["title"]["_data_"]
    flipped = tag[:-6] + ("A" if tag[-6] != "A" else "B") + tag[-5:]
    assert reader(keys).decode(sealed.state.replace(tag.encode(), flipped.encode()))["title"]["_data_"] == flipped


def test_offline_a_sealed_field_reads_as_opaque_and_takes_the_value_an_export_shows() -> None:
    keys, tenant = Keys(), uuid4()
    event = stored(STORY, {"text": "Ming", "scenes": ["a", "b"], "min_length": 1})
    [sealed] = Sealer(keys, PERSONAL_FIELDS).seal_events([event], {event.originator_id: tenant})
    offline = reader(None).decode(sealed.state)
    assert isinstance(offline["text"], Opaque) and all(isinstance(s, Opaque) for s in offline["scenes"])
    shown = {"text": "[erased]", "scenes": ["[erased]", "[erased]"], "min_length": 1}
    assert _unsealed_as_shown(offline, shown) == shown
    assert _unsealed_as_shown(offline, {**shown, "min_length": 2})["min_length"] == 1  # clear fields still checked


def test_plaintext_personal_fields_are_those_stored_before_sealing() -> None:
    keys, tenant = Keys(), uuid4()
    event = stored(CREATED, {"title": "old", "description": ""})
    [sealed] = Sealer(keys, PERSONAL_FIELDS).seal_events([event], {event.originator_id: tenant})
    assert plaintext_personal(PERSONAL_FIELDS[CREATED], event.state)
    assert not plaintext_personal(PERSONAL_FIELDS[CREATED], sealed.state)
    assert not plaintext_personal(PERSONAL_FIELDS[CREATED], jsontext.dumps({"title": None, "description": ""}))
    assert not plaintext_personal(None, event.state)


def test_events_of_other_topics_and_snapshots_without_a_tenant_are_left_alone() -> None:
    keys = Keys()
    other = stored("domain.jobs:Job.Queued", {"config": {"prompt": "x"}})
    assert Sealer(keys, PERSONAL_FIELDS).seal_events([other], {other.originator_id: uuid4()}) == [other]
    snapshot = stored("eventsourcing.domain:Snapshot", {"topic": "x", "state": {"title": "no tenant"}})
    assert Sealer(keys, PERSONAL_FIELDS).seal_snapshots([snapshot]) == [snapshot]
    tenant = uuid4()
    owned = stored("eventsourcing.domain:Snapshot", {"topic": "x", "state": {"title": "t", "tenant_id": str(tenant)}})
    [sealed] = Sealer(keys, PERSONAL_FIELDS).seal_snapshots([owned])
    assert b'"t"' not in sealed.state and reader(keys).decode(sealed.state) == jsontext.loads(owned.state)
