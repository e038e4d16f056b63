"""Request bodies: decode them safely, then check them field by field so that a 422 lists every bad field.

msgspec stops at the first error of a body; here each field of the handler's Struct is converted
on its own (recursing into nested Structs), so every bad field, every missing one and every unknown
one is reported, each with one plain sentence ("must be at most 255 characters").
"""
from __future__ import annotations

import json
import re
import types
import typing
from collections.abc import Iterator
from typing import Any, Literal, Union

import msgspec
from msgspec import UnsetType

from domain.input_limits import FREE_FORM, free_form_errors
from domain.text import is_blank

MAX_ERRORS = 100  # a response lists at most this many field errors
MAX_FIELD_NAME = 200  # characters of a field path in an error (paths can hold the caller's keys)


def _short(field: str) -> str:
    return field if len(field) <= MAX_FIELD_NAME else field[:MAX_FIELD_NAME - 1] + "…"


class MalformedBody(Exception):
    """The body is not a JSON document the API accepts (400), with the field when one is known."""

    def __init__(self, reason: str, field: str = "body") -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field


class _Duplicate(Exception):
    def __init__(self, key: str, keys: frozenset[str]) -> None:
        super().__init__(key)
        self.key, self.keys = key, keys


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen = dict(pairs)
    if len(seen) < len(pairs):
        counted: set[str] = set()
        for key, _ in pairs:
            if key in counted:
                raise _Duplicate(key, frozenset(seen))
            counted.add(key)
    return seen


def decode(body: bytes) -> Any:
    """The JSON value of a body; MalformedBody for anything msgspec or the duplicate-key check refuses.

    Whatever the parser meets (bad syntax, invalid UTF-8, a lone surrogate, a number out of range,
    nesting deeper than the parser's recursion limit, a byte-order mark, a key given twice) becomes
    a MalformedBody, never an unhandled error.
    """
    try:
        value = msgspec.json.decode(body)
    except RecursionError:
        raise MalformedBody("the JSON is nested too deeply") from None
    except msgspec.ValidationError as exc:  # numbers out of range are reported as validation errors
        field, reason = describe(str(exc))
        raise MalformedBody(reason, field=_out_of_range_path(body) or field) from None
    except msgspec.DecodeError as exc:
        reason = str(exc).removeprefix("JSON is malformed: ")
        raise MalformedBody(f"the body is not valid JSON: {_lower(reason)}") from None
    if isinstance(value, (dict, list)):
        try:  # msgspec keeps the last of duplicate keys silently; a key given twice is ambiguous
            json.loads(body, object_pairs_hook=_no_duplicates)
        except RecursionError:
            raise MalformedBody("the JSON is nested too deeply") from None
        except _Duplicate as exc:
            raise MalformedBody("appears more than once in one object",
                                field=_short(_path_of_key(value, exc.key, exc.keys) or exc.key)) from None
        except (ValueError, UnicodeDecodeError):  # already accepted by msgspec: cannot happen
            pass
    return value


def _walk(value: Any) -> Iterator[tuple[str, Any]]:
    """Every value in a decoded document with its dotted path, in document order, without
    recursion (a body may nest deeper than the stack)."""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, item = stack.pop()
        yield path, item
        if isinstance(item, dict):
            stack.extend((_join(path, k), v) for k, v in reversed(list(item.items())))
        elif isinstance(item, list):
            stack.extend((_join(path, i), v) for i, v in reversed(list(enumerate(item))))


def _path_of_key(value: Any, key: str, keys: frozenset[str]) -> str | None:
    """The dotted path of `key` in the first object with exactly these keys (where a duplicate was found)."""
    return next((_join(path, key) for path, item in _walk(value) if isinstance(item, dict) and item.keys() == keys),
                None)


class _Big:
    """An integer literal too long to be a number the API takes (stands in for it while locating it)."""


def _out_of_range_path(body: bytes) -> str | None:
    """The dotted path of the first number msgspec found out of range (msgspec names none inside `Any`)."""
    try:
        value = json.loads(body, parse_int=lambda s: _Big() if len(s.lstrip("-")) > 4300 else int(s))
    except (ValueError, RecursionError):
        return None
    for path, item in _walk(value):
        if isinstance(item, _Big) or (isinstance(item, float) and item in (float("inf"), float("-inf"))):
            return path or None
    return None


# -- field by field --------------------------------------------------------------------------------
def field_errors(value: Any, annotation: Any, path: str = "") -> list[tuple[str, str]]:
    """(field, reason) for every bad, missing or unknown field of `value` against `annotation`."""
    out: list[tuple[str, str]] = []
    _check(value, annotation, path, out)
    out = [(_short(field), reason) for field, reason in out]
    return out[:MAX_ERRORS] if len(out) <= MAX_ERRORS else out[:MAX_ERRORS - 1] + [
        ("body", f"{len(out) - MAX_ERRORS + 1} more errors are not listed")]


