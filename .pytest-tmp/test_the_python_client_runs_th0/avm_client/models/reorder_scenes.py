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

T = TypeVar("T", bound="ReorderScenes")


@_attrs_define
class ReorderScenes:
    """
    Attributes:
        order (list[int]):
        op (Literal['reorder']):
    """

    order: list[int]
    op: Literal["reorder"]

    def to_dict(self) -> dict[str, Any]:
        order = self.order

        op = self.op

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "order": order,
                "op": op,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        order = cast(list[int], d.pop("order"))

        op = cast(Literal["reorder"], d.pop("op"))
        if op != "reorder":
            raise ValueError(f"op must match const 'reorder', got '{op}'")

        reorder_scenes = cls(
            order=order,
            op=op,
        )

        return reorder_scenes
