"""The replay fold (eventstore/replay.py) builds the aggregates the library's mapper and `mutate` would,
whether it decodes an event directly or hands it to the library's `Mapper.to_domain_event`."""
from __future__ import annotations

from typing import Any

import pytest
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import DatetimeAsISO, DecimalAsStr, Mapper, StoredEvent, UUIDAsHex

from eventstore.replay import Folder
from eventstore.transcoder import MsgspecTranscoder


class Thing(Aggregate):
    def __init__(self, name: str, meta: dict[str, Any]) -> None:
        self.name = name
        self.meta = meta

    class Renamed(Aggregate.Event):
        """Version 2 calls the field `name`; version 1 (still in the log) called it `title`."""

        class_version = 2
        name: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["name"] = state.pop("title").upper()

    @event(Renamed)
    def rename(self, name: str) -> None:
        self.name = name

    @event("Tagged")
    def tag(self, meta: dict[str, Any]) -> None:
        self.meta = meta


def _mapper() -> Mapper[Any]:
    transcoder = MsgspecTranscoder()
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
        transcoder.register(transcoding)
    return Mapper(transcoder=transcoder)


def _log(mapper: Mapper[Any]) -> list[StoredEvent]:
    thing = Thing(name="a", meta={})
    thing.tag({"_type_": "datetime_iso", "_data_": "2020-01-01"})  # a tenant's look-alike, kept as written
    thing.rename("b")
    thing.tag({"at": {"_type_": "nope", "_data_": 1}})
    stored = [mapper.to_stored_event(e) for e in thing.collect_events()]
    # The same rename as version 1 of its class wrote it (no class_version, `title`), appended after.
    old = mapper.transcoder.encode({"timestamp": thing.modified_on, "title": "c"})
    stored.append(StoredEvent(originator_id=thing.id, originator_version=5, topic=stored[2].topic, state=old))
    return stored


def _by_library(mapper: Mapper[Any], stored: list[StoredEvent]) -> Thing:
    aggregate = None
    for s in stored:
        aggregate = mapper.to_domain_event(s).mutate(aggregate)
    assert isinstance(aggregate, Thing)
    return aggregate


@pytest.mark.parametrize("direct", [True, False], ids=["direct", "library-mapper"])
def test_the_fold_equals_the_librarys_mapper_and_mutate_upcasting_included(
        direct: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    mapper = _mapper()
    stored = _log(mapper)
    expected = _by_library(mapper, stored)
    assert expected.name == "C" and expected.meta == {"at": {"_type_": "nope", "_data_": 1}}

    through_library: list[str] = []
    original = Mapper.to_domain_event

    def counting(self: Mapper[Any], s: StoredEvent) -> Any:
        through_library.append(s.topic.rsplit(".", 1)[-1])
        return original(self, s)

    monkeypatch.setattr(Mapper, "to_domain_event", counting)
    monkeypatch.setattr(Folder, "direct", direct)
    folder = Folder(mapper, (Thing,))
    folder.fold([(s.originator_id.bytes, s.originator_version, s.topic, s.state) for s in stored])
    (got,) = folder.aggregates.values()
    assert vars(got) == vars(expected)
    # Directly decoded: every event of a class at version 1; the library upcasts the renames itself.
    assert through_library == (["Renamed", "Renamed"] if direct else ["Created", "Tagged", "Renamed", "Tagged",
                                                                      "Renamed"])


def test_a_mapper_that_changes_decoding_is_used_as_it_is(monkeypatch: pytest.MonkeyPatch) -> None:
    class Renaming(Mapper[Any]):
        def to_domain_event(self, stored_event: StoredEvent) -> Any:
            e = super().to_domain_event(stored_event)
            if type(e).__name__ == "Tagged":
                object.__setattr__(e, "meta", {"seen": True})
            return e

    plain = _mapper()
    mapper = Renaming(transcoder=plain.transcoder)
    stored = _log(plain)
    folder = Folder(mapper, (Thing,))
    folder.fold([(s.originator_id.bytes, s.originator_version, s.topic, s.state) for s in stored])
    (got,) = folder.aggregates.values()
    assert got.meta == {"seen": True} and got.name == "C"