def _is_union(tp: Any) -> bool:
    return typing.get_origin(tp) in (Union, types.UnionType)


def _members(annotation: Any) -> list[Any]:
    return list(typing.get_args(annotation)) if _is_union(annotation) else [annotation]


def _is_struct(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, msgspec.Struct)


def _join(path: str, key: object) -> str:
    return f"{path}.{key}" if path else str(key)


def _check(value: Any, annotation: Any, path: str, out: list[tuple[str, str]]) -> None:
    members = [m for m in _members(annotation) if m is not UnsetType]
    if value is None and type(None) in members:
        return
    structs = [m for m in members if _is_struct(m)]
    if structs and isinstance(value, dict):
        struct = _pick(structs, value)
        if struct is not None:
            _check_struct(value, struct, path, out)
            return
    if len(members) == 1 and isinstance(value, list) and _check_list(value, members[0], path, out):
        return
    leaf = members[0] if len(members) == 1 else Union[tuple(members)]  # noqa: UP007 - built at run time
    try:
        msgspec.convert(value, leaf, strict=True)
    except msgspec.ValidationError as exc:
        out.append(describe(str(exc), leaf, path))
        return
    _extras(value, leaf, path, out)


def _check_list(value: list[Any], annotation: Any, path: str, out: list[tuple[str, str]]) -> bool:
    """A typed list checked as a whole (its length) and then item by item; False when not a typed list."""
    metas: list[Any] = []
    if typing.get_origin(annotation) is typing.Annotated:
        annotation, *metas = typing.get_args(annotation)
    if typing.get_origin(annotation) is not list or not typing.get_args(annotation):
        return False
    items = value
    try:
        msgspec.convert(value, typing.Annotated[(list[Any], *metas)] if metas else list[Any], strict=True)
    except msgspec.ValidationError as exc:
        out.append(describe(str(exc), None, path))
        items = value[:MAX_ERRORS]  # too long already: enough items to fill the list of errors
    (item_type,) = typing.get_args(annotation)
    for index, item in enumerate(items):
        _check(item, item_type, _join(path, index), out)
    return True


def _pick(structs: list[type[msgspec.Struct]], value: dict[str, Any]) -> type[msgspec.Struct] | None:
    """The Struct a dict is meant to be: the only one, or the one its tag names (None: let msgspec say why)."""
    if len(structs) == 1 and structs[0].__struct_config__.tag is None:
        return structs[0]
    for struct in structs:
        config = struct.__struct_config__
        if config.tag_field is not None and value.get(config.tag_field) == config.tag:
            return struct
    return None


_FIELDS: dict[type[msgspec.Struct], tuple[msgspec.structs.FieldInfo, ...]] = {}


def struct_fields(struct: type[msgspec.Struct]) -> tuple[msgspec.structs.FieldInfo, ...]:
    """`msgspec.structs.fields`, computed once per Struct: it resolves the class's annotations
    (strings, under `from __future__ import annotations`) on every call, which was most of the
    cost of checking a body."""
    fields = _FIELDS.get(struct)
    if fields is None:
        fields = _FIELDS[struct] = msgspec.structs.fields(struct)
    return fields


def _check_struct(value: dict[str, Any], struct: type[msgspec.Struct], path: str,
                  out: list[tuple[str, str]]) -> None:
    config = struct.__struct_config__
    fields = {f.encode_name: f for f in struct_fields(struct)}
    if config.forbid_unknown_fields:
        for key in value:
            if key not in fields and key != config.tag_field:
                out.append((_join(path, key), "is not a known field"))
    for name, info in fields.items():
        if name in value:
            _check(value[name], info.type, _join(path, name), out)
        elif info.required:
            out.append((_join(path, name), "is required"))


