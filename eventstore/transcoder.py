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
"""
from __future__ import annotations

from typing import Any

import msgspec
from eventsourcing.persistence import JSONTranscoder

_MARKER = b'"_type_"'
_LEAVES = frozenset((str, int, bool, type(None)))  # written by msgspec exactly as by json


class _Fallback(Exception):  # noqa: N818 - internal signal, never escapes this module
    """The value needs the library's encoder."""


class MsgspecTranscoder(JSONTranscoder):
    """`JSONTranscoder` with msgspec doing the JSON (same stored format, see the module doc)."""

    def __init__(self) -> None:
        super().__init__()
        self._msgspec_encode = msgspec.json.Encoder().encode
        self._msgspec_decode = msgspec.json.Decoder().decode

    @classmethod
    def reading_like(cls, transcoder: JSONTranscoder) -> MsgspecTranscoder:
        """A MsgspecTranscoder sharing the registered transcodings of a library JSONTranscoder."""
        fast = cls()
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
        except (_Fallback, msgspec.EncodeError, OverflowError, UnicodeEncodeError):
            return super().encode(obj)

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
            return super().decode(data)  # NaN, big integers, lone surrogates: the library decides
        markers = data.count(_MARKER)
        if not markers:
            return obj
        if markers == 1 and type(obj) is dict:
            # The usual event: one tagged value (its timestamp) at the top level. Being the only
            # marker, nothing inside it needs converting first.
            for k, v in obj.items():
                if type(v) is dict and len(v) == 2 and "_type_" in v and "_data_" in v:
                    obj[k] = self._decode_obj(v)
                    return obj
        return self._tagged(obj)

    def _tagged(self, obj: Any) -> Any:
        """Convert tagged objects innermost first, as `json`'s object hook does."""
        t = type(obj)
        if t is dict:
            for k, v in obj.items():
                tv = type(v)
                if tv is dict or tv is list:
                    new = self._tagged(v)
                    if new is not v:
                        obj[k] = new
            if len(obj) == 2:
                return self._decode_obj(obj)  # the library's check and its error when unregistered
            return obj
        if t is list:
            for i, v in enumerate(obj):
                tv = type(v)
                if tv is dict or tv is list:
                    new = self._tagged(v)
                    if new is not v:
                        obj[i] = new
        return obj
