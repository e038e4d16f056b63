from __future__ import annotations

from collections.abc import Mapping
from typing import (
    Any,
    Literal,
    Self,
    TypeVar,
    cast,
)

from attrs import define as _attrs_define

T = TypeVar("T", bound="MergeScenes")


@_attrs_define
class MergeScenes:
    """
    Attributes:
        indexes (list[int]):
        op (Literal['merge']):
    """

    indexes: list[int]
    op: Literal["merge"]

    def to_dict(self) -> dict[str, Any]:
        indexes = self.indexes

        op = self.op

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "indexes": indexes,
                "op": op,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        indexes = cast(list[int], d.pop("indexes"))

        op = cast(Literal["merge"], d.pop("op"))
        if op != "merge":
            raise ValueError(f"op must match const 'merge', got '{op}'")

        merge_scenes = cls(
            indexes=indexes,
            op=op,
        )

        return merge_scenes