def _extras(value: Any, annotation: Any, path: str, out: list[tuple[str, str]]) -> None:
    """What msgspec's constraints cannot say: blank text where text is required, free-form limits."""
    metas: tuple[Any, ...] = ()
    if typing.get_origin(annotation) is typing.Annotated:
        annotation, *rest = typing.get_args(annotation)
        metas = tuple(m for m in rest if isinstance(m, msgspec.Meta))
    if _is_union(annotation):
        for member in typing.get_args(annotation):
            base = typing.get_args(member)[0] if typing.get_origin(member) is typing.Annotated else member
            origin = typing.get_origin(base) or base
            if isinstance(origin, type) and isinstance(value, origin):
                _extras(value, member, path, out)
                return
        return
    if any((m.extra or {}).get(FREE_FORM) for m in metas):
        out.extend(free_form_errors(value, path or "body"))
        return
    if isinstance(value, str):
        if any((m.min_length or 0) >= 1 for m in metas) and is_blank(value):
            out.append((path or "body", "must not be blank"))
    elif isinstance(value, list) and typing.get_origin(annotation) is list:
        (item_type,) = typing.get_args(annotation) or (Any,)
        for index, item in enumerate(value):
            _extras(item, item_type, _join(path, index), out)
    elif isinstance(value, dict) and _is_struct(annotation):
        for info in struct_fields(annotation):
            if info.encode_name in value:
                _extras(value[info.encode_name], info.type, _join(path, info.encode_name), out)


# -- one sentence per error ------------------------------------------------------------------------
_AT = re.compile(r"^(?P<msg>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.S)
_TYPES = {"str": "a string", "int": "an integer", "float": "a number", "bool": "true or false",
          "null": "null", "object": "an object", "array": "an array", "uuid": "a UUID",
          "datetime": "an RFC 3339 date-time", "date": "a date", "bytes": "base64 text"}
_UNITS = {"str": "characters", "array": "items", "object": "keys", "bytes": "bytes"}
_BOUND = {"<=": "at most", ">=": "at least", "<": "less than", ">": "greater than"}


def _split(message: str) -> tuple[str, str]:
    """msgspec's message without its location, and the location as a dotted path."""
    m = _AT.match(message)
    if m is None:
        return message, ""
    path = m.group("path") or ""
    path = re.sub(r"\[(\d+)\]", r".\1", path).replace("[...]", "").lstrip(".")
    return m.group("msg"), path


def describe(message: str, annotation: Any = None, path: str = "") -> tuple[str, str]:
    """(field, one-sentence reason) of a msgspec validation message about the value at `path`."""
    reason, at = _split(message)
    field = _join(path, at) if at else path
    if m := re.fullmatch(r"Object (missing required|contains unknown) field `([^`]+)`", reason):
        return _join(field, m[2]), "is required" if m[1] == "missing required" else "is not a known field"
    return field or "body", _sentence(reason, annotation)


def _types(spec: str) -> str:
    names = [_TYPES.get(t.strip(), f"`{t.strip()}`") for t in spec.split("|")]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def _literals(annotation: Any) -> list[str]:
    found: list[str] = []
    for member in _members(annotation):
        if typing.get_origin(member) is Literal:
            found.extend(str(a) for a in typing.get_args(member))
        elif _is_struct(member) and isinstance(member.__struct_config__.tag, str):
            found.append(member.__struct_config__.tag)
    return found


def _lower(text: str) -> str:
    return text[:1].lower() + text[1:]


def _sentence(reason: str, annotation: Any = None) -> str:
    """msgspec's message as a plain sentence about the field (the field itself is named apart)."""
    if m := re.fullmatch(r"Expected `([^`]+)`, got `([^`]+)`", reason):
        return f"must be {_types(m[1])}, not {_types(m[2])}"
    if m := re.fullmatch(r"Expected `([^`]+)` of length (<=|>=|<|>) (\d+)", reason):
        unit = _UNITS.get(m[1].split("|")[0].strip(), "items")
        if m[2] == ">=" and m[3] == "1" and unit == "characters":
            return "must not be empty"
        return f"must be {_BOUND[m[2]]} {m[3]} {unit}" if unit == "characters" else \
            f"must have {_BOUND[m[2]]} {m[3]} {unit}"
    if m := re.fullmatch(r"Expected `([^`]+)` (<=|>=|<|>) (\S+)", reason):
        return f"must be {_BOUND[m[2]]} {m[3]}"
    if m := re.fullmatch(r"Expected `str` matching regex '\^\(([\w|-]+)\)\$'", reason):
        return f"must be one of {', '.join(m[1].split('|'))}"
    if m := re.fullmatch(r"Expected `str` matching regex (.+)", reason):
        return f"must match the pattern {m[1]}"
    if re.fullmatch(r"Invalid enum value .*|Invalid value .*", reason):
        allowed = _literals(annotation)
        return f"must be one of {', '.join(allowed)}" if allowed else "is not one of the allowed values"
    if reason == "Invalid UUID":
        return "must be a UUID"
    if reason.startswith("Invalid RFC3339"):
        return "must be an RFC 3339 date-time"
    if reason in ("Number out of range", "Integer value out of range"):
        return "is a number out of range"
    return _lower(reason.rstrip("."))
