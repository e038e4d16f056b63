"""eventstore/jsontext: stored JSON read and written at any depth, with the library's values."""
from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from typing import Any
from uuid import UUID

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.shared import deep_copy, jsonable
from eventstore.jsontext import dumps, iterative_dumps, iterative_loads, loads
from eventstore.transcoder import MsgspecTranscoder

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda c: st.lists(c, max_size=5) | st.dictionaries(st.text(max_size=8), c, max_size=5),
    max_leaves=30,
)


def same(a: Any, b: Any) -> bool:
    return json.dumps(a) == json.dumps(b)  # NaN-aware, order-aware


@settings(max_examples=500, deadline=None)
@given(json_values, st.sampled_from([None, 0, 2]))
def test_the_iterative_parser_reads_what_json_reads(value: Any, indent: int | None) -> None:
    text = json.dumps(value, indent=indent)
    assert same(iterative_loads(text), json.loads(text))


@pytest.mark.parametrize("bad", ["", "{", "[1,]", '{"a" 1}', "[1 2]", "1 2", '{"a":1,}', "nul", '"\x01"', '{"a":'])
def test_the_iterative_parser_refuses_what_json_refuses(bad: str) -> None:
    with pytest.raises(json.JSONDecodeError):
        json.loads(bad)
    with pytest.raises(json.JSONDecodeError):
        iterative_loads(bad)


@settings(max_examples=300, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text()
                    | st.datetimes(timezones=st.just(timezone.utc)) | st.uuids(),
                    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
                    max_leaves=20), st.booleans())
def test_the_iterative_writer_writes_msgspecs_bytes(value: Any, sort_keys: bool) -> None:
    assert iterative_dumps(value, sort_keys=sort_keys) == msgspec.json.encode(value, order="sorted" if sort_keys else None)


def deep(levels: int, leaf: Any = 1) -> Any:
    value = leaf
    for i in range(levels):
        value = {"k": value} if i % 2 else [value]
    return value


def depth(value: Any) -> int:
    n = 0
    while isinstance(value, (dict, list)) and value:
        value = value.get("k") if isinstance(value, dict) else value[0]
        n += 1
    return n


LEVELS = sys.getrecursionlimit() * 3  # deeper than any recursive reader or writer could go


def test_any_depth_is_read_written_copied_and_made_jsonable() -> None:
    value = deep(LEVELS, {"when": datetime(2020, 1, 1, tzinfo=timezone.utc), "n": 10 ** 40})
    assert depth(jsonable(value)) == depth(value) == LEVELS + 1
    assert depth(deep_copy(value)) == LEVELS + 1
    plain = deep(LEVELS, [1.5, "x", 10 ** 40])
    data = dumps(plain)
    assert depth(loads(data)) == LEVELS + 1
    assert depth(loads(data.replace(b"1.5", b"NaN"))) == LEVELS + 1  # json's rules, any depth


def test_the_transcoder_reads_any_depth_and_its_tags() -> None:
    t = MsgspecTranscoder()
    from eventsourcing.persistence import DatetimeAsISO, UUIDAsHex

    t.register(DatetimeAsISO())
    t.register(UUIDAsHex())
    when = datetime(2020, 1, 1, tzinfo=timezone.utc)
    inner = {"id": {"_type_": "uuid_hex", "_data_": "0" * 32}, "x": {"_type_": "nope", "_data_": 1}}
    data = (b'{"timestamp":{"_type_":"datetime_iso","_data_":"' + when.isoformat().encode() + b'"},"m":'
            + dumps(deep(LEVELS, inner)) + b"}")
    out = t.decode(data)
    assert out["timestamp"] == when
    leaf = out["m"]
    for _ in range(LEVELS):
        leaf = leaf["k"] if isinstance(leaf, dict) else leaf[0]
    assert leaf == {"id": UUID(int=0), "x": {"_type_": "nope", "_data_": 1}}
