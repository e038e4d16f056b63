"""The limits on free-form JSON values (asset metadata, job error details, generation defaults…).

Every other field of a request body has a typed schema (api/schemas.py) with its own bounds;
a free-form value is an open JSON object, so it is bounded here, in one place, and the type
`FreeForm` carries the limits into every schema that uses it (and into the OpenAPI document).
docs/limits.md lists them.
"""
from __future__ import annotations

from typing import Annotated, Any

import msgspec
from msgspec import Meta

MAX_DEPTH = 8               # nesting levels, the free-form object itself being level 1
MAX_ITEMS = 100             # keys of an object, items of an array
MAX_STRING = 2_000          # characters of a string or a key
MAX_ENCODED = 16 * 1024     # bytes of the value encoded as JSON
MAX_INTEGER = 2**53 - 1     # |integer|: what every JSON reader holds exactly (RFC 7493)

FREE_FORM = "free_form"

FreeForm = Annotated[dict[str, Any], Meta(
    max_length=MAX_ITEMS,
    description=(f"A free-form JSON object: at most {MAX_DEPTH} levels deep, {MAX_ITEMS} keys or items per "
                 f"object or array, {MAX_STRING} characters per string or key, integers within "
                 f"±{MAX_INTEGER}, {MAX_ENCODED} bytes encoded; no object with both `_type_` and `_data_` keys."),
    extra={FREE_FORM: True},
)]


def free_form_errors(value: Any, path: str) -> list[tuple[str, str]]:
    """The (field, reason) of every limit the free-form value at `path` breaks; [] when none."""
    out: list[tuple[str, str]] = []
    _walk(value, path, 1, out)
    if not out:
        size = len(msgspec.json.encode(value))
        if size > MAX_ENCODED:
            out.append((path, f"must be at most {MAX_ENCODED} bytes encoded as JSON, not {size}"))
    return out


def _walk(value: Any, path: str, depth: int, out: list[tuple[str, str]]) -> None:
    if isinstance(value, (dict, list)):
        if depth > MAX_DEPTH:
            out.append((path, f"must be nested at most {MAX_DEPTH} levels deep"))
            return
        if len(value) > MAX_ITEMS:
            kind = "keys" if isinstance(value, dict) else "items"
            out.append((path, f"must have at most {MAX_ITEMS} {kind}, not {len(value)}"))
            return
        if isinstance(value, dict) and len(value) == 2 and "_type_" in value and "_data_" in value:
            # the event store's tagged form (a stored UUID, time, decimal): read back as that, not as this object
            out.append((path, "must not be an object of exactly the keys _type_ and _data_ (the event store's own form)"))
            return
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            here = f"{path}.{key}"
            if isinstance(key, str) and len(key) > MAX_STRING:
                out.append((f"{path}.{key[:40]}…", f"keys must be at most {MAX_STRING} characters, not {len(key)}"))
                continue
            _walk(item, here, depth + 1, out)
    elif isinstance(value, str):
        if len(value) > MAX_STRING:
            out.append((path, f"must be at most {MAX_STRING} characters, not {len(value)}"))
    elif isinstance(value, int) and not isinstance(value, bool):
        if abs(value) > MAX_INTEGER:
            out.append((path, f"must be an integer within ±{MAX_INTEGER}"))


def as_written(value: Any) -> Any:
    """A free-form value as the tenant wrote it, from an event read back from the store.

    Before the tagged form was refused (`_walk`), a tenant could store an object of exactly the keys
    `_type_` and `_data_`; reading the event, the store turns it into a UUID, time or decimal. Here
    such values become that object again, so every reader gets JSON (no 500) and the shape written.
    Values the tenant wrote are plain JSON, returned as they are. Iterative: stored values may be
    deeper than the stack."""
    from datetime import datetime
    from decimal import Decimal
    from uuid import UUID

    def tag(v: Any) -> Any:
        if isinstance(v, UUID):
            return {"_type_": "uuid_hex", "_data_": v.hex}
        if isinstance(v, datetime):
            return {"_type_": "datetime_iso", "_data_": v.isoformat()}
        if isinstance(v, Decimal):
            return {"_type_": "decimal_str", "_data_": str(v)}
        return v

    if not isinstance(value, (dict, list)):
        return tag(value)
    stack = [value]
    while stack:
        container = stack.pop()
        keys = container.keys() if isinstance(container, dict) else range(len(container))
        for k in keys:
            v = container[k]
            if isinstance(v, (dict, list)):
                stack.append(v)
            elif isinstance(v, (UUID, datetime, Decimal)):
                container[k] = tag(v)
    return value
