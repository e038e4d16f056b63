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

T = TypeVar("T", bound="SplitScene")


@_attrs_define
class SplitScene:
    """
    Attributes:
        index (int):
        position (int):
        op (Literal['split']):
    """

    index: int
    position: int
    op: Literal["split"]

    def to_dict(self) -> dict[str, Any]:
        index = self.index

        position = self.position

        op = self.op

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "index": index,
                "position": position,
                "op": op,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        index = d.pop("index")

        position = d.pop("position")

        op = cast(Literal["split"], d.pop("op"))
        if op != "split":
            raise ValueError(f"op must match const 'split', got '{op}'")

        split_scene = cls(
            index=index,
            position=position,
            op=op,
        )

        return split_scene
