"""Reading any JSON the log ever stored: no recursion limit, the library's number and string rules.

Stored values are forever (the log is append-only), so a reader must never be stricter than a
writer ever was. msgspec and `json` both stop at Python's recursion limit, counted from wherever
the reader happens to be on the stack: a payload the API accepted at depth 960 (decoded near the
bottom of a request thread's stack) could not be decoded by a reader a few dozen frames deeper.
`loads` decodes with msgspec, then `json` (NaN, Infinity, integers beyond 64 bits: the library's
rules), and only when either runs out of stack, with `iterative_loads`, a parser with an explicit
stack and the same results as `json.loads` (it reuses `json`'s own string scanner and number
pattern).
"""
from __future__ import annotations

import json
import re
from json.decoder import JSONDecodeError, scanstring
from json.scanner import NUMBER_RE
from typing import Any

import msgspec

_WS = re.compile(r"[ \t\n\r]*")
_CONSTANTS = (("null", None), ("true", True), ("false", False),
              ("NaN", float("nan")), ("Infinity", float("inf")), ("-Infinity", float("-inf")))
_msgspec_decode = msgspec.json.Decoder().decode


def _text(data: bytes | bytearray | memoryview | str) -> str:
    return data if isinstance(data, str) else bytes(data).decode("utf-8")


def json_loads(data: bytes | bytearray | memoryview | str) -> Any:
    """`json.loads` (the library's rules), falling back to `iterative_loads` when the stack runs out."""
    text = _text(data)
    try:
        return json.loads(text)
    except RecursionError:
        return iterative_loads(text)


def loads(data: bytes | bytearray | memoryview | str) -> Any:
    """msgspec when it can, `json` for what msgspec refuses, and no depth limit either way."""
    try:
        return _msgspec_decode(data)
    except (msgspec.DecodeError, UnicodeDecodeError):
        return json_loads(data)
    except RecursionError:
        return iterative_loads(_text(data))


def iterative_loads(s: str) -> Any:  # noqa: C901 - one state machine reads better in one piece
    """`json.loads(s)` without recursion: any depth, the same values and the same errors' type."""
    stack: list[tuple[dict[str, Any] | list[Any], str | None]] = []
    idx = _WS.match(s, 0).end()  # type: ignore[union-attr]
    while True:
        # -- one value starts at idx --------------------------------------------------------------
        char = s[idx:idx + 1]
        if char == "{":
            idx = _WS.match(s, idx + 1).end()  # type: ignore[union-attr]
            if s[idx:idx + 1] == "}":
                value: Any = {}
                idx += 1
            else:
                key, idx = _key(s, idx)
                stack.append(({}, key))
                idx = _WS.match(s, idx).end()  # type: ignore[union-attr]
                continue
        elif char == "[":
            idx = _WS.match(s, idx + 1).end()  # type: ignore[union-attr]
            if s[idx:idx + 1] == "]":
                value = []
                idx += 1
            else:
                stack.append(([], None))
                continue
        elif char == '"':
            value, idx = scanstring(s, idx + 1, True)
        else:
            for word, constant in _CONSTANTS:
                if s.startswith(word, idx):
                    value, idx = constant, idx + len(word)
                    break
            else:
                match = NUMBER_RE.match(s, idx)
                if match is None:
                    raise JSONDecodeError("Expecting value", s, idx)
                integer, frac, exp = match.groups()
                value = float(integer + (frac or "") + (exp or "")) if frac or exp else int(integer)
                idx = match.end()
        # -- the value is complete: hand it to its container, closing containers as they end -----
        while True:
            if not stack:
                idx = _WS.match(s, idx).end()  # type: ignore[union-attr]
                if idx != len(s):
                    raise JSONDecodeError("Extra data", s, idx)
                return value
            container, key = stack[-1]
            idx = _WS.match(s, idx).end()  # type: ignore[union-attr]
            sep = s[idx:idx + 1]
            if type(container) is dict:
                container[key] = value  # type: ignore[index]
                if sep == ",":
                    key, idx = _key(s, _WS.match(s, idx + 1).end())  # type: ignore[union-attr]
                    stack[-1] = (container, key)
                    idx = _WS.match(s, idx).end()  # type: ignore[union-attr]
                    break
                if sep != "}":
                    raise JSONDecodeError("Expecting ',' delimiter", s, idx)
            else:
                container.append(value)  # type: ignore[union-attr]
                if sep == ",":
                    idx = _WS.match(s, idx + 1).end()  # type: ignore[union-attr]
                    break
                if sep != "]":
                    raise JSONDecodeError("Expecting ',' delimiter", s, idx)
            stack.pop()
            value, idx = container, idx + 1


