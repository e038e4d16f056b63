"""The library's JSON transcoder, encoding and decoding with msgspec.

`MsgspecTranscoder` is a `JSONTranscoder` (the library accepts it wherever it takes one: the
application registers its transcodings on it, `TRANSCODER_TOPIC` names it) that reads and writes
the same stored format: an object of a registered type is stored as
`{"_type_": name, "_data_": encoded}` exactly as the library stores it, so events written by
either transcoder are read by the other.

It differs from the library in two ways, both deliberate:

- It is faster (see `bench/bench_transcoder.py`): the value is walked once in Python to replace
  registered types by their tagged form, then msgspec writes the JSON in C; reading, msgspec
  parses and a walk converts the tagged objects, innermost first, only when the bytes hold one.
- The registered type of a value wins over its JSON shape: with a transcoding registered for
  `tuple` (or for a subclass of `str`, `int`, `dict`, `list`), such values keep their type, where
  the library's `json` encoder silently writes them as the plain JSON value. Unregistered, they
  are written as the library writes them (a tuple as a list, a `str` subclass as a string).

Anything msgspec would write or read differently from `json` (NaN and infinities, keys that
are not strings, lone surrogates, integers beyond 64 bits) is handed to the library's own
code, so the result is always what the library would produce or raise.

Reading, it is more tolerant than the library in two ways, because the log is append-only and
whatever was once stored must stay readable by every reader (docs/decisions/i11-readers.md):

- No depth limit: a payload nested deeper than the reader's remaining stack is parsed without
  recursion (`eventstore.jsontext`), where msgspec and `json` raise RecursionError.
- A tenant's free-form object that merely looks tagged (`{"_type_": …, "_data_": …}` with a name
  no transcoding is registered under, or data its transcoding refuses) is read as the plain
  object it was written as, where the library raises: the application itself only ever writes
  registered names with data their transcoding reads back.
"""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import msgspec
from eventsourcing.persistence import DatetimeAsISO, JSONTranscoder, Transcoding

from eventstore.jsontext import iterative_loads, json_loads

_MARKER = b'"_type_"'
_LEAVES = frozenset((str, int, bool, type(None)))  # written by msgspec exactly as by json
# What `datetime.isoformat()` writes for an aware time in UTC with microseconds, ASCII digits only:
# a string of this shape that `fromisoformat` reads is one `isoformat` writes back unchanged (fixed
# widths, a fraction that is not all zeros, which isoformat would drop, and +00:00, which is how
# it writes UTC). Every timestamp the library gives an event has it; anything else is checked by
# the round trip itself.
_UTC_ISO = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.(?!000000)[0-9]{6}\+00:00").fullmatch
_fromisoformat = datetime.fromisoformat


class _Fallback(Exception):  # noqa: N818 - internal signal, never escapes this module
    """The value needs the library's encoder."""


