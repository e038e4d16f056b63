"""Responses built from read-model rows: a query's row, or the projection's row mapping of an aggregate."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import msgspec

S = TypeVar("S", bound=msgspec.Struct)


def from_row(cls: type[S], row: Mapping[str, Any], *, convert: bool = False, **extra: Any) -> S:
    """`cls` with the row's values of its fields (other columns are left out), and `extra`.
    `convert`: through msgspec's conversion (nested structs from dicts), for a row mapped from an
    aggregate rather than read back from the table."""
    fields = {f: row[f] for f in cls.__struct_fields__ if f in row}
    fields.update(extra)
    return msgspec.convert(fields, cls) if convert else cls(**fields)