def _key(s: str, idx: int) -> tuple[str, int]:
    """An object's key and its colon, from idx (at the opening quote); returns the index after ':'."""
    if s[idx:idx + 1] != '"':
        raise JSONDecodeError("Expecting property name enclosed in double quotes", s, idx)
    key, idx = scanstring(s, idx + 1, True)
    idx = _WS.match(s, idx).end()  # type: ignore[union-attr]
    if s[idx:idx + 1] != ":":
        raise JSONDecodeError("Expecting ':' delimiter", s, idx)
    return key, idx + 1


# -- writing what was read -------------------------------------------------------------------------------
_msgspec_encode = msgspec.json.Encoder().encode
_msgspec_encode_sorted = msgspec.json.Encoder(order="sorted").encode


def dumps(value: Any, *, sort_keys: bool = False) -> bytes:
    """msgspec's JSON of a decoded payload, with `iterative_dumps` when msgspec runs out of stack."""
    try:
        return (_msgspec_encode_sorted if sort_keys else _msgspec_encode)(value)
    except RecursionError:
        return iterative_dumps(value, sort_keys=sort_keys)


def iterative_dumps(value: Any, *, sort_keys: bool = False) -> bytes:
    """The bytes msgspec writes for a value made of dicts (str keys), lists, tuples and leaves msgspec
    encodes, without recursion: containers are written here, every leaf by msgspec itself."""
    out: list[bytes] = []
    todo: list[tuple[bool, Any]] = [(False, value)]  # (is written text, item)
    while todo:
        literal, item = todo.pop()
        if literal:
            out.append(item)
            continue
        t = type(item)
        if t is dict:
            pairs = sorted(item.items()) if sort_keys else list(item.items())
            out.append(b"{")
            todo.append((True, b"}"))
            for i in range(len(pairs) - 1, -1, -1):
                k, v = pairs[i]
                todo.append((False, v))
                todo.append((True, (b"," if i else b"") + _msgspec_encode(k) + b":"))
        elif t is list or t is tuple:
            out.append(b"[")
            todo.append((True, b"]"))
            for i in range(len(item) - 1, -1, -1):
                todo.append((False, item[i]))
                if i:
                    todo.append((True, b","))
        else:
            out.append(_msgspec_encode(item))
    return b"".join(out)


def pg_dumps(value: Any) -> str:
    """psycopg's JSON dumper for jsonb parameters (see `use_for_postgres`): msgspec, any depth."""
    return dumps(value).decode("utf-8")


# Frames every reader may use above the deepest payload an earlier release accepted (about 970
# levels: msgspec in the request thread hit Python's default limit of 1000). Encoders that recurse
# (msgspec in a Litestar response, `==` on decoded values) need a stack that deep plus their own
# frames; 10,000 leaves thousands to spare and fits a thread's 8 MB C stack (msgspec nests about
# 0.4 KB per level). The API must cap nesting well below it (issue 11, branch i11-limits).
RECURSION_LIMIT = 10_000


def configure_process() -> None:
    """Make psycopg read and write json/jsonb with these functions, and give readers the stack
    depth stored payloads need (process-wide, idempotent; before the first connection)."""
    import sys

    from psycopg.types.json import set_json_dumps, set_json_loads

    set_json_loads(loads)
    set_json_dumps(pg_dumps)
    if sys.getrecursionlimit() < RECURSION_LIMIT:
        sys.setrecursionlimit(RECURSION_LIMIT)