class MsgspecTranscoder(JSONTranscoder):
    """`JSONTranscoder` with msgspec doing the JSON (same stored format, see the module doc)."""

    def __init__(self, *, strict: bool = False) -> None:
        super().__init__()
        # strict: refuse a tag no transcoding reads, exactly as the library does (its own test suite
        # runs this way); the application reads tolerantly (see the module doc).
        self.strict = strict
        self._msgspec_encode = msgspec.json.Encoder().encode
        self._msgspec_decode = msgspec.json.Decoder().decode

    @classmethod
    def reading_like(cls, transcoder: JSONTranscoder) -> MsgspecTranscoder:
        """A MsgspecTranscoder sharing the registered transcodings of a library JSONTranscoder."""
        fast = cls(strict=getattr(transcoder, "strict", True))
        fast.types, fast.names = transcoder.types, transcoder.names
        return fast

    @staticmethod
    def reads_as_library(transcoder: object) -> bool:
        """Whether the transcoder decodes exactly as the library's JSONTranscoder (nothing overridden)."""
        t = type(transcoder)
        return (isinstance(transcoder, JSONTranscoder) and t._decode_obj is JSONTranscoder._decode_obj
                and t.decode in (JSONTranscoder.decode, MsgspecTranscoder.decode))

    # -- encoding ---------------------------------------------------------------------------------
    def encode(self, obj: Any) -> bytes:
        try:
            return self._msgspec_encode(self._plain(obj))
        except (_Fallback, msgspec.EncodeError, OverflowError, UnicodeEncodeError, RecursionError):
            return super().encode(obj)  # json's C encoder has no depth limit

    def _plain(self, o: Any) -> Any:
        """The value with every registered type replaced by its tagged form (JSON types only).

        A container is copied only when something in it changes: most of an event (strings,
        numbers, lists of strings) is handed to msgspec as it is."""
        t = type(o)
        if t is dict:
            out = None
            for k, v in o.items():
                if type(k) is not str:
                    raise _Fallback  # json turns other keys into strings its own way
                if type(v) in _LEAVES:
                    continue
                new = self._plain(v)
                if new is not v:
                    if out is None:
                        out = dict(o)
                    out[k] = new
            return o if out is None else out
        if t is list:
            out = None
            for i, v in enumerate(o):
                if type(v) in _LEAVES:
                    continue
                new = self._plain(v)
                if new is not v:
                    if out is None:
                        out = list(o)
                    out[i] = new
            return o if out is None else out
        if t in _LEAVES:
            return o
        if t is float:
            if o - o != 0:  # NaN or an infinity: json writes NaN/Infinity, msgspec would write null
                raise _Fallback
            return o
        transcoding = self.types.get(t)
        if transcoding is not None:
            data = transcoding.encode(o)
            return {"_type_": transcoding.name, "_data_": data if type(data) in _LEAVES else self._plain(data)}
        # Unregistered: written as json writes it (json checks these before its default hook).
        if isinstance(o, (str, int, float, list, tuple, dict)):
            raise _Fallback
        return self._encode_obj(o)  # raises the library's TranscodingNotRegisteredError

    # -- decoding ---------------------------------------------------------------------------------
    def decode(self, data: bytes) -> Any:
        try:
            obj = self._msgspec_decode(data)
        except (msgspec.DecodeError, UnicodeDecodeError):
            obj = json_loads(data)  # NaN, big integers, lone surrogates: the library's rules
        except RecursionError:
            obj = iterative_loads(bytes(data).decode("utf-8"))
        markers = data.count(_MARKER)
        if not markers:
            return obj
        if markers == 1 and type(obj) is dict:
            # The usual event: one tagged value (its timestamp) at the top level. Being the only
            # marker, nothing inside it needs converting first.
            for k, v in obj.items():
                if type(v) is dict and len(v) == 2 and "_type_" in v and "_data_" in v:
                    obj[k] = self._decode_tag(v)
                    return obj
        return self._tagged(obj)

    def _decode_tag(self, d: dict[str, Any]) -> Any:
        """The library's `_decode_obj` for a two-key object, except that a name no transcoding is
        registered under, or data its transcoding refuses, leaves the object as it was stored: the
        application never wrote such a tag, so it is a tenant's own data (see the module doc)."""
        if self.strict:
            return self._decode_obj(d)
        if "_type_" not in d or "_data_" not in d:
            return d
        name = d["_type_"]
        transcoding = self.names.get(name) if type(name) is str else None
        if transcoding is None:
            return d
        data = d["_data_"]
        if getattr(transcoding, "keyed", False):
            # A sealed personal field (eventstore/sealing.py): a fresh ciphertext each time, so it never
            # writes back the same. What is no sealed value of ours is kept as written; a missing master
            # key (a configuration error, not the data's) is raised, never read as redacted.
            try:
                return transcoding.decode(data)
            except (ValueError, TypeError):
                return d
        try:
            if type(transcoding) is DatetimeAsISO and type(data) is str:  # the tag of every event
                value = _fromisoformat(data)
                if _UTC_ISO(data):
                    return value
            else:
                value = transcoding.decode(data)
            # The application's own tags are what `encode` wrote, so they read back to the same data;
            # data that does not ("2020-01-01" for a time) is a tenant's object, kept as written.
            return value if self._round_trips(transcoding, value, data) else d
        except Exception:  # noqa: BLE001 - refused data: not a value the application tagged
            return d

    @staticmethod
    def _round_trips(transcoding: Transcoding, value: Any, data: Any) -> bool:
        """Whether the transcoding writes the value back as exactly this data (the full check; the
        UTC timestamp shape above is the same answer, found without writing the time out)."""
        return bool(transcoding.encode(value) == data)

    def _tagged(self, obj: Any) -> Any:
        """Convert tagged objects innermost first, as `json`'s object hook does; an explicit stack
        instead of recursion, so any depth is read."""
        t = type(obj)
        if t is not dict and t is not list:
            return obj
        root = [obj]
        stack: list[tuple[Any, Any, Any, Any]] = [(obj, iter(obj.items()) if t is dict else enumerate(obj), root, 0)]
        while stack:
            container, items, parent, key = stack[-1]
            for k, v in items:
                tv = type(v)
                if tv is dict or tv is list:
                    stack.append((v, iter(v.items()) if tv is dict else enumerate(v), container, k))
                    break
            else:
                stack.pop()
                if type(container) is dict and len(container) == 2:
                    new = self._decode_tag(container)
                    if new is not container:
                        parent[key] = new
        return root[0]
